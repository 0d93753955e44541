"""Forward-backward for the BIO-constrained CRF, in log space and vectorised over the batch (numpy, no PyTorch):
token marginals and the probabilities of tag sequences and of labelled spans, under the CRF distribution
restricted to the BIO-valid sequences (those Viterbi decodes among)."""

from __future__ import annotations

import numpy as np

# A log-sum computed as a product of exponentials is recomputed term by term where its sum is below this:
# some of its terms may have underflowed (they are then within ~1e-108 of the sum, or all were lost).
TINY = 1e-200


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(x))) along `axis`, shifted by the maximum; -inf where every term is -inf."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - top).sum(axis=axis)) + np.squeeze(top, axis)


class LogProduct:
    """x -> logsumexp_i(x_i + W[i, j]) for the rows x of a batch, as one matrix product of exponentials:
    m + c_j + log sum_i exp(x_i - m) exp(W_ij - c_j), with m the row's maximum and c_j the column's."""

    def __init__(self, weights: np.ndarray):
        self.weights = weights
        self.column_max = weights.max(axis=0)
        self.scaled = np.exp(weights - self.column_max)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        top = x.max(axis=1, keepdims=True)
        total = np.exp(x - top) @ self.scaled
        with np.errstate(divide="ignore"):
            out = np.log(total)
        out += top
        out += self.column_max
        weak = total < TINY
        if weak.any():
            rows, cols = np.nonzero(weak)
            out[rows, cols] = logsumexp(x[rows] + self.weights[:, cols].T, axis=1)
        return out


