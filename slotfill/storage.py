"""Model directories: config, vocabularies, weights, network and history, written atomically, read safely.
File handling only: the weights are bytes here (PyTorch reads and writes them in slotfill.nn).
A model directory read is its Parts: what both engines are built from."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import Config, config_from_dict, config_to_dict
from .errors import SlotfillError
from .features import Featurizer

FILES = ("config.json", "vocab.json")  # weights.pt (torch engine) and model.onnx (ONNX engine) beside them
WEIGHTS = "weights.pt"
NETWORK = "model.onnx"


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write_json(path: Path, data: dict) -> None:
    path.write_bytes(_json_bytes(data))


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write a file through a temporary file beside it and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_metrics(directory: str | Path, metrics: dict) -> None:
    """Replace the metrics.json of a model directory (atomically), leaving the rest as it is."""
    write_atomic(Path(directory) / "metrics.json", _json_bytes(metrics))


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Parts:
    """A model without its network: the config, the featurizer and the label lists (vocab.json's
    "tags" and "intents" for a tagger, "labels" for a classifier)."""

    config: Config
    featurizer: Featurizer
    labels: dict[str, list[str] | None]

    def vocab_json(self) -> dict:
        return {"featurizer": self.featurizer.to_json(), **self.labels}


def save_model(directory: str | Path, parts: Parts, weights: bytes, metrics: dict | None = None,
               extra: dict[str, bytes] | None = None) -> None:
    """Write the whole model directory (and `extra` files, by name) under a temporary name, then swap it into place."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    try:
        _write_json(tmp / "config.json", config_to_dict(parts.config))
        _write_json(tmp / "vocab.json", parts.vocab_json())
        (tmp / WEIGHTS).write_bytes(weights)
        if metrics is not None:
            _write_json(tmp / "metrics.json", metrics)
        for name, data in (extra or {}).items():
            (tmp / name).write_bytes(data)
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.old-"))
            os.rmdir(old)
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SlotfillError(f"corrupt model file ({err.__class__.__name__}: {err})", path) from None
    if not isinstance(data, dict):
        raise SlotfillError("corrupt model file (expected a JSON object)", path)
    return data


def read_model(directory: str | Path) -> Parts:
    """The Parts of a model directory (config.json, vocab.json), plain JSON."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SlotfillError("no model directory here (train one with `slotfill train`)", directory)
    for name in FILES:
        if not (directory / name).is_file():
            raise SlotfillError(f"not a model directory: {name} is missing", directory)
    raw_config, vocab = _read_json(directory / "config.json"), _read_json(directory / "vocab.json")
    try:
        featurizer = Featurizer.from_json(vocab.pop("featurizer"))
        return Parts(config_from_dict(raw_config), featurizer, vocab)
    except (SlotfillError, KeyError, TypeError, AttributeError) as err:
        raise SlotfillError(f"corrupt model directory ({err})", directory) from None


def load_metrics(directory: str | Path) -> dict | None:
    path = Path(directory) / "metrics.json"
    return _read_json(path) if path.is_file() else None
