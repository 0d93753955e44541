"""What the benchmark scripts share: train one seed, time tagging, make a noisy test copy."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
ATIS = DATA / "atis"
SST2 = DATA / "sst2"


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
    crf = tagger.model.crf
    if crf is None:
        return None
    with_crf = sentences_per_second(tagger.predict_tokens, token_lists)
    tagger.model.crf = None
    try:
        without = sentences_per_second(tagger.predict_tokens, token_lists)
    finally:
        tagger.model.crf = crf
    return without / with_crf - 1


def run_atis(config_path: Path, seed: int, output: Path, overrides: list[str] = (), noisy: bool = False) -> dict:
    """Train on ATIS with one seed; test figures, training wall time, throughput (and noisy-test F1)."""
    from slotfill.config import load_config
    from slotfill.readers import read_atis
    from slotfill.training import train

    config = load_config(config_path, [
        f"data.train={ATIS / 'train'}", f"data.dev={ATIS / 'dev'}", f"data.test={ATIS / 'test'}",
        f"train.seed={seed}", *overrides,
    ])
    started = time.perf_counter()
    tagger, metrics = train(config, output)
    wall = time.perf_counter() - started
    test = read_atis(ATIS / "test")
    tokens = [s.tokens for s in test]
    result = {
        "f1": metrics["test"]["f1"], "precision": metrics["test"]["precision"], "recall": metrics["test"]["recall"],
        "intent_accuracy": metrics["test"].get("intent_accuracy"), "sentence_accuracy": metrics["test"]["sentence_accuracy"],
        "train_seconds": wall, "epochs": len(metrics["history"]["epochs"]),
        "parameters": sum(p.numel() for p in tagger.model.parameters()),
        "sentences_per_second": sentences_per_second(tagger.predict_tokens, tokens),
        "crf_overhead": crf_overhead(tagger, tokens),
    }
    if noisy:
        result["noisy_f1"] = tagger.evaluate(noisy_copy(test))["f1"]
    return result


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
