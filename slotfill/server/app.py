"""The FastAPI app over loaded predictors: /tag, /classify, /model/parse (Rasa NLU), /health, the page and /docs.

The API's routes are plain Starlette routes of the FastAPI app, their bodies parsed and checked here by
hand: with FastAPI's per-route machinery (dependencies, pydantic) a request took a quarter to a half more
server CPU, and this way every error is answered as `{"error": "..."}`. `openapi.py` documents the API.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import html
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import SlotfillError
from . import BATCH_WAIT_MS, MAX_BATCH, MAX_CHARS, MAX_TEXTS, openapi
from .batching import MicroBatcher

_NAME = re.compile(r"[A-Za-z0-9._-]+")
RANKING = 10  # intents listed in /model/parse's intent_ranking, as Rasa lists them


class BadRequest(Exception):
    """Answered as `{"error": message}` with a 4xx status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Limits:
    max_texts: int = MAX_TEXTS
    max_chars: int = MAX_CHARS

    @property
    def max_body(self) -> int:
        """Bytes a valid request can take: every text at its longest, each character a 6-byte JSON escape."""
        return self.max_texts * (6 * self.max_chars + 8) + 4096


@dataclass
class Served:
    """One model behind the API: its predictor and the batcher that feeds it."""

    name: str
    predictor: object
    batcher: MicroBatcher

    @property
    def task(self) -> str:
        return self.predictor.task

    def health(self) -> dict:
        p = self.predictor
        if self.task == "tagger":
            labels = sorted({tag[2:] for tag in p.tags.itos if tag != "O"})
            intents = list(p.intents.itos) if p.intents is not None else None
        else:
            labels, intents = list(p.labels.itos), None
        return {
            "name": self.name,
            "task": self.task,
            "engine": p.engine,
            "labels": labels,
            "intents": intents,
            "batches": {"count": self.batcher.batches, "texts": self.batcher.texts},
        }


def model_specs(specs: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """`DIR` or `NAME=DIR` arguments as {name: directory}; a bare DIR is named after its last part."""
    models: dict[str, Path] = {}
    for spec in specs:
        name, sep, directory = spec.partition("=")
        if not sep:
            directory = spec
            name = Path(spec).resolve().name
        if not _NAME.fullmatch(name):
            raise SlotfillError(f"{spec}: a model name is letters, digits, '.', '_' or '-' (write NAME=DIR)")
        if name in models:
            raise SlotfillError(f"{spec}: two models named {name!r} (write NAME=DIR to tell them apart)")
        models[name] = Path(directory)
    return models


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False).encode(), status, media_type="application/json")


def _error(message: str, status: int) -> Response:
    return _json({"error": message}, status)


async def _body(request: Request, limits: Limits) -> dict:
    """The request's JSON object, or BadRequest saying what is wrong with it."""
    kind = request.headers.get("content-type", "")
    if kind.partition(";")[0].strip().lower() != "application/json":
        raise BadRequest(f"expected Content-Type: application/json, got {kind or 'none'}", 415)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_body:
        raise BadRequest(f"the body is larger than {limits.max_body} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body:
            raise BadRequest(f"the body is larger than {limits.max_body} bytes", 413)
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"the body is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(data).__name__}")
    return data


def _check_text(text, field: str, limits: Limits) -> str:
    if not isinstance(text, str):
        raise BadRequest(f"{field!r} must be a string, not {type(text).__name__}")
    if not text.strip():
        raise BadRequest(f"{field!r} is empty")
    if len(text) > limits.max_chars:
        raise BadRequest(f"{field!r} is longer than {limits.max_chars} characters ({len(text)})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field!r} is not valid Unicode (a lone surrogate)") from None
    return text


def texts_of(data: dict, limits: Limits, many: bool = True) -> tuple[list[str], bool]:
    """(texts, whether one `text` was sent) from `{"text": ...}` or (if `many`) `{"texts": [...]}`."""
    if "text" in data and "texts" in data:
        raise BadRequest("give 'text' or 'texts', not both")
    if "text" in data:
        return [_check_text(data["text"], "text", limits)], True
    if not many or "texts" not in data:
        raise BadRequest("missing 'text'" + (" (or 'texts')" if many else ""))
    texts = data["texts"]
    if not isinstance(texts, list):
        raise BadRequest(f"'texts' must be a list of strings, not {type(texts).__name__}")
    if not texts:
        raise BadRequest("'texts' is an empty list")
    if len(texts) > limits.max_texts:
        raise BadRequest(f"'texts' holds {len(texts)} texts; at most {limits.max_texts} per request", 413)
    return [_check_text(t, f"texts[{i}]", limits) for i, t in enumerate(texts)], False


def _plain(result: dict) -> dict:
    """A result as `slotfill tag --json` prints it: the intent ranking is for /model/parse."""
    intent = result.get("intent")
    if intent is None or "ranking" not in intent:
        return result
    return {**result, "intent": {k: v for k, v in intent.items() if k != "ranking"}}


def rasa_parse(result: dict, task: str) -> dict:
    """A tag or classify result in the shape of Rasa NLU's `POST /model/parse` answer."""
    if task == "classifier":
        ranking = sorted(({"label": k, "score": v} for k, v in result["scores"].items()), key=lambda r: -r["score"])
        slots = []
    else:
        intent = result.get("intent")
        ranking = (intent.get("ranking") or [intent]) if intent else []
        slots = result["slots"]
    return {
        "text": result["text"],
        "intent": {"name": ranking[0]["label"], "confidence": ranking[0]["score"]} if ranking else {"name": None, "confidence": 0.0},
        "intent_ranking": [{"name": r["label"], "confidence": r["score"]} for r in ranking],
        "entities": [
            {
                "entity": s["label"],
                "value": s["text"],
                "start": s["start"],
                "end": s["end"],
                "confidence_entity": s.get("score"),
                "extractor": "slotfill",
            }
            for s in slots
        ],
    }


