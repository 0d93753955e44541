"""slotfill.readers: readers and writers on small files, their errors (file and line), and the real corpora."""

import json
from pathlib import Path

import pytest

from slotfill.errors import SlotfillError
from slotfill.readers import (
    LabelledText,
    TaggedSentence,
    read_atis,
    read_conll,
    read_labelled,
    read_lines,
    read_tagged,
    read_tagged_jsonl,
    write_atis,
    write_conll,
    write_tagged_jsonl,
)
from slotfill.tags import spans

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).parents[1].parent / "shared/data"

ATIS_SLOT_LABELS = {  # the ATIS slot names data/README.md lists for data/flights
    "fromloc.city_name", "toloc.city_name", "depart_date.month_name", "depart_date.day_number",
    "depart_date.day_name", "arrive_date.month_name", "arrive_date.day_number", "depart_time.time",
    "arrive_time.time", "depart_time.period_of_day", "airline_name", "round_trip", "class_type",
    "cost_relative", "depart_date.date_relative", "depart_date.today_relative",
}
FLIGHT_INTENTS = {"atis_flight", "atis_airfare", "atis_airline", "atis_flight_time"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *objects) -> Path:
    return write(path, "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))


def error(func, *args, **kwargs) -> str:
    with pytest.raises(SlotfillError) as info:
        func(*args, **kwargs)
    return str(info.value)


# ---- read_lines ---------------------------------------------------------------------------


def test_read_lines(tmp_path):
    path = write(tmp_path / "a.txt", "one\r\ntwo\n\nthree")
    assert read_lines(path) == ["one", "two", "", "three"]


def test_read_lines_strips_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffhello\n".encode("utf-8"))
    assert read_lines(path) == ["hello"]


def test_read_lines_missing_file(tmp_path):
    path = tmp_path / "missing.txt"
    assert error(read_lines, path) == f"{path}: no such file"


def test_read_lines_folder(tmp_path):
    assert error(read_lines, tmp_path) == f"{tmp_path}: not a file"


@pytest.mark.parametrize("content", ["", "\n\n", "  \n\t\n"])
def test_read_lines_empty_file(tmp_path, content):
    path = write(tmp_path / "empty.txt", content)
    assert error(read_lines, path) == f"{path}: file is empty"


def test_read_lines_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"first line\nsecond line\n\xff\xfe bad\n")
    message = error(read_lines, path)
    assert message.startswith(f"{path}:3: ")
    assert "not UTF-8" in message and "0xff" in message


def test_read_lines_not_utf8_first_line(tmp_path):
    path = tmp_path / "utf16.txt"
    path.write_bytes(b"\xff\xfeh\x00i\x00")
    assert error(read_lines, path).startswith(f"{path}:1: not UTF-8")


# ---- ATIS folders -------------------------------------------------------------------------

SEQ_IN = "i want to fly from boston to denver\nshow flights to st. louis\nlist airlines\n"
SEQ_OUT = (
    "O O O O O B-fromloc.city_name O B-toloc.city_name\n"
    "O O O B-toloc.city_name I-toloc.city_name\n"
    "O O\n"
)
LABEL = "atis_flight\natis_flight#atis_airfare\natis_airline\n"


def atis_folder(tmp_path, seq_in=SEQ_IN, seq_out=SEQ_OUT, label=LABEL, name="atis"):
    folder = tmp_path / name
    folder.mkdir()
    write(folder / "seq.in", seq_in)
    write(folder / "seq.out", seq_out)
    if label is not None:
        write(folder / "label", label)
    return folder


def test_read_atis_with_label(tmp_path):
    folder = atis_folder(tmp_path)
    sentences = read_atis(folder)
    assert len(sentences) == 3
    first = sentences[0]
    assert first.tokens == ["i", "want", "to", "fly", "from", "boston", "to", "denver"]
    assert first.tags == ["O", "O", "O", "O", "O", "B-fromloc.city_name", "O", "B-toloc.city_name"]
    assert first.intent == "atis_flight"
    assert sentences[1].tokens == ["show", "flights", "to", "st.", "louis"]
    assert sentences[1].tags[3:] == ["B-toloc.city_name", "I-toloc.city_name"]
    assert sentences[1].intent == "atis_flight#atis_airfare"
    assert sentences[2].intent == "atis_airline"
    # read_tagged picks the ATIS reader for a folder
    assert read_tagged(folder) == sentences
    assert read_tagged(folder, format="atis") == sentences


def test_read_atis_without_label(tmp_path):
    sentences = read_atis(atis_folder(tmp_path, label=None))
    assert len(sentences) == 3
    assert all(s.intent is None for s in sentences)
    assert sentences[2].tags == ["O", "O"]


