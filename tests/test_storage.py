"""Output paths: train, export and convert never delete or overwrite what slotfill did not write; every file
error is one `error: PATH: reason` line; a save that fails leaves the previous files as they were."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import sets, torchrun

from slotfill import storage
from slotfill.cli import main
from slotfill.config import Config
from slotfill.features import Featurizer
from slotfill.nn import training
from slotfill.predict import SlotTagger
from slotfill.readers import read_tagged
from slotfill.vocab import Vocab

MODEL = set(storage.WRITTEN) - {"model.onnx"}  # what train_args writes (train.onnx = false)
NOT_MODELS = {
    "notes": {"notes.txt": b"my thesis notes\n"},
    "another tool's model": {"config.json": b'{"model_type": "bert"}\n', "vocab.json": b'{"[PAD]": 0}\n'},
    "a file named like slotfill's": {"checkpoint.pt": b"not a checkpoint\n"},
}
CONLL_WITHOUT_INTENTS = "fly\tO\nto\tO\nboston\tB-toloc.city_name\n\nlist\tO\nflights\tO\n\n"


def slotfill(*args, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def one_error(result: Result, *names) -> str:
    """A failed command: exit status 1 and one `error:` line on stderr, naming `names`; no traceback."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in `folder` and below, by relative name."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(folder: Path, prefix: str = ".") -> list[str]:
    """Temporary files or folders (dot names) in `folder`."""
    return [p.name for p in folder.iterdir() if p.name.startswith(prefix)]


@pytest.fixture
def train_args(tagged_files, flights_config, tagger_overrides):
    """train_args(output, *options, epochs=1, extra=()): `slotfill train` of a tiny tagger into `output`."""

    def args(output, *options: str, epochs: int = 1, extra: tuple[str, ...] = ()) -> list:
        settings = tagger_overrides(*tagged_files, epochs=epochs, extra=("train.onnx=false", *extra))
        return ["train", flights_config, "--output", output, *options, *sets(settings)]

    return args


def failing_writes(monkeypatch, code: int, after: int = 0) -> None:
    """Make slotfill's file writes fail with OS error `code`, half the bytes written, after `after` good ones."""
    fill, done = storage._fill, []

    def fill_or_fail(fd: int, data: bytes) -> None:
        if len(done) < after:
            done.append(fd)
            return fill(fd, data)
        with os.fdopen(fd, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(storage, "_fill", fill_or_fail)


@pytest.fixture
def model_copy(trained_tagger, tmp_path) -> Path:
    return Path(shutil.copytree(trained_tagger.directory, tmp_path / "model"))


# ---- train -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("contents", NOT_MODELS.values(), ids=NOT_MODELS)
def test_train_refuses_a_folder_that_holds_no_model_before_training(tagged_files, tmp_path, epochs_run, contents, train_args):
    folder = tmp_path / "thesis"
    folder.mkdir()
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    error = one_error(slotfill(*train_args(folder), ok=False), folder, "--force", "choose another directory")
    assert sorted(contents)[0] in error
    assert epochs_run == []
    assert snapshot(folder) == contents


def test_train_into_the_data_folder_needs_force_and_leaves_the_data_alone(tagged_files, tmp_path, train_args):
    """--output is the folder of the training file: refused; with --force the model is written beside the data,
    which stay byte for byte; the folder then holds a model, so training into it again needs no --force."""
    data = tmp_path  # tagged_files are train.jsonl and dev.jsonl here
    before = snapshot(data)
    one_error(slotfill(*train_args(data), ok=False), data, "train.jsonl", "--force")
    assert snapshot(data) == before
    slotfill(*train_args(data, "--force"))
    first = snapshot(data)
    assert set(first) == set(before) | MODEL and {name: first[name] for name in before} == before
    assert SlotTagger.load(data, "torch").tag("fly from boston to denver")["tokens"][-1] == "denver"
    slotfill(*train_args(data, extra=("train.seed=2",)))
    second = snapshot(data)
    assert set(second) == set(first) and {name: second[name] for name in before} == before
    assert second["weights.pt"] != first["weights.pt"]
    assert hidden(data) == [] and hidden(data.parent, f".{data.name}.") == []


def test_train_into_the_working_directory(tagged_files, tmp_path, monkeypatch, train_args):
    """`--output .`: a working directory holding a file of the user's is refused, and with --force written
    into (the directory itself is never renamed away); an empty one takes the model, and a new one again."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "draft.txt").write_bytes(b"draft\n")
    monkeypatch.chdir(work)
    inode = os.stat(".").st_ino
    one_error(slotfill(*train_args("."), ok=False), ".", "draft.txt", "--force")
    assert os.listdir(".") == ["draft.txt"]
    slotfill(*train_args(".", "--force"))
    assert os.stat(".").st_ino == inode and Path.cwd() == work
    assert set(os.listdir(".")) == MODEL | {"draft.txt"} and Path("draft.txt").read_bytes() == b"draft\n"

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    inode = os.stat(".").st_ino
    for seed in (1, 2):
        slotfill(*train_args(".", extra=(f"train.seed={seed}",)))
        assert os.stat(".").st_ino == inode and set(os.listdir(".")) == MODEL
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_a_failed_save_leaves_the_previous_model_byte_for_byte(tagged_files, tmp_path, monkeypatch, code, train_args):
    model = tmp_path / "models" / "tagger"
    slotfill(*train_args(model))
    before = snapshot(model)
    failing_writes(monkeypatch, code, after=2)  # config.json and vocab.json written, weights.pt fails
    result = slotfill(*train_args(model, extra=("train.seed=2",)), ok=False)
    assert one_error(result) == f"error: {model}: {os.strerror(code)}"
    assert snapshot(model) == before
    assert os.listdir(model.parent) == ["tagger"]  # no temporary folder left


def test_a_failed_save_beside_other_files_changes_none_of_them(tmp_path, monkeypatch):
    """A model folder holding a file of the user's is written file by file; a failure halfway replaces none."""
    model = tmp_path / "model"
    model.mkdir()
    old = storage.Parts(Config(), Featurizer(Vocab.build([["fly"]])), {"tags": ["O"], "intents": None})
    new = storage.Parts(Config(), old.featurizer, {"tags": ["O", "B-x"], "intents": None})
    storage.save_model(model, old, b"old weights", {"history": {}})
    (model / "notes.txt").write_bytes(b"mine\n")
    before = snapshot(model)
    failing_writes(monkeypatch, errno.ENOSPC, after=3)
    with pytest.raises(OSError) as err:
        storage.save_model(model, new, b"new weights", {"history": {"best": 1}})
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(model))
    assert snapshot(model) == before and hidden(model) == [] and hidden(tmp_path) == []
    monkeypatch.undo()
    storage.save_model(model, new, b"new weights", {"history": {"best": 1}})
    after = snapshot(model)
    assert after["weights.pt"] == b"new weights" and after["notes.txt"] == b"mine\n"
    assert storage.read_model(model).labels["tags"] == ["O", "B-x"]


