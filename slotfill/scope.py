"""Knowing when the model does not know (numpy, no PyTorch): when to answer the fallback intent instead of
the model's best guess, as Rasa's FallbackClassifier answers, and how the thresholds are chosen on dev data.

Four reasons to fall back, checked in this order: the model's out-of-scope class wins (`data.out_of_scope`);
the top probability is below `threshold`; the top two are closer than `ambiguity_threshold`; the sentence is
unlike the training data: its typicality is below `typicality_threshold`. Typicality is the Mahalanobis
distance of the sentence's vector (the network's pooled states) to the nearest training class mean, under one
covariance shared by the classes (Lee et al. 2018), turned into the share of in-scope sentences expected to lie
farther, under a log-normal fitted to the distances of the in-scope dev sentences: 0.01 is farther than 99% of
them, and 1e-4 than all but 1 in 10,000, beyond the farthest of a small dev set. It holds where probabilities do
not: a network sure of every sentence of a few well-separated intents is sure of the sentences of intents it
has never seen too."""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from .errors import SlotfillError

FALLBACK = "nlu_fallback"  # the label answered instead of the model's guess (Rasa's)
BUDGET = 0.005  # the share of in-scope dev sentences the saved thresholds may reject (among those the model gets right)
BUDGET_OUT = 0.01  # the same where the dev data has out-of-scope sentences, to choose by
TINY = 1e-12  # the least squared distance (rounding can make one of 0 negative)
RARE = 1e-4  # the typicality threshold of a model without out-of-scope dev data: 1 in 10,000 in-scope sentences
SHRINK = 1.0  # the covariance plus its mean variance on the diagonal: steadier with few examples, and it held up better on held-out data
REASONS = ("out of scope", "low confidence", "ambiguous", "unlike the training data")


@dataclass(frozen=True)
class Fallback:
    """When to fall back; each threshold in [0, 1], 0 turns it off."""

    threshold: float = 0.0
    ambiguity_threshold: float = 0.0
    typicality_threshold: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise SlotfillError(f"{f.name} must be a number from 0 to 1, not {value!r}")

    @classmethod
    def from_json(cls, data: dict) -> Fallback:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise SlotfillError(f"unknown fallback setting {sorted(unknown)[0]!r}")
        return cls(**data)

    def to_json(self) -> dict:
        return asdict(self)

    def but(self, **overrides: float | None) -> Fallback:
        """These settings with the `overrides` that are not None."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def reason(self, label: str, top: float, second: float, typicality: float | None, out_of_scope: str) -> str | None:
        """Why a sentence falls back whose best `label` has probability `top` (at the model's temperature) and the
        next `second`, or None."""
        if out_of_scope and label == out_of_scope:
            return REASONS[0]
        if top < self.threshold:
            return REASONS[1]
        if top - second < self.ambiguity_threshold:
            return REASONS[2]
        if typicality is not None and typicality < self.typicality_threshold:
            return REASONS[3]
        return None

    def answer(self, label: str, top: float, second: float, typicality: float | None, out_of_scope: str) -> dict | None:
        """The fallback of a sentence (see `reason`): `{"reason", "score", "label", "guess"}`, where `score` is the
        fallback's own confidence (the threshold, as Rasa gives it; the out-of-scope class's probability;
        1 - typicality) and `label` and `guess` the model's best label and its probability; None where the
        model's label stands."""
        reason = self.reason(label, top, second, typicality, out_of_scope)
        if reason is None:
            return None
        score = {REASONS[0]: top, REASONS[3]: 1 - (typicality or 0.0)}.get(reason, self.threshold)
        return {"reason": reason, "score": score, "label": label, "guess": top}


def check_out_of_scope(name: str, labels: list[str]) -> None:
    """Refuse a `data.out_of_scope` label that the training data never uses."""
    if name and name not in labels:
        raise SlotfillError(f"data.out_of_scope = {name!r}: no training example has this label")


def ranked_with(fallback: dict | None, ranking: list[dict]) -> list[dict]:
    """An intent ranking as Rasa's FallbackClassifier gives it: the fallback first, at its score, then the model's."""
    return [{"label": FALLBACK, "score": fallback["score"]}, *ranking] if fallback else ranking


