"""Inference speed of a trained model: the ONNX engine, the torch engine and an earlier revision of slotfill
side by side, in one run, on the same inputs.

    python benchmarks/inference.py models/atis --baseline feb41d7
    python benchmarks/inference.py models/sst2 --baseline feb41d7 --data ../shared/data/sst2/test.txt
    python benchmarks/inference.py models/atis --quantize        # adds the int8 model (and its accuracy)

For each side: cold `slotfill tag "..."` wall time (median of fresh processes), batched throughput over
the test set (best of several passes), single-sentence latency p50/p99, the test figures, the network's
FLOPs per sentence and the GFLOP/s reached. Each side runs in its own process; the rounds alternate the
sides so that a busy machine slows them alike. The baseline revision runs from a `git worktree` and
reads a copy of the model whose config.json keeps only the keys that revision knows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ATIS, ROOT, sentences_per_second

SENTENCE = "i want to fly from taipei to boston"


def worker(model: str, engine: str, data: str, passes: int, calls: int) -> dict:
    """One side, measured in this process: `engine` is onnx or torch, or `baseline` (the old `load`)."""
    import slotfill.predict as predict
    from slotfill.readers import read_atis, read_labelled

    started = time.perf_counter()
    predictor = predict.load(model) if engine == "baseline" else predict.load(model, engine)
    load_seconds = time.perf_counter() - started
    tagger = predictor.task == "tagger"
    examples = read_atis(data) if tagger else read_labelled(data)
    texts = [" ".join(e.tokens) for e in examples]
    run = predictor.tag_batch if tagger else predictor.classify_batch
    throughput = sentences_per_second(run, texts, passes)
    latencies = []
    for i in range(calls):
        started = time.perf_counter()
        run([texts[i % len(texts)]])
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    metrics = predictor.evaluate(examples)
    return {
        "sentences_per_second": throughput,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "load_seconds": load_seconds,
        "score": metrics["f1"] if tagger else metrics["accuracy"],
        "tokens_per_sentence": sum(len(e.tokens) for e in examples) / len(examples),
    }


def agreement(model: Path, data: Path) -> str:
    """Both engines of this revision over the whole test set: sentences whose tags, intent or label
    differ, and the largest difference of a probability."""
    from slotfill.predict import load
    from slotfill.readers import read_atis, read_labelled

    onnx, torch = load(model, "onnx"), load(model, "torch")
    tagger = onnx.task == "tagger"
    texts = [" ".join(e.tokens) for e in (read_atis(data) if tagger else read_labelled(data))]
    a, b = (onnx.tag_batch(texts), torch.tag_batch(texts)) if tagger else (onnx.classify_batch(texts), torch.classify_batch(texts))
    if tagger:
        differ = sum(x["tags"] != y["tags"] or x.get("intent", {}).get("label") != y.get("intent", {}).get("label") for x, y in zip(a, b))
        gap = max((abs(x["intent"]["score"] - y["intent"]["score"]) for x, y in zip(a, b) if "intent" in x), default=0.0)
    else:
        differ = sum(x["label"] != y["label"] for x, y in zip(a, b))
        gap = max(abs(x["scores"][k] - y["scores"][k]) for x, y in zip(a, b) for k in x["scores"])
    return f"onnx vs torch over {len(texts)} sentences: {differ} differ, largest probability difference {gap:.2e}"


def cold_seconds(model: Path, engine: str, env: dict, runs: int) -> float:
    """Median wall time of `slotfill tag/classify` in fresh processes."""
    task = json.loads((model / "config.json").read_text())["task"]
    command = [sys.executable, "-m", "slotfill", "tag" if task == "tagger" else "classify", "--model", str(model), SENTENCE]
    if engine != "baseline":
        command[4:4] = ["--engine", engine]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def flops_per_token(model: Path, data: Path) -> float:
    """The network's FLOPs per token on `data` (2 per multiply-add), read off the loaded network and the
    feature arrays it is given: the matrix products and convolutions that PyTorch's FlopCounterMode counts
    (word representations, output layers), plus the recurrent layers, which it does not count: 2 x their
    weights per token (weight_ih and weight_hh, all gates, both directions)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from slotfill.nn.batch import Batch
    from slotfill.nn.build import network
    from slotfill.predict import load

    predictor = load(model, "torch")
    net = network(predictor).eval()
    features = predictor.featurizer.batch([e.tokens for e in predictor.read(predictor.config, data)])
    tokens = int(features.lengths.sum())
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net.outputs(Batch.of(features))
    recurrent = sum(w.numel() for name, w in net.encoder.rnn.named_parameters() if name.startswith("weight_"))
    return counter.get_total_flops() / tokens + 2 * recurrent


def baseline_tree(revision: str, folder: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True, capture_output=True)
    return folder


