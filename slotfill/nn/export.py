"""model.onnx from a trained network: the network from features to scores, for the ONNX engine."""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from .. import __version__, storage
from ..predict import Predictor, load
from ..runtime import FORMAT
from .batch import Batch
from .build import network

SAMPLE = [["a", "bc", "def"], ["g"]]  # any tokens: the graph is traced once and takes any batch


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' notes (Python warnings, logging and C++ log lines on stderr alike)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _Network(torch.nn.Module):
    """The model's `outputs` as a function of positional arrays, as the exporter traces it."""

    def __init__(self, model: torch.nn.Module, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *arrays: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.outputs(Batch(**dict(zip(self.names, arrays)))).values())


def export_onnx(predictor: Predictor, path: str | Path, weights_sha256: str, quantize: bool = False) -> Path:
    """Write the predictor's network to `path` (atomically), recording the weights' hash; with
    `quantize`, its weights in int8 (onnxruntime dynamic quantization)."""
    import onnx

    path = Path(path)
    model = copy.deepcopy(network(predictor)).cpu().eval()
    features = predictor.featurizer.batch(SAMPLE)
    arrays = {name: torch.from_numpy(a) for name, a in features.arrays().items()}
    axes = {a.name: a.variable_axes for a in predictor.featurizer.inputs()}
    with torch.no_grad():
        outputs = list(model.outputs(Batch.of(features)))
    with storage.writing(path), tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        graph = Path(tmp) / "network.onnx"
        with _quiet():
            torch.onnx.export(
                _Network(model, list(arrays)), tuple(arrays.values()), str(graph), dynamo=False, opset_version=17,
                input_names=list(arrays), output_names=outputs,
                dynamic_axes={**axes, **{name: predictor.OUTPUTS[name] for name in outputs if predictor.OUTPUTS[name]}},
            )
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            with _quiet():  # its advice to pre-process the graph first
                quantize_dynamic(graph, Path(tmp) / "int8.onnx", weight_type=QuantType.QInt8)
            graph = Path(tmp) / "int8.onnx"
        proto = onnx.load(str(graph))
    metadata = {"slotfill_version": __version__, "slotfill_format": FORMAT, "weights_sha256": weights_sha256,
                "task": predictor.task, "quantized": str(quantize).lower()}
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    storage.write_atomic(path, proto.SerializeToString())
    return path


def export_model(directory: str | Path, output: str | Path | None = None, quantize: bool = False, force: bool = False) -> Path:
    """`slotfill export`: the model directory's network to `output` (default: model.onnx inside it), which
    may replace a file only when slotfill exported it, or with `force`."""
    directory = Path(directory)
    predictor = load(directory, engine="torch")
    output = Path(output or directory / storage.NETWORK)
    storage.check_output(output, force, ours=storage.is_onnx_model)
    return export_onnx(predictor, output, storage.sha256(directory / storage.WEIGHTS), quantize)