def test_read_atis_iobes_becomes_bio(tmp_path):
    folder = atis_folder(
        tmp_path,
        seq_in="fly from new york city to boston\n",
        seq_out="O O B-fromloc.city_name I-fromloc.city_name E-fromloc.city_name O S-toloc.city_name\n",
        label="atis_flight\n",
    )
    (sentence,) = read_atis(folder)
    assert sentence.tags == [
        "O", "O", "B-fromloc.city_name", "I-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name",
    ]


def test_read_atis_extra_spaces(tmp_path):
    folder = atis_folder(tmp_path, seq_in="  to   boston \n", seq_out="O\tB-toloc.city_name\n", label=None)
    (sentence,) = read_atis(folder)
    assert sentence.tokens == ["to", "boston"]
    assert sentence.tags == ["O", "B-toloc.city_name"]


def test_read_atis_misaligned_line(tmp_path):
    seq_out = SEQ_OUT.replace("O O O B-toloc.city_name I-toloc.city_name", "O O O B-toloc.city_name")
    folder = atis_folder(tmp_path, seq_out=seq_out)
    message = error(read_atis, folder)
    assert message.startswith(f"{folder / 'seq.out'}:2: ")
    assert "4 tags for 5 tokens" in message


def test_read_atis_seq_out_line_count(tmp_path):
    folder = atis_folder(tmp_path, seq_out=SEQ_OUT.split("\n", 1)[1])
    message = error(read_atis, folder)
    assert str(folder / "seq.out") in message
    assert "2 lines but seq.in has 3" in message


def test_read_atis_label_line_count(tmp_path):
    folder = atis_folder(tmp_path, label="atis_flight\n")
    message = error(read_atis, folder)
    assert str(folder / "label") in message
    assert "1 lines but seq.in has 3" in message


def test_read_atis_unknown_tag_scheme(tmp_path):
    folder = atis_folder(tmp_path, seq_out=SEQ_OUT.replace("I-toloc.city_name", "X-toloc.city_name"))
    message = error(read_atis, folder)
    assert message.startswith(f"{folder / 'seq.out'}:2: ")
    assert "'X-toloc.city_name'" in message


def test_read_atis_empty_sentence(tmp_path):
    folder = atis_folder(tmp_path, seq_in="to boston\n\nlist airlines\n", seq_out="O B-x\n\nO O\n", label=None)
    assert error(read_atis, folder) == f"{folder / 'seq.in'}:2: empty sentence"


def test_read_atis_empty_intent(tmp_path):
    folder = atis_folder(tmp_path, label="atis_flight\n \natis_airline\n")
    assert error(read_atis, folder) == f"{folder / 'label'}:2: empty intent"


def test_read_atis_empty_file(tmp_path):
    folder = atis_folder(tmp_path, seq_out="")
    assert error(read_atis, folder) == f"{folder / 'seq.out'}: file is empty"


def test_read_atis_not_utf8(tmp_path):
    folder = atis_folder(tmp_path)
    (folder / "seq.in").write_bytes(b"to boston\nto d\xe9nver\n")
    message = error(read_atis, folder)
    assert message.startswith(f"{folder / 'seq.in'}:2: not UTF-8")


def test_read_atis_missing_file(tmp_path):
    folder = atis_folder(tmp_path)
    (folder / "seq.out").unlink()
    assert error(read_atis, folder) == f"{folder / 'seq.out'}: no such file"


def test_read_atis_missing_folder(tmp_path):
    message = error(read_atis, tmp_path / "nowhere")
    assert message.startswith(f"{tmp_path / 'nowhere'}: no such folder")


# ---- CoNLL --------------------------------------------------------------------------------


def test_read_conll_tabs_docstart_trailing_blanks(tmp_path):
    path = write(
        tmp_path / "train.conll",
        "-DOCSTART-\tO\n\n"
        "show\tO\nflights\tO\nto\tO\nboston\tB-toloc.city_name\n\n\n"
        "from\tO\nst.\tB-fromloc.city_name\nlouis\tI-fromloc.city_name\n\n\n\n",
    )
    sentences = read_conll(path)
    assert [s.tokens for s in sentences] == [["show", "flights", "to", "boston"], ["from", "st.", "louis"]]
    assert sentences[0].tags == ["O", "O", "O", "B-toloc.city_name"]
    assert sentences[1].tags == ["O", "B-fromloc.city_name", "I-fromloc.city_name"]
    assert all(s.intent is None for s in sentences)
    assert read_tagged(path) == sentences


def test_read_conll_spaces_and_columns(tmp_path):
    path = write(
        tmp_path / "data.txt",
        "-DOCSTART- -X- O O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n"
        "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER",  # no final newline
    )
    sentences = read_tagged(path)
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    # the tag is the last column
    assert [s.tags for s in sentences] == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]


