"""Features as tensors on a device, with the training targets."""

from __future__ import annotations

import torch

from ..features import NAMES, Features


class Batch:
    """The feature arrays (named in slotfill.features.SCHEMA; None where not made) as tensors, `lengths`
    on the CPU (pack_padded_sequence wants it there), with training targets (`tags`, `intents`, `labels`)
    when known."""

    def __init__(self, **tensors: torch.Tensor):
        self.__dict__.update(dict.fromkeys(NAMES), **tensors)

    @classmethod
    def of(cls, features: Features, device: torch.device | str = "cpu", **targets: torch.Tensor) -> Batch:
        tensors = {name: torch.from_numpy(array) for name, array in features.arrays().items()}
        tensors.update(targets)
        return cls(**{k: v if k == "lengths" else v.to(device) for k, v in tensors.items()})

    @property
    def mask(self) -> torch.Tensor:
        return self.words != 0
