"""Readers for tagged and labelled corpora, and BIO writers; bad input fails naming file and line."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import storage
from .errors import SlotfillError
from .tags import Span, bio_from_spans, spans, split_tag, to_bio, to_bioes
from .text import detokenize, tokenize, words

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


def tagged_format(path: Path, format: str = "auto") -> str:
    """The format `auto` stands for: a folder is ATIS, `.jsonl`/`.json` JSON Lines, anything else CoNLL."""
    if format == "auto":
        return "atis" if path.is_dir() else "jsonl" if path.suffix in (".jsonl", ".json") else "conll"
    if format not in TAGGED_FORMATS:
        raise SlotfillError(f"unknown tagged-data format {format!r} (known: {', '.join(TAGGED_FORMATS)})", path)
    return format


def read_tagged(path: str | Path, format: str = "auto", latin_in_cjk: str = "word") -> list[TaggedSentence]:
    """Read an ATIS folder, a CoNLL column file or JSON Lines with character-offset slots
    (`latin_in_cjk`: how JSON Lines text is tokenized, see `text.tokenize`)."""
    path = Path(path)
    format = tagged_format(path, format)
    if format == "jsonl":
        return read_tagged_jsonl(path, latin_in_cjk)
    return read_atis(path) if format == "atis" else read_conll(path)


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
    """Column files: `token<TAB or space>tag` per line (tag last, BIO or BIOES), a blank line between
    sentences; a line with one field after a sentence's tokens is its intent (as SLU corpora write it)."""
    path = Path(path)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    intent: str | None = None
    intent_line = 0
    for i, line in enumerate(read_lines(path) + [""], start=1):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            continue
        if not columns:
            if tokens:
                sentences.append(TaggedSentence(tokens, to_bio(tags), intent))
                if intent is not None and sentences[0].intent is None:
                    raise SlotfillError(f"expected 'token tag', found 1 column ({intent!r}); read as an intent "
                                        "line, it needs one in every sentence, and the first has none", path, intent_line)
                if intent is None and sentences[0].intent is not None:
                    raise SlotfillError("this sentence has no intent line (the last line of a sentence with one "
                                        "field), the first sentence has one", path, i - 1)
            elif intent is not None:
                raise SlotfillError(f"intent {intent!r} without tokens before it", path, intent_line)
            tokens, tags, intent = [], [], None
            continue
        if intent is not None:
            raise SlotfillError(f"line {intent_line} holds one field, read as the sentence's intent, so the "
                                f"sentence must end there (found {line.strip()!r})", path, i)
        if len(columns) == 1:
            if not tokens:
                raise SlotfillError(f"expected 'token tag', found 1 column ({columns[0]!r})", path, i)
            intent, intent_line = columns[0], i
            continue
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


def slots_to_spans(offsets: list[tuple[int, int]], slots: list[dict], length: int) -> list[Span]:
    """Character-offset slots of a text of `length` characters as token spans; raises ValueError
    when a slot cuts a token or lies outside the text."""
    if not isinstance(slots, list):
        raise ValueError("\"slots\" must be a list of {\"start\", \"end\", \"label\"} objects")
    found = []
    for slot in slots:
        if not isinstance(slot, dict):
            raise ValueError(f"slot {slot!r} must be an object with \"start\", \"end\" and \"label\"")
        start, end, label = slot.get("start"), slot.get("end"), slot.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label):
            raise ValueError(f"slot {slot} needs integer \"start\", \"end\" and a \"label\"")
        if start < 0 or end > length:
            raise ValueError(f"slot {label!r} at {start}-{end} lies outside the text (0-{length})")
        inside = [k for k, (s, e) in enumerate(offsets) if s < end and e > start]
        if not inside:
            raise ValueError(f"slot {label!r} at {start}-{end} covers no token")
        for k in (inside[0], inside[-1]):
            s, e = offsets[k]
            if s < start or e > end:
                raise ValueError(f"slot {label!r} at {start}-{end} cuts through a token (the token at {s}-{e})")
        found.append(Span(label, inside[0], inside[-1] + 1))
    return found


def read_tagged_jsonl(path: str | Path, latin_in_cjk: str = "word") -> list[TaggedSentence]:
    """JSON Lines: `{"text", "slots": [{"start", "end", "label"}], "intent"?}` (offsets into text)."""
    path = Path(path)
    sentences = []
    for i, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        obj = _json_object(line, path, i)
        tokens = tokenize(obj["text"], lowercase=False, latin_in_cjk=latin_in_cjk)
        offsets = [(t.start, t.end) for t in tokens]
        try:
            tags = bio_from_spans(len(tokens), slots_to_spans(offsets, obj.get("slots", []), len(obj["text"])))
        except ValueError as err:
            raise SlotfillError(str(err), path, i) from None
        intent = obj.get("intent")
        if intent is not None and not isinstance(intent, str):
            raise SlotfillError("\"intent\" must be a string", path, i)
        sentences.append(TaggedSentence([t.text for t in tokens], tags, intent, obj["text"], offsets))
    return sentences


