"""Peak memory of training with a 50,000-word vocabulary: one-hot input vs a learned embedding of
dimension 300. Each configuration trains one epoch in its own process on a synthetic corpus that
uses every word, and the process's peak RSS is read from the kernel (wait4).

    python benchmarks/onehot_memory.py
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = 50_000
CONFIGS = {
    "onehot (dim 100)": ['model.embeddings=["onehot"]', "model.onehot.dim=100"],
    "onehot (dim 300)": ['model.embeddings=["onehot"]', "model.onehot.dim=300"],
    "learned (dim 300)": ['model.embeddings=["learned"]', "model.learned.dim=300"],
}


def write_corpus(path: Path, words: int = WORDS, seed: int = 0) -> None:
    """CoNLL sentences of 10 tokens that between them use every one of `words` words once."""
    rng = random.Random(seed)
    vocab = [f"w{i:05d}" for i in range(words)]
    rng.shuffle(vocab)
    with path.open("w") as f:
        for k in range(0, words, 10):
            for w in vocab[k:k + 10]:
                f.write(f"{w}\t{rng.choice(['O', 'B-x'])}\n")
            f.write("\n")


def peak_rss_mb(args: list[str]) -> float:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{process.stderr.read().decode()}")
    return usage.ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.conll"
        write_corpus(corpus)
        print(f"synthetic corpus: {WORDS:,} distinct words, {WORDS // 10:,} sentences; one epoch, batch 32")
        for name, overrides in CONFIGS.items():
            command = [sys.executable, "-m", "slotfill", "train", "--output", f"{tmp}/model",
                       "--set", f"data.train={corpus}", "--set", f"data.dev={corpus}",
                       "--set", "train.epochs=1", "--set", "model.hidden_size=100", "--set", "model.word_dropout=0.0"]
            for item in overrides:
                command += ["--set", item]
            print(f"  {name:<20} peak RSS {peak_rss_mb(command):7.1f} MB", flush=True)


if __name__ == "__main__":
    main()
