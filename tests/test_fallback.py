"""slotfill.fallback: the fallback answer (Rasa's FallbackClassifier), its thresholds checked, saved with a model
by training, applied alike by both engines, the CLI, the server and an out-of-scope class."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slotfill.errors import SlotfillError
from slotfill.fallback import FALLBACK, REASONS, Fallback, ranked_with
from slotfill.predict import load

DATA = Path(__file__).resolve().parent.parent / "data"


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
    done = run_slotfill("serve", model, "--port", "0", "--typicality-threshold", "-0.5")  # refused before it starts
    assert done.returncode == 1 and done.stderr.decode() == "error: typicality_threshold must be a number from 0 to 1, not -0.5\n"
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


def test_a_tagger_learns_an_out_of_scope_intent_and_keeps_its_slots(tmp_path, tagged_files, flights_config, tagger_overrides):
    from slotfill.config import load_config
    from slotfill.nn.training import train

    train_file, dev_file = tagged_files
    chatter = [{"text": t, "slots": [], "intent": "oos"} for t in ("what time is it", "play some jazz", "tell me a joke",
                                                                     "set an alarm", "call my mother", "how are you")] * 5
    with train_file.open("a", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in chatter)
    settings = tagger_overrides(train_file, dev_file, epochs=12, extra=("data.out_of_scope='oos'",))
    train(load_config(flights_config, settings), tmp_path / "model")
    tagger = load(tmp_path / "model")
    assert tagger.out_of_scope == tagger.intents.itos.index("oos")
    answer = tagger.tag("play some jazz", fallback=Fallback())
    assert answer["intent"]["label"] == FALLBACK and answer["fallback"]["reason"] == "out of scope"
    assert answer["fallback"]["label"] == "oos" and answer["intent"]["score"] == answer["fallback"]["guess"]
    assert tagger.tag(FLIGHT, fallback=Fallback())["intent"]["label"] != FALLBACK
    figures = tagger.evaluate(tagger.read(tagger.config, train_file))["scope"]
    assert figures["out_of_scope"] == 30 and figures["recall"] == 1.0
