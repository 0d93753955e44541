"""Tokenizer for raw text: ATIS-style tokens with character offsets into the original string."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# combining marks (decomposed accents), variation selectors and the zero-width joiner
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\u200d"
_WORD = rf"\w[\w{_MARKS}]*"
_TOKEN = re.compile(
    rf"""
    (?<!\w)(?:st|mt|ft|dr|mr|mrs|ms|jr)\.(?!\w)   # abbreviations ATIS keeps whole: st. louis
    | \d+(?:[.,:]\d+)+                          # 9:30, 1,000, 3.5
    | {_WORD}(?:[-'’]{_WORD})*                  # words, i'd, o'clock, coming-of-age, zürich
    | \S[{_MARKS}]*                             # any other symbol on its own (✈️ whole)
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


@lru_cache(maxsize=200_000)
def normalize(word: str, lowercase: bool = True, digits: bool = False) -> str:
    """The form a word takes in the vocabulary: NFC, optionally lowercased, digits mapped to 0."""
    word = unicodedata.normalize("NFC", word)
    if lowercase:
        word = word.lower()
    if digits:
        word = _DIGIT.sub("0", word)
    return word
