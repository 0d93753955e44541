"""slotfill.text: the tokenizer (offsets into the original string) and vocabulary normalisation."""

import unicodedata
from pathlib import Path

import pytest

from slotfill.text import Token, detokenize, normalize, tokenize, words


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


# Chinese and Japanese per character, Latin words and numbers inside them whole; other scripts by spaces
CJK_CASES = [
    ("我想从台北飞到波士顿", ["我", "想", "从", "台", "北", "飞", "到", "波", "士", "顿"]),
    ("我要听tfboys的歌", ["我", "要", "听", "tfboys", "的", "歌"]),
    ("播放Lady Gaga的歌", ["播", "放", "lady", "gaga", "的", "歌"]),
    ("十一月2号上午9:30出发", ["十", "一", "月", "2", "号", "上", "午", "9:30", "出", "发"]),
    ("东京タワーへ行きたい", ["东", "京", "タ", "ワ", "ー", "へ", "行", "き", "た", "い"]),
    ("ｶﾀｶﾅ", ["ｶ", "ﾀ", "ｶ", "ﾅ"]),  # half-width Katakana
    ("你好，世界！（测试）「引号」、。？：；", ["你", "好", "，", "世", "界", "！", "（", "测", "试", "）", "「", "引", "号", "」", "、", "。", "？", "：", "；"]),
    ("价格3.5元", ["价", "格", "3.5", "元"]),
    ("𠀋𪚲", ["𠀋", "𪚲"]),  # ideographs outside the Basic Multilingual Plane
    ("서울로 가는 비행기", ["서울로", "가는", "비행기"]),  # Korean is written with spaces: words
    ("from दिल्ली to मुंबई", ["from", "दिल्ली", "to", "मुंबई"]),  # vowel signs and viramas stay in the word
    ("to กรุงเทพ", ["to", "กรุงเทพ"]),
]


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
        ("fly to 台北", ["fly", "to", "台", "北"]),
        ("zürich to São Paulo", ["zürich", "to", "são", "paulo"]),
        ("Mt. Hood", ["mt.", "hood"]),
    ] + CJK_CASES,
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
        Token("台", 21, 22),
        Token("北", 22, 23),
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
    assert texts(tokens) == ["fly", "😀", "to", "台", "北", "✈", "!"]
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


# ---- Chinese and Japanese -----------------------------------------------------------------


def test_chinese_offsets_exact_values():
    tokens = tokenize("从台北到Boston，", lowercase=False)
    assert tokens == [Token("从", 0, 1), Token("台", 1, 2), Token("北", 2, 3), Token("到", 3, 4),
                      Token("Boston", 4, 10), Token("，", 10, 11)]


def test_latin_in_chinese_one_character_per_token():
    text = "我要听tfboys的歌 9:30"
    tokens = tokenize(text, latin_in_cjk="char")
    assert texts(tokens) == ["我", "要", "听", "t", "f", "b", "o", "y", "s", "的", "歌", "9", ":", "3", "0"]
    assert_offsets(text, tokens)
    # text without Chinese or Japanese characters is tokenized as usual
    assert texts(tokenize("fly from boston", latin_in_cjk="char")) == ["fly", "from", "boston"]
    with pytest.raises(ValueError, match="latin_in_cjk"):
        tokenize(text, latin_in_cjk="letters")


@pytest.mark.parametrize(
    "tokens, text",
    [
        (["我", "要", "听", "tfboys", "的", "歌"], "我要听tfboys的歌"),
        (list("我要听tfboys的歌"), "我要听tfboys的歌"),
        (["播", "放", "lady", "gaga", "的", "歌"], "播放lady gaga的歌"),
        (["fly", "to", "台", "北", "now", "?"], "fly to 台北 now ?"),
        (["from", "st.", "louis"], "from st. louis"),
    ],
)
def test_detokenize_tokenizes_back(tokens, text):
    written, offsets = detokenize(tokens)
    assert written == text
    assert [written[s:e] for s, e in offsets] == tokens
    mode = "char" if all(len(t) == 1 for t in tokens) else "word"
    assert texts(tokenize(written, lowercase=False, latin_in_cjk=mode)) == tokens


# ---- any text: never a crash, offsets always into the original string -----------------------

SCRIPTS = [
    "مرحبا بالعالم من القاهرة إلى دبي",  # Arabic, right to left
    "שלום, טיסה מתל אביב",  # Hebrew
    "\u202eevil\u202c text with bidi controls \u200f",
    "नमस्ते दिल्ली से मुंबई",  # Devanagari with combining vowel signs
    "บินจากกรุงเทพไปเชียงใหม่",  # Thai, no spaces
    "👩‍👩‍👧 family ✈️ 🇹🇼 flag 👍🏽",  # ZWJ sequences, variation selector, regional indicators, skin tone
    "e\u0301\u0301 a\u20dd \u0301leading mark",  # stacked and leading combining marks
    "Zürich\u00a0→\u2003Αθήνα Москва",
    "\ud800 lone surrogate",
    "\x00\x1f\x7f controls",
]


@pytest.mark.parametrize("text", SCRIPTS)
@pytest.mark.parametrize("mode", ["word", "char"])
def test_any_script_offsets_index_the_original(text, mode):
    tokens = tokenize(text, lowercase=False, latin_in_cjk=mode)
    assert tokens, text
    assert all(text[t.start:t.end] == t.text and not t.text.isspace() for t in tokens)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))
    covered = "".join(t.text for t in tokens)
    assert covered == "".join(text.split())  # every non-space character is in exactly one token


def test_random_code_points_never_crash():
    import random

    rng = random.Random(0)
    for _ in range(300):
        text = "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 30)))
        for mode in ("word", "char"):
            tokens = tokenize(text, latin_in_cjk=mode)
            assert all(text[t.start:t.end].lower() == t.text for t in tokens)
            assert "".join(text[t.start:t.end] for t in tokens) == "".join(text.split())


ATIS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "atis"


@pytest.mark.skipif(not ATIS.is_dir(), reason="../shared/data/atis is not here")
@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_atis_tokens_unchanged(split):
    """Every ATIS utterance (space-tokenized English) tokenizes back to exactly its tokens."""
    lines = (ATIS / split / "seq.in").read_text(encoding="utf-8").splitlines()
    assert lines
    assert [line for line in lines if texts(tokenize(line)) != line.split()] == []


@pytest.mark.parametrize("latin_in_cjk", ["word", "char"])
@pytest.mark.parametrize("text", ["I'd like 1,000 flights to St. Louis at 9:30!", "我要听tfboys的歌，好吗？", "दिल्ली से ✈️ e\u0301te", "   "],
                         ids=["english", "chinese", "hindi-emoji-accent", "blank"])
def test_words_are_the_tokens_without_offsets(text, latin_in_cjk):
    expected = [t.text for t in tokenize(text, lowercase=False, latin_in_cjk=latin_in_cjk)]
    assert words(text, latin_in_cjk) == expected
