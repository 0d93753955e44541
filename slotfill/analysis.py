"""Where a model fails: span errors by kind, the largest confusions, reliability of confidences (no PyTorch).

Span errors are counted as the error-analysis literature counts them. Each gold span and each predicted span
falls in exactly one kind, taken in this order within a sentence: correct (same label and boundaries), wrong
label (same boundaries), wrong boundary (same label, overlapping), then missed (a gold span left over) and
spurious (a predicted span left over). So correct + wrong label + wrong boundary + missed = gold spans, and
correct + wrong label + wrong boundary + spurious = predicted spans.
"""

from __future__ import annotations

from collections import Counter

from .tags import Span, spans

KINDS = ("correct", "wrong_label", "wrong_boundary", "missed", "spurious")
TOP = 10  # label pairs listed for each kind


def _pair(gold: list[Span], pred: list[Span], same) -> list[tuple[Span, Span]]:
    """Greedy pairs (gold, predicted) for which `same` holds; paired spans leave both lists."""
    pairs = []
    for g in list(gold):
        match = next((p for p in pred if same(g, p)), None)
        if match is not None:
            pairs.append((g, match))
            gold.remove(g)
            pred.remove(match)
    return pairs


def sentence_errors(gold_tags: list[str], pred_tags: list[str]) -> dict[str, list]:
    """One sentence's spans by kind: pairs (gold, predicted) for the first three kinds, spans for the last two."""
    gold, pred = spans(gold_tags), spans(pred_tags)
    found = {
        "correct": _pair(gold, pred, lambda g, p: g == p),
        "wrong_label": _pair(gold, pred, lambda g, p: (g.start, g.end) == (p.start, p.end)),
        "wrong_boundary": _pair(gold, pred, lambda g, p: g.label == p.label and g.start < p.end and p.start < g.end),
    }
    return {**found, "missed": gold, "spurious": pred}


def _label_of(kind: str, item) -> str:
    if kind == "wrong_label":
        return f"{item[0].label} -> {item[1].label}"
    return item.label if isinstance(item, Span) else item[0].label


def marked(tokens: list[str], tags: list[str]) -> str:
    """The tokens with each span in brackets followed by its label: `fly to [new york]toloc.city_name`."""
    out = list(tokens)
    for span in spans(tags):
        out[span.start] = "[" + out[span.start]
        out[span.end - 1] = f"{out[span.end - 1]}]{span.label}"
    return " ".join(out)


def span_errors(tokens: list[list[str]], gold_tags: list[list[str]], pred_tags: list[list[str]],
                examples: int = 10, intents: tuple[list[str], list[str]] | None = None,
                confidences: list[float | None] | None = None) -> dict:
    """Counts by kind, the most frequent labels (label pairs for wrong labels) of each kind, and up to
    `examples` sentences with an error, gold and predicted marked (`intents`: gold and predicted intents;
    `confidences`: each sentence's lowest slot score, shown with it)."""
    counts: Counter = Counter()
    labels = {kind: Counter() for kind in KINDS[1:]}
    shown = []
    for i, (words, gold, pred) in enumerate(zip(tokens, gold_tags, pred_tags, strict=True)):
        found = sentence_errors(gold, pred)
        for kind, items in found.items():
            counts[kind] += len(items)
            if kind != "correct":
                labels[kind].update(_label_of(kind, item) for item in items)
        wrong_intent = intents is not None and intents[0][i] != intents[1][i]
        if len(shown) < examples and (wrong_intent or any(found[kind] for kind in KINDS[1:])):
            entry = {"index": i, "gold": marked(words, gold), "predicted": marked(words, pred),
                     "tokens": words, "gold_tags": gold, "predicted_tags": pred,
                     "kinds": [kind for kind in KINDS[1:] if found[kind]] + (["wrong_intent"] if wrong_intent else [])}
            if wrong_intent:
                entry["intent"] = {"gold": intents[0][i], "predicted": intents[1][i]}
            if confidences is not None:
                entry["confidence"] = confidences[i]
            shown.append(entry)
    return {
        "counts": {kind: counts[kind] for kind in KINDS},
        "gold_spans": sum(counts[k] for k in KINDS if k != "spurious"),
        "predicted_spans": sum(counts[k] for k in KINDS if k != "missed"),
        "top": {kind: labels[kind].most_common(TOP) for kind in KINDS[1:]},
        "sentences": shown,
    }


def confusions(gold: list[str], predicted: list[str], top: int = TOP) -> list[tuple[str, str, int]]:
    """The most frequent (gold, predicted, count) mistakes."""
    return [(g, p, n) for (g, p), n in Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p).most_common(top)]


def reliability(confidences: list[float], correct: list[bool], bins: int = 10) -> dict:
    """Reliability of top-label confidences: per equal-width bin the count, mean confidence and accuracy,
    and the expected calibration error (the count-weighted mean gap)."""
    rows = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in zip(confidences, correct, strict=True) if low < c <= high or (b == 0 and c == 0)]
        rows.append({"low": low, "high": high, "count": len(inside),
                     "confidence": sum(c for c, _ in inside) / len(inside) if inside else None,
                     "accuracy": sum(ok for _, ok in inside) / len(inside) if inside else None})
    total = len(confidences)
    ece = sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows if r["count"]) / total if total else 0.0
    return {"bins": rows, "ece": ece}


def format_errors(errors: dict) -> str:
    """The analysis as `slotfill evaluate --errors` prints it."""
    lines = []
    if "counts" in errors:
        c = errors["counts"]
        lines.append(f"spans: {errors['gold_spans']} gold, {errors['predicted_spans']} predicted; " +
                     ", ".join(f"{kind.replace('_', ' ')} {c[kind]}" for kind in KINDS))
        for kind in KINDS[1:]:
            if errors["top"][kind]:
                lines.append(f"  {kind.replace('_', ' ')}: " + ", ".join(f"{label} ({n})" for label, n in errors["top"][kind]))
    if errors.get("confusions"):
        lines.append("confused (gold -> predicted): " + ", ".join(f"{g} -> {p} ({n})" for g, p, n in errors["confusions"]))
    for s in errors.get("sentences", []):
        lines.append(f"sentence {s['index'] + 1}" + (f" ({', '.join(k.replace('_', ' ') for k in s['kinds'])})" if s.get("kinds") else ""))
        if "intent" in s:
            lines.append(f"  intent     {s['intent']['gold']} -> {s['intent']['predicted']}")
        if "text" in s:
            lines.append(f"  text       {s['text']}")
        lines.append(f"  gold       {s['gold']}")
        lines.append(f"  predicted  {s['predicted']}")
    return "\n".join(lines)
