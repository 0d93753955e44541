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

from . import scope, storage
from .calibration import scale
from .config import Config
from .errors import SlotfillError
from .fallback import Fallback
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
    SENTENCE = {"sentence": {0: "batch"}}  # the network's sentence vectors, whose typicality says what is out of scope
    kinds: ClassVar[dict[str, type[Predictor]]] = {}  # task -> class, filled as the task classes are defined

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if "task" in cls.__dict__:
            Predictor.kinds[cls.task] = cls

    def __init__(self, parts: Parts, backend: Engine):
        self.parts, self.backend = parts, backend
        self.config: Config = parts.config
        self.featurizer: Featurizer = parts.featurizer
        self.fallback: Fallback = parts.fallback  # when to answer the fallback intent; change it freely

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

    @property
    def sentence_labels(self) -> list[str] | None:
        """The labels of the sentence-level output (classes, or intents); None without one."""
        raise NotImplementedError

    @property
    def out_of_scope(self) -> int | None:
        """The id of the out-of-scope class (`data.out_of_scope`); None without one."""
        name, labels = self.config.data.out_of_scope, self.sentence_labels or []
        return labels.index(name) if name in labels else None

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

    def sentence_outputs(self, token_lists: list[list[str]]) -> dict[str, np.ndarray]:
        """The sentence-level outputs of tokenized sentences, a row each in input order: the probabilities (at the
        model's temperature, under CALIBRATED's name), "typicality" where the model has it, and the "sentence"
        vectors where the engine gives them (the torch engine always does)."""
        names = (self.CALIBRATED, "typicality", "sentence")
        rows = self._predict(token_lists, lambda features, scores: [
            dict(zip([n for n in names if n in scores], values)) for values in zip(*(scores[n] for n in names if n in scores))])
        return {name: np.stack([row[name] for row in rows]) for name in rows[0]} if rows else {}

    def gold_ids(self, examples: list) -> np.ndarray:
        """The ids of examples' sentence-level labels; the number of labels for those the model does not know."""
        labels = self.sentence_labels or []
        return np.array([labels.index(g) if g in labels else len(labels) for g in map(self.stratum, examples)], dtype=np.int64)

    def fit_token_calibration(self, examples: list) -> dict:
        """What calibration.json records of the token-level scores, fitted on labelled (dev) examples."""
        return {}

    def fallbacks(self, probabilities: np.ndarray, typicality: np.ndarray | None, fallback: Fallback | None = None) -> list[dict | None]:
        """Each sentence's fallback answer (scope.Fallback.answer) under `fallback` (default: the model's)."""
        fallback, labels = fallback or self.fallback, self.sentence_labels
        second, top = np.sort(probabilities, axis=1)[:, -2:].T.tolist() if probabilities.shape[1] > 1 else (
            [0.0] * len(probabilities), probabilities[:, 0].tolist())
        typical = typicality.tolist() if typicality is not None else [None] * len(probabilities)
        return [fallback.answer(labels[b], *scores, self.config.data.out_of_scope)
                for b, *scores in zip(probabilities.argmax(axis=1).tolist(), top, second, typical)]

    def judged(self, result: dict, fallback: Fallback) -> dict:
        """A result computed without thresholds, answered under `fallback`: from its ranking (the top two; a
        tagger's result needs its intent ranking) and its typicality. One that the out-of-scope class answered
        with the fallback already stays so."""
        ranking = self.ranked(result)[0]
        if not ranking or "fallback" in result:
            return result
        second = ranking[1]["score"] if len(ranking) > 1 else 0.0
        answer = fallback.answer(ranking[0]["label"], ranking[0]["score"], second, result.get("typicality"), self.config.data.out_of_scope)
        return self.fall_back(result, answer) if answer else result

    def fall_back(self, result: dict, answer: dict) -> dict:
        """`result` answered with the fallback `answer` instead of the model's label."""
        raise NotImplementedError

    def scope_metrics(self, gold: list[str], probabilities: np.ndarray, typicality: np.ndarray | None,
                      fallback: Fallback | None = None) -> dict:
        """How well the fallback tells out-of-scope sentences from the others (scope.metrics)."""
        fallback = fallback or self.fallback
        labels = self.sentence_labels
        answers = self.fallbacks(probabilities, typicality, fallback)
        in_scope = np.delete(probabilities, self.out_of_scope, axis=1) if self.out_of_scope is not None else probabilities
        return scope.metrics(gold, [labels[i] for i in probabilities.argmax(axis=1)], [a is not None for a in answers],
                             set(labels), self.config.data.out_of_scope, in_scope.max(axis=1), typicality, fallback)

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
        """The network's outputs, the sentence-level probabilities at the model's temperature, and the typicality
        of the sentence vectors where the model has it."""
        scores = self.backend.run(features)
        if self.parts.temperature != 1.0 and self.CALIBRATED in scores:
            scores[self.CALIBRATED] = scale(scores[self.CALIBRATED], self.parts.temperature)
        if self.parts.typicality is not None and "sentence" in scores:
            scores["typicality"] = self.parts.typicality(scores["sentence"])
        return scores

    def _tokenized(self, texts: list[str], offsets: bool = True) -> list[list[Token]] | list[list[str]]:
        latin_in_cjk = self.config.text.latin_in_cjk
        return [text_tokens(text, f"sentence {i + 1}", latin_in_cjk, offsets) for i, text in enumerate(texts)]
