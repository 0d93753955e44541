"""slotfill.config: defaults, TOML files, relative paths, --set overrides and the errors they raise."""

from pathlib import Path

import pytest

from slotfill.config import (
    Config,
    config_from_dict,
    config_to_dict,
    load_config,
    parse_override,
)
from slotfill.errors import SlotfillError

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error(func, *args, **kwargs) -> str:
    with pytest.raises(SlotfillError) as info:
        func(*args, **kwargs)
    return str(info.value)


def test_defaults():
    config = load_config()
    assert config == Config()
    assert config.task == "tagger"
    assert config.data.train == "" and config.data.format == "auto"
    assert config.vocab.lowercase is True and config.vocab.min_count == 1
    assert config.model.embeddings == ["learned"]
    assert config.model.cell == "lstm" and config.model.decoder == "softmax"
    assert config.model.hidden_size == 200
    assert config.model.hashed.buckets == 50000 and config.model.hashed.combine == "sum"
    assert config.model.word2vec.algorithm == "skipgram"
    assert config.train.epochs == 30 and config.train.lr == 0.001 and config.train.seed == 1
    # default lists are not shared between instances
    a, b = Config(), Config()
    a.model.embeddings.append("chars")
    assert b.model.embeddings == ["learned"]


def test_load_toml(tmp_path):
    path = write(
        tmp_path / "c.toml",
        """
task = "classifier"

[vocab]
lowercase = false
min_count = 2

[model]
embeddings = ["learned", "hashed", "chars"]
cell = "gru"
dropout = 0.25
pooling = "mean"
hashed.buckets = 1000
hashed.combine = "mean"

[model.chars]
filters = 10

[train]
epochs = 3
lr = 1
device = "cpu"
""",
    )
    config = load_config(path)
    assert config.task == "classifier"
    assert config.vocab.lowercase is False and config.vocab.min_count == 2
    assert config.model.embeddings == ["learned", "hashed", "chars"]
    assert config.model.cell == "gru" and config.model.pooling == "mean"
    assert config.model.dropout == 0.25
    assert config.model.hashed.buckets == 1000 and config.model.hashed.combine == "mean"
    assert config.model.hashed.dim == 100  # untouched default
    assert config.model.chars.filters == 10 and config.model.chars.width == 3
    assert config.train.epochs == 3 and config.train.device == "cpu"
    # an integer is accepted where a float is expected
    assert config.train.lr == 1.0 and isinstance(config.train.lr, float)


