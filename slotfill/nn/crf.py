"""A linear-chain CRF over padded batches: the sequence log-likelihood training maximises.
Decoding (Viterbi) is slotfill.decode, shared with the ONNX engine."""

from __future__ import annotations

import torch
from torch import nn


class CRF(nn.Module):
    """Transition scores between tags, with start and end scores; all operations are batched."""

    def __init__(self, n: int):
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(n, n))  # [from, to]
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))

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
