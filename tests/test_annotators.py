"""slotfill.formats.annotators: doccano JSON Lines and Label Studio JSON exports read from files; which
annotation is read, offsets checked against the text, and bad input."""

import json
from pathlib import Path

import pytest

from slotfill.errors import SlotfillError
from slotfill.readers import read_labelled, read_tagged


def jsonl(path: Path, *objects) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\r\n" for o in objects), encoding="utf-8")
    return path


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def error(*args, **kwargs) -> str:
    with pytest.raises(SlotfillError) as info:
        read_tagged(*args, **kwargs)
    return str(info.value)


def test_doccano_both_shapes_with_and_without_a_category(tmp_path):
    path = jsonl(tmp_path / "doccano.jsonl",
                 {"id": 1, "text": "fly to Boston", "label": [[7, 13, "city"]]},
                 {"id": 2, "text": "Sexy Dance 2times", "entities": [{"id": 5, "start_offset": 0, "end_offset": 12, "label": "album"}],
                  "cats": ["PlayMusic"]},
                 {"text": "good film", "label": ["positive"]})  # a text-classification export
    sentences = read_tagged(path)
    assert [(s.tokens, s.tags, s.intent) for s in sentences] == [
        (["fly", "to", "Boston"], ["O", "O", "B-city"], None),
        (["Sexy", "Dance", "2", "times"], ["B-album", "I-album", "I-album", "O"], "PlayMusic"),  # split where digit meets letter
        (["good", "film"], ["O", "O"], "positive"),
    ]
    categorised = jsonl(tmp_path / "cats.jsonl", *map(json.loads, path.read_text(encoding="utf-8").splitlines()[1:]))
    assert [(e.tokens, e.label) for e in read_labelled(categorised)] == [
        (["Sexy", "Dance", "2times"], "PlayMusic"), (["good", "film"], "positive")]


@pytest.mark.parametrize("obj, message", [
    ({"text": "to boston", "label": [[3, 6, "city"]]}, "slot 'city' at 3-6 cuts through a token (the token at 3-9)"),
    ({"text": "to boston", "label": [[3, 99, "city"]]}, "slot 'city' at 3-99 lies outside the text (0-9)"),
    ({"text": "to boston", "label": "city"}, "\"label\" must be a list of [start, end, \"type\"]"),
    ({"text": "to boston", "entities": [{"start_offset": 3, "label": "city"}]}, "needs integer \"start\", \"end\" and a \"label\""),
    ({"text": "to boston", "entities": [], "cats": ["a", "b"]}, "2 categories (a, b); a sentence takes one intent"),
])
def test_bad_doccano_names_the_line(tmp_path, obj, message):
    path = jsonl(tmp_path / "doccano.jsonl", {"text": "ok", "entities": []}, obj)
    assert error(path).startswith(f"{path}:2: ") and message in error(path)


def region(start, end, text, *labels):
    return {"type": "labels", "from_name": "label", "to_name": "text",
            "value": {"start": start, "end": end, "text": text, "labels": list(labels)}}


def choice(*names):
    return {"type": "choices", "value": {"choices": list(names)}}


def test_label_studio_annotation_choice_cancelled_and_utf16_offsets(tmp_path, caplog):
    tasks = [
        {"id": 1, "data": {"text": "fly to Boston"}, "annotations": [
            {"id": 10, "updated_at": "2024-01-02T00:00:00Z", "result": [region(7, 13, "Boston", "city"), choice("book")]},
            {"id": 11, "updated_at": "2024-03-01T00:00:00Z", "result": [region(7, 13, "Boston", "toloc"), choice("book")]},
            {"id": 12, "updated_at": "2024-05-01T00:00:00Z", "was_cancelled": True, "result": []}]},
        {"id": 2, "data": {"text": "😀 to 台北"}, "annotations": [  # the browser counts 😀 as two UTF-16 units
            {"id": 20, "ground_truth": True, "updated_at": "2023-01-01", "result": [region(6, 8, "台北", "city")]},
            {"id": 21, "updated_at": "2024-01-01", "result": []}]},
        {"id": 3, "data": {"text": "skipped"}, "annotations": [{"was_cancelled": True, "result": []}]},
        {"id": 4, "data": {"text": "rated"}, "annotations": [{"result": [{"type": "rating", "value": {"rating": 3}}]}]},
    ]
    path = write_json(tmp_path / "export.json", tasks)
    sentences = read_tagged(path)
    assert [(s.tokens, s.tags, s.intent) for s in sentences] == [
        (["fly", "to", "Boston"], ["O", "O", "B-toloc"], "book"),  # the newest annotation
        (["😀", "to", "台", "北"], ["O", "O", "B-city", "I-city"], None),  # the ground truth, though older
        (["rated"], ["O"], None),
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"notice: {path}: 2 cancelled annotation(s) passed over, 1 task(s) without an annotation skipped, 1 rating result(s) ignored"]


def test_label_studio_text_column(tmp_path):
    tasks = [{"data": {"utterance": "to Boston", "id": 3}, "annotations": [{"result": [region(3, 9, "Boston", "city")]}]}]
    path = write_json(tmp_path / "export.json", tasks)
    assert read_tagged(path)[0].tags == ["O", "B-city"]  # the one text field of data
    assert read_tagged(path, text_column="utterance")[0].tags == ["O", "B-city"]
    tasks[0]["data"]["other"] = "x"
    write_json(path, tasks)
    assert error(path) == f"{path}: task [0]: no text in data.text (data has: utterance, id, other; data.text_column names the field)"


@pytest.mark.parametrize("result, message", [
    ([region(3, 9, "Denver", "city")], "region 3-9 holds 'Boston', not its text 'Denver'"),
    ([region(3, 6, "Bos", "city")], "slot 'city' at 3-6 cuts through a token"),
    ([choice("a", "b")], "2 categories (a, b); a sentence takes one intent"),
    ([{"type": "labels", "value": {"start": 3, "labels": ["city"]}}], "a labels region needs integer start, end and labels"),
])
def test_bad_label_studio_names_the_task(tmp_path, result, message):
    tasks = [{"id": 1, "data": {"text": "ok"}, "annotations": [{"result": []}]},
             {"id": 7, "data": {"text": "to Boston"}, "annotations": [{"result": result}]}]
    path = write_json(tmp_path / "export.json", tasks)
    assert error(path).startswith(f"{path}: task [1] (id 7): {message}")


def test_classifier_needs_a_label_per_sentence(tmp_path):
    path = jsonl(tmp_path / "doccano.jsonl", {"text": "good", "cats": ["pos"]}, {"text": "bad", "label": []})
    with pytest.raises(SlotfillError) as info:
        read_labelled(path)
    assert str(info.value) == f"{path}:2: no intent or category: a classifier needs one label for each sentence"
