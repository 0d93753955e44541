"""The k best tag sequences of a linear chain (list Viterbi), vectorised over the batch (numpy, no PyTorch)."""

from __future__ import annotations

import numpy as np

CHUNK_ELEMENTS = 1 << 21  # candidates (rows x n x k x n) scored at once


def kbest(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray,
          k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest-scoring tag sequences of each sentence, best first: paths B x k x T (past a sentence's end,
    its last tag) and their scores B x k (-inf where a sentence has fewer than k sequences). Each step keeps,
    for every tag, the k best distinct prefixes ending in it; the arithmetic is Viterbi's, in the scores' dtype."""
    batch, steps, n = emissions.shape
    paths = np.empty((batch, k, steps), dtype=np.int64)
    scores = np.empty((batch, k), dtype=np.result_type(emissions, transitions))
    order = np.argsort(lengths, kind="stable")
    size = max(1, CHUNK_ELEMENTS // (n * n * k))
    for first in range(0, batch, size):
        rows = order[first:first + size]
        longest = int(lengths[rows].max())
        paths[rows, :, :longest], scores[rows] = _kbest(emissions[rows, :longest], lengths[rows], transitions, start, end, k)
        paths[rows, :, longest:] = paths[rows, :, longest - 1:longest]
    return paths, scores


def _top(candidates: np.ndarray, k: int) -> np.ndarray:
    """The indices of the k largest entries along axis 1, largest first."""
    if candidates.shape[1] > k:
        part = np.argpartition(-candidates, k - 1, axis=1).take(np.arange(k), axis=1)
        rank = np.argsort(-np.take_along_axis(candidates, part, axis=1), axis=1, kind="stable")
        return np.take_along_axis(part, rank, axis=1)
    return np.argsort(-candidates, axis=1, kind="stable")


def _kbest(emissions, lengths, transitions, start, end, k) -> tuple[np.ndarray, np.ndarray]:
    """`kbest` for rows sorted by length (ascending) and no longer than the emissions."""
    batch, steps, n = emissions.shape
    running = np.searchsorted(lengths, np.arange(steps + 1), side="right")
    score = np.full((batch, n, k), -np.inf, dtype=np.result_type(emissions, transitions))
    score[:, :, 0] = start + emissions[:, 0]
    back = np.zeros((steps, batch, n, k), dtype=np.int64)  # the previous (tag * k + rank)
    for t in range(1, steps):
        r = running[t]
        candidates = (score[r:, :, :, None] + transitions[None, :, None, :]).reshape(batch - r, n * k, n)
        best = _top(candidates, k)  # rows x k x n
        back[t, r:] = best.transpose(0, 2, 1)
        score[r:] = np.take_along_axis(candidates, best, axis=1).transpose(0, 2, 1) + emissions[r:, t, :, None]
    final = (score + end[None, :, None]).reshape(batch, n * k)
    best = _top(final, k)
    paths = np.empty((batch, k, steps), dtype=np.int64)
    current = best.copy()
    for t in range(steps - 1, -1, -1):
        r, going_on = running[t], running[t + 1]  # rows [r, going_on) end at t
        if going_on < batch:
            rows = np.arange(going_on, batch)[:, None]
            current[going_on:] = back[t + 1, rows, current[going_on:] // k, current[going_on:] % k]
        paths[r:, :, t] = current[r:] // k
    past_end = np.arange(steps) >= lengths[:, None, None]
    paths = np.where(past_end, np.take_along_axis(paths, (lengths - 1)[:, None, None].repeat(k, 1), axis=2), paths)
    return paths, np.take_along_axis(final, best, axis=1)
