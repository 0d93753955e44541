"""slotfill: BiLSTM slot filling and sentence classification, trained and used from the shell or Python."""

import os

# Idle OpenMP threads sleep instead of spinning: spinning made 2 threads far slower than 1 under load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["SlotTagger", "Classifier", "SentimentClassifier", "load", "train", "load_config", "Config", "Fallback", "SlotfillError"]

_LAZY = {
    "SlotTagger": "predict",
    "Classifier": "predict",
    "SentimentClassifier": "predict",
    "load": "predict",
    "train": "nn.training",
    "load_config": "config",
    "Config": "config",
    "Fallback": "fallback",
    "SlotfillError": "errors",
}


def __getattr__(name: str):
    """Import modules only when their names are used (slotfill.nn, and so PyTorch, only for `train`)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'slotfill' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
