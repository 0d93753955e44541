"""slotfill.nn.embeddings and slotfill.nn.w2v: word representations (learned, one-hot, hashed, chars, word2vec, bigrams)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from slotfill.config import ModelConfig, VocabConfig, Word2VecConfig
from slotfill.errors import SlotfillError
from slotfill.features import Featurizer, build_featurizer, trigram_buckets
from slotfill.nn.batch import Batch
from slotfill.nn.embeddings import CharCNN, Hashed, Learned, OneHot, build_representation
from slotfill.nn.w2v import initialise, load_vectors, save_vectors, train_vectors
from slotfill.vocab import Vocab

SENTENCES = [
    "show me flights from boston to denver".split(),
    "i want to fly from chicago to san francisco on monday".split(),
    "list morning flights to boston".split(),
    "cheapest fare from denver to chicago".split(),
]
DIMS = {"learned": 12, "onehot": 10, "hashed": 14, "word2vec": 8, "chars": 9, "bigrams": 10}  # chars: filters; bigrams: 2 x 5


def model_config(embeddings: list[str]) -> ModelConfig:
    config = ModelConfig(embeddings=embeddings)
    config.learned.dim, config.onehot.dim, config.word2vec.dim = DIMS["learned"], DIMS["onehot"], DIMS["word2vec"]
    config.hashed.dim, config.hashed.buckets = DIMS["hashed"], 5000
    config.chars.dim, config.chars.filters, config.chars.width = 6, DIMS["chars"], 3
    config.bigrams.dim = DIMS["bigrams"] // 2
    return config


def tensors(featurizer: Featurizer, sentences: list[list[str]]) -> Batch:
    return Batch.of(featurizer.batch(sentences))


def featurizer_for(embeddings: list[str], buckets: int = 5000) -> Featurizer:
    config = model_config(embeddings)
    config.hashed.buckets = buckets
    return build_featurizer(SENTENCES, VocabConfig(), config)


@pytest.mark.parametrize("name", ["learned", "onehot", "hashed", "word2vec", "chars", "bigrams"])
def test_each_representation_shape(name):
    torch.manual_seed(0)
    featurizer = featurizer_for([name])
    representation = build_representation(model_config([name]), featurizer)
    batch = tensors(featurizer, [["flights", "to", "boston"], ["unseen-word"], ["from", "chicago"]])
    out = representation(batch, batch.words)
    assert representation.dim == DIMS[name]
    assert out.shape == (3, 3, DIMS[name])
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_concatenation_in_config_order():
    torch.manual_seed(0)
    names = ["chars", "learned", "bigrams", "hashed", "onehot", "word2vec"]
    featurizer = featurizer_for(names)
    representation = build_representation(model_config(names), featurizer)
    assert list(representation.parts) == names
    assert representation.dim == sum(DIMS.values())
    batch = tensors(featurizer, [["flights", "to", "denver", "monday"], ["boston"]])
    out = representation(batch, batch.words)
    assert out.shape == (2, 4, sum(DIMS.values()))
    offset = 0
    for name, part in representation.parts.items():
        assert torch.equal(out[..., offset:offset + part.dim], part(batch, batch.words)), name
        offset += part.dim


def test_duplicate_representation_names_are_built_once():
    featurizer = featurizer_for(["learned"])
    representation = build_representation(model_config(["learned", "learned"]), featurizer)
    assert list(representation.parts) == ["learned"]
    assert representation.dim == DIMS["learned"]


def test_featurizer_reads_only_what_the_representations_need():
    learned = tensors(featurizer_for(["learned"]), [["boston"]])
    assert learned.trigrams is None and learned.chars is None and learned.bigrams is None
    both = tensors(featurizer_for(["hashed", "chars"]), [["boston", "to"]])
    assert both.trigrams is not None and both.chars is not None and both.bigrams is None


# ---- token bigrams -----------------------------------------------------------------------------


def test_bigrams_are_the_pairs_before_and_after_each_token():
    torch.manual_seed(0)
    featurizer = featurizer_for(["bigrams"])
    bigrams = featurizer.bigrams
    features = featurizer.batch([["flights", "to", "boston"], ["to", "oslo"]])
    pairs = [["<s> flights", "flights to"], ["flights to", "to boston"], ["to boston", "boston </s>"]]
    assert features.bigrams.shape == (2, 3, 2)
    assert features.bigrams[0].tolist() == [bigrams.ids(p) for p in pairs]
    unk = bigrams.unk_id
    assert features.bigrams[1].tolist() == [[unk, unk], [unk, unk], [0, 0]]  # unseen pairs; then padding
    representation = build_representation(model_config(["bigrams"]), featurizer).eval()
    batch = tensors(featurizer, [["flights", "to", "boston"]])
    table = representation.parts["bigrams"].table.weight
    out = representation(batch, batch.words)
    assert torch.equal(out[0, 1], torch.cat([table[bigrams.id("flights to")], table[bigrams.id("to boston")]]))


def test_bigram_dropout_reads_unk_in_training_only():
    featurizer = featurizer_for(["bigrams"])
    config = model_config(["bigrams"])
    config.word_dropout = 0.5
    representation = build_representation(config, featurizer)
    part = representation.parts["bigrams"]
    batch = tensors(featurizer, [SENTENCES[1]] * 50)
    unk = part.table.weight[featurizer.bigrams.unk_id]
    torch.manual_seed(0)
    dropped = (part(batch, batch.words).view(50, -1, 2, part.dim // 2) == unk).all(-1).double().mean().item()
    assert dropped == pytest.approx(0.5, abs=0.05)
    part.eval()
    assert not (part(batch, batch.words).view(50, -1, 2, part.dim // 2) == unk).all(-1).any()


# ---- one-hot -----------------------------------------------------------------------------------


class ShapeRecorder(TorchDispatchMode):
    """Records the shape of every tensor any torch operation produces."""

    def __init__(self):
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        for value in result if isinstance(result, (tuple, list)) else [result]:
            if isinstance(value, torch.Tensor):
                self.shapes.append(tuple(value.shape))
        return result


def test_onehot_large_vocabulary_is_a_row_lookup():
    vocab_size, dim = 50_000, 8
    onehot = OneHot(vocab_size, dim)
    assert [tuple(p.shape) for p in onehot.parameters()] == [(vocab_size, dim)]
    bound = 1 / vocab_size**0.5  # as nn.Linear(N, dim) would be initialised
    assert onehot.weight.abs().max() <= bound
    words = torch.tensor([[5, 49_999, 1, 0], [17, 0, 0, 0], [2, 3, 4, 40_000]])
    batch = tensors(Featurizer(Vocab([])), [["x"]])  # OneHot reads only the ids it is given
    with ShapeRecorder() as recorder:
        out = onehot(batch, words)
    assert out.shape == (3, 4, dim)
    assert recorder.shapes, "the recorder saw no operation"
    for shape in recorder.shapes:
        assert vocab_size not in shape, f"an intermediate tensor of shape {shape} was built"
        assert int(np.prod(shape)) < vocab_size
    assert torch.equal(out[0, 1], onehot.weight[49_999].detach())


def test_onehot_equals_one_hot_times_weight():
    torch.manual_seed(3)
    vocab_size, dim = 7, 5
    onehot = OneHot(vocab_size, dim)
    words = torch.tensor([[3, 1, 6, 2], [4, 5, 0, 0]])
    out = onehot(tensors(Featurizer(Vocab([])), [["x"]]), words)
    expected = torch.nn.functional.one_hot(words, vocab_size).float() @ onehot.weight
    real = words != 0
    assert torch.allclose(out[real], expected[real])
    assert (out[~real] == 0).all()  # padding gives zero vectors
    assert out[0, 1].abs().sum() > 0  # <unk> (id 1) is the "other" entry: a real row


def test_onehot_gradient_reaches_only_used_rows():
    onehot = OneHot(9, 4)
    words = torch.tensor([[2, 5, 0]])
    onehot(tensors(Featurizer(Vocab([])), [["x"]]), words).sum().backward()
    used = onehot.weight.grad.abs().sum(1) > 0
    assert used.tolist() == [i in (2, 5) for i in range(9)]


# ---- hashed trigrams ---------------------------------------------------------------------------


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.detach(), b.detach(), dim=0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hashed_unknown_words_and_misspellings(seed):
    torch.manual_seed(seed)
    featurizer = featurizer_for(["hashed"], buckets=100_000)
    hashed = Hashed(100_000, 64)
    batch = tensors(featurizer, [["chicago", "chicagp", "zyzzyva", "denver"]])
    unk = featurizer.words.unk_id
    assert batch.words[0, 1] == unk and batch.words[0, 2] == unk  # unknown to the vocabulary ...
    out = hashed(batch, batch.words)[0]
    assert out[2].abs().sum() > 0  # ... but not to the trigrams
    assert not torch.equal(out[1], out[2])
    assert cosine(out[0], out[1]) > 0.5  # 5 of 7 trigrams shared
    assert cosine(out[0], out[1]) > cosine(out[0], out[3]) + 0.2


def test_hashed_is_the_sum_or_mean_of_trigram_rows():
    torch.manual_seed(0)
    buckets = 1000
    featurizer = Featurizer(Vocab(["taipei"]), buckets=buckets)
    batch = tensors(featurizer, [["taipei", "to"], ["a"]])
    for combine in ("sum", "mean"):
        hashed = Hashed(buckets, 6, combine)
        out = hashed(batch, batch.words)
        rows = hashed.bag.weight[list(trigram_buckets("taipei", buckets))]
        expected = rows.sum(0) if combine == "sum" else rows.mean(0)
        assert torch.allclose(out[0, 0], expected)
        assert (out[1, 1] == 0).all()  # a padding position has no trigrams
        assert out[1, 0].abs().sum() > 0  # "#a#"


def test_hashed_is_stable_across_processes():
    # murmurhash, not Python's salted hash(): the same buckets in every run
    assert trigram_buckets("taipei", 50_000) == trigram_buckets("taipei", 50_000)
    assert len(trigram_buckets("taipei", 50_000)) == 6


# ---- characters --------------------------------------------------------------------------------


def test_charcnn_masks_padding():
    torch.manual_seed(0)
    featurizer = featurizer_for(["chars"])
    cnn = CharCNN(len(featurizer.chars), 6, 9, 3)
    with torch.no_grad():
        cnn.conv.bias.fill_(5.0)  # positions past the word would win the max if not masked
    alone = tensors(featurizer, [["to"]])
    mixed = tensors(featurizer, [["san", "francisco", "to"], ["to"]])
    assert alone.chars.shape[1] < mixed.chars.shape[1]  # rows are padded to the longest word
    assert mixed.chars.shape[0] == 4  # padding row + three distinct words ("to" once)
    out_alone = cnn(alone, alone.words)
    out_mixed = cnn(mixed, mixed.words)
    assert torch.allclose(out_alone[0, 0], out_mixed[0, 2], atol=1e-6)
    assert torch.allclose(out_alone[0, 0], out_mixed[1, 0], atol=1e-6)
    assert (out_mixed[1, 1:] == 0).all()  # padding tokens give zero features
    assert out_mixed[0, 1].abs().sum() > 0


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_charcnn_any_filter_width(width):
    """`model.chars.width` is any positive int in the config; an even width must work too."""
    torch.manual_seed(0)
    featurizer = featurizer_for(["chars"])
    cnn = CharCNN(len(featurizer.chars), 6, 9, width)
    batch = tensors(featurizer, [["to", "boston"], ["denver"]])
    out = cnn(batch, batch.words)
    assert out.shape == (2, 2, 9)
    assert (out[1, 1] == 0).all()
    alone = tensors(featurizer, [["to"]])
    assert torch.allclose(cnn(alone, alone.words)[0, 0], out[0, 0], atol=1e-6)


def test_charcnn_reads_characters_not_word_ids():
    torch.manual_seed(0)
    featurizer = featurizer_for(["chars"])
    cnn = CharCNN(len(featurizer.chars), 6, 9, 3)
    batch = tensors(featurizer, [["boston", "bostn"]])
    assert batch.words[0, 1] == featurizer.words.unk_id
    out = cnn(batch, batch.words)
    assert not torch.equal(out[0, 0], out[0, 1])


# ---- word2vec ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors():
    config = Word2VecConfig(dim=8, window=2, min_count=1, epochs=3)
    return train_vectors([[w.lower() for w in s] for s in SENTENCES] * 3, config, seed=1)


def test_train_vectors(vectors):
    assert vectors.vector_size == 8
    assert {"boston", "denver", "chicago"} <= set(vectors.key_to_index)
    again = train_vectors([[w.lower() for w in s] for s in SENTENCES] * 3, Word2VecConfig(dim=8, window=2, epochs=3), seed=1)
    assert np.array_equal(again["boston"], vectors["boston"])  # one worker: reproducible for a seed


@pytest.mark.parametrize("freeze", [True, False])
def test_initialise_embedding(vectors, freeze):
    torch.manual_seed(0)
    vocab = Vocab(["boston", "denver", "qwertyuiop", "chicago"])
    learned = Learned(len(vocab), 8)
    coverage = initialise(learned.table, vocab, vectors, freeze)
    assert coverage == pytest.approx(3 / 4)
    for word in ("boston", "denver", "chicago"):
        assert np.allclose(learned.table.weight[vocab.id(word)].detach().numpy(), vectors[word])
    assert learned.table.weight[vocab.id("qwertyuiop")].abs().sum() > 0  # random, not zero
    assert (learned.table.weight[0] == 0).all()  # <pad> untouched
    assert learned.table.weight.requires_grad is (not freeze)
    assert {p.requires_grad for p in learned.parameters()} == {not freeze}  # frozen: nothing else trains either


def test_initialise_dimension_mismatch(vectors):
    with pytest.raises(SlotfillError, match="dimension 8"):
        initialise(Learned(5, 16).table, Vocab(["boston"]), vectors, False)


@pytest.fixture
def known_vectors():
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=4)
    words = ["boston", "denver", "san_francisco", "o'clock"]
    kv.add_vectors(words, np.arange(16, dtype=np.float32).reshape(4, 4) / 7 - 1)
    return kv


def check_same(loaded, expected):
    assert loaded.vector_size == expected.vector_size
    assert loaded.index_to_key == expected.index_to_key
    for word in expected.index_to_key:
        assert np.allclose(loaded[word], expected[word], atol=1e-5)


def test_load_vectors_word2vec_text(tmp_path, known_vectors):
    path = tmp_path / "vectors.txt"
    save_vectors(known_vectors, path)
    assert path.read_text().splitlines()[0] == "4 4"
    check_same(load_vectors(path), known_vectors)


def test_load_vectors_word2vec_binary(tmp_path, known_vectors):
    path = tmp_path / "vectors.bin"
    known_vectors.save_word2vec_format(str(path), binary=True)
    check_same(load_vectors(path), known_vectors)


def test_load_vectors_glove(tmp_path, known_vectors):
    path = tmp_path / "glove.txt"
    path.write_text(
        "".join(f"{w} {' '.join(f'{x:.6f}' for x in known_vectors[w])}\n" for w in known_vectors.index_to_key),
        encoding="utf-8",
    )
    check_same(load_vectors(path), known_vectors)


def test_load_vectors_missing_file(tmp_path):
    with pytest.raises(SlotfillError, match="no such vectors file") as err:
        load_vectors(tmp_path / "nothing.vec")
    assert str(tmp_path / "nothing.vec") in str(err.value)


NOT_VECTORS = {
    "prose.txt": "the cast is superb and the film is gripping\nbut the ending drags\n".encode(),
    "data.jsonl": b'{"text": "fly to boston", "slots": []}\n{"text": "fly to denver", "slots": []}\n',
    "random.bin": bytes(np.random.default_rng(0).integers(0, 256, 512, dtype=np.uint8)),
    "empty.txt": b"",
    "words.txt": b"boston\ndenver\nchicago\n",  # a word list (e.g. a vocabulary file) has no vectors
}


@pytest.mark.parametrize("name", list(NOT_VECTORS))
def test_load_vectors_rejects_other_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(NOT_VECTORS[name])
    with pytest.raises(SlotfillError) as err:
        load_vectors(path)
    assert str(path) in str(err.value)


def test_word2vec_representation_frozen_through_training_setup(tmp_path, vectors):
    """`model.word2vec.vectors` + freeze: the model's table holds the file's vectors and is not trained."""
    from slotfill.config import Config
    from slotfill.nn.build import create
    from slotfill.nn.training import _initialise_word2vec
    from slotfill.readers import TaggedSentence

    path = tmp_path / "vectors.txt"
    save_vectors(vectors, path)
    config = Config()
    config.model = model_config(["word2vec"])
    config.model.word2vec.vectors = str(path)
    config.model.word2vec.freeze = True
    sentences = [TaggedSentence([w.lower() for w in s], ["O"] * len(s)) for s in SENTENCES]
    tagger = create(config, sentences)
    _initialise_word2vec(tagger, config, sentences)
    table = tagger.backend.model.encoder.representation.parts["word2vec"].table
    assert not table.weight.requires_grad
    assert np.allclose(table.weight[tagger.featurizer.words.id("boston")].detach().numpy(), vectors["boston"])


def test_word2vec_training_is_reproducible_across_processes(tmp_path):
    """Same seed, same vectors, whatever Python's per-process hash salt."""
    script = (
        "from slotfill.config import Word2VecConfig; from slotfill.nn.w2v import train_vectors; "
        "wv = train_vectors([['fly', 'to', 'boston'], ['fly', 'to', 'denver']] * 5, Word2VecConfig(dim=8, epochs=2), seed=3); "
        "print(wv['boston'].tolist())"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": salt}).stdout
        for salt in ("1", "2")
    }
    assert len(outputs) == 1
