"""slotfill.nn.crf and slotfill.decode checked by brute force: every tag sequence of small cases enumerated."""

# The pytorch-crf way: log_likelihood (slotfill.nn.crf) must equal the gold score minus the log-sum-exp over all
# sequences; slotfill.decode's `viterbi` the plain argmax, and `BioDecoder` the argmax over BIO-valid sequences only.

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from helpers import may_follow, valid_bio

from slotfill import decode as decode_module
from slotfill.decode import BioDecoder, bio_constraints, viterbi
from slotfill.nn.crf import CRF

TAG_SETS = [
    ["O", "B-a", "I-a"],
    ["O", "B-a", "I-a", "B-b"],
    ["O", "B-a", "I-a", "B-b", "I-b"],
    ["B-a", "I-a", "O", "I-b", "B-b", "B-c"],  # O not first, tags interleaved
    ["O", "I-a", "B-b", "I-b"],  # an I- tag whose B- tag is missing: it can never be used
]
SCALES = [0.1, 1.0, 3.0, 10.0]
SEEDS = [0, 1, 2]
LENGTHS = [4, 1, 3, 2]  # one padded batch, longest first and not sorted


def random_crf(tags: list[str], scale: float, generator: torch.Generator, dtype=torch.double) -> CRF:
    crf = CRF(len(tags)).to(dtype)
    n = len(tags)
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(n, n, generator=generator, dtype=dtype) * scale)
        crf.start.copy_(torch.randn(n, generator=generator, dtype=dtype) * scale)
        crf.end.copy_(torch.randn(n, generator=generator, dtype=dtype) * scale)
    return crf


def padded_case(n: int, lengths: list[int], scale: float, generator: torch.Generator, dtype=torch.double):
    """Emissions B x T x n, a left-aligned mask and random gold tags (random under the padding too)."""
    longest = max(lengths)
    emissions = torch.randn(len(lengths), longest, n, generator=generator, dtype=dtype) * scale
    mask = torch.arange(longest).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    gold = torch.randint(0, n, (len(lengths), longest), generator=generator)
    return emissions, mask, gold


def decode(crf: CRF, tags: list[str], emissions: torch.Tensor, mask: torch.Tensor, constrained: bool = True) -> torch.Tensor:
    """slotfill.decode's Viterbi (numpy) on the CRF's scores, BIO-constrained or not, as a tensor."""
    scores = [x.detach().numpy() for x in (emissions, mask.sum(1), crf.transitions, crf.start, crf.end)]
    return torch.from_numpy(BioDecoder(tags).decode(*scores) if constrained else viterbi(*scores))