@dataclass
class Typicality:
    """How typical sentence vectors are of the training data (see the module's docstring)."""

    means: np.ndarray  # classes x D: the mean vector of each in-scope training class
    precision: np.ndarray  # D x D: the inverse of the shared covariance
    spread: np.ndarray  # the mean and standard deviation of the log distances of the in-scope dev sentences

    @classmethod
    def fit(cls, vectors: np.ndarray, classes: np.ndarray, dev: np.ndarray) -> Typicality:
        """From training sentence `vectors` (N x D) of in-scope `classes` (N ids), and the vectors of in-scope dev
        sentences (with fewer than two, the training vectors stand in for them)."""
        vectors = vectors.astype(np.float64)
        kept, index = np.unique(classes, return_inverse=True)
        means = np.stack([vectors[index == k].mean(axis=0) for k in range(len(kept))])
        centred = vectors - means[index]
        covariance = centred.T @ centred / len(vectors)
        ridge = SHRINK * np.trace(covariance) / len(covariance) + 1e-9
        precision = np.linalg.inv(covariance + ridge * np.eye(len(covariance)))
        fitted = cls(means, precision, np.zeros(2))
        logs = np.log(np.maximum(fitted.distances(dev if len(dev) > 1 else vectors), TINY))
        fitted.spread = np.array([logs.mean(), max(logs.std(), 1e-6)])
        return fitted

    def distances(self, vectors: np.ndarray) -> np.ndarray:
        """The squared Mahalanobis distance of each vector (N x D) to its nearest class mean."""
        v = vectors.astype(np.float64)
        projected = v @ self.precision
        squared = (np.einsum("nd,nd->n", projected, v)[:, None] - 2 * projected @ self.means.T
                   + np.einsum("cd,de,ce->c", self.means, self.precision, self.means)[None])
        return squared.min(axis=1)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """The typicality of each vector: the share of in-scope sentences expected farther from their nearest class."""
        z = (np.log(np.maximum(self.distances(vectors), TINY)) - self.spread[0]) / self.spread[1]
        return np.array([0.5 * math.erfc(x / math.sqrt(2)) for x in z.tolist()])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, means=self.means, precision=self.precision, spread=self.spread)
        return buffer.getvalue()

    @classmethod
    def read(cls, path: Path) -> Typicality:
        """From a file `to_bytes` wrote (arrays only: nothing in it is run)."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                fitted = cls(arrays["means"], arrays["precision"], arrays["spread"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise SlotfillError(f"corrupt model file ({err.__class__.__name__}: {err})", path) from None
        d = fitted.means.shape[-1] if fitted.means.ndim == 2 else -1
        if fitted.precision.shape != (d, d) or fitted.spread.shape != (2,) or not fitted.spread[1] > 0:
            raise SlotfillError("corrupt model file (its arrays do not fit together)", path)
        return fitted


def choose(probabilities: np.ndarray, gold: np.ndarray, typicality: np.ndarray | None, out_of_scope: int | None,
           budget: float | None = None) -> Fallback:
    """The thresholds a model saves, from its dev sentences' `probabilities` (N x C), gold class ids (those not
    among the classes, or `out_of_scope`, are out-of-scope sentences) and typicality. They may reject at most
    `budget` of the in-scope sentences (default BUDGET, or BUDGET_OUT with out-of-scope sentences), spent on
    the sentences the model gets right with the lowest probability or typicality. With out-of-scope sentences,
    the split of the budget between probability and typicality that rejects most of them; without, all of it
    on probability (on held-out data, typicality cost more in-scope answers), and typicality rejects only what
    lies farther than all but 1 in 10,000 in-scope sentences (RARE)."""
    inside = (gold < probabilities.shape[1]) & (gold != (-1 if out_of_scope is None else out_of_scope))
    outside = ~inside
    budget = budget if budget is not None else BUDGET_OUT if outside.any() else BUDGET
    right = inside & (probabilities.argmax(axis=1) == gold)
    top = probabilities.max(axis=1)
    typical = typicality if typicality is not None else np.ones(len(gold))
    allowed = budget * inside.sum()

    def thresholds(share: float) -> Fallback:
        """The highest thresholds that reject at most `share` of the budget by probability, the rest by typicality."""
        p = _highest(top[right], share * allowed)
        kept = right & (top >= p)
        t = max(_highest(typical[kept], allowed - (right & ~kept).sum()), RARE) if typicality is not None else 0.0
        return Fallback(threshold=_down(p), typicality_threshold=_down(t))

    if not outside.any() or typicality is None:
        return Fallback(threshold=_down(_highest(top[right], allowed)), typicality_threshold=RARE if typicality is not None else 0.0)
    best = probabilities.argmax(axis=1)

    def caught(f: Fallback) -> int:
        return int((outside & ((best == out_of_scope) | (top < f.threshold) | (typical < f.typicality_threshold))).sum())

    return max((thresholds(share) for share in np.linspace(1, 0, 11)), key=caught)


def _down(threshold: float) -> float:
    """A threshold rounded down to 6 decimals: it rejects no more than the unrounded one."""
    return math.floor(threshold * 1e6) / 1e6


def _highest(values: np.ndarray, count: float) -> float:
    """The highest threshold below which at most `count` of `values` lie (values below it are rejected)."""
    if len(values) == 0 or count < 1:
        return 0.0
    ordered = np.sort(values)
    return float(ordered[min(int(count), len(ordered) - 1)])


def auroc(in_scope: np.ndarray, scores: np.ndarray) -> float | None:
    """The area under the ROC curve of `scores` telling in-scope (True) from out-of-scope sentences (ties count
    half); None without both."""
    positives, negatives = in_scope.sum(), (~in_scope).sum()
    if not positives or not negatives:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        same = scores == value
        ranks[same] = ranks[same].mean()
    return float((ranks[in_scope].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def metrics(gold: list[str], guessed: list[str], fell_back: list[bool], known: set[str], out_of_scope: str,
            confidence: np.ndarray, typicality: np.ndarray | None, fallback: Fallback) -> dict:
    """How well out-of-scope sentences (gold labels not among the `known` ones, or `out_of_scope`) are told from
    the others: in-scope accuracy (a fallback counts wrong), out-of-scope precision, recall and F1, the share of
    in-scope sentences rejected, and the AUROC of the top probability (and of typicality)."""
    outside = np.array([g == out_of_scope or g not in known for g in gold])
    rejected = np.array(fell_back)
    correct = np.array([g == p for g, p in zip(gold, guessed)]) & ~rejected
    caught = int((rejected & outside).sum())
    precision = caught / rejected.sum() if rejected.any() else 0.0
    recall = caught / outside.sum() if outside.any() else None
    result = {"fallback": fallback.to_json(), "sentences": len(gold), "out_of_scope": int(outside.sum()),
              "in_scope_accuracy": float(correct[~outside].mean()) if (~outside).any() else None,
              "in_scope_rejected": float(rejected[~outside].mean()) if (~outside).any() else None,
              "precision": float(precision) if recall is not None else None, "recall": recall,
              "f1": (2 * precision * recall / (precision + recall) if precision + recall else 0.0) if recall is not None else None,
              "auroc": auroc(~outside, confidence)}
    if typicality is not None:
        result["auroc_typicality"] = auroc(~outside, typicality)
    return result


def format_metrics(m: dict | None) -> str:
    """The out-of-scope figures of `evaluate` on one line ('' when there are none)."""
    if not m:
        return ""
    f = m["fallback"]
    settings = f"threshold {f['threshold']:.2f}, ambiguity {f['ambiguity_threshold']:.2f}, typicality {f['typicality_threshold']:g}"
    if m["recall"] is None:
        return f"\nfallback ({settings}): {100 * m['in_scope_rejected']:.2f}% of sentences rejected"
    line = (f"\nout of scope ({m['out_of_scope']} sentences; {settings}): in-scope accuracy {100 * m['in_scope_accuracy']:.2f}, "
            f"recall {100 * m['recall']:.2f}, precision {100 * m['precision']:.2f}, F1 {100 * m['f1']:.2f}")
    aurocs = [f"{name} {m[key]:.3f}" for name, key in (("probability", "auroc"), ("typicality", "auroc_typicality")) if m.get(key) is not None]
    return line + (f"; AUROC {', '.join(aurocs)}" if aurocs else "")
