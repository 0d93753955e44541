"""Tokenizer (offsets into the original string) and vocabulary normalisation."""

import unicodedata

import pytest

from slotfill.text import Token, normalize, tokenize


def texts(tokens):
    return [t.text for t in tokens]


def assert_offsets(text, tokens):
    """Every token's offsets cut exactly its original (un-lowercased) form out of `text`."""
    for tok in tokenize(text, lowercase=False):
        assert text[tok.start:tok.end] == tok.text
    for tok in tokens:
        assert text[tok.start:tok.end].lower() == tok.text
    # tokens come in order and never overlap
    ends = [(t.start, t.end) for t in tokens]
    assert all(s < e for s, e in ends)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(ends, ends[1:]))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'd like to fly from Boston", ["i'd", "like", "to", "fly", "from", "boston"]),
        ("leave at 8 o'clock", ["leave", "at", "8", "o'clock"]),
        ("what's the fare", ["what's", "the", "fare"]),
        ("from st. louis to denver", ["from", "st.", "louis", "to", "denver"]),
        ("From St. Louis", ["from", "st.", "louis"]),
        ("depart at 9:30 pm", ["depart", "at", "9:30", "pm"]),
        ("1,000 miles or 3.5 hours", ["1,000", "miles", "or", "3.5", "hours"]),
        ("boston?", ["boston", "?"]),
        ("Boston, Denver.", ["boston", ",", "denver", "."]),
        ("a coming-of-age story", ["a", "coming-of-age", "story"]),
        ("it’s fine", ["it’s", "fine"]),
        ("fly to 台北", ["fly", "to", "台北"]),
        ("zürich to São Paulo", ["zürich", "to", "são", "paulo"]),
        ("Mt. Hood", ["mt.", "hood"]),
    ],
)
def test_tokens_and_offsets(text, expected):
    tokens = tokenize(text)
    assert texts(tokens) == expected
    assert_offsets(text, tokens)


def test_offsets_exact_values():
    text = "I'd fly St. Louis -> 台北, 9:30?"
    tokens = tokenize(text, lowercase=False)
    assert tokens == [
        Token("I'd", 0, 3),
        Token("fly", 4, 7),
        Token("St.", 8, 11),
        Token("Louis", 12, 17),
        Token("-", 18, 19),
        Token(">", 19, 20),
        Token("台北", 21, 23),
        Token(",", 23, 24),
        Token("9:30", 25, 29),
        Token("?", 29, 30),
    ]


def test_lowercase_on_and_off():
    text = "Fly From ZÜRICH To São Paulo"
    lower = tokenize(text)
    keep = tokenize(text, lowercase=False)
    assert texts(lower) == ["fly", "from", "zürich", "to", "são", "paulo"]
    assert texts(keep) == ["Fly", "From", "ZÜRICH", "To", "São", "Paulo"]
    # lowercasing changes the text only, never the offsets
    assert [(t.start, t.end) for t in lower] == [(t.start, t.end) for t in keep]
    assert_offsets(text, lower)


def test_st_only_abbreviation_when_standalone():
    # "st." followed directly by a word character is not the abbreviation
    assert texts(tokenize("st.louis")) == ["st", ".", "louis"]
    # "first." ends a sentence: the period is its own token
    assert texts(tokenize("the first.")) == ["the", "first", "."]


def test_punctuation_split_everywhere():
    assert texts(tokenize("(boston)!")) == ["(", "boston", ")", "!"]
    assert texts(tokenize("denver...")) == ["denver", ".", ".", "."]
    assert texts(tokenize("'quoted'")) == ["'", "quoted", "'"]


def test_emoji_offsets():
    text = "fly 😀 to 台北 ✈!"
    tokens = tokenize(text)
    assert texts(tokens) == ["fly", "😀", "to", "台北", "✈", "!"]
    assert_offsets(text, tokens)
    assert tokens[1] == Token("😀", 4, 5)


@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "\u00a0\u2003"])
def test_empty_and_whitespace(text):
    assert tokenize(text) == []
    assert tokenize(text, lowercase=False) == []


def test_whitespace_variants_between_tokens():
    text = "  from\tboston\n\nto  denver  "
    tokens = tokenize(text)
    assert texts(tokens) == ["from", "boston", "to", "denver"]
    assert_offsets(text, tokens)
    assert tokens[0].start == 2


def test_decomposed_accents_stay_in_one_token():
    # NFD text (as macOS file names and some editors write it): "São" is S, a, U+0303, o.
    # A combining mark belongs to the letter before it; the word must not be split.
    text = unicodedata.normalize("NFD", "zürich to São Paulo")
    tokens = tokenize(text, lowercase=False)
    assert [unicodedata.normalize("NFC", t.text) for t in tokens] == ["zürich", "to", "São", "Paulo"]


def test_normalize():
    assert normalize("Boston") == "boston"
    assert normalize("Boston", lowercase=False) == "Boston"
    assert normalize("Flight123") == "flight123"
    assert normalize("Flight123", digits=True) == "flight000"
    assert normalize("Flight123", lowercase=False, digits=True) == "Flight000"
    assert normalize("9:30", digits=True) == "0:00"
    assert normalize("ZÜRICH") == "zürich"
    assert normalize("") == ""
