"""ATIS benchmark: train a config on ../shared/data/atis with one or more seeds and print test
slot P/R/F1, intent and sentence accuracy, training wall time and batched tagging throughput.

    python benchmarks/atis.py                                   # configs/atis.toml, seed 1
    python benchmarks/atis.py configs/atis-joint.toml --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from common import ROOT, mean_spread, run_atis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", type=Path, default=ROOT / "configs" / "atis.toml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--output", type=Path, default=ROOT / "models" / "bench")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--noisy", action="store_true", help="also evaluate on a noisy copy of the test set")
    parser.add_argument("--json", type=Path, help="write the per-seed results here")
    args = parser.parse_args()
    logging.basicConfig(format="%(message)s", level=logging.INFO)

    runs = []
    for seed in args.seeds:
        result = run_atis(args.config, seed, args.output / f"{args.config.stem}-seed{seed}", args.overrides, args.noisy)
        runs.append(result)
        print(f"seed {seed}: " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}), flush=True)
    print(f"\n{args.config.name}, seeds {args.seeds}")
    rows = [("slot F1", "f1", 100), ("slot precision", "precision", 100), ("slot recall", "recall", 100),
            ("intent accuracy", "intent_accuracy", 100), ("sentence accuracy", "sentence_accuracy", 100),
            ("noisy-test slot F1", "noisy_f1", 100), ("training wall time (s)", "train_seconds", 1),
            ("epochs", "epochs", 1), ("tagging (sentences/s)", "sentences_per_second", 1),
            ("CRF decoding overhead (%)", "crf_overhead", 100)]
    for name, key, scale in rows:
        values = [r[key] * scale for r in runs if r.get(key) is not None]
        if values:
            print(f"  {name:<28} {mean_spread(values)}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
