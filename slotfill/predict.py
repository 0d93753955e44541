"""The library API: SlotTagger and SentimentClassifier loaded from a model directory and applied to text.
One pipeline for both engines: text -> tokens -> Features -> engine (ONNX or PyTorch) -> decoding -> results.
This module does not import PyTorch; the torch engine is imported only when it is chosen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from . import storage
from .config import Config, config_from_dict
from .decode import BioDecoder
from .errors import SlotfillError
from .features import Featurizer, Features
from .metrics import classification_metrics, joint_metrics, span_metrics
from .readers import LabelledText, TaggedSentence
from .tags import spans
from .text import Token, tokenize, words
from .vocab import Vocab

log = logging.getLogger("slotfill")
BATCH_SIZE = 512
ENGINES = ("auto", "onnx", "torch")


class Engine(Protocol):
    """Runs the network: Features in, named score arrays out (see `Tagger.outputs` / `Classifier.outputs`)."""

    name: str

    def run(self, features: Features) -> dict[str, np.ndarray]: ...


def _tokens(text: str, where: str = "text", latin_in_cjk: str = "word", offsets: bool = True) -> list:
    """The text's Tokens (or, without `offsets`, their strings); an empty sentence is an error."""
    if not isinstance(text, str):
        raise SlotfillError(f"{where}: expected a string, not {type(text).__name__}")
    tokens = tokenize(text, lowercase=False, latin_in_cjk=latin_in_cjk) if offsets else words(text, latin_in_cjk)
    if not tokens:
        raise SlotfillError(f"{where}: empty sentence")
    return tokens


class Predictor:
    """What the two tasks share: config, featurizer, label vocabularies, an engine, batched prediction."""

    task = ""

    def __init__(self, config: Config, featurizer: Featurizer, backend: Engine):
        self.config, self.featurizer, self.backend = config, featurizer, backend

    @property
    def engine(self) -> str:
        """The engine in use: "onnx" or "torch"."""
        return self.backend.name

    @property
    def model(self):
        """The PyTorch network (torch engine only)."""
        return self.backend.model

    def labels_json(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_parts(cls, config: Config, featurizer: Featurizer, vocab: dict, backend: Engine) -> Predictor:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: str | Path, engine: str = "auto", threads: int = 0) -> Predictor:
        """Load a model directory written by `slotfill train`; see `load`."""
        if engine not in ENGINES:
            raise SlotfillError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
        raw_config, vocab = storage.read_model(directory)
        try:
            config = config_from_dict(raw_config)
            featurizer = Featurizer.from_json(vocab["featurizer"])
        except (SlotfillError, KeyError, TypeError) as err:
            raise SlotfillError(f"corrupt model directory ({err})", directory) from None
        wanted = PREDICTORS[config.task]
        if cls is not Predictor and wanted is not cls:
            raise SlotfillError(f"this is a {config.task} model; load it with {wanted.__name__}", directory)
        try:
            backend = _engine(Path(directory), engine, threads, config, featurizer, vocab)
            return wanted.from_parts(config, featurizer, vocab, backend)
        except (KeyError, TypeError, ValueError) as err:
            raise SlotfillError(f"corrupt model directory ({err.__class__.__name__}: {err})", directory) from None

    def _predict(self, token_lists: list[list[str]], decode: Callable[[Features, dict], list]) -> list:
        """`decode(features, scores)` over length-sorted batches, results back in input order."""
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        results: list = [None] * len(token_lists)
        for k in range(0, len(order), BATCH_SIZE):
            chunk = order[k:k + BATCH_SIZE]
            features = self.featurizer.batch([token_lists[i] for i in chunk])
            for i, result in zip(chunk, decode(features, self.backend.run(features))):
                results[i] = result
        return results


def _engine(directory: Path, engine: str, threads: int, config: Config, featurizer: Featurizer, vocab: dict) -> Engine:
    """The ONNX engine where asked for or (auto) usable, else the torch engine."""
    if engine != "torch":
        from .runtime import OnnxEngine, expected_names

        try:
            return OnnxEngine(directory, *expected_names(config, featurizer, vocab), threads)
        except SlotfillError as err:
            if engine == "onnx":
                raise
            log.warning(f"notice: {err}; using the torch engine")
    from .nn.engine import TorchEngine

    return TorchEngine.load(directory, config, featurizer, vocab, threads)