def test_read_conll_crlf_and_leading_blanks(tmp_path):
    path = tmp_path / "crlf.conll"
    path.write_bytes(b"\r\n\r\nto O\r\nboston B-city\r\n\r\nhi O\r\n")
    sentences = read_conll(path)
    assert [(s.tokens, s.tags) for s in sentences] == [(["to", "boston"], ["O", "B-city"]), (["hi"], ["O"])]


def test_read_conll_iobes_becomes_bio(tmp_path):
    path = write(tmp_path / "x.conll", "new\tB-city\nyork\tE-city\nto\tO\noslo\tS-city\n")
    (sentence,) = read_conll(path)
    assert sentence.tags == ["B-city", "I-city", "O", "B-city"]


def test_read_conll_one_column(tmp_path):
    path = write(tmp_path / "bad.conll", "to O\nboston B-city\n\nfrom\nx O\n")
    message = error(read_conll, path)
    assert message.startswith(f"{path}:4: ")
    assert "expected 'token tag'" in message


def test_read_conll_unknown_tag_first_token(tmp_path):
    path = write(tmp_path / "bad.conll", "to O\nboston B-city\n\nfrom X-foo\nx O\n")
    message = error(read_conll, path)
    assert message.startswith(f"{path}:4: ")
    assert "'X-foo'" in message


def test_read_conll_unknown_tag_names_its_own_line(tmp_path):
    # the bad tag is on line 6; the sentence it belongs to starts on line 4
    path = write(tmp_path / "bad.conll", "to O\nboston B-city\n\nfly O\nfrom O\ndenver B-\n")
    message = error(read_conll, path)
    assert "'B-'" in message
    assert message.startswith(f"{path}:6: ")


def test_read_conll_empty_and_missing(tmp_path):
    empty = write(tmp_path / "empty.conll", "\n")
    assert error(read_conll, empty) == f"{empty}: file is empty"
    missing = tmp_path / "missing.conll"
    assert error(read_tagged, missing) == f"{missing}: no such file"


def test_read_conll_not_utf8(tmp_path):
    path = tmp_path / "x.conll"
    path.write_bytes(b"to O\n\xff\xfe O\n")
    assert error(read_conll, path).startswith(f"{path}:2: not UTF-8")


def test_read_tagged_unknown_format(tmp_path):
    path = write(tmp_path / "x.conll", "to O\n")
    message = error(read_tagged, path, format="xml")
    assert message.startswith(f"{path}: ")
    assert "'xml'" in message and "conll" in message


# ---- JSON Lines with slots ----------------------------------------------------------------


def test_read_tagged_jsonl_offsets_to_bio(tmp_path):
    text = "Fly from St. Louis to 台北?"
    path = jsonl(
        tmp_path / "a.jsonl",
        {
            "text": text,
            "slots": [
                {"start": 9, "end": 18, "label": "fromloc.city_name"},
                {"start": 22, "end": 24, "label": "toloc.city_name"},
            ],
            "intent": "atis_flight",
        },
        {"text": "list airlines"},
    )
    first, second = read_tagged(path)
    assert first.tokens == ["Fly", "from", "St.", "Louis", "to", "台", "北", "?"]
    assert first.tags == ["O", "O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name",
                          "I-toloc.city_name", "O"]
    assert first.intent == "atis_flight"
    assert first.text == text
    assert first.offsets == [(0, 3), (4, 8), (9, 12), (13, 18), (19, 21), (22, 23), (23, 24), (24, 25)]
    assert second == TaggedSentence(["list", "airlines"], ["O", "O"], None, "list airlines", [(0, 4), (5, 13)])


def test_read_tagged_jsonl_suffixes_and_blank_lines(tmp_path):
    obj = {"text": "to boston", "slots": [{"start": 3, "end": 9, "label": "toloc.city_name"}], "intent": "atis_flight"}
    path = write(tmp_path / "a.json", "\n" + json.dumps(obj) + "\n\n" + json.dumps(obj) + "\n\n")
    sentences = read_tagged(path)
    assert len(sentences) == 2
    assert sentences[0].tags == ["O", "B-toloc.city_name"]
    assert read_tagged(path, format="jsonl") == sentences
    assert read_tagged_jsonl(path) == sentences


def test_read_tagged_jsonl_empty_slots(tmp_path):
    path = jsonl(tmp_path / "a.jsonl", {"text": "hello there", "slots": [], "intent": "greet"})
    assert read_tagged(path)[0].tags == ["O", "O"]


