"""Model directories: config, vocabularies, weights, network and history, written atomically, read safely;
and the checks that keep every command from overwriting what slotfill did not write.
File handling only: the weights are bytes here (PyTorch reads and writes them in slotfill.nn).
A model directory read is its Parts: what both engines are built from."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .config import CHOICES, Config, config_from_dict, config_to_dict
from .errors import SlotfillError
from .features import Featurizer
from .fallback import Fallback
from .scope import Typicality

FILES = ("config.json", "vocab.json")  # weights.pt (torch engine) and model.onnx (ONNX engine) beside them
WEIGHTS = "weights.pt"
NETWORK = "model.onnx"
CALIBRATION = "calibration.json"  # how the model's probabilities are scaled, when it falls back (older models: neither)
TYPICALITY = "typicality.npz"  # how typical of the training data a sentence is (scope.Typicality; older models: none)
WRITTEN = (*FILES, WEIGHTS, CALIBRATION, TYPICALITY, "metrics.json", NETWORK, "checkpoint.pt")  # every file training writes into a model directory


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """OS errors raised inside name `path`, not the temporary files written on its way."""
    try:
        yield
    except OSError as err:
        if err.errno is None:
            raise
        raise OSError(err.errno, err.strerror, str(path)) from err


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # temporary files are created private (0600, 0700): written ones get the usual modes


def _fill(fd: int, data: bytes) -> None:
    """Write `data` to the new file open as `fd`, and close it."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _staged(path: Path, data: bytes) -> str:
    """A temporary file beside `path` holding `data`, to be renamed onto it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        _fill(fd, data)
        os.chmod(tmp, 0o666 & ~UMASK)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_files(directory: str | Path, files: dict[str, bytes]) -> None:
    """Write `files` (name: bytes) into an existing folder, each replaced atomically and all written in full
    before any is replaced, so a failure (a full disk) leaves the folder as it was."""
    directory = Path(directory)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            with writing(directory / name):
                staged.append((_staged(directory / name, data), directory / name))
        for tmp, path in staged:
            with writing(path):
                os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write a file through a temporary file beside it and a rename."""
    path = Path(path)
    write_files(path.parent, {path.name: data})


def write_metrics(directory: str | Path, metrics: dict) -> None:
    """Replace the metrics.json of a model directory (atomically), leaving the rest as it is."""
    write_atomic(Path(directory) / "metrics.json", _json_bytes(metrics))


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _written(name: str) -> bool:
    """Whether a model directory's entry `name` is a file training writes (or a temporary file on its way)."""
    return name in WRITTEN or any(name.startswith(f".{known}.") for known in WRITTEN)


def _swappable(directory: Path) -> bool:
    """Whether replacing `directory` whole loses nothing and strands no one: it holds nothing but files training
    writes, and is not a mount point, the working directory or one above it, or in a folder we cannot write."""
    real = Path(os.path.realpath(directory))
    cwd = Path.cwd()
    with os.scandir(real) as entries:
        ours = all(_written(e.name) and not e.is_dir() for e in entries)
    return (ours and real != cwd and real not in cwd.parents and not os.path.ismount(real)
            and os.access(real.parent, os.W_OK | os.X_OK))


def _swap(directory: Path, files: dict[str, bytes]) -> None:
    """Write `files` into a new folder beside `directory`, then rename it into `directory`'s place."""
    real = Path(os.path.realpath(directory))  # a symlink stays, pointing to the new folder
    real.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=real.parent, prefix=f".{real.name}.tmp-"))
    try:
        os.chmod(tmp, 0o777 & ~UMASK)
        write_files(tmp, files)
        old = None
        if real.exists():
            old = Path(tempfile.mkdtemp(dir=real.parent, prefix=f".{real.name}.old-"))
            os.rmdir(old)
            os.replace(real, old)
        os.replace(tmp, real)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Parts:
    """A model without its network: the config, the featurizer and the label lists (vocab.json's
    "tags" and "intents" for a tagger, "labels" for a classifier)."""

    config: Config
    featurizer: Featurizer
    labels: dict[str, list[str] | None]
    calibration: dict = field(default_factory=dict)  # {"temperature": T, "fallback": {...}} once fitted on dev data
    synonyms: dict[str, str] = field(default_factory=dict)  # slot text, lowercased -> its canonical value
    typicality: Typicality | None = None  # fitted at the end of training where there is a sentence-level output

    @property
    def temperature(self) -> float:
        return float(self.calibration.get("temperature", 1.0))

    @property
    def slot_temperature(self) -> float:
        """What a tagger's decoder scores are divided by for span probabilities (not for choosing tags)."""
        return float(self.calibration.get("slot_temperature", 1.0))

    @property
    def fallback(self) -> Fallback:
        """The fallback thresholds the model saved (chosen on dev data); older models: none."""
        return Fallback.from_json(self.calibration.get("fallback", {}))

    def vocab_json(self) -> dict:
        return {"featurizer": self.featurizer.to_json(), **self.labels, **({"synonyms": self.synonyms} if self.synonyms else {})}


