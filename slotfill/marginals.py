"""Forward-backward for the BIO-constrained CRF, with log scales and vectorised over the batch (numpy, no PyTorch):
token marginals and the probabilities of tag sequences and of labelled spans, under the CRF distribution
restricted to the BIO-valid sequences (those Viterbi decodes among)."""

from __future__ import annotations

import numpy as np

# A log-sum computed as a product of exponentials is recomputed term by term where its sum is below this:
# some of its terms may have underflowed (they are then within ~1e-108 of the sum, or all were lost).
TINY = 1e-200
# Scores whose spread bound (see `Lattice._scalable`) stays under this many nats keep every scaled forward and
# backward value above ~1e-260 of its step's sum: no underflow, and the fast path is exact to rounding.
SCALED_RANGE = 600.0
# Matrix products are taken in row blocks of fewer than this many multiply-adds, which OpenBLAS runs on the
# calling thread: its threaded product for a whole batch is ~10x slower on a busy machine (and ORT owns the cores).
BLOCK = 1 << 18


def product(x: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> np.ndarray:
    """x @ matrix into `out` (rows x columns, C-contiguous), as a stack of row blocks (see BLOCK) that numpy
    multiplies one by one in C."""
    rows = max(1, (BLOCK - 1) // matrix.size)
    whole = len(x) - len(x) % rows
    if whole:
        np.matmul(x[:whole].reshape(-1, rows, x.shape[1]), matrix, out=out[:whole].reshape(-1, rows, out.shape[1]))
    if whole < len(x):
        np.matmul(x[whole:], matrix, out=out[whole:])
    return out


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
        total = product(np.exp(x - top), self.scaled, np.empty((len(x), self.scaled.shape[1])))
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
    or itself): `open_count` and `inside_from` describe that order. Rows are kept sorted by length.
    Where the scores' spread allows (`_scalable`, every trained tagger seen), alpha and beta are kept as
    probabilities normalised at each step with the log of each step's scale: a matrix product and a few
    array passes a step. Otherwise they are kept as logs (max-shifted log-sum-exp, exact at any spread)."""

    def __init__(self, emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                 end: np.ndarray, open_count: int, inside_from: np.ndarray):
        self.order = np.argsort(lengths, kind="stable")
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(len(self.order))
        self.lengths = np.asarray(lengths)[self.order]
        emissions = np.asarray(emissions, dtype=np.float64)
        self.emissions = emissions if (np.diff(self.order) > 0).all() else emissions[self.order]  # predictors sort already
        self.transitions, self.end = transitions.astype(np.float64), end.astype(np.float64)
        self.o, self.inside_from = open_count, inside_from
        inside = np.arange(open_count, len(end))
        self.from_b = np.where(inside_from != inside, self.transitions[inside_from, inside], -np.inf)
        self.stay = self.transitions[inside, inside]
        batch, steps, _ = self.emissions.shape
        self.running = np.searchsorted(self.lengths, np.arange(steps + 1), side="right")
        self.start = start.astype(np.float64)
        last = np.arange(batch)
        if self._scalable():
            self.alpha, self.alpha_scale = self._scaled_forward()
            self.beta, self.beta_scale = self._scaled_backward()
            end_max = self.end.max()
            total = self.alpha[self.lengths - 1, last] @ np.exp(self.end - end_max)
            self.log_z = np.log(total) + self.alpha_scale[self.lengths - 1, last] + end_max
        else:
            self.alpha, self.alpha_scale = self._forward(self.start), None
            self.beta, self.beta_scale = self._backward(), None
            self.log_z = logsumexp(self.alpha[self.lengths - 1, last] + self.end, axis=1)

    def _scalable(self) -> bool:
        """Whether the scaled recursions are safe: a normalised step's smallest possible value is at least
        exp(-(2 (transition spread + emission spread) + start or end spread + 3 log n)) of its sum."""
        def spread(x):
            finite = x[np.isfinite(x)]
            return float(finite.max() - finite.min())
        self.emission_top = float(self.emissions.max())
        n = len(self.end)
        emission_spread = self.emission_top - float(self.emissions.min())
        bound = 2 * (spread(self.transitions) + emission_spread) + max(spread(self.start), spread(self.end)) + 3 * np.log(n)
        return bound < SCALED_RANGE

    def _scaled_forward(self) -> tuple[np.ndarray, np.ndarray]:
        """alpha as probabilities normalised at each step (T x B x n) and the log of each step's scale (T x B):
        a step is one matrix product of exponentials into the open tags, and for each inside tag the sum of
        its two predecessors; no logarithm but the scale's."""
        batch, steps, n = self.emissions.shape
        o = self.o
        self.weights_top = self.transitions[np.isfinite(self.transitions)].max()
        self.weights = np.exp(self.transitions - self.weights_top)  # 0 where forbidden
        into_open = np.ascontiguousarray(self.weights[:, :o])
        self.from_b_weight, self.stay_weight = np.exp(self.from_b - self.weights_top), np.exp(self.stay - self.weights_top)
        opened = np.empty((batch, o))
        # exp(emissions - their maximum) at the sentences' tokens, steps first so that each step's rows are contiguous
        self.scaled_emissions = exp_emissions = np.empty((steps, batch, n))
        step_scale = self.weights_top + self.emission_top
        alpha, scale = np.zeros((steps, batch, n)), np.zeros((steps, batch))
        start_top = self.start[np.isfinite(self.start)].max()
        for t in range(steps):
            r = self.running[t]
            np.exp(np.subtract(self.emissions[r:, t], self.emission_top, out=exp_emissions[t, r:]), out=exp_emissions[t, r:])
            x = alpha[t, r:]
            if t == 0:
                np.multiply(np.exp(self.start - start_top), exp_emissions[0], out=x)
                scale[0] = start_top + self.emission_top
            else:
                before = alpha[t - 1, r:]
                x[:, :o] = product(before, into_open, opened[r:])
                np.multiply(before[:, self.inside_from], self.from_b_weight, out=x[:, o:])
                x[:, o:] += before[:, o:] * self.stay_weight
                x *= self.scaled_emissions[t, r:]
                scale[t, r:] = scale[t - 1, r:] + step_scale
            total = x.sum(axis=1)
            x /= total[:, None]
            scale[t, r:] += np.log(total)
        return alpha, scale

    def _scaled_backward(self) -> tuple[np.ndarray, np.ndarray]:
        """beta as `_scaled_forward` keeps alpha: normalised at each step, with the log of its scale; a step is
        one matrix product from the open tags, and each inside tag's weight added to its two predecessors."""
        batch, steps, n = self.emissions.shape
        o = self.o
        beta, scale = np.zeros((steps, batch, n)), np.zeros((steps, batch))
        end_max = self.end.max()
        final = np.exp(self.end - end_max)
        final_sum = final.sum()
        from_open = self.weights[:, :o].T.copy()
        step_scale = self.weights_top + self.emission_top
        for t in range(steps - 1, -1, -1):
            r, going_on = self.running[t], self.running[t + 1]  # rows [r, going_on) end at t
            beta[t, r:going_on], scale[t, r:going_on] = final / final_sum, np.log(final_sum) + end_max
            if going_on < batch:
                x = beta[t, going_on:]
                u = self.scaled_emissions[t + 1, going_on:] * beta[t + 1, going_on:]
                product(u[:, :o], from_open, x)
                x[:, self.inside_from] += u[:, o:] * self.from_b_weight  # an inside tag's B-x (no B-x: weight 0)
                x[:, o:] += u[:, o:] * self.stay_weight
                total = x.sum(axis=1)
                x /= total[:, None]
                scale[t, going_on:] = scale[t + 1, going_on:] + np.log(total) + step_scale
        return beta, scale

    @staticmethod
    def _log(values: np.ndarray, scale: np.ndarray | None, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        """log alpha or log beta at (t, b): rows of n, from log values or from scaled ones."""
        if scale is None:
            return values[t, b]
        with np.errstate(divide="ignore"):
            return np.log(values[t, b]) + scale[t, b][:, None]

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
        if self.alpha_scale is None:
            p = np.exp(self.alpha + self.beta - self.log_z[None, :, None])
        else:
            p = self.alpha * self.beta * np.exp(self.alpha_scale + self.beta_scale - self.log_z)[:, :, None]
        return p.transpose(1, 0, 2)[self.rank]

    def path_log_probabilities(self, rows: np.ndarray, paths: np.ndarray) -> np.ndarray:
        """log p(the whole tag sequence) for each path (R x T of tag ids; `rows` its sentences, in input order)."""
        ranks, path = self.rank[rows], np.arange(len(rows))
        last = paths[path, self.lengths[ranks] - 1]
        start_score = self.start[paths[:, 0]] + self.emissions[ranks, 0, paths[:, 0]]
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
            after = self.transitions[last[going_on]] + self.emissions[b, t] + self._log(self.beta, self.beta_scale, t, b)
            stop = np.nonzero(excluded[going_on] >= 0)[0]
            after[stop, excluded[going_on][stop]] = -np.inf
            tail[going_on] = logsumexp(after, axis=1)
        first = self._log(self.alpha, self.alpha_scale, starts, ranks)[span, paths[span, starts]]
        return first + through + tail - self.log_z[ranks]

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
