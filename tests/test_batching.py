"""slotfill.server.batching: the MicroBatcher gathering concurrent requests into batches for the real tiny model."""

from __future__ import annotations

import asyncio
import time

from slotfill.errors import SlotfillError
from slotfill.server.batching import MicroBatcher


def test_batcher_gathers_concurrent_requests(trained_tagger, same):
    predictor = trained_tagger.predictor
    requests = [[f"fly from boston to dallas {i}"] for i in range(10)] + [["list flights to denver", "to oslo"]]

    async def run():
        batcher = MicroBatcher(predictor.tag_batch, max_batch=64, wait=0.2)
        batcher.start()
        try:
            results = await asyncio.gather(*(batcher.submit(texts) for texts in requests))
        finally:
            await batcher.stop()
        return results, batcher.batches, batcher.texts

    results, batches, texts = asyncio.run(run())
    assert (batches, texts) == (1, 12)
    for request, result in zip(requests, results):
        same(result, predictor.tag_batch(request))


def test_batcher_leaves_when_full_and_waits_at_most_its_wait(trained_tagger):
    async def timed(batcher: MicroBatcher, requests: int) -> float:
        batcher.start()
        started = time.monotonic()
        try:
            await asyncio.gather(*(batcher.submit(["fly to boston"]) for _ in range(requests)))
        finally:
            await batcher.stop()
        return time.monotonic() - started

    full = asyncio.run(timed(MicroBatcher(trained_tagger.predictor.tag_batch, max_batch=4, wait=30.0), 4))
    assert full < 10  # four requests fill the batch: no waiting out the 30 s
    alone = asyncio.run(timed(MicroBatcher(trained_tagger.predictor.tag_batch, max_batch=64, wait=0.3), 1))
    assert 0.3 <= alone < 3


def test_batcher_fails_only_the_bad_request(trained_tagger):
    """The model refuses a batch holding a sentence with no tokens: only that request gets the error."""

    async def run():
        batcher = MicroBatcher(trained_tagger.predictor.tag_batch, wait=0.2)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(t) for t in (["fly to boston"], ["ok", "  "], ["to oslo"])),
                                        return_exceptions=True)
        finally:
            await batcher.stop()

    good, bad, other = asyncio.run(run())
    assert good[0]["slots"][0]["text"] == "boston" and other[0]["text"] == "to oslo"
    assert isinstance(bad, SlotfillError) and "sentence 2: empty sentence" in str(bad)
