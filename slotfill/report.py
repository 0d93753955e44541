"""`slotfill report`: one self-contained HTML page about a model: its card, training curves, per-label figures,
confusions, span errors with the sentences marked in place, and the reliability of its confidences.
No network when opened (charts are inline SVG, styles inline); no PyTorch."""

from __future__ import annotations

import html
from pathlib import Path

from . import charts, storage
from .analysis import KINDS
from .errors import SlotfillError
from .predictor import Predictor
from .scope import format_metrics as format_scope
from .tags import spans

GENERATOR = "slotfill report"  # marks a file this command wrote: it may be replaced without --force
SENTENCES = 200  # sentences with errors shown for each data set
STYLE = """body{font:14px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.15rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}th{cursor:pointer;background:#f5f5f5}.note{color:#666}
mark{padding:0 .15rem;border-radius:3px}mark small{font-size:70%;margin-left:.2rem;color:#333}
.sentence{margin:.4rem 0 .9rem}.sentence div{margin-left:1rem}svg{max-width:100%;height:auto}h2{margin-top:2.5rem}"""
SORTING = """for (const table of document.querySelectorAll('table.sortable')) {
  table.querySelectorAll('th').forEach((th, column) => th.addEventListener('click', () => {
    const rows = [...table.tBodies[0].rows], down = th.dataset.down !== '1';
    const key = (r) => { const t = r.cells[column].textContent; return isNaN(parseFloat(t)) ? t : parseFloat(t); };
    rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (down ? -1 : 1));
    th.dataset.down = down ? '1' : '0';
    table.tBodies[0].append(...rows);
  }));
}
for (const button of document.querySelectorAll('button[data-order]')) {
  button.addEventListener('click', () => {
    const list = button.parentElement.nextElementSibling, key = button.dataset.order;
    list.append(...[...list.children].sort((a, b) => a.dataset[key] - b.dataset[key]));
  });
}
document.body.dataset.ready = '1';"""


def colour(label: str) -> str:
    """The page's colour of a slot type (slotfill/server/page.html: the same hash, the same hue)."""
    h = 0
    for c in label:
        h = (h * 31 + ord(c)) & 0xFFFFFFFF
    return f"hsl({h % 360}, 70%, 82%)"