SCHEMES = {"bio": to_bio, "bioes": to_bioes}


def write_conll(path: str | Path, sentences: list[TaggedSentence], scheme: str = "bio") -> None:
    """Write `token<TAB>tag` lines, then the intent on a line of its own when every sentence has
    one, and a blank line after each sentence."""
    intents = all(s.intent for s in sentences)
    blocks = [
        "".join(f"{w}\t{t}\n" for w, t in zip(s.tokens, SCHEMES[scheme](s.tags))) + (f"{s.intent}\n" if intents else "")
        for s in sentences
    ]
    storage.write_atomic(path, "".join(block + "\n" for block in blocks).encode("utf-8"))


def write_atis(folder: str | Path, sentences: list[TaggedSentence], scheme: str = "bio") -> None:
    """Write an ATIS-style folder, created with its parents where missing (`label` only when every sentence
    has an intent; an older `label` is removed otherwise, as it would no longer match seq.in)."""
    folder = Path(folder)
    with storage.writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    files = {"seq.in": "".join(" ".join(s.tokens) + "\n" for s in sentences),
             "seq.out": "".join(" ".join(SCHEMES[scheme](s.tags)) + "\n" for s in sentences)}
    if sentences and all(s.intent for s in sentences):
        files["label"] = "".join(f"{s.intent}\n" for s in sentences)
    storage.write_files(folder, {name: text.encode("utf-8") for name, text in files.items()})
    if "label" not in files:
        with storage.writing(folder / "label"):
            (folder / "label").unlink(missing_ok=True)


def write_tagged_jsonl(path: str | Path, sentences: list[TaggedSentence]) -> None:
    """Write JSON Lines with character-offset slots; sentences read from text keep that text, others
    are written with `text.detokenize`."""
    lines = []
    for s in sentences:
        text, offsets = (s.text, s.offsets) if s.text is not None else detokenize(s.tokens)
        slots = [{"start": offsets[span.start][0], "end": offsets[span.end - 1][1], "label": span.label}
                 for span in spans(s.tags)]
        obj = {"text": text, "slots": slots}
        if s.intent:
            obj["intent"] = s.intent
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    storage.write_atomic(path, "".join(lines).encode("utf-8"))


# ---- labelled sentences -------------------------------------------------------------------


def read_labelled(
    path: str | Path, format: str = "auto", text_column: str = "text", label_column: str = "label",
    latin_in_cjk: str = "word",
) -> list[LabelledText]:
    """Read SST lines (`LABEL sentence`), CSV/TSV with a header, or JSON Lines `{"text", "label"}`."""
    path = Path(path)
    if format == "auto":
        format = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix, "sst")
    if format == "sst":
        return _read_sst(path)
    if format in ("csv", "tsv"):
        return _read_table(path, "," if format == "csv" else "\t", text_column, label_column, latin_in_cjk)
    if format == "jsonl":
        return _read_labelled_jsonl(path, latin_in_cjk)
    raise SlotfillError(f"unknown labelled-data format {format!r} (known: {', '.join(LABELLED_FORMATS)})", path)


def _labelled(text: str, label: str, path: Path, i: int, latin_in_cjk: str | None = None) -> LabelledText:
    """`latin_in_cjk` None: the text is already tokenized (split at spaces)."""
    tokens = text.split() if latin_in_cjk is None else words(text, latin_in_cjk)
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
        examples.append(_labelled(text, label, path, i))
    return examples


def _read_table(path: Path, delimiter: str, text_column: str, label_column: str, latin_in_cjk: str) -> list[LabelledText]:
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
        examples.append(_labelled(row[t], row[lab], path, i, latin_in_cjk))
    return examples


def _read_labelled_jsonl(path: Path, latin_in_cjk: str) -> list[LabelledText]:
    examples = []
    for i, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        obj = _json_object(line, path, i)
        if not isinstance(obj.get("label"), (str, int)) or isinstance(obj.get("label"), bool):
            raise SlotfillError("missing \"label\" (a string or an integer)", path, i)
        examples.append(_labelled(obj["text"], str(obj["label"]), path, i, latin_in_cjk))
    return examples
