"""slotfill.analysis: span errors by kind, confusions, reliability; `slotfill evaluate --errors`."""

from __future__ import annotations

import json
import random

import pytest

from slotfill.analysis import KINDS, confusions, marked, reliability, sentence_errors, span_errors
from slotfill.tags import Span, spans

LABELS = ["O", "B-city", "I-city", "B-date", "I-date"]


@pytest.mark.parametrize("gold, pred, kind", [
    (["B-city", "I-city", "O"], ["B-city", "I-city", "O"], "correct"),
    (["B-city", "I-city", "O"], ["B-date", "I-date", "O"], "wrong_label"),
    (["B-city", "I-city", "O"], ["B-city", "O", "O"], "wrong_boundary"),
    (["O", "B-city", "I-city"], ["B-city", "I-city", "I-city"], "wrong_boundary"),
])
def test_a_pair_of_spans_falls_in_one_kind(gold, pred, kind):
    found = sentence_errors(gold, pred)
    assert [k for k in KINDS if found[k]] == [kind]
    assert found[kind] == [(spans(gold)[0], spans(pred)[0])]


def test_left_over_spans_are_missed_or_spurious():
    found = sentence_errors(["B-city", "O", "O"], ["O", "O", "B-date"])
    assert found["missed"] == [Span("city", 0, 1)] and found["spurious"] == [Span("date", 2, 3)]
    # overlapping with another label and other boundaries: no pair, one missed and one spurious
    found = sentence_errors(["B-city", "I-city", "O"], ["O", "B-date", "I-date"])
    assert (len(found["missed"]), len(found["spurious"])) == (1, 1)


def test_counts_add_up_to_the_gold_and_predicted_spans_on_random_sequences():
    rng = random.Random(0)
    gold = [[rng.choice(LABELS) for _ in range(rng.randint(1, 12))] for _ in range(500)]
    pred = [[t if rng.random() < 0.6 else rng.choice(LABELS) for t in g] for g in gold]
    errors = span_errors([["w"] * len(g) for g in gold], gold, pred)
    c = errors["counts"]
    assert c["correct"] + c["wrong_label"] + c["wrong_boundary"] + c["missed"] == sum(len(spans(g)) for g in gold) == errors["gold_spans"]
    assert c["correct"] + c["wrong_label"] + c["wrong_boundary"] + c["spurious"] == sum(len(spans(p)) for p in pred)
    assert all(c[k] > 0 for k in KINDS)
    assert c["correct"] == sum(len(set(spans(g)) & set(spans(p))) for g, p in zip(gold, pred))  # conlleval's correct


def test_the_error_counts_agree_with_the_span_metrics_of_real_predictions(trained_tagger, small_data):
    """The model has learnt its training sentences; every third one's gold is changed (its first slot relabelled
    or dropped) so that the predictions have errors of several kinds."""
    tagger = trained_tagger.predictor
    sentences = tagger.read(tagger.config, small_data.flights_train)
    for i, s in enumerate(sentences[::3]):
        first = spans(s.tags)[0] if spans(s.tags) else None
        if first is not None:
            s.tags[first.start:first.end] = ["O"] * (first.end - first.start) if i % 2 else \
                ["B-mislabelled", *["I-mislabelled"] * (first.end - first.start - 1)]
    result = tagger.evaluate(sentences, errors=5)
    errors, c = result["errors"], result["errors"]["counts"]
    assert errors["gold_spans"] == sum(m["support"] for m in result["per_label"].values())
    assert c["correct"] / errors["gold_spans"] == pytest.approx(result["recall"])
    assert c["correct"] / errors["predicted_spans"] == pytest.approx(result["precision"])
    assert c["wrong_label"] > 0 and c["spurious"] > 0
    assert sum(n for pair, n in errors["top"]["wrong_label"] if pair.startswith("mislabelled -> ")) > c["wrong_label"] / 2
    assert len(errors["sentences"]) == 5 and all(e["gold"] != e["predicted"] for e in errors["sentences"])
    assert "]mislabelled" in errors["sentences"][0]["gold"]
    assert all(e["confidence"] is None or 0 < e["confidence"] <= 1 for e in errors["sentences"])
    slots = result["slot_calibration"]
    assert sum(b["count"] for b in slots["bins"]) == errors["predicted_spans"] and 0 <= slots["ece"] <= 1
    assert 0 <= result["calibration"]["ece"] <= 1 and sum(b["count"] for b in result["calibration"]["bins"]) == len(sentences)


def test_marked_brackets_each_span_with_its_label():
    assert marked(["fly", "to", "new", "york"], ["O", "O", "B-city", "I-city"]) == "fly to [new york]city"


def test_confusions_and_reliability():
    assert confusions(["a", "a", "b", "b", "b"], ["a", "b", "a", "a", "b"]) == [("b", "a", 2), ("a", "b", 1)]
    table = reliability([0.95, 0.95, 0.55, 0.55], [True, False, True, True], bins=10)
    assert [b["count"] for b in table["bins"]] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 2]
    assert table["bins"][9]["accuracy"] == 0.5 and table["bins"][5]["accuracy"] == 1.0
    assert table["ece"] == pytest.approx((2 * 0.45 + 2 * 0.45) / 4)


def test_evaluate_errors_on_the_command_line(run_slotfill, trained_tagger, trained_classifier, small_data):
    done = run_slotfill("evaluate", trained_tagger.directory, small_data.flights_train, "--errors", "2")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "spans: " in out and "wrong label" in out and out.count("\n  gold       ") <= 2
    answer = json.loads(run_slotfill("evaluate", "--json", trained_tagger.directory, small_data.flights_train, "--errors").stdout)
    assert set(answer["errors"]["counts"]) == set(KINDS) and len(answer["errors"]["sentences"]) <= 10
    answer = json.loads(run_slotfill("evaluate", "--json", "--errors", "3", trained_classifier.directory, small_data.reviews_dev).stdout)
    assert all(s["gold"] != s["predicted"] for s in answer["errors"]["sentences"])
    assert len(answer["errors"]["sentences"]) == min(3, sum(answer["confusion"][i][j] for i in range(2) for j in range(2) if i != j))
