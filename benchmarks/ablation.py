"""Word-representation ablation on ATIS: each representation alone and the best combination.
Prints a Markdown table: test span F1, F1 on a noisy copy of the test set (one random character
edit in 10% of the tokens, fixed seed) and the drop, training wall time, parameters.

    python benchmarks/ablation.py                       # every configs/atis-*.toml below
    python benchmarks/ablation.py configs/atis-hashed.toml configs/atis-learned.toml
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from common import ROOT, run_atis

CONFIGS = ["atis-learned", "atis-onehot", "atis-hashed", "atis-word2vec", "atis-joint"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", type=Path, default=[ROOT / "configs" / f"{c}.toml" for c in CONFIGS])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "models" / "ablation")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    logging.basicConfig(format="%(message)s", level=logging.WARNING)

    rows = {}
    for config in args.configs:
        result = run_atis(config, args.seed, args.output / config.stem, noisy=True)
        rows[config.stem] = result
        print(f"{config.stem}: " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}), flush=True)
    print("\n| config | test F1 | noisy-test F1 | drop | training (s) | parameters |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {100 * r['f1']:.2f} | {100 * r['noisy_f1']:.2f} | {100 * (r['f1'] - r['noisy_f1']):.2f} "
              f"| {r['train_seconds']:.0f} | {r['parameters']:,} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