def _esc(value) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list], sortable: bool = True) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{' class=sortable' if sortable else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _marked(tokens: list[str], tags: list[str]) -> str:
    """Tokens with each span highlighted in its label's colour, the label after it."""
    out, at = [], 0
    for span in spans(tags):
        out += [_esc(t) for t in tokens[at:span.start]]
        out.append(f'<mark style="background:{colour(span.label)}">{_esc(" ".join(tokens[span.start:span.end]))}'
                   f"<small>{_esc(span.label)}</small></mark>")
        at = span.end
    return " ".join(out + [_esc(t) for t in tokens[at:]])


def model_card(directory: Path, predictor: Predictor, metrics: dict | None) -> str:
    config = predictor.config
    rows = [["model", str(directory)], ["task", predictor.task], ["engine", predictor.engine],
            ["training data", config.data.train or "-"], ["labels", predictor.describe_labels()],
            ["encoder", f"{config.model.layers} x bidirectional {config.model.cell} {config.model.hidden_size} "
                        f"over {' + '.join(config.model.embeddings)}"]]
    if metrics:
        history = metrics.get("history", {})
        rows += [["parameters", f"{metrics['parameters']:,}" if "parameters" in metrics else "-"],
                 ["training time", f"{metrics.get('train_seconds', 0):.0f} s"],
                 ["kept epoch", f"{history.get('best_epoch')} of {len(history.get('epochs', []))} "
                                f"(dev {history.get('metric', '').replace('_', ' ')} {_pct(history['best'])})" if history.get("best") is not None else "-"]]
        if "test" in metrics:
            rows.append(["test", predictor.summary(metrics["test"])])
    return "<h2>Model</h2>" + _table(["", ""], rows, sortable=False)


def training(metrics: dict | None) -> str:
    if not metrics or not metrics.get("history", {}).get("epochs"):
        why = "this model directory has no metrics.json" if not metrics else "its metrics.json records no epochs"
        return f"<h2>Training</h2><p class=note>No training curves: {why} (models copied without it, or trained by an older version).</p>"
    return "<h2>Training</h2>" + charts.curves(metrics["history"])


def labels_section(per_label: dict, name: str) -> str:
    rows = [[k, _pct(m["precision"]), _pct(m["recall"]), _pct(m["f1"]), m["support"]] for k, m in per_label.items()]
    return (charts.label_bars(per_label, f"{name}: precision, recall and F1 (support)")
            + _table([name, "precision", "recall", "F1", "support"], sorted(rows, key=lambda r: float(r[3]))))


def classes_section(result: dict, name: str) -> str:
    """Per-class figures, the confusion matrix and the largest confusions of a classification result."""
    labels, confusion = result["labels"], result["confusion"]
    mistakes = sorted(((confusion[i][j], g, p) for i, g in enumerate(labels) for j, p in enumerate(labels) if i != j and confusion[i][j]),
                      reverse=True)[:15]
    return (labels_section(result["per_class"], name) + charts.heatmap(labels, confusion, f"{name} confusion")
            + "<h3>Largest confusions</h3>" + _table(["gold", "predicted", "count"], [[g, p, n] for n, g, p in mistakes]))


def errors_section(errors: dict) -> str:
    parts = []
    if "counts" in errors:
        c = errors["counts"]
        parts.append(f"<p>{errors['gold_spans']} gold spans, {errors['predicted_spans']} predicted.</p>")
        parts.append(_table(["kind", "spans"], [[k.replace("_", " "), c[k]] for k in KINDS], sortable=False))
        for kind in KINDS[1:]:
            if errors["top"][kind]:
                parts.append(f"<h4>{kind.replace('_', ' ')}</h4>" + _table(["label", "count"], errors["top"][kind]))
    shown = errors.get("sentences", [])
    parts.append(f"<h3>Sentences with errors ({len(shown)} shown)</h3>"
                 "<p class=note>Order: <button data-order=index>as in the data</button> "
                 "<button data-order=confidence>least confident first</button></p><div class=sentences>")
    for s in shown:
        confidence = s.get("confidence", s.get("score"))
        head = (f'<div class=sentence data-index={s["index"]} data-confidence={1.0 if confidence is None else confidence:.6f}>'
                f'<b>sentence {s["index"] + 1}</b> ')
        shown_confidence = "" if confidence is None else f" · confidence {confidence:.2f}"
        if "tokens" in s:
            kinds = ", ".join(k.replace("_", " ") for k in s["kinds"])
            intent = f" · intent {_esc(s['intent']['gold'])} → {_esc(s['intent']['predicted'])}" if "intent" in s else ""
            parts.append(f'{head}<span class=note>{_esc(kinds)}{intent}{shown_confidence}</span>'
                         f'<div>gold: {_marked(s["tokens"], s["gold_tags"])}</div>'
                         f'<div>predicted: {_marked(s["tokens"], s["predicted_tags"])}</div></div>')
        else:
            parts.append(f'{head}<span class=note>{_esc(s["gold"])} → {_esc(s["predicted"])}{shown_confidence}</span>'
                         f'<div>{_esc(s["text"])}</div></div>')
    return "".join(parts) + "</div>"


def data_section(path: str, predictor: Predictor, sentences: int) -> str:
    result = predictor.evaluate(predictor.read(predictor.config, path), sentences)
    parts = [f"<h2>On {_esc(path)}</h2><p>{_esc(predictor.summary(result))}</p>"]
    if "per_label" in result:
        parts.append("<h3>Slots</h3>" + labels_section(result["per_label"], "slot"))
    classes = result.get("intents") or (result if "per_class" in result else None)
    if classes is not None:
        parts.append("<h3>Intents</h3>" if "intents" in result else "<h3>Classes</h3>")
        parts.append(classes_section(classes, "intent" if "intents" in result else "class"))
    parts.append("<h3>Errors</h3>" + errors_section(result["errors"]))
    if "calibration" in result:
        parts.append("<h3>Calibration</h3>" + charts.reliability_diagram(result["calibration"], "confidence of the top "
                                                                          + ("intent" if "intents" in result else "class")))
    if "scope" in result:
        parts.append(f"<h3>Out of scope</h3><p>{_esc(format_scope(result['scope']).strip())}</p>")
    return "".join(parts)


def render(directory: Path, predictor: Predictor, data: list[str], sentences: int = SENTENCES) -> str:
    """The report's HTML for a loaded model; `data` defaults to the test set its config records."""
    metrics = storage.load_metrics(directory)
    data = data or ([predictor.config.data.test] if predictor.config.data.test else [])
    body = [f"<h1>{_esc(directory.name)}</h1>", model_card(directory, predictor, metrics), training(metrics)]
    body += [data_section(str(path), predictor, sentences) for path in data]
    if not data:
        body.append("<p class=note>No data to analyse: give DATA, or train with data.test set.</p>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><meta name=generator content=\"{GENERATOR}\">"
            f"<title>{_esc(directory.name)}: slotfill report</title><style>{STYLE}</style><body>{''.join(body)}"
            f"<script>{SORTING}</script></body></html>")


def build(directory: str | Path, data: list[str], engine: str = "auto", sentences: int = SENTENCES) -> str:
    """The report's HTML for a model directory; see `render`."""
    from .predict import load

    return render(Path(directory), load(directory, engine), data, sentences)


def served(directory: Path, predictor: Predictor) -> str:
    """The report `slotfill serve` links from its page: on the model's own test set, or a page saying why there is none."""
    try:
        return render(directory, predictor, [])
    except SlotfillError as err:
        return (f"<!doctype html><html lang=en><meta charset=utf-8><title>no report</title><style>{STYLE}</style>"
                f"<body><h1>{_esc(directory.name)}</h1><p>No report: {_esc(err)}</p></body></html>")


def is_report(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return f'<meta name=generator content="{GENERATOR}">' in f.read(400)
    except (OSError, UnicodeDecodeError):
        return False


def write(directory: str | Path, data: list[str], output: str | Path, engine: str = "auto", force: bool = False) -> Path:
    """Write the report to `output` (atomically); an existing file that is not a report is replaced only with `force`."""
    output = Path(output)
    if output.is_file() and output.stat().st_size and not force and not is_report(output):
        raise SlotfillError("exists and is not a slotfill report: choose another --output or pass --force", output)
    text = build(directory, data, engine)
    with storage.writing(output):
        storage.write_atomic(output, text.encode("utf-8"))
    return output

