"""The bundled demos on cities they never saw: train each demo as `slotfill train` does, then tag its
`test.jsonl` (generated sentences whose cities occur in neither train nor dev) and print the share of
sentences whose departure and destination slots are both exactly right, and the training time.

    python benchmarks/demos.py
    python benchmarks/demos.py --demo flights-zh --seeds 1 2 3 --set model.word_dropout=0.4
"""

from __future__ import annotations

import argparse
import json
import statistics
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

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo", action="append", choices=["flights", "flights-zh"], help="one demo (repeatable) [both]")
    p.add_argument("--seeds", type=int, nargs="+", default=[None], help="train.seed values [the config's]")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = p.parse_args()
    for name in args.demo or ["flights", "flights-zh"]:
        rows = [json.loads(line) for line in (ROOT / "data" / name / "test.jsonl").read_text(encoding="utf-8").splitlines()]
        shares = []
        for seed in args.seeds:
            overrides = args.overrides + ([f"train.seed={seed}"] if seed is not None else [])
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                train(load_config(ROOT / "configs" / f"{name}.toml", overrides), Path(tmp) / name)
                seconds = time.perf_counter() - started
                tagged = load(Path(tmp) / name).tag_batch([r["text"] for r in rows])
            right = sum(cities(t["slots"], t["text"]) == cities(r["slots"], r["text"]) for t, r in zip(tagged, rows))
            shares.append(100 * right / len(rows))
            print(f"{name} seed {seed or 'default'}: {right}/{len(rows)} held-out sentences right ({shares[-1]:.2f}%), "
                  f"training {seconds:.0f} s", flush=True)
        if len(shares) > 1:
            print(f"{name} {' '.join(args.overrides)}: mean {statistics.mean(shares):.2f}%, min {min(shares):.2f}%", flush=True)


if __name__ == "__main__":
    main()
