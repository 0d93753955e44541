"""slotfill.nn.export: model.onnx written when training ends, what it records, `slotfill export` and its int8 option."""

from __future__ import annotations

import json

from click.testing import CliRunner

from slotfill.cli import main
from slotfill.config import load_config
from slotfill.predict import SlotTagger, load


def test_model_onnx_records_version_and_weights(trained_tagger):
    import onnx

    from slotfill import __version__, storage

    proto = onnx.load(str(trained_tagger.directory / "model.onnx"))
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert metadata["slotfill_version"] == __version__
    assert metadata["weights_sha256"] == storage.sha256(trained_tagger.directory / "weights.pt")
    assert [i.name for i in proto.graph.input] == ["words", "lengths", "rows", "trigrams"]
    assert [o.name for o in proto.graph.output] == ["emissions", "transitions", "start", "end", "intents", "sentence"]


def test_export_command_and_quantized_model(model_copy, small_data):
    runner = CliRunner()
    elsewhere = model_copy.parent / "copy.onnx"
    done = runner.invoke(main, ["export", str(model_copy), "--output", str(elsewhere)])
    assert done.exit_code == 0 and str(elsewhere) in done.stdout
    assert elsewhere.read_bytes() == (model_copy / "model.onnx").read_bytes()  # deterministic
    float_model = load(model_copy, "onnx")
    done = runner.invoke(main, ["export", str(model_copy), "--quantize"])
    assert done.exit_code == 0 and "int8" in done.stdout
    assert (model_copy / "model.onnx").stat().st_size < elsewhere.stat().st_size
    int8 = load(model_copy, "onnx")
    texts = [json.loads(line)["text"] for line in small_data.flights_dev.read_text().splitlines()]
    same = sum(a["tags"] == b["tags"] for a, b in zip(float_model.tag_batch(texts), int8.tag_batch(texts)))
    assert same >= 0.9 * len(texts)


def test_export_of_a_missing_model_is_an_error(tmp_path):
    done = CliRunner().invoke(main, ["export", str(tmp_path / "none")])
    assert done.exit_code == 1 and done.stderr.startswith("error: ") and "none" in done.stderr


def test_training_can_skip_the_export(small_data, tmp_path, flights_config, tagger_overrides):
    from slotfill.nn.training import train

    settings = tagger_overrides(small_data.flights_train, small_data.flights_dev, epochs=1, extra=("train.onnx=false",))
    train(load_config(flights_config, settings), tmp_path / "m")
    assert not (tmp_path / "m" / "model.onnx").exists()
    assert SlotTagger.load(tmp_path / "m").engine == "torch"
