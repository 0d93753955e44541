"""Cross-validation (`slotfill evaluate --folds K CONFIG`): the configured training data split into K folds
stratified by intent (or class), a model trained on each K - 1 and tested on the one left, figures as mean ± sd."""

from __future__ import annotations

import copy
import random
import statistics
import tempfile
from collections import defaultdict

from ..config import Config
from ..errors import SlotfillError
from ..formats.base import Corpus
from ..predict import Predictor
from .training import hold_out, train


def stratified_folds(strata: list[str], folds: int, seed: int) -> list[int]:
    """Each example's fold: the examples of each stratum shuffled and dealt round the folds in turn, starting
    where the last stratum stopped, so folds differ in size by one at most."""
    rng = random.Random(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, stratum in enumerate(strata):
        groups[stratum].append(i)
    fold_of, turn = [0] * len(strata), 0
    for stratum in sorted(groups):
        members = groups[stratum]
        rng.shuffle(members)
        for i in members:
            fold_of[i] = turn % folds
            turn += 1
    return fold_of


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def cross_validate(config: Config, folds: int) -> dict:
    """Train and test once per fold; each fold's dev data is a tenth of its training part. Returns the headline
    figures and each label's F1 as mean and sd over the folds, and each fold's figures."""
    kind = Predictor.kind(config.task)
    examples = kind.read(config, config.data.train)
    if not 2 <= folds <= len(examples):
        raise SlotfillError(f"--folds must be from 2 to the number of training examples ({len(examples)}), not {folds}")
    config = copy.deepcopy(config)
    config.data.dev, config.data.test, config.train.onnx = "", "", False
    fold_of = stratified_folds([kind.stratum(e) for e in examples], folds, config.train.seed)
    results = []
    for k in range(folds):
        rest = Corpus([e for e, f in zip(examples, fold_of) if f != k], getattr(examples, "synonyms", {}))
        with tempfile.TemporaryDirectory(prefix="slotfill-fold-") as output:
            predictor, _ = train(config, output, sets=hold_out(rest, config.train.seed))
            results.append(predictor.evaluate([e for e, f in zip(examples, fold_of) if f == k]))
    headline = [name for name, value in results[0].items() if isinstance(value, float)]
    per_label = defaultdict(list)
    for result in results:
        for label, figures in (result.get("per_label") or result["per_class"]).items():
            per_label[label].append(figures["f1"])
    return {
        "folds": folds,
        "figures": {name: _spread([r[name] for r in results]) for name in headline},
        "per_label_f1": {label: {**_spread(values), "folds": len(values)} for label, values in sorted(per_label.items())},
        "each_fold": results,
    }


def format_cross_validation(result: dict) -> str:
    """The figures as `slotfill evaluate --folds` prints them, in percent."""
    width = max(len(k) for k in [*result["figures"], *result["per_label_f1"], "label"])
    lines = [f"{result['folds']}-fold cross-validation (mean ± sd over the folds)"]
    lines += [f"{name:<{width}}  {100 * s['mean']:6.2f} ± {100 * s['sd']:.2f}" for name, s in result["figures"].items()]
    lines += ["", f"{'label':<{width}}  F1 (folds where it occurs)"]
    lines += [f"{label:<{width}}  {100 * s['mean']:6.2f} ± {100 * s['sd']:.2f}  ({s['folds']})" for label, s in result["per_label_f1"].items()]
    return "\n".join(lines)