def test_resume_writes_beside_the_users_files_and_needs_a_checkpoint(tagged_files, tmp_path, monkeypatch, train_args):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"mine\n")
    one_error(slotfill(*train_args(folder, "--resume"), ok=False), folder, "nothing to resume")
    assert snapshot(folder) == {"notes.txt": b"mine\n"}

    model = tmp_path / "model"
    epoch, calls = training.Trainer.epoch, []

    def interrupted_at_2(self, label):
        calls.append(label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return epoch(self, label)

    monkeypatch.setattr(training.Trainer, "epoch", interrupted_at_2)
    assert slotfill(*train_args(model, epochs=3), ok=False).exit_code == 130
    monkeypatch.undo()
    (model / "notes.txt").write_bytes(b"mine\n")
    slotfill(*train_args(model, "--resume", epochs=3))
    assert set(os.listdir(model)) == MODEL | {"notes.txt"} and (model / "notes.txt").read_bytes() == b"mine\n"
    assert [e["epoch"] for e in storage.load_metrics(model)["history"]["epochs"]] == [1, 2, 3]


def test_under_torchrun_rank_0_refuses_a_folder_that_holds_no_model(tagged_files, tmp_path, flights_config, tagger_overrides):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"mine\n")
    done = torchrun("train", str(flights_config), "-o", str(folder), *sets(tagger_overrides(*tagged_files, epochs=1)))
    assert done.returncode != 0
    errors = {line for line in done.stderr.splitlines() if line.startswith("error: ")}
    assert len(errors) == 1 and f"error: {folder}: not empty (holds notes.txt)" in errors.pop()
    assert f'File "{Path(storage.__file__).parent}' not in done.stderr and "epoch  1/" not in done.stderr
    assert snapshot(folder) == {"notes.txt": b"mine\n"}


