"""Tag ids from emission scores: BIO-constrained CRF Viterbi, vectorised over the batch (numpy, no PyTorch);
with the same constraints, the k best sequences and, by forward-backward (slotfill.marginals), probabilities."""

from __future__ import annotations

import numpy as np

from .marginals import Lattice, TokenLattice
from .nbest import kbest
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
    return _viterbi(emissions, lengths, start, end, transitions, lambda score: (score[:, :, None] + transitions).max(axis=1))


class BioDecoder:
    """Exact Viterbi under BIO constraints for one tag set. An I-x tag has two possible predecessors,
    B-x and I-x (itself); every other tag ("open": O and B-y) may follow any tag. Decoding works on the
    tags reordered open first, inside last, so each step is built by concatenation."""

    def __init__(self, tags: list[str]):
        allowed_start, allowed = bio_constraints(tags)
        self.allowed_start, self.allowed = allowed_start, allowed
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
        self.position = np.argsort(self.order)  # tag id -> place in the open-first order
        inside_of = {prefixes[i][1]: i for i in inside}
        self.continuation = np.array([inside_of.get(label, -1) if prefix != "O" else -1 for prefix, label in prefixes])

    def decode(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Best tag ids per sentence (B x T; positions past a sentence's end repeat its last tag)."""
        order, o = self.order, self.open_count
        transitions = (transitions + self.transition_penalty)[order][:, order]
        start = (start + self.start_penalty)[order]
        inside = np.arange(o, len(order))
        into_open = transitions[:, :o]
        plan = (into_open, into_open.max(axis=0), transitions[self.inside_from, inside], transitions[inside, inside])
        path = _viterbi(emissions[:, :, order], lengths, start, end[order], transitions, lambda score: self._step(score, *plan))
        return order[path]

    def lattice(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                end: np.ndarray) -> BioLattice:
        """Forward-backward over the BIO-valid sequences (the distribution `decode` takes the best of)."""
        order = self.order
        restricted = np.where(self.allowed, transitions, -np.inf)[order][:, order]
        first = np.where(self.allowed_start, start, -np.inf)[order]
        lattice = Lattice(emissions[:, :, order], lengths, restricted, first, end[order], self.open_count, self.inside_from)
        return BioLattice(lattice, self)

    def nbest(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
              end: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best BIO-valid sequences, best first: paths B x k x T and a B x k mask of those that exist
        (a sentence may have fewer than k). Scored as `decode` scores, so the first is its path."""
        paths, scores = kbest(emissions, lengths, transitions + self.transition_penalty, start + self.start_penalty, end, k)
        steps = np.arange(1, paths.shape[2])
        followed = self.allowed[paths[:, :, :-1], paths[:, :, 1:]] | (steps >= lengths[:, None, None])
        return paths, np.isfinite(scores) & self.allowed_start[paths[:, :, 0]] & followed.all(axis=2)

    def _step(self, score, into_open, open_bound, from_b_cost, stay_cost):
        """The best score into each tag (B x n, open-first order) in about B x n x (k + 2) work.
        I-x columns compare their two allowed predecessors. Open columns take the best of the top-k
        previous scores, which is provably the maximum where it is at least the (k+1)-th score plus
        the column's largest transition; the (row, column) pairs where that check fails are computed
        in full."""
        k = min(TOP_K, score.shape[1] - 1)
        top, top_index = _top(score, k + 1)
        candidates = top[:, :k, None] + into_open[top_index[:, :k]]  # B x k x o
        open_best = candidates[:, 0]
        for j in range(1, k):
            np.maximum(open_best, candidates[:, j], out=open_best)
        unproven = open_best < top[:, k:] + open_bound
        if unproven.any():
            rows, cols = np.nonzero(unproven)
            open_best[rows, cols] = (score[rows] + into_open[:, cols].T).max(axis=1)
        inside_best = np.maximum(score[:, self.inside_from] + from_b_cost, score[:, self.open_count:] + stay_cost)
        return np.concatenate([open_best, inside_best], axis=1)


class BioLattice:
    """A `Lattice` read in tag ids: marginals and probabilities of paths and spans as the tagger asks for them."""

    def __init__(self, lattice: Lattice, decoder: BioDecoder):
        self.lattice, self.decoder = lattice, decoder

    def marginals(self) -> np.ndarray:
        """p(tag j at t): B x T x n (columns in tag-id order), rows summing to 1."""
        return self.lattice.marginals()[:, :, self.decoder.position]

    def path_log_probabilities(self, rows: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """log p(path) for each path (R x T tag ids) of sentence `rows`."""
        return self.lattice.path_log_probabilities(rows, self.decoder.position[paths])

    def span_log_probabilities(self, rows: np.ndarray, paths: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """log p(tokens start..end-1 carry the path's B-x I-x ... tags, and the next token is not I-x)."""
        continuation = self.decoder.continuation[paths[np.arange(len(rows)), ends - 1]]
        excluded = np.where(continuation >= 0, self.decoder.position[continuation], -1)
        return self.lattice.span_log_probabilities(rows, self.decoder.position[paths], starts, ends, excluded)


class SoftmaxDecoder:
    """Each token's best tag, unconstrained, for a tagger without a CRF: its distribution is the product
    of the tokens' softmax distributions, so a sequence's or a span's probability is the product of its
    tokens' probabilities (nothing about the tokens around a span)."""

    def decode(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The best tag id of each token (B x T)."""
        return emissions.argmax(-1)

    def lattice(self, emissions: np.ndarray, lengths: np.ndarray) -> TokenLattice:
        """The tokens' log-softmax distributions."""
        return TokenLattice(emissions, lengths)

    def nbest(self, emissions: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k most probable sequences: paths B x k x T and the mask of those that exist."""
        n = emissions.shape[2]
        zeros = np.zeros(n, dtype=emissions.dtype)
        paths, scores = kbest(emissions, lengths, np.zeros((n, n), dtype=emissions.dtype), zeros, zeros, k)
        return paths, np.isfinite(scores)


def _top(score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest scores of each row, best first, and their columns: k argmax passes, which for a
    small k cost less than a partition of every row."""
    rest = score.copy()
    rows = np.arange(len(score))
    columns = np.empty((len(score), k), dtype=np.int64)
    for j in range(k):
        columns[:, j] = rest.argmax(axis=1)
        rest[rows, columns[:, j]] = -np.inf
    return np.take_along_axis(score, columns, axis=1), columns


def _viterbi(emissions, lengths, start, end, transitions, step) -> np.ndarray:
    """Viterbi with `step(score)` giving each step's best score into every tag (the maximum over `from`
    tags). Sentences are taken longest last, so that each step works on the rows still running only.
    The forward pass keeps only scores; the way back recomputes the one argmax it needs at each
    position, B x n work, rather than storing B x n back-pointers at every step."""
    order = np.argsort(lengths, kind="stable")
    emissions, lengths = emissions[order], lengths[order]
    batch, steps, _ = emissions.shape
    running = np.searchsorted(lengths, np.arange(steps), side="right")  # rows before running[t] have ended by t
    scores = np.empty((steps, batch, emissions.shape[2]), dtype=np.result_type(emissions, transitions))
    scores[0] = start + emissions[:, 0]
    for t in range(1, steps):
        r = running[t]
        scores[t, r:] = step(scores[t - 1, r:]) + emissions[r:, t]
    current = (scores[lengths - 1, np.arange(batch)] + end).argmax(axis=1)
    path = np.empty((batch, steps), dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        path[:, t] = current
        r = running[t]
        if t > 0 and r < batch:
            current = current.copy()
            current[r:] = (scores[t - 1, r:] + transitions[:, current[r:]].T).argmax(axis=1)
    unsorted = np.empty_like(path)
    unsorted[order] = path
    return unsorted
