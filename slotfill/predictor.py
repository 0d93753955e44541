"""What every predictor shares: a model directory's parts, an engine (ONNX or PyTorch), batched prediction.
One pipeline for both engines: text -> tokens -> Features -> engine -> scores -> the task's decoding.
SlotTagger (tagger.py) and Classifier (classifier.py) add what differs by task. This module does not
import PyTorch: the torch engine is imported in `choose_engine` alone, and only when it is chosen."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from . import storage
from .calibration import scale
from .config import Config
from .errors import SlotfillError
from .features import Featurizer, Features
from .storage import Parts
from .text import Token, tokenize, words

log = logging.getLogger("slotfill")
BATCH_SIZE = 512
ENGINES = ("auto", "onnx", "torch")


class Engine(Protocol):
    """Runs the network: Features in, the predictor's named score arrays (its `OUTPUTS`) out. Both
    engines are built by `load(directory, parts, outputs, threads)`."""

    name: str

    def run(self, features: Features) -> dict[str, np.ndarray]: ...


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def choose_engine(directory: Path, engine: str, parts: Parts, outputs: list[str], threads: int = 0) -> Engine:
    """The ONNX engine where asked for or (auto) usable, else the torch engine; without PyTorch
    installed, the ONNX engine or a one-line error."""
    if engine not in ENGINES:
        raise SlotfillError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine != "torch":
        from .runtime import OnnxEngine

        try:
            return OnnxEngine.load(directory, parts, outputs, threads)
        except SlotfillError as err:
            if engine == "onnx":
                raise
            if not torch_installed():
                raise SlotfillError(f"{err}; PyTorch is not installed here, so re-export the model "
                                    "(`slotfill export`) on a machine with PyTorch") from None
            log.warning(f"notice: {err}; using the torch engine")
    if not torch_installed():
        raise SlotfillError("the torch engine needs PyTorch (pip install torch), or use --engine onnx", directory)
    from .nn.engine import TorchEngine

    return TorchEngine.load(directory, parts, outputs, threads)


def text_tokens(text: str, where: str = "text", latin_in_cjk: str = "word", offsets: bool = True) -> list:
    """The text's Tokens (or, without `offsets`, their strings); an empty sentence is an error."""
    if not isinstance(text, str):
        raise SlotfillError(f"{where}: expected a string, not {type(text).__name__}")
    tokens = tokenize(text, lowercase=False, latin_in_cjk=latin_in_cjk) if offsets else words(text, latin_in_cjk)
    if not tokens:
        raise SlotfillError(f"{where}: empty sentence")
    return tokens


