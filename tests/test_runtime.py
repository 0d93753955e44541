"""slotfill.runtime: the ONNX engine against the torch engine, stale and damaged model.onnx, a CLI without PyTorch."""

# Equal predictions from both engines for every kind of model; stale, foreign and damaged files refused (with a fall
# back to the torch engine under `auto`); the bad inputs; and the ONNX path never importing PyTorch.

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from slotfill.cli import main
from slotfill.config import load_config
from slotfill.errors import SlotfillError
from slotfill.nn.build import create, save
from slotfill.nn.export import export_model
from slotfill.predict import Classifier, Predictor, SlotTagger, load

# very different lengths in one batch, unknown and very long words (past the character and trigram caps), digits
TEXTS = [
    "to",
    "i want to fly from boston to denver on monday",
    "Show me the CHEAPEST fares from Taipei to San Francisco next week",
    "flights",
    "what flights go from reykjavik to nairobi " * 6 + "please",
    "supercalifragilisticexpialidocious-and-then-some-more-letters 9:30 am 1,000",
    "book a ticket to tokyo departing from london next friday",
]
HEAVY = ("torch", "gensim", "sklearn")


PER_SENTENCE = {"emissions", "intents", "probabilities"}  # outputs with a row per sentence of the batch


@pytest.fixture(scope="module")
def build(flights_config):
    """build(folder, settings): an untrained model with random weights, saved and exported: enough to compare the engines."""
    return lambda folder, settings: _build(folder, settings, flights_config)


def _build(tmp_path: Path, settings: list[str], flights_config: Path, name: str = "model") -> Path:
    config = load_config(flights_config if "task='classifier'" not in settings else None, settings)
    torch.manual_seed(0)
    predictor = create(config, Predictor.kind(config.task).read(config, config.data.train))
    with torch.no_grad():  # larger weights than the initial ones: decisions that depend on every part
        for parameter in predictor.backend.model.parameters():
            if parameter.any():
                parameter.mul_(3.0)
            else:  # the CRF's transition, start and end scores start at zero: make Viterbi depend on them
                parameter.normal_(std=2.0)
    directory = tmp_path / name
    save(predictor, directory)
    export_model(directory)
    return directory


def assert_engines_agree(directory: Path, task: str, intents: bool = False) -> None:
    """Both engines load `directory` (a `task` model, with an intent head or not) and compute the same."""
    torch_side, onnx_side = load(directory, "torch"), load(directory, "onnx")
    assert (torch_side.engine, onnx_side.engine) == ("torch", "onnx")
    assert torch_side.task == onnx_side.task == task
    tokens = [t.split() for t in TEXTS]
    features = onnx_side.featurizer.batch(tokens)
    a, b = torch_side.backend.run(features), onnx_side.backend.run(features)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape, name
        assert np.allclose(a[name], b[name], atol=1e-4), (name, np.abs(a[name] - b[name]).max())
    if task == "tagger":
        for x, y in zip(torch_side.tag_batch(TEXTS, ranking=3), onnx_side.tag_batch(TEXTS, ranking=3)):
            assert x["tags"] == y["tags"] and len(x["slots"]) == len(y["slots"])
            for s, t in zip(x["slots"], y["slots"]):  # the same spans, their probabilities within float32 noise
                assert s.pop("score") == pytest.approx(t.pop("score"), abs=1e-5) and s == t
            assert ("intent" in x) == ("intent" in y) == intents
            assert x.get("intent", {}).get("label") == y.get("intent", {}).get("label")
            assert x.get("intent", {}).get("score", 0.0) == pytest.approx(y.get("intent", {}).get("score", 0.0), abs=1e-4)
    else:
        for x, y in zip(torch_side.classify_batch(TEXTS), onnx_side.classify_batch(TEXTS)):
            assert x["label"] == y["label"]
            assert all(abs(x["scores"][k] - y["scores"][k]) < 1e-4 for k in x["scores"])
    # a sentence's scores do not depend on the other, longer sentences of its batch
    for i, sentence in enumerate(tokens):
        alone = onnx_side.backend.run(onnx_side.featurizer.batch([sentence]))
        for name, value in alone.items():
            if name in PER_SENTENCE:  # the CRF's scores are the model's, not a sentence's
                value, batched = value[0], b[name][i, : len(sentence)] if name == "emissions" else b[name][i]
            else:
                batched = b[name]
            assert np.allclose(value, batched, atol=1e-5), (name, i)


