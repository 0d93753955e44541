"""The networks: a shared BiRNN encoder, a slot tagger (softmax or CRF, optional intent head), a classifier."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ModelConfig, TrainConfig
from ..features import Featurizer
from ..storage import Parts
from .batch import Batch
from .crf import CRF
from .embeddings import WordRepresentation, build_representation, drop_to_unk

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
ONE_DIRECTION = {"lstm": torch.lstm, "gru": torch.gru, "rnn": torch.rnn_tanh}  # the kernels behind CELLS


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with the mask drawn by `rand_like`: the distribution of nn.Dropout, at less than
    half its cost on the CPU, where nn.Dropout's `bernoulli_` took 7% of a training step."""
    if not training or p == 0:
        return x
    return x * (torch.rand_like(x) >= p) * (1 / (1 - p))


class Dropout(nn.Module):
    """nn.Dropout drawn as `dropout` draws it."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each sentence of a left-aligned batch (B x T x D) reversed within its length; padding stays put."""
    t = torch.arange(x.size(1), device=x.device)
    index = torch.where(t < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - t, t)
    return x.gather(1, index.unsqueeze(2).expand_as(x))


class Encoder(nn.Module):
    """Word representations -> dropout -> bidirectional RNN over variable-length batches (heads add dropout)."""

    def __init__(self, representation: WordRepresentation, config: ModelConfig, unk_id: int):
        super().__init__()
        self.representation = representation
        self.rnn = CELLS[config.cell](
            representation.dim,
            config.hidden_size,
            num_layers=config.layers,
            bidirectional=True,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.cell = config.cell
        self.dropout = Dropout(config.dropout)
        self.word_dropout, self.unk_id = config.word_dropout, unk_id
        self.dim = 2 * config.hidden_size

    def forward(self, batch: Batch) -> torch.Tensor:
        words = batch.words
        if self.training and self.word_dropout > 0:
            words = drop_to_unk(words, self.word_dropout, self.unk_id)
        x = self.dropout(self.representation(batch, words))
        if self.training and x.device.type == "cpu":
            return self._both_ways(x, batch.lengths, batch.mask)
        # packed: cuDNN runs packed batches in one call; in inference the large, mixed-length batches would
        # make padded passes compute padding, and oneDNN set up a kernel for every new shape; the ONNX
        # export is one RNN with sequence lengths
        packed = pack_padded_sequence(x, batch.lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=words.size(1))
        return out

    def _both_ways(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The RNN's layers as one-directional passes over the padded batch, the backward one over each
        sentence reversed in place; padding comes after every sentence, so it changes no real state.
        Equal to running `self.rnn` on the packed batch, and twice as fast in training on the CPU: PyTorch's
        oneDNN LSTM kernel takes padded batches, while a packed batch of unequal lengths goes step by step there."""
        for layer in range(self.rnn.num_layers):
            if layer:
                x = dropout(x, self.rnn.dropout, self.training)
            backward = reverse_within(self._one_way(reverse_within(x, lengths), f"l{layer}_reverse"), lengths)
            x = torch.cat([self._one_way(x, f"l{layer}"), backward], dim=-1)
        return x * mask.unsqueeze(2)

    def _one_way(self, x: torch.Tensor, suffix: str) -> torch.Tensor:
        """One layer, one direction of `self.rnn` (its weights named ..._`suffix`) from zero states."""
        weights = [getattr(self.rnn, f"{name}_{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        start = x.new_zeros(1, x.size(0), self.rnn.hidden_size)
        states = (start, start) if self.cell == "lstm" else start
        return ONE_DIRECTION[self.cell](x, states, weights, True, 1, 0.0, self.training, False, True)[0]


class Pooling(nn.Module):
    """A sentence vector from the encoder's states: max, mean, last (both directions) or attention."""

    def __init__(self, mode: str, dim: int):
        super().__init__()
        self.mode = mode
        self.attention = nn.Sequential(nn.Linear(dim, dim // 2), nn.Tanh(), nn.Linear(dim // 2, 1)) if mode == "attention" else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1)
        if self.mode == "max":
            return states.masked_fill(~m, -1e4).amax(dim=1)
        if self.mode == "mean":
            return (states * m).sum(1) / m.sum(1).clamp(min=1)
        if self.mode == "last":
            half = states.size(-1) // 2
            last = (mask.sum(1) - 1).clamp(min=0)
            forward = states[torch.arange(states.size(0)), last, :half]
            return torch.cat([forward, states[:, 0, half:]], dim=-1)
        weights = self.attention(states).squeeze(-1).masked_fill(~mask, -1e4).softmax(dim=1)
        return torch.bmm(weights.unsqueeze(1), states).squeeze(1)


class Tagger(nn.Module):
    """BiRNN slot tagger: per-token scores decoded by softmax or a CRF, plus an optional intent head."""

    @classmethod
    def of(cls, encoder: Encoder, labels: dict, config: ModelConfig) -> Tagger:
        return cls(encoder, labels["tags"], config, len(labels["intents"]) if labels.get("intents") else 0)

    def __init__(self, encoder: Encoder, tags: list[str], config: ModelConfig, intents: int = 0):
        super().__init__()
        self.encoder = encoder
        self.dropout = Dropout(config.dropout)
        self.emissions = nn.Linear(encoder.dim, len(tags))
        self.crf = CRF(len(tags)) if config.decoder == "crf" else None
        self.intent_pooling = Pooling(config.intent_pooling, encoder.dim) if intents else None
        self.intent = nn.Linear(encoder.dim, intents) if intents else None
        self.intent_weight = config.intent_weight

    def _scores(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Emission scores, intent scores and the sentence vector the intent head reads (None without one)."""
        states = self.encoder(batch)
        intent = sentence = None
        if self.intent is not None:
            sentence = self.intent_pooling(states, batch.mask)
            intent = self.intent(self.dropout(sentence))
        return self.emissions(self.dropout(states)), intent, sentence

    def prepare(self, targets: Iterable[dict], config: TrainConfig) -> None:
        """Nothing to set from the training targets before training."""

    def loss(self, batch: Batch) -> torch.Tensor:
        emissions, intent, _ = self._scores(batch)
        mask = batch.mask
        if self.crf is not None:
            loss = -self.crf.log_likelihood(emissions, batch.tags, mask).mean()
        else:
            loss = nn.functional.cross_entropy(emissions[mask], batch.tags[mask])
        if intent is not None:
            loss = loss + self.intent_weight * nn.functional.cross_entropy(intent, batch.intents)
        return loss

    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        """What decoding reads: emission scores (B x T x tags), the CRF's transition, start and end
        scores, intent probabilities (B x intents) and the sentence vectors the intent head reads; the exported
        network's outputs."""
        emissions, intent, sentence = self._scores(batch)
        out = {"emissions": emissions}
        if self.crf is not None:
            out.update(transitions=self.crf.transitions, start=self.crf.start, end=self.crf.end)
        if intent is not None:
            out.update(intents=intent.softmax(-1), sentence=sentence)
        return out


class Classifier(nn.Module):
    """BiRNN sentence classifier: encoder -> pooling -> linear."""

    @classmethod
    def of(cls, encoder: Encoder, labels: dict, config: ModelConfig) -> Classifier:
        return cls(encoder, len(labels["labels"]), config)

    def __init__(self, encoder: Encoder, classes: int, config: ModelConfig):
        super().__init__()
        self.encoder = encoder
        self.pooling = Pooling(config.pooling, encoder.dim)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(encoder.dim, classes)
        self.register_buffer("class_weights", torch.ones(classes))

    def _scores(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Class scores and the sentence vector they are read from."""
        sentence = self.pooling(self.encoder(batch), batch.mask)
        return self.output(self.dropout(sentence)), sentence

    def prepare(self, targets: Iterable[dict], config: TrainConfig) -> None:
        """With `train.class_weights`, weigh each class's loss by the inverse of its share of the training data."""
        if config.class_weights:
            counts = torch.bincount(torch.tensor([t["labels"] for t in targets]), minlength=len(self.class_weights))
            self.class_weights.copy_(counts.sum() / (len(self.class_weights) * counts.float()))

    def loss(self, batch: Batch) -> torch.Tensor:
        return nn.functional.cross_entropy(self._scores(batch)[0], batch.labels, weight=self.class_weights)

    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Class probabilities (B x classes) and sentence vectors; the exported network's outputs."""
        scores, sentence = self._scores(batch)
        return {"probabilities": scores.softmax(-1), "sentence": sentence}


NETWORKS = {"tagger": Tagger, "classifier": Classifier}  # the network of each task (a config's `task`)


def build_encoder(config: ModelConfig, featurizer: Featurizer) -> Encoder:
    return Encoder(build_representation(config, featurizer), config, featurizer.words.unk_id)


def build_network(parts: Parts) -> nn.Module:
    """An untrained network for a model's config, featurizer and label lists."""
    model = parts.config.model
    return NETWORKS[parts.config.task].of(build_encoder(model, parts.featurizer), parts.labels, model)
