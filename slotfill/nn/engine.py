"""The torch engine: a model directory's network (weights.pt) run by PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import storage
from ..errors import SlotfillError
from ..features import Features
from ..storage import Parts
from .batch import Batch
from .checkpoint import load_tensors
from .models import build_network


class TorchEngine:
    """Runs the PyTorch network on whatever device it is on, on `threads` CPU threads (0: PyTorch's
    setting) and one thread for a single sentence; gives the network's `outputs` (None: all it has, as in training)."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, threads: int = 0, outputs: list[str] | None = None):
        self.model, self.threads, self.outputs = model, threads, outputs

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def run(self, features: Features) -> dict[str, np.ndarray]:
        self.model.eval()
        threads = torch.get_num_threads()
        torch.set_num_threads(1 if len(features.lengths) == 1 else self.threads or threads)
        try:
            with torch.inference_mode():
                scores = self.model.outputs(Batch.of(features, self.device))
        finally:
            torch.set_num_threads(threads)
        return {name: value.detach().float().cpu().numpy() for name, value in scores.items()
                if self.outputs is None or name in self.outputs}

    @classmethod
    def load(cls, directory: str | Path, parts: Parts, outputs: list[str], threads: int = 0) -> TorchEngine:
        """The network of a model directory, its weights read from weights.pt (tensors only, no code);
        its `outputs` are those of the network the config describes."""
        path = Path(directory) / storage.WEIGHTS
        if not path.is_file():
            raise SlotfillError(f"not a model directory for the torch engine: {storage.WEIGHTS} is missing", directory)
        state = load_tensors(path, "weights")
        model = build_network(parts)
        try:
            model.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError, AttributeError) as err:
            raise SlotfillError(f"the weights do not match the model's config ({str(err).splitlines()[0]})", directory) from None
        return cls(model.eval(), threads, outputs)