def save_model(directory: str | Path, parts: Parts, weights: bytes, metrics: dict | None = None,
               extra: dict[str, bytes] | None = None) -> None:
    """Write the whole model directory (and `extra` files, by name): a new directory, or one holding nothing but
    files training writes, is swapped into place whole; into any other, the model's files are written beside
    the files of other names, which stay as they are. A failure leaves the previous files as they were."""
    directory = Path(directory)
    files = {"config.json": _json_bytes(config_to_dict(parts.config)), "vocab.json": _json_bytes(parts.vocab_json()),
             CALIBRATION: _json_bytes(parts.calibration), WEIGHTS: weights}
    if parts.typicality is not None:
        files[TYPICALITY] = parts.typicality.to_bytes()
    if metrics is not None:
        files["metrics.json"] = _json_bytes(metrics)
    files.update(extra or {})
    with writing(directory):
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
        if directory.exists() and not _swappable(directory):
            write_files(directory, files)
        else:
            _swap(directory, files)


def is_model(directory: str | Path) -> bool:
    """Whether `directory` holds a slotfill model: its config.json is one that training writes."""
    try:
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return (isinstance(config, dict) and config.get("task") in CHOICES["task"]
            and all(isinstance(config.get(section), dict) for section in ("data", "model", "train")))


def is_onnx_model(path: str | Path) -> bool:
    """Whether `path` is an ONNX model written by slotfill (its metadata has slotfill_format)."""
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - onnx and protobuf raise many types for a file that is not ONNX
        return False
    return any(prop.key == "slotfill_format" for prop in proto.metadata_props)


def _os_error(code: int, path: Path) -> SlotfillError:
    return SlotfillError(os.strerror(code), path)


def check_output(path: str | Path, force: bool = False, folder: bool = False,
                 ours: Callable[[Path], bool] | None = None) -> None:
    """Refuse, before any work, an output `path` (a `folder`, or a file) that cannot be written, or that would
    overwrite what slotfill did not write: an existing non-empty file or folder that `ours` does not recognise,
    unless `force`. A missing folder may lack its parents too (they are created); a missing file may not."""
    path = Path(path)
    try:
        _check_output(path, force, folder, ours)
    except OSError as err:  # a folder we may not list, say: the same one line, and raised on every torchrun rank
        raise SlotfillError(err.strerror or str(err), path) from None


def _check_output(path: Path, force: bool, folder: bool, ours: Callable[[Path], bool] | None) -> None:
    if path.is_dir():
        if not folder:
            raise _os_error(errno.EISDIR, path)
        names = sorted(os.listdir(path))
        if names and not force and not (ours and ours(path)):
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise SlotfillError(f"not empty (holds {shown}){' and not a slotfill model' if ours else ''}: pass --force "
                                "to write into it anyway (files of other names are left alone), or choose another directory", path)
        base = path
    elif path.exists():
        if folder:
            raise _os_error(errno.ENOTDIR, path)
        if path.stat().st_size and not force and not (ours and ours(path)):
            raise SlotfillError(f"already exists{' and was not written by slotfill' if ours else ''}: pass --force "
                                "to overwrite it, or choose another path", path)
        base = path.parent
    else:
        base = path.absolute().parent
        while folder and not base.exists() and base != base.parent:
            base = base.parent
        if not base.exists():
            raise _os_error(errno.ENOENT, path)
        if not base.is_dir():
            raise _os_error(errno.ENOTDIR, path)
    if not os.access(base, os.W_OK | os.X_OK):
        raise _os_error(errno.EACCES, path)


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
        featurizer, synonyms = Featurizer.from_json(vocab.pop("featurizer")), vocab.pop("synonyms", {})
        if not isinstance(synonyms, dict) or not all(isinstance(v, str) for v in synonyms.values()):
            raise SlotfillError("vocab.json: synonyms must map texts to values")
        calibration = _read_json(directory / CALIBRATION) if (directory / CALIBRATION).is_file() else {}
        for name in ("temperature", "slot_temperature"):
            if not isinstance(calibration.get(name, 1.0), (int, float)) or not calibration.get(name, 1.0) > 0:
                raise SlotfillError(f"{CALIBRATION}: {name} must be a positive number")
        if not isinstance(calibration.get("fallback", {}), dict):
            raise SlotfillError(f"{CALIBRATION}: fallback must be an object")
        typicality = Typicality.read(directory / TYPICALITY) if (directory / TYPICALITY).is_file() else None
        parts = Parts(config_from_dict(raw_config), featurizer, vocab, calibration, synonyms, typicality)
        Fallback.from_json(calibration.get("fallback", {}))  # a bad threshold: a corrupt model, not an error later
        return parts
    except (SlotfillError, KeyError, TypeError, AttributeError) as err:
        raise SlotfillError(f"corrupt model directory ({err})", directory) from None


def load_metrics(directory: str | Path) -> dict | None:
    path = Path(directory) / "metrics.json"
    return _read_json(path) if path.is_file() else None
