"""slotfill.report and slotfill.charts: `slotfill report`, its content, its bad input, and the page in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers import CHROMIUM, Browser

from slotfill.cli import main
from slotfill.report import colour


def report(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def relabelled(small_data, tmp_path_factory):
    """The dev sentences with every other sentence's slots named otherwise: errors of known labels to report."""
    lines = small_data.flights_dev.read_text(encoding="utf-8").splitlines()
    for i in range(0, len(lines), 2):
        sentence = json.loads(lines[i])
        for slot in sentence["slots"]:
            slot["label"] = "mislabelled"
        lines[i] = json.dumps(sentence)
    path = tmp_path_factory.mktemp("relabelled") / "dev.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tagger_report(trained_tagger, small_data, relabelled, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "tagger.html"
    status, out, err = report(trained_tagger.directory, relabelled, small_data.flights_train, "-o", path)
    assert status == 0, err
    assert out.startswith(f"wrote {path} (")
    return path


def test_a_tagger_report_holds_card_curves_labels_confusions_errors_and_calibration(tagger_report, trained_tagger, small_data,
                                                                                       relabelled):
    page = tagger_report.read_text(encoding="utf-8")
    for heading in ("Model", "Training", f"On {relabelled}", f"On {small_data.flights_train}", "Slots", "Intents",
                    "Largest confusions", "Errors", "Calibration", "Out of scope"):
        assert f">{heading}<" in page, heading
    assert page.count("% of sentences rejected") == 2  # the fallback's figures on each data set (no out-of-scope gold)
    assert f"{trained_tagger.metrics['parameters']:,}" in page and ">kept epoch<" in page
    # per data set: slot bars, intent bars, intent heat map, reliability diagram; once: the curves
    assert page.count("<svg") == 1 + 2 * 4
    assert "training loss" in page and "learning rate" in page and "intent confusion" in page and "ECE" in page
    for label in ("fromloc.city_name", "toloc.city_name", "mislabelled"):
        assert f"<td>{label}</td>" in page
    assert "<td>mislabelled -&gt; toloc.city_name</td>" in page  # the most frequent wrong labels
    marks = re.findall(r'<mark style="background:([^"]+)">[^<]*<small>([^<]+)</small>', page)
    assert marks and all(background == colour(label) for background, label in marks)  # slots in the page's colours
    assert len(page.encode()) < 3_000_000


def test_span_error_counts_in_the_report_add_up(tagger_report, small_data, relabelled):
    page = tagger_report.read_text(encoding="utf-8")
    section = page[page.index(f">On {relabelled}<"):page.index(f">On {small_data.flights_train}<")]
    counts = dict(re.findall(r"<tr><td>(correct|wrong label|wrong boundary|missed|spurious)</td><td>(\d+)</td></tr>", section))
    gold, predicted = map(int, re.search(r"(\d+) gold spans, (\d+) predicted", section).groups())
    c = {k: int(v) for k, v in counts.items()}
    assert c["wrong label"] > 0
    assert c["correct"] + c["wrong label"] + c["wrong boundary"] + c["missed"] == gold
    assert c["correct"] + c["wrong label"] + c["wrong boundary"] + c["spurious"] == predicted


def test_the_page_has_no_network_reference(tagger_report):
    page = tagger_report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # SVG's url(#id) points inside the page


def test_a_classifier_report_without_metrics_says_why_it_has_no_curves(trained_classifier, small_data, tmp_path):
    model = tmp_path / "classifier"
    shutil.copytree(trained_classifier.directory, model)
    (model / "metrics.json").unlink()
    status, _, err = report(model, small_data.reviews_dev, "-o", tmp_path / "r.html")
    assert status == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No training curves: this model directory has no metrics.json" in page
    assert ">Classes<" in page and "class confusion" in page and "<td>positive</td>" in page and page.count("<svg") == 3