def create_app(
    predictors: dict[str, object],
    limits: Limits | None = None,
    max_batch: int = MAX_BATCH,
    batch_wait_ms: float = BATCH_WAIT_MS,
) -> FastAPI:
    """The app serving `predictors` ({name: loaded predictor}); the first is the default model."""
    limits = limits or Limits()
    served: dict[str, Served] = {}
    for name, predictor in predictors.items():
        predict = functools.partial(predictor.tag_batch, ranking=RANKING) if predictor.task == "tagger" else predictor.classify_batch
        served[name] = Served(name, predictor, MicroBatcher(predict, max_batch, batch_wait_ms / 1000))
    default = next(iter(served))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        for model in served.values():
            model.batcher.start()
        yield
        for model in served.values():
            await model.batcher.stop()

    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}  # no per-request OpenTelemetry
    app = FastAPI(title="slotfill", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=off)

    @app.exception_handler(BadRequest)
    async def bad_request(_request: Request, err: BadRequest) -> Response:
        return _error(str(err), err.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        message = {404: f"no such endpoint: {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
        return _error(message.get(err.status_code, str(err.detail)), err.status_code)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, err: Exception) -> Response:  # a bug: logged, answered as JSON
        return _error(f"internal error ({err.__class__.__name__})", 500)

    def model_of(data: dict, task: str | None) -> Served:
        name = data.get("model", default)
        if not isinstance(name, str):
            raise BadRequest(f"'model' must be a string, not {type(name).__name__}")
        model = served.get(name)
        if model is None:
            raise BadRequest(f"no model named {name!r} (served: {', '.join(served)})", 404)
        if task is not None and model.task != task:
            endpoint = "/tag" if model.task == "tagger" else "/classify"
            raise BadRequest(f"model {name!r} is a {model.task}: use {endpoint}")
        return model

    async def run(model: Served, texts: list[str]) -> list[dict]:
        try:
            return await model.batcher.submit(texts)
        except SlotfillError as err:
            raise BadRequest(str(err)) from None

    async def answer(request: Request, task: str) -> Response:
        data = await _body(request, limits)
        model = model_of(data, task)
        texts, single = texts_of(data, limits)
        results = [_plain(r) for r in await run(model, texts)]
        return _json(results[0] if single else results)

    async def tag(request: Request) -> Response:
        return await answer(request, "tagger")

    async def classify(request: Request) -> Response:
        return await answer(request, "classifier")

    async def parse(request: Request) -> Response:
        data = await _body(request, limits)
        model = model_of(data, None)
        texts, _ = texts_of(data, limits, many=False)
        results = await run(model, texts)
        return _json(rasa_parse(results[0], model.task))

    async def health(_request: Request) -> Response:
        return _json({"status": "ok", "default": default, "models": [m.health() for m in served.values()],
                      "limits": {"max_texts": limits.max_texts, "max_chars": limits.max_chars,
                                 "max_batch": max_batch, "batch_wait_ms": batch_wait_ms}})

    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    spec = openapi.document(app.version)
    docs = docs_page(spec)
    app.openapi = lambda: spec
    app.add_route("/tag", tag, methods=["POST"])
    app.add_route("/classify", classify, methods=["POST"])
    app.add_route("/model/parse", parse, methods=["POST"])
    app.add_route("/health", health, methods=["GET"])
    app.add_route("/", _static(page), methods=["GET"])
    app.add_route("/docs", _static(docs), methods=["GET"])
    return app


def _static(html_text: str) -> Callable:
    async def endpoint(_request: Request) -> HTMLResponse:
        return HTMLResponse(html_text)

    return endpoint


def docs_page(spec: dict) -> str:
    """The OpenAPI document as one self-contained HTML page (Swagger UI would load scripts from a CDN)."""
    parts = [f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])} API</h1>",
             '<p>JSON in, JSON out; every error is a 4xx answer <code>{"error": "..."}</code>. '
             'The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>']
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op.get('description') or op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append(_schema_block("request", body))
            for status, response in op.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if content:
                    parts.append(_schema_block(f"{status}: {response.get('description', '')}", content))
    style = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
             "pre{background:#f5f5f5;padding:.6rem;overflow:auto;font-size:13px}h2{margin-top:2rem}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>slotfill API</title>"
            f"<style>{style}</style><body>{''.join(parts)}</body></html>")


def _schema_block(title: str, content: dict) -> str:
    shown = {k: content[k] for k in ("example", "schema") if k in content}
    text = json.dumps(shown, indent=2, ensure_ascii=False)
    return f"<h3>{html.escape(title)}</h3><pre>{html.escape(text)}</pre>"


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT or SIGTERM with exit status 0 rather than re-raising the signal."""

    @contextlib.contextmanager
    def capture_signals(self):
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def serve(app: FastAPI, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Listen on host:port (0: any free port), call `announce(url)`, serve until SIGINT or SIGTERM."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        raise SlotfillError(f"cannot listen on {host}:{port} ({err.strerror or err})") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    announce(f"http://{shown}:{bound}/")
    config = uvicorn.Config(app, access_log=False, log_level="warning", timeout_graceful_shutdown=5)
    # Models and libraries live as long as the server: kept out of the garbage collector's full passes,
    # which otherwise walked ~200,000 objects and stalled every request for 0.2 s every few seconds.
    gc.collect()
    gc.freeze()
    _Server(config).run(sockets=[sock])
