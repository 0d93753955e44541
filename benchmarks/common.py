"""What the benchmark scripts share: train one seed, time tagging, make a noisy test copy."""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
ATIS = DATA / "atis"
SST2 = DATA / "sst2"
CAIS = DATA / "cais"


def noisy_copy(sentences: list, rate: float = 0.1, seed: int = 0) -> list:
    """One random character edit (insert, delete or substitute) in `rate` of the tokens; tags unchanged."""
    from slotfill.readers import TaggedSentence

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for s in sentences:
        tokens = []
        for token in s.tokens:
            if rng.random() < rate:
                i = rng.randrange(len(token) + 1)
                edit = rng.choice(("insert", "delete", "substitute") if len(token) > 1 else ("insert", "substitute"))
                if edit == "insert":
                    token = token[:i] + rng.choice(letters) + token[i:]
                else:
                    i = min(i, len(token) - 1)
                    token = token[:i] + (rng.choice(letters) if edit == "substitute" else "") + token[i + 1:]
            tokens.append(token)
        out.append(TaggedSentence(tokens, s.tags, s.intent))
    return out


def sentences_per_second(predict, token_lists: list[list[str]], repeats: int = 5) -> float:
    """Best of `repeats` batched passes over all sentences."""
    predict(token_lists[:64])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        predict(token_lists)
        best = min(best, time.perf_counter() - started)
    return len(token_lists) / best


def crf_overhead(tagger, token_lists: list[list[str]]) -> float | None:
    """Tagging time with CRF decoding over the same network decoded by argmax, minus one."""
    from slotfill.nn.build import network

    model = network(tagger)
    crf = model.crf
    if crf is None:
        return None
    with_crf = sentences_per_second(tagger.predict_tokens, token_lists)
    model.crf = None
    try:
        without = sentences_per_second(tagger.predict_tokens, token_lists)
    finally:
        model.crf = crf
    return without / with_crf - 1


def parser(doc: str, default_config: Path) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: a config, seeds, an output folder, overrides, a JSON file."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", type=Path, default=default_config)
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--output", type=Path, default=ROOT / "models" / "bench")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--json", type=Path, help="write the per-seed results here")
    return p


def train_timed(config_path: Path, splits: dict[str, Path], seed: int, output: Path, overrides: list[str] = ()):
    """Train `config_path` on the given train/dev/test paths: (predictor, metrics, wall seconds)."""
    from slotfill.config import load_config
    from slotfill.nn.training import train

    paths = [f"data.{split}={path}" for split, path in splits.items()]
    config = load_config(config_path, [*paths, f"train.seed={seed}", *overrides])
    started = time.perf_counter()
    predictor, metrics = train(config, output)
    return predictor, metrics, time.perf_counter() - started


def run_atis(config_path: Path, seed: int, output: Path, overrides: list[str] = (), noisy: bool = False) -> dict:
    """Train on ATIS with one seed; test figures, training wall time, throughput (and noisy-test F1)."""
    from slotfill.readers import read_atis

    splits = {split: ATIS / split for split in ("train", "dev", "test")}
    tagger, metrics, wall = train_timed(config_path, splits, seed, output, overrides)
    test = read_atis(ATIS / "test")
    tokens = [s.tokens for s in test]
    result = {
        "f1": metrics["test"]["f1"], "precision": metrics["test"]["precision"], "recall": metrics["test"]["recall"],
        "intent_accuracy": metrics["test"].get("intent_accuracy"), "sentence_accuracy": metrics["test"]["sentence_accuracy"],
        "train_seconds": wall, "epochs": len(metrics["history"]["epochs"]),
        "parameters": metrics["parameters"],
        "sentences_per_second": sentences_per_second(tagger.predict_tokens, tokens),
        "crf_overhead": crf_overhead(tagger, tokens),
    }
    if noisy:
        result["noisy_f1"] = tagger.evaluate(noisy_copy(test))["f1"]
    return result


def run_seeds(args: argparse.Namespace, run: Callable[[int, Path], dict], rows: list[tuple[str, str, float]]) -> list[dict]:
    """`run(seed, output)` for each seed, one JSON line each, then mean and spread of each row."""
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    runs = []
    for seed in args.seeds:
        result = run(seed, args.output / f"{args.config.stem}-seed{seed}")
        runs.append(result)
        print(f"seed {seed}: " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}), flush=True)
    print(f"\n{args.config.name}, seeds {args.seeds}")
    for name, key, scale in rows:
        values = [r[key] * scale for r in runs if r.get(key) is not None]
        if values:
            print(f"  {name:<30} {mean_spread(values)}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))
    return runs


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