def all_scores(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every tag sequence of `length` (N x length) and its score under `crf` (N), in double precision."""
    n = crf.start.numel()
    sequences = torch.tensor(list(itertools.product(range(n), repeat=length)), dtype=torch.long)
    transitions, start, end = crf.transitions.double(), crf.start.double(), crf.end.double()
    em = emissions[:length].double()
    scores = start[sequences[:, 0]] + end[sequences[:, -1]]
    scores = scores + em[torch.arange(length), sequences].sum(1)
    if length > 1:
        scores = scores + transitions[sequences[:, :-1], sequences[:, 1:]].sum(1)
    return sequences, scores


def cases():
    for tags, scale, seed in itertools.product(TAG_SETS, SCALES, SEEDS):
        yield pytest.param(tags, scale, seed, id=f"{len(tags)}tags-x{scale}-seed{seed}-{tags[0]}")


@pytest.mark.parametrize("tags, scale, seed", list(cases()))
def test_log_likelihood_matches_brute_force(tags, scale, seed):
    g = torch.Generator().manual_seed(seed)
    crf = random_crf(tags, scale, g)
    emissions, mask, gold = padded_case(len(tags), LENGTHS, scale, g)
    got = crf.log_likelihood(emissions, gold, mask)
    assert got.shape == (len(LENGTHS),)
    for b, length in enumerate(LENGTHS):
        sequences, scores = all_scores(crf, emissions[b], length)
        gold_index = (sequences == gold[b, :length]).all(1).nonzero().item()
        expected = scores[gold_index] - torch.logsumexp(scores, 0)
        assert got[b].item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)
        assert got[b].item() <= 1e-12  # a probability is at most 1


@pytest.mark.parametrize("tags, scale, seed", list(cases()))
def test_unconstrained_decode_is_argmax(tags, scale, seed):
    g = torch.Generator().manual_seed(seed)
    crf = random_crf(tags, scale, g)
    emissions, mask, _ = padded_case(len(tags), LENGTHS, scale, g)
    path = decode(crf, tags, emissions, mask, constrained=False)
    assert path.shape == mask.shape and path.dtype == torch.long
    for b, length in enumerate(LENGTHS):
        sequences, scores = all_scores(crf, emissions[b], length)
        assert path[b, :length].tolist() == sequences[scores.argmax()].tolist()
        # padding positions hold the last real tag
        assert (path[b, length:] == path[b, length - 1]).all()


@pytest.mark.parametrize("top_k", [decode_module.TOP_K, 1])
@pytest.mark.parametrize("tags, scale, seed", list(cases()))
def test_constrained_decode_is_argmax_over_valid_sequences(tags, scale, seed, top_k, monkeypatch):
    monkeypatch.setattr(decode_module, "TOP_K", top_k)
    g = torch.Generator().manual_seed(seed)
    crf = random_crf(tags, scale, g)
    emissions, mask, _ = padded_case(len(tags), LENGTHS, scale, g)
    path = decode(crf, tags, emissions, mask)  # constrained is the default
    for b, length in enumerate(LENGTHS):
        sequences, scores = all_scores(crf, emissions[b], length)
        valid = torch.tensor([valid_bio([tags[i] for i in s]) for s in sequences.tolist()])
        best = sequences[valid][scores[valid].argmax()].tolist()
        decoded = path[b, :length].tolist()
        assert decoded == best
        assert valid_bio([tags[i] for i in decoded])
        assert (path[b, length:] == path[b, length - 1]).all()


def test_constrained_decode_prefers_valid_path_even_when_invalid_is_much_better():
    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    crf = CRF(len(tags)).double()
    emissions = torch.full((1, 3, 5), -5.0, dtype=torch.double)
    emissions[0, :, tags.index("I-b")] = 20.0  # every position wants I-b, which may not start a sentence
    emissions[0, 0, tags.index("B-a")] = 1.0
    mask = torch.ones(1, 3, dtype=torch.bool)
    unconstrained = [tags[i] for i in decode(crf, tags, emissions, mask, constrained=False)[0].tolist()]
    constrained = [tags[i] for i in decode(crf, tags, emissions, mask)[0].tolist()]
    assert unconstrained == ["I-b", "I-b", "I-b"]
    assert constrained == ["B-b", "I-b", "I-b"]


def test_bio_constraints():
    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    start, allowed = bio_constraints(tags)
    assert start.tolist() == [True, True, False, True, False]
    for i, a in enumerate(tags):
        for j, b in enumerate(tags):
            assert bool(allowed[i, j]) == may_follow(a, b), (a, b)


def dense_constrained_viterbi(crf: CRF, tags: list[str], emissions: torch.Tensor, length: int) -> list[int]:
    """A plain O(T n^2) Viterbi over the BIO-valid sequences, with -inf for what is forbidden."""
    start_ok, allowed = map(torch.from_numpy, bio_constraints(tags))
    inf = float("-inf")
    transitions = crf.transitions.double().masked_fill(~allowed, inf)
    score = (crf.start.double() + emissions[0].double()).masked_fill(~start_ok, inf)
    back = []
    for t in range(1, length):
        total = score.unsqueeze(1) + transitions  # from x to
        score, previous = total.max(dim=0)
        score = score + emissions[t].double()
        back.append(previous)
    best = [int((score + crf.end.double()).argmax())]
    for previous in reversed(back):
        best.append(int(previous[best[-1]]))
    return best[::-1]


def many_tags(labels: int) -> list[str]:
    tags = ["O"]
    for k in range(labels):
        tags += [f"B-l{k}", f"I-l{k}"]
    return tags + ["B-single"]  # a label that is never continued


class FallbackSpy:
    """Counts the (sentence, column) pairs where `BioDecoder._step`'s top-k bound fails and it computes in full."""

    def __init__(self, monkeypatch):
        self.fallbacks = 0
        self.steps = 0
        original = BioDecoder._step

        def spy(decoder, score, into_open, open_bound, *rest):
            k = min(decode_module.TOP_K, score.shape[1] - 1)
            index = np.argsort(-score, axis=1, kind="stable")[:, : k + 1]
            top = np.take_along_axis(score, index, axis=1)
            best = (top[:, :k, None] + into_open[index[:, :k]]).max(axis=1)
            self.fallbacks += int((best < top[:, k:] + open_bound).sum())
            self.steps += score.shape[0]
            return original(decoder, score, into_open, open_bound, *rest)

        monkeypatch.setattr(BioDecoder, "_step", spy)


@pytest.mark.parametrize("peak, scale", [(10.0, 1.0), (3.0, 1.0), (0.0, 5.0), (10.0, 20.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_decode_many_tags_matches_dense_viterbi(peak, scale, seed, monkeypatch):
    tags = many_tags(20)
    assert len(tags) == 42
    g = torch.Generator().manual_seed(seed)
    crf = random_crf(tags, scale, g, dtype=torch.float)
    lengths = [12, 1, 7, 12, 3, 9, 2, 11]
    emissions, mask, _ = padded_case(len(tags), lengths, 1.0, g, dtype=torch.float)
    peaks = torch.randint(0, len(tags), emissions.shape[:2], generator=g)
    emissions.scatter_add_(2, peaks.unsqueeze(2), torch.full((*peaks.shape, 1), peak))
    spy = FallbackSpy(monkeypatch)
    path = decode(crf, tags, emissions, mask)
    assert spy.steps > 0
    for b, length in enumerate(lengths):
        decoded = path[b, :length].tolist()
        assert decoded == dense_constrained_viterbi(crf, tags, emissions[b], length)
        assert valid_bio([tags[i] for i in decoded])


def test_top_k_fallback_is_exercised(monkeypatch):
    """Large transitions and flat emissions: the top-k bound must fail somewhere, and the result stay exact."""
    tags = many_tags(20)
    spy = FallbackSpy(monkeypatch)
    for seed in range(4):
        g = torch.Generator().manual_seed(seed)
        crf = random_crf(tags, 10.0, g, dtype=torch.float)
        emissions, mask, _ = padded_case(len(tags), [10, 4, 8], 1.0, g, dtype=torch.float)
        path = decode(crf, tags, emissions, mask)
        for b, length in enumerate([10, 4, 8]):
            assert path[b, :length].tolist() == dense_constrained_viterbi(crf, tags, emissions[b], length)
    assert spy.fallbacks > 0


def test_decode_of_a_padded_sentence_equals_decode_alone():
    tags = many_tags(5)
    g = torch.Generator().manual_seed(7)
    crf = random_crf(tags, 2.0, g, dtype=torch.float)
    lengths = [6, 2, 4]
    emissions, mask, _ = padded_case(len(tags), lengths, 2.0, g, dtype=torch.float)
    for constrained in (True, False):
        batched = decode(crf, tags, emissions, mask, constrained=constrained)
        for b, length in enumerate(lengths):
            alone = decode(crf, tags, emissions[b:b + 1, :length], mask[b:b + 1, :length], constrained=constrained)
            assert batched[b, :length].tolist() == alone[0].tolist()


def test_log_likelihood_float32_close_to_double():
    tags = TAG_SETS[2]
    g = torch.Generator().manual_seed(3)
    crf = random_crf(tags, 2.0, g)
    emissions, mask, gold = padded_case(len(tags), LENGTHS, 2.0, g)
    double = crf.log_likelihood(emissions, gold, mask)
    single = crf.float().log_likelihood(emissions.float(), gold, mask)
    assert torch.allclose(single.double(), double, rtol=1e-4, atol=1e-4)


def test_probabilities_of_all_sequences_sum_to_one():
    tags = TAG_SETS[3]
    g = torch.Generator().manual_seed(5)
    crf = random_crf(tags, 1.0, g)
    length = 3
    emissions = torch.randn(1, length, len(tags), generator=g, dtype=torch.double)
    sequences = torch.tensor(list(itertools.product(range(len(tags)), repeat=length)))
    ll = crf.log_likelihood(emissions.expand(len(sequences), -1, -1), sequences, torch.ones(len(sequences), length, dtype=torch.bool))
    assert torch.logsumexp(ll, 0).item() == pytest.approx(0.0, abs=1e-9)


def test_gradients_flow_and_are_finite():
    tags = TAG_SETS[2]
    g = torch.Generator().manual_seed(11)
    crf = random_crf(tags, 1.0, g, dtype=torch.float)
    emissions, mask, gold = padded_case(len(tags), LENGTHS, 1.0, g, dtype=torch.float)
    emissions.requires_grad_(True)
    loss = -crf.log_likelihood(emissions, gold, mask).mean()
    loss.backward()
    for name, grad in [("emissions", emissions.grad), ("transitions", crf.transitions.grad), ("start", crf.start.grad), ("end", crf.end.grad)]:
        assert grad is not None, name
        assert torch.isfinite(grad).all(), name
        assert grad.abs().sum() > 0, name
    # nothing flows from padding positions
    padded = ~mask
    assert (emissions.grad[padded] == 0).all()


def test_partition_gradient_is_the_tag_marginals():
    """d log Z / d emissions[t, y] = p(y_t = y): the forward algorithm checked against brute-force marginals."""
    tags = TAG_SETS[1]
    n, length = len(tags), 3
    g = torch.Generator().manual_seed(13)
    crf = random_crf(tags, 1.0, g)
    emissions = torch.randn(1, length, n, generator=g, dtype=torch.double, requires_grad=True)
    mask = torch.ones(1, length, dtype=torch.bool)
    gold = torch.zeros(1, length, dtype=torch.long)
    # log_likelihood = gold - log Z, and the gold part's gradient is the one-hot of `gold`
    (-crf.log_likelihood(emissions, gold, mask)).sum().backward()
    marginals = emissions.grad[0].clone()
    marginals[torch.arange(length), gold[0]] += 1.0
    sequences, scores = all_scores(crf, emissions[0].detach(), length)
    probs = torch.softmax(scores, 0)
    expected = torch.zeros(length, n, dtype=torch.double)
    for t in range(length):
        expected[t].index_add_(0, sequences[:, t], probs)
    assert torch.allclose(marginals, expected, atol=1e-9)
    assert torch.allclose(marginals.sum(1), torch.ones(length, dtype=torch.double))


def test_log_likelihood_exact_when_scores_are_far_apart():
    """Scores spread over more than ~69 nats: the forward step's `exp(alpha - max) @ exp(T - colmax)`
    factorisation can underflow to 0 for every term of a column, and `clamp_min(1e-30)` then
    replaces the column's true log-sum with max + colmax - 69. Exposes a bug (see the report)."""
    tags, scale = TAG_SETS[2], 100.0
    worst = 0.0
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        crf = random_crf(tags, scale, g)
        emissions, mask, gold = padded_case(len(tags), [4], scale, g)
        got = crf.log_likelihood(emissions, gold, mask)[0].item()
        sequences, scores = all_scores(crf, emissions[0], 4)
        gold_index = (sequences == gold[0]).all(1).nonzero().item()
        expected = (scores[gold_index] - torch.logsumexp(scores, 0)).item()
        worst = max(worst, abs(got - expected))
    assert worst < 1e-6


def test_log_likelihood_two_tag_example_far_apart():
    """A minimal hand-made case of the same bug: true log p = -log 2, computed about -31."""
    crf = CRF(2).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor([[-100.0, 0.0], [0.0, 0.0]], dtype=torch.double))
    emissions = torch.tensor([[[0.0, -100.0], [200.0, 0.0]]], dtype=torch.double)
    mask = torch.ones(1, 2, dtype=torch.bool)
    gold = torch.tensor([[0, 0]])  # O O: 0 + (-100) + 200 = 100; B-a O: -100 + 0 + 200 = 100; the rest ~ 0
    got = crf.log_likelihood(emissions, gold, mask).item()
    assert got == pytest.approx(-torch.log(torch.tensor(2.0)).item(), abs=1e-6)


def dense_log_partition(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The textbook forward algorithm, one dense logsumexp a step, differentiated by autograd."""
    alpha = crf.start + emissions[:, 0]
    for t in range(1, emissions.size(1)):
        step = torch.logsumexp(alpha.unsqueeze(2) + crf.transitions, dim=1) + emissions[:, t]
        alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + crf.end, dim=1)


@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0, 100.0])
@pytest.mark.parametrize("dtype", [torch.double, torch.float])
def test_partition_gradients_match_autograd_of_dense_forward_algorithm(scale, dtype):
    """The hand-written backward pass (tag and transition marginals) against autograd, on a padded batch
    weighted per sentence, for every input: emissions, transitions, start and end."""
    tags = many_tags(4)
    g = torch.Generator().manual_seed(17)
    lengths = [7, 1, 4, 6, 2]
    weights = torch.rand(len(lengths), generator=g, dtype=torch.double)
    grads = []
    for implementation in ("slotfill", "dense"):
        crf = random_crf(tags, scale, torch.Generator().manual_seed(17), dtype=dtype)
        emissions, mask, gold = padded_case(len(tags), lengths, scale, torch.Generator().manual_seed(18), dtype=dtype)
        emissions.requires_grad_(True)
        if implementation == "slotfill":
            log_z = crf._gold_score(emissions, gold, mask) - crf.log_likelihood(emissions, gold, mask)
        else:
            log_z = dense_log_partition(crf, emissions, mask)
        (log_z * weights.to(dtype)).sum().backward()
        grads.append([emissions.grad, crf.transitions.grad, crf.start.grad, crf.end.grad])
    tolerance = 1e-9 if dtype == torch.double else 1e-4
    for name, ours, reference in zip(["emissions", "transitions", "start", "end"], *grads):
        assert ours.dtype == dtype, name
        assert torch.allclose(ours, reference, atol=tolerance, rtol=tolerance), (name, (ours - reference).abs().max())