def test_relative_paths_resolve_against_the_config_file(tmp_path, monkeypatch):
    path = write(
        tmp_path / "configs" / "c.toml",
        '[data]\ntrain = "../data/train.jsonl"\ndev = "dev.jsonl"\ntest = "/abs/test.jsonl"\n'
        '[model.word2vec]\nvectors = "../vectors/w2v.bin"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "configs" / "c.toml")
    assert config.data.train == str((tmp_path / "data" / "train.jsonl").resolve())
    assert config.data.dev == str((tmp_path / "configs" / "dev.jsonl").resolve())
    assert config.data.test == str(Path("/abs/test.jsonl").resolve())
    assert config.model.word2vec.vectors == str((tmp_path / "vectors" / "w2v.bin").resolve())
    assert config.model.word2vec.corpus == ""  # empty paths stay empty
    assert path.is_file()


def test_override_paths_resolve_against_the_cwd(tmp_path, monkeypatch):
    path = write(tmp_path / "configs" / "c.toml", '[data]\ntrain = "a.jsonl"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(path, ["data.dev=data/dev.jsonl", 'data.test="t.jsonl"'])
    assert config.data.train == str((tmp_path / "configs" / "a.jsonl").resolve())
    assert config.data.dev == str((tmp_path / "data" / "dev.jsonl").resolve())
    assert config.data.test == str((tmp_path / "t.jsonl").resolve())


@pytest.mark.parametrize(
    "item, expected",
    [
        ("model.hidden_size=256", ("model.hidden_size", 256)),
        ("train.lr=0.01", ("train.lr", 0.01)),
        ("train.lr=1e-3", ("train.lr", 0.001)),
        ("vocab.lowercase=false", ("vocab.lowercase", False)),
        ('model.embeddings=["learned","hashed"]', ("model.embeddings", ["learned", "hashed"])),
        ("model.embeddings = [ 'learned' , 'chars' ]", ("model.embeddings", ["learned", "chars"])),
        ("model.cell=gru", ("model.cell", "gru")),
        ('model.cell="gru"', ("model.cell", "gru")),
        ("data.train=data/flights/train.jsonl", ("data.train", "data/flights/train.jsonl")),
        ("data.text_column=  my text ", ("data.text_column", "my text")),
        ("model.hashed.buckets=100", ("model.hashed.buckets", 100)),
        ("data.train=a=b", ("data.train", "a=b")),
    ],
)
def test_parse_override(item, expected):
    assert parse_override(item) == expected


@pytest.mark.parametrize("item", ["model.hidden_size", "=5", " = 5", ""])
def test_parse_override_bad(item):
    assert "expected SECTION.KEY=VALUE" in error(parse_override, item)


def test_overrides_apply():
    config = load_config(
        None,
        [
            "model.hidden_size=64",
            "train.lr=0.01",
            "train.clip=1",
            'model.embeddings=["learned","hashed"]',
            "model.decoder=crf",
            "model.hashed.buckets=100",
            "vocab.normalize_digits=true",
            "task=classifier",
        ],
    )
    assert config.model.hidden_size == 64
    assert config.train.lr == 0.01
    assert config.train.clip == 1.0 and isinstance(config.train.clip, float)
    assert config.model.embeddings == ["learned", "hashed"]
    assert config.model.decoder == "crf"
    assert config.model.hashed.buckets == 100
    assert config.vocab.normalize_digits is True
    assert config.task == "classifier"


def test_overrides_win_over_the_file(tmp_path):
    path = write(tmp_path / "c.toml", "[model]\nhidden_size = 32\ncell = \"gru\"\n[model.hashed]\nbuckets = 7\n")
    config = load_config(path, ["model.hidden_size=48", "model.hashed.buckets=100"])
    assert config.model.hidden_size == 48
    assert config.model.cell == "gru"
    assert config.model.hashed.buckets == 100


def test_unknown_key_names_the_key(tmp_path):
    message = error(load_config, None, ["model.hiden=3"])
    assert "unknown config key 'model.hiden'" in message
    assert "hidden_size" in message  # the known keys are listed
    path = write(tmp_path / "c.toml", "[model]\nhiden = 3\n")
    message = error(load_config, path)
    assert message.startswith(f"{path}: ")
    assert "'model.hiden'" in message
    assert "'model.hashed.bucket'" in error(load_config, None, ["model.hashed.bucket=3"])
    assert "'colour'" in error(config_from_dict, {"colour": "red"})
    assert "'trian'" in error(load_config, None, ["trian.epochs=3"])


@pytest.mark.parametrize(
    "item, words",
    [
        ("model.hidden_size=2.5", ["model.hidden_size", "int", "float"]),
        ("model.hidden_size=big", ["model.hidden_size", "int", "str"]),
        ("model.hidden_size=true", ["model.hidden_size", "int", "bool"]),
        ("vocab.lowercase=1", ["vocab.lowercase", "bool", "int"]),
        ("train.lr=fast", ["train.lr", "float", "str"]),
        ("train.lr=true", ["train.lr", "float", "bool"]),
        ("model.embeddings=learned", ["model.embeddings", "list", "str"]),
        ("model.embeddings=[1, 2]", ["model.embeddings", "str", "int"]),
        ("data.train=5", ["data.train", "str", "int"]),
    ],
)
def test_wrong_type(item, words):
    message = error(load_config, None, [item])
    for word in words:
        assert word in message


def test_wrong_type_in_file(tmp_path):
    path = write(tmp_path / "c.toml", '[train]\nepochs = "ten"\n')
    message = error(load_config, path)
    assert message.startswith(f"{path}: ")
    assert "train.epochs must be int, not str" in message


def test_section_must_be_a_table(tmp_path):
    assert "model must be a table" in error(load_config, None, ["model=5"])
    path = write(tmp_path / "c.toml", 'task = "tagger"\n')
    message = error(load_config, path, ["task.x=1"])
    assert "task" in message and "not a table" in message


@pytest.mark.parametrize(
    "item, key, value",
    [
        ("model.cell=transformer", "model.cell", "'transformer'"),
        ("model.decoder=beam", "model.decoder", "'beam'"),
        ('model.embeddings=["learned","bert"]', "model.embeddings", "'bert'"),
        ("model.hashed.combine=max", "model.hashed.combine", "'max'"),
        ("task=parser", "task", "'parser'"),
        ("train.device=tpu", "train.device", "'tpu'"),
        ("train.metric=loss", "train.metric", "'loss'"),
        ("train.schedule=onecycle", "train.schedule", "'onecycle'"),
        ("model.word2vec.algorithm=glove", "model.word2vec.algorithm", "'glove'"),
    ],
)
def test_invalid_choice(item, key, value):
    message = error(load_config, None, [item])
    assert f"{key} = {value} is not one of" in message


def test_invalid_choice_lists_the_choices():
    message = error(load_config, None, ["model.cell=transformer"])
    assert "lstm, gru, rnn" in message


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path / "bad.toml", "[model\nhidden_size = 3\n")
    message = error(load_config, path)
    assert message.startswith(f"{path}: not a valid TOML file")
    path = write(tmp_path / "dup.toml", "[model]\ncell = 'gru'\ncell = 'rnn'\n")
    assert error(load_config, path).startswith(f"{path}: not a valid TOML file")


def test_non_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[data]\ntrain = "caf\xe9.jsonl"\n')
    assert error(load_config, path).startswith(f"{path}: not a valid TOML file")


def test_missing_config_file(tmp_path):
    assert error(load_config, tmp_path / "none.toml") == f"{tmp_path / 'none.toml'}: no such config file"


def test_config_to_dict_round_trip():
    config = load_config(None, ["model.hidden_size=64", 'model.embeddings=["learned","chars"]'])
    data = config_to_dict(config)
    assert data["model"]["hidden_size"] == 64
    assert data["model"]["hashed"]["buckets"] == 50000
    assert config_from_dict(data) == config


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_bundled_configs_load(path):
    config = load_config(path)
    assert config.task in ("tagger", "classifier")
    assert config.data.train and Path(config.data.train).is_absolute()
    # data paths are relative to the config file, so they point at the project's or the shared data
    homes = (str(ROOT.resolve()), str((ROOT.parent / "shared").resolve()))  # shared/ may be a link
    assert config.data.train.startswith(homes)


def test_bundled_configs_exist():
    names = sorted(p.name for p in (ROOT / "configs").glob("*.toml"))
    assert "flights.toml" in names and "atis.toml" in names


def test_flights_config_values():
    config = load_config(ROOT / "configs" / "flights.toml")
    assert config.data.train == str((ROOT / "data" / "flights" / "train.jsonl").resolve())
    assert Path(config.data.train).is_file() and Path(config.data.dev).is_file()
    assert config.model.embeddings == ["learned", "chars"]
    assert config.model.decoder == "crf"
    assert config.vocab.min_count == 3 and config.model.word_dropout == 0.3
    zh = load_config(ROOT / "configs" / "flights-zh.toml")
    assert Path(zh.data.train).is_file() and zh.text.latin_in_cjk == "word"
    assert load_config(ROOT / "configs" / "cais.toml").text.latin_in_cjk == "char"


@pytest.mark.parametrize(
    "item, key, allowed",
    [
        ("model.hidden_size=0", "model.hidden_size", ">= 1"),
        ("model.layers=-1", "model.layers", ">= 1"),
        ("model.hashed.buckets=0", "model.hashed.buckets", ">= 1"),
        ("model.chars.width=0", "model.chars.width", ">= 1"),
        ("train.batch_size=0", "train.batch_size", ">= 1"),
        ("train.epochs=-3", "train.epochs", ">= 1"),
        ("train.patience=0", "train.patience", ">= 1"),
        ("train.lr=-0.001", "train.lr", "> 0"),
        ("train.lr=0", "train.lr", "> 0"),
        ("train.lr=nan", "train.lr", "> 0"),
        ("train.lr=inf", "train.lr", "> 0"),
        ("model.dropout=-0.1", "model.dropout", "[0, 1)"),
        ("model.dropout=1", "model.dropout", "[0, 1)"),
        ("model.word_dropout=nan", "model.word_dropout", "[0, 1)"),
        ("train.ema=1.0", "train.ema", "[0, 1)"),
        ("train.lr_decay=1.5", "train.lr_decay", "(0, 1)"),
        ("train.weight_decay=-1", "train.weight_decay", ">= 0"),
        ("train.threads=-1", "train.threads", ">= 0"),
        ("vocab.max_size=-5", "vocab.max_size", ">= 0"),
    ],
)
def test_out_of_range_names_the_key_and_the_range(item, key, allowed):
    message = error(load_config, None, [item])
    assert message.startswith(f"--set: {key} = ")
    assert message.endswith(f"is out of range (allowed: {allowed})")


def test_out_of_range_in_a_file_is_found_before_any_data_is_read(tmp_path):
    path = write(tmp_path / "c.toml", '[data]\ntrain = "missing.txt"\n[model]\ndropout = 1.5\n')
    message = error(load_config, path)
    assert message == f"{path}: model.dropout = 1.5 is out of range (allowed: [0, 1))"


@pytest.mark.parametrize("item", ["model.dropout=0", "model.dropout=0.99", "train.ema=0", "train.lr_patience=0",
                                  "train.threads=0", "vocab.max_size=0", "model.intent_weight=0", "train.lr=10"])
def test_range_edges_that_are_allowed(item):
    key, value = parse_override(item)
    section, name = key.split(".")
    assert getattr(getattr(load_config(None, [item]), section), name) == value
