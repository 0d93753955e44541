"""Tag ids from emission scores: BIO-constrained CRF Viterbi, vectorised over the batch (numpy, no PyTorch)."""

from __future__ import annotations

import numpy as np

from .tags import split_tag

FORBIDDEN = -1e4
TOP_K = 3


def bio_constraints(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Allowed first tags (n) and transitions (n x n, from -> to): `I-x` only after `B-x` or `I-x`."""
    parts = [split_tag(t) for t in tags]
    start = np.array([prefix != "I" for prefix, _ in parts])
    allowed = np.array(
        [[p_to != "I" or (p_from in ("B", "I") and l_from == l_to) for p_to, l_to in parts] for p_from, l_from in parts]
    )
    return start, allowed


def viterbi(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Best tag ids per sentence (B x T; positions past a sentence's end repeat its last tag), for
    emissions B x T x n and CRF scores (transitions [from, to], start, end), with no constraints."""

    def dense(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        every = score[:, :, None] + transitions  # B x from x to
        previous = every.argmax(axis=1)
        return np.take_along_axis(every, previous[:, None, :], axis=1)[:, 0], previous

    return _viterbi(emissions, lengths, start, end, dense)


class BioDecoder:
    """Exact Viterbi under BIO constraints for one tag set. An I-x tag has two possible predecessors,
    B-x and I-x (itself); every other tag ("open": O and B-y) may follow any tag. Decoding works on the
    tags reordered open first, inside last, so each step is built by concatenation."""

    def __init__(self, tags: list[str]):
        allowed_start, allowed = bio_constraints(tags)
        self.start_penalty = np.where(allowed_start, 0.0, FORBIDDEN).astype(np.float32)
        self.transition_penalty = np.where(allowed, 0.0, FORBIDDEN).astype(np.float32)
        prefixes = [split_tag(t) for t in tags]
        inside = [i for i, (prefix, _) in enumerate(prefixes) if prefix == "I"]
        open_ = [i for i in range(len(tags)) if prefixes[i][0] != "I"]
        self.order = np.array(open_ + inside, dtype=np.int64)
        position = {tag_id: k for k, tag_id in enumerate(self.order.tolist())}
        index = {t: i for i, t in enumerate(tags)}
        self.inside_from = np.array([position[index.get("B-" + prefixes[i][1], i)] for i in inside], dtype=np.int64)
        self.open_count = len(open_)

    def decode(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Best tag ids per sentence (B x T; positions past a sentence's end repeat its last tag)."""
        order, o = self.order, self.open_count
        transitions = (transitions + self.transition_penalty)[order][:, order]
        start = (start + self.start_penalty)[order]
        inside = np.arange(o, len(order))
        into_open = transitions[:, :o]
        plan = (into_open, into_open.max(axis=0), transitions[self.inside_from, inside], transitions[inside, inside], inside)
        path = _viterbi(emissions[:, :, order], lengths, start, end[order], lambda score: self._step(score, *plan))
        return order[path]

    def _step(self, score, into_open, open_bound, from_b_cost, stay_cost, inside):
        """The maximum over `from` tags, in the open-first order, in about B x n x (k + 2) work.
        I-x columns compare their two allowed predecessors. Open columns take the best of the top-k
        previous scores, which is provably the maximum where it is at least the (k+1)-th score plus
        the column's largest transition; the (row, column) pairs where that check fails are computed
        in full."""
        o = self.open_count
        k = min(TOP_K, score.shape[1] - 1)
        top_index = np.argpartition(-score, k, axis=1)[:, : k + 1]  # the k best (any order), then the (k+1)-th
        top = np.take_along_axis(score, top_index, axis=1)
        candidates = top[:, :k, None] + into_open[top_index[:, :k]]  # B x k x o
        arg = candidates.argmax(axis=1)
        open_best = np.take_along_axis(candidates, arg[:, None, :], axis=1)[:, 0]
        open_previous = np.take_along_axis(top_index, arg, axis=1)
        rows, cols = np.nonzero(open_best < top[:, k:] + open_bound)
        if len(rows):
            every = score[rows] + into_open[:, cols].T  # pairs x from
            open_previous[rows, cols] = every.argmax(axis=1)
            open_best[rows, cols] = every.max(axis=1)
        from_b = score[:, self.inside_from] + from_b_cost
        stay = score[:, o:] + stay_cost
        stays = stay > from_b
        best = np.concatenate([open_best, np.where(stays, stay, from_b)], axis=1)
        previous = np.concatenate([open_previous, np.where(stays, inside, self.inside_from)], axis=1)
        return best, previous


def _viterbi(emissions, lengths, start, end, step) -> np.ndarray:
    """Viterbi with `step(score) -> (best, previous)` giving each step's maximum over `from` tags."""
    batch, steps, _ = emissions.shape
    score = start + emissions[:, 0]
    history = []
    for t in range(1, steps):
        best, previous = step(score)
        score = np.where((t < lengths)[:, None], best + emissions[:, t], score)
        history.append(previous)
    current = (score + end).argmax(axis=1)
    path = np.empty((batch, steps), dtype=np.int64)
    rows = np.arange(batch)
    for t in range(steps - 1, -1, -1):
        path[:, t] = current
        if t > 0:
            current = np.where(t < lengths, history[t - 1][rows, current], current)
    return path