TAGGERS = {
    "learned": ["model.embeddings=['learned']"],
    "onehot": ["model.embeddings=['onehot']"],
    "hashed": ["model.embeddings=['hashed']"],
    "hashed-mean": ["model.embeddings=['hashed']", "model.hashed.combine='mean'"],
    "word2vec": ["model.embeddings=['word2vec']"],
    "chars": ["model.embeddings=['chars']", "model.chars.width=4"],
    "bigrams": ["model.embeddings=['learned','bigrams']"],
    "all": ["model.embeddings=['learned','onehot','hashed','word2vec','chars','bigrams']"],
    "gru-2-layers": ["model.cell='gru'", "model.layers=2"],
    "rnn": ["model.cell='rnn'"],
    "lstm-2-layers-softmax": ["model.layers=2", "model.decoder='softmax'"],
    "no-intent-head": ["model.intent_weight=0"],
    **{f"intent-{mode}": [f"model.intent_pooling='{mode}'"] for mode in ("max", "mean", "last", "attention")},
}
CLASSIFIERS = {
    **{f"pooling-{mode}": [f"model.pooling='{mode}'"] for mode in ("max", "mean", "last", "attention")},
    "chars-gru-2-layers": ["model.embeddings=['chars','word2vec']", "model.cell='gru'", "model.layers=2"],
}


@pytest.mark.parametrize("variant", list(TAGGERS))
def test_tagger_engines_agree(variant, small_data, tmp_path, build, tagger_overrides):
    directory = build(tmp_path, tagger_overrides(small_data.flights_train, small_data.flights_dev, extra=tuple(TAGGERS[variant])))
    assert_engines_agree(directory, "tagger", intents=variant != "no-intent-head")


@pytest.mark.parametrize("variant", list(CLASSIFIERS))
def test_classifier_engines_agree(variant, small_data, tmp_path, build, classifier_overrides):
    settings = classifier_overrides(small_data.reviews_train, small_data.reviews_dev, extra=tuple(CLASSIFIERS[variant]))
    assert_engines_agree(build(tmp_path, settings), "classifier")


def test_trained_model_engines_agree_on_dev(trained_tagger, small_data, same):
    """The model `slotfill train` wrote: the same dev figures and tags from both engines (confidences to 1e-5)."""
    dev = trained_tagger.predictor.read(trained_tagger.predictor.config, small_data.flights_dev)
    torch_side, onnx_side = load(trained_tagger.directory, "torch"), load(trained_tagger.directory, "onnx")
    same(torch_side.evaluate(dev), onnx_side.evaluate(dev))
    assert load(trained_tagger.directory).engine == "onnx"  # auto picks it