class Lattice:
    """Forward (alpha) and backward (beta) log-scores of a batch under a BIO-constrained CRF.
    `transitions` ([from, to]) and `start` hold -inf where BIO forbids; the tags come ordered open first
    (O and B-x, which may follow any tag), then inside (I-x, which follows only `inside_from`, its B-x,
    or itself): `open_count` and `inside_from` describe that order. Rows are kept sorted by length."""

    def __init__(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                 end: np.ndarray, open_count: int, inside_from: np.ndarray):
        self.order = np.argsort(lengths, kind="stable")
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(len(self.order))
        self.lengths = np.asarray(lengths)[self.order]
        self.emissions = np.asarray(emissions, dtype=np.float64)[self.order]
        self.transitions, self.end = transitions.astype(np.float64), end.astype(np.float64)
        self.o, self.inside_from = open_count, inside_from
        inside = np.arange(open_count, len(end))
        self.from_b = np.where(inside_from != inside, self.transitions[inside_from, inside], -np.inf)
        self.stay = self.transitions[inside, inside]
        batch, steps, _ = self.emissions.shape
        self.running = np.searchsorted(self.lengths, np.arange(steps + 1), side="right")
        self.alpha = self._forward(start.astype(np.float64))
        self.beta = self._backward()
        last = self.alpha[self.lengths - 1, np.arange(batch)] + self.end
        self.log_z = logsumexp(last, axis=1)

    def _forward(self, start: np.ndarray) -> np.ndarray:
        """alpha[t, b, j]: log of the summed scores of every prefix ending in tag j at t (its emission included)."""
        batch, steps, n = self.emissions.shape
        into_open = LogProduct(self.transitions[:, :self.o])
        alpha = np.full((steps, batch, n), -np.inf)
        alpha[0] = start + self.emissions[:, 0]
        for t in range(1, steps):
            r = self.running[t]
            x = alpha[t - 1, r:]
            alpha[t, r:, :self.o] = into_open(x)
            alpha[t, r:, self.o:] = np.logaddexp(x[:, self.inside_from] + self.from_b, x[:, self.o:] + self.stay)
            alpha[t, r:] += self.emissions[r:, t]
        return alpha

    def _backward(self) -> np.ndarray:
        """beta[t, b, i]: log of the summed scores of every continuation after tag i at t (the end score included)."""
        batch, steps, n = self.emissions.shape
        from_open = LogProduct(self.transitions[:, :self.o].T)
        beta = np.full((steps, batch, n), -np.inf)
        for t in range(steps - 1, -1, -1):
            r, going_on = self.running[t], self.running[t + 1]  # rows [r, going_on) end at t
            beta[t, r:going_on] = self.end
            if going_on < batch:
                u = self.emissions[going_on:, t + 1] + beta[t + 1, going_on:]
                step = from_open(u[:, :self.o])
                inside = u[:, self.o:]
                step[:, self.inside_from] = np.logaddexp(step[:, self.inside_from], inside + self.from_b)
                step[:, self.o:] = np.logaddexp(step[:, self.o:], inside + self.stay)
                beta[t, going_on:] = step
        return beta

    def marginals(self) -> np.ndarray:
        """p(tag j at t) for each sentence: B x T x n, rows summing to 1 (0 past a sentence's end)."""
        log_p = self.alpha + self.beta - self.log_z[None, :, None]
        return np.exp(log_p).transpose(1, 0, 2)[self.rank]

    def path_log_probabilities(self, rows: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """log p(the whole tag sequence) for each path (R x T of tag ids; `rows` its sentences, in input order)."""
        ranks, path = self.rank[rows], np.arange(len(rows))
        last = paths[path, self.lengths[ranks] - 1]
        start_score = self.alpha[0, ranks, paths[:, 0]]
        return start_score + self._steps(ranks, paths).sum(axis=1) + self.end[last] - self.log_z[ranks]

    def span_log_probabilities(self, rows: np.ndarray, paths: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                               excluded: np.ndarray) -> np.ndarray:
        """log p(tokens start..end-1 carry exactly the path's tags there, and the tag after them is not
        `excluded`, the span's continuation: -1 for none) for each span, one per row of `paths`: alpha at
        the start, the path's scores through the span, beta after it without `excluded`."""
        ranks, span = self.rank[rows], np.arange(len(rows))
        positions = np.arange(paths.shape[1])
        inside = (positions > starts[:, None]) & (positions < ends[:, None])
        through = np.where(inside, self._steps(ranks, paths), 0.0).sum(axis=1)
        last = paths[span, ends - 1]
        tail = self.end[last]
        going_on = np.nonzero(ends < self.lengths[ranks])[0]
        if len(going_on):
            b, t = ranks[going_on], ends[going_on]
            after = self.transitions[last[going_on]] + self.emissions[b, t] + self.beta[t, b]
            stop = np.nonzero(excluded[going_on] >= 0)[0]
            after[stop, excluded[going_on][stop]] = -np.inf
            tail[going_on] = logsumexp(after, axis=1)
        return self.alpha[starts, ranks, paths[span, starts]] + through + tail - self.log_z[ranks]

    def _steps(self, ranks: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """s[p, t]: the path's transition into t plus its emission at t (0 at t = 0 and past the end)."""
        steps = paths.shape[1]
        scores = np.zeros(paths.shape)
        if steps > 1:
            positions = np.arange(1, steps)
            scores[:, 1:] = self.transitions[paths[:, :-1], paths[:, 1:]] + self.emissions[ranks[:, None], positions, paths[:, 1:]]
            scores[:, 1:][positions[None, :] >= self.lengths[ranks][:, None]] = 0.0
        return scores


class TokenLattice:
    """Independent tokens (a softmax decoder): each token's log-softmax distribution, and products of them."""

    def __init__(self, emissions: np.ndarray, lengths: np.ndarray):
        scores = np.asarray(emissions, dtype=np.float64)
        self.log_p = scores - logsumexp(scores, axis=2)[:, :, None]
        self.lengths = np.asarray(lengths)

    def marginals(self) -> np.ndarray:
        """p(tag j at t): B x T x n, rows summing to 1 (0 past a sentence's end)."""
        past_end = np.arange(self.log_p.shape[1]) >= self.lengths[:, None]
        return np.where(past_end[:, :, None], 0.0, np.exp(self.log_p))

    def path_log_probabilities(self, rows: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """log p(path): the sum of its tokens' log-probabilities."""
        return self._tokens(rows, paths, np.zeros(len(rows), dtype=np.int64), self.lengths[rows])

    def span_log_probabilities(self, rows: np.ndarray, paths: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """log p(tokens start..end-1 carry the path's tags there): the sum of their log-probabilities."""
        return self._tokens(rows, paths, starts, ends)

    def _tokens(self, rows: np.ndarray, paths: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The path's log-probabilities summed over positions start..end-1."""
        positions = np.arange(paths.shape[1])
        scores = self.log_p[rows[:, None], positions, paths]
        return np.where((positions >= starts[:, None]) & (positions < ends[:, None]), scores, 0.0).sum(axis=1)
