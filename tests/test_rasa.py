"""slotfill.formats.rasa: Rasa NLU YAML (2.x, 3.x) and Markdown (1.x) read from real files, their quirks and bad input."""

import logging
from pathlib import Path

import pytest

from slotfill.errors import SlotfillError
from slotfill.readers import read_labelled, read_tagged

NLU = '''version: "3.1"
nlu:
- intent: book_flight
  examples: |
    - fly from [Boston](city) to [Denver]{"entity": "city", "role": "destination"}
    - pay with my [credit card]{"entity": "account_type", "value": "credit"}
    - two [large]{"entity": "size", "group": "1"} pizzas
    - 我想去[台北](city)
- intent: chitchat/ask_name
  metadata:
    retrieval: true
  examples:
  - text: what is your name
    metadata:
      sentiment: neutral
  - text: |
      who are [you](person)
- synonym: credit
  examples: |
    - credit account
- regex: zipcode
  examples: |
    - [0-9]{5}
- lookup: city
  examples: |
    - Boston
    - Denver
'''
MARKDOWN = '''<!-- Rasa 1.x -->
## intent:book_flight
- fly from [Boston](city) to [NYC](city:New York)

## synonym:savings
- pink pig

## regex:zipcode
- [0-9]{5}

## lookup:city
data/cities.txt
'''


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def error(path, **kwargs) -> str:
    with pytest.raises(SlotfillError) as info:
        read_tagged(path, **kwargs)
    return str(info.value)


def test_yaml_examples_markup_and_extras(tmp_path, caplog):
    path = write(tmp_path / "nlu.yml", NLU)
    corpus = read_tagged(path)
    assert [(s.tokens, s.tags, s.intent) for s in corpus] == [
        (["fly", "from", "Boston", "to", "Denver"], ["O", "O", "B-city", "O", "B-city:destination"], "book_flight"),
        (["pay", "with", "my", "credit", "card"], ["O", "O", "O", "B-account_type", "I-account_type"], "book_flight"),
        (["two", "large", "pizzas"], ["O", "B-size#1", "O"], "book_flight"),
        (list("我想去台北"), ["O", "O", "O", "B-city", "I-city"], "book_flight"),
        (["what", "is", "your", "name"], ["O"] * 4, "chitchat/ask_name"),
        (["who", "are", "you"], ["O", "O", "B-person"], "chitchat/ask_name"),
    ]
    assert corpus[0].text == "fly from Boston to Denver"
    assert corpus.synonyms == {"credit card": "credit", "credit account": "credit"}
    assert corpus.regexes == {"zipcode": ["[0-9]{5}"]} and corpus.lookups == {"city": ["Boston", "Denver"]}
    assert [r.getMessage() for r in caplog.records] == [f"notice: {path}: 1 regex and 1 lookup entries are not used by the model"]
    assert [(e.tokens, e.label) for e in read_labelled(path)][4] == (["what", "is", "your", "name"], "chitchat/ask_name")


def test_markdown(tmp_path):
    path = write(tmp_path / "nlu.md", MARKDOWN)
    corpus = read_tagged(path)
    assert [(s.tokens, s.tags) for s in corpus] == [
        (["fly", "from", "Boston", "to", "NYC"], ["O", "O", "B-city", "O", "B-city"])]
    assert corpus.synonyms == {"pink pig": "savings", "nyc": "New York"}
    assert corpus.lookups == {"city": ["data/cities.txt"]}


def test_windows_line_ends_byte_order_mark_and_tabs(tmp_path, caplog):
    tabbed = NLU.replace("  ", "\t")  # every two-space indent a tab, which YAML forbids
    path = write(tmp_path / "nlu.yml", "\ufeff" + tabbed.replace("\n", "\r\n"))
    assert [(s.tokens, s.tags) for s in read_tagged(path)] == [(s.tokens, s.tags) for s in read_tagged(write(tmp_path / "b.yml", NLU))]
    assert f"notice: {path}: tabs in indentation read as two spaces each" in [r.getMessage() for r in caplog.records]


