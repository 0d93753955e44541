"""slotfill.nn.folds: stratified folds and `slotfill evaluate --folds K CONFIG`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from slotfill.cli import main
from slotfill.config import load_config
from slotfill.nn.folds import stratified_folds
from slotfill.readers import read_tagged
from slotfill.tags import spans


def test_folds_keep_each_stratum_in_proportion():
    strata = ["a"] * 10 + ["b"] * 7 + ["c"] * 3 + ["d"]
    fold_of = stratified_folds(strata, 3, seed=1)
    sizes = Counter(fold_of)
    assert sorted(sizes) == [0, 1, 2] and max(sizes.values()) - min(sizes.values()) <= 1
    for stratum in set(strata):
        counts = Counter(f for f, s in zip(fold_of, strata) if s == stratum)
        assert max(counts.values()) - min(counts.get(k, 0) for k in range(3)) <= 1, stratum
    assert stratified_folds(strata, 3, seed=1) == fold_of and stratified_folds(strata, 3, seed=2) != fold_of


def evaluate(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["evaluate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_cross_validation_tests_every_example_once(tagger_config_file):
    status, out, err = evaluate("--folds", "3", tagger_config_file, "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["folds"] == 3 and len(result["each_fold"]) == 3
    config = load_config(tagger_config_file)
    gold = Counter(s.label for sentence in read_tagged(config.data.train) for s in spans(sentence.tags))
    tested = Counter()
    for fold in result["each_fold"]:
        tested.update({label: m["support"] for label, m in fold["per_label"].items()})
    assert +tested == gold  # each gold slot tested in exactly one fold
    f1 = [fold["f1"] for fold in result["each_fold"]]
    assert result["figures"]["f1"]["mean"] == pytest.approx(sum(f1) / 3)
    assert 0 < result["figures"]["f1"]["mean"] <= 1 and result["figures"]["intent_accuracy"]["sd"] >= 0
    assert set(result["per_label_f1"]) == {label for fold in result["each_fold"] for label in fold["per_label"]}
    status, out, _ = evaluate("--folds", "2", tagger_config_file)
    assert status == 0 and out.startswith("2-fold cross-validation (mean ± sd over the folds)\nprecision")


@pytest.mark.parametrize("args, message", [
    (("--folds", "1", "CONFIG"), "--folds must be from 2 to the number of training examples (400), not 1"),
    (("--folds", "2", "CONFIG", "DATA"), "--folds takes a CONFIG and no DATA, --errors or --format"),
    (("MODEL",), "give DATA to evaluate on (or --folds K with a CONFIG)"),
    (("--folds", "2", "CONFIG", "--errors", "3"), "--folds takes a CONFIG and no DATA, --errors or --format"),
])
def test_bad_cross_validation_arguments_are_one_line(tagger_config_file, trained_tagger, small_data, args, message):
    stand_ins = {"CONFIG": tagger_config_file, "DATA": small_data.flights_dev, "MODEL": trained_tagger.directory}
    status, _, err = evaluate(*[stand_ins.get(a, a) for a in args])
    assert status == 1 and err.startswith("error: ") and message in err and err.count("\n") == 1
