"""slotfill.formats.detect: the format `auto` finds for each file, data as a folder or a list of paths
(in the config too), and a file whose format cannot be told."""

import json
import logging
from pathlib import Path

import pytest

from slotfill.config import load_config
from slotfill.errors import SlotfillError
from slotfill.formats.detect import data_files
from slotfill.readers import read_tagged

FILES = {  # name: (content, the format auto finds)
    "nlu.yml": ("nlu:\n- intent: fly\n  examples: |\n    - to [Boston](city)\n", "rasa"),
    "nlu.md": ("## intent:fly\n- to [Boston](city)\n", "rasa"),
    "snips.json": (json.dumps({"language": "en", "intents": {"fly": {"utterances": [
        {"data": [{"text": "to "}, {"text": "Boston", "slot_name": "city", "entity": "city"}]}]}}, "entities": {}}), "snips"),
    "bench.json": (json.dumps({"fly": [{"data": [{"text": "to "}, {"text": "Boston", "entity": "city"}]}]}), "snips"),
    "studio.json": (json.dumps([{"data": {"text": "to Boston"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 3, "end": 9, "labels": ["city"]}}, {"type": "choices", "value": {"choices": ["fly"]}}]}]}]),
        "labelstudio"),
    "doccano.jsonl": (json.dumps({"text": "to Boston", "label": [[3, 9, "city"]], "cats": ["fly"]}) + "\n", "doccano"),
    "slots.jsonl": (json.dumps({"text": "to Boston", "slots": [{"start": 3, "end": 9, "label": "city"}], "intent": "fly"}) + "\n", "jsonl"),
    "slots.json": (json.dumps({"text": "to Boston", "slots": [{"start": 3, "end": 9, "label": "city"}], "intent": "fly"}), "jsonl"),
    "columns.conll": ("to O\nBoston B-city\nfly\n", "conll"),
}


def make(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(FILES[name][0], encoding="utf-8")
    return [folder / name for name in names]


@pytest.mark.parametrize("name", FILES)
def test_auto_finds_each_format_and_reads_the_same_sentence(tmp_path, name):
    (path,) = make(tmp_path, [name])
    assert data_files(path, "auto", lambda p: "conll") == [(path, FILES[name][1])]
    (sentence,) = read_tagged(path)
    assert (sentence.tokens, sentence.tags, sentence.intent) == (["to", "Boston"], ["O", "B-city"], "fly")


def test_a_folder_reads_every_data_file_once(tmp_path, caplog):
    make(tmp_path / "data", FILES)
    with caplog.at_level(logging.WARNING, "slotfill"):
        sentences = read_tagged(tmp_path / "data")
    # columns.conll is not a data-folder extension; the same example in seven files of other formats is read
    # once from each of the tools' formats (JSON Lines is never deduplicated)
    assert len(sentences) == 3
    assert "1 file(s) not read (no NLU data, or no known format): columns.conll" in caplog.text
    assert "duplicate example(s) in all, each read once" in caplog.text


def test_a_list_of_paths_and_a_named_format(tmp_path):
    paths = make(tmp_path, ["nlu.yml", "slots.jsonl", "columns.conll", "doccano.jsonl"])
    assert [s.tags for s in read_tagged(paths[:3])] == [["O", "B-city"]] * 3
    assert [s.tags for s in read_tagged(paths[3:], format="doccano")] == [["O", "B-city"]]
    assert len(read_tagged(paths)) == 3  # the doccano line repeats the Rasa example: read once


def test_config_takes_a_list_of_paths_relative_to_the_config(tmp_path):
    config = tmp_path / "configs" / "c.toml"
    config.parent.mkdir()
    config.write_text('[data]\ntrain = ["../data/a.yml", "../data/nlu"]\ndev = "dev.jsonl"\n', encoding="utf-8")
    settings = load_config(config, ['data.test=["t.yml"]'])
    assert settings.data.train == [str((tmp_path / "data" / "a.yml").resolve()), str((tmp_path / "data" / "nlu").resolve())]
    assert settings.data.dev == str((tmp_path / "configs" / "dev.jsonl").resolve())
    assert settings.data.test == [str(Path("t.yml").resolve())]
    with pytest.raises(SlotfillError, match=r"data.train must be str or a list of str, not int \(5\)"):
        load_config(None, ["data.train=5"])


@pytest.mark.parametrize("content", ['{"rows": [1, 2]}', "[1, 2]", '{"intents": [1]}'])
def test_undetectable_json_says_what_was_tried(tmp_path, content):
    path = tmp_path / "what.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SlotfillError) as info:
        read_tagged(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot tell the format of this JSON (tried: Label Studio")
    assert all(name in message for name in ("Snips", "doccano", "JSON Lines", "data.format"))


def test_an_empty_list_and_a_folder_without_data(tmp_path):
    with pytest.raises(SlotfillError, match="the list of data paths is empty"):
        read_tagged([])
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(SlotfillError, match=f"{tmp_path}: no data file of a known format in this folder"):
        read_tagged(tmp_path)
