"""slotfill.scope: typicality (Mahalanobis distance to the training classes), the thresholds a model saves,
and the out-of-scope figures of `evaluate`."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from slotfill.errors import SlotfillError
from slotfill.fallback import Fallback
from slotfill.scope import BUDGET, BUDGET_OUT, RARE, SHRINK, Typicality, auroc, choose, metrics


def test_typicality_is_the_mahalanobis_distance_to_the_nearest_class_as_a_tail_share():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0]])
    scale = np.diag([1.0, 3.0, 0.5])
    classes = rng.integers(0, 2, 4000)
    vectors = means[classes] + rng.normal(size=(4000, 3)) @ scale
    dev = means[rng.integers(0, 2, 500)] + rng.normal(size=(500, 3)) @ scale
    t = Typicality.fit(vectors, classes, dev)
    x = rng.normal(size=(20, 3)) * 4
    covariance = np.cov(vectors - t.means[classes], rowvar=False, bias=True)
    precision = np.linalg.inv(covariance + SHRINK * np.trace(covariance) / 3 * np.eye(3))
    brute = np.array([[(v - m) @ precision @ (v - m) for m in t.means] for v in x]).min(axis=1)
    assert t.distances(x) == pytest.approx(brute, rel=1e-6)
    logs = np.log(t.distances(dev))
    assert t.spread.tolist() == pytest.approx([logs.mean(), logs.std()])
    typical = t(dev)  # the tail share under the fitted log-normal: dev itself spreads over (0, 1)
    assert 0.4 < np.median(typical) < 0.6 and 0.005 < (typical < 0.05).mean() < 0.1
    order = np.argsort(t.distances(x))
    assert (np.diff(t(x)[order]) <= 0).all()  # the farther, the less typical
    assert t(np.array([[3.0, 0.0, 60.0]]))[0] < 1e-6


def test_typicality_round_trips_through_its_file_and_a_damaged_one_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    t = Typicality.fit(rng.normal(size=(50, 4)), rng.integers(0, 3, 50), rng.normal(size=(10, 4)))
    path = tmp_path / "typicality.npz"
    path.write_bytes(t.to_bytes())
    again = Typicality.read(path)
    x = rng.normal(size=(5, 4))
    assert again(x).tolist() == t(x).tolist() and again.spread.tolist() == t.spread.tolist()
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SlotfillError, match=f"{path}: corrupt model file"):
        Typicality.read(path)


def test_auroc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(2)
    inside = rng.random(300) < 0.7
    scores = np.round(rng.random(300) + inside * 0.3, 1)  # rounded: many ties
    assert auroc(inside, scores) == pytest.approx(roc_auc_score(inside, scores))
    assert auroc(np.ones(5, bool), scores[:5]) is None


def test_the_saved_thresholds_keep_to_the_budget_of_right_answers():
    rng = np.random.default_rng(3)
    n, classes = 2000, 4
    gold = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 3 * np.eye(classes)[gold]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    typicality = rng.random(n)
    right = probabilities.argmax(1) == gold
    for budget in (0.005, 0.02):
        f = choose(probabilities, gold, typicality, None, budget=budget)
        rejected = (probabilities.max(1) < f.threshold) | (typicality < f.typicality_threshold)
        rare = (right & (typicality < RARE)).sum()  # the floor, outside the budget
        assert budget * n - 1 <= (right & rejected).sum() <= budget * n + rare  # spent, and no more
    f = choose(probabilities, gold, typicality, None)
    assert f.typicality_threshold == RARE  # without out-of-scope data: all on probability...
    assert (right & (probabilities.max(1) < f.threshold)).sum() == int(BUDGET * n)
    assert (typicality < f.typicality_threshold).sum() == (typicality < RARE).sum() <= 2  # ...typicality the rarest
    assert choose(probabilities, gold, None, None).typicality_threshold == 0  # a model without typicality
    assert choose(probabilities, gold, typicality, None, budget=0) == Fallback(typicality_threshold=RARE)


def test_with_out_of_scope_dev_data_the_budget_goes_where_it_catches_most():
    rng = np.random.default_rng(4)
    n = 1000
    gold = np.r_[rng.integers(0, 3, n), np.full(100, 3)]  # 3: a label the model does not have (out of scope)
    top = rng.uniform(0.6, 1.0, n + 100)  # out-of-scope sentences look as sure of themselves as the others...
    probabilities = np.stack([top, (1 - top) / 2, (1 - top) / 2], axis=1)
    gold[:n] = 0  # every in-scope sentence right
    typicality = np.r_[rng.random(n), rng.random(100) * 0.01]  # ...but are unlike the training data
    f = choose(probabilities, gold, typicality, None)
    assert f.threshold < 0.61 and f.typicality_threshold > 0.005  # the budget went to typicality
    caught = (probabilities.max(1) < f.threshold) | (typicality < f.typicality_threshold)
    assert caught[n:].sum() >= 90 and caught[:n].sum() <= BUDGET_OUT * n


def test_the_out_of_scope_figures():
    gold = ["a", "a", "b", "oos", "oos", "new"]
    guessed = ["a", "b", "b", "a", "a", "a"]
    fell_back = [False, False, True, True, False, True]
    confidence = np.array([0.9, 0.6, 0.4, 0.3, 0.8, 0.2])
    m = metrics(gold, guessed, fell_back, {"a", "b"}, "oos", confidence, None, Fallback(0.5))
    assert m["out_of_scope"] == 3  # the out-of-scope label and a label the model does not know
    assert m["in_scope_accuracy"] == pytest.approx(1 / 3)  # right, wrong, right but rejected
    assert m["recall"] == pytest.approx(2 / 3) and m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["auroc"] == pytest.approx(roc_auc_score([1, 1, 1, 0, 0, 0], confidence))
    no_outside = metrics(["a", "b"], ["a", "a"], [False, True], {"a", "b"}, "", np.array([0.9, 0.1]), None, Fallback(0.5))
    assert no_outside["recall"] is None and no_outside["in_scope_rejected"] == 0.5