def test_read_tagged_jsonl_unicode_line_separator_in_text(tmp_path):
    # json.dumps(..., ensure_ascii=False) writes U+2028 and U+0085 as they are; a JSON Lines
    # reader must split lines on "\n" only, not on every Unicode line boundary.
    path = jsonl(
        tmp_path / "a.jsonl",
        {"text": "fly to boston\u2028now", "slots": [{"start": 7, "end": 13, "label": "toloc.city_name"}]},
        {"text": "fly to denver\x85please", "slots": [{"start": 7, "end": 13, "label": "toloc.city_name"}]},
    )
    sentences = read_tagged(path)
    assert len(sentences) == 2
    assert sentences[0].tags[:3] == ["O", "O", "B-toloc.city_name"]


def jsonl_error(tmp_path, bad_line) -> tuple[Path, str]:
    good = json.dumps({"text": "to boston", "slots": [{"start": 3, "end": 9, "label": "city"}]})
    path = write(tmp_path / "bad.jsonl", good + "\n" + bad_line + "\n" + good + "\n")
    return path, error(read_tagged, path)


def test_jsonl_syntax_error(tmp_path):
    path, message = jsonl_error(tmp_path, '{"text": "to boston", "slots": [}')
    assert message.startswith(f"{path}:2: invalid JSON")


@pytest.mark.parametrize("line", ['["to boston"]', '"to boston"', "3"])
def test_jsonl_not_an_object(tmp_path, line):
    path, message = jsonl_error(tmp_path, line)
    assert message == f"{path}:2: expected a JSON object"


@pytest.mark.parametrize("obj", [{"slots": []}, {"text": ""}, {"text": "   "}, {"text": 5}])
def test_jsonl_missing_text(tmp_path, obj):
    path, message = jsonl_error(tmp_path, json.dumps(obj))
    assert message == f'{path}:2: missing or empty "text"'


def test_jsonl_slot_cuts_through_a_token(tmp_path):
    # "bos" is part of the token "boston"
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "slots": [{"start": 3, "end": 6, "label": "city"}]}))
    assert message.startswith(f"{path}:2: ")
    assert "cuts through a token" in message


def test_jsonl_slot_cuts_off_the_start(tmp_path):
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "slots": [{"start": 4, "end": 9, "label": "city"}]}))
    assert message.startswith(f"{path}:2: ") and "cuts through a token" in message


@pytest.mark.parametrize("start, end", [(2, 3), (5, 5), (6, 3)])
def test_jsonl_slot_covers_nothing(tmp_path, start, end):
    # (2, 3) is the space between "to" and "boston"
    path, message = jsonl_error(
        tmp_path, json.dumps({"text": "to boston", "slots": [{"start": start, "end": end, "label": "city"}]})
    )
    assert message.startswith(f"{path}:2: ")
    assert "covers no token" in message or "cuts through" in message


def test_jsonl_slot_on_whitespace_covers_nothing(tmp_path):
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "slots": [{"start": 2, "end": 3, "label": "city"}]}))
    assert message == f"{path}:2: slot 'city' at 2-3 covers no token"


@pytest.mark.parametrize(
    "slot", [{"start": 3, "end": 9}, {"start": "3", "end": 9, "label": "city"}, {"start": 3, "label": "city"}]
)
def test_jsonl_slot_missing_fields(tmp_path, slot):
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "slots": [slot]}))
    assert message.startswith(f"{path}:2: ")
    assert "needs integer" in message


def test_jsonl_overlapping_slots_keep_the_first_with_one_notice(tmp_path, caplog):
    # BIO holds one slot per token: the slot starting first is kept, and one notice counts those dropped
    slots = [{"start": 3, "end": 9, "label": "b"}, {"start": 0, "end": 9, "label": "a"}]
    path = jsonl(tmp_path / "a.jsonl", {"text": "to boston", "slots": slots}, {"text": "to boston", "slots": slots})
    assert [s.tags for s in read_tagged(path)] == [["B-a", "I-a"]] * 2
    assert [r.getMessage() for r in caplog.records] == [
        f"notice: {path}:1: 2 overlapping slot(s) dropped in all, as BIO tags hold one slot per token (the slot starting first is kept)"]


def test_jsonl_intent_not_a_string(tmp_path):
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "intent": 3}))
    assert message == f'{path}:2: "intent" must be a string'


