"""Classifier: one label for a whole sentence (sentiment, intent or any other classes), with probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .analysis import confusions
from .calibration import summary, summary_line
from .config import Config
from .errors import SlotfillError
from .metrics import classification_metrics, format_classification_table
from .predictor import Engine, Predictor
from .readers import LabelledText, read_labelled
from .storage import Parts
from .vocab import Vocab


class Classifier(Predictor):
    """Labels whole sentences with class probabilities."""

    task = "classifier"
    command = "classify"
    metric = "accuracy"
    OUTPUTS = {"probabilities": {0: "batch"}}
    CALIBRATED = "probabilities"

    def __init__(self, parts: Parts, backend: Engine):
        super().__init__(parts, backend)
        self.labels = Vocab(parts.labels["labels"], specials=())

    @classmethod
    def outputs(cls, parts: Parts) -> list[str]:
        return ["probabilities"]

    @classmethod
    def read(cls, config: Config, path: str | Path | list) -> list[LabelledText]:
        data = config.data
        return read_labelled(path, data.format, data.text_column, data.label_column, config.text.latin_in_cjk)

    @classmethod
    def label_lists(cls, config: Config, examples: list[LabelledText]) -> dict[str, list[str] | None]:
        labels = sorted({e.label for e in examples})
        if len(labels) < 2:
            raise SlotfillError(f"the training data has one class ({labels[0]!r}); a classifier needs two or more")
        return {"labels": labels}

    @staticmethod
    def stratum(example) -> str:
        """What cross-validation keeps in proportion across folds: the example's label."""
        return example.label or ""

    def targets(self, example: LabelledText) -> dict[str, np.ndarray | int]:
        return {"labels": self.labels.id(example.label)}

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
        return [
            {"text": text, "label": max(scores, key=scores.get), "scores": scores}
            for text, scores in zip(texts, self.predict_tokens(self._tokenized(texts, offsets=False)))
        ]

    def predict_batch(self, texts: list[str], ranking: int = 0, nbest: int = 0) -> list[dict]:
        """`classify_batch` (every class is scored, so `ranking` changes nothing; there are no tags for `nbest`)."""
        return self.classify_batch(texts)

    def evaluate(self, examples: list[LabelledText], errors: int | None = None, confidence: bool = True) -> dict:
        """Accuracy, macro-F1, per-class figures, the confusion matrix and the calibration of the confidences;
        with `errors`, also the largest confusions and up to `errors` misclassified sentences ("errors")."""
        scores = self.predict_tokens([e.tokens for e in examples])
        predicted = [max(s, key=s.get) for s in scores]
        gold = [e.label for e in examples]
        result = classification_metrics(gold, predicted, sorted(set(self.labels.itos) | set(gold)))
        if confidence:
            result["calibration"] = summary(np.array([list(s.values()) for s in scores]),
                                            [g == p for g, p in zip(gold, predicted)], self.parts.temperature)
        if errors is not None:
            wrong = [i for i, (g, p) in enumerate(zip(gold, predicted)) if g != p][:errors]
            result["errors"] = {"confusions": confusions(gold, predicted), "sentences": [
                {"index": i, "text": " ".join(examples[i].tokens), "gold": gold[i], "predicted": predicted[i],
                 "score": scores[i][predicted[i]]} for i in wrong]}
        return result

    def confidences(self, examples: list[LabelledText]) -> tuple[np.ndarray, np.ndarray] | None:
        known = [e for e in examples if e.label in self.labels.stoi]
        if not known:
            return None
        probabilities = np.array([list(scores.values()) for scores in self.predict_tokens([e.tokens for e in known])])
        return probabilities, np.array(self.labels.ids(e.label for e in known))

    def format_result(self, result: dict) -> str:
        return f"{result['label']}\t{result['scores'][result['label']]:.3f}\t{result['text']}"

    def format_metrics(self, metrics: dict) -> str:
        return format_classification_table(metrics) + summary_line(metrics, "class")

    @staticmethod
    def summary(metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f} macro-F1 {100 * metrics['macro_f1']:.2f}"

    def describe_labels(self) -> str:
        return f"{len(self.labels)} classes: {', '.join(self.labels.itos)}"

    def served_labels(self) -> dict[str, list[str] | None]:
        return {"labels": list(self.labels.itos), "intents": None}

    def ranked(self, result: dict) -> tuple[list[dict], list[dict]]:
        scores = result["scores"]
        return sorted(({"label": k, "score": v} for k, v in scores.items()), key=lambda r: -r["score"]), []


SentimentClassifier = Classifier  # the old name, an alias for one more release (README, Library)
