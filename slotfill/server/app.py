"""The FastAPI app over loaded predictors: /tag, /classify, /model/parse (Rasa NLU), /models/NAME/reload, /health,
the page and /docs.

The API's routes are plain Starlette routes of the FastAPI app, their bodies parsed and checked by hand
(requests.py): with FastAPI's per-route machinery (dependencies, pydantic) a request took a quarter to a
half more server CPU, and this way every error is answered as `{"error": "..."}`. `openapi.py` documents the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import SlotfillError
from ..predict import Predictor
from ..fallback import Fallback
from . import BATCH_WAIT_MS, MAX_BATCH, openapi
from .answers import error, json_response, model_health, plain, rasa_parse
from .auth import Auth, presented
from .batching import MicroBatcher
from .reload import Reloader, Reloading, release_memory
from .requests import BadRequest, Limits, fallback_of, has_body, nbest_of, read_body, texts_of

RANKING = 10  # intents listed in /model/parse's intent_ranking, as Rasa lists them
NO_FALLBACK = Fallback()


@dataclass
class Served:
    """One model behind the API: its predictor and the batcher that feeds it."""

    name: str
    predictor: Predictor
    batcher: MicroBatcher
    directory: Path | None = None  # where it was loaded from: its report is built from there
    reloads: int = 0
    loaded_at: float = field(default_factory=time.time)
    before: list[int] = field(default_factory=lambda: [0, 0])  # batches and texts of the models it replaced
    report: asyncio.Task | None = None  # the report page, built once on first request

    def health(self) -> dict:
        counts = model_health(self.name, self.predictor, self.before[0] + self.batcher.batches,
                              self.before[1] + self.batcher.texts)
        return {**counts, "loaded_at": round(self.loaded_at, 3), "reloads": self.reloads}

    async def results(self, texts: list[str], data: dict) -> list[dict]:
        """The results of `texts` under the request's fallback thresholds (and `nbest`, for a tagger)."""
        fallback = fallback_of(data, self.predictor.fallback)
        nbest = nbest_of(data)
        if nbest and self.predictor.command != "tag":
            raise BadRequest(f"'nbest' lists tag sequences: model {self.name!r} is a {self.predictor.task}")
        try:
            return [self.predictor.judged(r, fallback) for r in await self.batcher.submit(texts, nbest)]
        except SlotfillError as err:
            raise BadRequest(str(err)) from None


