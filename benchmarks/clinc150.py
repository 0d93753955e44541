"""CLINC150 out-of-scope benchmark (../shared/data/clinc150): in-scope accuracy (a fallback counts wrong) and
out-of-scope recall, precision and F1 on the test set, three ways per seed:

- oos: trained with the `oos` examples as a class (configs/clinc150.toml), thresholds chosen on dev;
- threshold: trained without any `oos` example, thresholds chosen on dev with its `oos` examples;
- default: trained without any `oos` example, the thresholds the model saved from in-scope dev data alone.

    python benchmarks/clinc150.py --seeds 1 2 3
    python benchmarks/clinc150.py --seeds 1 2 3 --reuse      # the models in --output: calibrated again, not trained
"""

from __future__ import annotations

from pathlib import Path

from common import DATA, ROOT, parser, run_seeds

CLINC = DATA / "clinc150"
MODES = ("oos", "threshold", "default")
ROWS = [(f"{mode}: {name}", f"{mode}_{key}", scale) for mode in MODES for name, key, scale in (
    ("in-scope accuracy", "in_scope_accuracy", 100), ("out-of-scope recall", "recall", 100),
    ("out-of-scope precision", "precision", 100), ("out-of-scope F1", "f1", 100), ("AUROC", "auroc", 1))]
ROWS += [("oos: in-scope accuracy, no fallback", "oos_plain", 100), ("default: in-scope accuracy, no fallback", "default_plain", 100),
         ("oos: training wall time (s)", "oos_seconds", 1), ("default: training wall time (s)", "default_seconds", 1)]


def figures(mode: str, scope: dict) -> dict:
    return {f"{mode}_{key}": scope[key] for key in ("in_scope_accuracy", "recall", "precision", "f1", "auroc")}


def trained(config, output: Path, sets: tuple[list, list], reuse: bool):
    """(model, metrics) trained on `sets` into `output`; with `reuse`, the model already there, its temperature,
    typicality and thresholds fitted again by this code (metrics: the training's, the calibration's)."""
    from slotfill.nn.training import calibrate, train
    from slotfill.predict import load
    from slotfill import storage
    from slotfill.storage import load_metrics

    if not reuse:
        return train(config, output, force=True, sets=sets)
    (output / storage.TYPICALITY).unlink(missing_ok=True)  # refitted below (and perhaps written by older code)
    model = load(output, "torch")
    model.parts.calibration, model.parts.typicality = {}, None
    model.backend.outputs = None  # every output of the network, the sentence vectors included, as in training
    metrics = load_metrics(output)
    calibrate(model, *sets, output, metrics)
    return model, metrics


def run(config_path: Path, seed: int, output: Path, overrides: list[str], reuse: bool = False) -> dict:
    from slotfill.config import load_config
    from slotfill.predict import Predictor
    from slotfill.fallback import Fallback
    from slotfill.scope import choose

    config = load_config(config_path, [f"train.seed={seed}", *overrides])
    kind = Predictor.kind(config.task)
    train_set, dev_set, test = (kind.read(config, CLINC / f"{split}.jsonl") for split in ("train", "dev", "test"))
    inside = lambda examples: [e for e in examples if e.label != "oos"]  # noqa: E731
    result = {}
    with_oos, metrics = trained(config, output.with_name(output.name + "-oos"), (train_set, dev_set), reuse)
    result.update(figures("oos", with_oos.evaluate(test)["scope"]), oos_seconds=metrics["train_seconds"],
                  oos_plain=with_oos.evaluate(test, fallback=Fallback())["scope"]["in_scope_accuracy"])
    config.data.out_of_scope = ""
    without, metrics = trained(config, output, (inside(train_set), inside(dev_set)), reuse)
    result.update(figures("default", without.evaluate(test)["scope"]), default_seconds=metrics["train_seconds"],
                  default_plain=without.evaluate(test, fallback=Fallback())["scope"]["in_scope_accuracy"])
    dev = without.sentence_outputs([e.tokens for e in dev_set])
    chosen = choose(dev["probabilities"], without.gold_ids(dev_set), dev["typicality"], None)
    result.update(figures("threshold", without.evaluate(test, fallback=chosen)["scope"]))
    return result


def main() -> None:
    p = parser(__doc__, ROOT / "configs" / "clinc150.toml")
    p.add_argument("--reuse", action="store_true", help="calibrate and evaluate the models already in --output")
    args = p.parse_args()
    run_seeds(args, lambda seed, output: run(args.config, seed, output, args.overrides, args.reuse), ROWS)


if __name__ == "__main__":
    main()
