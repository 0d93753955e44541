"""SST-2 benchmark: train a classifier config on ../shared/data/sst2 with one or more seeds and print
test accuracy, macro-F1, training wall time and batched classification throughput.

    python benchmarks/sst2.py                     # configs/sst2.toml, seed 1
    python benchmarks/sst2.py --seeds 1 2 3 --set model.pooling=attention
"""

from __future__ import annotations

from pathlib import Path

from common import ROOT, SST2, parser, run_seeds, sentences_per_second, train_timed

ROWS = [
    ("test accuracy", "accuracy", 100), ("test macro-F1", "macro_f1", 100), ("dev accuracy", "dev_accuracy", 100),
    ("training wall time (s)", "train_seconds", 1), ("epochs", "epochs", 1),
    ("classification (sentences/s)", "sentences_per_second", 1),
]


def run(config_path: Path, seed: int, output: Path, overrides: list[str]) -> dict:
    from slotfill.readers import read_labelled

    splits = {split: SST2 / f"{split}.txt" for split in ("train", "dev", "test")}
    classifier, metrics, wall = train_timed(config_path, splits, seed, output, overrides)
    tokens = [e.tokens for e in read_labelled(SST2 / "test.txt")]
    return {
        "accuracy": metrics["test"]["accuracy"], "macro_f1": metrics["test"]["macro_f1"],
        "dev_accuracy": metrics["history"]["best"], "train_seconds": wall,
        "epochs": len(metrics["history"]["epochs"]),
        "sentences_per_second": sentences_per_second(classifier.sentence_outputs, tokens),
    }


def main() -> None:
    args = parser(__doc__, ROOT / "configs" / "sst2.toml").parse_args()
    run_seeds(args, lambda seed, output: run(args.config, seed, output, args.overrides), ROWS)


if __name__ == "__main__":
    main()
