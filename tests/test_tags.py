"""slotfill.tags: tag schemes and spans, with chunk boundaries as conlleval draws them (worked by hand)."""

import pytest

from slotfill.tags import Span, bio_from_spans, spans, split_tag, to_bio


def test_split_tag():
    assert split_tag("B-fromloc.city_name") == ("B", "fromloc.city_name")
    assert split_tag("I-toloc.city_name") == ("I", "toloc.city_name")
    assert split_tag("S-x") == ("S", "x")
    assert split_tag("E-x") == ("E", "x")
    assert split_tag("O") == ("O", "")
    # only the first hyphen separates the prefix
    assert split_tag("B-round-trip") == ("B", "round-trip")


@pytest.mark.parametrize("tag", ["X-foo", "B-", "foo", "", "-x", "b-x", "O-x", "o", "B_x", "BI-x"])
def test_bad_tags_raise(tag):
    with pytest.raises(ValueError, match="neither O nor"):
        split_tag(tag)


@pytest.mark.parametrize("tags", [["O", "X-foo"], ["B-", "O"], ["foo"]])
def test_bad_tags_raise_everywhere(tags):
    for func in (to_bio, spans):
        with pytest.raises(ValueError):
            func(tags)


def test_to_bio():
    assert to_bio(["S-a", "O", "B-b", "I-b", "E-b", "B-c", "E-c"]) == ["B-a", "O", "B-b", "I-b", "I-b", "B-c", "I-c"]
    assert to_bio(["B-x", "I-x", "O"]) == ["B-x", "I-x", "O"]
    assert to_bio([]) == []


def test_simple_spans():
    tags = ["O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name"]
    assert spans(tags) == [Span("fromloc.city_name", 1, 3), Span("toloc.city_name", 4, 5)]
    assert spans(["O", "O"]) == []
    assert spans([]) == []


def test_span_at_the_end_is_closed():
    assert spans(["O", "B-x", "I-x"]) == [Span("x", 1, 3)]


def test_i_without_b_starts_a_chunk():
    # conlleval: O followed by I-x starts a chunk (and so does I-x as the first tag)
    assert spans(["I-x", "I-x", "O"]) == [Span("x", 0, 2)]
    assert spans(["O", "I-x", "O", "I-x", "I-x"]) == [Span("x", 1, 2), Span("x", 3, 5)]


def test_adjacent_spans_of_one_type_are_two_chunks():
    assert spans(["B-x", "B-x"]) == [Span("x", 0, 1), Span("x", 1, 2)]
    assert spans(["B-x", "I-x", "B-x", "I-x"]) == [Span("x", 0, 2), Span("x", 2, 4)]


def test_type_change_inside_a_span_is_two_chunks():
    assert spans(["B-x", "I-y"]) == [Span("x", 0, 1), Span("y", 1, 2)]
    assert spans(["B-x", "I-x", "I-y", "I-y", "O"]) == [Span("x", 0, 2), Span("y", 2, 4)]
    assert spans(["I-x", "I-y", "I-x"]) == [Span("x", 0, 1), Span("y", 1, 2), Span("x", 2, 3)]


def test_iobes_input():
    tags = ["S-a", "B-b", "I-b", "E-b", "O", "S-a", "S-a", "B-c", "E-c"]
    assert spans(tags) == [
        Span("a", 0, 1),
        Span("b", 1, 4),
        Span("a", 5, 6),
        Span("a", 6, 7),
        Span("c", 7, 9),
    ]
    # an IOBES sequence and its BIO form give the same chunks
    assert spans(tags) == spans(to_bio(tags))


def test_bio_from_spans():
    found = [Span("toloc.city_name", 3, 5), Span("fromloc.city_name", 0, 1)]
    assert bio_from_spans(6, found) == [
        "B-fromloc.city_name",
        "O",
        "O",
        "B-toloc.city_name",
        "I-toloc.city_name",
        "O",
    ]
    assert bio_from_spans(3, []) == ["O", "O", "O"]
    assert bio_from_spans(0, []) == []


def test_bio_from_spans_adjacent_same_label():
    tags = bio_from_spans(3, [Span("x", 0, 1), Span("x", 1, 3)])
    assert tags == ["B-x", "B-x", "I-x"]
    assert spans(tags) == [Span("x", 0, 1), Span("x", 1, 3)]


def test_bio_from_spans_round_trip():
    tags = ["O", "B-a", "I-a", "B-a", "B-b", "I-b", "I-b", "O", "B-c"]
    assert bio_from_spans(len(tags), spans(tags)) == tags


@pytest.mark.parametrize(
    "found",
    [
        [Span("a", 0, 2), Span("b", 1, 3)],
        [Span("a", 0, 3), Span("b", 1, 2)],
        [Span("a", 1, 2), Span("a", 1, 2)],
        [Span("b", 2, 4), Span("a", 0, 3)],
    ],
)
def test_bio_from_spans_overlap_error(found):
    with pytest.raises(ValueError, match="overlaps"):
        bio_from_spans(4, found)
