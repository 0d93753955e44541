"""Tag schemes (BIO, IOBES) and spans, with chunk boundaries exactly as conlleval draws them."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

OUTSIDE = "O"
MAX_NBEST = 20  # the most tag sequences an n-best list may ask for
_PREFIXES = {"B", "I", "E", "S"}


class Span(NamedTuple):
    label: str
    start: int  # first token
    end: int  # one past the last token


@lru_cache(maxsize=65536)
def split_tag(tag: str) -> tuple[str, str]:
    """`B-fromloc.city_name` -> ("B", "fromloc.city_name"); `O` -> ("O", "")."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in _PREFIXES or not label:
        raise ValueError(f"tag {tag!r} is neither O nor a B-, I-, E- or S- tag (schemes: BIO, IOBES)")
    return prefix, label


def to_bio(tags: list[str]) -> list[str]:
    """IOBES (or BIO) tags as BIO: S- becomes B-, E- becomes I-."""
    out = []
    for tag in tags:
        prefix, label = split_tag(tag)
        out.append(tag if prefix in ("O", "B", "I") else f"{'B' if prefix == 'S' else 'I'}-{label}")
    return out


def to_bioes(tags: list[str]) -> list[str]:
    """BIO (or IOBES) tags as IOBES: a one-token chunk is S-, a chunk's last token E-."""
    found = spans(tags)
    out = [OUTSIDE] * len(tags)
    for span in found:
        if span.end - span.start == 1:
            out[span.start] = f"S-{span.label}"
            continue
        out[span.start] = f"B-{span.label}"
        out[span.start + 1:span.end - 1] = [f"I-{span.label}"] * (span.end - span.start - 2)
        out[span.end - 1] = f"E-{span.label}"
    return out


def _chunk_ends(prev: str, tag: str, prev_label: str, label: str) -> bool:
    """conlleval's endOfChunk for BIO: does a chunk end between `prev` and `tag`?"""
    return (prev in ("B", "I") and tag in ("B", "O")) or (prev != "O" and prev_label != label)


def _chunk_starts(prev: str, tag: str, prev_label: str, label: str) -> bool:
    """conlleval's startOfChunk for BIO: does a chunk start at `tag`?"""
    return tag == "B" or (prev == "O" and tag == "I") or (tag != "O" and prev_label != label)


def spans(tags: list[str]) -> list[Span]:
    """Chunks of a tag sequence as conlleval counts them (IOBES read as BIO; an I- after O starts one)."""
    found: list[Span] = []
    start, prev, prev_label = None, "O", ""
    for i, tag in enumerate(to_bio(tags) + [OUTSIDE]):
        prefix, label = split_tag(tag)
        if start is not None and _chunk_ends(prev, prefix, prev_label, label):
            found.append(Span(prev_label, start, i))
            start = None
        if _chunk_starts(prev, prefix, prev_label, label):
            start = i
        prev, prev_label = prefix, label
    return found


def bio_from_spans(length: int, found: list[Span]) -> list[str]:
    """BIO tags for `length` tokens covered by non-overlapping spans."""
    tags = [OUTSIDE] * length
    for span in found:
        if not 0 <= span.start < span.end <= length:
            raise ValueError(f"slot {span.label!r} at tokens {span.start}-{span.end} is empty or outside 0-{length}")
        if any(t != OUTSIDE for t in tags[span.start:span.end]):
            raise ValueError(f"slot {span.label!r} overlaps another slot")
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return tags