class SlotTagger(Predictor):
    """Tags slots (and the intent, when trained with intents) in raw text."""

    task = "tagger"

    def __init__(self, config: Config, featurizer: Featurizer, backend: Engine, tags: Vocab, intents: Vocab | None):
        super().__init__(config, featurizer, backend)
        self.tags, self.intents = tags, intents
        self.decoder = BioDecoder(tags.itos)

    @classmethod
    def from_parts(cls, config: Config, featurizer: Featurizer, vocab: dict, backend: Engine) -> SlotTagger:
        intents = Vocab(vocab["intents"], specials=()) if vocab.get("intents") else None
        return cls(config, featurizer, backend, Vocab(vocab["tags"], specials=()), intents)

    def labels_json(self) -> dict:
        return {"tags": self.tags.itos, "intents": self.intents.itos if self.intents else None}

    def _decode(self, features: Features, scores: dict) -> list[tuple[list[str], np.ndarray | None]]:
        if "transitions" in scores:
            paths = self.decoder.decode(scores["emissions"], features.lengths, scores["transitions"], scores["start"], scores["end"])
        else:
            paths = scores["emissions"].argmax(-1)
        itos = self.tags.itos
        tags = [[itos[t] for t in row[:n]] for row, n in zip(paths.tolist(), features.lengths.tolist())]
        return list(zip(tags, scores["intents"] if "intents" in scores else [None] * len(tags)))

    def predict_tokens(self, token_lists: list[list[str]]) -> list[tuple[list[str], np.ndarray | None]]:
        """(tags, intent probabilities or None) for each tokenized sentence."""
        return self._predict(token_lists, self._decode)

    def tag(self, text: str, ranking: int = 0) -> dict:
        """`{"text", "tokens", "tags", "slots": [{"label", "text", "start", "end"}]}` (+ "intent")."""
        return self.tag_batch([text], ranking)[0]

    def tag_batch(self, texts: list[str], ranking: int = 0) -> list[dict]:
        """`tag` for each text; `ranking` > 0 adds the best `ranking` intents to each "intent"."""
        tokenized = [_tokens(text, f"sentence {i + 1}", self.config.text.latin_in_cjk) for i, text in enumerate(texts)]
        results = self.predict_tokens([[t.text for t in tokens] for tokens in tokenized])
        return [self._tagged(text, tokens, tags, probs, ranking) for text, tokens, (tags, probs) in zip(texts, tokenized, results)]

    def _tagged(self, text: str, tokens: list[Token], tags: list[str], probs: np.ndarray | None, ranking: int) -> dict:
        slots = []
        for span in spans(tags):
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            slots.append({"label": span.label, "text": text[start:end], "start": start, "end": end})
        result = {"text": text, "tokens": [t.text for t in tokens], "tags": tags, "slots": slots}
        if probs is not None:
            best = int(probs.argmax())
            result["intent"] = {"label": self.intents.itos[best], "score": float(probs[best])}
            if ranking > 0:
                top = np.argsort(-probs, kind="stable")[:ranking]
                result["intent"]["ranking"] = [{"label": self.intents.itos[i], "score": float(probs[i])} for i in top]
        return result

    def evaluate(self, sentences: list[TaggedSentence]) -> dict:
        """conlleval span metrics (with intent and sentence accuracy when the model has an intent head)."""
        predicted = self.predict_tokens([s.tokens for s in sentences])
        gold_tags, pred_tags = [s.tags for s in sentences], [tags for tags, _ in predicted]
        if self.intents is None or not all(s.intent for s in sentences):
            return span_metrics(gold_tags, pred_tags)
        intents = [self.intents.itos[int(probs.argmax())] for _, probs in predicted]
        return joint_metrics(gold_tags, pred_tags, [s.intent for s in sentences], intents)

    @staticmethod
    def summary(metrics: dict) -> str:
        line = f"P {100 * metrics['precision']:.2f} R {100 * metrics['recall']:.2f} F1 {100 * metrics['f1']:.2f}"
        if "intent_accuracy" in metrics:
            line += f" intent {100 * metrics['intent_accuracy']:.2f} sentence {100 * metrics['sentence_accuracy']:.2f}"
        return line


class SentimentClassifier(Predictor):
    """Labels whole sentences (sentiment or any other classes) with probabilities."""

    task = "classifier"

    def __init__(self, config: Config, featurizer: Featurizer, backend: Engine, labels: Vocab):
        super().__init__(config, featurizer, backend)
        self.labels = labels

    @classmethod
    def from_parts(cls, config: Config, featurizer: Featurizer, vocab: dict, backend: Engine) -> SentimentClassifier:
        return cls(config, featurizer, backend, Vocab(vocab["labels"], specials=()))

    def labels_json(self) -> dict:
        return {"labels": self.labels.itos}

    def predict_tokens(self, token_lists: list[list[str]]) -> list[dict[str, float]]:
        """Class probabilities for each tokenized sentence."""
        return self._predict(
            token_lists,
            lambda features, scores: [dict(zip(self.labels.itos, row)) for row in scores["probabilities"].tolist()],
        )

    def classify(self, text: str) -> dict:
        """`{"text", "label", "scores": {label: probability}}`."""
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: list[str]) -> list[dict]:
        latin_in_cjk = self.config.text.latin_in_cjk
        tokenized = [_tokens(text, f"sentence {i + 1}", latin_in_cjk, offsets=False) for i, text in enumerate(texts)]
        return [
            {"text": text, "label": max(scores, key=scores.get), "scores": scores}
            for text, scores in zip(texts, self.predict_tokens(tokenized))
        ]

    def evaluate(self, examples: list[LabelledText]) -> dict:
        """Accuracy, macro-F1, per-class figures and the confusion matrix."""
        predicted = [max(s, key=s.get) for s in self.predict_tokens([e.tokens for e in examples])]
        gold = [e.label for e in examples]
        return classification_metrics(gold, predicted, sorted(set(self.labels.itos) | set(gold)))

    @staticmethod
    def summary(metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f} macro-F1 {100 * metrics['macro_f1']:.2f}"


PREDICTORS: dict[str, type[Predictor]] = {"tagger": SlotTagger, "classifier": SentimentClassifier}


def load(directory: str | Path, engine: str = "auto", threads: int = 0) -> Predictor:
    """Load any model directory: a SlotTagger or a SentimentClassifier, as its config says.
    `engine`: "onnx" (model.onnx run by onnxruntime, no PyTorch), "torch" (weights.pt), or "auto":
    ONNX when the directory has a model.onnx made from its weights and onnxruntime is installed.
    `threads`: threads for each model call (0: the engine's default: one per core, at most 4, on ONNX; PyTorch's own setting on torch)."""
    return Predictor.load(directory, engine, threads)
