"""Which files a data path names (a file, a folder of data files, or a list of both) and each file's format:
named, or told by its extension and content (`auto`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import SlotfillError
from .annotators import labelstudio_shape, read_doccano, read_jsonl, read_labelstudio
from .base import Annotated, Extras, json_line, log, read_text
from .snips import read_snips, snips_shape

ANNOTATED = ("jsonl", "rasa", "snips", "doccano", "labelstudio")  # read as texts with character-offset slots
TOOLS = ANNOTATED[1:]  # formats of other tools, which also give a sentence's intent (or class)
SUFFIXES = {"rasa": (".yml", ".yaml", ".md"), "snips": (".json",), "labelstudio": (".json",),
            "doccano": (".jsonl", ".json"), "jsonl": (".jsonl", ".json")}
_NLU = re.compile(r"^nlu\s*:", re.MULTILINE)
_SECTIONS = re.compile(r"^\s*##\s*(intent|synonym|regex|lookup)\s*:", re.MULTILINE)
TRIED = ("Label Studio ([{\"data\", \"annotations\"}]), Snips ({\"intents\"} or {INTENT: [{\"data\"}]}), "
         "doccano or JSON Lines (an object with \"text\" per line)")


def jsonl_format(obj: dict) -> str:
    """doccano when a JSON Lines object has doccano's keys ("entities", "cats", a list "label"), else jsonl."""
    return "doccano" if "entities" in obj or "cats" in obj or isinstance(obj.get("label"), list) else "jsonl"


def _first_line_format(path: Path, text: str) -> str:
    for i, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return jsonl_format(json_line(line, path, i))
    raise SlotfillError("file is empty", path)


def json_format(path: Path) -> str | None:
    """The format of a .json or .jsonl file from its content; None when it is none that slotfill reads."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        first = text.lstrip().split("\n", 1)[0]
        if err.msg != "Extra data" and not first.rstrip().endswith("}"):
            raise SlotfillError(f"not valid JSON ({err.msg}, column {err.colno})", path, err.lineno) from None
        return _first_line_format(path, text)  # JSON Lines
    if labelstudio_shape(data):
        return "labelstudio"
    if snips_shape(data):
        return "snips"
    return jsonl_format(data) if isinstance(data, dict) and "text" in data else None


def file_format(path: Path, legacy: Callable[[Path], str]) -> str:
    """The format `auto` stands for: Rasa by extension, JSON by content, else `legacy(path)`."""
    suffix = path.suffix.lower()
    if suffix in SUFFIXES["rasa"]:
        return "rasa"
    if suffix in (".json", ".jsonl"):
        found = json_format(path)
        if found is None:
            raise SlotfillError(f"cannot tell the format of this JSON (tried: {TRIED}); name it with data.format or --format", path)
        return found
    return legacy(path)


def _in_folder(path: Path, format: str) -> str | None:
    """The format of a file in a data folder; None for a file to pass over (no NLU data, unknown kind)."""
    suffix = path.suffix.lower()
    if format != "auto":
        return format if suffix in SUFFIXES.get(format, ()) else None
    if suffix in (".yml", ".yaml", ".md"):
        return "rasa" if (_NLU if suffix != ".md" else _SECTIONS).search(read_text(path)) else None
    return json_format(path) if suffix in (".json", ".jsonl") else None


def _folder(folder: Path, format: str) -> list[tuple[Path, str]]:
    found, passed = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        kind = _in_folder(path, format)
        (found.append((path, kind)) if kind else passed.append(str(relative)))
    if not found:
        raise SlotfillError("no data file of a known format in this folder (tried: Rasa .yml, .yaml and .md files "
                            "with NLU data, Snips and Label Studio .json, JSON Lines and doccano .jsonl)", folder)
    if passed:
        shown = ", ".join(passed[:5]) + (", ..." if len(passed) > 5 else "")
        log.warning(f"notice: {folder}: {len(passed)} file(s) not read (no NLU data, or no known format): {shown}")
    return found


def data_files(paths: str | Path | list, format: str, legacy: Callable[[Path], str]) -> list[tuple[Path, str]]:
    """(file, format) for each file `paths` names: a file, a folder (every data file in it; an ATIS folder is
    one data set), or a list of those."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise SlotfillError("no data: the list of data paths is empty")
    found = []
    for item in items:
        path = Path(item)
        if path.is_dir() and format not in ("atis", "conll") and not (path / "seq.in").exists():
            found += _folder(path, format)
        elif format != "auto":
            found.append((path, format))
        elif path.is_dir() or not path.exists():
            found.append((path, legacy(path)))  # its reader says what is missing
        else:
            found.append((path, file_format(path, legacy)))
    return found


def data_name(paths: str | Path | list) -> str:
    """How notices name a data set: its path, or the first of a list."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return str(items[0]) + (f" (and {len(items) - 1} more)" if len(items) > 1 else "")


def read_annotated(path: Path, format: str, extras: Extras, text_column: str = "text") -> Iterable[Annotated]:
    """The annotated texts of one file in one of the ANNOTATED formats (JSON Lines ones as they are reached)."""
    if format == "rasa":
        from .rasa import read_rasa_markdown, read_rasa_yaml  # PyYAML only where Rasa data is read (not in an ONNX-only install)

        return (read_rasa_markdown if path.suffix.lower() == ".md" else read_rasa_yaml)(path, extras)
    if format == "labelstudio":
        return read_labelstudio(path, extras, text_column)
    return {"snips": read_snips, "doccano": read_doccano, "jsonl": read_jsonl}[format](path, extras)
