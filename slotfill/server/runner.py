"""Running the app: model arguments, the listening socket, uvicorn in this process (or in --workers processes,
workers.py), a clean stop on SIGINT or SIGTERM and reloads on SIGHUP."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ..errors import SlotfillError
from . import BATCH_WAIT_MS, MAX_BATCH
from .app import create_app
from .reload import Generations, Reloading
from .requests import Limits

_NAME = re.compile(r"[A-Za-z0-9._-]+")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 10  # seconds the requests in flight have to finish once the server is told to stop


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


@dataclass
class Options:
    """What `slotfill serve` serves and how: handed to each worker process (picklable)."""

    models: dict[str, Path]
    engine: str = "auto"
    threads: int = 1
    limits: Limits = field(default_factory=Limits)
    max_batch: int = MAX_BATCH
    batch_wait_ms: float = BATCH_WAIT_MS
    token: str | None = None
    allow_reload: bool = False
    workers: int = 1
    fallback: dict[str, float | None] = field(default_factory=dict)  # thresholds set instead of each model's


def build(options: Options, generations: Generations, worker: int = 0) -> FastAPI:
    """Load the models (in the process that serves them) and make the app."""
    from ..predict import load as load_model

    def load(directory: Path):
        predictor = load_model(directory, engine=options.engine, threads=options.threads)
        predictor.fallback = predictor.fallback.but(**options.fallback)
        return predictor

    predictors = {name: load(directory) for name, directory in options.models.items()}
    generations.started(worker)
    reloading = Reloading(options.models, load, generations, worker, options.allow_reload)
    return create_app(predictors, options.limits, options.max_batch, options.batch_wait_ms, options.token, reloading)


def describe(app: FastAPI) -> str:
    """The served models as the start line names them: `flights (tagger, onnx), ...`."""
    return ", ".join(f"{name} ({m.predictor.task}, {m.predictor.engine})" for name, m in app.state.api.served.items())


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on `stop_signals` (finishing the requests in flight, for at most GRACE seconds)
    with exit status 0, rather than raising the signal again once stopped as uvicorn's own handlers do; a second
    stop signal stops at once. SIGHUP reloads every model."""

    def __init__(self, config: uvicorn.Config, stop_signals: tuple[int, ...], hang_up: Callable[[], None]):
        super().__init__(config)
        self.stop_signals, self.hang_up = stop_signals, hang_up

    def _stop(self, _sig, _frame) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        handlers = {sig: self._stop for sig in self.stop_signals} | {signal.SIGHUP: lambda _sig, _frame: self.hang_up()}
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (0: any free port), or a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        raise SlotfillError(f"cannot listen on {host}:{port} ({err.strerror or err})") from None
    return sock


def run_app(app: FastAPI, sock: socket.socket, stop_signals: tuple[int, ...] = STOP_SIGNALS) -> None:
    """Serve `app` on the listening `sock` until a stop signal; the requests in flight finish first."""
    config = uvicorn.Config(app, access_log=False, log_level="warning", timeout_graceful_shutdown=GRACE)
    # Models and libraries live as long as the server: kept out of the garbage collector's full passes,
    # which otherwise walked ~200,000 objects and stalled every request for 0.2 s every few seconds.
    gc.collect()
    gc.freeze()
    reloader = app.state.api.reloader
    _Server(config, stop_signals, reloader.hang_up if reloader else lambda: None).run(sockets=[sock])


def loopback(sock: socket.socket) -> bool:
    try:
        return ipaddress.ip_address(sock.getsockname()[0]).is_loopback
    except ValueError:  # an IPv6 address with a zone: a link, not loopback
        return False
