"""slotfill.nn.distributed: training under torchrun, two CPU processes (gloo, loopback) on a tiny corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import sets, torchrun

from slotfill.config import load_config
from slotfill.nn.checkpoint import CHECKPOINT
from slotfill.nn.training import train
from slotfill.predict import SlotTagger



def test_two_processes_train_a_model_like_one(tagged_files, tmp_path, flights_config, tagger_overrides, model_files):
    """Two processes with half the batch each take the same steps as one process; the dev score is within
    noise of the single-process run (different dropout masks), the model directory is complete and loads."""
    common = tagger_overrides(*tagged_files, epochs=6, extra=("train.lr=0.02",))
    _, single = train(load_config(flights_config, [*common, "train.batch_size=8"]), tmp_path / "one")
    done = torchrun("train", str(flights_config), "-o", str(tmp_path / "two"), *sets([*common, "train.batch_size=4"]))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("epoch  1/6") == 1  # rank 0 alone logs
    assert "2 processes" in done.stderr
    assert done.stdout.count("best dev f1") == 1 and "model saved to" in done.stdout
    assert {p.name for p in (tmp_path / "two").iterdir()} == model_files
    history = json.loads((tmp_path / "two" / "metrics.json").read_text())["history"]
    assert len(history["epochs"]) == 6
    assert history["epochs"][-1]["loss"] < history["epochs"][0]["loss"] / 2
    assert abs(history["best"] - single["history"]["best"]) < 0.15
    tagger = SlotTagger.load(tmp_path / "two")
    assert tagger.engine == "onnx"
    assert tagger.evaluate(tagger_dev(tagged_files))["f1"] == pytest.approx(history["best"], abs=1e-6)


def test_gradients_are_averaged_so_every_process_ends_with_the_same_weights(tagged_files, tmp_path, flights_config,
                                                                           tagger_overrides):
    """Each process trains on its own shard with its own dropout masks: only averaged gradients keep their
    weights equal. Rank 1 saves its final weights; rank 0's checkpoint holds its own of the same epoch."""
    script = tmp_path / "launch.py"
    settings = tagger_overrides(*tagged_files, epochs=3, extra=("train.batch_size=4", "train.onnx=false"))
    script.write_text(
        "import os, torch\nfrom slotfill.config import load_config\nfrom slotfill.nn.training import train\n"
        f"predictor, _ = train(load_config({str(flights_config)!r}, {settings!r}), {str(tmp_path / 'm')!r})\n"
        f"if os.environ['RANK'] == '1':\n    torch.save(predictor.backend.model.state_dict(), {str(tmp_path / 'rank1.pt')!r})\n"
    )
    done = torchrun(script=script)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "m" / CHECKPOINT, weights_only=True)["model"]
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.allclose(rank0[name], rank1[name], atol=1e-6), name


def tagger_dev(tagged_files):
    from slotfill.readers import read_tagged

    return read_tagged(tagged_files[1])


def test_processes_that_read_different_data_stop_with_an_error_from_rank_0(tagged_files, tmp_path, flights_config,
                                                                           tagger_overrides, head):
    train_file, dev_file = tagged_files
    other = head(train_file, tmp_path / "other.jsonl", 40)
    script = tmp_path / "launch.py"
    script.write_text(  # rank 1 is given another training file
        "import os, sys\nfrom slotfill.cli import main\n"
        f"data = {str(other)!r} if os.environ['RANK'] == '1' else {str(train_file)!r}\n"
        f"sys.argv = ['slotfill', 'train', {str(flights_config)!r}, '-o', {str(tmp_path / 'm')!r}, "
        f"'--set', 'data.train=' + repr(data), *{sets(tagger_overrides(train_file, dev_file, epochs=1)[2:])!r}]\n"
        "main()\n"
    )
    done = torchrun(script=script)
    assert done.returncode != 0
    assert "error: the torchrun processes disagree: rank 1 differs from rank 0 in data.train" in done.stderr
    assert "File \"" + str(Path(__file__).resolve().parent.parent / "slotfill") not in done.stderr  # one-line errors; torchrun's own report follows
    errors = {line for line in done.stderr.splitlines() if line.startswith("error: ")}
    assert len(errors) == 1  # the other process waits for rank 0 (and may say the same before torchrun stops it)
    assert "rank      : 0 (local_rank: 0)\n  exitcode  : 1" in done.stderr.split("Root Cause")[1]
    assert not (tmp_path / "m").exists()
