"""slotfill.cli: the `slotfill` command through click's CliRunner, and the installed console script once for real."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from click.testing import CliRunner

from slotfill.cli import main

SENTENCE = "i want to fly from boston to denver on monday"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str, input: str | None = None, ok: bool = True):
    result = runner.invoke(main, [str(a) for a in args], input=input)
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def assert_error(result, *names: str) -> str:
    """A failed command: non-zero exit, one `error:` line on stderr naming `names`, no traceback."""
    assert result.exit_code != 0
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for name in names:
        assert str(name) in lines[0]
    assert "Traceback" not in result.output
    return lines[0]


def test_console_script_is_installed(slotfill_script):
    done = subprocess.run([str(slotfill_script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in ("train", "tag", "classify", "evaluate", "info", "embed", "serve"):
        assert command in done.stdout
    version = subprocess.run([str(slotfill_script), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "0.1.0" in version.stdout


# ---- train ------------------------------------------------------------------------------------------


def test_train(runner, small_data, tmp_path, tiny_model, model_files):
    output = tmp_path / "models" / "tiny"
    result = invoke(
        runner,
        "train",
        "--set", f"data.train={small_data.flights_train}",
        "--set", f"data.dev={small_data.flights_dev}",
        *[item for setting in tiny_model for item in ("--set", setting)],
        "--set", "train.epochs=2",
        "--output", output,
    )
    assert str(output) in result.stdout
    assert "best dev f1" in result.stdout
    assert f"slotfill tag --model {output}" in result.stdout
    assert {p.name for p in output.iterdir()} == model_files
    config = json.loads((output / "config.json").read_text())
    assert config["model"]["hidden_size"] == 32 and config["train"]["epochs"] == 2
    assert config["data"]["train"] == str(small_data.flights_train.resolve())


def test_train_with_a_config_file(runner, tagger_config_file, small_data, tmp_path):
    output = tmp_path / "from-file"
    result = invoke(runner, "train", tagger_config_file, "-o", output)
    assert str(output) in result.stdout
    config = json.loads((output / "config.json").read_text())
    # paths in the file are relative to the file
    assert config["data"]["train"] == str(small_data.flights_train.resolve())


def test_bigram_model_trains_tags_and_shows_its_bigrams(runner, tagger_config_file, tmp_path, same):
    output = tmp_path / "bigrams"
    invoke(runner, "train", tagger_config_file, "-o", output, "--set", "model.embeddings=['learned','bigrams']",
           "--set", "model.bigrams.dim=8")
    bigrams = json.loads((output / "vocab.json").read_text())["featurizer"]["bigrams"]
    assert any(b.startswith("<s> ") for b in bigrams["items"]) and any(b.endswith(" </s>") for b in bigrams["items"])
    info = invoke(runner, "info", output).stdout
    assert re.search(r"vocabulary \d+ words, \d+ bigrams", info), info
    assert "encoder.representation.parts.bigrams.table" in info
    onnx, torch_ = (json.loads(invoke(runner, "tag", "--json", "--engine", engine, "--model", output, "fly from denver to boston").stdout)
                    for engine in ("onnx", "torch"))
    assert onnx["tokens"] == ["fly", "from", "denver", "to", "boston"]
    assert onnx["tags"] == torch_["tags"]
    same(onnx["slots"], torch_["slots"])


def test_train_unknown_key(runner, tmp_path):
    result = invoke(runner, "train", "--set", "model.hiden=3", "--output", tmp_path / "m", ok=False)
    assert_error(result, "model.hiden")
    assert not (tmp_path / "m").exists()


def test_train_bad_override_syntax(runner, tmp_path):
    result = invoke(runner, "train", "--set", "model.hidden_size", "--output", tmp_path / "m", ok=False)
    assert_error(result, "model.hidden_size")


def test_train_on_misaligned_conll(runner, tmp_path):
    conll = tmp_path / "bad.conll"
    conll.write_text("flights O\nto O\nboston B-toloc\n\nfrom O\ndenver\n", encoding="utf-8")
    result = invoke(runner, "train", "--set", f"data.train={conll}", "--set", f"data.dev={conll}", "--output", tmp_path / "m", ok=False)
    assert_error(result, f"{conll}:6:")


def test_train_on_bad_tag(runner, tmp_path):
    conll = tmp_path / "bad.conll"
    conll.write_text("flights O\n\nboston X-toloc\nto O\n", encoding="utf-8")  # the bad tag opens sentence 2
    result = invoke(runner, "train", "--set", f"data.train={conll}", "--output", tmp_path / "m", ok=False)
    assert_error(result, f"{conll}:3:", "X-toloc")


def test_train_missing_data_file(runner, tmp_path):
    missing = tmp_path / "nothing.jsonl"
    result = invoke(runner, "train", "--set", f"data.train={missing}", "--output", tmp_path / "m", ok=False)
    assert_error(result, missing)


# ---- tag --------------------------------------------------------------------------------------------


def test_tag_text_arguments(runner, trained_tagger):
    result = invoke(runner, "tag", "--model", trained_tagger.directory, SENTENCE, "list flights to dallas")
    out = result.stdout
    assert SENTENCE in out and "list flights to dallas" in out
    assert "intent" in out
    expected = trained_tagger.predictor.tag(SENTENCE)
    assert expected["slots"], "the session tagger should find slots here"
    for slot in expected["slots"]:
        line = re.search(rf"^  {re.escape(slot['label'])} +{re.escape(slot['text'])}  \[{slot['start']}:{slot['end']}\]  (\S+)$", out, re.M)
        assert line, out
        assert float(line.group(1)) == pytest.approx(slot["score"], abs=0.005) and 0.0 < slot["score"] <= 1.0


def test_tag_nbest(runner, trained_tagger):
    result = invoke(runner, "tag", "--model", trained_tagger.directory, "--nbest", "3", SENTENCE)
    listed = re.findall(r"^  #(\d)  (\S+)  (.*)$", result.stdout, re.M)
    expected = trained_tagger.predictor.tag(SENTENCE, nbest=3)["nbest"]
    assert [int(rank) for rank, _, _ in listed] == [1, 2, 3]
    for (_, probability, slots), reading in zip(listed, expected):
        assert float(probability) == pytest.approx(reading["probability"], rel=0.05, abs=1e-3)
        assert slots == (" | ".join(f"{s['label']}: {s['text']}" for s in reading["slots"]) or "(no slots)")
    as_json = json.loads(invoke(runner, "tag", "--model", trained_tagger.directory, "--nbest", "2", "--json", SENTENCE).stdout)
    assert [r["tags"] for r in as_json["nbest"]] == [r["tags"] for r in expected[:2]]
    assert as_json["nbest"][0]["tags"] == as_json["tags"]
    assert 0.0 < as_json["nbest"][1]["probability"] <= as_json["nbest"][0]["probability"] <= 1.0


@pytest.mark.parametrize("k", ["0", "21", "-3"])
def test_tag_nbest_out_of_range(runner, trained_tagger, k):
    result = invoke(runner, "tag", "--model", trained_tagger.directory, "--nbest", k, SENTENCE, ok=False)
    assert_error(result, "--nbest", k)
    assert result.stdout == ""


def test_tag_json(runner, trained_tagger, same):
    texts = [SENTENCE, "Show me flights from  San Francisco to DALLAS", "cheapest fare to chicago"]
    result = invoke(runner, "tag", "-m", trained_tagger.directory, "--json", *texts)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(texts)
    for text, line in zip(texts, lines):
        obj = json.loads(line)
        assert set(obj) - {"fallback"} == {"text", "tokens", "tags", "slots", "intent", "typicality"}
        assert obj["text"] == text
        assert len(obj["tokens"]) == len(obj["tags"])
        assert set(obj["intent"]) == {"label", "score"}
        for slot in obj["slots"]:
            assert text[slot["start"]:slot["end"]] == slot["text"]
        expected = trained_tagger.predictor.tag(text)
        assert obj["tags"] == expected["tags"]
        same(obj["slots"], expected["slots"])  # ONNX (the command) and torch (the fixture): scores within 1e-5
        assert all(0.0 < slot["score"] <= 1.0 for slot in obj["slots"])


def test_tag_stdin(runner, trained_tagger):
    stdin = f"{SENTENCE}\n\n   \nlist flights to dallas\nfly to boston"  # blank lines skipped, no final newline
    result = invoke(runner, "tag", "--model", trained_tagger.directory, "--json", input=stdin)
    objs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["text"] for o in objs] == [SENTENCE, "list flights to dallas", "fly to boston"]
    plain = invoke(runner, "tag", "--model", trained_tagger.directory, input=f"{SENTENCE}\nfly to boston\n")
    assert SENTENCE in plain.stdout and "fly to boston" in plain.stdout


def test_tag_missing_model(runner, tmp_path):
    missing = tmp_path / "missing_dir"
    result = invoke(runner, "tag", "--model", missing, "x", ok=False)
    assert_error(result, missing)


def test_tag_empty_sentence(runner, trained_tagger):
    result = invoke(runner, "tag", "--model", trained_tagger.directory, "", ok=False)
    assert_error(result, "empty sentence")
    assert result.stdout == ""


def test_tag_with_a_classifier(runner, trained_classifier):
    result = invoke(runner, "tag", "--model", trained_classifier.directory, "fine film", ok=False)
    assert_error(result, trained_classifier.directory, "classifier")


# ---- evaluate, info ---------------------------------------------------------------------------------


def test_evaluate_table(runner, trained_tagger, small_data):
    result = invoke(runner, "evaluate", trained_tagger.directory, small_data.flights_dev)
    out = result.stdout
    header, *rows = out.splitlines()
    assert header.split() == ["label", "prec", "rec", "f1", "support"]
    assert any(row.startswith("toloc.city_name") for row in rows)
    assert any(row.startswith("overall") for row in rows)
    assert "token accuracy" in out and "sentence accuracy" in out and "intent accuracy" in out


def test_evaluate_json(runner, trained_tagger, small_data):
    result = invoke(runner, "evaluate", trained_tagger.directory, small_data.flights_dev, "--json")
    scores = json.loads(result.stdout)
    for key in ("precision", "recall", "f1", "token_accuracy", "sentence_accuracy", "intent_accuracy"):
        assert 0.0 <= scores[key] <= 1.0, key
    assert scores["f1"] == pytest.approx(trained_tagger.metrics["history"]["best"])
    assert scores["per_label"]
    for label, figures in scores["per_label"].items():
        for key in ("precision", "recall", "f1"):
            assert 0.0 <= figures[key] <= 1.0, (label, key)
        assert figures["support"] >= 0


def test_evaluate_conll_with_format(runner, trained_tagger, tmp_path):
    conll = tmp_path / "dev.txt"
    conll.write_text("fly O\nfrom O\nboston B-fromloc.city_name\nto O\ndenver B-toloc.city_name\n", encoding="utf-8")
    result = invoke(runner, "evaluate", trained_tagger.directory, conll, "--format", "conll", "--json")
    scores = json.loads(result.stdout)
    assert "intent_accuracy" not in scores  # CoNLL has no intents
    assert 0.0 <= scores["f1"] <= 1.0


def test_evaluate_bad_data(runner, trained_tagger, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fly to boston", "slots": []}\n{"text": "fly to", "slots": [{"start": 3, "end": 5, "label": "x"}]}\nnot json\n')
    result = invoke(runner, "evaluate", trained_tagger.directory, bad, ok=False)
    assert_error(result, f"{bad}:2:")


def test_info(runner, trained_tagger):
    result = invoke(runner, "info", trained_tagger.directory)
    out = result.stdout
    vocab = len(trained_tagger.predictor.featurizer.words)
    assert f"vocabulary {vocab} words" in out
    assert "2000 trigram buckets" in out
    assert f"{len(trained_tagger.predictor.tags)} tags" in out
    assert "parameters" in out and "total" in out
    total = sum(p.numel() for p in trained_tagger.predictor.backend.model.parameters())
    assert f"{total:,}" in out
    assert "best dev   f1" in out


def test_info_classifier(runner, trained_classifier):
    out = invoke(runner, "info", trained_classifier.directory).stdout
    assert "(classifier)" in out and "2 classes: negative, positive" in out


# ---- classifier ------------------------------------------------------------------------------------


def test_classify(runner, trained_classifier, learnt_review):
    text = learnt_review
    out = invoke(runner, "classify", "--model", trained_classifier.directory, text).stdout
    label, probability, echoed = out.rstrip("\n").split("\t")
    assert label == "positive" and float(probability) > 0.5 and echoed == text
    objs = [json.loads(line) for line in invoke(runner, "classify", "-m", trained_classifier.directory, "--json", text, "dull and muddled").stdout.splitlines()]
    assert [o["text"] for o in objs] == [text, "dull and muddled"]
    for obj in objs:
        assert set(obj) - {"fallback"} == {"text", "label", "scores", "typicality"}
        assert sum(obj["scores"].values()) == pytest.approx(1.0, abs=1e-6)
        assert obj["label"] == max(obj["scores"], key=obj["scores"].get)


def test_classify_stdin(runner, trained_classifier):
    out = invoke(runner, "classify", "-m", trained_classifier.directory, input="superb\n\nboring\n").stdout
    assert len(out.splitlines()) == 2


def test_evaluate_classifier(runner, trained_classifier, small_data):
    scores = json.loads(invoke(runner, "evaluate", trained_classifier.directory, small_data.reviews_dev, "--json").stdout)
    assert 0.0 <= scores["accuracy"] <= 1.0 and 0.0 <= scores["macro_f1"] <= 1.0
    assert scores["labels"] == ["negative", "positive"]
    assert sum(map(sum, scores["confusion"])) == 20
    table = invoke(runner, "evaluate", trained_classifier.directory, small_data.reviews_dev).stdout
    assert "macro-F1" in table and "gold/pred" in table


# ---- embed --------------------------------------------------------------------------------------------


def test_embed_train_and_query(runner, small_data, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(json.loads(line)["text"] + "\n" for line in small_data.reviews_train.read_text().splitlines()))
    vectors = tmp_path / "vectors.txt"
    out = invoke(runner, "embed", corpus, "--output", vectors, "--dim", "8", "--epochs", "2").stdout
    assert str(vectors) in out and "dimension 8" in out
    count, dim = vectors.read_text().splitlines()[0].split()
    assert dim == "8" and int(count) > 50
    similar = invoke(runner, "embed", "--vectors", vectors, "--similar", "Film", "--top", "3").stdout.splitlines()
    assert len(similar) == 3
    for line in similar:
        score, word = line.split()
        assert -1.0 <= float(score) <= 1.0 and word != "film"


def test_embed_errors(runner, tmp_path):
    assert_error(invoke(runner, "embed", ok=False), "CORPUS")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("fly to boston\n")
    assert_error(invoke(runner, "embed", corpus, ok=False), "--output")
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 2\nboston 0.1 0.2\ndenver 0.3 0.1\n")
    assert_error(invoke(runner, "embed", "--vectors", vectors, "--similar", "paris", ok=False), "paris", vectors)
    assert_error(invoke(runner, "embed", "--vectors", tmp_path / "none.txt", "--similar", "x", ok=False), tmp_path / "none.txt")
