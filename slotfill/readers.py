"""Readers for tagged and labelled corpora, and BIO writers; bad input fails naming file and line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from . import storage
from .errors import SlotfillError
from .formats.annotated import Sentences, Unique, char_slots, slots_to_spans
from .formats.annotators import read_jsonl
from .formats.base import Annotated, Corpus, Extras, LabelledText, TaggedSentence, fail, json_line, read_lines, read_text
from .formats.detect import ANNOTATED, TOOLS, data_files, data_name, read_annotated
from .formats.writers import write_rasa, write_snips
from .tags import split_tag, to_bio, to_bioes
from .text import words

__all__ = ["Corpus", "LabelledText", "TaggedSentence", "read_atis", "read_conll", "read_labelled", "read_lines",
           "read_tagged", "read_tagged_jsonl", "read_text", "slots_to_spans", "write_atis", "write_conll",
           "write_rasa", "write_snips", "write_tagged_jsonl"]
TAGGED_FORMATS = ("auto", "atis", "conll", "jsonl", *TOOLS)
LABELLED_FORMATS = ("auto", "sst", "csv", "tsv", "jsonl", *TOOLS)


def _known(format: str, known: tuple[str, ...], kind: str, path) -> None:
    if format not in known:
        raise SlotfillError(f"unknown {kind}-data format {format!r} (known: {', '.join(known)})", data_name(path))


def _bio(tags: list[str], path: Path, line: int) -> list[str]:
    try:
        return to_bio(tags)  # raises for a tag of neither scheme
    except ValueError as err:
        raise SlotfillError(str(err), path, line) from None


# ---- tagged corpora -------------------------------------------------------------------------


def _tagged_legacy(path: Path) -> str:
    return "atis" if path.is_dir() else "conll"


def read_tagged(path: str | Path | list, format: str = "auto", latin_in_cjk: str = "word", text_column: str = "text") -> Corpus:
    """Read tagged data from a file, a folder of data files or a list of both: an ATIS folder, CoNLL columns,
    JSON Lines with character-offset slots, Rasa, Snips, doccano or Label Studio (`auto`: told by each file's
    extension and content). `latin_in_cjk`: how raw text is tokenized (see `text.tokenize`); `text_column`:
    Label Studio's text field. The Corpus also holds the synonyms, regex and lookup entries read."""
    _known(format, TAGGED_FORMATS, "tagged", path)
    extras, built = Extras(), Sentences(latin_in_cjk)
    for file, kind in data_files(path, format, _tagged_legacy):
        if kind in ANNOTATED:
            built.add(read_annotated(file, kind, extras, text_column), unique=kind != "jsonl")
        else:
            built.sentences += read_atis(file) if kind == "atis" else read_conll(file)
    return extras.corpus(built.done(), data_name(path))


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


def read_tagged_jsonl(path: str | Path, latin_in_cjk: str = "word") -> list[TaggedSentence]:
    """JSON Lines: `{"text", "slots": [{"start", "end", "label"}], "intent"?}` (offsets into text)."""
    built = Sentences(latin_in_cjk)
    built.add(read_jsonl(Path(path)), unique=False)
    return built.done()


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
        text, slots = char_slots(s)
        obj = {"text": text, "slots": [{"start": start, "end": end, "label": label} for start, end, label in slots]}
        if s.intent:
            obj["intent"] = s.intent
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    storage.write_atomic(path, "".join(lines).encode("utf-8"))


# ---- labelled sentences -------------------------------------------------------------------


def _labelled_legacy(path: Path) -> str:
    return {".csv": "csv", ".tsv": "tsv"}.get(path.suffix.lower(), "sst")


def read_labelled(
    path: str | Path | list, format: str = "auto", text_column: str = "text", label_column: str = "label",
    latin_in_cjk: str = "word",
) -> Corpus:
    """Read SST lines (`LABEL sentence`), CSV/TSV with a header, JSON Lines `{"text", "label"}`, or the intents
    of Rasa, Snips, doccano (its category) or Label Studio (its choice) as labels; from a file, a folder or a list."""
    _known(format, LABELLED_FORMATS, "labelled", path)
    extras, unique, examples = Extras(), Unique(), []
    for file, kind in data_files(path, format, _labelled_legacy):
        if kind in TOOLS:
            examples += [_intent_label(a, latin_in_cjk) for a in read_annotated(file, kind, extras, text_column) if unique.new(a)]
        elif kind == "sst":
            examples += _read_sst(file)
        elif kind in ("csv", "tsv"):
            examples += _read_table(file, "," if kind == "csv" else "\t", text_column, label_column, latin_in_cjk)
        else:
            examples += _read_labelled_jsonl(file, latin_in_cjk)
    unique.notice()
    return extras.corpus(examples, data_name(path))


def _intent_label(item: Annotated, latin_in_cjk: str) -> LabelledText:
    """An annotated text's intent as its label."""
    if not item.intent:
        raise fail("no intent or category: a classifier needs one label for each sentence", item.path, item.where)
    return LabelledText(words(item.text, latin_in_cjk), item.intent, item.text)


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
        obj = json_line(line, path, i)
        if not isinstance(obj.get("label"), (str, int)) or isinstance(obj.get("label"), bool):
            raise SlotfillError("missing \"label\" (a string or an integer)", path, i)
        examples.append(_labelled(obj["text"], str(obj["label"]), path, i, latin_in_cjk))
    return examples
