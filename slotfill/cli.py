"""The `slotfill` command: train, tag, classify, evaluate, export, info, embed, serve (heavy imports inside commands)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .errors import SlotfillError
from .fallback import THRESHOLDS, Fallback
from .server import BATCH_WAIT_MS, MAX_BATCH, MAX_CHARS, MAX_TEXTS
from .tags import MAX_NBEST

DEFAULT_TAGGER = Path("models/flights")
DEFAULT_CLASSIFIER = Path("models/sentiment-demo")
STDIN_CHUNK = 1024


class _Group(click.Group):
    """Turns SlotfillError, and OSError (`error: PATH: reason`), into one `error:` line and exit status 1."""

    def invoke(self, ctx: click.Context):
        _log_to_stderr(logging.WARNING)  # notices, such as an engine falling back
        try:
            return super().invoke(ctx)
        except SlotfillError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(1)
        except OSError as err:
            where = f"{err.filename}: " if err.filename is not None else ""
            click.echo(f"error: {where}{err.strerror or err}", err=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="slotfill")
def main() -> None:
    """Slot filling and sentence classification with bidirectional recurrent networks."""


def _log_to_stderr(level: int = logging.INFO) -> None:
    logging.getLogger("slotfill").setLevel(level)
    logging.basicConfig(format="%(message)s", stream=sys.stderr)


@main.command()
@click.argument("config", required=False, type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Model directory [models/CONFIG-NAME].")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value (TOML syntax).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run whose checkpoint is in the output directory.")
@click.option("--force", is_flag=True, help="Write the model into a non-empty --output that holds no model (its other files stay).")
def train(config: Path | None, output: Path | None, overrides: tuple[str, ...], resume: bool, force: bool) -> None:
    """Train a model; with no CONFIG, the bundled flight-booking demo. CONFIG is a file, or the name
    of a bundled config (configs/flights-zh.toml, flights-zh) when no such file exists. Under torchrun,
    on several processes."""
    import os

    from .config import find_config, load_config
    from .nn.training import train as run

    config = find_config(config)
    settings = load_config(config, list(overrides))
    output = output or Path("models") / config.stem
    _log_to_stderr()
    try:
        predictor, metrics = run(settings, output, resume, force)
    except KeyboardInterrupt:
        click.echo(f"interrupted; the best model so far (if any) is in {output}; --resume continues", err=True)
        sys.exit(130)
    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 reports
        return
    history = metrics["history"]
    click.echo(f"best dev {history['metric']} {100 * history['best']:.2f} at epoch {history['best_epoch']} "
               f"({metrics['train_seconds']:.0f}s); model saved to {output}")
    if "test" in metrics:
        click.echo(f"test {predictor.summary(metrics['test'])}")
    click.echo(f"try: slotfill {predictor.command} --model {output} \"...\"")


def _sentences(texts: tuple[str, ...]) -> Iterator[list[str]]:
    """The TEXT arguments, or stdin's non-blank lines (UTF-8) in chunks for batching."""
    if texts:
        yield list(texts)
        return
    chunk: list[str] = []
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise SlotfillError(f"not UTF-8 text (byte 0x{raw[err.start]:02x})", "<stdin>", number) from None
        if line.strip():
            chunk.append(line)
        if len(chunk) == STDIN_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


ENGINE = click.option(
    "--engine", type=click.Choice(["auto", "onnx", "torch"]), default="auto", show_default=True,
    help="onnx: model.onnx without PyTorch; torch: weights.pt; auto: onnx when the model has a valid model.onnx.",
)