@pytest.mark.parametrize("slots", ["boston", [1], [["city", 3, 9]], {"start": 3, "end": 9, "label": "city"}])
def test_jsonl_slots_of_the_wrong_type(tmp_path, slots):
    # "slots" that is not a list of objects is bad input: a SlotfillError naming file and line,
    # not an AttributeError from deep inside the reader
    path = write(tmp_path / "bad.jsonl", json.dumps({"text": "to boston"}) + "\n" + json.dumps({"text": "to boston", "slots": slots}) + "\n")
    with pytest.raises(SlotfillError) as info:
        read_tagged(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_jsonl_not_utf8(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "z\xfcrich"}\n')
    assert error(read_tagged, path) == f"{path}:2: not UTF-8 text (byte 0xfc at byte offset 26)"


def test_jsonl_empty_file(tmp_path):
    path = write(tmp_path / "empty.jsonl", "")
    assert error(read_tagged, path) == f"{path}: file is empty"


# ---- writers ------------------------------------------------------------------------------

SENTENCES = [
    TaggedSentence(["fly", "from", "st.", "louis"], ["O", "O", "B-fromloc.city_name", "I-fromloc.city_name"], "atis_flight"),
    TaggedSentence(["to", "台北", "and", "zürich"], ["O", "B-toloc.city_name", "O", "B-toloc.city_name"], "atis_airfare"),
    TaggedSentence(["list", "airlines"], ["O", "O"], "atis_airline"),
]


def test_write_conll_round_trip(tmp_path):
    path = tmp_path / "out.conll"
    write_conll(path, SENTENCES)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("fly\tO\nfrom\tO\nst.\tB-fromloc.city_name\n")
    assert "louis\tI-fromloc.city_name\natis_flight\n\nto\tO\n" in text
    assert text.endswith("airlines\tO\natis_airline\n\n")
    again = read_conll(path)
    assert [(s.tokens, s.tags, s.intent) for s in again] == [(s.tokens, s.tags, s.intent) for s in SENTENCES]


def test_write_atis_round_trip(tmp_path):
    folder = tmp_path / "nested" / "atis"
    write_atis(folder, SENTENCES)
    assert (folder / "seq.in").read_text(encoding="utf-8").splitlines()[1] == "to 台北 and zürich"
    assert (folder / "label").read_text(encoding="utf-8") == "atis_flight\natis_airfare\natis_airline\n"
    assert read_atis(folder) == SENTENCES
    assert read_tagged(folder) == SENTENCES


def test_write_atis_without_intents(tmp_path):
    sentences = [TaggedSentence(s.tokens, s.tags, None if i == 1 else s.intent) for i, s in enumerate(SENTENCES)]
    write_atis(tmp_path / "atis", sentences)
    assert not (tmp_path / "atis" / "label").exists()
    again = read_atis(tmp_path / "atis")
    assert [(s.tokens, s.tags, s.intent) for s in again] == [(s.tokens, s.tags, None) for s in sentences]


def test_jsonl_to_atis_and_conll_round_trip(tmp_path):
    source = ROOT / "data" / "flights" / "dev.jsonl"
    sentences = read_tagged(source)
    write_atis(tmp_path / "atis", sentences)
    write_conll(tmp_path / "dev.conll", sentences)
    atis = read_tagged(tmp_path / "atis")
    conll = read_tagged(tmp_path / "dev.conll")
    assert [(s.tokens, s.tags, s.intent) for s in atis] == [(s.tokens, s.tags, s.intent) for s in sentences]
    assert [(s.tokens, s.tags, s.intent) for s in conll] == [(s.tokens, s.tags, s.intent) for s in sentences]


# ---- labelled sentences -------------------------------------------------------------------


def test_read_sst(tmp_path):
    path = write(tmp_path / "train.txt", "1 a great , moving film\n\n0 dull and lifeless .\n")
    examples = read_labelled(path)
    assert examples == [
        LabelledText(["a", "great", ",", "moving", "film"], "1", "a great , moving film"),
        LabelledText(["dull", "and", "lifeless", "."], "0", "dull and lifeless ."),
    ]
    assert read_labelled(path, format="sst") == examples


@pytest.mark.parametrize("line", ["1", "1 ", "0   "])
def test_sst_line_without_text(tmp_path, line):
    path = write(tmp_path / "train.txt", f"1 good\n{line}\n0 bad\n")
    assert error(read_labelled, path) == f"{path}:2: empty sentence"


def test_read_csv(tmp_path):
    path = write(tmp_path / "r.csv", 'label,text\npositive,"A moving, touching film."\nnegative,Dull.\n')
    examples = read_labelled(path)
    assert examples == [
        LabelledText(["A", "moving", ",", "touching", "film", "."], "positive", "A moving, touching film."),
        LabelledText(["Dull", "."], "negative", "Dull."),
    ]


def test_read_csv_other_columns(tmp_path):
    path = write(tmp_path / "r.csv", "id,sentence,sentiment\n1,great film,pos\n2,bad film,neg\n")
    examples = read_labelled(path, text_column="sentence", label_column="sentiment")
    assert [(e.tokens, e.label) for e in examples] == [(["great", "film"], "pos"), (["bad", "film"], "neg")]


def test_read_tsv(tmp_path):
    path = write(tmp_path / "r.tsv", "text\tlabel\ngreat, really\tpos\n\nbad\tneg\n")
    examples = read_labelled(path)
    assert [(e.tokens, e.label) for e in examples] == [(["great", ",", "really"], "pos"), (["bad"], "neg")]
    assert read_labelled(path, format="tsv") == examples


def test_csv_missing_column(tmp_path):
    path = write(tmp_path / "r.csv", "sentence,label\ngreat,pos\n")
    message = error(read_labelled, path)
    assert message.startswith(f"{path}:1: no column 'text'")
    assert "sentence, label" in message
    message = error(read_labelled, path, text_column="sentence", label_column="sentiment")
    assert message.startswith(f"{path}:1: no column 'sentiment'")


def test_csv_wrong_field_count(tmp_path):
    path = write(tmp_path / "r.csv", "text,label\ngreat,pos\ngood,film,pos\n")
    assert error(read_labelled, path) == f"{path}:3: 3 fields but the header has 2"
    path = write(tmp_path / "r2.csv", "text,label\ngreat\n")
    assert error(read_labelled, path) == f"{path}:2: 1 fields but the header has 2"


def test_csv_line_numbers_after_a_quoted_newline(tmp_path):
    # a quoted field may hold a line break (RFC 4180); the bad row is on line 5 of the file
    path = write(tmp_path / "r.csv", 'text,label\n"first line\nsecond line",pos\ngreat,pos\ngood,film,pos\n')
    assert error(read_labelled, path) == f"{path}:5: 3 fields but the header has 2"


def test_csv_empty_text_and_label(tmp_path):
    path = write(tmp_path / "r.csv", "text,label\ngreat,pos\n,neg\n")
    assert error(read_labelled, path) == f"{path}:3: empty sentence"
    path = write(tmp_path / "r2.csv", "text,label\ngreat,pos\nbad, \n")
    assert error(read_labelled, path) == f"{path}:3: empty label"


def test_read_labelled_jsonl(tmp_path):
    path = jsonl(tmp_path / "r.jsonl", {"text": "Great film!", "label": "positive"}, {"text": "bad", "label": 0})
    examples = read_labelled(path)
    assert examples == [
        LabelledText(["Great", "film", "!"], "positive", "Great film!"),
        LabelledText(["bad"], "0", "bad"),
    ]


@pytest.mark.parametrize("obj", [{"text": "bad film"}, {"text": "bad film", "label": None}, {"text": "bad", "label": True}, {"text": "bad", "label": ["x"]}])
def test_jsonl_without_label(tmp_path, obj):
    path = jsonl(tmp_path / "r.jsonl", {"text": "good", "label": "pos"}, obj)
    assert error(read_labelled, path) == f'{path}:2: missing "label" (a string or an integer)'


def test_labelled_jsonl_syntax_error(tmp_path):
    path = write(tmp_path / "r.jsonl", '{"text": "good", "label": "pos"}\n{"text": "bad", "label": }\n')
    assert error(read_labelled, path).startswith(f"{path}:2: invalid JSON")


def test_labelled_errors_for_files(tmp_path):
    assert error(read_labelled, tmp_path / "none.txt") == f"{tmp_path / 'none.txt'}: no such file"
    empty = write(tmp_path / "e.csv", "")
    assert error(read_labelled, empty) == f"{empty}: file is empty"
    latin = tmp_path / "l.txt"
    latin.write_bytes(b"1 good\n0 caf\xe9\n")
    assert error(read_labelled, latin).startswith(f"{latin}:2: not UTF-8")
    path = write(tmp_path / "r.txt", "1 good\n")
    message = error(read_labelled, path, format="xml")
    assert message.startswith(f"{path}: ") and "'xml'" in message


# ---- the bundled and the real corpora -----------------------------------------------------


@pytest.mark.parametrize("folder", ["flights", "flights-zh"])
def test_bundled_flights_use_atis_labels(folder):
    path = ROOT / "data" / folder / "train.jsonl"
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    sentences = read_tagged(path)
    assert len(sentences) == len(raw) == 2000
    tag_labels = {t[2:] for s in sentences for t in s.tags if t != "O"}
    assert tag_labels == ATIS_SLOT_LABELS
    assert {t[:2] for s in sentences for t in s.tags if t != "O"} == {"B-", "I-"}
    assert {s.intent for s in sentences} == FLIGHT_INTENTS
    for s, obj in zip(sentences, raw):
        assert len(s.tokens) == len(s.tags) == len(s.offsets)
        assert [s.text[a:b] for a, b in s.offsets] == s.tokens
        # every slot is one span, covering exactly the slot's characters
        found = spans(s.tags)
        assert [(sp.label, s.text[s.offsets[sp.start][0]:s.offsets[sp.end - 1][1]]) for sp in found] == [
            (slot["label"], obj["text"][slot["start"]:slot["end"]]) for slot in obj["slots"]
        ]


@pytest.mark.skipif(not (SHARED / "atis" / "train").is_dir(), reason="../shared/data/atis is not here")
@pytest.mark.parametrize("folder", ["flights", "flights-zh"])
def test_bundled_flights_slot_labels_occur_in_atis(folder):
    tag_labels = {t[2:] for s in read_tagged(ROOT / "data" / folder / "train.jsonl") for t in s.tags if t != "O"}
    atis_labels = {t[2:] for s in read_atis(SHARED / "atis" / "train") for t in s.tags if t != "O"}
    assert tag_labels <= atis_labels


def test_bundled_reviews():
    examples = read_labelled(ROOT / "data" / "reviews" / "train.jsonl")
    assert len(examples) == 400
    assert sum(e.label == "positive" for e in examples) == 200
    assert {e.label for e in examples} == {"positive", "negative"}


@pytest.mark.skipif(not (SHARED / "atis").is_dir(), reason="../shared/data/atis is not here")
def test_real_atis():
    train = read_tagged(SHARED / "atis" / "train")
    assert len(train) == 4478
    assert all(s.intent for s in train)
    assert all(len(s.tokens) == len(s.tags) for s in train)
    assert len({t for s in train for t in s.tags}) == 120
    assert train[0].tokens[:5] == ["i", "want", "to", "fly", "from"]
    assert len(read_tagged(SHARED / "atis" / "dev")) == 500
    assert len(read_tagged(SHARED / "atis" / "test")) == 893


@pytest.mark.skipif(not (SHARED / "sst2").is_dir(), reason="../shared/data/sst2 is not here")
@pytest.mark.parametrize("name, size", [("train", 6920), ("dev", 872), ("test", 1821)])
def test_real_sst2(name, size):
    examples = read_labelled(SHARED / "sst2" / f"{name}.txt")
    assert len(examples) == size
    assert {e.label for e in examples} == {"0", "1"}


# ---- Chinese: BIOES CoNLL with intent lines, JSON Lines, conversions ----------------------

SLU_BLOCKS = """我 O
要 O
听 O
吴 B-singer_name
雨 I-singer_name
霏 E-singer_name
的 O
歌 S-song_type
PlayMusic

今 B-date
天 E-date
天 O
气 O
GetWeather
"""


def test_read_conll_bioes_with_intent_lines(tmp_path):
    first, second = read_tagged(write(tmp_path / "train.txt", SLU_BLOCKS))
    assert first.tokens == list("我要听吴雨霏的歌")
    assert first.tags == ["O", "O", "O", "B-singer_name", "I-singer_name", "I-singer_name", "O", "B-song_type"]
    assert first.intent == "PlayMusic"
    assert (second.tokens, second.tags, second.intent) == (list("今天天气"), ["B-date", "I-date", "O", "O"], "GetWeather")


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("我 O\n要 O\nPlayMusic\nChat\n\n", 4, "sentence must end there"),  # two single-field lines
        ("我 O\nPlayMusic\n要 O\n\n", 3, "sentence must end there"),  # tokens after the intent
        ("我 O\nPlayMusic\n\n要 O\n\n", 4, "no intent line"),  # the second sentence lacks one
        ("我 O\n\n要 O\nChat\n", 4, "found 1 column ('Chat')"),  # the first sentence lacks one
    ],
)
def test_read_conll_bad_intent_lines(tmp_path, text, line, words):
    path = write(tmp_path / "bad.txt", text)
    message = error(read_conll, path)
    assert message.startswith(f"{path}:{line}: ") and words in message