class Api:
    """The routes' handlers over the served models; the first model is the default."""

    def __init__(self, predictors: dict[str, Predictor], limits: Limits, max_batch: int, batch_wait_ms: float,
                 token: str | None = None, reloading: Reloading | None = None):
        self.limits, self.max_batch, self.batch_wait_ms = limits, max_batch, batch_wait_ms
        self.auth = Auth(token)
        directories = reloading.sources if reloading else {}
        self.served = {name: Served(name, p, self._batcher(p), directories.get(name)) for name, p in predictors.items()}
        self.default = next(iter(self.served))
        self.reloader = Reloader(reloading, lambda name: self.served[name].predictor, self.swap, RANKING) if reloading else None
        self.workers = reloading.generations.workers if reloading else 1
        self._retiring: set[asyncio.Task] = set()

    def _batcher(self, predictor: Predictor) -> MicroBatcher:
        # every intent result carries the top two, and no fallback: each request's thresholds are applied to it
        predict = functools.partial(predictor.predict_batch, ranking=RANKING, fallback=NO_FALLBACK)
        return MicroBatcher(predict, self.max_batch, self.batch_wait_ms / 1000)

    def swap(self, name: str, predictor: Predictor) -> None:
        """Serve `predictor` as `name` from now on; requests queued for the old model finish on it."""
        old = self.served[name]
        new = Served(name, predictor, self._batcher(predictor), old.directory, old.reloads + 1)
        new.batcher.start()
        self.served[name] = new
        task = asyncio.get_running_loop().create_task(self._retire(old, new))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    @staticmethod
    async def _retire(old: Served, new: Served) -> None:
        await old.batcher.drain()
        new.before = [old.before[0] + old.batcher.batches, old.before[1] + old.batcher.texts]
        del old  # the last reference: the old model is freed here
        await asyncio.to_thread(release_memory)

    async def body(self, request: Request, required: bool = True) -> dict:
        """The request's JSON object (`{}` if not `required` and none was sent), once its token is right."""
        given = presented(request)
        if given is not None:
            self.auth.check(given)
        data = await read_body(request, self.limits) if required or has_body(request) else {}
        if given is None:
            self.auth.check(data.get("token"))
        return data

    def model_of(self, data: dict, command: str | None = None) -> Served:
        """The model a request names (or the default); with `command`, one that the endpoint /`command` applies."""
        name = data.get("model", self.default)
        if not isinstance(name, str):
            raise BadRequest(f"'model' must be a string, not {type(name).__name__}")
        model = self.served.get(name)
        if model is None:
            raise BadRequest(f"no model named {name!r} (served: {', '.join(self.served)})", 404)
        if command is not None and model.predictor.command != command:
            raise BadRequest(f"model {name!r} is a {model.predictor.task}: use /{model.predictor.command}")
        return model

    def applying(self, command: str):
        """The handler of /`command` (tag, classify): one text or a list of them, answers as `--json` prints them."""

        async def endpoint(request: Request) -> Response:
            data = await self.body(request)
            model = self.model_of(data, command)
            texts, single = texts_of(data, self.limits)
            results = [plain(r) for r in await model.results(texts, data)]
            return json_response(results[0] if single else results)

        return endpoint

    async def parse(self, request: Request) -> Response:
        data = await self.body(request)
        model = self.model_of(data)
        texts, _ = texts_of(data, self.limits, many=False)
        if "nbest" in data:
            raise BadRequest("'nbest' is for /tag: Rasa's answer has no place for it")
        results = await model.results(texts, data)
        return json_response(rasa_parse(results[0], model.predictor))

    async def reload(self, request: Request) -> Response:
        await self.body(request, required=False)
        if self.reloader is None:
            raise BadRequest("reloading is off in this server", 403)
        return json_response(await self.reloader.over_http(request.path_params["name"]))

    async def report(self, request: Request) -> Response:
        """The model's report page (slotfill.report), on its own test set, built on first request."""
        self.auth.check(presented(request))
        name = request.path_params["name"]
        model = self.served.get(name)
        if model is None or model.directory is None:
            raise BadRequest(f"no report for {name!r} (served: {', '.join(self.served)})", 404)
        if model.report is None:
            from ..report import served

            model.report = asyncio.get_running_loop().create_task(asyncio.to_thread(served, model.directory, model.predictor))
        return HTMLResponse(await asyncio.shield(model.report))

    async def health(self, request: Request) -> Response:
        given = presented(request)
        if given is None and self.auth.required:  # probes see the status; the rest is for token holders
            return json_response({"status": "ok", "auth": True})
        self.auth.check(given)
        limits = {"max_texts": self.limits.max_texts, "max_chars": self.limits.max_chars,
                  "max_batch": self.max_batch, "batch_wait_ms": self.batch_wait_ms}
        return json_response({"status": "ok", "auth": self.auth.required, "worker": os.getpid(), "workers": self.workers,
                              "default": self.default, "models": [m.health() for m in self.served.values()],
                              "limits": limits})

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI):
        for model in self.served.values():
            model.batcher.start()
        if self.reloader is not None:
            self.reloader.start()
        yield
        if self.reloader is not None:
            await self.reloader.stop()
        for task in list(self._retiring):
            await task
        for model in self.served.values():
            await model.batcher.stop()


async def _bad_request(_request: Request, err: BadRequest) -> Response:
    return error(str(err), err.status, err.headers)


async def _http_error(request: Request, err: HTTPException) -> Response:
    message = {404: f"no such endpoint: {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
    return error(message.get(err.status_code, str(err.detail)), err.status_code)


async def _internal_error(_request: Request, err: Exception) -> Response:  # a bug: logged, answered as JSON
    return error(f"internal error ({err.__class__.__name__})", 500)


def _static(html_text: str):
    async def endpoint(_request: Request) -> HTMLResponse:
        return HTMLResponse(html_text)

    return endpoint


def create_app(
    predictors: dict[str, Predictor],
    limits: Limits | None = None,
    max_batch: int = MAX_BATCH,
    batch_wait_ms: float = BATCH_WAIT_MS,
    token: str | None = None,
    reloading: Reloading | None = None,
) -> FastAPI:
    """The app serving `predictors` ({name: loaded predictor}); the first is the default model. With `token`,
    every API route asks for it; with `reloading`, models can be reloaded (SIGHUP, and POST if it allows)."""
    api = Api(predictors, limits or Limits(), max_batch, batch_wait_ms, token, reloading)
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}  # no per-request OpenTelemetry
    app = FastAPI(title="slotfill", version=__version__, lifespan=api.lifespan, docs_url=None, redoc_url=None, telemetry=off)
    app.add_exception_handler(BadRequest, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    spec = openapi.document(app.version)
    app.openapi = lambda: spec
    for kind in Predictor.kinds.values():
        app.add_route(f"/{kind.command}", api.applying(kind.command), methods=["POST"])
    app.add_route("/model/parse", api.parse, methods=["POST"])
    app.add_route("/models/{name}/reload", api.reload, methods=["POST"])
    app.add_route("/health", api.health, methods=["GET"])
    app.add_route("/report/{name}", api.report, methods=["GET"])
    app.state.api = api
    app.add_route("/", _static(resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")), methods=["GET"])
    app.add_route("/docs", _static(openapi.docs_page(spec)), methods=["GET"])
    return app
