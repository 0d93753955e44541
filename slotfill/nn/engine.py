"""The torch engine, and the PyTorch side of a predictor's life: built from data, saved, loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import storage
from ..config import Config, config_to_dict
from ..errors import SlotfillError
from ..features import Featurizer, Features, build_featurizer
from ..predict import PREDICTORS, Predictor
from .batch import Batch
from .checkpoint import load_tensors, to_bytes
from .models import Classifier, Tagger, build_encoder


class TorchEngine:
    """Runs the PyTorch network on whatever device it is on, on `threads` CPU threads (0: PyTorch's
    setting) and one thread for a single sentence."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, threads: int = 0):
        self.model, self.threads = model, threads

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
        return {name: value.detach().float().cpu().numpy() for name, value in scores.items()}

    @classmethod
    def load(cls, directory: str | Path, config: Config, featurizer: Featurizer, vocab: dict, threads: int = 0) -> TorchEngine:
        """The network of a model directory, its weights read from weights.pt (tensors only, no code)."""
        path = Path(directory) / storage.WEIGHTS
        if not path.is_file():
            raise SlotfillError(f"not a model directory for the torch engine: {storage.WEIGHTS} is missing", directory)
        state = load_tensors(path, "weights")
        model = build_model(config, featurizer, vocab)
        try:
            model.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError, AttributeError) as err:
            raise SlotfillError(f"the weights do not match the model's config ({str(err).splitlines()[0]})", directory) from None
        return cls(model.eval(), threads)


def build_model(config: Config, featurizer: Featurizer, vocab: dict) -> torch.nn.Module:
    """An untrained network for the config, featurizer and label vocabularies."""
    encoder = build_encoder(config.model, featurizer)
    if config.task == "tagger":
        return Tagger(encoder, vocab["tags"], config.model, len(vocab["intents"]) if vocab.get("intents") else 0)
    return Classifier(encoder, len(vocab["labels"]), config.model)


def create(config: Config, examples: list) -> Predictor:
    """An untrained SlotTagger (from TaggedSentences) or SentimentClassifier (from LabelledTexts) whose
    vocabularies and labels come from `examples`."""
    featurizer = build_featurizer([e.tokens for e in examples], config.vocab, config.model)
    if config.task == "tagger":
        vocab: dict = {"tags": ["O", *sorted({t for e in examples for t in e.tags} - {"O"})]}
        if config.model.intent_weight > 0 and all(e.intent for e in examples):
            vocab["intents"] = sorted({e.intent for e in examples})
    else:
        vocab = {"labels": sorted({e.label for e in examples})}
        if len(vocab["labels"]) < 2:
            raise SlotfillError(f"the training data has one class ({vocab['labels'][0]!r}); a classifier needs two or more")
    predictor = assemble(config, featurizer, vocab)
    if config.task == "classifier" and config.train.class_weights:
        counts = torch.bincount(torch.tensor(predictor.labels.ids(e.label for e in examples)), minlength=len(predictor.labels))
        predictor.model.class_weights.copy_(counts.sum() / (len(predictor.labels) * counts.float()))
    return predictor


def assemble(config: Config, featurizer: Featurizer, vocab: dict) -> Predictor:
    """An untrained predictor from a featurizer and label vocabularies built elsewhere."""
    return PREDICTORS[config.task].from_parts(config, featurizer, vocab, TorchEngine(build_model(config, featurizer, vocab)))


def weights_bytes(model: torch.nn.Module) -> bytes:
    """The model's state as a weights.pt file (CPU tensors)."""
    return to_bytes({k: v.detach().cpu() for k, v in model.state_dict().items()})


def save(predictor: Predictor, directory: str | Path, metrics: dict | None = None, weights: bytes | None = None,
         extra: dict[str, bytes] | None = None) -> None:
    """Write the model directory (config, vocabularies, weights, metrics, `extra` files) atomically;
    `weights` defaults to the model's current state."""
    vocab = {"featurizer": predictor.featurizer.to_json(), **predictor.labels_json()}
    weights = weights if weights is not None else weights_bytes(predictor.model)
    storage.save_model(directory, config_to_dict(predictor.config), vocab, weights, metrics, extra)
