"""The wheel (packaging, no module of its own): built, installed in a fresh venv, running the demos from elsewhere."""

# The demos ship with the package: build the wheel, install it into a fresh virtual environment and run the demos
# from an empty directory, far from the source tree.

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = ("slotfill", "configs", "data", "setup.cfg", "pyproject.toml", "README.md")


def run(args: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_runs_the_demos_from_an_empty_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # build from a copy of the tracked layout, so the checkout gets no build/ or egg-info
    source = tmp_path / "source"
    for name in SOURCES:
        copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy2
        copy(PROJECT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source], tmp_path, env)
    (wheel,) = (tmp_path / "dist").glob("slotfill-*.whl")

    # a fresh venv; the dependencies (torch, ...) come from this environment's site-packages through
    # a .pth file, listed after the venv's own, so the wheel's files are what runs
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    python = venv / "bin" / "python"
    own = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).stdout.strip())
    outer = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]
    (own / "outer-site-packages.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    run([python, "-m", "pip", "install", "--no-deps", "-q", wheel], tmp_path, env)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = run([python, "-c", "import slotfill; print(slotfill.__file__)"], empty, env).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    slotfill = venv / "bin" / "slotfill"
    quick = ["--set", "train.epochs=2", "--set", "train.threads=1"]

    result = run([slotfill, "train", *quick], empty, env)
    assert "model saved to models/flights" in result.stdout
    trained = json.loads((empty / "models" / "flights" / "config.json").read_text(encoding="utf-8"))
    assert Path(trained["data"]["train"]).is_relative_to(venv)  # the packaged corpus, not the checkout's
    tagged = json.loads(run([slotfill, "tag", "--json", "fly from boston to denver"], empty, env).stdout)
    assert tagged["tokens"] == ["fly", "from", "boston", "to", "denver"] and "slots" in tagged

    result = run([slotfill, "train", "configs/flights-zh.toml", *quick], empty, env)
    assert "model saved to models/flights-zh" in result.stdout
    tagged = json.loads(run([slotfill, "tag", "--json", "--model", "models/flights-zh", "我想从台北飞到Boston"], empty, env).stdout)
    assert tagged["tokens"] == ["我", "想", "从", "台", "北", "飞", "到", "Boston"]

    # a bundled name that does not exist is one line naming the bundled ones
    failed = subprocess.run([slotfill, "train", "configs/nope.toml"], cwd=empty, env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and failed.stderr.startswith("error: configs/nope.toml: no such config file")
    assert "flights-zh" in failed.stderr
