"""slotfill.calibration: temperature scaling fitted on dev data at the end of training, saved with the model,
applied by both engines, reported by evaluate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from slotfill.calibration import fit_temperature, nll, scale
from slotfill.errors import SlotfillError
from slotfill.predict import load
from slotfill.text import words


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_scaling_probabilities_is_scaling_logits():
    z = np.random.default_rng(0).normal(size=(50, 7)) * 3
    p = softmax(z)
    assert scale(p, 1.0) is p
    for t in (0.3, 1.7, 4.0):
        assert np.allclose(scale(p, t), softmax(z / t), atol=1e-9)
        assert (scale(p, t).argmax(1) == p.argmax(1)).all()


def test_the_fitted_temperature_minimises_the_nll_and_undoes_overconfidence():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4000, 5)) * 2
    gold = np.array([rng.choice(5, p=row) for row in softmax(z)])  # labels drawn from softmax(z): calibrated at T = 1
    overconfident = softmax(3 * z)
    t = fit_temperature(overconfident, gold)
    assert t == pytest.approx(3.0, rel=0.1)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 2000))
    best = grid[np.argmin([nll(overconfident, gold, g) for g in grid])]
    assert nll(overconfident, gold, t) <= nll(overconfident, gold, best) + 1e-6
    assert fit_temperature(np.empty((0, 5)), np.empty(0, dtype=int)) == 1.0
    assert fit_temperature(softmax(z), softmax(z).argmax(1)) == 1.0  # no mistake: no evidence to scale by


def test_training_fits_and_saves_a_temperature_that_both_engines_apply(trained_classifier, trained_tagger, learnt_review):
    directory = trained_classifier.directory
    saved = json.loads((directory / "calibration.json").read_text())
    fitted = trained_classifier.metrics["calibration"]
    assert saved == {"temperature": fitted["temperature"], "fallback": fitted["fallback"]} and saved["temperature"] != 1.0
    assert fitted["dev_nll"] <= fitted["dev_nll_unscaled"]
    tagger_saved = json.loads((trained_tagger.directory / "calibration.json").read_text())
    assert tagger_saved["temperature"] == trained_tagger.metrics["calibration"]["temperature"]
    texts = [learnt_review, "a dull and lifeless film", "the cast is superb"]
    onnx, torch = load(directory, "onnx"), load(directory, "torch")
    a = [r["scores"]["positive"] for r in onnx.classify_batch(texts)]
    assert a == pytest.approx([r["scores"]["positive"] for r in torch.classify_batch(texts)], abs=1e-5)
    raw = onnx.backend.run(onnx.featurizer.batch([words(t) for t in texts]))["probabilities"]
    assert a == pytest.approx(scale(raw, saved["temperature"])[:, onnx.labels.id("positive")].tolist(), abs=1e-6)
    assert a != pytest.approx(raw[:, onnx.labels.id("positive")].tolist(), abs=1e-4)


def test_a_model_without_calibration_json_is_unscaled(trained_tagger, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(trained_tagger.directory, old)
    (old / "calibration.json").unlink()
    tagger = load(old, "onnx")
    assert tagger.parts.temperature == 1.0
    raw = tagger.backend.run(tagger.featurizer.batch([["fly", "to", "boston"]]))["intents"]
    assert tagger.tag("fly to boston")["intent"]["score"] == pytest.approx(float(raw.max()), abs=1e-7)


@pytest.mark.parametrize("content", ['{"temperature": -1}', '{"temperature": "hot"}', "[1]", "{"])
def test_a_damaged_calibration_json_is_one_line(trained_tagger, tmp_path, run_slotfill, content):
    model = tmp_path / "model"
    shutil.copytree(trained_tagger.directory, model)
    (model / "calibration.json").write_text(content)
    done = run_slotfill("tag", "--model", model, "fly to boston")
    err = done.stderr.decode()
    assert done.returncode == 1 and err.count("\n") == 1 and "calibration.json" in err and err.startswith("error: ")


def test_evaluate_reports_the_calibration_error_with_and_without_the_temperature(trained_tagger, trained_classifier,
                                                                                    small_data, run_slotfill):
    for trained, data, name in ((trained_tagger, small_data.flights_dev, "intent"), (trained_classifier, small_data.reviews_dev, "class")):
        result = json.loads(run_slotfill("evaluate", "--json", trained.directory, data).stdout)
        c = result["calibration"]
        assert c["temperature"] == json.loads((trained.directory / "calibration.json").read_text())["temperature"]
        assert 0 <= c["ece"] <= 1 and 0 <= c["ece_unscaled"] <= 1 and len(c["bins"]) == 10
        assert sum(b["count"] for b in c["bins"]) == len(data.read_text().splitlines())
        text = run_slotfill("evaluate", trained.directory, data).stdout.decode()
        assert f"{name} confidence: expected calibration error {100 * c['ece']:.2f} at temperature {c['temperature']:.2f}" in text


def test_the_slot_temperature_changes_scores_and_never_tags(model_copy, trained_tagger, small_data):
    from slotfill.readers import read_tagged

    fitted = trained_tagger.predictor.fit_token_calibration(read_tagged(small_data.flights_dev))
    assert fitted == {"slot_temperature": trained_tagger.metrics["calibration"]["slot_temperature"]}
    texts = ["i want to fly from taipei to boston", "cheapest fare from denver to dallas on monday"]
    calibration = json.loads((model_copy / "calibration.json").read_text())
    results = {}
    for t in (0.5, 1.0, 3.0):
        (model_copy / "calibration.json").write_text(json.dumps({**calibration, "slot_temperature": t}))
        results[t] = load(model_copy).tag_batch(texts, nbest=3)
    for a, b, c in zip(results[0.5], results[1.0], results[3.0]):
        assert a["tags"] == b["tags"] == c["tags"] and [r["tags"] for r in a["nbest"]] == [r["tags"] for r in c["nbest"]]
        sharp, flat = [s["score"] for s in a["slots"]], [s["score"] for s in c["slots"]]
        assert all(x >= y for x, y in zip(sharp, flat)) and sharp != flat
    del calibration["slot_temperature"]  # a model saved before the slot temperature: 1
    (model_copy / "calibration.json").write_text(json.dumps(calibration))
    assert [r["slots"] for r in load(model_copy).tag_batch(texts, nbest=3)] == [r["slots"] for r in results[1.0]]
    (model_copy / "calibration.json").write_text(json.dumps({**calibration, "slot_temperature": 0}))
    with pytest.raises(SlotfillError, match="slot_temperature must be a positive number"):
        load(model_copy)
