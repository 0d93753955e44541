"""Rasa NLU data: YAML (Rasa 2.x and 3.x) and Markdown (Rasa 1.x) read, YAML written. Entity markup:
`[Boston](city)`, `[NYC](city:New York)`, `[card]{"entity": "account", "value": "credit", "role": ..., "group": ...}`;
a role and a group become part of the slot label (`city:departure`, `size#1`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ..errors import SlotfillError
from .base import Annotated, Extras, Where, fail, log, read_lines, read_text

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # composes nodes only: no Python objects are built
_ENTITY = re.compile(r"\[(?P<text>[^\[\]\n]+)\](?:\((?P<short>[^()\n]*)\)|\{(?P<dict>[^{}\n]*)\})")
MARKUP_KEYS = ("entity", "value", "role", "group")
KINDS = ("intent", "synonym", "regex", "lookup")
_LEADING_TABS = re.compile(r"^[ \t]*\t[ \t]*", re.MULTILINE)


def _label(match: re.Match, path: Path, where: Where, extras: Extras) -> str:
    """The slot label of one piece of entity markup; its value, if any, becomes a synonym."""
    if match["short"] is not None:
        entity, _, value = match["short"].partition(":")
        fields = {"entity": entity.strip(), "value": value.strip() or None}
    else:
        try:
            fields = json.loads("{" + match["dict"] + "}")
        except json.JSONDecodeError as err:
            raise fail(f"entity markup {match.group()!r} is not a JSON object ({err.msg})", path, where) from None
        unknown = sorted(set(fields) - set(MARKUP_KEYS))
        if unknown:
            raise fail(f"unknown key {unknown[0]!r} in entity markup {match.group()!r} (known: {', '.join(MARKUP_KEYS)})", path, where)
    if not isinstance(fields.get("entity"), str) or not fields["entity"].strip():
        raise fail(f"entity markup {match.group()!r} names no entity", path, where)
    if fields.get("value") is not None:
        extras.synonym(match["text"], str(fields["value"]), path, where)
    role, group = fields.get("role"), fields.get("group")
    return fields["entity"].strip() + (f":{role}" if role is not None else "") + (f"#{group}" if group is not None else "")


def parse_example(line: str, path: Path, where: Where, extras: Extras) -> tuple[str, list[dict]]:
    """An example with entity markup as its plain text and character-offset slots."""
    text, slots, position = "", [], 0
    for match in [*_ENTITY.finditer(line), None]:
        plain = line[position:match.start() if match else len(line)]
        if "[" in plain or "]" in plain:
            raise fail(f"unbalanced or unknown entity markup in {line!r} (write [text](entity) or "
                       "[text]{\"entity\": ...})", path, where)
        text += plain
        if match is None:
            break
        label = _label(match, path, where, extras)
        slots.append({"start": len(text), "end": len(text) + len(match["text"]), "label": label})
        text += match["text"]
        position = match.end()
    if not text.strip():
        raise fail("empty example", path, where)
    return text, slots


def _examples(block: str, first_line: int, path: Path) -> list[tuple[int, str]]:
    """(line, text) of each `- example` line of a block, the block's first line being `first_line`."""
    found = []
    for i, line in enumerate(block.split("\n")):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("-"):
            raise fail(f"expected '- example', found {stripped!r}", path, first_line + i)
        found.append((first_line + i, stripped[1:].strip()))
    return found


# ---- YAML ---------------------------------------------------------------------------------------


def _compose(path: Path) -> yaml.Node | None:
    """The file's YAML node tree (lines kept); tabs in indentation, which YAML forbids, are read as two spaces."""
    text = read_text(path)
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as err:
        if _LEADING_TABS.search(text):
            try:
                node = yaml.compose(_LEADING_TABS.sub(lambda m: m.group().replace("\t", "  "), text), Loader=_LOADER)
            except yaml.YAMLError:
                pass
            else:
                log.warning(f"notice: {path}: tabs in indentation read as two spaces each")
                return node
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).split("\n")[0]
        raise SlotfillError(f"not valid YAML ({problem})", path, mark.line + 1 if mark else None) from None


def _line(node: yaml.Node) -> int:
    """The file line a scalar's text starts on (the line after `|` or `>` for a block)."""
    return node.start_mark.line + (2 if node.style in ("|", ">") else 1)


