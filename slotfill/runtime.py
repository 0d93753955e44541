"""The ONNX engine: a model directory's model.onnx run by onnxruntime, with numpy and no PyTorch.

model.onnx holds the network from features to scores (inputs: the arrays of slotfill.features.Features;
outputs: the predictor's `OUTPUTS`). Its metadata records the export format and the SHA-256 of the weights.pt
it was made from, so a stale or foreign file is refused rather than used."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import storage
from .errors import SlotfillError
from .features import Features
from .storage import Parts

FORMAT = "1"  # the layout of inputs, outputs and metadata; raised whenever it changes


def session_options(threads: int = 0):
    """onnxruntime options: `threads` intra-op threads (0: one per core, at most 4), no spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or max(1, min(4, len(os.sched_getaffinity(0))))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # a busy machine: sleep, don't spin
    options.log_severity_level = 3
    return options


class OnnxEngine:
    """Runs a model directory's model.onnx; refuses one that is missing, damaged, stale or foreign."""

    name = "onnx"

    def __init__(self, directory: str | Path, inputs: list[str], outputs: list[str], threads: int = 0):
        """Open `directory`'s model.onnx, whose inputs must be `inputs` and whose outputs must include `outputs`
        (the sentence vectors of a model exported without their typicality fitted are left unread)."""
        path = Path(directory) / storage.NETWORK
        if not path.is_file():
            raise SlotfillError("no model.onnx (write one with `slotfill export`)", directory)
        try:
            import onnxruntime
        except ImportError:
            raise SlotfillError("onnxruntime is not installed (pip install onnxruntime)", path) from None
        try:
            self.session = onnxruntime.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own types for a damaged or non-ONNX file
            raise SlotfillError(f"not a valid ONNX model ({str(err).splitlines()[0][:200]})", path) from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if metadata.get("slotfill_format") != FORMAT:
            raise SlotfillError("not written by this version's `slotfill export`: export the model again", path)
        weights = Path(directory) / storage.WEIGHTS
        if weights.is_file() and metadata.get("weights_sha256") != storage.sha256(weights):
            raise SlotfillError("made from other weights than the weights.pt beside it: export the model again", path)
        self.inputs = [i.name for i in self.session.get_inputs()]
        found = [o.name for o in self.session.get_outputs()]
        if sorted(self.inputs) != sorted(inputs) or not set(outputs) <= set(found):
            raise SlotfillError(f"its inputs and outputs ({', '.join(self.inputs)}; {', '.join(found)}) "
                                "do not fit this model directory: export the model again", path)
        self.outputs = [name for name in found if name in outputs]

    @classmethod
    def load(cls, directory: str | Path, parts: Parts, outputs: list[str], threads: int = 0) -> OnnxEngine:
        """The network of a model directory, checked against its featurizer's arrays and `outputs`."""
        return cls(directory, [a.name for a in parts.featurizer.inputs()], outputs, threads)

    def run(self, features: Features) -> dict[str, np.ndarray]:
        arrays = features.arrays()
        return dict(zip(self.outputs, self.session.run(self.outputs, {name: arrays[name] for name in self.inputs})))
