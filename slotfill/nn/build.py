"""The PyTorch side of a predictor's life: built from training data, and saved as a model directory."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import storage
from ..config import Config
from ..features import build_featurizer
from ..predict import Predictor
from ..storage import Parts
from .checkpoint import to_bytes
from .engine import TorchEngine
from .models import build_network


def network(predictor: Predictor) -> torch.nn.Module:
    """The PyTorch network of a predictor on the torch engine."""
    if not isinstance(predictor.backend, TorchEngine):
        raise TypeError(f"a predictor on the {predictor.engine} engine has no PyTorch network")
    return predictor.backend.model


def assemble(parts: Parts) -> Predictor:
    """An untrained predictor of the configured task, from a featurizer and label lists built elsewhere."""
    kind = Predictor.kind(parts.config.task)
    return kind(parts, TorchEngine(build_network(parts)))


def create(config: Config, examples: list) -> Predictor:
    """An untrained predictor of the configured task whose vocabularies and labels come from `examples`
    (TaggedSentences for a tagger, LabelledTexts for a classifier), and the entity synonyms from a Corpus."""
    featurizer = build_featurizer([e.tokens for e in examples], config.vocab, config.model)
    labels = Predictor.kind(config.task).label_lists(config, examples)
    predictor = assemble(Parts(config, featurizer, labels, synonyms=getattr(examples, "synonyms", {})))
    network(predictor).prepare((predictor.targets(e) for e in examples), config.train)
    return predictor


def weights_bytes(model: torch.nn.Module) -> bytes:
    """The model's state as a weights.pt file (CPU tensors)."""
    return to_bytes({k: v.detach().cpu() for k, v in model.state_dict().items()})


def save(predictor: Predictor, directory: str | Path, metrics: dict | None = None, weights: bytes | None = None,
         extra: dict[str, bytes] | None = None) -> None:
    """Write the model directory (config, vocabularies, weights, metrics, `extra` files) atomically;
    `weights` defaults to the model's current state."""
    weights = weights if weights is not None else weights_bytes(network(predictor))
    storage.save_model(directory, predictor.parts, weights, metrics, extra)


def parameters(predictor: Predictor) -> dict[str, int]:
    """The trainable numbers of each layer of the network that holds some, by module name."""
    counts = {name: sum(p.numel() for p in module.parameters(recurse=False)) for name, module in network(predictor).named_modules()}
    return {name: n for name, n in counts.items() if n}