def test_folder_of_split_files_and_duplicates(tmp_path, caplog):
    folder = tmp_path / "data"
    write(folder / "nlu" / "flights.yml", 'version: "3.1"\nnlu:\n- intent: fly\n  examples: |\n    - to [Boston](city)\n    - hello\n')
    write(folder / "nlu" / "greet.yml", "nlu:\n- intent: greet\n  examples: |\n    - hello\n    - hi\n")
    write(folder / "nlu" / "more.yml", "nlu:\n- intent: fly\n  examples: |\n    - to [Boston](city)\n")
    write(folder / "stories.yml", "stories:\n- story: happy\n  steps:\n  - intent: greet\n")
    write(folder / "README.md", "# notes\n")
    with caplog.at_level(logging.WARNING, "slotfill"):
        sentences = read_tagged(folder)
    assert [(s.text, s.intent) for s in sentences] == [("to Boston", "fly"), ("hello", "fly"), ("hello", "greet"), ("hi", "greet")]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"notice: {folder}: 2 file(s) not read (no NLU data, or no known format): README.md, stories.yml",
        f"notice: {folder / 'nlu' / 'more.yml'}:4: 1 duplicate example(s) in all, each read once "
        f"(this one, 'to Boston', is also at {folder / 'nlu' / 'flights.yml'}:5)"]


def test_slot_abutting_a_word_is_split_off(tmp_path):
    path = write(tmp_path / "nlu.yml", "nlu:\n- intent: play\n  examples: |\n    - play [Sexy Dance 2](album)times\n")
    (sentence,) = read_tagged(path)
    assert sentence.tokens == ["play", "Sexy", "Dance", "2", "times"]
    assert sentence.tags == ["O", "B-album", "I-album", "I-album", "O"]


BAD = [  # (file text, line, what the message says)
    ("nlu:\n- intent: fly\n  examples: |\n    - to [Boston(city)\n", 4, "unbalanced or unknown entity markup in 'to [Boston(city)'"),
    ("nlu:\n- intent: fly\n  examples: |\n    - ok\n    - to [Boston]\n", 5, "unbalanced or unknown entity markup"),
    ("nlu:\n- intent: fly\n  examples: |\n    - to [Boston]{\"entity\": \"city\", \"colour\": 1}\n", 4, "unknown key 'colour' in entity markup"),
    ("nlu:\n- intent: fly\n  examples: |\n    - to [Boston]{entity: city}\n", 4, "is not a JSON object"),
    ("nlu:\n- intent: fly\n  examples: |\n    - to [Boston]()\n", 4, "names no entity"),
    ("nlu:\n- intent: fly\n- intent: greet\n  examples: |\n    - hi\n", 2, "intent 'fly' has no examples"),
    ("nlu:\n- intent: fly\n  examples: |\n    - fly\n    - [credit card]{\"entity\": \"a\", \"value\": \"credit\"}\n"
     "- synonym: debit\n  examples: |\n    - Credit Card\n", 8, "synonym 'Credit Card' is mapped to 'credit' and to 'debit'"),
    ("nlu:\n- intent: fly\n  examples: |\n    - fly\n  - oops: [\n", 5, "not valid YAML"),
    ("nlu:\n- intent: fly\n  examples: |\n    fly to boston\n", 4, "expected '- example', found 'fly to boston'"),
    ("nlu:\n- examples: |\n    - hi\n", 2, "an nlu: item needs one of intent, synonym, regex, lookup (found: examples)"),
    ("version: '3.1'\nresponses: {}\n", 1, "no nlu: section"),
    ("nlu: fly\n", 1, "nlu: must be a list"),
]


@pytest.mark.parametrize("text, line, words", BAD)
def test_bad_yaml_is_one_line_naming_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path / "nlu.yml", text)
    message = error(path)
    assert message.startswith(f"{path}:{line}: ") and words in message and "\n" not in message


@pytest.mark.parametrize("text, line, words", [
    ("## intent:fly\n- to [Boston(city)\n", 2, "unbalanced or unknown entity markup"),
    ("## intent:fly\n\n## intent:greet\n- hi\n", 1, "intent 'fly' has no examples"),
    ("- hi\n", 1, "an example before any '## intent:NAME' line"),
    ("## intent:fly\n- hi\n## story:x\n- hi\n", 3, "unknown section 'story'"),
    ("## intent:fly\nto boston\n", 2, "expected '- example'"),
])
def test_bad_markdown(tmp_path, text, line, words):
    path = write(tmp_path / "nlu.md", text)
    message = error(path)
    assert message.startswith(f"{path}:{line}: ") and words in message
