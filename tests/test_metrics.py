"""slotfill.metrics: span metrics (conlleval's counting), joint intent and classification metrics, worked by hand."""

import pytest

from slotfill.metrics import (
    classification_metrics,
    format_classification_table,
    format_span_table,
    joint_metrics,
    span_metrics,
)

approx = pytest.approx

# Three sentences, 13 tokens.
GOLD = [
    ["B-from", "I-from", "O", "B-to", "O"],  # from(0,2) to(3,4)
    ["O", "B-to", "I-to", "O", "B-date"],  # to(1,3) date(4,5)
    ["B-from", "O", "O"],  # from(0,1)
]
PRED = [
    ["B-from", "I-from", "O", "B-to", "O"],  # all right
    ["O", "B-to", "O", "O", "B-date"],  # to(1,2) is cut short; date right
    ["B-to", "O", "B-date"],  # to(0,1) wrong type, date(2,3) spurious
]
# gold chunks: from 2, to 2, date 1 = 5; predicted: from 1, to 3, date 2 = 6;
# correct: from 1, to 1, date 1 = 3.  Tokens right: 5 + 4 + 1 = 10 of 13.  Sentences right: 1 of 3.


def test_span_metrics_hand_worked():
    m = span_metrics(GOLD, PRED)
    assert m["precision"] == approx(3 / 6)
    assert m["recall"] == approx(3 / 5)
    assert m["f1"] == approx(6 / 11)  # 2 * 0.5 * 0.6 / 1.1
    assert m["token_accuracy"] == approx(10 / 13)
    assert m["sentence_accuracy"] == approx(1 / 3)
    assert list(m["per_label"]) == ["date", "from", "to"]
    assert m["per_label"]["from"] == approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert m["per_label"]["to"] == approx({"precision": 1 / 3, "recall": 0.5, "f1": 0.4, "support": 2})
    assert m["per_label"]["date"] == approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})


def test_span_metrics_conlleval_cross_check():
    # conlleval on this file (token gold pred):
    #   a B-x I-x / b I-x I-x / c O O / d B-y I-y      (sentence 1)
    #   e B-x B-x / f B-x I-x                          (sentence 2)
    #   g B-x B-x / h I-x I-y / i I-x I-x              (sentence 3)
    # Sentence 1: pred I-x after O starts a chunk, so pred chunks x(0,2) y(3,4) equal gold's.
    # Sentence 2: gold B-x B-x is two chunks x(0,1) x(1,2); pred B-x I-x is one chunk x(0,2): none right.
    # Sentence 3: gold x(0,3); pred x(0,1) y(1,2) x(2,3) (the type change splits it): none right.
    # Tokens right: 2 + 1 + 2 = 5 of 9.  x: gold 1+2+1 = 4, found 1+1+2 = 4, correct 1;
    # y: gold 1, found 2 (sentences 1 and 3), correct 1.  conlleval prints:
    #   processed 9 tokens with 5 phrases; found: 6 phrases; correct: 2.
    #   accuracy:  55.56%; precision:  33.33%; recall:  40.00%; FB1:  36.36
    #                 x: precision:  25.00%; recall:  25.00%; FB1:  25.00  4
    #                 y: precision:  50.00%; recall: 100.00%; FB1:  66.67  2
    gold = [["B-x", "I-x", "O", "B-y"], ["B-x", "B-x"], ["B-x", "I-x", "I-x"]]
    pred = [["I-x", "I-x", "O", "I-y"], ["B-x", "I-x"], ["B-x", "I-y", "I-x"]]
    m = span_metrics(gold, pred)
    assert round(100 * m["token_accuracy"], 2) == 55.56
    assert round(100 * m["precision"], 2) == 33.33
    assert round(100 * m["recall"], 2) == 40.00
    assert round(100 * m["f1"], 2) == 36.36
    x, y = m["per_label"]["x"], m["per_label"]["y"]
    assert (round(100 * x["precision"], 2), round(100 * x["recall"], 2), round(100 * x["f1"], 2)) == (25.0, 25.0, 25.0)
    assert (round(100 * y["precision"], 2), round(100 * y["recall"], 2), round(100 * y["f1"], 2)) == (50.0, 100.0, 66.67)
    # support is the gold count (conlleval's last column is the predicted count)
    assert (x["support"], y["support"]) == (4, 1)
    assert m["sentence_accuracy"] == 0.0


