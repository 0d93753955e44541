"""Running the app: model arguments, the listening socket, uvicorn, and a clean stop on SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import gc
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ..errors import SlotfillError

_NAME = re.compile(r"[A-Za-z0-9._-]+")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT or SIGTERM (finishing the requests in flight) with exit status 0,
    rather than raising the signal again once stopped as uvicorn's own handlers do."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
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


def serve(app: FastAPI, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Listen on host:port (0: any free port), call `announce(url)`, serve until SIGINT or SIGTERM."""
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    announce(f"http://{shown}:{sock.getsockname()[1]}/")
    config = uvicorn.Config(app, access_log=False, log_level="warning", timeout_graceful_shutdown=5)
    # Models and libraries live as long as the server: kept out of the garbage collector's full passes,
    # which otherwise walked ~200,000 objects and stalled every request for 0.2 s every few seconds.
    gc.collect()
    gc.freeze()
    _Server(config).run(sockets=[sock])
