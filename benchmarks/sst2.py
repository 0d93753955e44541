"""SST-2 benchmark: train a classifier config on ../shared/data/sst2 with one or more seeds and print
test accuracy, macro-F1, training wall time and batched classification throughput.

    python benchmarks/sst2.py                     # configs/sst2.toml, seed 1
    python benchmarks/sst2.py --seeds 1 2 3 --set model.pooling=\\"attention\\"
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from common import ROOT, SST2, mean_spread, sentences_per_second


def run(config_path: Path, seed: int, output: Path, overrides: list[str]) -> dict:
    from slotfill.config import load_config
    from slotfill.readers import read_labelled
    from slotfill.training import train

    config = load_config(config_path, [
        f"data.train={SST2 / 'train.txt'}", f"data.dev={SST2 / 'dev.txt'}", f"data.test={SST2 / 'test.txt'}",
        f"train.seed={seed}", *overrides,
    ])
    started = time.perf_counter()
    classifier, metrics = train(config, output)
    wall = time.perf_counter() - started
    tokens = [e.tokens for e in read_labelled(SST2 / "test.txt")]
    return {
        "accuracy": metrics["test"]["accuracy"], "macro_f1": metrics["test"]["macro_f1"],
        "dev_accuracy": metrics["history"]["best"], "train_seconds": wall,
        "epochs": len(metrics["history"]["epochs"]),
        "sentences_per_second": sentences_per_second(classifier.predict_tokens, tokens),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", type=Path, default=ROOT / "configs" / "sst2.toml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--output", type=Path, default=ROOT / "models" / "bench")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--json", type=Path, help="write the per-seed results here")
    args = parser.parse_args()
    logging.basicConfig(format="%(message)s", level=logging.INFO)

    runs = []
    for seed in args.seeds:
        result = run(args.config, seed, args.output / f"{args.config.stem}-seed{seed}", args.overrides)
        runs.append(result)
        print(f"seed {seed}: " + json.dumps({k: round(v, 4) for k, v in result.items()}), flush=True)
    print(f"\n{args.config.name}, seeds {args.seeds}")
    for name, key, scale in [("test accuracy", "accuracy", 100), ("test macro-F1", "macro_f1", 100),
                             ("dev accuracy", "dev_accuracy", 100), ("training wall time (s)", "train_seconds", 1),
                             ("epochs", "epochs", 1), ("classification (sentences/s)", "sentences_per_second", 1)]:
        print(f"  {name:<30} {mean_spread([r[key] * scale for r in runs])}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
