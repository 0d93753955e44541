"""Vocabularies: strings to ids and back, saved as plain JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

PAD = "<pad>"
UNK = "<unk>"


class Vocab:
    """An ordered set of strings; `specials` come first (`<pad>` is id 0, `<unk>` id 1)."""

    def __init__(self, items: Iterable[str], specials: tuple[str, ...] = (PAD, UNK)):
        self.specials = tuple(specials)
        self.itos: list[str] = list(self.specials)
        self.itos += [w for w in items if w not in self.specials]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary items must be unique")
        self.unk_id = self.stoi.get(UNK)

    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        min_count: int = 1,
        max_size: int = 0,
        specials: tuple[str, ...] = (PAD, UNK),
    ) -> Vocab:
        """Most frequent items first (ties alphabetical), dropping those seen fewer than `min_count` times."""
        counts = Counter(w for seq in sequences for w in seq)
        items = sorted((w for w, c in counts.items() if c >= min_count and w not in specials), key=lambda w: (-counts[w], w))
        if max_size:
            items = items[: max(0, max_size - len(specials))]
        return cls(items, specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, item: str) -> bool:
        return item in self.stoi

    def id(self, item: str) -> int:
        """The item's id, `<unk>`'s for an unknown item (KeyError if there is no `<unk>`)."""
        found = self.stoi.get(item, self.unk_id)
        if found is None:
            raise KeyError(item)
        return found

    def ids(self, items: Iterable[str]) -> list[int]:
        if self.unk_id is None:
            return [self.stoi[w] for w in items]
        get, unk = self.stoi.get, self.unk_id
        return [get(w, unk) for w in items]

    def to_json(self) -> dict:
        return {"specials": list(self.specials), "items": self.itos[len(self.specials):]}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        return cls(data["items"], tuple(data["specials"]))
