"""CAIS benchmark (Chinese smart-speaker utterances, per-character BIOES slots and an intent per
sentence): train a config on ../shared/data/cais with one or more seeds and print test slot P/R/F1,
intent and sentence accuracy, training wall time and batched tagging throughput.

    python benchmarks/cais.py                                   # configs/cais.toml, seed 1
    python benchmarks/cais.py --seeds 1 2 3
"""

from __future__ import annotations

from common import CAIS, ROOT, crf_overhead, parser, run_seeds, sentences_per_second, train_timed

ROWS = [
    ("slot F1", "f1", 100), ("slot precision", "precision", 100), ("slot recall", "recall", 100),
    ("intent accuracy", "intent_accuracy", 100), ("sentence accuracy", "sentence_accuracy", 100),
    ("training wall time (s)", "train_seconds", 1), ("epochs", "epochs", 1),
    ("tagging (sentences/s)", "sentences_per_second", 1), ("CRF decoding overhead (%)", "crf_overhead", 100),
]


def run_cais(config, seed: int, output, overrides: list[str]) -> dict:
    from slotfill.readers import read_conll

    splits = {split: CAIS / f"{split}.txt" for split in ("train", "dev", "test")}
    tagger, metrics, wall = train_timed(config, splits, seed, output, overrides)
    tokens = [s.tokens for s in read_conll(CAIS / "test.txt")]
    test = metrics["test"]
    return {
        "f1": test["f1"], "precision": test["precision"], "recall": test["recall"],
        "intent_accuracy": test.get("intent_accuracy"), "sentence_accuracy": test.get("sentence_accuracy"),
        "train_seconds": wall, "epochs": len(metrics["history"]["epochs"]),
        "sentences_per_second": sentences_per_second(tagger.predict_tokens, tokens),
        "crf_overhead": crf_overhead(tagger, tokens),
    }


def main() -> None:
    args = parser(__doc__, ROOT / "configs" / "cais.toml").parse_args()
    run_seeds(args, lambda seed, output: run_cais(args.config, seed, output, args.overrides), ROWS)


if __name__ == "__main__":
    main()
