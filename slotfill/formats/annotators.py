"""Exports of annotation tools, and slotfill's own JSON Lines: doccano (JSON Lines, sequence labelling with or
without a category) and Label Studio (a JSON list of tasks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .base import Annotated, Extras, fail, json_lines, load_json, log


def _intent(value, path: Path, where) -> str | None:
    """A category list of at most one name (doccano `cats`, Label Studio `choices`) as an intent."""
    if value is None or value == []:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise fail(f"categories must be a list of strings, not {value!r}", path, where)
    if len(names) > 1:
        raise fail(f"{len(names)} categories ({', '.join(names)}); a sentence takes one intent", path, where)
    return names[0]


def read_jsonl(path: Path, extras: Extras | None = None) -> Iterator[Annotated]:
    """slotfill's JSON Lines: `{"text", "slots": [{"start", "end", "label"}], "intent"?}`, line by line."""
    for i, obj in json_lines(path):
        if obj.get("intent") is not None and not isinstance(obj["intent"], str):
            raise fail("\"intent\" must be a string", path, i)
        yield Annotated(obj["text"], obj.get("slots", []), obj.get("intent"), path, i)


def read_doccano(path: Path, extras: Extras | None = None) -> Iterator[Annotated]:
    """doccano JSON Lines: `{"text", "label": [[start, end, "type"], ...]}` or `{"text", "entities":
    [{"start_offset", "end_offset", "label"}], "cats": [...]}`; a `label` list of names is the category; line by line."""
    for i, obj in json_lines(path):
        label, cats = obj.get("label", []), obj.get("cats")
        if isinstance(label, list) and label and all(isinstance(x, str) for x in label):
            label, cats = [], label  # a text-classification export
        if "entities" in obj:
            entities = obj["entities"]
            if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
                raise fail("\"entities\" must be a list of {\"start_offset\", \"end_offset\", \"label\"}", path, i)
            slots = [{"start": e.get("start_offset"), "end": e.get("end_offset"), "label": e.get("label")} for e in entities]
        elif isinstance(label, list) and all(isinstance(x, list) and len(x) == 3 for x in label):
            slots = [{"start": s, "end": e, "label": t} for s, e, t in label]
        else:
            raise fail("\"label\" must be a list of [start, end, \"type\"]", path, i)
        yield Annotated(obj["text"], slots, _intent(cats, path, i), path, i)


def labelstudio_shape(data) -> bool:
    """Is a JSON value a Label Studio export (a list of tasks with "data")?"""
    return isinstance(data, list) and bool(data) and all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in data)


def _utf16_index(text: str, offset: int) -> int:
    """The string index of a UTF-16 code-unit offset (what the browser counts, emoji as two)."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _chosen(annotations: list, path: Path, where: str) -> tuple[dict | None, int]:
    """The annotation a task is read from: the newest ground-truth one, else the newest (by `updated_at`,
    else `created_at`; listed order breaks ties); the number of cancelled ones passed over."""
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise fail("\"annotations\" must be a list of objects", path, where)
    usable = [a for a in annotations if not a.get("was_cancelled")]
    if not usable:
        return None, len(annotations)
    newest = max(range(len(usable)), key=lambda k: (bool(usable[k].get("ground_truth")),
                                                     str(usable[k].get("updated_at") or usable[k].get("created_at") or ""), -k))
    return usable[newest], len(annotations) - len(usable)


def _task_text(task: dict, text_column: str, path: Path, where: str) -> str:
    data = task["data"]
    strings = [k for k, v in data.items() if isinstance(v, str)]
    key = text_column if text_column in data or len(strings) != 1 else strings[0]
    if not isinstance(data.get(key), str) or not data[key].strip():
        raise fail(f"no text in data.{text_column} (data has: {', '.join(data) or 'nothing'}; data.text_column names the field)", path, where)
    return data[key]


def _region(value: dict, text: str, path: Path, where: str) -> list[dict]:
    """A labels region's slots (one per label); offsets counted in UTF-16 units are converted."""
    start, end, labels = value.get("start"), value.get("end"), value.get("labels")
    if not (isinstance(start, int) and isinstance(end, int) and isinstance(labels, list) and labels):
        raise fail(f"a labels region needs integer start, end and labels, not {value}", path, where)
    shown = value.get("text")
    if isinstance(shown, str) and text[start:end] != shown:
        start, end = _utf16_index(text, start), _utf16_index(text, end)
        if text[start:end] != shown:
            raise fail(f"region {value['start']}-{value['end']} holds {text[value['start']:value['end']]!r}, "
                       f"not its text {shown!r}", path, where)
    return [{"start": start, "end": end, "label": label} for label in labels]


def read_labelstudio(path: Path, extras: Extras | None = None, text_column: str = "text") -> list[Annotated]:
    """A Label Studio JSON export: each task's text (`data[text_column]`), its `labels` regions as slots and
    its `choices` as the intent, from the annotation `_chosen` picks; cancelled annotations are told in a notice."""
    data = load_json(path)
    if not labelstudio_shape(data):
        raise fail("not a Label Studio export: expected a list of tasks {\"data\": {...}, \"annotations\": [...]}", path)
    found, cancelled, unannotated, other = [], 0, 0, {}
    for k, task in enumerate(data):
        where = f"task [{k}]" + (f" (id {task['id']})" if "id" in task else "")
        annotation, passed = _chosen(task.get("annotations", []), path, where)
        cancelled += passed
        if annotation is None:
            unannotated += 1
            continue
        text, slots, intent = _task_text(task, text_column, path, where), [], None
        for result in annotation.get("result", []):
            kind, value = result.get("type") if isinstance(result, dict) else None, (result or {}).get("value")
            if kind == "labels" and isinstance(value, dict):
                slots += _region(value, text, path, where)
            elif kind == "choices" and isinstance(value, dict):
                intent = _intent(value.get("choices"), path, where)
            else:
                other[str(kind)] = other.get(str(kind), 0) + 1
        found.append(Annotated(text, slots, intent, path, where))
    if cancelled or unannotated or other:
        ignored = ", ".join(f"{n} {kind} result(s)" for kind, n in other.items())
        log.warning(f"notice: {path}: {cancelled} cancelled annotation(s) passed over, {unannotated} task(s) without "
                    f"an annotation skipped" + (f", {ignored} ignored" if ignored else ""))
    return found
