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
from .fallback import FALLBACK, Fallback, check_out_of_scope, ranked_with
from .scope import format_metrics
from .storage import Parts
from .vocab import Vocab


class Classifier(Predictor):
    """Labels whole sentences with class probabilities."""

    task = "classifier"
    command = "classify"
    metric = "accuracy"
    OUTPUTS = {"probabilities": {0: "batch"}, **Predictor.SENTENCE}
    CALIBRATED = "probabilities"

    def __init__(self, parts: Parts, backend: Engine):
        super().__init__(parts, backend)
        self.labels = Vocab(parts.labels["labels"], specials=())

    @property
    def sentence_labels(self) -> list[str]:
        return self.labels.itos

    @classmethod
    def outputs(cls, parts: Parts) -> list[str]:
        return ["probabilities", *(["sentence"] if parts.typicality is not None else [])]

    @classmethod
    def read(cls, config: Config, path: str | Path | list) -> list[LabelledText]:
        data = config.data
        return read_labelled(path, data.format, data.text_column, data.label_column, config.text.latin_in_cjk)

    @classmethod
    def label_lists(cls, config: Config, examples: list[LabelledText]) -> dict[str, list[str] | None]:
        labels = sorted({e.label for e in examples})
        if len(labels) < 2:
            raise SlotfillError(f"the training data has one class ({labels[0]!r}); a classifier needs two or more")
        check_out_of_scope(config.data.out_of_scope, labels)
        return {"labels": labels}

    @staticmethod
    def stratum(example) -> str:
        """What cross-validation keeps in proportion across folds: the example's label."""
        return example.label or ""

    def targets(self, example: LabelledText) -> dict[str, np.ndarray | int]:
        return {"labels": self.labels.id(example.label)}

    def classify(self, text: str, fallback: Fallback | None = None) -> dict:
        """`{"text", "label", "scores": {label: probability}}` (+ "typicality", and "fallback" where the label is
        the fallback's: its reason, score and the model's best label, see scope.Fallback.answer)."""
        return self.classify_batch([text], fallback)[0]

    def classify_batch(self, texts: list[str], fallback: Fallback | None = None) -> list[dict]:
        """`classify` for each text; `fallback`: thresholds other than the model's."""
        outputs = self.sentence_outputs(self._tokenized(texts, offsets=False))
        probabilities, typicality = outputs["probabilities"], outputs.get("typicality")
        results = []
        for i, (text, row, answer) in enumerate(zip(texts, probabilities.tolist(), self.fallbacks(probabilities, typicality, fallback))):
            scores = dict(zip(self.labels.itos, row))
            results.append({"text": text, "label": max(scores, key=scores.get), "scores": scores})
            if typicality is not None:
                results[-1]["typicality"] = float(typicality[i])
            if answer is not None:
                results[-1] = self.fall_back(results[-1], answer)
        return results

    def fall_back(self, result: dict, answer: dict) -> dict:
        return {**result, "label": FALLBACK, "fallback": answer}

    def predict_batch(self, texts: list[str], ranking: int = 0, nbest: int = 0, fallback: Fallback | None = None) -> list[dict]:
        """`classify_batch` (every class is scored, so `ranking` changes nothing; there are no tags for `nbest`)."""
        return self.classify_batch(texts, fallback)

    def evaluate(self, examples: list[LabelledText], errors: int | None = None, confidence: bool = True,
                 fallback: Fallback | None = None) -> dict:
        """Accuracy, macro-F1, per-class figures and the confusion matrix of the model's labels; with `confidence`,
        the calibration of the confidences and how the fallback (`fallback`, default the model's) tells out-of-scope
        sentences from the rest ("scope"); with `errors`, the largest confusions and up to `errors` misclassified
        sentences ("errors")."""
        outputs = self.sentence_outputs([e.tokens for e in examples])
        probabilities = outputs["probabilities"]
        predicted = [self.labels.itos[i] for i in probabilities.argmax(axis=1)]
        gold = [e.label for e in examples]
        result = classification_metrics(gold, predicted, sorted(set(self.labels.itos) | set(gold)))
        if confidence:
            result["calibration"] = summary(probabilities, [g == p for g, p in zip(gold, predicted)], self.parts.temperature)
            result["scope"] = self.scope_metrics(gold, probabilities, outputs.get("typicality"), fallback)
        if errors is not None:
            wrong = [i for i, (g, p) in enumerate(zip(gold, predicted)) if g != p][:errors]
            result["errors"] = {"confusions": confusions(gold, predicted), "sentences": [
                {"index": i, "text": " ".join(examples[i].tokens), "gold": gold[i], "predicted": predicted[i],
                 "score": float(probabilities[i].max())} for i in wrong]}
        return result

    def format_result(self, result: dict) -> str:
        fallback = result.get("fallback")
        if fallback:
            return (f"{result['label']}\t{fallback['score']:.3f}\t{result['text']}\t({fallback['reason']}; "
                    f"best guess {fallback['label']} {fallback['guess']:.3f})")
        return f"{result['label']}\t{result['scores'][result['label']]:.3f}\t{result['text']}"

    def format_metrics(self, metrics: dict) -> str:
        return format_classification_table(metrics) + summary_line(metrics, "class") + format_metrics(metrics.get("scope"))

    @staticmethod
    def summary(metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f} macro-F1 {100 * metrics['macro_f1']:.2f}"

    def describe_labels(self) -> str:
        return f"{len(self.labels)} classes: {', '.join(self.labels.itos)}"

    def served_labels(self) -> dict[str, list[str] | None]:
        return {"labels": list(self.labels.itos), "intents": None}

    def ranked(self, result: dict) -> tuple[list[dict], list[dict]]:
        scores = result["scores"]
        ranking = sorted(({"label": k, "score": v} for k, v in scores.items()), key=lambda r: -r["score"])
        return ranked_with(result.get("fallback"), ranking), []


SentimentClassifier = Classifier  # the old name, an alias for one more release (README, Library)
