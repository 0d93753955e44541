"""Word representations, chosen and concatenated by `model.embeddings`."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from ..features import Featurizer
from .batch import Batch


def drop_to_unk(ids: torch.Tensor, p: float, unk_id: int) -> torch.Tensor:
    """Word dropout: a share `p` of the ids (never padding) read as `unk_id`."""
    return ids.masked_fill((torch.rand(ids.shape, device=ids.device) < p) & (ids != 0), unk_id)


class Learned(nn.Module):
    """A trained embedding table (also the home of word2vec vectors, copied in before training)."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.table = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.dim = dim

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        return self.table(words)


class OneHot(nn.Module):
    """1-of-N vectors over the vocabulary (`<unk>` is the "other" entry) times the first weight
    matrix W (N x dim). A one-hot vector times W is row `id` of W, so this is computed as a row
    lookup: no N x N matrix and no B x T x N tensor is ever built. W is initialised as an
    `nn.Linear(N, dim)` would be, which is what distinguishes it from a learned embedding."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        bound = 1 / math.sqrt(vocab_size)
        self.weight = nn.Parameter(torch.empty(vocab_size, dim).uniform_(-bound, bound))
        self.dim = dim

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(words, self.weight, padding_idx=0) * (words != 0).unsqueeze(-1)


class Hashed(nn.Module):
    """Letter trigrams of each word hashed into buckets and summed or averaged: no word is unknown."""

    def __init__(self, buckets: int, dim: int, combine: str = "sum"):
        super().__init__()
        self.bag = nn.Embedding(buckets, dim)  # the bag of trigram vectors
        nn.init.normal_(self.bag.weight, std=1 / math.sqrt(8))  # a word has ~8 trigrams
        self.dim, self.combine = dim, combine

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        ids = batch.trigrams  # one row per distinct word of the batch, -1-padded
        present = (ids >= 0).unsqueeze(-1).to(self.bag.weight.dtype)
        vectors = (self.bag(ids.clamp(min=0)) * present).sum(1)
        if self.combine == "mean":
            vectors = vectors / present.sum(1).clamp(min=1)
        return vectors[batch.rows]


class CharCNN(nn.Module):
    """A convolution over each word's characters, max-pooled: spelling features for any word."""

    def __init__(self, alphabet_size: int, dim: int, filters: int, width: int):
        super().__init__()
        self.table = nn.Embedding(alphabet_size, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, filters, width, padding=width // 2)  # an even width gives one extra column
        self.dim = filters

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        chars = batch.chars  # one row per distinct word of the batch
        features = self.conv(self.table(chars).transpose(1, 2))[..., : chars.size(1)]  # U x filters x L
        features = features.masked_fill((chars == 0).unsqueeze(1), -1e4).amax(dim=2)
        features = features.masked_fill((chars == 0).all(dim=1, keepdim=True), 0.0)
        return features[batch.rows]


class Bigrams(nn.Module):
    """Learned vectors of each token's bigrams with the tokens before and after it, concatenated: the
    neighbourhood a single Chinese character lacks. In training, `dropout` of the bigrams read as `<unk>`,
    which unseen bigrams are."""

    def __init__(self, vocab_size: int, dim: int, dropout: float, unk_id: int):
        super().__init__()
        self.table = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.dim, self.dropout, self.unk_id = 2 * dim, dropout, unk_id

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        ids = batch.bigrams
        if self.training and self.dropout > 0:
            ids = drop_to_unk(ids, self.dropout, self.unk_id)
        return self.table(ids).flatten(2)


class WordRepresentation(nn.Module):
    """The configured representations of each token, concatenated."""

    def __init__(self, parts: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)
        self.dim = sum(p.dim for p in parts.values())

    def forward(self, batch: Batch, words: torch.Tensor) -> torch.Tensor:
        return torch.cat([part(batch, words) for part in self.parts.values()], dim=-1)


def build_representation(config: ModelConfig, featurizer: Featurizer) -> WordRepresentation:
    """Randomly initialised representations; word2vec weights are filled in by `w2v.initialise`."""
    vocab_size = len(featurizer.words)
    makers = {
        "learned": lambda: Learned(vocab_size, config.learned.dim),
        "word2vec": lambda: Learned(vocab_size, config.word2vec.dim),
        "onehot": lambda: OneHot(vocab_size, config.onehot.dim),
        "hashed": lambda: Hashed(featurizer.buckets, config.hashed.dim, config.hashed.combine),
        "chars": lambda: CharCNN(len(featurizer.chars), config.chars.dim, config.chars.filters, config.chars.width),
        "bigrams": lambda: Bigrams(len(featurizer.bigrams), config.bigrams.dim, config.word_dropout, featurizer.bigrams.unk_id),
    }
    return WordRepresentation({name: makers[name]() for name in dict.fromkeys(config.embeddings)})
