"""What every reader shares: the sentence types, text decoding (BOM, CRLF, CESU-8 emoji), JSON and YAML
loading with one-line errors, and the extras some formats hold beside their sentences."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SlotfillError

log = logging.getLogger("slotfill")
Where = int | str | None  # a line number (text formats), an item's name (JSON) or nothing


@dataclass
class TaggedSentence:
    """Tokens with BIO tags, optionally an intent and the raw text the tokens came from."""

    tokens: list[str]
    tags: list[str]
    intent: str | None = None
    text: str | None = None
    offsets: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class LabelledText:
    """A sentence's tokens and text with its one label (a class or an intent)."""

    tokens: list[str]
    label: str
    text: str


@dataclass
class Annotated:
    """A raw text with character-offset slots (`{"start", "end", "label"}`) and maybe an intent, as a
    reader found it; `chunked`: its slots came from chunks of text (Snips, Rasa markup), so a slot
    boundary may fall anywhere inside what the tokenizer would make one token."""

    text: str
    slots: list[dict]
    intent: str | None
    path: Path
    where: Where
    chunked: bool = False


class Corpus(list):
    """The sentences read (a list), with the entity synonyms (text, lowercased -> canonical value) and the
    regex and lookup entries (name -> patterns or values) the data held; the model uses neither."""

    def __init__(self, items=(), synonyms: dict[str, str] | None = None,
                 regexes: dict[str, list[str]] | None = None, lookups: dict[str, list[str]] | None = None):
        super().__init__(items)
        self.synonyms = synonyms or {}
        self.regexes = regexes or {}
        self.lookups = lookups or {}


def fail(message: str, path: Path, where: Where = None) -> SlotfillError:
    """The one-line error for bad input at a line (int) or a JSON item (its name)."""
    if isinstance(where, str):
        return SlotfillError(f"{where}: {message}", path)
    return SlotfillError(message, path, where)


class Extras:
    """Synonyms, regex and lookup entries gathered while reading one data set (several files)."""

    def __init__(self) -> None:
        self.synonyms: dict[str, str] = {}
        self.regexes: dict[str, list[str]] = {}
        self.lookups: dict[str, list[str]] = {}
        self.unused = {"regex": 0, "lookup": 0}  # entries read but not used by the model

    def synonym(self, text: str, value: str, path: Path, where: Where) -> None:
        """`text` (any case) stands for `value`; a text mapped to two values is an error."""
        key = text.strip().lower()
        if not key or key == value:
            return
        known = self.synonyms.setdefault(key, value)
        if known != value:
            raise fail(f"synonym {text.strip()!r} is mapped to {known!r} and to {value!r}", path, where)

    def entries(self, kind: str, name: str, values: list[str]) -> None:
        """A regex or lookup entry: kept on the corpus, counted for the notice that the model does not use it."""
        (self.regexes if kind == "regex" else self.lookups).setdefault(name, []).extend(values)
        self.unused[kind] += 1

    def corpus(self, items: list, name: str) -> Corpus:
        """The sentences with these extras; one notice for the regex and lookup entries the model does not use."""
        if any(self.unused.values()):
            counts = " and ".join(f"{n} {kind}" for kind, n in self.unused.items() if n)
            log.warning(f"notice: {name}: {counts} entries are not used by the model")
        return Corpus(items, self.synonyms, self.regexes, self.lookups)


# ---- text ---------------------------------------------------------------------------------------

_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _pair(match: re.Match) -> str:
    high, low = map(ord, match.group())
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def decode(data: bytes, path: Path) -> str:
    """UTF-8 text, also where emoji were written as UTF-8-encoded surrogate pairs (CESU-8, as Java and
    some JSON writers do); a byte-order mark is dropped. A truly invalid byte is an error with its line
    and byte offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = _SURROGATE_PAIR.sub(_pair, data.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError as err:
            raise _bad_byte(data, err.start, path) from None
        lone = _SURROGATE.search(text)
        if lone:
            raise _bad_byte(data, len(text[:lone.start()].encode("utf-8", "surrogatepass")), path) from None
    return text[1:] if text.startswith("\ufeff") else text


def _bad_byte(data: bytes, offset: int, path: Path) -> SlotfillError:
    line = data[:offset].count(b"\n") + 1
    return SlotfillError(f"not UTF-8 text (byte 0x{data[offset]:02x} at byte offset {offset})", path, line)


def read_text(path: str | Path) -> str:
    """A text file's content with `\\n` line ends; errors for a missing, empty or non-UTF-8 file."""
    path = Path(path)
    if not path.is_file():
        raise SlotfillError("no such file" if not path.exists() else "not a file", path)
    text = decode(path.read_bytes(), path)
    if not text.strip():
        raise SlotfillError("file is empty", path)
    return text.replace("\r\n", "\n")


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 text file's lines without line ends; errors for a missing, empty or non-UTF-8 file."""
    lines = read_text(path).split("\n")  # not splitlines(): JSON text may hold U+2028
    return lines[:-1] if lines[-1] == "" else lines


def load_json(path: Path, text: str | None = None):
    """A JSON file's value; a file that does not parse is an error naming the line."""
    try:
        return json.loads(read_text(path) if text is None else text)
    except json.JSONDecodeError as err:
        raise SlotfillError(f"not valid JSON ({err.msg}, column {err.colno})", path, err.lineno) from None


def json_line(line: str, path: Path, i: int) -> dict:
    """One JSON Lines object with a non-empty "text"."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise SlotfillError(f"invalid JSON ({err.msg})", path, i) from None
    if not isinstance(obj, dict):
        raise SlotfillError("expected a JSON object", path, i)
    if not isinstance(obj.get("text"), str) or not obj["text"].strip():
        raise SlotfillError("missing or empty \"text\"", path, i)
    return obj


def json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON Lines file, parsed as it is reached (so that
    the first bad line is the one reported, whatever is wrong with it)."""
    return ((i, json_line(line, path, i)) for i, line in enumerate(read_lines(path), start=1) if line.strip())
