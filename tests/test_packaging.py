"""The wheel (packaging, no module of its own): built, installed in a fresh venv, running the demos from elsewhere,
and installed without PyTorch (the ONNX-only install) serving trained models."""

# The demos ship with the package: build the wheel, install it into a fresh virtual environment and run the demos
# from an empty directory, far from the source tree.

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = ("slotfill", "configs", "data", "setup.cfg", "pyproject.toml", "README.md")


def run(args: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def build_wheel(folder: Path, env: dict) -> Path:
    """The wheel, built from a copy of the tracked layout, so the checkout gets no build/ or egg-info."""
    source = folder / "source"
    for name in SOURCES:
        copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy2
        copy(PROJECT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", folder / "dist", source], folder, env)
    (wheel,) = (folder / "dist").glob("slotfill-*.whl")
    return wheel


def test_wheel_runs_the_demos_from_an_empty_directory(tmp_path):
    env = clean_env()
    wheel = build_wheel(tmp_path, env)

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


ONNX_ONLY = ("numpy", "onnxruntime", "click", "fastapi", "uvicorn")  # what the ONNX engine, the CLI and the server need


def test_the_onnx_only_install_tags_classifies_evaluates_and_serves(tmp_path, trained_tagger, trained_classifier, small_data):
    """The wheel with --no-deps plus numpy, onnxruntime, click, fastapi and uvicorn: no PyTorch. Every command that
    applies a model works on model.onnx; a damaged model.onnx is one line saying to re-export where PyTorch is."""
    env = clean_env()
    wheel = build_wheel(tmp_path, env)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, env)
    python, slotfill = venv / "bin" / "python", venv / "bin" / "slotfill"
    run([python, "-m", "pip", "install", "-q", "--no-deps", wheel], tmp_path, env)
    run([python, "-m", "pip", "install", "-q", *ONNX_ONLY], tmp_path, env)
    missing = run([python, "-c", "import importlib.util as u; print([m for m in ('torch', 'gensim', 'sklearn') if u.find_spec(m)])"],
                  tmp_path, env)
    assert missing.stdout.strip() == "[]"
    tagger, classifier = tmp_path / "tagger", tmp_path / "classifier"
    shutil.copytree(trained_tagger.directory, tagger)
    shutil.copytree(trained_classifier.directory, classifier)

    tagged = json.loads(run([slotfill, "tag", "--json", "--model", tagger, "fly from boston to denver"], tmp_path, env).stdout)
    assert tagged["tags"] == trained_tagger.predictor.tag("fly from boston to denver")["tags"]
    classified = json.loads(run([slotfill, "classify", "--json", "--model", classifier, "a wonderful film"], tmp_path, env).stdout)
    assert classified["label"] == trained_classifier.predictor.classify("a wonderful film")["label"]
    scores = json.loads(run([slotfill, "evaluate", "--json", tagger, small_data.flights_dev], tmp_path, env).stdout)
    assert scores["f1"] == trained_tagger.predictor.evaluate(trained_tagger.predictor.read(trained_tagger.predictor.config,
                                                                                          small_data.flights_dev))["f1"]

    server = subprocess.Popen([slotfill, "serve", tagger, "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split(" at ")[1].split()[0]
        for _ in range(100):
            try:
                request = urllib.request.Request(url + "tag", json.dumps({"text": "fly from boston to denver"}).encode(),
                                                 {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as answer:
                    assert json.loads(answer.read())["tags"] == tagged["tags"]
                break
            except ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer")
    finally:
        server.terminate()
    assert server.wait(timeout=30) == 0

    (tagger / "model.onnx").write_bytes(b"not an onnx file")
    for engine in ("auto", "onnx"):
        failed = subprocess.run([slotfill, "tag", "--engine", engine, "--model", tagger, "hi"], cwd=tmp_path, env=env,
                                capture_output=True, text=True)
        assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        assert "not a valid ONNX model" in failed.stderr and "Traceback" not in failed.stderr
    failed = subprocess.run([slotfill, "tag", "--model", tagger, "hi"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "PyTorch is not installed here, so re-export the model" in failed.stderr, failed.stderr
    failed = subprocess.run([slotfill, "tag", "--engine", "torch", "--model", tagger, "hi"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "the torch engine needs PyTorch" in failed.stderr, failed.stderr