def _mapping(node: yaml.Node, path: Path, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise SlotfillError(f"{what} must be a mapping", path, node.start_mark.line + 1)
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _scalar(node: yaml.Node, path: Path, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        raise SlotfillError(f"{what} must be a non-empty string", path, node.start_mark.line + 1)
    return node.value.strip()


def _item_examples(node: yaml.Node, path: Path) -> list[tuple[int, str]]:
    """`examples:` as a block of `- ` lines, or as a list of `text:` items (with `metadata:`)."""
    if isinstance(node, yaml.ScalarNode):
        return _examples(node.value, _line(node), path)
    if not isinstance(node, yaml.SequenceNode):
        raise SlotfillError("examples must be a block of '- ' lines or a list of text: items", path, node.start_mark.line + 1)
    found = []
    for entry in node.value:
        text = _mapping(entry, path, "an examples item").get("text")
        if text is None:
            raise SlotfillError("an examples item needs text:", path, entry.start_mark.line + 1)
        found.append((_line(text), _scalar(text, path, "text")))
    return found


def read_rasa_yaml(path: Path, extras: Extras) -> list[Annotated]:
    """The intents' examples of a Rasa 2.x/3.x YAML file; synonyms, regex and lookup entries go to `extras`."""
    root = _compose(path)
    top = _mapping(root, path, "a Rasa file") if root is not None else {}
    if "nlu" not in top:
        raise SlotfillError("no nlu: section (Rasa NLU data is a list under nlu:)", path, 1)
    if not isinstance(top["nlu"], yaml.SequenceNode):
        raise SlotfillError("nlu: must be a list of intent:, synonym:, regex: or lookup: items", path, top["nlu"].start_mark.line + 1)
    found = []
    for node in top["nlu"].value:
        item = _mapping(node, path, "an nlu: item")
        kinds = [k for k in KINDS if k in item]
        line = node.start_mark.line + 1
        if len(kinds) != 1:
            raise SlotfillError(f"an nlu: item needs one of {', '.join(KINDS)} (found: {', '.join(item) or 'nothing'})", path, line)
        name = _scalar(item[kinds[0]], path, kinds[0])
        examples = _item_examples(item["examples"], path) if "examples" in item else []
        if not examples:
            raise SlotfillError(f"{kinds[0]} {name!r} has no examples", path, line)
        found += _entries(kinds[0], name, examples, path, extras)
    return found


def _entries(kind: str, name: str, examples: list[tuple[int, str]], path: Path, extras: Extras) -> list[Annotated]:
    """An intent's examples as annotated texts; a synonym's, regex's or lookup's entries into `extras`."""
    if kind == "synonym":
        for line, text in examples:
            extras.synonym(text, name, path, line)
    elif kind != "intent":
        extras.entries(kind, name, [text for _, text in examples])
    else:
        return [Annotated(*parse_example(text, path, line, extras), name, path, line, chunked=True) for line, text in examples]
    return []


# ---- Markdown (Rasa 1.x) ---------------------------------------------------------------------------

_SECTION = re.compile(r"##\s*(\w+)\s*:\s*(.+?)\s*")


def read_rasa_markdown(path: Path, extras: Extras) -> list[Annotated]:
    """Rasa 1.x Markdown: `## intent:NAME` (also synonym, regex, lookup) sections of `- ` lines."""
    found: list[Annotated] = []
    section: tuple[str, str, int] | None = None
    examples: list[tuple[int, str]] = []
    for i, line in enumerate([*read_lines(path), None], start=1):
        stripped = line.strip() if line is not None else ""
        header = _SECTION.fullmatch(stripped) if stripped.startswith("##") else None
        if header or line is None:
            if section and not examples:
                raise SlotfillError(f"{section[0]} {section[1]!r} has no examples", path, section[2])
            if section:
                found += _entries(section[0], section[1], examples, path, extras)
            if line is None:
                break
            if header[1] not in KINDS:
                raise SlotfillError(f"unknown section {header[1]!r} (known: {', '.join(KINDS)})", path, i)
            section, examples = (header[1], header[2], i), []
        elif stripped.startswith("-"):
            if section is None:
                raise SlotfillError("an example before any '## intent:NAME' line", path, i)
            examples.append((i, stripped[1:].strip()))
        elif stripped and not stripped.startswith(("<!--", "#")):
            if section is None or section[0] != "lookup":
                raise SlotfillError(f"expected '- example' or a '## intent:NAME' line, found {stripped!r}", path, i)
            examples.append((i, stripped))  # a lookup table's file name
    return found
