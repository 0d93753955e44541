"""Readers for tagged and labelled corpora, and BIO writers; bad input fails naming file and line."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .errors import SlotfillError
from .tags import Span, bio_from_spans, split_tag, to_bio
from .text import tokenize

TAGGED_FORMATS = ("auto", "atis", "conll", "jsonl")
LABELLED_FORMATS = ("auto", "sst", "csv", "tsv", "jsonl")


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
    tokens: list[str]
    label: str
    text: str


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 text file's lines without line ends; errors for a missing, empty or non-UTF-8 file."""
    path = Path(path)
    if not path.is_file():
        raise SlotfillError("no such file" if not path.exists() else "not a file", path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SlotfillError(f"not UTF-8 text (byte 0x{data[err.start]:02x})", path, line) from None
    if not text.strip():
        raise SlotfillError("file is empty", path)
    lines = text.replace("\r\n", "\n").split("\n")  # not splitlines(): JSON text may hold U+2028
    return lines[:-1] if lines[-1] == "" else lines


def _bio(tags: list[str], path: Path, line: int) -> list[str]:
    try:
        return to_bio(tags)  # raises for a tag of neither scheme
    except ValueError as err:
        raise SlotfillError(str(err), path, line) from None


# ---- tagged corpora -------------------------------------------------------------------------


def read_tagged(path: str | Path, format: str = "auto") -> list[TaggedSentence]:
    """Read an ATIS folder, a CoNLL column file or JSON Lines with character-offset slots."""
    path = Path(path)
    if format == "auto":
        format = "atis" if path.is_dir() else "jsonl" if path.suffix in (".jsonl", ".json") else "conll"
    readers = {"atis": read_atis, "conll": read_conll, "jsonl": read_tagged_jsonl}
    if format not in readers:
        raise SlotfillError(f"unknown tagged-data format {format!r} (known: {', '.join(TAGGED_FORMATS)})", path)
    return readers[format](path)


def read_atis(folder: str | Path) -> list[TaggedSentence]:
    """An ATIS-style folder: `seq.in` (tokens), `seq.out` (tags) and optionally `label` (intents)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SlotfillError("no such folder (an ATIS folder holds seq.in, seq.out and label)", folder)
    words, tags = read_lines(folder / "seq.in"), read_lines(folder / "seq.out")
    intents = read_lines(folder / "label") if (folder / "label").exists() else None
    for name, lines in (("seq.out", tags), ("label", intents)):
        if lines is not None and len(lines) != len(words):
            raise SlotfillError(f"{len(lines)} lines but seq.in has {len(words)}", folder / name)
    sentences = []
    for i, (w, t) in enumerate(zip(words, tags), start=1):
        tokens, line_tags = w.split(), t.split()
        if not tokens:
            raise SlotfillError("empty sentence", folder / "seq.in", i)
        if len(tokens) != len(line_tags):
            raise SlotfillError(f"{len(line_tags)} tags for {len(tokens)} tokens in seq.in", folder / "seq.out", i)
        intent = intents[i - 1].strip() if intents else None
        if intents is not None and not intent:
            raise SlotfillError("empty intent", folder / "label", i)
        sentences.append(TaggedSentence(tokens, _bio(line_tags, folder / "seq.out", i), intent))
    return sentences


def read_conll(path: str | Path) -> list[TaggedSentence]:
    """Column files: `token<TAB or space>tag` per line (tag last), blank line between sentences."""
    path = Path(path)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for i, line in enumerate(read_lines(path) + [""], start=1):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            continue
        if not columns:
            if tokens:
                sentences.append(TaggedSentence(tokens, to_bio(tags)))
            tokens, tags = [], []
            continue
        if len(columns) < 2:
            raise SlotfillError(f"expected 'token tag', found {len(columns)} column", path, i)
        try:
            split_tag(columns[-1])
        except ValueError as err:
            raise SlotfillError(str(err), path, i) from None
        tokens.append(columns[0])
        tags.append(columns[-1])
    return sentences


def _json_object(line: str, path: Path, i: int) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise SlotfillError(f"invalid JSON ({err.msg})", path, i) from None
    if not isinstance(obj, dict):
        raise SlotfillError("expected a JSON object", path, i)
    if not isinstance(obj.get("text"), str) or not obj["text"].strip():
        raise SlotfillError("missing or empty \"text\"", path, i)
    return obj


def slots_to_spans(offsets: list[tuple[int, int]], slots: list[dict]) -> list[Span]:
    """Character-offset slots as token spans; raises ValueError when a slot cuts a token."""
    if not isinstance(slots, list):
        raise ValueError("\"slots\" must be a list of {\"start\", \"end\", \"label\"} objects")
    found = []
    for slot in slots:
        if not isinstance(slot, dict):
            raise ValueError(f"slot {slot!r} must be an object with \"start\", \"end\" and \"label\"")
        start, end, label = slot.get("start"), slot.get("end"), slot.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label):
            raise ValueError(f"slot {slot} needs integer \"start\", \"end\" and a \"label\"")
        inside = [k for k, (s, e) in enumerate(offsets) if s < end and e > start]
        if not inside:
            raise ValueError(f"slot {label!r} at {start}-{end} covers no token")
        if offsets[inside[0]][0] < start or offsets[inside[-1]][1] > end:
            raise ValueError(f"slot {label!r} at {start}-{end} cuts through a token")
        found.append(Span(label, inside[0], inside[-1] + 1))
    return found


def read_tagged_jsonl(path: str | Path) -> list[TaggedSentence]:
    """JSON Lines: `{"text", "slots": [{"start", "end", "label"}], "intent"?}` (offsets into text)."""
    path = Path(path)
    sentences = []
    for i, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        obj = _json_object(line, path, i)
        tokens = tokenize(obj["text"], lowercase=False)
        offsets = [(t.start, t.end) for t in tokens]
        try:
            tags = bio_from_spans(len(tokens), slots_to_spans(offsets, obj.get("slots", [])))
        except ValueError as err:
            raise SlotfillError(str(err), path, i) from None
        intent = obj.get("intent")
        if intent is not None and not isinstance(intent, str):
            raise SlotfillError("\"intent\" must be a string", path, i)
        sentences.append(TaggedSentence([t.text for t in tokens], tags, intent, obj["text"], offsets))
    return sentences


def write_conll(path: str | Path, sentences: list[TaggedSentence]) -> None:
    """Write `token<TAB>tag` lines with a blank line after each sentence."""
    blocks = ["".join(f"{w}\t{t}\n" for w, t in zip(s.tokens, s.tags)) for s in sentences]
    Path(path).write_text("\n".join(blocks), encoding="utf-8")


def write_atis(folder: str | Path, sentences: list[TaggedSentence]) -> None:
    """Write an ATIS-style folder (`label` only when every sentence has an intent)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seq.in").write_text("".join(" ".join(s.tokens) + "\n" for s in sentences), encoding="utf-8")
    (folder / "seq.out").write_text("".join(" ".join(s.tags) + "\n" for s in sentences), encoding="utf-8")
    if sentences and all(s.intent for s in sentences):
        (folder / "label").write_text("".join(f"{s.intent}\n" for s in sentences), encoding="utf-8")


# ---- labelled sentences -------------------------------------------------------------------


def read_labelled(
    path: str | Path, format: str = "auto", text_column: str = "text", label_column: str = "label"
) -> list[LabelledText]:
    """Read SST lines (`LABEL sentence`), CSV/TSV with a header, or JSON Lines `{"text", "label"}`."""
    path = Path(path)
    if format == "auto":
        format = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix, "sst")
    if format == "sst":
        return _read_sst(path)
    if format in ("csv", "tsv"):
        return _read_table(path, "," if format == "csv" else "\t", text_column, label_column)
    if format == "jsonl":
        return _read_labelled_jsonl(path)
    raise SlotfillError(f"unknown labelled-data format {format!r} (known: {', '.join(LABELLED_FORMATS)})", path)


