"""slotfill.nn.models: the encoder's RNN passes, dropout and sentence pooling over its states."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from slotfill.nn.models import CELLS, Encoder, Pooling, dropout, reverse_within


class Fixed(torch.nn.Module):
    """A word representation that returns given vectors."""

    def __init__(self, vectors: torch.Tensor):
        super().__init__()
        self.vectors, self.dim = vectors, vectors.size(-1)

    def forward(self, batch, words):
        return self.vectors


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_padded_passes_equal_the_packed_bidirectional_rnn(cell, layers):
    """Encoder's two one-directional passes give the outputs and gradients of nn.LSTM/GRU/RNN over the packed batch."""
    torch.manual_seed(0)
    lengths = torch.tensor([5, 2, 7, 1, 7])
    words = (torch.arange(7) < lengths.unsqueeze(1)).long() * 3
    vectors = torch.randn(5, 7, 6, dtype=torch.double, requires_grad=True)
    config = SimpleNamespace(cell=cell, hidden_size=4, layers=layers, dropout=0.0, word_dropout=0.0)
    encoder = Encoder(Fixed(vectors), config, unk_id=1).double().train()  # the padded passes are the training path
    batch = SimpleNamespace(words=words, lengths=lengths, mask=words != 0)
    ours = encoder(batch)
    packed = pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
    reference, _ = pad_packed_sequence(encoder.rnn(packed)[0], batch_first=True, total_length=7)
    assert torch.allclose(ours, reference, atol=1e-12)
    weights = torch.randn_like(ours)
    ours_grads = torch.autograd.grad((ours * weights).sum(), [vectors, *encoder.rnn.parameters()])
    reference_grads = torch.autograd.grad((reference * weights).sum(), [vectors, *encoder.rnn.parameters()])
    for mine, theirs in zip(ours_grads, reference_grads):
        assert torch.allclose(mine, theirs, atol=1e-12)


def test_reverse_within_keeps_padding_and_is_its_own_inverse():
    x = torch.arange(8.0).view(2, 4, 1)
    lengths = torch.tensor([3, 1])
    assert reverse_within(x, lengths).squeeze(2).tolist() == [[2.0, 1.0, 0.0, 3.0], [4.0, 5.0, 6.0, 7.0]]
    assert torch.equal(reverse_within(reverse_within(x, lengths), lengths), x)


def test_dropout_zeroes_a_share_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    kept = dropout(x, 0.3, training=True)
    assert kept.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert (kept == 0).double().mean().item() == pytest.approx(0.3, abs=0.005)
    assert kept.mean().item() == pytest.approx(1.0, abs=0.01)
    assert dropout(x, 0.3, training=False) is x


def test_pooling_ignores_padding():
    states = torch.tensor([[[1.0, -1.0], [5.0, 5.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    assert Pooling("max", 2)(states, mask).tolist() == [[5.0, 5.0]]
    assert Pooling("mean", 2)(states, mask).tolist() == [[3.0, 2.0]]
    assert Pooling("last", 2)(states, mask).tolist() == [[5.0, -1.0]]  # forward half at the end, backward at the start
    (x, y), = Pooling("attention", 2)(states, mask).tolist()
    w = (5.0 - x) / 4.0  # x = w * 1 + (1 - w) * 5: a mix of the two real states, none of the padding
    assert 0.0 < w < 1.0 and abs(y - (5.0 - 6.0 * w)) < 1e-5
