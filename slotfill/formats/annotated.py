"""Annotated texts (character-offset slots) made into tagged sentences: tokens split at slot boundaries,
overlapping slots and duplicate examples counted in one notice each."""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from ..tags import Span, bio_from_spans, spans
from ..text import detokenize, token_offsets
from .base import Annotated, TaggedSentence, fail, log


def slots_to_spans(offsets: list[tuple[int, int]], slots: list[dict], length: int) -> list[Span]:
    """Character-offset slots of a text of `length` characters as token spans; raises ValueError
    when a slot cuts a token or lies outside the text."""
    if not isinstance(slots, list):
        raise ValueError("\"slots\" must be a list of {\"start\", \"end\", \"label\"} objects")
    found = []
    starts, ends = [s for s, _ in offsets], [e for _, e in offsets]
    for slot in slots:
        if not isinstance(slot, dict):
            raise ValueError(f"slot {slot!r} must be an object with \"start\", \"end\" and \"label\"")
        start, end, label = slot.get("start"), slot.get("end"), slot.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label):
            raise ValueError(f"slot {slot} needs integer \"start\", \"end\" and a \"label\"")
        if start < 0 or end > length:
            raise ValueError(f"slot {label!r} at {start}-{end} lies outside the text (0-{length})")
        first, last = bisect_right(ends, start), bisect_left(starts, end) - 1  # the tokens it touches
        if first > last:
            raise ValueError(f"slot {label!r} at {start}-{end} covers no token")
        for k in (first, last):
            s, e = offsets[k]
            if s < start or e > end:
                raise ValueError(f"slot {label!r} at {start}-{end} cuts through a token (the token at {s}-{e})")
        found.append(Span(label, first, last + 1))
    return found


def _kind(char: str) -> str:
    """digit, letter (combining marks count as letters) or other."""
    if char.isdigit():
        return "digit"
    return "letter" if char.isalpha() or unicodedata.category(char).startswith("M") else "other"


def _inside_word(text: str, cut: int) -> bool:
    """Does `cut` fall between two letters or two digits (or before a combining mark)?"""
    after = _kind(text[cut])
    return after != "other" and (after == _kind(text[cut - 1]) or unicodedata.category(text[cut]).startswith("M"))


def split_offsets(text: str, offsets: list[tuple[int, int]], cuts: set[int], anywhere: bool) -> list[tuple[int, int]]:
    """Token `offsets` split where a slot starts or ends inside a token: anywhere (`anywhere`, chunked formats)
    or only between characters of different kinds (`2|times`, `Boston|'s`), never inside a word."""
    starts = [s for s, _ in offsets]
    inner = []
    for cut in cuts:
        k = bisect_right(starts, cut) - 1  # the token starting at or before the cut
        if k >= 0 and starts[k] < cut < offsets[k][1] and (anywhere or not _inside_word(text, cut)):
            inner.append(cut)
    if not inner:
        return offsets
    inner.sort()
    out: list[tuple[int, int]] = []
    for start, end in offsets:
        for cut in (c for c in inner if start < c < end):
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def _first_spans(found: list[Span]) -> tuple[list[Span], int]:
    """Spans that do not overlap: at each token the span starting first (then the one listed first) is
    kept; the number dropped."""
    kept: list[Span] = []
    taken: set[int] = set()
    for span in sorted(found, key=lambda s: s.start):
        if taken.isdisjoint(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return kept, len(found) - len(kept)


def to_sentence(item: Annotated, latin_in_cjk: str) -> tuple[TaggedSentence, int]:
    """The tagged sentence of an annotated text, and how many overlapping slots were dropped."""
    text = item.text
    offsets = token_offsets(text, latin_in_cjk)
    if item.slots and isinstance(item.slots, list):
        cuts = {s[k] for s in item.slots if isinstance(s, dict) for k in ("start", "end") if isinstance(s.get(k), int)}
        offsets = split_offsets(text, offsets, cuts, item.chunked)
    try:
        kept, dropped = _first_spans(slots_to_spans(offsets, item.slots, len(text)))
        tags = bio_from_spans(len(offsets), kept)
    except ValueError as err:
        raise fail(str(err), item.path, item.where) from None
    return TaggedSentence([text[s:e] for s, e in offsets], tags, item.intent, text, offsets), dropped


def _place(item: Annotated) -> str:
    where = f":{item.where}" if isinstance(item.where, int) else f" ({item.where})" if item.where else ""
    return f"{item.path}{where}"


class Unique:
    """Drops an example read a second time (same text, slots and intent), counting them for one notice."""

    def __init__(self) -> None:
        self.seen: dict[tuple, Annotated] = {}
        self.duplicates: list[tuple[Annotated, Annotated]] = []

    def new(self, item: Annotated) -> bool:
        """Is this the first time the example is read?"""
        slots = [(s.get("start"), s.get("end"), s.get("label")) for s in item.slots if isinstance(s, dict)]
        try:
            key = (item.text, item.intent, frozenset(slots))
        except TypeError:  # an unhashable value: its reader reports it
            return True
        first = self.seen.setdefault(key, item)
        if first is not item:
            self.duplicates.append((item, first))
        return first is item

    def notice(self) -> None:
        if self.duplicates:
            again, first = self.duplicates[0]
            log.warning(f"notice: {_place(again)}: {len(self.duplicates)} duplicate example(s) in all, each read once "
                        f"(this one, {again.text!r}, is also at {_place(first)})")


class Sentences:
    """Tagged sentences built from annotated texts file by file; `done` tells the notices (overlapping slots
    dropped, duplicates read once) and returns them."""

    def __init__(self, latin_in_cjk: str) -> None:
        self.latin_in_cjk = latin_in_cjk
        self.sentences: list[TaggedSentence] = []
        self.unique = Unique()
        self.overlapping, self.first_overlap = 0, None

    def add(self, items: Iterable[Annotated], unique: bool) -> None:
        """Append the sentences of `items`; `unique`: an example read before is read once."""
        for item in items:
            if unique and not self.unique.new(item):
                continue
            sentence, dropped = to_sentence(item, self.latin_in_cjk)
            if dropped and self.first_overlap is None:
                self.first_overlap = item
            self.overlapping += dropped
            self.sentences.append(sentence)

    def done(self) -> list[TaggedSentence]:
        if self.overlapping:
            log.warning(f"notice: {_place(self.first_overlap)}: {self.overlapping} overlapping slot(s) dropped in all, "
                        "as BIO tags hold one slot per token (the slot starting first is kept)")
        self.unique.notice()
        return self.sentences


def char_slots(sentence: TaggedSentence) -> tuple[str, list[tuple[int, int, str]]]:
    """A sentence's text and its slots as (start, end, label) character offsets; sentences read from
    text keep that text, others are written with `text.detokenize`."""
    text, offsets = (sentence.text, sentence.offsets) if sentence.text is not None else detokenize(sentence.tokens)
    return text, [(offsets[span.start][0], offsets[span.end - 1][1], span.label) for span in spans(sentence.tags)]
