"""Knowing when the model does not know, measured and fitted (numpy, no PyTorch): how typical of the training
data a sentence is, the fallback thresholds a model saves (chosen on dev data), and how well the fallback
(slotfill.fallback) tells out-of-scope sentences from the others.

Typicality is the Mahalanobis distance of the sentence's vector (the network's pooled states) to the nearest
training class mean, under one covariance shared by the classes (Lee et al. 2018), turned into the share of
in-scope sentences expected to lie farther, under a log-normal fitted to the distances of the in-scope dev
sentences: 0.01 is farther than 99% of them, and 1e-4 than all but 1 in 10,000, beyond the farthest of a small
dev set. It holds where probabilities do not: a network sure of every sentence of a few well-separated intents
is sure of the sentences of intents it has never seen too."""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SlotfillError
from .fallback import Fallback
from .marginals import product

BUDGET = 0.005  # the share of in-scope dev sentences the saved thresholds may reject (among those the model gets right)
BUDGET_OUT = 0.01  # the same where the dev data has out-of-scope sentences, to choose by
TINY = 1e-12  # the least squared distance (rounding can make one of 0 negative)
RARE = 1e-4  # the typicality threshold of a model without out-of-scope dev data: 1 in 10,000 in-scope sentences
SHRINK = 1.0  # the covariance plus its mean variance on the diagonal: steadier with few examples, and it held up better on held-out data


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

    def __post_init__(self):
        # what every call multiplies by, in float32 as the network's vectors come (the distances keep ~6 digits)
        self.precision32 = self.precision.astype(np.float32)
        self.means_t = np.ascontiguousarray(self.means.T, dtype=np.float32)  # D x classes
        self.means_norm = np.einsum("cd,de,ce->c", self.means, self.precision, self.means)  # m P m for each class

    def distances(self, vectors: np.ndarray) -> np.ndarray:
        """The squared Mahalanobis distance of each vector (N x D) to its nearest class mean: (v - m) P (v - m)
        = v P v - 2 (v P) m + m P m, the products in blocks on the calling thread (marginals.product), so that
        no BLAS thread pool is left spinning against the engine."""
        v = vectors.astype(np.float32)
        projected = product(v, self.precision32, np.empty(v.shape, dtype=np.float32))
        crossed = product(projected, self.means_t, np.empty((len(v), len(self.means_norm)), dtype=np.float32))
        squared = np.einsum("nd,nd->n", projected, v).astype(np.float64)[:, None] - 2.0 * crossed + self.means_norm[None]
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
