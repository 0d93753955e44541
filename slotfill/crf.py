"""A linear-chain CRF over padded batches: sequence log-likelihood and BIO-constrained Viterbi."""

from __future__ import annotations

import torch
from torch import nn

from .tags import split_tag

FORBIDDEN = -1e4


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
        alpha = self.start + emissions[:, 0]  # B x n
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor, constrained: bool = True) -> torch.Tensor:
        """Best tag sequence per sentence (B x T; padding positions hold the last real tag)."""
        transitions, start = self.transitions, self.start
        if constrained:
            transitions, start = transitions + self.transition_penalty, start + self.start_penalty
        score = start + emissions[:, 0]
        history = []
        for t in range(1, emissions.size(1)):
            best, previous = (score.unsqueeze(2) + transitions).max(dim=1)  # over the `from` tag
            score = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], score)
            history.append(previous)
        current = (score + self.end).argmax(dim=1)  # B
        lengths = mask.sum(1)
        path = torch.empty_like(mask, dtype=torch.long)
        for t in range(emissions.size(1) - 1, -1, -1):
            path[:, t] = current
            if t > 0:
                inside = t < lengths  # positions past a sentence's end keep its last tag
                current = torch.where(inside, history[t - 1].gather(1, current.unsqueeze(1)).squeeze(1), current)
        return path
