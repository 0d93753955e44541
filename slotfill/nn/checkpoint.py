"""The last-epoch checkpoint (checkpoint.pt beside the best model): everything a resumed run needs to go on
exactly as an uninterrupted one. Plain data and tensors only, so it loads with `weights_only=True`."""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

import torch

from ..errors import SlotfillError

CHECKPOINT = "checkpoint.pt"
FORMAT = 1
KEYS = ("format", "config", "data", "world", "epoch", "waited", "history", "model", "optimizer", "scheduler",
        "scaler", "average", "shuffler", "random", "torch_rng", "cuda_rng")


def fingerprint(examples: list) -> str:
    """A digest of a split's examples (tokens and labels), to tell whether a resumed run reads the same data."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.tokens, getattr(e, "tags", None), getattr(e, "intent", None), getattr(e, "label", None)]).encode())
    return f"{len(examples)} sentences, sha256 {digest.hexdigest()[:16]}"


def random_state(rng: random.Random) -> list:
    version, state, gauss = rng.getstate()
    return [version, list(state), gauss]


def set_random_state(rng: random.Random, state: list) -> None:
    version, values, gauss = state
    rng.setstate((version, tuple(values), gauss))


def to_bytes(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def load_tensors(path: Path, what: str):
    """A file written by torch.save, read as tensors and plain data only (no code runs); a damaged
    or foreign file is a one-line error calling it corrupt `what`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged or foreign file
        raise SlotfillError(f"corrupt {what} ({err.__class__.__name__})", path) from None


def read(directory: Path) -> dict:
    """The checkpoint of a model directory; a missing or damaged one is a one-line error."""
    path = directory / CHECKPOINT
    if not path.is_file():
        raise SlotfillError(f"nothing to resume: no {CHECKPOINT} (train without --resume to start afresh)", directory)
    checkpoint = load_tensors(path, "checkpoint")
    if not isinstance(checkpoint, dict) or any(k not in checkpoint for k in KEYS) or checkpoint["format"] != FORMAT:
        raise SlotfillError("corrupt checkpoint (not a slotfill training checkpoint)", path)
    return checkpoint


def differences(first: dict, second: dict, prefix: str = "", names: tuple[str, str] = ("in the checkpoint", "now")) -> list[str]:
    """Dotted keys whose values differ between two nested config dicts, with both values."""
    found = []
    for key in sorted(set(first) | set(second)):
        a, b = first.get(key), second.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.", names)
        elif a != b:
            found.append(f"{prefix}{key} ({a!r} {names[0]}, {b!r} {names[1]})")
    return found
