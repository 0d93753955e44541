"""Replacing a served model without a restart: `POST /models/NAME/reload` and SIGHUP.

A reload loads the model from its directory again, checks it (the same task, one sentence through it) and
only then swaps it in with a batcher of its own; requests already queued finish on the old model. With
several worker processes, the counters below (shared memory) carry an HTTP reload to every worker: the worker
that took the request asks for a new generation of the model, each other worker's watcher sees it, reloads,
and records the generation it tried and whether it took it.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import SlotfillError
from ..predict import Predictor
from .batching import cancel
from .requests import BadRequest

log = logging.getLogger("slotfill.server")

CHECK = "check that the model answers"  # run through a new model before it takes over
POLL = 0.05  # seconds between a worker's looks at the shared counters
WAIT = 120.0  # seconds an HTTP reload waits for the other workers


def release_memory() -> None:
    """Hand the memory a replaced model freed back to the system: glibc's malloc keeps it for the process (and
    RSS would stay at its peak after each reload) until asked to trim. Nothing elsewhere."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _yield_to_serving() -> None:
    """Lower the priority of the thread that loads new models (Linux threads have their own): on busy cores,
    requests go first and a reload takes a little longer."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (OSError, AttributeError):
        pass


class Generations:
    """Counters the worker processes share: per model, the generation last asked for; per worker and model,
    the last generation tried and the last one taken. Shared memory (made before the workers start, from the
    multiprocessing `context`), or plain lists for one process. No locks: each worker writes only its own cells,
    and two workers asking for a generation at once may both get the same one, which serves both (every other
    worker loads the model after both asked)."""

    def __init__(self, models: int, workers: int, context=None):
        self.models, self.workers = models, workers
        make = (lambda n: context.RawArray("q", n)) if context is not None else (lambda n: [0] * n)
        self.wanted, self.tried, self.taken = make(models), make(models * workers), make(models * workers)

    def ask(self, model: int) -> int:
        """A new generation of `model`, for every worker to load."""
        generation = self.wanted[model] + 1
        self.wanted[model] = generation
        return generation

    def record(self, worker: int, model: int, generation: int, taken: bool) -> None:
        at = worker * self.models + model
        self.tried[at] = max(self.tried[at], generation)
        if taken:
            self.taken[at] = max(self.taken[at], generation)

    def started(self, worker: int) -> None:
        """A worker (a new one too) loaded every model from its directory just now: it has the latest generations."""
        for model in range(self.models):
            self.record(worker, model, self.wanted[model], True)

    def count(self, model: int, generation: int) -> tuple[int, int]:
        """(workers that tried `generation` of `model` or a later one, workers that took it)."""
        tried = sum(self.tried[w * self.models + model] >= generation for w in range(self.workers))
        taken = sum(self.taken[w * self.models + model] >= generation for w in range(self.workers))
        return tried, taken


@dataclass
class Reloading:
    """What a worker needs to reload its models: their directories, how to load one, the shared counters."""

    sources: dict[str, Path]
    load: Callable[[Path], Predictor]
    generations: Generations
    worker: int = 0
    over_http: bool = False  # `--allow-reload`: POST /models/NAME/reload


class Reloader:
    """One worker's reloads: on request (HTTP), on SIGHUP, and when another worker asked for a new generation."""

    def __init__(self, settings: Reloading, current: Callable[[str], Predictor], swap: Callable[[str, Predictor], None],
                 ranking: int):
        self.settings, self.current, self.swap, self.ranking = settings, current, swap, ranking
        self.names = list(settings.sources)
        self.seen = [settings.generations.wanted[m] for m in range(len(self.names))]
        self.locks = {name: asyncio.Lock() for name in self.names}
        self.hung_up = False  # set by SIGHUP's handler, acted on by the watcher
        self._watcher: asyncio.Task | None = None
        self._loader: ThreadPoolExecutor | None = None  # one thread, at a lower priority than serving

    def hang_up(self) -> None:
        """SIGHUP: reload every model (safe in a signal handler: the watcher does the work)."""
        self.hung_up = True

    async def reload(self, name: str) -> Predictor:
        """Load `name` again, check it and swap it in; BadRequest (the old model still serving) if it will not do."""
        async with self.locks[name]:
            loop = asyncio.get_running_loop()
            predictor = await loop.run_in_executor(self._loader, self._load_checked, name)
            self.swap(name, predictor)
            log.info("reloaded %s from %s", name, self.settings.sources[name])
            return predictor

    def _load_checked(self, name: str) -> Predictor:
        directory, old = self.settings.sources[name], self.current(name)
        try:
            new = self.settings.load(directory)
        except (SlotfillError, OSError) as err:
            raise BadRequest(f"cannot reload {name!r}: {err}", 422) from None
        if new.task != old.task:
            raise BadRequest(f"cannot reload {name!r}: {directory} now holds a {new.task}, and {name!r} is served as a "
                             f"{old.task} (restart the server to change what a name serves)", 409)
        try:
            results = new.predict_batch([CHECK], ranking=self.ranking)
            if len(results) != 1:
                raise ValueError(f"{len(results)} results for 1 sentence")
        except Exception as err:  # whatever breaks in a model that loads but cannot run
            raise BadRequest(f"cannot reload {name!r}: the new model fails on a sentence ({err.__class__.__name__}: {err})",
                             422) from None
        return new

    async def over_http(self, name: str) -> dict:
        """POST /models/NAME/reload: reload here, then have every other worker reload, and wait for them.
        The answer counts the workers serving the new model (`reloaded` of `workers`)."""
        if not self.settings.over_http:
            raise BadRequest("reloading over HTTP is off (start slotfill serve with --allow-reload, or send SIGHUP)", 403)
        if name not in self.locks:
            raise BadRequest(f"no model named {name!r} (served: {', '.join(self.names)})", 404)
        predictor = await self.reload(name)
        generations, model = self.settings.generations, self.names.index(name)
        generation = generations.ask(model)
        self.seen[model] = generation
        generations.record(self.settings.worker, model, generation, True)
        deadline = time.monotonic() + WAIT
        while generations.count(model, generation)[0] < generations.workers and time.monotonic() < deadline:
            await asyncio.sleep(POLL / 2)
        return {"model": name, "task": predictor.task, "engine": predictor.engine, "generation": generation,
                "workers": generations.workers, "reloaded": generations.count(model, generation)[1]}

    def start(self) -> None:
        self._loader = ThreadPoolExecutor(1, "slotfill-reload", initializer=_yield_to_serving)
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        await cancel(self._watcher)
        if self._loader is not None:
            self._loader.shutdown(wait=True)

    async def _watch(self) -> None:
        generations = self.settings.generations
        while True:
            await asyncio.sleep(POLL)
            if self.hung_up:
                self.hung_up = False
                for name in self.names:
                    await self._follow(name)
            for model, name in enumerate(self.names):
                wanted = generations.wanted[model]
                if wanted > self.seen[model]:
                    self.seen[model] = wanted
                    taken = await self._follow(name)
                    generations.record(self.settings.worker, model, wanted, taken)

    async def _follow(self, name: str) -> bool:
        """Reload `name` for SIGHUP or another worker; a refusal is logged, the old model serving on."""
        try:
            await self.reload(name)
        except BadRequest as err:
            log.warning("%s; still serving the model loaded before", err)
            return False
        return True