def baseline_model(model: Path, tree: Path, folder: Path) -> Path:
    """A copy of the model directory whose config.json the old revision accepts."""
    script = ("import dataclasses, json, sys; from slotfill.config import Config\n"
              "def keep(cls, raw):\n"
              "    fields = {f.name: f.type for f in dataclasses.fields(cls)}\n"
              "    hints = __import__('typing').get_type_hints(cls)\n"
              "    return {k: keep(hints[k], v) if dataclasses.is_dataclass(hints[k]) else v for k, v in raw.items() if k in fields}\n"
              "print(json.dumps(keep(Config, json.load(open(sys.argv[1])))))")
    # run in the old tree: `python -c` puts the working directory first on the path, where this checkout would win
    done = subprocess.run([sys.executable, "-c", script, str((model / "config.json").resolve())], env={"PYTHONPATH": str(tree)},
                          cwd=tree, check=True, capture_output=True, text=True)
    shutil.copytree(model, folder, ignore=shutil.ignore_patterns("model.onnx"))
    (folder / "config.json").write_text(done.stdout)
    return folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--data", type=Path, default=ATIS / "test", help="test data [ATIS test]")
    p.add_argument("--baseline", help="a git revision to compare with (e.g. feb41d7)")
    p.add_argument("--engines", nargs="+", default=["onnx", "torch"])
    p.add_argument("--quantize", action="store_true", help="also an int8 export of the model")
    p.add_argument("--passes", type=int, default=5)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--cold", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--worker", metavar="ENGINE", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(str(args.model), args.worker, str(args.data), args.passes, args.calls)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        sides = {engine: (args.model.resolve(), engine, {"PYTHONPATH": str(ROOT)}) for engine in args.engines}
        if args.quantize:
            int8 = Path(tmp) / "int8"
            shutil.copytree(args.model, int8)
            subprocess.run([sys.executable, "-m", "slotfill", "export", str(int8), "--quantize"], check=True)
            sides["onnx-int8"] = (int8, "onnx", {"PYTHONPATH": str(ROOT)})
        if args.baseline:
            tree = baseline_tree(args.baseline, Path(tmp) / "baseline")
            sides[f"baseline {args.baseline}"] = (baseline_model(args.model, tree, Path(tmp) / "old-model"), "baseline", {"PYTHONPATH": str(tree)})
        try:
            results = measure(sides, args)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(tmp) / "baseline")], capture_output=True)
    report(results, flops_per_token(args.model, args.data), args)
    if {"onnx", "torch"} <= set(args.engines):
        print(agreement(args.model, args.data))


def measure(sides: dict, args: argparse.Namespace) -> dict:
    import os

    results: dict = {}
    for round_ in range(args.rounds):
        for name, (model, engine, env) in sides.items():
            env = {**os.environ, **env}
            command = [sys.executable, __file__, str(model), "--worker", engine, "--data", str(args.data),
                       "--passes", str(args.passes), "--calls", str(args.calls)]
            done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            found = json.loads(done.stdout.strip().splitlines()[-1])
            found["cold_seconds"] = cold_seconds(model, engine, env, args.cold)
            previous = results.get(name)
            if previous is None:
                results[name] = found
            else:  # the best of the rounds for each figure
                for key in ("sentences_per_second",):
                    previous[key] = max(previous[key], found[key])
                for key in ("p50_ms", "p99_ms", "cold_seconds", "load_seconds"):
                    previous[key] = min(previous[key], found[key])
            print(f"round {round_ + 1} {name}: " + json.dumps({k: round(v, 4) for k, v in found.items()}), flush=True)
    return results


def report(results: dict, flops_token: float, args: argparse.Namespace) -> None:
    first = next(iter(results.values()))
    flops = flops_token * first["tokens_per_sentence"]
    print(f"\n{args.model} on {args.data} ({first['tokens_per_sentence']:.1f} tokens a sentence, "
          f"{flops / 1e6:.2f} MFLOP a sentence), best of {args.rounds} rounds")
    header = f"{'side':<22} {'cold tag (s)':>12} {'sentences/s':>12} {'p50 (ms)':>9} {'p99 (ms)':>9} {'GFLOP/s':>8} {'score':>7}"
    print(header)
    for name, r in results.items():
        print(f"{name:<22} {r['cold_seconds']:12.3f} {r['sentences_per_second']:12,.0f} {r['p50_ms']:9.2f} "
              f"{r['p99_ms']:9.2f} {flops * r['sentences_per_second'] / 1e9:8.1f} {100 * r['score']:7.2f}")
    names = list(results)
    for other in names[1:]:
        a, b = results[names[0]], results[other]
        print(f"{names[0]} vs {other}: throughput x{a['sentences_per_second'] / b['sentences_per_second']:.2f}, "
              f"cold start x{b['cold_seconds'] / a['cold_seconds']:.2f} faster")


if __name__ == "__main__":
    main()
