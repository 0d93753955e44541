"""Sentence pooling over the encoder's states."""

from __future__ import annotations

import torch

from slotfill.nn.models import Pooling


def test_pooling_ignores_padding():
    states = torch.tensor([[[1.0, -1.0], [5.0, 5.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    assert Pooling("max", 2)(states, mask).tolist() == [[5.0, 5.0]]
    assert Pooling("mean", 2)(states, mask).tolist() == [[3.0, 2.0]]
    assert Pooling("last", 2)(states, mask).tolist() == [[5.0, -1.0]]  # forward half at the end, backward at the start
    (x, y), = Pooling("attention", 2)(states, mask).tolist()
    w = (5.0 - x) / 4.0  # x = w * 1 + (1 - w) * 5: a mix of the two real states, none of the padding
    assert 0.0 < w < 1.0 and abs(y - (5.0 - 6.0 * w)) < 1e-5
