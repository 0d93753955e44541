"""Plain functions several test files share where a fixture would not fit: the BIO rules tags must obey."""

from __future__ import annotations


def may_follow(previous: str, tag: str) -> bool:
    """I-x only after B-x or I-x (the sentence start counts as O)."""
    return not tag.startswith("I-") or (previous != "O" and previous[2:] == tag[2:])


def valid_bio(tags: list[str]) -> bool:
    """No I-x at the start, none after O, none after B-y / I-y with y != x."""
    return all(may_follow(previous, tag) for previous, tag in zip(["O", *tags], tags))