def test_an_unwritable_output_is_refused_before_any_work(tagged_files, tmp_path, monkeypatch, epochs_run, train_args):
    """A read-only folder (simulated: the tests run as root, whom no permission stops)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: not (Path(path) == locked and mode & os.W_OK) and access(path, mode, **kw))
    for args, path in [(train_args(locked / "model"), locked / "model"),
                       (train_args(locked), locked),
                       (["convert", tagged_files[1], locked / "dev.conll", "--to", "conll"], locked / "dev.conll"),
                       (["convert", tagged_files[1], locked / "deep" / "atis", "--to", "atis"], locked / "deep" / "atis")]:
        assert one_error(slotfill(*args, ok=False)) == f"error: {path}: Permission denied"
    assert epochs_run == [] and os.listdir(locked) == []


@pytest.mark.parametrize("where, reason", [("notes.txt", "Not a directory"), ("notes.txt/model", "Not a directory")])
@pytest.mark.parametrize("command", ["train", "convert to atis"])
def test_a_file_where_a_folder_should_be_is_one_line(command, where, reason, tagged_files, tmp_path, train_args):
    (tmp_path / "notes.txt").write_bytes(b"mine\n")
    path = tmp_path / where
    args = train_args(path) if command == "train" else ["convert", tagged_files[1], path, "--to", "atis"]
    assert one_error(slotfill(*args, ok=False)) == f"error: {path}: {reason}"
    assert (tmp_path / "notes.txt").read_bytes() == b"mine\n"


# ---- export and convert ----------------------------------------------------------------------------


def onnx_of_another_tool(path: Path) -> None:
    import onnx

    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([], "other", [], [])), str(path))


@pytest.mark.parametrize("foreign", ["text", "onnx"])
def test_export_overwrites_only_what_slotfill_exported(foreign, model_copy, tmp_path):
    target = tmp_path / "network.onnx"
    target.write_bytes(b"my own network\n") if foreign == "text" else onnx_of_another_tool(target)
    before = target.read_bytes()
    one_error(slotfill("export", model_copy, "--output", target, ok=False), target, "was not written by slotfill", "--force")
    assert target.read_bytes() == before
    slotfill("export", model_copy, "--output", target, "--force")
    assert storage.is_onnx_model(target) and target.read_bytes() == (model_copy / "model.onnx").read_bytes()
    slotfill("export", model_copy, "--output", target)  # slotfill's own export: replaced without --force
    (model_copy / "model.onnx").write_bytes(before)  # the default output, when not slotfill's
    one_error(slotfill("export", model_copy, ok=False), model_copy / "model.onnx", "--force")
    assert (model_copy / "model.onnx").read_bytes() == before


def test_convert_overwrites_an_existing_file_only_with_force(tagged_files, tmp_path):
    dev = tagged_files[1]
    target = tmp_path / "dev.conll"
    target.write_bytes(b"mine\n")
    one_error(slotfill("convert", dev, target, "--to", "conll", ok=False), target, "already exists", "--force")
    assert target.read_bytes() == b"mine\n"
    slotfill("convert", dev, target, "--to", "conll", "--force")
    assert [(s.tokens, s.tags) for s in read_tagged(target)] == [(s.tokens, s.tags) for s in read_tagged(dev)]
    assert target.stat().st_mode & 0o777 == 0o666 & ~storage.UMASK  # not the temporary file's 0600
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    slotfill("convert", dev, empty, "--to", "jsonl")  # an empty file holds nothing to lose
    assert len(read_tagged(empty)) == len(read_tagged(dev))


def test_convert_into_an_atis_folder(tmp_path):
    """A non-empty folder only with --force, which replaces seq.in, seq.out and label (an older label removed
    when the data have no intents) and leaves other files alone; missing parents are created."""
    source = tmp_path / "small.conll"
    source.write_text(CONLL_WITHOUT_INTENTS, encoding="utf-8")
    folder = tmp_path / "atis"
    folder.mkdir()
    (folder / "README").write_bytes(b"mine\n")
    (folder / "label").write_bytes(b"atis_flight\n")
    before = snapshot(folder)
    one_error(slotfill("convert", source, folder, "--to", "atis", ok=False), folder, "not empty", "--force")
    assert snapshot(folder) == before
    slotfill("convert", source, folder, "--to", "atis", "--force")
    assert sorted(os.listdir(folder)) == ["README", "seq.in", "seq.out"] and (folder / "README").read_bytes() == b"mine\n"
    assert [s.tokens for s in read_tagged(folder)] == [["fly", "to", "boston"], ["list", "flights"]]
    deep = tmp_path / "new" / "deeper" / "atis"
    slotfill("convert", source, deep, "--to", "atis")
    assert sorted(os.listdir(deep)) == ["seq.in", "seq.out"]


@pytest.mark.parametrize("where, reason", [
    ("missing/out", "No such file or directory"),
    ("notes.txt/out", "Not a directory"),
    ("folder", "Is a directory"),
])
@pytest.mark.parametrize("command", ["export", "convert"])
def test_a_file_output_that_cannot_be_written_is_one_line(command, where, reason, trained_tagger, tagged_files, tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"mine\n")
    (tmp_path / "folder").mkdir()
    path = tmp_path / where
    args = ["export", trained_tagger.directory, "--output", path] if command == "export" else \
        ["convert", tagged_files[1], path, "--to", "jsonl"]
    assert one_error(slotfill(*args, ok=False)) == f"error: {path}: {reason}"
    assert not (tmp_path / "missing").exists() and os.listdir(tmp_path / "folder") == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
@pytest.mark.parametrize("command", ["export", "convert"])
def test_a_file_output_that_fails_writing_is_one_line_and_keeps_the_old_file(command, code, model_copy, tagged_files, monkeypatch):
    target = model_copy / "model.onnx"
    args = ["export", model_copy] if command == "export" else ["convert", tagged_files[1], target, "--to", "jsonl", "--force"]
    before = snapshot(model_copy)
    failing_writes(monkeypatch, code)
    assert one_error(slotfill(*args, ok=False)) == f"error: {target}: {os.strerror(code)}"
    assert snapshot(model_copy) == before and hidden(model_copy) == []
