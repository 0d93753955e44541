"""Token lists to tensors: word ids, hashed letter trigrams and character ids, padded into a Batch."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import torch

from .text import normalize
from .vocab import Vocab

MAX_WORD_CHARS = 24


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


@dataclass
class Batch:
    """Padded tensors for B sentences of at most T tokens; optional parts are None when unused."""

    words: torch.Tensor  # B x T word ids, 0 = <pad>
    lengths: torch.Tensor  # B, on the CPU (pack_padded_sequence wants it there)
    trigrams: torch.Tensor | None = None  # flat bucket ids of all B*T tokens
    trigram_offsets: torch.Tensor | None = None  # B*T offsets into `trigrams`
    chars: torch.Tensor | None = None  # U x L character ids of the batch's U distinct words (row 0: padding)
    char_index: torch.Tensor | None = None  # B x T row of `chars` for each token
    tags: torch.Tensor | None = None  # B x T tag ids, 0 under padding
    intents: torch.Tensor | None = None  # B
    labels: torch.Tensor | None = None  # B

    @property
    def mask(self) -> torch.Tensor:
        return self.words != 0

    def to(self, device: torch.device) -> Batch:
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in moved.items():
            if value is not None and name != "lengths":
                moved[name] = value.to(device)
        return Batch(**moved)


class Featurizer:
    """Turns token lists into a Batch with whatever the model's word representations read."""

    def __init__(
        self,
        words: Vocab,
        chars: Vocab | None = None,
        buckets: int = 0,
        lowercase: bool = True,
        normalize_digits: bool = False,
    ):
        self.words, self.chars, self.buckets = words, chars, buckets
        self.lowercase, self.normalize_digits = lowercase, normalize_digits

    def form(self, token: str) -> str:
        return normalize(token, self.lowercase, self.normalize_digits)

    def batch(self, sentences: list[list[str]]) -> Batch:
        forms = [[self.form(t) for t in s] for s in sentences]
        longest = max(len(s) for s in forms)
        words = torch.zeros(len(forms), longest, dtype=torch.long)
        for i, s in enumerate(forms):
            words[i, : len(s)] = torch.tensor(self.words.ids(s), dtype=torch.long)
        batch = Batch(words=words, lengths=torch.tensor([len(s) for s in forms]))
        if self.buckets:
            batch.trigrams, batch.trigram_offsets = self._trigrams(forms, longest)
        if self.chars is not None:
            batch.chars, batch.char_index = self._chars(forms, longest)
        return batch

    def _trigrams(self, forms: list[list[str]], longest: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids: list[int] = []
        offsets: list[int] = []
        for s in forms:
            for k in range(longest):
                offsets.append(len(ids))
                if k < len(s):
                    ids.extend(trigram_buckets(s[k], self.buckets))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)

    def _chars(self, forms: list[list[str]], longest: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Character ids of each distinct word once, and each token's row: words repeat a lot."""
        rows: dict[str, int] = {"": 0}
        index = torch.zeros(len(forms), longest, dtype=torch.long)
        for i, s in enumerate(forms):
            index[i, : len(s)] = torch.tensor([rows.setdefault(t, len(rows)) for t in s], dtype=torch.long)
        width = min(MAX_WORD_CHARS, max(len(w) for w in rows))
        chars = [[0] * width]
        for word in list(rows)[1:]:
            ids = self.chars.ids(word[:width])
            chars.append(ids + [0] * (width - len(ids)))
        return torch.tensor(chars, dtype=torch.long), index

    def to_json(self) -> dict:
        return {
            "words": self.words.to_json(),
            "chars": self.chars.to_json() if self.chars is not None else None,
            "buckets": self.buckets,
            "lowercase": self.lowercase,
            "normalize_digits": self.normalize_digits,
        }

    @classmethod
    def from_json(cls, data: dict) -> Featurizer:
        chars = Vocab.from_json(data["chars"]) if data["chars"] is not None else None
        return cls(Vocab.from_json(data["words"]), chars, data["buckets"], data["lowercase"], data["normalize_digits"])


def build_featurizer(token_lists: list[list[str]], vocab, embeddings: list[str], buckets: int) -> Featurizer:
    """A Featurizer whose vocabularies come from the training tokens (`vocab` is a VocabConfig)."""
    forms = [[normalize(t, vocab.lowercase, vocab.normalize_digits) for t in s] for s in token_lists]
    words = Vocab.build(forms, vocab.min_count, vocab.max_size)
    chars = Vocab.build([list(w) for s in forms for w in s]) if "chars" in embeddings else None
    return Featurizer(words, chars, buckets if "hashed" in embeddings else 0, vocab.lowercase, vocab.normalize_digits)