def test_read_jsonl_chinese_offsets(tmp_path):
    text = "我想从台北飞到Boston"
    path = jsonl(tmp_path / "zh.jsonl", {"text": text, "slots": [
        {"start": 3, "end": 5, "label": "fromloc.city_name"}, {"start": 7, "end": 13, "label": "toloc.city_name"}]})
    (sentence,) = read_tagged(path)
    assert sentence.tokens == ["我", "想", "从", "台", "北", "飞", "到", "Boston"]
    assert sentence.tags == ["O", "O", "O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "O", "B-toloc.city_name"]
    (chars,) = read_tagged(path, latin_in_cjk="char")
    assert chars.tokens[7:] == list("Boston")
    assert chars.tags[7:] == ["B-toloc.city_name"] + ["I-toloc.city_name"] * 5


def test_jsonl_slot_inside_a_latin_word_of_chinese_text(tmp_path):
    # "tf" is the start of the word "tfboys"; with Latin letters one per token it is a valid slot
    line = json.dumps({"text": "我要听tfboys的歌", "slots": [{"start": 3, "end": 5, "label": "singer_name"}]}, ensure_ascii=False)
    path, message = jsonl_error(tmp_path, line)
    assert message == f"{path}:2: slot 'singer_name' at 3-5 cuts through a token (the token at 3-9)"
    assert read_tagged(path, latin_in_cjk="char")[1].tags[3:6] == ["B-singer_name", "I-singer_name", "O"]


@pytest.mark.parametrize("start, end", [(20, 25), (3, 50), (-2, 2)])
def test_jsonl_slot_outside_its_text(tmp_path, start, end):
    path, message = jsonl_error(tmp_path, json.dumps({"text": "to boston", "slots": [{"start": start, "end": end, "label": "city"}]}))
    assert message == f"{path}:2: slot 'city' at {start}-{end} lies outside the text (0-9)"


def test_write_jsonl_from_tokens(tmp_path):
    sentences = [TaggedSentence(list("我要听吴雨霏的歌"), ["O"] * 3 + ["B-singer", "I-singer", "I-singer", "O", "O"], "PlayMusic"),
                 TaggedSentence(["fly", "to", "st.", "louis"], ["O", "O", "B-city", "I-city"])]
    path = tmp_path / "out.jsonl"
    write_tagged_jsonl(path, sentences)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {"text": "我要听吴雨霏的歌", "slots": [{"start": 3, "end": 6, "label": "singer"}], "intent": "PlayMusic"},
        {"text": "fly to st. louis", "slots": [{"start": 7, "end": 16, "label": "city"}]},
    ]
    assert [(s.tokens, s.tags, s.intent) for s in read_tagged(path)] == [(s.tokens, s.tags, s.intent) for s in sentences]


