"""The one exception type slotfill raises for bad input, with file and line when known."""

from __future__ import annotations

from pathlib import Path


class SlotfillError(Exception):
    """A user-facing error: one line, naming the file and line where that applies."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