def _emit_json(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


FALLBACK = [click.option(f"--{name.replace('_', '-')}", name, type=float, help=f"Answer nlu_fallback when {when} (0 to 1) "
                         "[the model's; 0: never].") for name, when in THRESHOLDS.items()]


def fallback_options(command):
    for option in reversed(FALLBACK):
        command = option(command)
    return command


def _apply(kind: str, texts: tuple[str, ...], model: Path, as_json: bool, engine: str, nbest: int = 0, **fallback) -> None:
    """Load the model as the predictor class named `kind` and print its results for TEXT or stdin's lines."""
    from . import predict

    predictor = getattr(predict, kind).load(model, engine)
    predictor.fallback = predictor.fallback.but(**fallback)
    for chunk in _sentences(texts):
        for result in predictor.predict_batch(chunk, nbest=nbest):
            _emit_json(result) if as_json else click.echo(predictor.format_result(result))


def _applying(kind: str, default_model: Path, help: str):
    """A command that applies a `kind` model to TEXT (or each line of stdin)."""

    @click.argument("texts", nargs=-1)
    @click.option("--model", "-m", type=click.Path(path_type=Path), default=default_model, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per sentence.")
    @ENGINE
    @fallback_options
    def command(texts: tuple[str, ...], model: Path, as_json: bool, engine: str, **options) -> None:
        _apply(kind, texts, model, as_json, engine, **options)

    command.__doc__ = help
    return command


def _nbest_in_range(ctx: click.Context, param: click.Parameter, value: int | None) -> int:
    if value is not None and not 1 <= value <= MAX_NBEST:
        raise SlotfillError(f"--nbest must be from 1 to {MAX_NBEST}, not {value}")
    return value or 0


NBEST = click.option("--nbest", type=int, metavar="K", callback=_nbest_in_range,
                     help=f"Also list the K most probable tag sequences (1 to {MAX_NBEST}) with their probabilities.")
main.command("tag")(NBEST(_applying("SlotTagger", DEFAULT_TAGGER, "Tag the slots in TEXT (or in each line of stdin), each with its probability.")))
main.command("classify")(_applying("Classifier", DEFAULT_CLASSIFIER, "Classify TEXT (or each line of stdin): the label and its probability."))


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("data", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "data_format", default=None, help="Data format [the model's data.format].")
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON fractions.")
@ENGINE
@click.option("--errors", type=click.IntRange(min=0), is_flag=False, flag_value=10, default=None, metavar="[N]",
              help="Add the error analysis: errors by kind, the largest confusions and N sentences with errors [10].")
@click.option("--folds", type=int, help="Cross-validate instead: MODEL_DIR is a CONFIG whose data.train is split into K folds.")
@fallback_options
def evaluate(model_dir: Path, data: tuple[Path, ...], data_format: str | None, as_json: bool, engine: str, errors: int | None,
             folds: int | None, **fallback) -> None:
    """Evaluate MODEL_DIR on DATA (files or folders of data files, any supported format); with --folds K, cross-validate
    the config MODEL_DIR names on its training data."""
    from .analysis import format_errors
    from .predict import load

    if folds is not None:
        if data or errors is not None or data_format:
            raise SlotfillError("--folds takes a CONFIG and no DATA, --errors or --format: the folds come from its data.train")
        return _cross_validate(model_dir, folds, as_json)
    if not data:
        raise SlotfillError("give DATA to evaluate on (or --folds K with a CONFIG)")
    predictor = load(model_dir, engine)
    predictor.fallback = predictor.fallback.but(**fallback)
    if data_format:
        predictor.config.data.format = data_format
    result = predictor.evaluate(predictor.read(predictor.config, data[0] if len(data) == 1 else list(data)), errors)
    if as_json:
        _emit_json(result)
    else:
        click.echo(predictor.format_metrics(result) + ("\n\n" + format_errors(result["errors"]) if errors is not None else ""))


def _cross_validate(config: Path, folds: int, as_json: bool) -> None:
    from .config import find_config, load_config
    from .nn.folds import cross_validate, format_cross_validation

    result = cross_validate(load_config(find_config(config)), folds)
    _emit_json(result) if as_json else click.echo(format_cross_validation(result))


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Where to write it [MODEL_DIR/model.onnx].")
@click.option("--quantize", is_flag=True, help="int8 weights (onnxruntime dynamic quantization): smaller and faster, scores differ slightly.")
@click.option("--force", is_flag=True, help="Overwrite an existing --output that slotfill did not export.")
def export(model_dir: Path, output: Path | None, quantize: bool, force: bool) -> None:
    """Write MODEL_DIR's network as ONNX (model.onnx), for the ONNX engine or any ONNX runtime."""
    from .nn.export import export_model

    path = export_model(model_dir, output, quantize, force)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB{', int8' if quantize else ''})")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("data", nargs=-1)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing --output that is not a slotfill report.")