def test_a_directory_without_weights_runs_on_onnx(trained_tagger, tmp_path, same):
    """config.json, vocab.json, calibration.json and model.onnx are all a deployment needs."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("config.json", "vocab.json", "calibration.json", "model.onnx"):
        shutil.copy(trained_tagger.directory / name, shipped / name)
    shipped_model = load(shipped)
    assert shipped_model.engine == "onnx"
    result, expected = shipped_model.tag(TEXTS[1]), trained_tagger.predictor.tag(TEXTS[1])
    same(result["slots"], expected["slots"])
    assert result["slots"]
    assert result["intent"]["label"] == expected["intent"]["label"]
    assert result["intent"]["score"] == pytest.approx(expected["intent"]["score"], abs=1e-4)
    with pytest.raises(SlotfillError, match="weights.pt"):
        load(shipped, "torch")


# ---- stale, foreign, damaged and missing model.onnx -----------------------------------------------


def rewrite_metadata(path: Path, **changes: str) -> None:
    import onnx

    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key in changes:
            prop.value = changes[prop.key]
    onnx.save(proto, str(path))


def damage_truncated(directory: Path, other: Path) -> None:
    data = (directory / "model.onnx").read_bytes()
    (directory / "model.onnx").write_bytes(data[: len(data) // 2])


def damage_foreign(directory: Path, other: Path) -> None:
    shutil.copy(other / "model.onnx", directory / "model.onnx")


def damage_old(directory: Path, other: Path) -> None:
    rewrite_metadata(directory / "model.onnx", slotfill_format="0")


def damage_retrained(directory: Path, other: Path) -> None:
    """New weights.pt, old model.onnx: what a re-save without export leaves."""
    state = torch.load(directory / "weights.pt", weights_only=True)
    state = {k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, directory / "weights.pt")


def damage_missing(directory: Path, other: Path) -> None:
    (directory / "model.onnx").unlink()


def damage_not_onnx(directory: Path, other: Path) -> None:
    (directory / "model.onnx").write_bytes(b"\x00\x01 not a protobuf at all")


DAMAGES = {  # each leaves weights.pt as trained (damage_retrained, which does not, has a test of its own)
    "truncated": (damage_truncated, "not a valid ONNX model"),
    "foreign": (damage_foreign, "other weights"),
    "old": (damage_old, "export the model again"),
    "missing": (damage_missing, "no model.onnx"),
    "not-onnx": (damage_not_onnx, "not a valid ONNX model"),
}


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, small_data, build, tagger_overrides) -> Path:
    """A second tagger with the same layout and other weights."""
    settings = tagger_overrides(small_data.flights_train, small_data.flights_dev, extra=("train.seed=7",))
    return build(tmp_path_factory.mktemp("other"), settings)


def refused_then_torch(directory: Path, message: str, caplog):
    """The onnx engine refuses `directory` in one line saying `message`; `auto` warns and loads the torch engine."""
    with pytest.raises(SlotfillError, match=message) as err:
        load(directory, "onnx")
    assert str(directory) in str(err.value) and "\n" not in str(err.value)
    with caplog.at_level("WARNING", logger="slotfill"):
        fallback = load(directory, "auto")
    assert fallback.engine == "torch"
    assert [r.getMessage() for r in caplog.records if message in r.getMessage() and "torch engine" in r.getMessage()]
    return fallback


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_model_onnx(damage, model_copy, other_model, trained_tagger, caplog, same):
    spoil, message = DAMAGES[damage]
    spoil(model_copy, other_model)
    fallback = refused_then_torch(model_copy, message, caplog)
    # the torch engine on the same weights: the same answer
    same(fallback.tag(TEXTS[1])["slots"], trained_tagger.predictor.tag(TEXTS[1])["slots"])


def test_model_onnx_older_than_the_weights(model_copy, other_model, trained_tagger, caplog):
    """weights.pt retrained after the export: model.onnx is stale, and `auto` answers with the new weights."""
    damage_retrained(model_copy, other_model)
    fallback = refused_then_torch(model_copy, "other weights", caplog)
    new, old = (p.tag(TEXTS[1], ranking=5)["intent"]["ranking"] for p in (fallback, trained_tagger.predictor))
    assert [r["score"] for r in new] != pytest.approx([r["score"] for r in old], abs=1e-6)


def test_damaged_model_onnx_from_the_cli(model_copy, other_model, run_slotfill):
    damage_foreign(model_copy, other_model)
    runner = CliRunner()
    strict = runner.invoke(main, ["tag", "--engine", "onnx", "--model", str(model_copy), TEXTS[1]])
    assert strict.exit_code == 1 and "Traceback" not in strict.output
    assert strict.stderr.strip().splitlines() == [f"error: {model_copy / 'model.onnx'}: made from other weights than the "
                                                  "weights.pt beside it: export the model again"]
    auto = run_slotfill("tag", "--model", model_copy, TEXTS[1])
    assert auto.returncode == 0 and "fromloc.city_name" in auto.stdout.decode()
    notice = auto.stderr.decode().strip().splitlines()
    assert len(notice) == 1 and "other weights" in notice[0] and "using the torch engine" in notice[0]


# ---- bad input on the ONNX path --------------------------------------------------------------------


# TAGGER, CLASSIFIER, NOTHING, FLIGHTS_DEV and REVIEWS_DEV in these arguments stand for the session's models and files
BAD_INPUT = {  # (arguments, stdin, words of the one-line error)
    "empty-sentence": (["tag", "--engine", "onnx", "--model", "TAGGER", "   "], None, "sentence 1: empty sentence"),
    "no-model": (["tag", "--engine", "onnx", "--model", "NOTHING", "hi"], None, "no model directory"),
    "tag-with-a-classifier": (["tag", "--engine", "onnx", "--model", "CLASSIFIER", "hi"], None, "load it with Classifier"),
    "stdin-not-utf8": (["tag", "--engine", "onnx", "--model", "TAGGER"], b"to boston\n\xff\xfe oops\n", "<stdin>:2: not UTF-8"),
    "classify-with-a-tagger": (["classify", "--engine", "onnx", "--model", "TAGGER", "hi"], None, "load it with SlotTagger"),
}
ONNX_COMMANDS = {
    "tag": ["tag", "--model", "TAGGER", TEXTS[1]],
    "classify": ["classify", "--model", "CLASSIFIER", "a gripping film"],
    "evaluate-tagger": ["evaluate", "TAGGER", "FLIGHTS_DEV"],
    "evaluate-classifier": ["evaluate", "CLASSIFIER", "REVIEWS_DEV"],
}


@pytest.fixture
def stand_ins(trained_tagger, trained_classifier, small_data, tmp_path) -> dict:
    """What the capitalised stand-ins in BAD_INPUT and ONNX_COMMANDS name."""
    return {"TAGGER": trained_tagger.directory, "CLASSIFIER": trained_classifier.directory, "NOTHING": tmp_path / "nothing",
            "FLIGHTS_DEV": small_data.flights_dev, "REVIEWS_DEV": small_data.reviews_dev}


def imported_packages(stderr: str) -> set[str]:
    """The top-level packages in the output of `python -X importtime`."""
    return {line.split("|")[-1].strip().split(".")[0] for line in stderr.splitlines() if "|" in line}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_on_the_onnx_engine(case, stand_ins, run_slotfill):
    args, stdin, message = BAD_INPUT[case]
    done = run_slotfill(*[stand_ins.get(a, a) for a in args], input=stdin)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize("command", list(ONNX_COMMANDS))
def test_onnx_cli_never_imports_torch(command, stand_ins):
    """`slotfill tag/classify/evaluate` on the ONNX engine (chosen by auto) load no PyTorch, gensim or scikit-learn."""
    args = [str(stand_ins.get(a, a)) for a in ONNX_COMMANDS[command]]
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "slotfill", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = imported_packages(done.stderr)
    assert "onnxruntime" in imported and "slotfill" in imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_server_and_onnx_modules_never_import_torch():
    server = subprocess.run([sys.executable, "-c", "import sys, slotfill.server.app, slotfill.predict, slotfill.runtime; "
                             "print(sorted({m.split('.')[0] for m in sys.modules}))"], capture_output=True, text=True, timeout=120)
    assert server.returncode == 0 and "fastapi" in server.stdout
    assert not any(f"'{name}'" in server.stdout for name in HEAVY), server.stdout


def test_the_torch_engine_imports_torch(trained_tagger):
    """The check above can see torch: asked for the torch engine, the same command imports it."""
    torch_done = subprocess.run([sys.executable, "-X", "importtime", "-m", "slotfill", "tag", "--engine", "torch",
                                 "--model", str(trained_tagger.directory), TEXTS[1]], capture_output=True, text=True, timeout=120)
    assert torch_done.returncode == 0, torch_done.stderr
    assert "torch" in imported_packages(torch_done.stderr)


def test_wrong_predictor_class_on_onnx(trained_classifier):
    with pytest.raises(SlotfillError, match="load it with Classifier"):
        SlotTagger.load(trained_classifier.directory, "onnx")
    assert Classifier.load(trained_classifier.directory, "onnx").engine == "onnx"
