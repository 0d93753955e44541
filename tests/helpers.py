"""Plain functions several test files share where a fixture would not fit: the BIO rules tags must obey, and
the torchrun and `--set` command lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TIMEOUT = 240  # a torchrun hang (processes waiting for each other) fails instead of blocking CI


def may_follow(previous: str, tag: str) -> bool:
    """I-x only after B-x or I-x (the sentence start counts as O)."""
    return not tag.startswith("I-") or (previous != "O" and previous[2:] == tag[2:])


def valid_bio(tags: list[str]) -> bool:
    """No I-x at the start, none after O, none after B-y / I-y with y != x."""
    return all(may_follow(previous, tag) for previous, tag in zip(["O", *tags], tags))


def torchrun(*args: str, script: Path | None = None) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node 2` (a free loopback port) on `python -m slotfill` or a script."""
    target = [str(script)] if script else ["-m", "slotfill"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *target, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


def sets(items: list[str]) -> list[str]:
    """`--set ITEM` for each item."""
    return [arg for item in items for arg in ("--set", item)]
