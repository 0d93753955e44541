"""slotfill.features: the MurmurHash3 port (against scikit-learn, across processes), letter trigrams, the Featurizer."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from slotfill.config import VocabConfig
from slotfill.features import (
    MAX_TRIGRAMS,
    MAX_WORD_CHARS,
    Featurizer,
    build_featurizer,
    letter_trigrams,
    murmurhash3_32,
    token_bigrams,
    trigram_buckets,
)
from slotfill.vocab import Vocab

sklearn_utils = pytest.importorskip("sklearn.utils")


def sample_strings():
    fixed = [
        "", "a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghi", "tai", "#ta", "ei#", "#a#",
        "taipei", "台北", "#台北#", "zürich", "São Paulo", "o'clock", "9:30", "😀", "✈️", "naïve café",
        "\x00", "a\x00", "\x00\x00\x00\x00\x00", "ÿÿÿÿ", "a" * 1000,
    ]
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz#'.-0123456789 éüßøå台北東京😀ΣΑΣжд"
    rand = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 15))) for _ in range(200)]
    # random code points outside the surrogate range (which UTF-8 cannot encode)
    rand += [
        "".join(chr(rng.choice([rng.randrange(1, 0xD800), rng.randrange(0xE000, 0x110000)])) for _ in range(rng.randrange(1, 9)))
        for _ in range(100)
    ]
    return fixed + rand


@pytest.mark.parametrize("seed", [0, 1, 42, 12345, 2**31 - 1, 2**32 - 1])
def test_murmurhash_matches_sklearn(seed):
    for s in sample_strings():
        assert murmurhash3_32(s, seed) == sklearn_utils.murmurhash3_32(s, seed, positive=True), (s, seed)


def test_murmurhash_known_values():
    # MurmurHash3_x86_32 reference vectors
    assert murmurhash3_32("", 0) == 0
    assert murmurhash3_32("", 1) == 0x514E28B7
    assert murmurhash3_32("", 0xFFFFFFFF) == 0x81F16F39
    assert murmurhash3_32("tai") == sklearn_utils.murmurhash3_32("tai", 0, positive=True)
    assert all(0 <= murmurhash3_32(s) < 2**32 for s in sample_strings())


def test_murmurhash_stable_across_processes():
    code = (
        "from slotfill.features import murmurhash3_32, trigram_buckets; "
        "print(murmurhash3_32('tai'), murmurhash3_32('台北', 7), *trigram_buckets('taipei', 50000))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    expected = [murmurhash3_32("tai"), murmurhash3_32("台北", 7), *trigram_buckets("taipei", 50000)]
    assert [int(x) for x in out.split()] == expected


def test_letter_trigrams():
    assert letter_trigrams("taipei") == ["#ta", "tai", "aip", "ipe", "pei", "ei#"]
    assert letter_trigrams("to") == ["#to", "to#"]
    assert letter_trigrams("a") == ["#a#"]
    assert letter_trigrams("台北") == ["#台北", "台北#"]
    assert letter_trigrams("") == []


def test_trigram_buckets():
    assert trigram_buckets("taipei", 1000) == tuple(murmurhash3_32(g) % 1000 for g in letter_trigrams("taipei"))
    assert all(0 <= b < 7 for b in trigram_buckets("zürich", 7))


TRAIN = [["to", "taipei", "from", "boston"], ["to", "denver"]]


def make_featurizer(**kwargs):
    words = Vocab.build(TRAIN)
    chars = Vocab.build([list(w) for s in TRAIN for w in s])
    return Featurizer(words, chars, **kwargs), words, chars


def test_featurizer_words_and_lengths():
    featurizer, words, _ = make_featurizer(buckets=0)
    featurizer.chars = None
    batch = featurizer.batch([["To", "Taipei"], ["from", "Oslo", "now"]])
    assert batch.words.dtype == np.int64
    assert batch.words.tolist() == [
        [words.id("to"), words.id("taipei"), 0],
        [words.id("from"), 1, 1],  # oslo and now are unknown: <unk> = 1
    ]
    assert batch.lengths.tolist() == [2, 3]
    assert batch.rows is None and batch.trigrams is None and batch.chars is None
    assert list(batch.arrays()) == ["words", "lengths"]


def trigrams_of(batch, i: int, k: int) -> list[int]:
    """The trigram buckets of token k of sentence i (padding dropped)."""
    return [b for b in batch.trigrams[batch.rows[i, k]].tolist() if b >= 0]


def test_featurizer_trigrams_shapes_and_oov():
    featurizer, _, _ = make_featurizer(buckets=1000)
    featurizer.chars = None
    batch = featurizer.batch([["To", "Taipei"], ["from", "Oslo", "now"]])
    assert batch.words.shape == batch.rows.shape == (2, 3)
    # one row per distinct word (row 0: padding), as wide as the most trigrams ("taipei": 6)
    assert batch.trigrams.shape == (6, 6) and batch.trigrams.dtype == np.int64
    assert batch.rows[0, 2] == 0 and (batch.trigrams[0] == -1).all()
    assert trigrams_of(batch, 0, 0) == list(trigram_buckets("to", 1000))
    assert trigrams_of(batch, 0, 1) == list(trigram_buckets("taipei", 1000))
    # "oslo" is out of vocabulary (word id <unk>) but still gets its own trigram buckets
    assert batch.words[1, 1] == 1
    assert trigrams_of(batch, 1, 1) == [murmurhash3_32(g) % 1000 for g in ["#os", "osl", "slo", "lo#"]]
    assert trigrams_of(batch, 1, 2) == list(trigram_buckets("now", 1000))
    assert ((batch.trigrams >= -1) & (batch.trigrams < 1000)).all()
    assert list(batch.arrays()) == ["words", "lengths", "rows", "trigrams"]


def test_featurizer_oov_words_differ_by_trigrams():
    featurizer, _, _ = make_featurizer(buckets=50000)
    batch = featurizer.batch([["oslo", "montreal"]])
    assert batch.words.tolist() == [[1, 1]]
    first, second = trigrams_of(batch, 0, 0), trigrams_of(batch, 0, 1)
    assert len(first) == 4 and len(second) == 8
    assert first != second[:4]


def test_featurizer_trigrams_of_a_very_long_word_are_capped():
    featurizer, _, _ = make_featurizer(buckets=1000)
    batch = featurizer.batch([["a" * 100, "to"]])
    assert batch.trigrams.shape == (3, MAX_TRIGRAMS)
    assert trigrams_of(batch, 0, 0) == list(trigram_buckets("a" * 100, 1000))[:MAX_TRIGRAMS]


def test_featurizer_chars():
    featurizer, _, chars = make_featurizer(buckets=0)
    batch = featurizer.batch([["To", "Taipei"], ["from", "Oslo", "now"]])
    # one row per distinct word form (row 0 is padding), as wide as the longest word ("taipei")
    assert batch.chars.shape == (6, 6)
    assert batch.rows.shape == (2, 3)
    assert batch.chars.dtype == np.int64

    def row(i, k):
        return batch.chars[batch.rows[i, k]].tolist()

    assert row(0, 0) == [chars.id("t"), chars.id("o"), 0, 0, 0, 0]
    assert row(0, 1) == chars.ids(list("taipei"))
    assert batch.rows[0, 2] == 0 and row(0, 2) == [0] * 6  # padding token
    # "w" never occurs in training: <unk>
    assert row(1, 2) == [chars.id("n"), chars.id("o"), 1, 0, 0, 0]
    assert chars.id("w") == 1


def test_featurizer_chars_shared_by_repeated_words():
    featurizer, _, _ = make_featurizer(buckets=0)
    batch = featurizer.batch([["to", "oslo", "to"], ["to"]])
    assert batch.chars.shape[0] == 3  # padding, "to", "oslo"
    assert batch.rows[0, 0] == batch.rows[0, 2] == batch.rows[1, 0]


def test_featurizer_chars_truncated():
    featurizer, _, _ = make_featurizer(buckets=0)
    batch = featurizer.batch([["a" * 40, "to"]])
    assert batch.chars.shape == (3, MAX_WORD_CHARS)


def test_featurizer_case_and_digits():
    words = Vocab(["to", "To", "0:00", "flight00"])
    lower = Featurizer(words, lowercase=True)
    cased = Featurizer(words, lowercase=False)
    digits = Featurizer(words, lowercase=True, normalize_digits=True)
    assert lower.batch([["To", "9:30"]]).words.tolist() == [[words.id("to"), 1]]
    assert cased.batch([["To", "to"]]).words.tolist() == [[words.id("To"), words.id("to")]]
    assert digits.batch([["9:30", "Flight42"]]).words.tolist() == [[words.id("0:00"), words.id("flight00")]]


def test_featurizer_json_round_trip():
    import json

    bigrams = Vocab.build(map(token_bigrams, TRAIN))
    featurizer, _, _ = make_featurizer(buckets=500, lowercase=True, normalize_digits=True, bigrams=bigrams)
    again = Featurizer.from_json(json.loads(json.dumps(featurizer.to_json())))
    sentences = [["To", "Taipei", "at", "9"], ["oslo"]]
    a, b = featurizer.batch(sentences).arrays(), again.batch(sentences).arrays()
    assert list(a) == list(b) == ["words", "lengths", "rows", "chars", "trigrams", "bigrams"]
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert again.buckets == 500 and again.normalize_digits is True and again.bigrams.itos == bigrams.itos


def test_build_featurizer():
    from slotfill.config import ModelConfig

    vocab = VocabConfig(lowercase=True, normalize_digits=False, min_count=1, max_size=0)
    tokens = [["To", "Taipei"], ["to", "Boston"]]
    model = ModelConfig(embeddings=["learned", "hashed"])
    model.hashed.buckets = 1000
    f = build_featurizer(tokens, vocab, model)
    assert f.words.itos == ["<pad>", "<unk>", "to", "boston", "taipei"]
    assert f.buckets == 1000 and f.chars is None and f.bigrams is None
    f = build_featurizer(tokens, vocab, ModelConfig(embeddings=["learned", "chars"]))
    assert f.buckets == 0 and f.chars is not None
    assert "t" in f.chars and "T" not in f.chars
    model = ModelConfig(embeddings=["bigrams"])
    model.bigrams.min_count = 2
    f = build_featurizer(tokens, vocab, model)
    assert f.bigrams.itos == ["<pad>", "<unk>", "<s> to"]  # the one pair seen twice


def test_token_bigrams():
    assert token_bigrams(["a", "b", "c"]) == ["<s> a", "a b", "b c", "c </s>"]
    assert token_bigrams(["台"]) == ["<s> 台", "台 </s>"]


def test_batch_of_features_keeps_lengths_on_cpu():
    from slotfill.nn.batch import Batch

    featurizer, _, _ = make_featurizer(buckets=100)
    features = featurizer.batch([["to", "taipei"]])
    batch = Batch.of(features, "cpu", tags=torch.zeros(1, 2, dtype=torch.long))
    assert batch.lengths.device.type == "cpu"
    assert batch.words.tolist() == features.words.tolist()
    assert batch.mask.tolist() == [[True, True]]
    assert torch.equal(batch.trigrams, torch.from_numpy(features.trigrams)) and batch.tags.shape == (1, 2)


ENCODED = [["to", "Taipei", "to"], ["Oslo", "to", "a" * 40], ["denver"]]


def encoding_featurizer():
    return make_featurizer(buckets=500, bigrams=Vocab.build(map(token_bigrams, TRAIN)))[0]


@pytest.mark.parametrize("order", [[2, 0], [1, 2, 0], [0, 1]], ids=str)
def test_sentences_encoded_once_pad_into_any_batch(order):
    """Training encodes each example once and pads batches of them: any regrouping gives the arrays of
    featurizing that batch from its tokens."""
    featurizer = encoding_featurizer()
    encoded = [featurizer.encode(s) for s in ENCODED]
    padded = featurizer.pad([encoded[i] for i in order]).arrays()
    fresh = featurizer.batch([ENCODED[i] for i in order]).arrays()
    assert list(padded) == list(fresh) == ["words", "lengths", "rows", "chars", "trigrams", "bigrams"]
    for name in padded:
        assert np.array_equal(padded[name], fresh[name]), name


def test_padded_batch_lists_the_distinct_words_spellings_once_in_order():
    featurizer = encoding_featurizer()
    encoded = [featurizer.encode(s) for s in ENCODED]
    batch = featurizer.pad([encoded[1], encoded[0]])
    assert batch.rows.tolist() == [[1, 2, 3], [2, 4, 2]]  # oslo, to, aaa…, taipei: one row each
    assert batch.chars.shape == (5, MAX_WORD_CHARS) and batch.trigrams[0].tolist() == [-1] * batch.trigrams.shape[1]
