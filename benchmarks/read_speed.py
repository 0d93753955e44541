"""Reading speed of Rasa NLU YAML: writes 100,000 examples (ten intents, two entities in most examples)
into a temporary folder and times `read_tagged` on it. Usage: python benchmarks/read_speed.py [--examples N]"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from slotfill.readers import read_tagged

CITIES = ["Boston", "Denver", "New York", "San Francisco", "台北", "Zürich", "St. Louis", "Las Vegas"]
TEMPLATES = ["fly from [{a}](fromloc) to [{b}](toloc) tomorrow morning",
             "show me flights to [{a}]{{\"entity\": \"city\", \"role\": \"to\"}} on monday",
             "what is the cheapest fare from [{a}](fromloc) to [{b}](toloc) next week please",
             "list all airlines flying out of [{a}](fromloc)",
             "i need a ticket"]


def rasa_file(path: Path, examples: int, intents: int = 10) -> Path:
    """A Rasa 3.x NLU file of `examples` examples spread over `intents` intents."""
    rng = random.Random(1)
    lines = ['version: "3.1"', "nlu:"]
    per_intent = examples // intents
    for i in range(intents):
        lines += [f"- intent: intent_{i}", "  examples: |"]
        lines += [f"    - {rng.choice(TEMPLATES).format(a=rng.choice(CITIES), b=rng.choice(CITIES))} {k}"
                  for k in range(per_intent)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = rasa_file(Path(folder) / "nlu.yml", args.examples)
        start, cpu = time.perf_counter(), time.process_time()
        sentences = read_tagged(path)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tokens = sum(len(s.tokens) for s in sentences)
    print(f"read {len(sentences):,} Rasa YAML examples ({tokens:,} tokens) in {seconds:.2f} s "
          f"({len(sentences) / seconds:,.0f} examples/s; {cpu:.2f} s of CPU time: on a busy machine the wall time is longer)")


if __name__ == "__main__":
    main()
