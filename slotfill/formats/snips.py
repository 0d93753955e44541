"""Snips data: the snips-nlu dataset JSON (`{"language", "intents": {NAME: {"utterances": [{"data": [chunks]}]}},
"entities"}`, the slot is a chunk's `slot_name`) and the Snips benchmark files (`{INTENT: [{"data": [chunks]}]}`,
the slot is a chunk's `entity`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SlotfillError
from .base import Annotated, Extras, fail, load_json


def snips_shape(data) -> str | None:
    """"dataset", "benchmark" or None: which Snips file a JSON value is."""
    if isinstance(data, dict) and isinstance(data.get("intents"), dict):
        return "dataset"
    if isinstance(data, dict) and data and all(
            isinstance(v, list) and v and all(isinstance(u, dict) and "data" in u for u in v) for v in data.values()):
        return "benchmark"
    return None


def _utterance(utterance, intent: str, slot_key: str, path: Path, where: str) -> Annotated:
    """One utterance's chunks joined into a text with a slot for each entity chunk."""
    chunks = utterance.get("data") if isinstance(utterance, dict) else None
    if not isinstance(chunks, list) or not chunks:
        raise fail("an utterance must be {\"data\": [chunks]}", path, where)
    text, slots = "", []
    for j, chunk in enumerate(chunks):
        if not isinstance(chunk, dict) or not isinstance(chunk.get("text"), str):
            raise fail(f"data[{j}] must be a chunk {{\"text\": ...}}", path, where)
        label = chunk.get(slot_key) or chunk.get("entity")
        if label is not None:
            if not isinstance(label, str):
                raise fail(f"data[{j}]: {slot_key!r} must be a string", path, where)
            slots.append({"start": len(text), "end": len(text) + len(chunk["text"]), "label": label})
        text += chunk["text"]
    if not text.strip():
        raise fail("empty utterance", path, where)
    return Annotated(text, slots, intent, path, where, chunked=True)


def read_snips(path: Path, extras: Extras) -> list[Annotated]:
    """A Snips dataset or benchmark file's utterances; the dataset's entity synonyms go to `extras`."""
    data = load_json(path)
    shape = snips_shape(data)
    if shape is None:
        raise SlotfillError("not a Snips file: expected a dataset {\"language\", \"intents\", \"entities\"} "
                            "or a benchmark file {INTENT: [{\"data\": [...]}]}", path)
    found = []
    for intent, body in (data["intents"] if shape == "dataset" else data).items():
        prefix = f"intents.{intent}.utterances" if shape == "dataset" else intent
        utterances = body.get("utterances") if shape == "dataset" and isinstance(body, dict) else body
        if not isinstance(utterances, list) or not utterances:
            raise fail(f"intent {intent!r} has no examples", path, prefix)
        slot_key = "slot_name" if shape == "dataset" else "entity"
        found += [_utterance(u, intent, slot_key, path, f"{prefix}[{k}]") for k, u in enumerate(utterances)]
    if shape == "dataset":
        _synonyms(data.get("entities", {}), path, extras)
    return found


def _synonyms(entities, path: Path, extras: Extras) -> None:
    if not isinstance(entities, dict):
        raise fail("\"entities\" must be an object", path, "entities")
    for name, entity in entities.items():
        if not isinstance(entity, dict) or not entity.get("use_synonyms", True):
            continue
        for k, entry in enumerate(entity.get("data", [])):
            where = f"entities.{name}.data[{k}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                raise fail("an entity value must be {\"value\", \"synonyms\"}", path, where)
            for synonym in entry.get("synonyms", []):
                extras.synonym(str(synonym), entry["value"], path, where)
