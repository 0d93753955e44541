"""Writers of Rasa NLU YAML and Snips dataset JSON, so that data moves both ways: reading what was written
gives the same sentences (and synonyms, regex and lookup entries)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .. import storage
from ..errors import SlotfillError
from ..text import CJK
from .annotated import char_slots
from .base import TaggedSentence

_PLAIN = re.compile(r"[A-Za-z_][\w/.-]*")
_YAML_WORDS = {"yes", "no", "true", "false", "null", "on", "off", "y", "n"}
_SHORT_LABEL = re.compile(r"[^()\[\]{}:#\"\s]+")
_HAS_CJK = re.compile(f"[{CJK}]")


def _by_intent(sentences: list[TaggedSentence], format: str) -> dict[str, list[TaggedSentence]]:
    groups: dict[str, list[TaggedSentence]] = {}
    for i, sentence in enumerate(sentences, start=1):
        if not sentence.intent:
            raise SlotfillError(f"sentence {i} has no intent; {format} data needs one for every sentence")
        groups.setdefault(sentence.intent, []).append(sentence)
    return groups


def _quoted(name: str) -> str:
    """A YAML scalar for a name: plain where that reads back as the same string, else double-quoted."""
    return name if _PLAIN.fullmatch(name) and name.lower() not in _YAML_WORDS else json.dumps(name, ensure_ascii=False)


def _markup(entity_text: str, label: str) -> str:
    """Rasa entity markup for a slot; a label `entity:role#group` is written as JSON markup."""
    if _SHORT_LABEL.fullmatch(label):
        return f"[{entity_text}]({label})"
    rest, _, group = label.partition("#")
    entity, _, role = rest.partition(":")
    fields = {"entity": entity, **({"role": role} if role else {}), **({"group": group} if group else {})}
    return f"[{entity_text}]" + json.dumps(fields, ensure_ascii=False)


def rasa_example(sentence: TaggedSentence, number: int) -> str:
    """A sentence as one Rasa example line with entity markup."""
    text, slots = char_slots(sentence)
    if re.search(r"[\[\]\n\r]", text):
        raise SlotfillError(f"sentence {number} ({text!r}) holds a bracket or a line break, which Rasa markup cannot hold")
    line, position = "", 0
    for start, end, label in slots:
        line += text[position:start] + _markup(text[start:end], label)
        position = end
    return (line + text[position:]).strip()


def _block(kind: str, name: str, examples: list[str]) -> list[str]:
    return [f"- {kind}: {_quoted(name)}", "  examples: |", *(f"    - {e}" for e in examples)]


def write_rasa(path: str | Path, sentences: list[TaggedSentence]) -> None:
    """Rasa 3.x NLU YAML: an `intent:` item per intent, then the synonyms, regex and lookup entries the
    sentences were read with (a `Corpus` has them)."""
    lines = ['version: "3.1"', "nlu:"]
    number = {id(s): i for i, s in enumerate(sentences, start=1)}
    for intent, group in _by_intent(sentences, "Rasa").items():
        lines += _block("intent", intent, [rasa_example(s, number[id(s)]) for s in group])
    values: dict[str, list[str]] = {}
    for text, value in getattr(sentences, "synonyms", {}).items():
        values.setdefault(value, []).append(text)
    for value, texts in values.items():
        lines += _block("synonym", value, texts)
    for kind, attribute in (("regex", "regexes"), ("lookup", "lookups")):
        for name, entries in getattr(sentences, attribute, {}).items():
            lines += _block(kind, name, entries)
    storage.write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))


def snips_utterance(sentence: TaggedSentence) -> dict:
    """A sentence as Snips chunks: plain text, and a chunk with `entity` and `slot_name` per slot."""
    text, slots = char_slots(sentence)
    chunks, position = [], 0
    for start, end, label in slots:
        if start > position:
            chunks.append({"text": text[position:start]})
        chunks.append({"text": text[start:end], "entity": label, "slot_name": label})
        position = end
    if position < len(text):
        chunks.append({"text": text[position:]})
    return {"data": chunks}


def write_snips(path: str | Path, sentences: list[TaggedSentence]) -> None:
    """A snips-nlu dataset: every intent's utterances, an entity per slot label (each synonym under the
    entity whose slots hold its text or value, else the first)."""
    intents = {intent: {"utterances": [snips_utterance(s) for s in group]}
               for intent, group in _by_intent(sentences, "Snips").items()}
    texts: dict[str, str] = {}
    for sentence in sentences:
        text, slots = char_slots(sentence)
        for start, end, label in slots:
            texts.setdefault(text[start:end].lower(), label)
    entities = {label: {"data": [], "use_synonyms": True, "automatically_extensible": True, "matching_strictness": 1.0}
                for label in dict.fromkeys(texts.values())}
    for synonym, value in getattr(sentences, "synonyms", {}).items():
        label = texts.get(synonym) or texts.get(value.lower()) or next(iter(entities), None)
        if label is None:
            raise SlotfillError(f"synonym {synonym!r} cannot be written: the data has no slot, so Snips has no entity to hold it")
        data = entities[label]["data"]
        if not any(e["value"] == value for e in data):
            data.append({"value": value, "synonyms": []})
        next(e for e in data if e["value"] == value)["synonyms"].append(synonym)
    language = "zh" if any(_HAS_CJK.search(s.text or "".join(s.tokens)) for s in sentences) else "en"
    dataset = {"language": language, "intents": intents, "entities": entities}
    storage.write_atomic(path, (json.dumps(dataset, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
