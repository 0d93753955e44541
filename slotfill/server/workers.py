"""Running `slotfill serve` (`serve`): in this process, or with `--workers N` in N processes serving one listening
socket, each with its own models.

The parent binds the socket, starts the workers (spawned: each imports and loads the models itself), announces
the server once every worker has its models, and then only supervises: it passes SIGHUP on to each worker,
starts a new worker for one that died, and on SIGINT or SIGTERM closes its copy of the socket and stops the
workers with SIGTERM, each finishing its requests in flight.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from ..errors import SlotfillError
from .reload import Generations
from .runner import GRACE, Options, build, describe, listen, loopback, run_app

SPAWN = multiprocessing.get_context("spawn")
RESTART_AFTER = 2.0  # seconds between starts of a worker that keeps dying
log = logging.getLogger("slotfill.server")


def worker(options: Options, sock: socket.socket, generations: Generations, index: int, ready: Connection) -> None:
    """A worker process: load the models, say so (or send the error), serve until SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # its models are the newest until the server listens for it
    logging.basicConfig(format="%(message)s", stream=sys.stderr)
    logging.getLogger("slotfill").setLevel(logging.WARNING)
    log.setLevel(logging.INFO)
    try:
        app = build(options, generations, index)
    except (SlotfillError, OSError) as err:
        where = f"{err.filename}: " if isinstance(err, OSError) and err.filename is not None else ""
        ready.send(("error", f"{where}{err.strerror if isinstance(err, OSError) else err}"))
        sys.exit(1)
    ready.send(("ready", describe(app)))
    ready.close()
    threading.Thread(target=_orphaned, args=(os.getppid(),), daemon=True, name="slotfill-parent-watch").start()
    run_app(app, sock, (signal.SIGTERM,))


def _orphaned(parent: int) -> None:
    """Stop this worker (gracefully) if the parent dies without stopping it, as under SIGKILL."""
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    def __init__(self, options: Options, sock: socket.socket):
        self.options, self.sock = options, sock
        self.generations = Generations(len(options.models), options.workers, SPAWN)
        self.processes: list[multiprocessing.Process] = []
        self.starting: dict[int, Connection] = {}  # worker index -> the pipe its first word comes on
        self.started_at: dict[int, float] = {}
        self.stop_requested = self.hung_up = False

    def _start(self, index: int) -> None:
        receive, send = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(target=worker, args=(self.options, self.sock, self.generations, index, send),
                                name=f"slotfill-worker-{index}")
        process.start()
        send.close()
        if index < len(self.processes):
            self.processes[index] = process
        else:
            self.processes.append(process)
        self.starting[index], self.started_at[index] = receive, time.monotonic()

    def _heard(self, index: int) -> str | None:
        """The models a starting worker serves, once it says it is ready; SlotfillError if it could not start."""
        receive = self.starting[index]
        try:
            kind, text = receive.recv()
        except EOFError:
            self.processes[index].join(5)
            kind, text = "error", f"a worker exited with status {self.processes[index].exitcode} before it was ready"
        receive.close()
        del self.starting[index]
        if kind == "error":
            raise SlotfillError(text)
        return text

    def _on_signal(self, sig: int, _frame) -> None:
        if sig == signal.SIGHUP:
            self.hung_up = True
        else:
            self.stop_requested = True

    def run(self, announce: Callable[[str], None]) -> None:
        """Start the workers, `announce(models)` once all are ready, supervise them until SIGINT or SIGTERM."""
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            for index in range(self.options.workers):
                self._start(index)
            models = None
            try:
                while self.starting and not self.stop_requested:
                    for receive in wait(list(self.starting.values()), timeout=0.1):
                        models = self._heard(next(i for i, r in self.starting.items() if r is receive))
            except SlotfillError:
                self._stop()
                raise
            if not self.stop_requested:
                announce(models)
                self._supervise()
            failed = self._stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed:
            raise SlotfillError(failed)

    def _supervise(self) -> None:
        while not self.stop_requested:
            wait([p.sentinel for p in self.processes] + list(self.starting.values()), timeout=0.1)
            if self.hung_up:
                self.hung_up = False
                for index, process in enumerate(self.processes):
                    if index not in self.starting and process.is_alive():
                        os.kill(process.pid, signal.SIGHUP)
            for index in [i for i, r in self.starting.items() if r.poll()]:
                try:
                    self._heard(index)
                except SlotfillError as err:
                    log.warning("error: worker %d could not start: %s", index, err)
            for index, process in enumerate(self.processes):
                if self.stop_requested or process.is_alive() or index in self.starting:
                    continue
                if time.monotonic() - self.started_at[index] < RESTART_AFTER:
                    continue
                log.warning("worker %d (pid %d) exited with status %s; starting another", index, process.pid,
                            process.exitcode)
                self._start(index)

    def _stop(self) -> str | None:
        """Stop every worker (SIGTERM: each finishes its requests in flight); what went wrong, if anything."""
        self.sock.close()  # once the workers close theirs, new connections are refused rather than queued
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        problems = []
        for process in self.processes:
            process.join(GRACE + 10)
            if process.is_alive():
                process.kill()
                process.join()
            if process.exitcode not in (0, -signal.SIGTERM):
                problems.append(f"worker pid {process.pid} exited with status {process.exitcode}")
        for receive in self.starting.values():
            receive.close()
        return "; ".join(problems) or None


def serve(options: Options, host: str, port: int, announce: Callable[[str, str], None], warn: Callable[[str], None]) -> None:
    """Listen on host:port (0: any free port), load the models in each of `options.workers` processes, call
    `announce(url, models)`, serve until SIGINT or SIGTERM. `warn`: a line on a server open to others."""
    sock = listen(host, port)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the server listens for it: the models loading are the newest
    bound = sock.getsockname()[1]
    if not options.token and not loopback(sock):
        warn(f"{host}:{bound} is open to other machines and there is no --token: anyone who can reach it can use it")
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    if options.workers > 1:
        Supervisor(options, sock).run(lambda models: announce(url, models))
        return
    app = build(options, Generations(len(options.models), 1))
    announce(url, describe(app))
    run_app(app, sock)
