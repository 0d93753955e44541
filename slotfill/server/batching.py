"""Micro-batching: concurrent requests gathered for a few milliseconds and run through the model as one batch."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import SlotfillError


async def cancel(task: asyncio.Task | None) -> None:
    """Cancel `task` (if any) and wait until it has stopped."""
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass


class MicroBatcher:
    """Queues lists of texts; one worker runs `predict` (texts -> results) on up to `max_batch` texts at a time.

    A batch leaves when it holds `max_batch` texts or when its oldest request has waited `wait` seconds.
    `predict` runs in one background thread, one call at a time, so the event loop keeps serving meanwhile.
    A request may ask for the `nbest` best tag sequences: its batch is decoded with the most any of its
    requests asks for, and each gets its own number.
    """

    def __init__(self, predict: Callable[..., list], max_batch: int = 64, wait: float = 0.002):
        self.predict, self.max_batch, self.wait = predict, max_batch, wait
        self.batches = self.texts = 0
        self._pending: deque[tuple[list[str], asyncio.Future, float, int]] = deque()
        self._size = 0
        self._busy = False  # a batch in the model
        self._arrived: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._arrived, self._full = asyncio.Event(), asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slotfill-model")
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel(self._worker)
        for _, future, *_ in self._pending:
            future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        # no cycle through the stopped task: a replaced model is freed at once, not at the next full collection
        # (never, for one made before the server's gc.freeze())
        self._worker = self._executor = None

    async def drain(self) -> None:
        """Stop once every request queued so far has its answer (the old model's batcher, after a reload)."""
        while self._pending or self._busy:
            await asyncio.sleep(0.005)
        await self.stop()

    def submit(self, texts: list[str], nbest: int = 0) -> asyncio.Future:
        """A future for the results of `texts`, in order; a SlotfillError names the request's own sentence."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((texts, future, time.monotonic(), nbest))
        self._size += len(texts)
        self._arrived.set()
        if self._size >= self.max_batch:
            self._full.set()
        return future

    def _take(self) -> list[tuple[list[str], asyncio.Future, float, int]]:
        """The oldest requests up to `max_batch` texts (at least one request, however large)."""
        taken, size = [], 0
        while self._pending and (not taken or size + len(self._pending[0][0]) <= self.max_batch):
            item = self._pending.popleft()
            taken.append(item)
            size += len(item[0])
        self._size -= size
        if not self._pending:
            self._arrived.clear()
        if self._size < self.max_batch:
            self._full.clear()
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            remaining = self._pending[0][2] + self.wait - time.monotonic()
            if self._size < self.max_batch and remaining > 0:
                try:
                    await asyncio.wait_for(self._full.wait(), remaining)
                except TimeoutError:
                    pass
            batch = [item for item in self._take() if not item[1].done()]  # skip clients that went away
            if not batch:
                continue
            self._busy = True
            try:
                outcomes = await loop.run_in_executor(self._executor, self._predict_all, [(texts, nbest) for texts, _, _, nbest in batch])
            finally:
                self._busy = False
            self.batches += 1
            self.texts += sum(len(item[0]) for item in batch)
            for (_, future, *_), outcome in zip(batch, outcomes):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _predict_all(self, requests: list[tuple[list[str], int]]) -> list:
        """One model call for all requests (texts, nbest); if it fails on bad input, each request alone, so only
        its own fails."""
        flat = [text for texts, _ in requests for text in texts]
        most = max(nbest for _, nbest in requests)
        try:
            results = self.predict(flat, nbest=most) if most else self.predict(flat)
        except SlotfillError as err:
            if len(requests) == 1:
                return [err]
            return [self._outcome(*request) for request in requests]
        except Exception as err:  # a model failure: every request of the batch gets it
            return [err] * len(requests)
        out, k = [], 0
        for texts, nbest in requests:
            out.append([_nbest(r, nbest) for r in results[k:k + len(texts)]])
            k += len(texts)
        return out

    def _outcome(self, texts: list[str], nbest: int) -> list | Exception:
        try:
            return self.predict(texts, nbest=nbest) if nbest else self.predict(texts)
        except Exception as err:
            return err


def _nbest(result: dict, nbest: int) -> dict:
    """A result with its `nbest` best tag sequences, as if decoded with that number."""
    if "nbest" not in result:
        return result
    if not nbest:
        return {k: v for k, v in result.items() if k != "nbest"}
    return {**result, "nbest": result["nbest"][:nbest]}
