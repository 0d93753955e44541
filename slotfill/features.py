"""Token lists to arrays: word ids, hashed letter trigrams, character ids and token bigram ids, padded (numpy, no PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .config import ModelConfig, VocabConfig
from .text import normalize
from .vocab import Vocab

MAX_WORD_CHARS = 24  # characters the character CNN reads of a word
MAX_TRIGRAMS = 32  # trigrams summed for a word: all of those of a word of up to 32 characters
EDGES = ("<s>", "</s>")  # what a sentence's first and last tokens pair with


def murmurhash3_32(key: str, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of the UTF-8 bytes, positive: the same numbers as
    `sklearn.utils.murmurhash3_32(key, seed, positive=True)` without importing scikit-learn
    (0.9 s) on the tagging path. Stable across processes, unlike Python's salted `hash()`."""
    data = key.encode("utf-8")
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    tail = len(data) & ~3
    for i in range(0, tail, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = int.from_bytes(data[tail:], "little") if len(data) > tail else 0
    if k:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def letter_trigrams(word: str) -> list[str]:
    """`taipei` -> `#ta tai aip ipe pei ei#` (a one-letter word gives `#a#`)."""
    marked = f"#{word}#"
    return [marked[i:i + 3] for i in range(len(marked) - 2)]


@lru_cache(maxsize=200_000)
def trigram_buckets(word: str, buckets: int) -> tuple[int, ...]:
    return tuple(murmurhash3_32(g) % buckets for g in letter_trigrams(word))


@lru_cache(maxsize=200_000)
def char_ids(word: str, chars: Vocab) -> tuple[int, ...]:
    """The ids of the characters the character CNN reads of `word`."""
    return tuple(chars.ids(word[:MAX_WORD_CHARS]))


def token_bigrams(forms: list[str]) -> list[str]:
    """`a b c` -> `<s> a`, `a b`, `b c`, `c </s>`: token i pairs with the token before it in bigram i and
    with the token after it in bigram i + 1."""
    marked = [EDGES[0], *forms, EDGES[1]]
    return [f"{a} {b}" for a, b in zip(marked, marked[1:])]


@dataclass(frozen=True)
class Array:
    """One array a model reads: its name, what it holds, its axes (named where they vary between batches;
    a number where fixed) and the `model.embeddings` entries that switch it on (none: always read)."""

    name: str
    description: str
    axes: tuple[str | int, ...]
    switches: tuple[str, ...] = ()

    @property
    def variable_axes(self) -> dict[int, str]:
        """The axes whose size varies, by position (an ONNX export's dynamic axes)."""
        return {k: axis for k, axis in enumerate(self.axes) if isinstance(axis, str)}

    def used(self, switched_on: set[str]) -> bool:
        return not self.switches or bool(switched_on.intersection(self.switches))


# The arrays both engines read, declared once: Features, the torch Batch, the ONNX inputs and axes, the ONNX
# runtime's checks and the inference benchmark derive from this. All are int64.
SCHEMA = (
    Array("words", "word ids, 0 = <pad>", ("batch", "tokens")),
    Array("lengths", "tokens per sentence", ("batch",)),
    Array("rows", "each token's row in `chars` and `trigrams` (row 0: padding)", ("batch", "tokens"), ("chars", "hashed")),
    Array("chars", "character ids of each distinct word, 0-padded", ("words", "characters"), ("chars",)),
    Array("trigrams", "trigram buckets of each distinct word, -1-padded", ("words", "trigrams"), ("hashed",)),
    Array("bigrams", "ids of each token's bigrams with the tokens before and after it, 0-padded", ("batch", "tokens", 2), ("bigrams",)),
)
NAMES = tuple(a.name for a in SCHEMA)


class Features:
    """Padded arrays (named in SCHEMA) for B sentences of at most T tokens: what both engines read.
    An array the featurizer does not make is None."""

    def __init__(self, **arrays: np.ndarray):
        unknown = set(arrays) - set(NAMES)
        if unknown:
            raise TypeError(f"not feature arrays: {', '.join(sorted(unknown))}")
        self.__dict__.update(dict.fromkeys(NAMES), **arrays)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays in use, by name: the inputs of the exported network."""
        return {name: getattr(self, name) for name in NAMES if getattr(self, name) is not None}


@dataclass
class Encoded:
    """One sentence's ids before padding (what `Featurizer.pad` batches)."""

    forms: list[str]  # the normalized tokens, whose spellings `pad` looks up once per distinct word
    words: np.ndarray  # T word ids
    bigrams: np.ndarray | None = None  # T x 2 bigram ids


def _padded(rows: list[tuple[int, ...]], fill: int) -> np.ndarray:
    """A padding row 0, then `rows`, each padded with `fill`; at least one column."""
    array = np.full((len(rows) + 1, max(1, max(map(len, rows), default=1))), fill, dtype=np.int64)
    for k, row in enumerate(rows, start=1):
        array[k, : len(row)] = row
    return array


class Featurizer:
    """Turns token lists into Features with whatever the model's word representations read."""

    def __init__(
        self,
        words: Vocab,
        chars: Vocab | None = None,
        buckets: int = 0,
        lowercase: bool = True,
        normalize_digits: bool = False,
        bigrams: Vocab | None = None,
    ):
        self.words, self.chars, self.buckets, self.bigrams = words, chars, buckets, bigrams
        self.lowercase, self.normalize_digits = lowercase, normalize_digits

    @property
    def switched_on(self) -> set[str]:
        """The `model.embeddings` entries whose arrays this featurizer makes."""
        made = {"chars": self.chars is not None, "hashed": bool(self.buckets), "bigrams": self.bigrams is not None}
        return {name for name, on in made.items() if on}

    def inputs(self) -> list[Array]:
        """The arrays this featurizer makes, in SCHEMA order: the exported network's inputs."""
        return [a for a in SCHEMA if a.used(self.switched_on)]

    def describe(self) -> str:
        """The vocabulary sizes, as `slotfill info` shows them."""
        return (f"{len(self.words)} words" + (f", {len(self.chars)} characters" if self.chars else "")
                + (f", {self.buckets} trigram buckets" if self.buckets else "") + (f", {len(self.bigrams)} bigrams" if self.bigrams else ""))

    def form(self, token: str) -> str:
        return normalize(token, self.lowercase, self.normalize_digits)

    def batch(self, sentences: list[list[str]]) -> Features:
        return self.pad([self.encode(tokens) for tokens in sentences])

    def encode(self, tokens: list[str]) -> Encoded:
        """One sentence's ids, unpadded: training encodes each example once and pads batches of them."""
        forms = [self.form(t) for t in tokens]
        encoded = Encoded(forms, np.array(self.words.ids(forms), dtype=np.int64))
        if self.bigrams is not None:
            ids = self.bigrams.ids(token_bigrams(forms))
            encoded.bigrams = np.stack([ids[:-1], ids[1:]], axis=1) if forms else np.zeros((0, 2), dtype=np.int64)
        return encoded

    def pad(self, sentences: list[Encoded]) -> Features:
        """Encoded sentences as one batch of padded arrays; the spelling of each distinct word is listed once."""
        lengths = np.array([len(s.forms) for s in sentences], dtype=np.int64)
        words = np.zeros((len(sentences), lengths.max()), dtype=np.int64)
        for i, s in enumerate(sentences):
            words[i, : len(s.forms)] = s.words
        features = Features(words=words, lengths=lengths)
        if self.chars is not None or self.buckets:
            distinct: dict[str, int] = {"": 0}
            features.rows = np.zeros_like(words)
            for i, s in enumerate(sentences):
                features.rows[i, : len(s.forms)] = [distinct.setdefault(t, len(distinct)) for t in s.forms]
            spelled = list(distinct)[1:]
            if self.chars is not None:
                features.chars = _padded([char_ids(w, self.chars) for w in spelled], 0)
            if self.buckets:
                features.trigrams = _padded([trigram_buckets(w, self.buckets)[:MAX_TRIGRAMS] for w in spelled], -1)
        if self.bigrams is not None:
            features.bigrams = np.zeros((*words.shape, 2), dtype=np.int64)
            for i, s in enumerate(sentences):
                features.bigrams[i, : len(s.forms)] = s.bigrams
        return features

    def to_json(self) -> dict:
        return {
            "words": self.words.to_json(),
            "chars": self.chars.to_json() if self.chars is not None else None,
            "buckets": self.buckets,
            "lowercase": self.lowercase,
            "normalize_digits": self.normalize_digits,
            "bigrams": self.bigrams.to_json() if self.bigrams is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> Featurizer:
        chars, bigrams = (Vocab.from_json(data[k]) if data.get(k) is not None else None for k in ("chars", "bigrams"))
        return cls(Vocab.from_json(data["words"]), chars, data["buckets"], data["lowercase"], data["normalize_digits"], bigrams)


def build_featurizer(token_lists: list[list[str]], vocab: VocabConfig, model: ModelConfig) -> Featurizer:
    """A Featurizer whose vocabularies come from the training tokens."""
    forms = [[normalize(t, vocab.lowercase, vocab.normalize_digits) for t in s] for s in token_lists]
    words = Vocab.build(forms, vocab.min_count, vocab.max_size)
    chars = Vocab.build([list(w) for s in forms for w in s]) if "chars" in model.embeddings else None
    bigrams = Vocab.build(map(token_bigrams, forms), model.bigrams.min_count) if "bigrams" in model.embeddings else None
    buckets = model.hashed.buckets if "hashed" in model.embeddings else 0
    return Featurizer(words, chars, buckets, vocab.lowercase, vocab.normalize_digits, bigrams)
