"""Configuration: TOML files read into dataclasses, with `--set section.key=value` overrides."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SlotfillError

REPRESENTATIONS = ("learned", "onehot", "hashed", "word2vec", "chars", "bigrams")
CHOICES = {
    "task": ("tagger", "classifier"),
    "model.embeddings": REPRESENTATIONS,
    "model.cell": ("lstm", "gru", "rnn"),
    "model.decoder": ("softmax", "crf"),
    "model.pooling": ("max", "mean", "last", "attention"),
    "model.intent_pooling": ("max", "mean", "last", "attention"),
    "model.hashed.combine": ("sum", "mean"),
    "model.word2vec.algorithm": ("skipgram", "cbow"),
    "text.latin_in_cjk": ("word", "char"),
    "train.device": ("auto", "cpu", "cuda"),
    "train.amp": ("auto", "off", "bf16", "fp16"),
    "train.schedule": ("plateau", "cosine"),
    "train.metric": ("auto", "f1", "accuracy", "macro_f1", "intent_accuracy", "sentence_accuracy"),
}
# Allowed ranges of numbers: (low, high, low included, high included); None is unbounded. Floats must be finite.
POSITIVE, AT_LEAST_ZERO, FRACTION = (1, None, True, False), (0, None, True, False), (0, 1, True, False)
RANGES = {
    **{key: POSITIVE for key in (
        "vocab.min_count", "model.layers", "model.hidden_size", "model.learned.dim", "model.onehot.dim",
        "model.hashed.dim", "model.hashed.buckets", "model.word2vec.dim", "model.word2vec.window",
        "model.word2vec.min_count", "model.word2vec.epochs", "model.chars.dim", "model.chars.filters",
        "model.chars.width", "model.bigrams.dim", "model.bigrams.min_count", "train.epochs", "train.batch_size", "train.patience")},
    **{key: AT_LEAST_ZERO for key in (
        "vocab.max_size", "model.intent_weight", "train.weight_decay", "train.lr_patience", "train.threads")},
    "model.dropout": FRACTION,
    "model.word_dropout": FRACTION,
    "train.ema": FRACTION,
    "train.lr": (0, None, False, False),
    "train.clip": (0, None, False, False),
    "train.lr_decay": (0, 1, False, False),
}
# Paths in a config file are relative to that file; paths given with --set are relative to the cwd.
PATHS = ("data.train", "data.dev", "data.test", "model.word2vec.corpus", "model.word2vec.vectors")


@dataclass
class DataConfig:
    train: str | list[str] = ""  # a file, a folder of data files, or a list of those
    dev: str | list[str] = ""
    test: str | list[str] = ""
    format: str = "auto"
    text_column: str = "text"
    label_column: str = "label"
    out_of_scope: str = ""  # the label of out-of-scope examples (intent or class): learnt, and answered as the fallback


@dataclass
class TextConfig:
    """How raw text is tokenized, in training data given as text (JSON Lines) and when tagging."""

    latin_in_cjk: str = "word"  # "char": Latin letters and digits in Chinese text one per token (CAIS)


@dataclass
class VocabConfig:
    lowercase: bool = True
    normalize_digits: bool = False
    min_count: int = 1
    max_size: int = 0


@dataclass
class LearnedConfig:
    dim: int = 100


@dataclass
class OneHotConfig:
    dim: int = 100  # width of the layer the 1-of-N vector feeds


@dataclass
class HashedConfig:
    dim: int = 100
    buckets: int = 50000
    combine: str = "sum"


@dataclass
class Word2VecConfig:
    dim: int = 100
    window: int = 5
    min_count: int = 1
    epochs: int = 20
    algorithm: str = "skipgram"
    corpus: str = ""  # extra raw text, one sentence per line
    vectors: str = ""  # pretrained word2vec (binary or text) or GloVe file, instead of training
    freeze: bool = False


@dataclass
class CharsConfig:
    dim: int = 30
    filters: int = 50
    width: int = 3


@dataclass
class BigramsConfig:
    dim: int = 50  # per bigram; a token gets two: with the token before it and with the one after
    min_count: int = 1


@dataclass
class ModelConfig:
    embeddings: list[str] = field(default_factory=lambda: ["learned"])
    cell: str = "lstm"
    layers: int = 1
    hidden_size: int = 200
    dropout: float = 0.5
    word_dropout: float = 0.05
    decoder: str = "softmax"
    pooling: str = "max"
    intent_pooling: str = "attention"
    intent_weight: float = 1.0  # 0 turns the intent head off even when the data has intents
    learned: LearnedConfig = field(default_factory=LearnedConfig)
    onehot: OneHotConfig = field(default_factory=OneHotConfig)
    hashed: HashedConfig = field(default_factory=HashedConfig)
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)
    chars: CharsConfig = field(default_factory=CharsConfig)
    bigrams: BigramsConfig = field(default_factory=BigramsConfig)


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 0.001
    weight_decay: float = 0.0
    clip: float = 5.0
    ema: float = 0.0  # decay of an exponential moving average of the weights, used for dev and saving; 0: off
    patience: int = 6
    schedule: str = "plateau"  # plateau: lr times lr_decay after lr_patience epochs without a better dev score; cosine: to 0 by the last epoch
    lr_decay: float = 0.5
    lr_patience: int = 2
    metric: str = "auto"  # tagger: f1; classifier: accuracy
    class_weights: bool = False
    seed: int = 1
    device: str = "auto"
    threads: int = 0  # 0: auto (one per process on the CPU: small batches do not pay for more)
    amp: str = "auto"  # mixed precision: auto = bf16 (else fp16) on CUDA, off on the CPU
    onnx: bool = True  # write model.onnx (the ONNX engine's network) at the end of training


@dataclass
class Config:
    task: str = "tagger"
    data: DataConfig = field(default_factory=DataConfig)
    text: TextConfig = field(default_factory=TextConfig)
    vocab: VocabConfig = field(default_factory=VocabConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _check_value(value, hint, key: str):
    """`value` checked against the type `hint`; ints are accepted where floats are expected."""
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        arms = typing.get_args(hint)
        for arm in arms:
            if isinstance(value, typing.get_origin(arm) or arm):
                return _check_value(value, arm, key)
        names = " or ".join(f"a list of {typing.get_args(a)[0].__name__}" if typing.get_origin(a) is list else a.__name__ for a in arms)
        raise SlotfillError(f"{key} must be {names}, not {type(value).__name__} ({value!r})")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise SlotfillError(f"{key} must be a list, not {type(value).__name__}")
        return [_check_value(v, item, key) for v in value]
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise SlotfillError(f"{key} must be {hint.__name__}, not {type(value).__name__} ({value!r})")
    allowed = CHOICES.get(key)
    for v in value if isinstance(value, list) else [value]:
        if allowed and v not in allowed:
            raise SlotfillError(f"{key} = {v!r} is not one of {', '.join(allowed)}")
    if key in RANGES:
        _check_range(value, key)
    return value


def _check_range(value: float, key: str) -> None:
    low, high, low_in, high_in = RANGES[key]
    inside = math.isfinite(value) and (
        low is None or value > low or (low_in and value == low)) and (
        high is None or value < high or (high_in and value == high))
    if not inside:
        left = "unbounded" if low is None else f"{'[' if low_in else '('}{low}"
        right = "unbounded" if high is None else f"{high}{']' if high_in else ')'}"
        allowed = f"{left}, {right}" if high is not None else (f">= {low}" if low_in else f"> {low}")
        raise SlotfillError(f"{key} = {value!r} is out of range (allowed: {allowed})")


def _build(cls, raw: dict, prefix: str = ""):
    if not isinstance(raw, dict):
        raise SlotfillError(f"{prefix.rstrip('.') or 'config'} must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            raise SlotfillError(f"unknown config key {prefix + key!r} (known: {', '.join(sorted(names))})")
    values = {}
    for key, value in raw.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = _build(hint, value, f"{prefix}{key}.")
        else:
            values[key] = _check_value(value, hint, prefix + key)
    return cls(**values)


def config_from_dict(raw: dict) -> Config:
    """A Config from nested plain data; unknown keys and wrong types are errors naming the key."""
    return _build(Config, raw)


def _get(raw: dict, dotted: str):
    *parents, last = dotted.split(".")
    for p in parents:
        raw = raw.get(p)
        if not isinstance(raw, dict):
            return None
    return raw.get(last)


def _put(raw: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        raw = raw.setdefault(p, {})
        if not isinstance(raw, dict):
            raise SlotfillError(f"cannot set {dotted!r}: {p!r} is not a table")
    raw[last] = value


def _resolved(value, base: Path):
    """A path (or each path of a list) made absolute against `base`; other values as they are."""
    if isinstance(value, list):
        return [_resolved(v, base) for v in value]
    return str((base / Path(value).expanduser()).resolve()) if isinstance(value, str) and value else value


def _resolve_paths(raw: dict, base: Path) -> None:
    for key in PATHS:
        value = _get(raw, key)
        if value:
            _put(raw, key, _resolved(value, base))


def parse_override(item: str) -> tuple[str, object]:
    """`model.hidden_size=256` -> ("model.hidden_size", 256); the value is TOML, or a bare string."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SlotfillError(f"--set {item!r}: expected SECTION.KEY=VALUE")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return key, value


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read a TOML config (or the defaults when `path` is None) and apply `--set` overrides."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SlotfillError("no such config file", path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise SlotfillError(f"not a valid TOML file ({err})", path) from None
        _resolve_paths(raw, path.resolve().parent)
    keys = []
    for item in overrides:
        key, value = parse_override(item)
        keys.append(key)
        _put(raw, key, value)
        if key in PATHS and value:
            _put(raw, key, _resolved(value, Path.cwd()))
    try:
        return config_from_dict(raw)
    except SlotfillError as err:
        message = str(err)
        if any(message.startswith(k) or repr(k) in message for k in keys):
            raise SlotfillError(message, "--set") from None
        raise SlotfillError(message, path) from None


def bundled_root() -> Path:
    """Where the bundled `configs/` and `data/` are: inside the installed package (`slotfill/demos`,
    built from the repository's folders), or the repository root of a source checkout."""
    package = Path(__file__).resolve().parent
    demos = package / "demos"
    return demos if (demos / "configs").is_dir() else package.parent


def find_config(name: str | Path | None = None) -> Path:
    """A config file: `name` itself when that file exists, else the bundled config of that name
    (`configs/flights-zh.toml`, `flights-zh.toml` or `flights-zh`); None: the flight-booking demo."""
    if name is not None and Path(name).is_file():
        return Path(name)
    configs = bundled_root() / "configs"
    stem = Path(name or "flights").name.removesuffix(".toml")
    bundled = configs / f"{stem}.toml"
    if bundled.is_file() and (name is None or Path(name).parent in (Path("."), Path("configs"))):
        return bundled
    known = ", ".join(sorted(p.stem for p in configs.glob("*.toml")))
    raise SlotfillError(f"no such config file (bundled configs: {known})", name)


def config_to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)
