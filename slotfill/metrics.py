"""Evaluation: span P/R/F1 as conlleval counts them, intent accuracy, and classification metrics."""

from __future__ import annotations

from collections import Counter

from .tags import spans


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def span_metrics(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    """conlleval's figures as fractions: overall and per-label P/R/F1, token and sentence accuracy."""
    correct, found_gold, found_pred = Counter(), Counter(), Counter()
    tokens = right_tokens = right_sentences = 0
    for g, p in zip(gold, predicted, strict=True):
        if len(g) != len(p):
            raise ValueError(f"a sentence has {len(g)} gold tags but {len(p)} predicted")
        g_spans, p_spans = set(spans(g)), set(spans(p))
        found_gold.update(s.label for s in g_spans)
        found_pred.update(s.label for s in p_spans)
        correct.update(s.label for s in g_spans & p_spans)
        tokens += len(g)
        right_tokens += sum(a == b for a, b in zip(g, p))
        right_sentences += g == p
    result = _prf(sum(correct.values()), sum(found_pred.values()), sum(found_gold.values()))
    result["token_accuracy"] = right_tokens / tokens if tokens else 0.0
    result["sentence_accuracy"] = right_sentences / len(gold) if gold else 0.0
    result["per_label"] = {
        label: {**_prf(correct[label], found_pred[label], found_gold[label]), "support": found_gold[label]}
        for label in sorted(found_gold.keys() | found_pred.keys())
    }
    return result


def joint_metrics(gold_tags, pred_tags, gold_intents: list[str], pred_intents: list[str]) -> dict:
    """Span metrics plus intent accuracy; sentence accuracy then needs the intent and every tag right."""
    result = span_metrics(gold_tags, pred_tags)
    right_intents = [g == p for g, p in zip(gold_intents, pred_intents, strict=True)]
    result["intent_accuracy"] = sum(right_intents) / len(right_intents) if right_intents else 0.0
    both = [i and g == p for i, g, p in zip(right_intents, gold_tags, pred_tags)]
    result["sentence_accuracy"] = sum(both) / len(both) if both else 0.0
    return result


def classification_metrics(gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Accuracy, macro-F1, per-class P/R/F1 and the confusion matrix (rows gold, columns predicted),
    as scikit-learn computes them with `zero_division=0`; every gold and predicted label is in `labels`."""
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class = {}
    for i, label in enumerate(labels):
        right, support, guessed = confusion[i][i], sum(confusion[i]), sum(row[i] for row in confusion)
        precision = right / guessed if guessed else 0.0
        recall = right / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return {
        "accuracy": sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0,
        "macro_f1": sum(m["f1"] for m in per_class.values()) / len(labels) if labels else 0.0,
        "per_class": per_class,
        "labels": labels,
        "confusion": confusion,
    }


def format_span_table(result: dict) -> str:
    """The per-label table and totals in percent, as `slotfill evaluate` prints them."""
    width = max([len("overall")] + [len(k) for k in result["per_label"]])
    lines = [f"{'label':<{width}}  {'prec':>6}  {'rec':>6}  {'f1':>6}  {'support':>7}"]
    for label, m in result["per_label"].items():
        lines.append(f"{label:<{width}}  {100 * m['precision']:6.2f}  {100 * m['recall']:6.2f}  {100 * m['f1']:6.2f}  {m['support']:7d}")
    support = sum(m["support"] for m in result["per_label"].values())
    lines.append(
        f"{'overall':<{width}}  {100 * result['precision']:6.2f}  {100 * result['recall']:6.2f}  {100 * result['f1']:6.2f}  {support:7d}"
    )
    lines.append(f"token accuracy {100 * result['token_accuracy']:.2f}   sentence accuracy {100 * result['sentence_accuracy']:.2f}")
    if "intent_accuracy" in result:
        lines[-1] += f"   intent accuracy {100 * result['intent_accuracy']:.2f}"
    return "\n".join(lines)


MATRIX_CLASSES = 12  # the most classes whose confusion matrix `evaluate` prints


def format_classification_table(result: dict) -> str:
    """Per-class table, accuracy and macro-F1, then the confusion matrix (up to MATRIX_CLASSES classes)."""
    labels = result["labels"]
    width = max([len("macro avg")] + [len(x) for x in labels])
    lines = [f"{'class':<{width}}  {'prec':>6}  {'rec':>6}  {'f1':>6}  {'support':>7}"]
    for label in labels:
        m = result["per_class"][label]
        lines.append(f"{label:<{width}}  {100 * m['precision']:6.2f}  {100 * m['recall']:6.2f}  {100 * m['f1']:6.2f}  {m['support']:7d}")
    lines.append(f"accuracy {100 * result['accuracy']:.2f}   macro-F1 {100 * result['macro_f1']:.2f}")
    if len(labels) > MATRIX_CLASSES:
        return "\n".join(lines + [f"(no confusion matrix for {len(labels)} classes: --errors lists the largest confusions, --json holds it)"])
    cell = max(7, max(len(x) for x in labels))
    lines.append("")
    lines.append(f"{'gold/pred':<{width}}  " + "  ".join(f"{x:>{cell}}" for x in labels))
    for label, row in zip(labels, result["confusion"]):
        lines.append(f"{label:<{width}}  " + "  ".join(f"{n:>{cell}d}" for n in row))
    return "\n".join(lines)
