"""Training speed: the same ATIS epochs with the code of an earlier revision and with this checkout, in one run.

Each side trains in its own subprocess (PYTHONPATH pointing at its code, its own defaults, e.g. threads),
on the same config file (the earlier revision's, so both know every key; with --own-configs, each side's
own configs/CONFIG) and data; the sides alternate `--rounds` times and the median seconds per epoch
(training pass and dev evaluation) give the ratio.

    python benchmarks/train_speed.py                                   # feb41d7 vs this checkout, atis.toml
    python benchmarks/train_speed.py --own-configs                     # each side's shipped atis.toml
    python benchmarks/train_speed.py --config atis-joint.toml --set train.threads=1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from common import ATIS, ROOT

RUN = """
import json, sys
from slotfill.config import load_config
try:
    from slotfill.nn.training import train
except ImportError:  # before slotfill.nn
    from slotfill.training import train
import slotfill
config_path, output, *overrides = sys.argv[1:]
_, metrics = train(load_config(config_path, overrides), output)
print(json.dumps({"code": slotfill.__file__, "seconds": [e["seconds"] for e in metrics["history"]["epochs"]]}))
"""


def extract(revision: str, into: Path) -> Path:
    """The files of `revision` (git archive) in `into`."""
    archive = into / "code.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", revision], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "code", filter="data")
    return into / "code"


def epoch_seconds(code: Path, config: Path, output: Path, overrides: list[str]) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", RUN, str(config), str(output), *overrides], env=env, cwd=code,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"training with {code} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["code"]).resolve().is_relative_to(code.resolve()), result["code"]  # the intended code ran
    return result["seconds"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="feb41d7", help="the earlier git revision [feb41d7]")
    p.add_argument("--config", default="atis.toml", help="a config file name in the base revision's configs/ [atis.toml]")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--own-configs", action="store_true", help="each side trains with its own configs/CONFIG")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="applied to both sides")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        tmp = Path(tmp)
        base = extract(args.base, tmp)
        overrides = [f"data.{split}='{ATIS / split}'" for split in ("train", "dev")] + [
            "data.test=''", f"train.epochs={args.epochs}", "train.seed=1", *args.overrides]
        sides = {f"{args.base} (before)": base, "this checkout (after)": ROOT}
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(1, args.rounds + 1):
            for side, (name, code) in enumerate(sides.items()):
                config = (code if args.own_configs else base) / "configs" / args.config
                got = epoch_seconds(code, config, tmp / f"model-{round_}-{side}", overrides)
                seconds[name] += got
                print(f"round {round_}  {name:<24} " + " ".join(f"{s:.1f}" for s in got) + " s/epoch", flush=True)
    before, after = (statistics.median(v) for v in seconds.values())
    which = "each side's own" if args.own_configs else f"{args.base}'s"
    print(f"\n{which} {args.config} {' '.join(args.overrides)}: median seconds per epoch (training + dev evaluation)")
    print(f"  before ({args.base})  {before:.1f}")
    print(f"  after               {after:.1f}")
    print(f"  speed-up            {before / after:.2f}x")


if __name__ == "__main__":
    main()