def test_span_metrics_f1_is_perfect_when_only_the_prefixes_differ():
    m = span_metrics([["B-x", "I-x", "O", "B-y"]], [["I-x", "I-x", "O", "I-y"]])
    assert (m["precision"], m["recall"], m["f1"]) == (1.0, 1.0, 1.0)
    assert m["token_accuracy"] == 0.5
    assert m["sentence_accuracy"] == 0.0


def test_span_metrics_iobes_predictions():
    m = span_metrics([["B-x", "I-x", "O", "B-y"]], [["B-x", "E-x", "O", "S-y"]])
    assert m["f1"] == 1.0


def test_span_metrics_label_only_predicted():
    m = span_metrics([["O", "O"]], [["B-x", "O"]])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert m["per_label"] == {"x": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}}
    assert m["token_accuracy"] == 0.5


def test_span_metrics_no_chunks_and_no_sentences():
    m = span_metrics([["O", "O"]], [["O", "O"]])
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert m["token_accuracy"] == 1.0 and m["sentence_accuracy"] == 1.0
    assert m["per_label"] == {}
    empty = span_metrics([], [])
    assert empty["f1"] == 0.0 and empty["token_accuracy"] == 0.0 and empty["sentence_accuracy"] == 0.0


def test_span_metrics_sentence_count_mismatch():
    with pytest.raises(ValueError):
        span_metrics(GOLD, PRED[:2])


def test_joint_metrics():
    gold_tags = [["B-x", "O"], ["O", "B-y"], ["B-x", "I-x"]]
    pred_tags = [["B-x", "O"], ["O", "B-y"], ["B-x", "O"]]
    gold_intents = ["flight", "airfare", "flight"]
    pred_intents = ["flight", "flight", "flight"]
    m = joint_metrics(gold_tags, pred_tags, gold_intents, pred_intents)
    assert m["intent_accuracy"] == approx(2 / 3)
    # tags right in sentences 1 and 2, intent right in 1 and 3: both right only in sentence 1
    assert m["sentence_accuracy"] == approx(1 / 3)
    assert span_metrics(gold_tags, pred_tags)["sentence_accuracy"] == approx(2 / 3)
    # the span figures are span_metrics' own: gold x x y, predicted x x(0,1) y, correct 2
    assert m["precision"] == approx(2 / 3) and m["recall"] == approx(2 / 3)
    assert m["token_accuracy"] == approx(5 / 6)


def test_joint_metrics_all_right_and_mismatch():
    m = joint_metrics([["B-x"]], [["B-x"]], ["a"], ["a"])
    assert m["intent_accuracy"] == 1.0 and m["sentence_accuracy"] == 1.0 and m["f1"] == 1.0
    with pytest.raises(ValueError):
        joint_metrics([["B-x"]], [["B-x"]], ["a", "b"], ["a"])


# gold a a a a b b b c c c / pred a a b c b b a c c b
CLS_GOLD = list("aaaabbbccc")
CLS_PRED = list("aabcbbaccb")


