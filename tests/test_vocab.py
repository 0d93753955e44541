"""slotfill.vocab: building by frequency, special ids, unknown items and the JSON form."""

import json

import pytest

from slotfill.vocab import PAD, UNK, Vocab

SENTENCES = [
    ["to", "boston", "from", "denver"],
    ["to", "denver", "from", "dallas"],
    ["to", "atlanta"],
    ["zürich", "to", "boston"],
]
# counts: to 4, boston 2, denver 2, from 2, atlanta 1, dallas 1, zürich 1


def test_build_orders_by_count_then_alphabetically():
    vocab = Vocab.build(SENTENCES)
    assert vocab.itos == [PAD, UNK, "to", "boston", "denver", "from", "atlanta", "dallas", "zürich"]
    assert len(vocab) == 9
    assert vocab.stoi == {w: i for i, w in enumerate(vocab.itos)}


def test_specials_come_first():
    vocab = Vocab.build(SENTENCES)
    assert vocab.id(PAD) == 0
    assert vocab.id(UNK) == 1
    assert vocab.unk_id == 1
    assert vocab.id("to") == 2


def test_min_count():
    vocab = Vocab.build(SENTENCES, min_count=2)
    assert vocab.itos == [PAD, UNK, "to", "boston", "denver", "from"]
    assert "dallas" not in vocab
    assert vocab.id("dallas") == 1
    assert Vocab.build(SENTENCES, min_count=5).itos == [PAD, UNK]


def test_max_size_counts_the_specials():
    vocab = Vocab.build(SENTENCES, max_size=5)
    assert len(vocab) == 5
    assert vocab.itos == [PAD, UNK, "to", "boston", "denver"]
    # a tie cut by max_size keeps the alphabetically first items
    assert "from" not in vocab
    assert Vocab.build(SENTENCES, max_size=1).itos == [PAD, UNK]
    # 0 means no limit
    assert len(Vocab.build(SENTENCES, max_size=0)) == 9


def test_min_count_and_max_size_together():
    vocab = Vocab.build(SENTENCES, min_count=2, max_size=100)
    assert vocab.itos == [PAD, UNK, "to", "boston", "denver", "from"]


def test_unknown_items_map_to_unk():
    vocab = Vocab.build(SENTENCES)
    assert vocab.id("seattle") == vocab.unk_id == 1
    assert vocab.ids(["to", "seattle", "boston", ""]) == [2, 1, 3, 1]
    # lookups are exact: no case folding inside Vocab
    assert vocab.id("Boston") == 1


def test_contains():
    vocab = Vocab(["a", "b"])
    assert "a" in vocab and PAD in vocab and UNK in vocab
    assert "c" not in vocab


def test_items_equal_to_specials_are_not_duplicated():
    vocab = Vocab(["x", UNK, "y", PAD])
    assert vocab.itos == [PAD, UNK, "x", "y"]


def test_duplicate_items_raise():
    with pytest.raises(ValueError, match="unique"):
        Vocab(["a", "b", "a"])


def test_json_round_trip():
    vocab = Vocab.build(SENTENCES, min_count=1)
    data = json.loads(json.dumps(vocab.to_json()))
    assert data == {
        "specials": [PAD, UNK],
        "items": ["to", "boston", "denver", "from", "atlanta", "dallas", "zürich"],
    }
    again = Vocab.from_json(data)
    assert again.itos == vocab.itos
    assert again.specials == vocab.specials
    assert again.ids(["zürich", "nowhere"]) == vocab.ids(["zürich", "nowhere"])


def test_json_round_trip_custom_specials():
    vocab = Vocab(["O", "B-x", "I-x"], specials=(PAD,))
    again = Vocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert again.itos == [PAD, "O", "B-x", "I-x"]
    assert again.specials == (PAD,)
    assert again.unk_id is None


def test_no_specials_raises_key_error_for_unknown():
    tags = Vocab(["O", "B-city", "I-city"], specials=())
    assert tags.itos == ["O", "B-city", "I-city"]
    assert tags.id("O") == 0
    assert tags.ids(["B-city", "I-city"]) == [1, 2]
    with pytest.raises(KeyError):
        tags.id("B-airline")
    with pytest.raises(KeyError):
        tags.ids(["O", "B-airline"])


def test_pad_only_raises_key_error_for_unknown():
    vocab = Vocab(["a"], specials=(PAD,))
    assert vocab.id("a") == 1
    with pytest.raises(KeyError):
        vocab.id("b")


def test_build_without_specials():
    vocab = Vocab.build([["b", "a", "b"]], specials=())
    assert vocab.itos == ["b", "a"]
    assert Vocab.build([["b", "a", "b", "c"]], max_size=2, specials=()).itos == ["b", "a"]
