"""The library API: load a model directory as a SlotTagger or a Classifier and apply it to text.
This module does not import PyTorch; see slotfill.predictor for the pipeline both tasks share."""

from __future__ import annotations

from pathlib import Path

from .classifier import Classifier, SentimentClassifier
from .predictor import ENGINES, Predictor
from .tagger import SlotTagger

__all__ = ["ENGINES", "Classifier", "Predictor", "SentimentClassifier", "SlotTagger", "load"]


def load(directory: str | Path, engine: str = "auto", threads: int = 0) -> Predictor:
    """Load any model directory: a SlotTagger or a Classifier, as its config says.
    `engine`: "onnx" (model.onnx run by onnxruntime, no PyTorch), "torch" (weights.pt), or "auto":
    ONNX when the directory has a model.onnx made from its weights and onnxruntime is installed
    (the torch engine otherwise, where PyTorch is installed).
    `threads`: threads for each model call (0: the engine's default: one per core, at most 4, on ONNX; PyTorch's own setting on torch)."""
    return Predictor.load(directory, engine, threads)
