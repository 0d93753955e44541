"""Shared fixtures: slices of the bundled data, tiny configs, tiny models trained once per session, the CLI, servers."""

# Test files take what they share from here as fixtures (never `from conftest import ...`): the constants and
# functions below are for this file; the fixtures further down hand them out.

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from slotfill.storage import WRITTEN

# Tiny tensors and a busy 2-core machine: one intra-op thread avoids OpenMP waiting on a descheduled thread.
torch.set_num_threads(1)

PROJECT = Path(__file__).resolve().parent.parent
DATA = PROJECT / "data"
FLIGHTS_CONFIG = PROJECT / "configs" / "flights.toml"
SLOTFILL = Path(sys.executable).parent / "slotfill"

MODEL_FILES = frozenset(WRITTEN)  # every file training writes into a model directory

TAGGER_TRAIN_LINES = 400  # enough of data/flights to name boston, taipei, denver and dallas, which tests tag
TAGGER_DEV_LINES = 20
CLASSIFIER_TRAIN_LINES = 80
# the first training review: the tiny classifier fits its training set, while new reviews are a coin toss for it
LEARNT_REVIEW = "a bit long at first, but the story is wonderful and the documentary is heartfelt."
CLASSIFIER_DEV_LINES = 20

# model/train settings shared by every tiny model in the tests
TINY_MODEL = [
    "model.hidden_size=32",
    "model.learned.dim=16",
    "model.hashed.dim=16",
    "model.hashed.buckets=2000",
    "model.onehot.dim=16",
    "model.word2vec.dim=16",
    "model.word2vec.epochs=2",
    "model.chars.dim=8",
    "model.chars.filters=16",
    "model.dropout=0.1",
    "train.batch_size=8",
    "train.lr=0.01",
    "train.threads=1",
    "train.device='cpu'",
]


def _head(source: Path, target: Path, lines: int) -> Path:
    """The first `lines` lines of `source`, written to `target`."""
    text = source.read_text(encoding="utf-8").splitlines(keepends=True)[:lines]
    target.write_text("".join(text), encoding="utf-8")
    return target


# ---- constants and factories, as fixtures ------------------------------------------------------


@pytest.fixture(scope="session")
def flights_config() -> Path:
    """configs/flights.toml, the tagger every tiny tagger here is shrunk from."""
    return FLIGHTS_CONFIG


@pytest.fixture(scope="session")
def tiny_model() -> list[str]:
    """`--set` items for the model and train sections of every tiny model (no data, no epochs)."""
    return list(TINY_MODEL)


@pytest.fixture(scope="session")
def tagger_overrides():
    """tagger_overrides(train, dev, epochs=10, extra=()): `--set` items for configs/flights.toml as a tiny tagger."""
    return _tagger_overrides


@pytest.fixture(scope="session")
def classifier_overrides():
    """classifier_overrides(train, dev, epochs=8, extra=()): `--set` items for a tiny classifier (no config file)."""
    return _classifier_overrides


@pytest.fixture(scope="session")
def head():
    """head(source, target, lines): write the first `lines` lines of `source` to `target`; returns `target`."""
    return _head


@pytest.fixture(scope="session")
def learnt_review() -> str:
    """A training review the session classifier has learnt to call positive."""
    return LEARNT_REVIEW


@pytest.fixture(scope="session")
def model_files() -> frozenset[str]:
    """The files `slotfill train` leaves in a model directory, and nothing else."""
    return MODEL_FILES


@pytest.fixture(scope="session")
def slotfill_script() -> Path:
    """The installed `slotfill` console script of this environment."""
    return SLOTFILL


@pytest.fixture(scope="session")
def same():
    """same(got, expected): assert equal JSON values, floats within 1e-5 (a server's thread count may move the last bits)."""
    return _same


