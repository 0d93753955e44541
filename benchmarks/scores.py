"""What slot scores cost: tagging throughput with the decoder's span probabilities on and off, in one run.

    python benchmarks/scores.py models/atis                                  # the ATIS test set
    python benchmarks/scores.py models/flights --data data/flights/dev.jsonl

Tags every sentence of the data (raw text, `tag_batch`) with `scores=True` and `scores=False`, alternating
the two in rounds so that a busy machine slows both alike; prints the best round's sentences/s of each, their
ratio, and the median of the rounds' paired ratios, which a machine shared with other jobs disturbs least
(the budget: scores on keeps at least 85% of the throughput).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import ATIS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--data", type=Path, default=ATIS / "test", help="tagged data, any format [the ATIS test set]")
    p.add_argument("--engine", default="auto")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--threads", type=int, default=0, help="engine threads (0: the engine's default)")
    args = p.parse_args()

    from slotfill.predict import load
    from slotfill.readers import read_tagged

    tagger = load(args.model, args.engine, args.threads)
    texts = [" ".join(s.tokens) for s in read_tagged(args.data)]
    tagger.tag_batch(texts[:64])  # warm-up
    times: dict[bool, list[float]] = {True: [], False: []}
    for k in range(args.rounds):
        for scores in ((True, False) if k % 2 else (False, True)):
            started = time.perf_counter()
            tagger.tag_batch(texts, scores=scores)
            times[scores].append(time.perf_counter() - started)
    on, off = len(texts) / min(times[True]), len(texts) / min(times[False])
    paired = statistics.median(b / a for a, b in zip(times[True], times[False]))
    print(f"model {args.model} ({tagger.engine}, {len(tagger.tags)} tags), data {args.data}: {len(texts)} sentences, "
          f"best of {args.rounds} rounds")
    print(f"scores off  {off:8.1f} sentences/s")
    print(f"scores on   {on:8.1f} sentences/s")
    print(f"ratio on/off {on / off:.3f} (best rounds), {paired:.3f} (median of paired rounds)")


if __name__ == "__main__":
    main()
