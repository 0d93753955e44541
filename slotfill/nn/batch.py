"""Features as tensors on a device, with the training targets."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..features import Features


@dataclass
class Batch:
    """Features as tensors (see slotfill.features.Features), with training targets when known."""

    words: torch.Tensor  # B x T word ids, 0 = <pad>
    lengths: torch.Tensor  # B, on the CPU (pack_padded_sequence wants it there)
    rows: torch.Tensor | None = None  # B x T rows of `chars` / `trigrams`
    chars: torch.Tensor | None = None  # U x L character ids
    trigrams: torch.Tensor | None = None  # U x G trigram buckets, -1-padded
    bigrams: torch.Tensor | None = None  # B x T x 2 token bigram ids, 0 = <pad>
    tags: torch.Tensor | None = None  # B x T tag ids, 0 under padding
    intents: torch.Tensor | None = None  # B
    labels: torch.Tensor | None = None  # B

    @classmethod
    def of(cls, features: Features, device: torch.device | str = "cpu", **targets: torch.Tensor) -> Batch:
        tensors = {name: torch.from_numpy(array) for name, array in features.arrays().items()}
        tensors.update(targets)
        return cls(**{k: v if k == "lengths" else v.to(device) for k, v in tensors.items()})

    @property
    def mask(self) -> torch.Tensor:
        return self.words != 0
