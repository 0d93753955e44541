"""slotfill.nn.checkpoint: written every epoch, loaded without code, resumed exactly; what --resume refuses."""

# A resumed run ends exactly where an uninterrupted one does: same losses, dev scores, learning rates, weights.

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from slotfill.cli import main
from slotfill.config import load_config
from slotfill.errors import SlotfillError
from slotfill.nn import training
from slotfill.nn.checkpoint import CHECKPOINT
from slotfill.predict import SlotTagger

# learned + hashed + characters, an intent head, weight averaging and LR decay: every piece of state a checkpoint holds
EXTRA = ("model.embeddings=['learned','hashed','chars']", "train.ema=0.9", "train.lr_patience=0", "train.onnx=false")


@pytest.fixture
def settings(tagged_files, tagger_overrides):
    """settings(epochs=4, extra=()): `--set` items for a tiny tagger on `tagged_files` with every piece of state."""

    def make(epochs: int = 4, extra: tuple[str, ...] = ()) -> list[str]:
        return tagger_overrides(*tagged_files, epochs=epochs, extra=(*EXTRA, *extra))

    return make


def interrupted(monkeypatch, config, output: Path, at_epoch: int) -> None:
    """Train until the start of epoch `at_epoch`, then raise KeyboardInterrupt as Ctrl-C would."""
    epoch = training.Trainer.epoch
    calls = []

    def stopping(self, *args):
        calls.append(1)
        if len(calls) == at_epoch:
            raise KeyboardInterrupt
        return epoch(self, *args)

    monkeypatch.setattr(training.Trainer, "epoch", stopping)
    with pytest.raises(KeyboardInterrupt):
        training.train(config, output)
    monkeypatch.undo()


def weights(directory: Path) -> dict:
    return torch.load(directory / "weights.pt", weights_only=True)


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_resumed_run_ends_with_the_model_of_an_uninterrupted_run(settings, flights_config, tmp_path, monkeypatch, schedule, count_epochs):
    config = load_config(flights_config, settings(extra=(f"train.schedule={schedule}",)))
    _, full = training.train(config, tmp_path / "full")
    interrupted(monkeypatch, config, tmp_path / "cut", at_epoch=3)
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)["epoch"] == 2
    run = count_epochs()
    _, resumed = training.train(config, tmp_path / "cut", resume=True)
    assert run == ["epoch 3", "epoch 4"]  # it went on from the checkpoint, not from the start
    assert [e["loss"] for e in resumed["history"]["epochs"]] == [e["loss"] for e in full["history"]["epochs"]]
    assert [e["dev"] for e in resumed["history"]["epochs"]] == [e["dev"] for e in full["history"]["epochs"]]
    assert [e["lr"] for e in resumed["history"]["epochs"]] == [e["lr"] for e in full["history"]["epochs"]]
    assert len(full["history"]["epochs"]) == 4
    assert resumed["history"]["best"] == full["history"]["best"]
    assert resumed["history"]["best_epoch"] == full["history"]["best_epoch"]
    a, b = weights(tmp_path / "full"), weights(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_is_written_every_epoch_and_loads_without_code(settings, flights_config, tmp_path, monkeypatch):
    config = load_config(flights_config, settings())
    scores = iter(range(1, 100))  # a dev score that rises every epoch: epoch 2 is the best when the run stops
    monkeypatch.setattr(SlotTagger, "evaluate", lambda self, sentences, **options: {"precision": 0.0, "recall": 0.0, "f1": next(scores) / 100})
    interrupted(monkeypatch, config, tmp_path / "m", at_epoch=3)
    state = torch.load(tmp_path / "m" / CHECKPOINT, weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]["epochs"]) == 2
    assert state["optimizer"]["state"] and state["average"] and state["torch_rng"][0].dtype == torch.uint8
    assert state["config"]["train"]["ema"] == 0.9
    assert state["history"]["best_epoch"] == 2
    best = weights(tmp_path / "m")  # the averaged weights (ema 0.9) of the best epoch, not the live ones
    assert any(not torch.equal(state["model"][k], best[k]) for k in best)
    # the model saved at epoch 2 is the average the checkpoint holds
    assert all(torch.equal(value, best[k]) for k, value in state["average"].items())


def test_resuming_a_finished_run_changes_nothing(settings, flights_config, tmp_path, monkeypatch, count_epochs):
    config = load_config(flights_config, settings(epochs=2))
    _, first = training.train(config, tmp_path / "m")
    before = weights(tmp_path / "m")
    run = count_epochs()
    _, again = training.train(config, tmp_path / "m", resume=True)
    assert run == []  # nothing left to train
    assert again["history"]["epochs"] == first["history"]["epochs"]
    after = weights(tmp_path / "m")
    assert all(torch.equal(before[k], after[k]) for k in before)


def resume_error(config_file: Path, output: Path, *extra: str) -> str:
    result = CliRunner().invoke(main, ["train", str(config_file), "-o", str(output), "--resume", *extra])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_resume_without_a_checkpoint_is_a_one_line_error(tagger_config_file, tmp_path):
    assert "nothing to resume: no checkpoint.pt" in resume_error(tagger_config_file, tmp_path / "none")
    (tmp_path / "empty").mkdir()
    assert "nothing to resume" in resume_error(tagger_config_file, tmp_path / "empty")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_resume_from_a_corrupt_checkpoint_is_a_one_line_error(tagger_config_file, tmp_path, content):
    output = tmp_path / "m"
    output.mkdir()
    if content is None:
        torch.save({"format": 1, "epoch": 3}, output / CHECKPOINT)  # a valid file, not a checkpoint
    else:
        (output / CHECKPOINT).write_bytes(content)
    assert "corrupt checkpoint" in resume_error(tagger_config_file, output)


def test_resume_with_another_config_names_the_differing_keys(tagger_config_file, tmp_path):
    output = tmp_path / "m"
    result = CliRunner().invoke(main, ["train", str(tagger_config_file), "-o", str(output), "--set", "train.epochs=1"])
    assert result.exit_code == 0, result.output
    message = resume_error(tagger_config_file, output, "--set", "train.epochs=1", "--set", "train.lr=0.02",
                           "--set", "model.hidden_size=24")
    assert "cannot resume with a different config" in message
    assert "model.hidden_size (32 in the checkpoint, 24 now)" in message
    assert "train.lr (0.01 in the checkpoint, 0.02 now)" in message
    assert "train.epochs" not in message


def test_resume_with_other_data_is_an_error(tagged_files, settings, flights_config, tmp_path):
    train_file, dev_file = tagged_files
    config = load_config(flights_config, settings(epochs=1))
    training.train(config, tmp_path / "m")
    train_file.write_text("".join(train_file.read_text().splitlines(keepends=True)[:-5]))
    with pytest.raises(SlotfillError, match="the data changed since the checkpoint"):
        training.train(config, tmp_path / "m", resume=True)
