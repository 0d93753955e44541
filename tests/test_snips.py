"""slotfill.formats.snips (and the text decoding it leans on): Snips datasets and benchmark files read from
real files, with abutting chunks, CESU-8 emoji and bad input."""

import json
from pathlib import Path

import pytest

from slotfill.errors import SlotfillError
from slotfill.readers import read_labelled, read_tagged

DATASET = {
    "language": "en",
    "intents": {"PlayMusic": {"utterances": [
        {"data": [{"text": "play "}, {"text": "Sexy Dance 2", "entity": "album", "slot_name": "album_name"}, {"text": "times"}]},
        {"data": [{"text": "book a table at "}, {"text": "Paris", "entity": "city", "slot_name": "location"}]},
    ]}},
    "entities": {"city": {"data": [{"value": "new york", "synonyms": ["big apple", "NYC"]}], "use_synonyms": True},
                 "album": {"data": [{"value": "x", "synonyms": ["y"]}], "use_synonyms": False},
                 "snips/datetime": {}},
}
BENCHMARK = {"GetWeather": [{"data": [{"text": "is it windy in "}, {"text": "Boston", "entity": "city"}, {"text": " 😀"}]},
                            {"data": [{"text": "天气"}, {"text": "台北", "entity": "city"}]}]}


def write_json(path: Path, value, **kwargs) -> Path:
    path.write_text(json.dumps(value, **kwargs), encoding="utf-8")
    return path


def test_dataset_slot_is_slot_name_and_abutting_chunks_split(tmp_path):
    corpus = read_tagged(write_json(tmp_path / "dataset.json", DATASET))
    assert [(s.tokens, s.tags, s.intent) for s in corpus] == [
        (["play", "Sexy", "Dance", "2", "times"], ["O", "B-album_name", "I-album_name", "I-album_name", "O"], "PlayMusic"),
        (["book", "a", "table", "at", "Paris"], ["O"] * 4 + ["B-location"], "PlayMusic"),
    ]
    assert corpus[0].text == "play Sexy Dance 2times"
    assert corpus.synonyms == {"big apple": "new york", "nyc": "new york"}  # not the album's: use_synonyms is off


def test_benchmark_files_slot_is_entity_intent_is_the_key(tmp_path):
    other = {"BookRestaurant": [{"data": [{"text": "a table for "}, {"text": "two", "entity": "party_size"}]}]}
    paths = [write_json(tmp_path / "weather.json", BENCHMARK), write_json(tmp_path / "restaurant.json", other)]
    sentences = read_tagged(paths)
    assert [(s.tokens, s.tags, s.intent) for s in sentences] == [
        (["is", "it", "windy", "in", "Boston", "😀"], ["O"] * 4 + ["B-city", "O"], "GetWeather"),
        (["天", "气", "台", "北"], ["O", "O", "B-city", "I-city"], "GetWeather"),
        (["a", "table", "for", "two"], ["O", "O", "O", "B-party_size"], "BookRestaurant"),
    ]
    assert [e.label for e in read_labelled(paths)] == ["GetWeather", "GetWeather", "BookRestaurant"]


def test_emoji_written_as_cesu8_surrogate_pairs_are_read_as_themselves(tmp_path):
    # Java and some JSON writers encode 😀 (U+1F600) as the UTF-8 bytes of its two UTF-16 surrogates
    cesu = "\ud83d\ude00".encode("utf-8", "surrogatepass")
    path = tmp_path / "weather.json"
    path.write_bytes(json.dumps(BENCHMARK, ensure_ascii=False).encode("utf-8").replace("😀".encode("utf-8"), cesu))
    assert cesu in path.read_bytes() and "😀".encode("utf-8") not in path.read_bytes()
    assert read_tagged(path)[0].tokens[-1] == "😀"


@pytest.mark.parametrize("bad, offset", [(b"\xff", 37), ("\ud83d".encode("utf-8", "surrogatepass"), 37)])
def test_a_truly_invalid_byte_names_line_and_byte_offset(tmp_path, bad, offset):
    path = tmp_path / "weather.json"
    path.write_bytes(b'{"GetWeather": [\n{"data": [{"text": "' + bad + b'"}]}]}')
    with pytest.raises(SlotfillError) as info:
        read_tagged(path)
    assert str(info.value) == f"{path}:2: not UTF-8 text (byte 0x{bad[0]:02x} at byte offset {offset})"


BAD = [  # (file content, message after the path)
    ({"language": "en", "intents": {"Play": {"utterances": []}}}, "intents.Play.utterances: intent 'Play' has no examples"),
    ({"language": "en", "intents": {"Play": {"utterances": [{"data": [{"txt": "a"}]}]}}},
     "intents.Play.utterances[0]: data[0] must be a chunk {\"text\": ...}"),
    ({"language": "en", "intents": {"Play": {"utterances": [{"text": "a"}]}}},
     "intents.Play.utterances[0]: an utterance must be {\"data\": [chunks]}"),
    ({"Play": [{"data": [{"text": "play "}, {"text": " ", "entity": "song"}]}]}, "Play[0]: slot 'song' at 5-6 covers no token"),
    ({"language": "en", "intents": {"P": {"utterances": [{"data": [{"text": "a"}]}]}},
      "entities": {"c": {"data": [{"value": "a", "synonyms": ["b"]}, {"value": "z", "synonyms": ["B"]}]}}},
     "entities.c.data[1]: synonym 'B' is mapped to 'a' and to 'z'"),
]


@pytest.mark.parametrize("content, message", BAD)
def test_bad_snips_names_the_item(tmp_path, content, message):
    path = write_json(tmp_path / "snips.json", content)
    with pytest.raises(SlotfillError) as info:
        read_tagged(path, format="snips")
    assert str(info.value) == f"{path}: {message}"


def test_json_that_does_not_parse(tmp_path):
    path = tmp_path / "snips.json"
    path.write_text('{"GetWeather": [\n  {"data": [}\n]}', encoding="utf-8")
    with pytest.raises(SlotfillError) as info:
        read_tagged(path)
    assert str(info.value).startswith(f"{path}:2: not valid JSON")