@ENGINE
def report(model_dir: Path, data: tuple[str, ...], output: Path, force: bool, engine: str) -> None:
    """Write an HTML report on MODEL_DIR: training curves, per-label figures, confusions, errors on DATA
    (default: the model's test set) and calibration. One file, nothing loaded from the network."""
    from .report import write

    path = write(model_dir, list(data), output, engine, force)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
def info(model_dir: Path) -> None:
    """Show a model's configuration, vocabulary and label sizes and parameters per layer."""
    from .config import config_to_dict
    from .nn.build import parameters
    from .predict import load
    from .storage import load_metrics

    predictor = load(model_dir, engine="torch")
    config = config_to_dict(predictor.config)
    click.echo(f"model      {model_dir} ({predictor.task})")
    for section in ("data", "text", "model", "train"):
        flat = {k: v for k, v in config[section].items() if not isinstance(v, dict)}
        click.echo(f"[{section}]    " + ", ".join(f"{k}={v}" for k, v in flat.items()))
    click.echo(f"vocabulary {predictor.featurizer.describe()}")
    click.echo(f"labels     {predictor.describe_labels()}\nparameters")
    counts = parameters(predictor)
    for name, own in [*counts.items(), ("total", sum(counts.values()))]:
        click.echo(f"  {name:<45} {own:>12,}")
    metrics = load_metrics(model_dir)
    if metrics and metrics.get("history", {}).get("best") is not None:
        h = metrics["history"]
        click.echo(f"best dev   {h['metric']} {100 * h['best']:.2f} at epoch {h['best_epoch']}")


WRITERS = ("jsonl", "conll", "atis", "rasa", "snips")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--to", "to_format", type=click.Choice(WRITERS), required=True, help="Format of TARGET.")
@click.option("--from", "from_format", type=click.Choice(["auto", "jsonl", "conll", "atis", "rasa", "snips", "doccano", "labelstudio"]),
              default="auto", show_default=True, help="Format of SOURCE (auto: told by each file's extension and content).")
@click.option("--scheme", type=click.Choice(["bio", "bioes"]), default="bio", show_default=True, help="Tags written to CoNLL or ATIS.")
@click.option("--latin-in-cjk", type=click.Choice(["word", "char"]), default="word", show_default=True,
              help="How raw text is tokenized: Latin letters in Chinese text as words or one per token.")
@click.option("--text-column", default="text", show_default=True, help="The field of a Label Studio task's data that holds the text.")
@click.option("--force", is_flag=True, help="Overwrite an existing TARGET file, or write into a non-empty TARGET folder.")
def convert(source: Path, target: Path, to_format: str, from_format: str, scheme: str, latin_in_cjk: str,
            text_column: str, force: bool) -> None:
    """Convert tagged data SOURCE (a file or a folder of data files) into TARGET: JSON Lines, CoNLL columns,
    an ATIS folder, Rasa NLU YAML or a Snips dataset."""
    from . import readers
    from .storage import check_output

    check_output(target, force, folder=to_format == "atis")
    sentences = readers.read_tagged(source, from_format, latin_in_cjk, text_column)
    if to_format in ("conll", "atis"):
        getattr(readers, f"write_{to_format}")(target, sentences, scheme)
    else:
        getattr(readers, "write_tagged_jsonl" if to_format == "jsonl" else f"write_{to_format}")(target, sentences)
    click.echo(f"{len(sentences)} sentences written to {target}")


