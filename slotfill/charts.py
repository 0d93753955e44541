"""The report's charts, drawn with matplotlib and returned as inline SVG (text kept as text, no fonts embedded).
matplotlib is an optional dependency (`pip install "slotfill[report]"`), imported when a chart is drawn."""

from __future__ import annotations

import io

from .errors import SlotfillError

WIDTH = 7.5  # inches: the report's column
MAX_LABEL = 40  # characters of a label shown on an axis


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SlotfillError('the report draws its charts with matplotlib: pip install "slotfill[report]"') from None
    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                                "svg.hashsalt": "slotfill"})  # stable ids: the same model gives the same file
    import matplotlib.pyplot as plt

    return plt


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML declaration or doctype


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def curves(history: dict) -> str:
    """Training loss, the dev metrics and the learning rate per epoch; the kept epoch marked."""
    plt = _pyplot()
    epochs = [e["epoch"] for e in history["epochs"]]
    figure, (loss, dev, lr) = plt.subplots(1, 3, figsize=(WIDTH * 1.3, 2.6))
    loss.plot(epochs, [e["loss"] for e in history["epochs"]], marker=".")
    loss.set_title("training loss")
    for name in history["epochs"][0]["dev"]:
        dev.plot(epochs, [100 * e["dev"][name] for e in history["epochs"]], marker=".", label=name.replace("_", " "))
    dev.set_title(f"dev (kept by {history['metric'].replace('_', ' ')})")
    dev.legend(fontsize=7, loc="lower right")
    lr.plot(epochs, [e["lr"] for e in history["epochs"]], marker=".")
    lr.set_yscale("log")
    lr.set_title("learning rate")
    for axis in (loss, dev, lr):
        axis.set_xlabel("epoch")
        if history.get("best_epoch") is not None:
            axis.axvline(history["best_epoch"], color="#c33", linestyle="--", linewidth=1)
    figure.tight_layout()
    return _svg(figure)


def label_bars(per_label: dict[str, dict], title: str) -> str:
    """Precision, recall and F1 of each label as bars, the weakest F1 first, support beside each label."""
    plt = _pyplot()
    labels = sorted(per_label, key=lambda k: (per_label[k]["f1"], -per_label[k]["support"]))
    figure, axis = plt.subplots(figsize=(WIDTH, 0.8 + 0.22 * len(labels)))
    rows = range(len(labels))
    for offset, (name, colour) in zip((-0.27, 0, 0.27), (("precision", "#9ab"), ("recall", "#bca"), ("f1", "#346"))):
        axis.barh([r + offset for r in rows], [100 * per_label[k][name] for k in labels], height=0.26, color=colour, label=name)
    axis.set_yticks(list(rows), [f"{_short(k)} ({per_label[k]['support']})" for k in labels])
    axis.invert_yaxis()
    axis.set_xlim(0, 100)
    axis.set_title(title)
    axis.legend(fontsize=7, loc="lower right", ncols=3)
    return _svg(figure)


def heatmap(labels: list[str], confusion: list[list[int]], title: str) -> str:
    """The confusion matrix (rows gold, columns predicted); counts written in the cells of small matrices."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    size = min(WIDTH + 2, 2.5 + 0.22 * len(labels))
    figure, axis = plt.subplots(figsize=(size, size))
    cells = [[n or float("nan") for n in row] for row in confusion]
    axis.imshow(cells, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(1, max(map(max, confusion)))))
    ticks = range(len(labels))
    axis.set_xticks(list(ticks), [_short(x) for x in labels], rotation=90, fontsize=7)
    axis.set_yticks(list(ticks), [_short(x) for x in labels], fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    axis.set_title(title)
    if len(labels) <= 12:
        for i, row in enumerate(confusion):
            for j, n in enumerate(row):
                if n:
                    axis.text(j, i, str(n), ha="center", va="center", fontsize=7, color="white" if i == j else "black")
    return _svg(figure)


def reliability_diagram(table: dict, title: str) -> str:
    """Accuracy against confidence per bin, the diagonal of perfect calibration, and how many answers each bin holds."""
    plt = _pyplot()
    bins = [b for b in table["bins"] if b["count"]]
    figure, (diagram, counts) = plt.subplots(2, 1, figsize=(4.5, 5), height_ratios=(3, 1), sharex=True)
    diagram.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
    diagram.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["accuracy"] for b in bins], width=0.09, color="#346",
                label="accuracy")
    diagram.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="#c33", markersize=3,
                 label="mean confidence")
    diagram.set_ylabel("accuracy")
    diagram.set_title(f"{title} (ECE {100 * table['ece']:.2f})")
    diagram.legend(fontsize=7, loc="upper left")
    counts.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["count"] for b in bins], width=0.09, color="#9ab")
    counts.set_yscale("log")
    counts.set_xlabel("confidence")
    counts.set_ylabel("answers")
    counts.set_xlim(0, 1)
    return _svg(figure)