def test_classification_metrics_hand_worked():
    m = classification_metrics(CLS_GOLD, CLS_PRED, ["a", "b", "c"])
    assert m["confusion"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    assert m["accuracy"] == approx(0.6)
    # a: P 2/3 R 2/4 F 4/7; b: P 2/4 R 2/3 F 4/7; c: P 2/3 R 2/3 F 2/3
    assert m["per_class"]["a"] == approx({"precision": 2 / 3, "recall": 0.5, "f1": 4 / 7, "support": 4})
    assert m["per_class"]["b"] == approx({"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert m["per_class"]["c"] == approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["macro_f1"] == approx(38 / 63)
    assert m["labels"] == ["a", "b", "c"]
    assert all(type(m["per_class"][k]["support"]) is int for k in "abc")
    assert type(m["accuracy"]) is float and type(m["macro_f1"]) is float


def test_classification_metrics_label_order_and_absent_class():
    m = classification_metrics(CLS_GOLD, CLS_PRED, ["c", "a", "b", "d"])
    assert m["confusion"] == [[2, 0, 1, 0], [1, 2, 1, 0], [0, 1, 2, 0], [0, 0, 0, 0]]
    assert m["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == approx((4 / 7 + 4 / 7 + 2 / 3) / 4)
    assert m["accuracy"] == approx(0.6)


def test_format_span_table():
    table = format_span_table(span_metrics(GOLD, PRED))
    lines = table.splitlines()
    assert lines[0].split() == ["label", "prec", "rec", "f1", "support"]
    assert lines[1].split() == ["date", "50.00", "100.00", "66.67", "1"]
    assert lines[2].split() == ["from", "100.00", "50.00", "66.67", "2"]
    assert lines[3].split() == ["to", "33.33", "50.00", "40.00", "2"]
    assert lines[4].split() == ["overall", "50.00", "60.00", "54.55", "5"]
    assert lines[5] == "token accuracy 76.92   sentence accuracy 33.33"
    assert "intent" not in table


def test_format_span_table_joint():
    m = joint_metrics(GOLD, PRED, ["a", "b", "c"], ["a", "b", "x"])
    table = format_span_table(m)
    assert table.splitlines()[-1] == "token accuracy 76.92   sentence accuracy 33.33   intent accuracy 66.67"


def test_format_classification_table():
    table = format_classification_table(classification_metrics(CLS_GOLD, CLS_PRED, ["a", "b", "c"]))
    lines = table.splitlines()
    assert lines[0].split() == ["class", "prec", "rec", "f1", "support"]
    assert lines[1].split() == ["a", "66.67", "50.00", "57.14", "4"]
    assert lines[2].split() == ["b", "50.00", "66.67", "57.14", "3"]
    assert lines[3].split() == ["c", "66.67", "66.67", "66.67", "3"]
    assert lines[4] == "accuracy 60.00   macro-F1 60.32"
    assert lines[5] == ""
    assert lines[6].split() == ["gold/pred", "a", "b", "c"]
    assert [line.split() for line in lines[7:]] == [["a", "2", "1", "1"], ["b", "1", "2", "0"], ["c", "0", "1", "2"]]


def test_many_classes_get_no_confusion_matrix():
    labels = [f"intent_{k}" for k in range(13)]  # one past MATRIX_CLASSES
    table = format_classification_table(classification_metrics(labels, labels[1:] + labels[:1], labels))
    assert "gold/pred" not in table
    assert table.splitlines()[-1] == "(no confusion matrix for 13 classes: --errors lists the largest confusions, --json holds it)"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_metrics_equal_scikit_learn(seed):
    """The figures scikit-learn gives (zero_division=0), on random labels with a class never predicted
    and one never in the gold labels."""
    import random

    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    rng = random.Random(seed)
    labels = ["a", "b", "c", "d", "e"]
    gold = [rng.choice("abcd") for _ in range(200)]
    predicted = [rng.choice("abce") for _ in range(200)]
    result = classification_metrics(gold, predicted, labels)
    p, r, f, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    assert result["accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    assert result["macro_f1"] == pytest.approx(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))
    assert result["confusion"] == confusion_matrix(gold, predicted, labels=labels).tolist()
    for i, label in enumerate(labels):
        m = result["per_class"][label]
        assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert m["support"] == support[i]