def _labelled(text: str, label: str, path: Path, i: int, pretokenized: bool = False) -> LabelledText:
    tokens = text.split() if pretokenized else [t.text for t in tokenize(text, lowercase=False)]
    if not tokens:
        raise SlotfillError("empty sentence", path, i)
    if not label.strip():
        raise SlotfillError("empty label", path, i)
    return LabelledText(tokens, label.strip(), text)


def _read_sst(path: Path) -> list[LabelledText]:
    examples = []
    for i, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        label, _, text = line.strip().partition(" ")
        examples.append(_labelled(text, label, path, i, pretokenized=True))
    return examples


def _read_table(path: Path, delimiter: str, text_column: str, label_column: str) -> list[LabelledText]:
    rows = csv.reader(io.StringIO("\n".join(read_lines(path))), delimiter=delimiter)
    header = next(rows)
    for column in (text_column, label_column):
        if column not in header:
            raise SlotfillError(f"no column {column!r} in the header (columns: {', '.join(header)})", path, 1)
    t, lab = header.index(text_column), header.index(label_column)
    examples = []
    for row in rows:
        i = rows.line_num
        if not row:
            continue
        if len(row) != len(header):
            raise SlotfillError(f"{len(row)} fields but the header has {len(header)}", path, i)
        examples.append(_labelled(row[t], row[lab], path, i))
    return examples


def _read_labelled_jsonl(path: Path) -> list[LabelledText]:
    examples = []
    for i, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        obj = _json_object(line, path, i)
        if not isinstance(obj.get("label"), (str, int)) or isinstance(obj.get("label"), bool):
            raise SlotfillError("missing \"label\" (a string or an integer)", path, i)
        examples.append(_labelled(obj["text"], str(obj["label"]), path, i))
    return examples


def read_split(config: Config, path: str) -> list:
    """A split of the configured data: TaggedSentences or LabelledTexts."""
    data = config.data
    if config.task == "tagger":
        return read_tagged(path, data.format)
    return read_labelled(path, data.format, data.text_column, data.label_column)
