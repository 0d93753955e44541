"""The README's demos (no module of their own): `slotfill train` with no arguments, then `slotfill tag` on new cities."""

# `slotfill train` with no arguments (and the Chinese demo), then `slotfill tag` on sentences whose cities never
# occur in the training data, in each phrasing; and the sentiment demo.

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from slotfill.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
CITY = ("fromloc.city_name", "toloc.city_name")

# One sentence per way of naming the departure and the destination, with cities the generator keeps
# out of training (data/generate.py: ALWAYS_HELD_OUT and ZH_ALWAYS_HELD_OUT).
UNSEEN = {
    "what flights go from reykjavik to nairobi": {"fromloc.city_name": "reykjavik", "toloc.city_name": "nairobi"},
    "book a ticket to nairobi departing from reykjavik next friday": {"fromloc.city_name": "reykjavik", "toloc.city_name": "nairobi"},
    "please find a flight from oslo to montreal": {"fromloc.city_name": "oslo", "toloc.city_name": "montreal"},
    "i need to get to kansas city from montreal": {"fromloc.city_name": "montreal", "toloc.city_name": "kansas city"},
    "show me flights to buenos aires from oslo tomorrow": {"fromloc.city_name": "oslo", "toloc.city_name": "buenos aires"},
    "leaving nairobi on friday, flying to buenos aires": {"fromloc.city_name": "nairobi", "toloc.city_name": "buenos aires"},
    "i want a flight out of kansas city into reykjavik": {"fromloc.city_name": "kansas city", "toloc.city_name": "reykjavik"},
    "show me montreal bound flights from nairobi": {"fromloc.city_name": "nairobi", "toloc.city_name": "montreal"},
    "leave oslo on november 2nd": {"fromloc.city_name": "oslo"},
    "arrive oslo on november 2nd": {"toloc.city_name": "oslo"},
}
UNSEEN_ZH = {
    "我想从雷克雅未克飞到内罗毕": {"fromloc.city_name": "雷克雅未克", "toloc.city_name": "内罗毕"},
    "明天从奥斯陆出发去布宜诺斯艾利斯": {"fromloc.city_name": "奥斯陆", "toloc.city_name": "布宜诺斯艾利斯"},
    "我要到内罗毕去，从奥斯陆出发": {"fromloc.city_name": "奥斯陆", "toloc.city_name": "内罗毕"},
    "帮我订一张飞往雷克雅未克的机票": {"toloc.city_name": "雷克雅未克"},
    "我想十一月二号离开布宜诺斯艾利斯": {"fromloc.city_name": "布宜诺斯艾利斯"},
    "我想十一月二号抵达奥斯陆": {"toloc.city_name": "奥斯陆"},
    "奥斯陆到内罗毕的航班": {"fromloc.city_name": "奥斯陆", "toloc.city_name": "内罗毕"},
    "我想离开Reykjavik，飞往内罗毕": {"fromloc.city_name": "Reykjavik", "toloc.city_name": "内罗毕"},
}
# The lesson's sentences (taipei and boston are in training): always right.
LESSON = {
    "flights": {
        "i want to fly from taipei to boston": {"fromloc.city_name": "taipei", "toloc.city_name": "boston"},
        "i want to arrive taipei on november 2nd": {"toloc.city_name": "taipei"},
        "i want to leave taipei on november 2nd": {"fromloc.city_name": "taipei"},
    },
    "flights-zh": {
        "我想从台北飞到波士顿": {"fromloc.city_name": "台北", "toloc.city_name": "波士顿"},
        "我想十一月二号到达台北": {"toloc.city_name": "台北"},
        "我想十一月二号离开台北": {"fromloc.city_name": "台北"},
    },
}
UNSEEN_MISSES_ALLOWED = {"flights": 0, "flights-zh": 1}  # see HELD_OUT_RIGHT


# Share of held-out sentences with departure and destination both right: a floor below what
# `python benchmarks/demos.py --seeds 1 2 3` measures (English 97.0-97.7%, Chinese 97.0-99.3%), since
# another CPU computes other rounding and so trains a slightly different model.
HELD_OUT_RIGHT = {"flights": 0.95, "flights-zh": 0.95}


def cities(slots: list[dict], text: str | None = None) -> dict:
    return {s["label"]: s.get("text") or text[s["start"]:s["end"]] for s in slots if s["label"] in CITY}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module", params=["flights", "flights-zh"])
def demo(request, tmp_path_factory):
    """Train a demo in a fresh working directory, as a new user would: (name, directory)."""
    name = request.param
    where = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        result = CliRunner().invoke(main, ["train"] if name == "flights" else ["train", f"configs/{name}.toml"])
    assert result.exit_code == 0, result.output
    assert f"model saved to models/{name}" in result.output
    return name, where


def tag(where: Path, model: str, texts) -> list[dict]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        result = CliRunner().invoke(main, ["tag", "--json", "--model", f"models/{model}", *texts])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_held_out_cities_never_occur_in_training(demo):
    name, _ = demo
    seen = {c for r in rows(DATA / name / "train.jsonl") + rows(DATA / name / "dev.jsonl") for c in cities(r["slots"], r["text"]).values()}
    held_out = {c for r in rows(DATA / name / "test.jsonl") for c in cities(r["slots"], r["text"]).values()}
    assert len(held_out) >= 20 and not held_out & seen
    unseen = UNSEEN if name == "flights" else UNSEEN_ZH
    written = {c for want in unseen.values() for c in want.values()}
    assert not written & seen
    train_text = (DATA / name / "train.jsonl").read_text(encoding="utf-8").lower()
    assert all(c.lower() not in train_text for c in written)


def test_demo_lesson_sentences(demo):
    name, where = demo
    for tagged in tag(where, name, LESSON[name]):
        assert cities(tagged["slots"]) == LESSON[name][tagged["text"]], tagged


def test_demo_places_unseen_cities_by_context(demo):
    name, where = demo
    unseen = UNSEEN if name == "flights" else UNSEEN_ZH
    missed = [(t["text"], cities(t["slots"])) for t in tag(where, name, unseen) if cities(t["slots"]) != unseen[t["text"]]]
    assert len(missed) <= UNSEEN_MISSES_ALLOWED[name], missed


def test_demo_held_out_sentences(demo):
    """Generated sentences naming only held-out cities: departure and destination both right in nearly all."""
    name, where = demo
    test = rows(DATA / name / "test.jsonl")
    assert len(test) >= 200
    tagged = tag(where, name, [r["text"] for r in test])
    right = sum(cities(t["slots"]) == cities(r["slots"], r["text"]) for t, r in zip(tagged, test))
    assert right / len(test) >= HELD_OUT_RIGHT[name], f"{right}/{len(test)}"


def test_demo_human_output(demo):
    name, where = demo
    text, expected = {
        "flights": ("I'd like to fly from Boston to Denver", "fromloc.city_name  Boston  [21:27]"),
        "flights-zh": ("我想从台北飞到波士顿", "fromloc.city_name  台北  [3:5]"),
    }[name]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        result = CliRunner().invoke(main, ["tag", "--model", f"models/{name}", text])
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_sentiment_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["train", "sentiment-demo"])  # a bundled config by name
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["classify", "--json", "a joyful film with a superb cast", "a dull, lifeless mess"])
    assert result.exit_code == 0, result.output
    labels = [json.loads(line)["label"] for line in result.output.splitlines()]
    assert labels == ["positive", "negative"]