def _same(got, expected) -> None:
    if isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5)
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys()
        for key in expected:
            _same(got[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for a, b in zip(got, expected):
            _same(a, b)
    else:
        assert got == expected


@pytest.fixture(scope="session")
def run_slotfill():
    """run_slotfill(*args, input=None): the installed `slotfill` in a subprocess; (bytes) CompletedProcess."""

    def run(*args, input: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(SLOTFILL), *map(str, args)], input=input, capture_output=True, timeout=120)

    return run


# ---- data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmallData:
    flights_train: Path
    flights_dev: Path
    reviews_train: Path
    reviews_dev: Path


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> SmallData:
    """Slices of the bundled corpora (JSON Lines), written once per session."""
    folder = tmp_path_factory.mktemp("data")
    return SmallData(
        _head(DATA / "flights" / "train.jsonl", folder / "flights-train.jsonl", TAGGER_TRAIN_LINES),
        _head(DATA / "flights" / "dev.jsonl", folder / "flights-dev.jsonl", TAGGER_DEV_LINES),
        _head(DATA / "reviews" / "train.jsonl", folder / "reviews-train.jsonl", CLASSIFIER_TRAIN_LINES),
        _head(DATA / "reviews" / "dev.jsonl", folder / "reviews-dev.jsonl", CLASSIFIER_DEV_LINES),
    )


@pytest.fixture
def tagged_files(tmp_path) -> tuple[Path, Path]:
    """(train, dev) tagged JSON Lines files in this test's tmp_path: 60 and 20 sentences with intents."""
    return (
        _head(DATA / "flights" / "train.jsonl", tmp_path / "train.jsonl", 60),
        _head(DATA / "flights" / "dev.jsonl", tmp_path / "dev.jsonl", 20),
    )


def _tagger_overrides(train: Path, dev: Path | str, epochs: int = 10, extra: tuple[str, ...] = ()) -> list[str]:
    """`--set` items that make configs/flights.toml a learned + hashed BiLSTM-CRF of a seconds-long run
    of exactly `epochs` epochs (no early stopping on the tiny dev set's noise)."""
    shape = ["model.embeddings=['learned','hashed']", "vocab.min_count=1", "model.word_dropout=0.05"]
    return [f"data.train='{train}'", f"data.dev='{dev}'", *shape, *TINY_MODEL, f"train.epochs={epochs}",
            f"train.patience={epochs}", *extra]


def _classifier_overrides(train: Path, dev: Path, epochs: int = 8, extra: tuple[str, ...] = ()) -> list[str]:
    """`--set` items for a tiny learned + hashed BiLSTM sentiment classifier of `epochs` epochs."""
    return [
        "task='classifier'",
        f"data.train='{train}'",
        f"data.dev='{dev}'",
        "model.embeddings=['learned','hashed']",
        "model.hidden_size=16",
        *TINY_MODEL[1:],
        f"train.epochs={epochs}",
        *extra,
    ]


@pytest.fixture(scope="session")
def tagger_settings(small_data) -> list[str]:
    return _tagger_overrides(small_data.flights_train, small_data.flights_dev)


@pytest.fixture(scope="session")
def tagger_config_file(tmp_path_factory, small_data) -> Path:
    """The tiny tagger as a TOML file (paths relative to the file, as in configs/)."""
    folder = small_data.flights_train.parent
    path = tmp_path_factory.mktemp("configs") / "tiny.toml"
    path.write_text(
        f"""task = "tagger"

[data]
train = "{Path('..') / folder.name / small_data.flights_train.name}"
dev = "{Path('..') / folder.name / small_data.flights_dev.name}"

[model]
embeddings = ["learned", "hashed"]
hidden_size = 32
decoder = "crf"
dropout = 0.1
learned.dim = 16
hashed.dim = 16
hashed.buckets = 2000

[train]
epochs = 2
batch_size = 8
lr = 0.01
threads = 1
device = "cpu"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Trained:
    directory: Path
    predictor: object
    metrics: dict


@pytest.fixture(scope="session")
def trained_tagger(tmp_path_factory, tagger_settings) -> Trained:
    """configs/flights.toml shrunk: a BiLSTM-CRF with learned + hashed words and an intent head, 10 epochs."""
    from slotfill.config import load_config
    from slotfill.nn.training import train

    directory = tmp_path_factory.mktemp("tagger-parent") / "tagger"
    predictor, metrics = train(load_config(FLIGHTS_CONFIG, tagger_settings), directory)
    return Trained(directory, predictor, metrics)


@pytest.fixture(scope="session")
def trained_classifier(tmp_path_factory, small_data) -> Trained:
    from slotfill.config import load_config
    from slotfill.nn.training import train

    directory = tmp_path_factory.mktemp("classifier-parent") / "classifier"
    settings = _classifier_overrides(small_data.reviews_train, small_data.reviews_dev)
    predictor, metrics = train(load_config(None, settings), directory)
    return Trained(directory, predictor, metrics)


@pytest.fixture
def model_copy(trained_tagger, tmp_path) -> Path:
    """A copy of the session tagger's directory in this test's tmp_path, free to damage."""
    target = tmp_path / "model"
    shutil.copytree(trained_tagger.directory, target)
    return target


# ---- servers ----------------------------------------------------------------------------------------


@dataclass
class RunningServer:
    process: subprocess.Popen
    url: str
    stderr: object

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send `sig`; (exit status, what the server wrote to stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        status = self.process.wait(timeout=30)
        self.stderr.seek(0)
        return status, self.stderr.read()


def _start_server(*args, env: dict[str, str] | None = None) -> RunningServer:
    """`slotfill serve ARGS --port 0` in a subprocess (`env`: more environment variables), returned once it
    answers /health."""
    stderr = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen([str(SLOTFILL), "serve", *map(str, args), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=stderr, text=True, env={**os.environ, **(env or {})})
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    server = RunningServer(process, match.group() if match else "", stderr)
    if not match:
        status, err = server.stop()
        raise AssertionError(f"slotfill serve did not start (status {status}): {line!r} {err}")
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(server.url + "health", timeout=5):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop(signal.SIGKILL)
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def http(server):
    """An httpx.Client on the test module's own `server` fixture (a RunningServer)."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def start_server():
    """start_server(*args, env=None): `slotfill serve ARGS --port 0` in a subprocess, returned (a RunningServer)
    once it answers /health; any still running when the session ends is stopped."""
    started: list[RunningServer] = []

    def start(*args, env: dict[str, str] | None = None) -> RunningServer:
        server = _start_server(*args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:  # a test that failed before stopping its own
            server.stop(signal.SIGKILL)


@pytest.fixture
def count_epochs(monkeypatch):
    """count_epochs(): a list that receives the label of every training epoch run from then on ("epoch 3", ...)."""
    from slotfill.nn import trainer

    def start() -> list[str]:
        run, epoch = [], trainer.Trainer.epoch

        def counted(self, label):
            run.append(label)
            return epoch(self, label)

        monkeypatch.setattr(trainer.Trainer, "epoch", counted)
        return run

    return start


@pytest.fixture(scope="module")
def server(trained_tagger, trained_classifier, start_server):
    """The session's tiny tagger (named after its directory, the default) and classifier (named `reviews`),
    served on a loopback port once per test module."""
    running = start_server(trained_tagger.directory, f"reviews={trained_classifier.directory}")
    yield running
    running.stop()


@pytest.fixture
def epochs_run(count_epochs) -> list[str]:
    """The labels of the training epochs run from the test's start."""
    return count_epochs()