@main.command()
@click.argument("corpus", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the vectors (word2vec text).")
@click.option("--dim", default=100, show_default=True)
@click.option("--window", default=5, show_default=True)
@click.option("--min-count", default=1, show_default=True)
@click.option("--epochs", default=20, show_default=True)
@click.option("--algorithm", type=click.Choice(["skipgram", "cbow"]), default="skipgram", show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--vectors", type=click.Path(dir_okay=False, path_type=Path), help="Vectors to query with --similar.")
@click.option("--similar", help="Print the words nearest to this one.")
@click.option("--top", default=10, show_default=True)
def embed(corpus, output, dim, window, min_count, epochs, algorithm, seed, vectors, similar, top) -> None:
    """Train word2vec vectors on CORPUS (one sentence per line), or query vectors with --similar."""
    from .config import Word2VecConfig
    from .nn.w2v import corpus_sentences, load_vectors, save_vectors, train_vectors

    if corpus is None and vectors is None:
        raise SlotfillError("give a CORPUS to train on (with --output), or --vectors FILE with --similar WORD")
    if corpus is not None:
        if output is None:
            raise SlotfillError("--output FILE is needed to save the trained vectors")
        config = Word2VecConfig(dim=dim, window=window, min_count=min_count, epochs=epochs, algorithm=algorithm)
        trained = train_vectors(corpus_sentences(corpus), config, seed)
        save_vectors(trained, output)
        click.echo(f"{len(trained.index_to_key)} vectors of dimension {dim} written to {output}")
    if similar:
        wv = load_vectors(vectors or output)
        word = similar.lower()
        if word not in wv.key_to_index:
            raise SlotfillError(f"{word!r} is not in the vectors", vectors or output)
        for neighbour, score in wv.most_similar(word, topn=top):
            click.echo(f"{score:.3f}  {neighbour}")


@main.command()
@click.argument("models", nargs=-1, required=True, metavar="MODEL_DIR...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, help="Port to listen on (0: any free port).")
@ENGINE
@click.option("--batch-wait-ms", default=BATCH_WAIT_MS, show_default=True, help="How long a request may wait for others to batch with.")
@click.option("--max-batch", default=MAX_BATCH, show_default=True, help="Most sentences in one model call.")
@click.option("--max-texts", default=MAX_TEXTS, show_default=True, help="Most texts in one request.")
@click.option("--max-chars", default=MAX_CHARS, show_default=True, help="Longest text accepted, in characters.")
@click.option("--threads", default=1, show_default=True, help="Threads for each model call (one leaves the other cores to HTTP).")
@click.option("--workers", default=1, show_default=True, help="Worker processes sharing the port, each with its own models.")
@click.option("--token", envvar="SLOTFILL_TOKEN", help="Every API request must carry it (Authorization: Bearer, ?token=, "
              "or a \"token\" field) [env SLOTFILL_TOKEN].")
@click.option("--allow-reload", is_flag=True, help="Allow POST /models/NAME/reload (SIGHUP reloads in any case).")
@fallback_options
def serve(models, host, port, engine, batch_wait_ms, max_batch, max_texts, max_chars, threads, workers, token,
          allow_reload, **fallback) -> None:
    """Serve MODEL_DIR (or NAME=MODEL_DIR, several) over HTTP: a JSON API and a page to try them."""
    import os

    if min(max_batch, max_texts, max_chars, threads) < 1 or batch_wait_ms < 0:
        raise SlotfillError("--max-batch, --max-texts, --max-chars and --threads must be positive, --batch-wait-ms not negative")
    if workers < 1:
        raise SlotfillError(f"--workers must be 1 or more, not {workers}")
    if token is None and os.environ.get("SLOTFILL_TOKEN") == "":  # click reads an empty variable as no token
        token = ""
    if token is not None and not token.strip():
        raise SlotfillError("--token (or SLOTFILL_TOKEN) is empty: give a token, or leave it out to serve without one")
    from .server.requests import Limits
    from .server.runner import Options, model_specs
    from .server.workers import serve as run

    Fallback().but(**fallback)  # out of range: one line now, not in every worker
    options = Options(model_specs(models), engine, threads, Limits(max_texts, max_chars), max_batch, batch_wait_ms,
                      token, allow_reload, workers, fallback)
    logging.getLogger("slotfill.server").setLevel(logging.INFO)  # reloads, restarted workers

    def announce(url: str, names: str) -> None:
        processes = f" in {workers} worker processes" if workers > 1 else ""
        click.echo(f"serving {names} at {url}{processes} (API docs at {url}docs); Ctrl-C stops")
        sys.stdout.flush()

    run(options, host, port, announce, lambda line: click.echo(f"warning: {line}", err=True))
    click.echo("stopped", err=True)