def test_bad_outputs_are_one_line_and_only_reports_are_replaced(trained_tagger, small_data, tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("my notes", encoding="utf-8")
    status, _, err = report(trained_tagger.directory, small_data.flights_dev, "-o", notes)
    assert status == 1 and err == f"error: {notes}: exists and is not a slotfill report: choose another --output or pass --force\n"
    assert notes.read_text(encoding="utf-8") == "my notes"
    assert report(trained_tagger.directory, small_data.flights_dev, "-o", notes, "--force")[0] == 0
    assert report(trained_tagger.directory, small_data.flights_dev, "-o", notes)[0] == 0  # its own report: replaced
    status, _, err = report(trained_tagger.directory, small_data.flights_dev, "-o", notes / "r.html")
    assert status == 1 and err.startswith("error: ") and err.count("\n") == 1 and "Not a directory" in err
    status, _, err = report(tmp_path / "nothing", "-o", tmp_path / "r.html")
    assert status == 1 and "no model directory here" in err and err.count("\n") == 1


def test_without_matplotlib_the_report_says_how_to_install_it(trained_tagger, small_data, tmp_path):
    code = "import sys; sys.modules['matplotlib'] = None; from slotfill.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "report", str(trained_tagger.directory), str(small_data.flights_dev),
                           "-o", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == 'error: the report draws its charts with matplotlib: pip install "slotfill[report]"\n'
    assert not (tmp_path / "r.html").exists()


def test_the_report_renders_offline_in_chromium(tagger_report, tmp_path):
    assert CHROMIUM, "chromium is not installed (.ci/run installs it: apt-get install chromium)"
    browser = Browser(tmp_path / "profile")
    try:
        for domain in ("Network", "Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable")
        browser.open(tagger_report.as_uri())
        requested = [e["params"]["request"]["url"] for e in browser.events if e["method"] == "Network.requestWillBeSent"]
        assert [url for url in requested if not url.startswith("data:")] == [tagger_report.as_uri()]  # the page alone
        problems = [e for e in browser.events if e["method"] in ("Runtime.exceptionThrown", "Log.entryAdded")
                    or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")]
        assert problems == []
        sizes = browser.eval("[...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect().height)")
        assert len(sizes) == 9 and min(sizes) > 100  # every chart laid out
        rows = "[...document.querySelectorAll('table.sortable')][0].tBodies[0].rows"
        f1 = f"[...{rows}].map(r => parseFloat(r.cells[3].textContent))"
        ascending = browser.eval(f1)
        assert ascending == sorted(ascending) and len(ascending) > 3
        browser.eval("document.querySelectorAll('table.sortable')[0].querySelectorAll('th')[3].click()")
        assert browser.eval(f1) == sorted(ascending, reverse=True)  # a click sorts by the column
        order = "[...document.querySelector('.sentences').children].map(d => [+d.dataset.index, +d.dataset.confidence])"
        as_in_data = browser.eval(order)
        assert len(as_in_data) > 3 and as_in_data == sorted(as_in_data)
        browser.eval("document.querySelector('button[data-order=confidence]').click()")
        by_confidence = [c for _, c in browser.eval(order)]
        assert by_confidence == sorted(c for _, c in as_in_data) and by_confidence != [c for _, c in as_in_data]
        browser.eval("document.querySelector('button[data-order=index]').click()")
        assert browser.eval(order) == as_in_data
    finally:
        browser.close()


def test_the_server_serves_each_models_report_behind_its_token(model_copy, small_data, start_server):
    import httpx

    config = json.loads((model_copy / "config.json").read_text())
    config["data"]["test"] = str(small_data.flights_dev)  # the test set the report is made on
    (model_copy / "config.json").write_text(json.dumps(config))
    server = start_server(f"flights={model_copy}", "--token", "s3cret")
    try:
        page = httpx.get(server.url + "report/flights?token=s3cret", timeout=120)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<meta name=generator content="slotfill report">' in page.text and ">Training<" in page.text
        assert f">On {small_data.flights_dev}<" in page.text and page.text.count("<svg") == 5
        again = httpx.get(server.url + "report/flights", headers={"Authorization": "Bearer s3cret"}, timeout=30)
        assert again.text == page.text  # built once
        assert httpx.get(server.url + "report/flights", timeout=30).status_code == 401
        missing = httpx.get(server.url + "report/nope?token=s3cret", timeout=30)
        assert missing.status_code == 404 and missing.json() == {"error": "no report for 'nope' (served: flights)"}
    finally:
        server.stop()
