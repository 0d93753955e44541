"""Tokenizer for raw text: ATIS-style tokens with character offsets into the original string.

English and other space-separated text is split into words; Chinese and Japanese text (Han,
Hiragana, Katakana) into single characters, the way Chinese slot-filling corpora are annotated.
Runs of Latin letters or digits inside such text stay whole words (`LATIN_IN_CJK = "word"`) or are
split into characters too (`"char"`, as in CAIS)."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# combining marks (decomposed accents), variation selectors and the zero-width joiner
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\u200d\U000e0100-\U000e01ef"
# Han ideographs (with extensions and compatibility forms), 〇, Hiragana, Katakana, half-width Katakana
CJK = (
    "\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_LETTER = rf"[^\W{CJK}]"  # a word character of any script but Chinese and Japanese
_WORD = rf"{_LETTER}(?:{_LETTER}|[{_MARKS}])*"
_TOKEN = re.compile(
    rf"""
    (?<!\w)(?:st|mt|ft|dr|mr|mrs|ms|jr)\.(?!\w)   # abbreviations ATIS keeps whole: st. louis
    | \d+(?:[.,:]\d+)+                          # 9:30, 1,000, 3.5
    | {_WORD}(?:[-'’]{_WORD})*                  # words, i'd, o'clock, coming-of-age, zürich
    | [{CJK}][{_MARKS}]*                         # one Chinese or Japanese character
    | \S[{_MARKS}]*                             # any other symbol on its own (✈️ whole)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CHAR = re.compile(rf"\S[{_MARKS}]*")  # every character its own token, marks kept with their base
_HAS_CJK = re.compile(rf"[{CJK}]")
_DIGIT = re.compile(r"\d")
LATIN_IN_CJK = ("word", "char")


class Token(NamedTuple):
    text: str
    start: int
    end: int


def tokenize(text: str, lowercase: bool = True, latin_in_cjk: str = "word") -> list[Token]:
    """Split raw text into tokens; `start`/`end` index the original string. With
    `latin_in_cjk="char"`, every character of a text holding Chinese or Japanese is a token."""
    if latin_in_cjk not in LATIN_IN_CJK:
        raise ValueError(f"latin_in_cjk = {latin_in_cjk!r} is not one of {', '.join(LATIN_IN_CJK)}")
    pattern = _CHAR if latin_in_cjk == "char" and _HAS_CJK.search(text) else _TOKEN
    return [
        Token(m.group().lower() if lowercase else m.group(), m.start(), m.end())
        for m in pattern.finditer(text)
    ]


def is_cjk(token: str) -> bool:
    """Does the token start with a Chinese or Japanese character?"""
    return _HAS_CJK.match(token) is not None


def detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """A text that tokenizes back to `tokens`, and each token's offsets. Mostly-Chinese text is
    written without spaces except between two Latin words; other text with spaces except between
    two Chinese characters."""
    cjk = [is_cjk(t) for t in tokens]
    per_char = any(cjk) and all(len(t) == 1 for t in tokens)  # Latin letters one per token, as CAIS
    chinese = per_char or 2 * sum(cjk) > len(tokens)

    def spaced(i: int) -> bool:
        if cjk[i - 1] and cjk[i]:
            return False
        if not chinese:
            return True
        words = not cjk[i - 1] and not cjk[i] and tokens[i - 1][-1].isalnum() and tokens[i][0].isalnum()
        return words and not per_char

    text, offsets = "", []
    for i, token in enumerate(tokens):
        if i and spaced(i):
            text += " "
        offsets.append((len(text), len(text) + len(token)))
        text += token
    return text, offsets


def normalize(word: str, lowercase: bool = True, digits: bool = False) -> str:
    """The form a word takes in the vocabulary: NFC, optionally lowercased, digits mapped to 0."""
    word = unicodedata.normalize("NFC", word)
    if lowercase:
        word = word.lower()
    if digits:
        word = _DIGIT.sub("0", word)
    return word
