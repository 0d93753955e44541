"""The bundled demos on cities they never saw: train each demo as `slotfill train` does, then tag its
`test.jsonl` (generated sentences whose cities occur in neither train nor dev) and print the share of
sentences whose departure and destination slots are both exactly right, and the training time.

    python benchmarks/demos.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from common import ROOT

CITY = ("fromloc.city_name", "toloc.city_name")


def cities(slots: list[dict], text: str) -> dict:
    return {s["label"]: text[s["start"]:s["end"]] for s in slots if s["label"] in CITY}


def main() -> None:
    from slotfill.config import load_config
    from slotfill.nn.training import train
    from slotfill.predict import load

    for name in ("flights", "flights-zh"):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            train(load_config(ROOT / "configs" / f"{name}.toml"), Path(tmp) / name)
            seconds = time.perf_counter() - started
            rows = [json.loads(line) for line in (ROOT / "data" / name / "test.jsonl").read_text(encoding="utf-8").splitlines()]
            tagged = load(Path(tmp) / name).tag_batch([r["text"] for r in rows])
            right = sum(cities(t["slots"], t["text"]) == cities(r["slots"], r["text"]) for t, r in zip(tagged, rows))
            print(f"{name}: {right}/{len(rows)} held-out sentences right ({100 * right / len(rows):.2f}%), "
                  f"training {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
