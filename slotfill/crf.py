"""A linear-chain CRF over padded batches: sequence log-likelihood and BIO-constrained Viterbi."""

from __future__ import annotations

import torch
from torch import nn

from .tags import split_tag

FORBIDDEN = -1e4
TOP_K = 3


def bio_constraints(tags: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed first tags (n) and transitions (n x n, from -> to): `I-x` only after `B-x` or `I-x`."""
    parts = [split_tag(t) for t in tags]
    start = torch.tensor([prefix != "I" for prefix, _ in parts])
    allowed = torch.tensor(
        [[p_to != "I" or (p_from in ("B", "I") and l_from == l_to) for p_to, l_to in parts] for p_from, l_from in parts]
    )
    return start, allowed


class CRF(nn.Module):
    """Transition scores between tags, with start and end scores; all operations are batched."""

    def __init__(self, tags: list[str]):
        super().__init__()
        n = len(tags)
        self.transitions = nn.Parameter(torch.zeros(n, n))  # [from, to]
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        allowed_start, allowed = bio_constraints(tags)
        self.register_buffer("start_penalty", (~allowed_start).float() * FORBIDDEN, persistent=False)
        self.register_buffer("transition_penalty", (~allowed).float() * FORBIDDEN, persistent=False)
        # Under BIO constraints an I-x tag has two possible predecessors, B-x and I-x (itself); every
        # other tag ("open": O and B-y) may follow any tag. Constrained decoding works on the tags
        # reordered open first, inside last (`order`), so each step is built by concatenation.
        prefixes = [split_tag(t) for t in tags]
        inside = [i for i, (prefix, _) in enumerate(prefixes) if prefix == "I"]
        open_ = [i for i in range(n) if prefixes[i][0] != "I"]
        order = open_ + inside
        position = {tag_id: k for k, tag_id in enumerate(order)}
        index = {t: i for i, t in enumerate(tags)}
        inside_from = [position[index.get("B-" + prefixes[i][1], i)] for i in inside]
        self.register_buffer("order", torch.tensor(order, dtype=torch.long), persistent=False)
        self.register_buffer("inside_from", torch.tensor(inside_from, dtype=torch.long), persistent=False)
        self.open_count = len(open_)

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log p(tags | emissions) for each sentence (B); emissions B x T x n, mask B x T (left-aligned)."""
        return self._gold_score(emissions, tags, mask) - self._log_partition(emissions, mask)

    def _gold_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        maskf = mask.to(emissions.dtype)
        score = self.start[tags[:, 0]]
        score = score + (emissions.gather(2, tags.unsqueeze(2)).squeeze(2) * maskf).sum(1)
        score = score + (self.transitions[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).clamp(min=0)).squeeze(1)
        return score + self.end[last]

    def _log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The forward algorithm. Each step's logsumexp over `from` tags is a matrix product:
        logsumexp_i(a_i + T_ij) = m + c_j + log sum_i exp(a_i - m) exp(T_ij - c_j), with m = max a and
        c_j = max_i T_ij, so both factors are at most 1. Where a column's sum comes out so small that
        float32 may have lost its terms (scores ~50 nats apart, never seen in a trained tagger), that
        step is recomputed with the dense logsumexp."""
        column_max = self.transitions.max(dim=0).values  # n
        scaled = torch.exp(self.transitions - column_max)  # n x n
        alpha = self.start + emissions[:, 0]  # B x n
        for t in range(1, emissions.size(1)):
            top = alpha.max(dim=1, keepdim=True).values
            total = torch.exp(alpha - top) @ scaled
            step = top + column_max + torch.log(total.clamp_min(1e-30))
            underflow = total < 1e-20
            if underflow.any():
                dense = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1)
                step = torch.where(underflow, dense, step)
            alpha = torch.where(mask[:, t].unsqueeze(1), step + emissions[:, t], alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor, constrained: bool = True) -> torch.Tensor:
        """Best tag sequence per sentence (B x T; padding positions hold the last real tag).
        Exact Viterbi; with BIO constraints each step avoids the dense n x n maximum (`_bio_step`)."""
        if not constrained:
            def dense(score):  # every `from` tag for every `to` tag: B x n x n
                return (score.unsqueeze(2) + self.transitions).max(dim=1)

            return self._viterbi(emissions, mask, self.start, self.end, dense)
        order = self.order
        transitions = (self.transitions + self.transition_penalty)[order][:, order]
        start = (self.start + self.start_penalty)[order]
        o = self.open_count
        inside = torch.arange(o, len(order), device=emissions.device)
        into_open = transitions[:, :o]
        plan = (into_open, into_open.max(dim=0).values, transitions[self.inside_from, inside], transitions[inside, inside], inside)
        path = self._viterbi(emissions[:, :, order], mask, start, self.end[order], lambda score: self._bio_step(score, *plan))
        return order[path]

    @staticmethod
    def _viterbi(emissions, mask, start, end, step) -> torch.Tensor:
        """Viterbi with `step(score) -> (best, previous)` giving each step's maximum over `from` tags."""
        score = start + emissions[:, 0]
        history = []
        for t in range(1, emissions.size(1)):
            best, previous = step(score)
            score = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], score)
            history.append(previous)
        current = (score + end).argmax(dim=1)  # B
        lengths = mask.sum(1)
        path = torch.empty_like(mask, dtype=torch.long)
        for t in range(emissions.size(1) - 1, -1, -1):
            path[:, t] = current
            if t > 0:
                inside = t < lengths  # positions past a sentence's end keep its last tag
                current = torch.where(inside, history[t - 1].gather(1, current.unsqueeze(1)).squeeze(1), current)
        return path

    def _bio_step(self, score, into_open, open_bound, from_b_cost, stay_cost, inside):
        """The maximum over `from` tags under BIO constraints, in the open-first order, in about B x n x (k + 2) work.
        I-x columns compare their two allowed predecessors. Open columns take the best of the top-k
        previous scores, which is provably the maximum where it is at least the (k+1)-th score plus
        the column's largest transition; the (row, column) pairs where that check fails are computed
        in full."""
        o = self.open_count
        k = min(TOP_K, score.size(1) - 1)
        top, top_index = score.topk(k + 1, dim=1)
        open_best, arg = (top[:, :k, None] + into_open[top_index[:, :k]]).max(dim=1)  # B x o
        open_previous = top_index[:, :k].gather(1, arg)
        rows, cols = (open_best < top[:, k:] + open_bound).nonzero(as_tuple=True)
        if len(rows):
            open_best[rows, cols], open_previous[rows, cols] = (score[rows] + into_open[:, cols].T).max(dim=1)
        from_b = score[:, self.inside_from] + from_b_cost
        stay = score[:, o:] + stay_cost
        stays = stay > from_b
        inside_best = torch.where(stays, stay, from_b)
        inside_previous = torch.where(stays, inside, self.inside_from)
        return torch.cat([open_best, inside_best], dim=1), torch.cat([open_previous, inside_previous], dim=1)
