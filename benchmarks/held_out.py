"""Out-of-scope detection with no out-of-scope data: hold intents out of a joint corpus's training and dev data,
train on the rest with the config as it is, and measure on the whole test set how often the sentences of the
held-out intents get the fallback answer (recall), and how much the in-scope intent accuracy drops with the
thresholds the model saved (chosen on its in-scope dev data alone). Also the same thresholds with the
probability alone (typicality off), and the AUROC of both scores.

    python benchmarks/held_out.py                          # ATIS, configs/atis-joint.toml, seed 1
    python benchmarks/held_out.py --corpus flights --seeds 1 2 3
"""

from __future__ import annotations

from pathlib import Path

from common import ATIS, ROOT, parser, run_seeds

CORPORA = {  # config, test data, intents held out (a multi-intent label is held out when any of its parts is)
    "atis": (ROOT / "configs" / "atis-joint.toml", ATIS / "test", {"atis_ground_service", "atis_abbreviation", "atis_capacity"}),
    "flights": (ROOT / "configs" / "flights.toml", ROOT / "data" / "flights" / "test.jsonl", {"atis_airline", "atis_flight_time"}),
}
ROWS = [
    ("held-out recall", "recall", 100), ("in-scope accuracy, no fallback", "accuracy", 100),
    ("in-scope accuracy, fallback", "in_scope_accuracy", 100), ("in-scope drop (points)", "drop", 100),
    ("recall, probability alone", "recall_probability", 100), ("AUROC probability", "auroc", 1),
    ("AUROC typicality", "auroc_typicality", 1), ("typicality threshold", "typicality_threshold", 1),
    ("probability threshold", "threshold", 1), ("training wall time (s)", "train_seconds", 1),
]


def held_out(intent: str | None, intents: set[str]) -> bool:
    return bool(set((intent or "").split("#")) & intents)


def run(config_path: Path, test_path: Path, intents: set[str], seed: int, output: Path, overrides: list[str]) -> dict:
    from slotfill.config import load_config
    from slotfill.nn.training import train
    from slotfill.predict import Predictor
    from slotfill.fallback import Fallback

    config = load_config(config_path, [f"train.seed={seed}", "data.test=\"\"", *overrides])
    kind = Predictor.kind(config.task)
    train_set, dev_set = ([e for e in kind.read(config, path) if not held_out(e.intent, intents)] for path in (config.data.train, config.data.dev))
    predictor, metrics = train(config, output, force=True, sets=(train_set, dev_set))
    known = set(predictor.sentence_labels)
    test = [s for s in kind.read(config, test_path) if s.intent in known or held_out(s.intent, intents)]
    scope = predictor.evaluate(test)["scope"]
    alone = predictor.evaluate(test, fallback=predictor.fallback.but(typicality_threshold=0.0))["scope"]
    plain = predictor.evaluate(test, fallback=Fallback())["scope"]
    return {"recall": scope["recall"], "accuracy": plain["in_scope_accuracy"], "in_scope_accuracy": scope["in_scope_accuracy"],
            "drop": plain["in_scope_accuracy"] - scope["in_scope_accuracy"], "recall_probability": alone["recall"],
            "auroc": scope["auroc"], "auroc_typicality": scope.get("auroc_typicality"), "held_out": scope["out_of_scope"],
            "threshold": predictor.fallback.threshold, "typicality_threshold": predictor.fallback.typicality_threshold,
            "train_seconds": metrics["train_seconds"]}


def main() -> None:
    p = parser(__doc__, ROOT / "configs" / "atis-joint.toml")
    p.add_argument("--corpus", choices=sorted(CORPORA), default="atis")
    args = p.parse_args()
    config, test, intents = CORPORA[args.corpus]
    args.config = config if args.config == p.get_default("config") else args.config
    print(f"holding out {', '.join(sorted(intents))}")
    run_seeds(args, lambda seed, output: run(args.config, test, intents, seed, output, args.overrides), ROWS)


if __name__ == "__main__":
    main()
