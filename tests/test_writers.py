"""slotfill.formats.writers: Rasa YAML and Snips JSON written, and every pair of formats round-tripped
(through files, and through `slotfill convert`), English and Chinese."""

import itertools

import pytest
from click.testing import CliRunner

from slotfill.cli import main
from slotfill.errors import SlotfillError
from slotfill.formats.base import Corpus, TaggedSentence
from slotfill.readers import read_tagged, write_atis, write_conll, write_rasa, write_snips, write_tagged_jsonl

SENTENCES = Corpus([
    TaggedSentence(["fly", "from", "st.", "louis", "to", "Denver"], ["O", "O", "B-fromloc", "I-fromloc", "O", "B-city:to"], "atis_flight"),
    TaggedSentence(["我", "想", "从", "台", "北", "飞", "到", "Boston"], ["O", "O", "O", "B-city", "I-city", "O", "O", "B-size#1"], "订票"),
    TaggedSentence(["pay", "with", "credit", "card", "😀"], ["O", "O", "B-account_type", "I-account_type", "O"], "yes"),
], synonyms={"credit card": "credit", "大苹果": "纽约"}, regexes={"zipcode": ["[0-9]{5}"]}, lookups={"city": ["Boston"]})
WRITERS = {"jsonl": (write_tagged_jsonl, "a.jsonl"), "conll": (write_conll, "a.conll"), "atis": (write_atis, "atis"),
           "rasa": (write_rasa, "a.yml"), "snips": (write_snips, "a.json")}


def plain(sentences) -> list[tuple]:
    return [(s.tokens, s.tags, s.intent) for s in sentences]


def test_rasa_file_as_written(tmp_path):
    write_rasa(tmp_path / "nlu.yml", SENTENCES)
    assert (tmp_path / "nlu.yml").read_text(encoding="utf-8") == '''version: "3.1"
nlu:
- intent: atis_flight
  examples: |
    - fly from [st. louis](fromloc) to [Denver]{"entity": "city", "role": "to"}
- intent: "订票"
  examples: |
    - 我想从[台北](city)飞到[Boston]{"entity": "size", "group": "1"}
- intent: "yes"
  examples: |
    - pay with [credit card](account_type) 😀
- synonym: credit
  examples: |
    - credit card
- synonym: "纽约"
  examples: |
    - 大苹果
- regex: zipcode
  examples: |
    - [0-9]{5}
- lookup: city
  examples: |
    - Boston
'''


@pytest.mark.parametrize("first, second", list(itertools.permutations(WRITERS, 2)))
def test_every_pair_round_trips(tmp_path, first, second):
    (write_a, name_a), (write_b, name_b) = WRITERS[first], WRITERS[second]
    write_a(tmp_path / name_a, SENTENCES)
    read = read_tagged(tmp_path / name_a)
    write_b(tmp_path / f"b-{name_b}", read)
    again = read_tagged(tmp_path / f"b-{name_b}")
    assert plain(read) == plain(again) == plain(SENTENCES)
    if {first, second} <= {"rasa", "snips"}:  # the formats that hold synonyms keep them
        assert again.synonyms == SENTENCES.synonyms


def test_writers_need_an_intent_and_markup_safe_text(tmp_path):
    no_intent = [TaggedSentence(["hi"], ["O"], "greet"), TaggedSentence(["to", "x"], ["O", "B-city"])]
    for writer in (write_rasa, write_snips):
        with pytest.raises(SlotfillError, match="sentence 2 has no intent"):
            writer(tmp_path / "out", no_intent)
    with pytest.raises(SlotfillError, match=r"sentence 1 \('see \[1\]'\) holds a bracket"):
        write_rasa(tmp_path / "out.yml", [TaggedSentence(["see", "[", "1", "]"], ["O"] * 4, "cite", "see [1]", [(0, 3), (4, 5), (5, 6), (6, 7)])])


def test_convert_to_rasa_and_snips_and_back(tmp_path):
    runner = CliRunner()
    write_rasa(tmp_path / "nlu.yml", SENTENCES)
    for source, target, to in [("nlu.yml", "snips.json", "snips"), ("snips.json", "back.yml", "rasa"), ("back.yml", "back.jsonl", "jsonl")]:
        result = runner.invoke(main, ["convert", str(tmp_path / source), str(tmp_path / target), "--to", to])
        assert result.exit_code == 0 and result.output.endswith(f"3 sentences written to {tmp_path / target}\n"), result.output
    assert plain(read_tagged(tmp_path / "back.jsonl")) == plain(SENTENCES)
    result = runner.invoke(main, ["convert", str(tmp_path / "nlu.yml"), str(tmp_path / "snips.json"), "--to", "snips"])
    assert result.exit_code == 1 and result.output.startswith("error: ") and "--force" in result.output  # the output guard


def test_convert_bad_rasa_is_one_line(tmp_path):
    bad = tmp_path / "nlu.yml"
    bad.write_text("nlu:\n- intent: fly\n  examples: |\n    - to [Boston(city)\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(bad), str(tmp_path / "x.json"), "--to", "snips"])
    assert result.exit_code == 1 and result.output.startswith(f"error: {bad}:4: unbalanced") and result.output.count("\n") == 1
    assert not (tmp_path / "x.json").exists()
