"""slotfill.decode's probabilities and n-best lists checked by brute force: every tag sequence of tiny
random CRFs enumerated, the BIO-invalid ones dropped, the rest normalised."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import valid_bio

from slotfill import marginals as marginals_module
from slotfill.decode import BioDecoder, SoftmaxDecoder
from slotfill.tags import spans

TAG_SETS = [
    ["O", "B-a", "I-a"],
    ["O", "B-a", "I-a", "B-b"],
    ["O", "B-a", "I-a", "B-b", "I-b"],
    ["B-a", "I-a", "O", "I-b", "B-b"],  # O not first, tags interleaved
    ["O", "I-a", "B-b", "I-b"],  # an I- tag whose B- tag is missing: it can never be used
]
SCALES = [0.1, 1.0, 3.0, 10.0]
SEEDS = [0, 1]
LENGTHS = np.array([4, 1, 5, 2, 3])  # one padded batch of unequal lengths, not sorted
ATOL = 1e-6


def random_case(tags: list[str], scale: float, seed: int, lengths: np.ndarray = LENGTHS):
    """Emissions B x T x n (random under the padding too), transitions [from, to], start and end."""
    rng = np.random.default_rng(seed)
    n = len(tags)
    emissions = rng.normal(size=(len(lengths), int(lengths.max()), n)) * scale
    return emissions, lengths, rng.normal(size=(n, n)) * scale, rng.normal(size=n) * scale, rng.normal(size=n) * scale


def brute_force(tags, emissions, length, transitions, start, end, constrained=True):
    """Every (BIO-valid) sequence of `length` (N x length) and its probability (N), in double precision."""
    n = len(tags)
    sequences = np.array(list(itertools.product(range(n), repeat=length)), dtype=np.int64)
    if constrained:
        sequences = sequences[[valid_bio([tags[i] for i in s]) for s in sequences]]
    scores = start[sequences[:, 0]] + end[sequences[:, -1]] + emissions[np.arange(length), sequences].sum(1)
    scores = scores + transitions[sequences[:, :-1], sequences[:, 1:]].sum(1)
    probabilities = np.exp(scores - scores.max())
    return sequences, probabilities / probabilities.sum()


def cases():
    for tags, scale, seed in itertools.product(TAG_SETS, SCALES, SEEDS):
        yield pytest.param(tags, scale, seed, id=f"{len(tags)}tags-x{scale}-seed{seed}-{tags[0]}")


def far_apart_cases():
    """Scores hundreds of nats apart: the log-space recursions, where products of exponentials underflow and
    those log-sums are recomputed term by term."""
    for scale, seed in itertools.product([100.0, 1000.0], SEEDS):
        yield pytest.param(TAG_SETS[2], scale, seed, id=f"far-apart-x{scale}-seed{seed}")


def labelled_spans(tags: list[str], length: int):
    """Every (start, end, B-x I-x ... tags) a span of `length` tokens may carry."""
    for label in sorted({t[2:] for t in tags if t.startswith("B-")}):
        if f"I-{label}" not in tags:
            yield from ((s, s + 1, [tags.index(f"B-{label}")]) for s in range(length))
            continue
        for s in range(length):
            for e in range(s + 1, length + 1):
                yield s, e, [tags.index(f"B-{label}")] + [tags.index(f"I-{label}")] * (e - s - 1)


def span_probability(tags, sequences, probabilities, start, end, ids) -> float:
    """p(tokens start..end-1 carry `ids` and the token after is not the span's I- tag): summed by hand."""
    inside = [i for i, t in enumerate(tags) if t == "I-" + tags[ids[0]][2:]]
    matches = (sequences[:, start:end] == ids).all(1)
    if end < sequences.shape[1] and inside:
        matches &= sequences[:, end] != inside[0]
    return float(probabilities[matches].sum())


@pytest.mark.parametrize("tags, scale, seed", [*cases(), *far_apart_cases()])
def test_token_marginals_match_brute_force(tags, scale, seed):
    emissions, lengths, *crf = random_case(tags, scale, seed)
    lattice = BioDecoder(tags).lattice(emissions, lengths, *crf)
    # the fast scaled recursions where the scores' spread allows, else the log-space ones
    assert (lattice.lattice.alpha_scale is not None) == (scale <= 10)
    marginals = lattice.marginals()
    assert marginals.shape == emissions.shape
    for b, length in enumerate(lengths):
        sequences, probabilities = brute_force(tags, emissions[b], length, *crf)
        expected = np.zeros((length, len(tags)))
        for t in range(length):
            np.add.at(expected[t], sequences[:, t], probabilities)
        np.testing.assert_allclose(marginals[b, :length], expected, atol=ATOL)
        np.testing.assert_allclose(marginals[b, :length].sum(1), 1.0, atol=1e-9)
        assert (marginals[b, length:] == 0).all()


@pytest.mark.parametrize("tags, scale, seed", [*cases(), *far_apart_cases()])
def test_span_probabilities_match_brute_force(tags, scale, seed):
    emissions, lengths, *crf = random_case(tags, scale, seed)
    lattice = BioDecoder(tags).lattice(emissions, lengths, *crf)
    outside = tags.index("O")
    rows, paths, starts, ends, expected = [], [], [], [], []
    for b, length in enumerate(lengths):
        sequences, probabilities = brute_force(tags, emissions[b], length, *crf)
        for start, end, ids in labelled_spans(tags, length):
            path = np.full(emissions.shape[1], outside)
            path[start:end] = ids
            rows.append(b), paths.append(path), starts.append(start), ends.append(end)
            expected.append(span_probability(tags, sequences, probabilities, start, end, ids))
    got = np.exp(lattice.span_log_probabilities(np.array(rows), np.array(paths), np.array(starts), np.array(ends)))
    np.testing.assert_allclose(got, expected, atol=ATOL)
    assert max(expected) > 0.1  # some spans are likely: the test compares more than zeros


def test_span_probability_excludes_a_longer_span():
    """B-a at the last-but-one token: the span [B-a] alone is likely only if the next token is not I-a."""
    tags = ["O", "B-a", "I-a"]
    emissions = np.zeros((1, 2, 3))
    emissions[0, 0, 1] = emissions[0, 1, 2] = 5.0  # B-a I-a is by far the most likely reading
    lattice = BioDecoder(tags).lattice(emissions, np.array([2]), np.zeros((3, 3)), np.zeros(3), np.zeros(3))
    short, long = np.exp(lattice.span_log_probabilities(np.array([0, 0]), np.array([[1, 0], [1, 2]]), np.array([0, 0]), np.array([1, 2])))
    assert long > 0.95 and short < 0.05
    assert lattice.marginals()[0, 0, 1] > 0.99  # while the token itself is almost surely B-a


@pytest.mark.parametrize("tags, scale, seed", list(cases()))
def test_nbest_matches_brute_force(tags, scale, seed):
    emissions, lengths, *crf = random_case(tags, scale, seed)
    decoder = BioDecoder(tags)
    lattice = decoder.lattice(emissions, lengths, *crf)
    best = decoder.decode(emissions, lengths, *crf)
    for k in range(1, 6):
        paths, found = decoder.nbest(emissions, lengths, *crf, k)
        assert paths.shape == (len(lengths), k, emissions.shape[1]) and found.shape == (len(lengths), k)
        for b, length in enumerate(lengths):
            sequences, probabilities = brute_force(tags, emissions[b], length, *crf)
            listed = paths[b, found[b], :length]
            assert found[b].tolist() == sorted(found[b].tolist(), reverse=True)  # the missing ones last
            assert len(listed) == min(k, len(sequences))
            assert len({tuple(p) for p in listed.tolist()}) == len(listed)
            assert all(valid_bio([tags[i] for i in p]) for p in listed.tolist())
            assert listed[0].tolist() == best[b, :length].tolist()
            got = np.exp(lattice.path_log_probabilities(np.full(len(listed), b), paths[b, found[b]]))
            index = {tuple(s): i for i, s in enumerate(sequences.tolist())}
            np.testing.assert_allclose(got, [probabilities[index[tuple(p)]] for p in listed.tolist()], atol=ATOL)
            np.testing.assert_allclose(got, np.sort(probabilities)[::-1][:len(listed)], atol=ATOL)


def test_nbest_lists_every_valid_sequence_when_k_is_larger():
    tags = ["O", "B-a", "I-a"]  # length 2: 9 sequences, 5 BIO-valid (not I-a first, not O I-a)
    emissions, lengths, *crf = random_case(tags, 1.0, 3, np.array([2, 1]))
    decoder = BioDecoder(tags)
    paths, found = decoder.nbest(emissions, lengths, *crf, 8)
    assert found.sum(1).tolist() == [5, 2]
    probabilities = np.exp(decoder.lattice(emissions, lengths, *crf).path_log_probabilities(np.zeros(5, dtype=int), paths[0, :5]))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    assert (np.diff(probabilities) <= 1e-12).all()  # best first


def test_nbest_ties():
    """All scores zero: every valid sequence is equally likely, and any k distinct ones are a right answer."""
    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    n, length = len(tags), 3
    emissions, lengths, zeros = np.zeros((1, length, n)), np.array([length]), np.zeros(n)
    decoder = BioDecoder(tags)
    sequences, _ = brute_force(tags, emissions[0], length, np.zeros((n, n)), zeros, zeros)
    paths, found = decoder.nbest(emissions, lengths, np.zeros((n, n)), zeros, zeros, 5)
    listed = {tuple(p) for p in paths[0, found[0]].tolist()}
    assert len(listed) == 5 and listed <= {tuple(s) for s in sequences.tolist()}
    lattice = decoder.lattice(emissions, lengths, np.zeros((n, n)), zeros, zeros)
    np.testing.assert_allclose(np.exp(lattice.path_log_probabilities(np.zeros(5, dtype=int), paths[0])), 1 / len(sequences))


def test_underflow_fallback_is_exercised(monkeypatch):
    calls = []
    original = marginals_module.logsumexp
    monkeypatch.setattr(marginals_module, "logsumexp", lambda *a, **k: calls.append(1) or original(*a, **k))
    tags = TAG_SETS[2]
    BioDecoder(tags).lattice(*random_case(tags, 1000.0, 0))
    assert len(calls) > 1  # more than the partition function's own log-sum


def test_padded_sentence_scores_equal_alone():
    tags = TAG_SETS[2]
    emissions, lengths, *crf = random_case(tags, 2.0, 5)
    decoder = BioDecoder(tags)
    batched = decoder.lattice(emissions, lengths, *crf).marginals()
    for b, length in enumerate(lengths):
        alone = decoder.lattice(emissions[b:b + 1, :length], lengths[b:b + 1], *crf).marginals()
        np.testing.assert_allclose(batched[b, :length], alone[0], atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_decoder_scores_are_products_of_token_probabilities(seed):
    tags = TAG_SETS[2]
    emissions, lengths, *_ = random_case(tags, 2.0, seed)
    decoder = SoftmaxDecoder()
    lattice = decoder.lattice(emissions, lengths)
    softmax = np.exp(emissions) / np.exp(emissions).sum(2, keepdims=True)
    for b, length in enumerate(lengths):
        np.testing.assert_allclose(lattice.marginals()[b, :length], softmax[b, :length], atol=1e-12)
    path = decoder.decode(emissions, lengths)
    rows = np.arange(len(lengths))
    got = np.exp(lattice.path_log_probabilities(rows, path))
    np.testing.assert_allclose(got, [np.prod(softmax[b, np.arange(n), path[b, :n]]) for b, n in enumerate(lengths)], atol=1e-12)
    for b, length in enumerate(lengths):
        for span in spans([tags[i] for i in path[b, :length]]):
            score = np.exp(lattice.span_log_probabilities(np.array([b]), path[b:b + 1], np.array([span.start]), np.array([span.end])))
            expected = np.prod(softmax[b, np.arange(span.start, span.end), path[b, span.start:span.end]])
            assert score[0] == pytest.approx(expected, abs=1e-12)
    for k in (1, 3, 5):
        paths, found = decoder.nbest(emissions, lengths, k)
        for b, length in enumerate(lengths):
            sequences, probabilities = brute_force(tags, emissions[b], length, np.zeros((5, 5)), np.zeros(5), np.zeros(5), constrained=False)
            listed = paths[b, found[b], :length]
            assert len(listed) == min(k, len(sequences))
            assert listed[0].tolist() == path[b, :length].tolist()
            got = np.exp(lattice.path_log_probabilities(np.full(len(listed), b), paths[b, found[b]]))
            np.testing.assert_allclose(got, np.sort(probabilities)[::-1][:len(listed)], atol=ATOL)