@pytest.mark.skipif(not (SHARED / "cais").is_dir(), reason="../shared/data/cais is not here")
def test_cais_reads_and_round_trips_byte_for_byte(tmp_path):
    from click.testing import CliRunner

    from slotfill.cli import main

    source = SHARED / "cais" / "dev.txt"
    sentences = read_tagged(source)
    assert len(sentences) == 994 and all(s.intent for s in sentences)
    runner = CliRunner()
    result = runner.invoke(main, ["convert", str(source), str(tmp_path / "dev.jsonl"), "--to", "jsonl"])
    assert result.exit_code == 0 and result.output == f"994 sentences written to {tmp_path / 'dev.jsonl'}\n"
    back = tmp_path / "dev.conll"
    result = runner.invoke(main, ["convert", str(tmp_path / "dev.jsonl"), str(back), "--to", "conll",
                                  "--scheme", "bioes", "--latin-in-cjk", "char"])
    assert result.exit_code == 0, result.output
    assert back.read_text(encoding="utf-8").replace("\t", " ") == source.read_text(encoding="utf-8")


def test_convert_round_trips_between_all_formats(tmp_path):
    from click.testing import CliRunner

    from slotfill.cli import main

    runner = CliRunner()
    source = write(tmp_path / "zh.txt", SLU_BLOCKS)
    original = [(s.tokens, s.tags, s.intent) for s in read_tagged(source)]
    steps = [("a.jsonl", "jsonl"), ("b", "atis"), ("c.conll", "conll"), ("d.jsonl", "jsonl")]
    current = source
    for name, to in steps:
        result = runner.invoke(main, ["convert", str(current), str(tmp_path / name), "--to", to])
        assert result.exit_code == 0, result.output
        current = tmp_path / name
        assert [(s.tokens, s.tags, s.intent) for s in read_tagged(current)] == original, to
    assert json.loads((tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()[1])["text"] == "今天天气"
    # English through the same chain
    english = ROOT / "data" / "flights" / "dev.jsonl"
    result = runner.invoke(main, ["convert", str(english), str(tmp_path / "en.conll"), "--to", "conll", "--scheme", "bioes"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["convert", str(tmp_path / "en.conll"), str(tmp_path / "en.jsonl"), "--to", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [(s.tokens, s.tags, s.intent) for s in read_tagged(tmp_path / "en.jsonl")] == \
        [(s.tokens, s.tags, s.intent) for s in read_tagged(english)]


def test_convert_bad_input_is_one_line(tmp_path):
    from click.testing import CliRunner

    from slotfill.cli import main

    bad = write(tmp_path / "bad.txt", "我 O\n要 O\nPlayMusic\nChat\n")
    result = CliRunner().invoke(main, ["convert", str(bad), str(tmp_path / "x.jsonl"), "--to", "jsonl"])
    assert result.exit_code == 1 and result.output.startswith(f"error: {bad}:4: ") and result.output.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()
