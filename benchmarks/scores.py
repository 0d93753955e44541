"""What slot scores cost: tagging throughput with the decoder's span probabilities on and off, in one run.

    python benchmarks/scores.py models/atis                                  # the ATIS test set
    python benchmarks/scores.py models/flights --data data/flights/dev.jsonl

Tags every sentence of the data (raw text, `tag_batch`) with `scores=True` and `scores=False`, alternating
the two in rounds so that a busy machine slows both alike; prints the best round's sentences/s of each and
their ratio (the budget: scores on keeps at least 85% of the throughput).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import ATIS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--data", type=Path, default=ATIS / "test", help="tagged data, any format [the ATIS test set]")
    p.add_argument("--engine", default="auto")
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()

    from slotfill.predict import load
    from slotfill.readers import read_tagged

    tagger = load(args.model, args.engine)
    texts = [" ".join(s.tokens) for s in read_tagged(args.data)]
    tagger.tag_batch(texts[:64])  # warm-up
    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.rounds):
        for scores in (True, False):
            started = time.perf_counter()
            tagger.tag_batch(texts, scores=scores)
            best[scores] = min(best[scores], time.perf_counter() - started)
    on, off = len(texts) / best[True], len(texts) / best[False]
    print(f"model {args.model} ({tagger.engine}, {len(tagger.tags)} tags), data {args.data}: {len(texts)} sentences, "
          f"best of {args.rounds} rounds")
    print(f"scores off  {off:8.1f} sentences/s")
    print(f"scores on   {on:8.1f} sentences/s")
    print(f"ratio on/off {on / off:.3f}")


if __name__ == "__main__":
    main()
