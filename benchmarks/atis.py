"""ATIS benchmark: train a config on ../shared/data/atis with one or more seeds and print test
slot P/R/F1, intent and sentence accuracy, training wall time and batched tagging throughput.

    python benchmarks/atis.py                                   # configs/atis.toml, seed 1
    python benchmarks/atis.py configs/atis-joint.toml --seeds 1 2 3
"""

from __future__ import annotations

from common import ROOT, parser, run_atis, run_seeds

ROWS = [
    ("slot F1", "f1", 100), ("slot precision", "precision", 100), ("slot recall", "recall", 100),
    ("intent accuracy", "intent_accuracy", 100), ("sentence accuracy", "sentence_accuracy", 100),
    ("noisy-test slot F1", "noisy_f1", 100), ("training wall time (s)", "train_seconds", 1),
    ("epochs", "epochs", 1), ("tagging (sentences/s)", "sentences_per_second", 1),
    ("CRF decoding overhead (%)", "crf_overhead", 100),
]


def main() -> None:
    p = parser(__doc__, ROOT / "configs" / "atis.toml")
    p.add_argument("--noisy", action="store_true", help="also evaluate on a noisy copy of the test set")
    args = p.parse_args()
    run_seeds(args, lambda seed, output: run_atis(args.config, seed, output, args.overrides, args.noisy), ROWS)


if __name__ == "__main__":
    main()
