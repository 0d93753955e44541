"""slotfill.scope: the fallback answer (Rasa's FallbackClassifier), typicality (Mahalanobis distance to the training
classes), the thresholds a model saves, and the out-of-scope figures of `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from slotfill.errors import SlotfillError
from slotfill.predict import load

DATA = Path(__file__).resolve().parent.parent / "data"
from slotfill.scope import BUDGET, BUDGET_OUT, FALLBACK, RARE, REASONS, SHRINK, Fallback, Typicality, auroc, choose, metrics, ranked_with


@pytest.mark.parametrize("field", ["threshold", "ambiguity_threshold", "typicality_threshold"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_a_threshold_outside_0_to_1_is_refused_by_name(field, value):
    with pytest.raises(SlotfillError, match=f"^{field} must be a number from 0 to 1"):
        Fallback(**{field: value})


def test_overrides_replace_only_what_is_given():
    saved = Fallback(0.3, 0.1, 0.01)
    assert saved.but(threshold=None, typicality_threshold=0.0) == Fallback(0.3, 0.1, 0.0)
    assert Fallback.from_json(saved.to_json()) == saved
    with pytest.raises(SlotfillError, match="unknown fallback setting 'margin'"):
        Fallback.from_json({"margin": 0.2})


@pytest.mark.parametrize("label, top, second, typicality, expected", [
    ("oos", 0.99, 0.0, 0.9, REASONS[0]),          # the out-of-scope class wins, however sure
    ("book", 0.40, 0.30, 0.9, REASONS[1]),        # below the threshold
    ("book", 0.55, 0.45, 0.9, REASONS[2]),        # the top two within the ambiguity threshold
    ("book", 0.95, 0.01, 0.001, REASONS[3]),      # sure, but unlike anything in training
    ("book", 0.95, 0.01, None, None),             # a model without typicality: the probability alone
    ("book", 0.95, 0.01, 0.5, None),
])
def test_the_reasons_to_fall_back_in_their_order(label, top, second, typicality, expected):
    assert Fallback(0.5, 0.2, 0.01).reason(label, top, second, typicality, "oos") == expected


def test_the_answer_keeps_the_guess_and_scores_the_fallback_as_rasa_does():
    f = Fallback(threshold=0.6, typicality_threshold=0.05)
    assert f.answer("book", 0.4, 0.3, 0.5, "") == {"reason": "low confidence", "score": 0.6, "label": "book", "guess": 0.4}
    assert f.answer("book", 0.9, 0.05, 0.02, "")["score"] == pytest.approx(0.98)
    assert f.answer("book", 0.9, 0.05, 0.5, "") is None
    assert Fallback().answer("book", 0.01, 0.009, 0.0, "") is None  # every threshold 0: the label always stands
    ranking = [{"label": "book", "score": 0.4}]
    assert ranked_with({"score": 0.6}, ranking) == [{"label": FALLBACK, "score": 0.6}, *ranking]
    assert ranked_with(None, ranking) is ranking


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


# ---- trained models: saved with the model, both engines, CLI, server ---------------------------------------

REVIEWS = ["a gripping, funny film with a superb cast", "the plot is dull", "play some jazz music"]
FLIGHT = "i want to fly from taipei to boston"


def test_training_saves_typicality_and_thresholds_that_both_engines_apply(trained_classifier):
    directory = trained_classifier.directory
    assert (directory / "typicality.npz").is_file()
    saved = json.loads((directory / "calibration.json").read_text())["fallback"]
    assert saved == trained_classifier.metrics["calibration"]["fallback"]
    onnx, torch = load(directory, "onnx"), load(directory, "torch")
    assert onnx.fallback == torch.fallback == Fallback(**saved)
    forced = Fallback(typicality_threshold=1.0)  # every sentence is less typical than that
    for fallback in (None, forced, Fallback(threshold=0.9)):
        a, b = onnx.classify_batch(REVIEWS, fallback), torch.classify_batch(REVIEWS, fallback)
        assert [r["label"] for r in a] == [r["label"] for r in b]
        assert [r["typicality"] for r in a] == pytest.approx([r["typicality"] for r in b], abs=1e-4)
    answers = onnx.classify_batch(REVIEWS, forced)
    plain = onnx.classify_batch(REVIEWS, Fallback())
    for answer, model in zip(answers, plain):
        assert answer["label"] == FALLBACK and "fallback" not in model
        assert answer["fallback"] == {"reason": "unlike the training data", "score": pytest.approx(1 - model["typicality"]),
                                      "label": model["label"], "guess": model["scores"][model["label"]]}
        assert answer["scores"] == model["scores"]
        assert model["label"] == max(model["scores"], key=model["scores"].get)  # no threshold: the model's label


def test_a_tagger_falls_back_on_its_intent_and_keeps_its_slots(trained_tagger):
    tagger = trained_tagger.predictor
    plain, answer = tagger.tag(FLIGHT, ranking=3, fallback=Fallback()), tagger.tag(FLIGHT, ranking=3, fallback=Fallback(threshold=1.0))
    assert answer["slots"] == plain["slots"] and answer["tags"] == plain["tags"]
    assert answer["intent"] == {"label": FALLBACK, "score": 1.0, "ranking": plain["intent"]["ranking"]}
    assert answer["fallback"] == {"reason": "low confidence", "score": 1.0, "label": plain["intent"]["label"], "guess": plain["intent"]["score"]}
    assert tagger.ranked(answer)[0] == [{"label": FALLBACK, "score": 1.0}, *plain["intent"]["ranking"]]
    assert tagger.judged(plain, Fallback(threshold=1.0)) == answer  # the server's way: thresholds applied to a result
    assert f"{FALLBACK} (1.00)  low confidence; best guess {plain['intent']['label']}" in tagger.format_result(answer)


def test_a_model_saved_before_typicality_still_loads_and_answers(model_copy):
    (model_copy / "typicality.npz").unlink()
    calibration = json.loads((model_copy / "calibration.json").read_text())
    (model_copy / "calibration.json").write_text(json.dumps({"temperature": calibration["temperature"]}))
    for engine in ("onnx", "torch"):
        tagger = load(model_copy, engine)
        assert tagger.fallback == Fallback() and tagger.engine == engine
        result = tagger.tag(FLIGHT)
        assert "typicality" not in result and "fallback" not in result and result["slots"]
        assert tagger.tag(FLIGHT, fallback=Fallback(typicality_threshold=1.0))["intent"] == result["intent"]


@pytest.mark.parametrize("content, problem", [
    ('{"temperature": 1.0, "fallback": {"threshold": 3}}', "threshold must be a number from 0 to 1"),
    ('{"temperature": 1.0, "fallback": [0.5]}', "fallback must be an object"),
    ('{"temperature": 1.0, "fallback": {"margin": 0.5}}', "unknown fallback setting 'margin'"),
])
def test_a_damaged_calibration_file_is_one_error(model_copy, content, problem):
    (model_copy / "calibration.json").write_text(content)
    with pytest.raises(SlotfillError, match=f"^{model_copy}: corrupt model directory .*{problem}"):
        load(model_copy)


def test_the_cli_takes_thresholds_and_refuses_them_out_of_range(run_slotfill, trained_classifier):
    model = trained_classifier.directory
    done = run_slotfill("classify", "--model", model, "--threshold", "1", REVIEWS[0])
    assert done.returncode == 0, done.stderr
    label, score, text, why = done.stdout.decode().rstrip("\n").split("\t")
    assert (label, float(score), text) == (FALLBACK, 1.0, REVIEWS[0]) and why.startswith("(low confidence; best guess ")
    for flag, value in (("--threshold", "1.5"), ("--ambiguity-threshold", "-1"), ("--typicality-threshold", "2")):
        done = run_slotfill("classify", "--model", model, flag, value, REVIEWS[0])
        name = flag[2:].replace("-", "_")
        assert done.returncode == 1 and done.stderr.decode() == f"error: {name} must be a number from 0 to 1, not {float(value)}\n"
    done = run_slotfill("evaluate", model, "--threshold", "1", "--json", DATA / "reviews" / "dev.jsonl")
    scope = json.loads(done.stdout)["scope"]
    assert scope["fallback"]["threshold"] == 1.0 and scope["in_scope_rejected"] == 1.0 and scope["recall"] is None


def test_the_server_applies_each_requests_thresholds(http, trained_tagger):
    def post(path: str, body: dict):
        return http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})

    model = trained_tagger.predictor
    answer = post("/model/parse", {"text": FLIGHT, "threshold": 1.0}).json()
    assert answer["intent"] == {"name": FALLBACK, "confidence": 1.0}
    assert answer["intent_ranking"][0] == answer["intent"] and answer["intent_ranking"][1]["name"] == model.tag(FLIGHT, fallback=Fallback())["intent"]["label"]
    assert all(e["confidence_entity"] is not None for e in answer["entities"]) and answer["entities"]
    plain = post("/tag", {"text": FLIGHT, "threshold": 0, "typicality_threshold": 0, "ambiguity_threshold": None}).json()
    assert "fallback" not in plain and plain["intent"]["label"] == model.tag(FLIGHT, fallback=Fallback())["intent"]["label"]
    assert post("/classify", {"text": REVIEWS[0], "model": "reviews", "typicality_threshold": 1}).json()["label"] == FALLBACK
    for field, value in (("threshold", 1.5), ("ambiguity_threshold", "high"), ("typicality_threshold", True)):
        bad = post("/tag", {"text": FLIGHT, field: value})
        assert bad.status_code == 400 and bad.json() == {"error": f"'{field}' must be a number from 0 to 1, not {value!r}"}


def test_the_server_lists_the_n_best_tag_sequences_a_request_asks_for(http, trained_tagger):
    def post(path: str, body: dict):
        return http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})

    expected = trained_tagger.predictor.tag(FLIGHT, nbest=3)["nbest"]
    got = post("/tag", {"texts": [FLIGHT, FLIGHT], "nbest": 3}).json()
    for result in got:
        assert [r["tags"] for r in result["nbest"]] == [r["tags"] for r in expected]
        assert [r["probability"] for r in result["nbest"]] == pytest.approx([r["probability"] for r in expected], abs=1e-5)
    assert "nbest" not in post("/tag", {"text": FLIGHT}).json()
    for value in (0, 21, "3", 2.5):
        bad = post("/tag", {"text": FLIGHT, "nbest": value})
        assert bad.status_code == 400 and bad.json() == {"error": f"'nbest' must be an integer from 1 to 20, not {value!r}"}
    assert post("/classify", {"text": REVIEWS[0], "model": "reviews", "nbest": 2}).status_code == 400
    assert post("/model/parse", {"text": FLIGHT, "nbest": 2}).status_code == 400


def test_out_of_scope_training_data_is_a_class_answered_as_the_fallback(tmp_path, small_data, classifier_overrides):
    from slotfill.config import load_config
    from slotfill.nn.training import train

    rows = [json.loads(line) for line in small_data.reviews_train.read_text().splitlines()]
    rows += [{"text": t, "label": "oos"} for t in ("what time is it", "play some jazz", "book a table for two",
                                                    "what is the weather", "set an alarm", "call my mother")] * 4
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settings = classifier_overrides(data, data, epochs=12)
    with pytest.raises(SlotfillError, match="data.out_of_scope = 'none': no training example has this label"):
        train(load_config(None, [*settings, "data.out_of_scope='none'"]), tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    model, _ = train(load_config(None, [*settings, "data.out_of_scope='oos'"]), tmp_path / "model")
    model = load(tmp_path / "model")
    answer = model.classify("play some jazz", Fallback())
    assert answer["label"] == FALLBACK and answer["fallback"]["reason"] == "out of scope" and answer["fallback"]["label"] == "oos"
    assert model.judged(answer, Fallback(threshold=0.99)) == answer  # the server's way: thresholds cannot undo the class
    assert model.ranked(answer)[0][:2] == [{"label": FALLBACK, "score": answer["scores"]["oos"]}, {"label": "oos", "score": answer["scores"]["oos"]}]
    figures = model.evaluate(model.read(model.config, data))["scope"]
    assert figures["out_of_scope"] == 24 and figures["recall"] == 1.0