class Predictor:
    """A loaded model. Subclasses are the tasks: each declares its config `task`, its network's outputs
    and how it reads data, labels results, trains, scores and shows itself."""

    task: ClassVar[str]  # the config's `task`
    command: ClassVar[str]  # the `slotfill` command and the server endpoint that apply it
    metric: ClassVar[str]  # the dev metric that `train.metric = "auto"` keeps the best epoch by
    OUTPUTS: ClassVar[dict[str, dict[int, str]]]  # the network's outputs, with their variable axes
    CALIBRATED: ClassVar[str]  # the output of sentence-level probabilities that the model's temperature scales
    kinds: ClassVar[dict[str, type[Predictor]]] = {}  # task -> class, filled as the task classes are defined

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if "task" in cls.__dict__:
            Predictor.kinds[cls.task] = cls

    def __init__(self, parts: Parts, backend: Engine):
        self.parts, self.backend = parts, backend
        self.config: Config = parts.config
        self.featurizer: Featurizer = parts.featurizer

    @property
    def engine(self) -> str:
        """The engine in use: "onnx" or "torch"."""
        return self.backend.name

    @classmethod
    def kind(cls, task: str) -> type[Predictor]:
        """The predictor class of a config's `task`."""
        return cls.kinds[task]

    @classmethod
    def load(cls, directory: str | Path, engine: str = "auto", threads: int = 0) -> Predictor:
        """Load a model directory written by `slotfill train`; see `slotfill.predict.load`."""
        parts = storage.read_model(directory)
        wanted = cls.kind(parts.config.task)
        if cls is not Predictor and wanted is not cls:
            raise SlotfillError(f"this is a {wanted.task} model; load it with {wanted.__name__}", directory)
        try:
            backend = choose_engine(Path(directory), engine, parts, wanted.outputs(parts), threads)
            return wanted(parts, backend)
        except (KeyError, TypeError, ValueError) as err:
            raise SlotfillError(f"corrupt model directory ({err.__class__.__name__}: {err})", directory) from None

    @classmethod
    def outputs(cls, parts: Parts) -> list[str]:
        """The names of the outputs the network of `parts` has (a subset of OUTPUTS)."""
        raise NotImplementedError

    @classmethod
    def read(cls, config: Config, path: str | Path | list) -> list:
        """Examples of this task from a data file in the configured format."""
        raise NotImplementedError

    @classmethod
    def label_lists(cls, config: Config, examples: list) -> dict[str, list[str] | None]:
        """The label lists of a model trained on `examples` (vocab.json's label entries)."""
        raise NotImplementedError

    @staticmethod
    def stratum(example) -> str:
        """The group of an example that cross-validation keeps in proportion across folds."""
        raise NotImplementedError

    def targets(self, example) -> dict[str, np.ndarray | int]:
        """An example's training targets as ids: arrays are per token, integers per sentence."""
        raise NotImplementedError

    def predict_batch(self, texts: list[str], ranking: int = 0, nbest: int = 0) -> list[dict]:
        """The results for raw texts, as `--json` prints them (`ranking`: intents listed, where there are intents;
        `nbest`: the most probable tag sequences listed, where there are tags)."""
        raise NotImplementedError

    def evaluate(self, examples: list, errors: int | None = None, confidence: bool = True) -> dict:
        """The figures on labelled examples; `errors`: add the error analysis with that many sentences;
        `confidence`: add how well the confidences are calibrated (training's per-epoch dev figures leave it out)."""
        raise NotImplementedError

    def confidences(self, examples: list) -> tuple[np.ndarray, np.ndarray] | None:
        """The sentence-level probabilities (N x classes, at the model's temperature) and the gold class ids
        of labelled examples; None where the model has no sentence-level output."""
        raise NotImplementedError

    def format_result(self, result: dict) -> str:
        """A result as the command prints it without --json."""
        raise NotImplementedError

    def format_metrics(self, metrics: dict) -> str:
        """`evaluate`'s figures as a table."""
        raise NotImplementedError

    @staticmethod
    def summary(metrics: dict) -> str:
        """`evaluate`'s headline figures on one line."""
        raise NotImplementedError

    def describe_labels(self) -> str:
        """The label sets, as `slotfill info` shows them."""
        raise NotImplementedError

    def served_labels(self) -> dict[str, list[str] | None]:
        """`labels` (slot types or classes) and `intents` (or None), as /health lists them."""
        raise NotImplementedError

    def ranked(self, result: dict) -> tuple[list[dict], list[dict]]:
        """A result's ranked intents (`{"label", "score"}`, best first) and slots, for Rasa's answer shape."""
        raise NotImplementedError

    def _predict(self, token_lists: list[list[str]], decode: Callable[[Features, dict], list]) -> list:
        """`decode(features, scores)` over length-sorted batches, results back in input order."""
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        results: list = [None] * len(token_lists)
        for k in range(0, len(order), BATCH_SIZE):
            chunk = order[k:k + BATCH_SIZE]
            features = self.featurizer.batch([token_lists[i] for i in chunk])
            for i, result in zip(chunk, decode(features, self._scores(features))):
                results[i] = result
        return results

    def _scores(self, features: Features) -> dict[str, np.ndarray]:
        """The network's outputs, the sentence-level probabilities at the model's temperature."""
        scores = self.backend.run(features)
        if self.parts.temperature != 1.0 and self.CALIBRATED in scores:
            scores[self.CALIBRATED] = scale(scores[self.CALIBRATED], self.parts.temperature)
        return scores

    def _tokenized(self, texts: list[str], offsets: bool = True) -> list[list[Token]] | list[list[str]]:
        latin_in_cjk = self.config.text.latin_in_cjk
        return [text_tokens(text, f"sentence {i + 1}", latin_in_cjk, offsets) for i, text in enumerate(texts)]
