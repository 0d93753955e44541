"""Tokenizer for raw text: ATIS-style tokens with character offsets into the original string."""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(
    r"""
    (?<!\w)(?:st|mt|ft|dr|mr|mrs|ms|jr)\.(?!\w)   # abbreviations ATIS keeps whole: st. louis
    | \d+(?:[.,:]\d+)+                          # 9:30, 1,000, 3.5
    | \w+(?:[-'’]\w+)*                          # words, i'd, o'clock, coming-of-age
    | \S                                        # any other symbol on its own
    """,
    re.VERBOSE | re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


class Token(NamedTuple):
    text: str
    start: int
    end: int


def tokenize(text: str, lowercase: bool = True) -> list[Token]:
    """Split raw text into tokens; `start`/`end` index the original string."""
    return [
        Token(m.group().lower() if lowercase else m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def normalize(word: str, lowercase: bool = True, digits: bool = False) -> str:
    """The form a word takes in the vocabulary: optionally lowercased, digits mapped to 0."""
    if lowercase:
        word = word.lower()
    if digits:
        word = _DIGIT.sub("0", word)
    return word
