"""The README's first command: `slotfill train` with no arguments, then `slotfill tag` on new sentences."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from slotfill.cli import main

# Sentences the demo never saw: kansas city, montreal and oslo occur only in the dev split, and the
# phrasings differ from the generator's templates.
UNSEEN = {
    "please find a flight from oslo to montreal": {"fromloc.city_name": "oslo", "toloc.city_name": "montreal"},
    "i need to get to kansas city from montreal": {"fromloc.city_name": "montreal", "toloc.city_name": "kansas city"},
    "leave oslo on november 2nd": {"fromloc.city_name": "oslo"},
    "arrive oslo on november 2nd": {"toloc.city_name": "oslo"},
}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """Run the default training in a fresh working directory, as a new user would."""
    where = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        result = CliRunner().invoke(main, ["train"])
    assert result.exit_code == 0, result.output
    assert "model saved to models/flights" in result.output
    return where


def test_default_demo_tags_departure_and_destination_by_context(demo_dir, monkeypatch):
    monkeypatch.chdir(demo_dir)
    result = CliRunner().invoke(main, ["tag", "--json", *UNSEEN])
    assert result.exit_code == 0, result.output
    for line in result.output.splitlines():
        tagged = json.loads(line)
        found = {s["label"]: s["text"] for s in tagged["slots"] if s["label"].endswith("city_name")}
        assert found == UNSEEN[tagged["text"]], tagged


def test_default_demo_human_output(demo_dir, monkeypatch):
    monkeypatch.chdir(demo_dir)
    result = CliRunner().invoke(main, ["tag", "I'd like to fly from Boston to Denver"])
    assert result.exit_code == 0, result.output
    assert "fromloc.city_name" in result.output and "Boston  [21:27]" in result.output


def test_sentiment_demo(tmp_path, monkeypatch):
    from slotfill.cli import PROJECT

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(PROJECT / "configs" / "sentiment-demo.toml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["classify", "--json", "a joyful film with a superb cast", "a dull, lifeless mess"])
    assert result.exit_code == 0, result.output
    labels = [json.loads(line)["label"] for line in result.output.splitlines()]
    assert labels == ["positive", "negative"]
