"""Temperature scaling of intent and class probabilities (Guo et al. 2017), fitted on dev data (numpy, no PyTorch).

Probabilities p = softmax(z) scaled by a temperature T are softmax(z / T) = p^(1/T) / sum(p^(1/T)): the
scaling needs the network's probabilities only, so both engines and any exported model apply it alike."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .analysis import reliability
from .tags import spans

TINY = 1e-30  # probabilities that underflowed to 0 stay finite in log space
LOWEST, HIGHEST = 0.05, 20.0  # the temperatures searched


def scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of probabilities (N x C) at `temperature` (1: unchanged)."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.maximum(probabilities, TINY)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(probabilities.dtype)


def nll(probabilities: np.ndarray, gold: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the gold classes at `temperature`."""
    scaled = scale(probabilities.astype(np.float64), temperature)
    return float(-np.log(np.maximum(scaled[np.arange(len(gold)), gold], TINY)).mean())


def fit_temperature(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The temperature that minimises the NLL of `gold` (class ids) under `probabilities` (N x C). Where every
    top label is right the NLL only falls as T falls, which says nothing of how sure the model should be: the
    probabilities stay as they are (1)."""
    if len(gold) == 0 or (probabilities.argmax(axis=1) == gold).all():
        return 1.0
    return search(lambda t: nll(probabilities, gold, t))


def search(loss: Callable[[float], float], steps: int = 60) -> float:
    """The temperature in [LOWEST, HIGHEST] that minimises `loss(temperature)`, a negative log-likelihood: a
    golden-section search over 1/T, in which such a loss is convex."""
    ratio = (math.sqrt(5) - 1) / 2
    low, high = 1 / HIGHEST, 1 / LOWEST
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = loss(1 / a), loss(1 / b)
    for _ in range(steps):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = loss(1 / a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = loss(1 / b)
    return 1 / ((low + high) / 2)


def summary(probabilities: np.ndarray, correct: list[bool], temperature: float) -> dict:
    """How well the top label's probability (N x C `probabilities`, at `temperature`) matches how often it is
    right: the expected calibration error at the temperature and without it, and the reliability bins."""
    after = reliability(probabilities.max(axis=1).tolist(), correct)
    before = reliability(scale(probabilities, 1 / temperature).max(axis=1).tolist(), correct)
    return {"temperature": temperature, "ece": after["ece"], "ece_unscaled": before["ece"], "bins": after["bins"]}


def summary_line(metrics: dict, name: str) -> str:
    """The calibration figures of `evaluate` on one line ('' when there are none)."""
    c = metrics.get("calibration")
    if c is None:
        return ""
    return (f"\n{name} confidence: expected calibration error {100 * c['ece']:.2f} at temperature {c['temperature']:.2f}"
            f" ({100 * c['ece_unscaled']:.2f} unscaled)")


def span_reliability(gold_tags: list[list[str]], readings: list[tuple[list, list[float]]]) -> dict:
    """How well the predicted slots' scores match how often they are right (label, start and end as gold):
    the expected calibration error and the reliability bins."""
    confidences, correct = [], []
    for gold, (predicted, scores) in zip(gold_tags, readings, strict=True):
        right = set(spans(gold))
        confidences += scores
        correct += [span in right for span in predicted]
    return reliability(confidences, correct)


def span_summary_line(metrics: dict) -> str:
    c = metrics.get("slot_calibration")
    return f"\nslot confidence: expected calibration error {100 * c['ece']:.2f}" if c else ""
