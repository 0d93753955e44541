"""slotfill.server.app's page at `GET /`: fetched as is, and used in headless Chromium over the DevTools protocol."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import time
import urllib.request

import httpx
import pytest
import websocket

SENTENCE = "i want to fly from taipei to boston"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium page: evaluate JavaScript, type, click, wait."""

    def __init__(self, profile):
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
             "--window-size=1000,700", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port = self._devtools_port(profile / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)

    def _devtools_port(self, announced, seconds: float = 60) -> int:
        """The port chromium picked, from the file it writes in its profile once DevTools listens."""
        deadline = time.monotonic() + seconds
        while not (announced.is_file() and announced.read_text().strip()):
            assert self.process.poll() is None, f"chromium stopped (status {self.process.returncode})"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        return int(announced.read_text().splitlines()[0])

    def send(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                assert "error" not in reply, reply
                return reply["result"]

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 20):
        deadline = time.monotonic() + seconds
        while not (value := self.eval(expression)):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.05)
        return value

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && document.body && document.body.dataset.ready === '1'")

    def type(self, selector: str, text: str) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).value = ''; "
                  f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element."""
        box = self.eval(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect(); "
                        f"return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def close(self) -> None:
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(trained_tagger, trained_classifier, start_server):
    """The session's tiny tagger (the default model) and classifier (named `reviews`) served on a loopback port."""
    running = start_server(trained_tagger.directory, f"reviews={trained_classifier.directory}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    """(a Chromium page showing the server's page, the server)."""
    assert CHROMIUM, "chromium is not installed (.ci/run installs it: apt-get install chromium)"
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open(server.url)
        yield browser, server
    finally:
        browser.close()


MARKS = "JSON.stringify([...document.querySelectorAll('#sentence mark')].map(m => " \
        "[m.firstChild.textContent, m.querySelector('.label').textContent, getComputedStyle(m).backgroundColor]))"


def choose(browser: Browser, model: str) -> None:
    """Pick a model in the page's menu (shown when the server has several)."""
    assert browser.eval("!document.getElementById('model').hidden")
    browser.eval(f"(() => {{ const s = document.getElementById('model'); s.value = {json.dumps(model)}; "
                 "s.dispatchEvent(new Event('change')); })()")


def submit(browser: Browser, text: str) -> None:
    browser.eval("for (const id of ['intent', 'error']) document.getElementById(id).replaceChildren()")
    browser.type("#text", text)
    browser.click("#go")
    browser.wait_for("document.getElementById('intent').textContent !== '' || document.getElementById('error').textContent !== ''")


def test_page_is_self_contained(server):
    answer = httpx.get(server.url, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<textarea" in answer.text and "<button" in answer.text
    assert "://" not in answer.text  # no external font, script or stylesheet
    assert "innerHTML" not in answer.text


def test_slots_are_highlighted_in_place(page, trained_tagger):
    browser, _ = page
    submit(browser, SENTENCE)
    marks = json.loads(browser.eval(MARKS))
    expected = trained_tagger.predictor.tag(SENTENCE)
    assert [(text, label) for text, label, _ in marks] == [(s["text"], s["label"]) for s in expected["slots"]]
    assert ("taipei", "fromloc.city_name") in [(t, l) for t, l, _ in marks]
    assert ("boston", "toloc.city_name") in [(t, l) for t, l, _ in marks]
    colours = {label: colour for _, label, colour in marks}
    assert len(set(colours.values())) == len(colours)  # a colour per slot type
    assert browser.eval("document.getElementById('sentence').textContent.replace(/fromloc.city_name|toloc.city_name/g, '')") \
        == SENTENCE
    intent = browser.eval("document.getElementById('intent').textContent")
    assert expected["intent"]["label"] in intent and f"({expected['intent']['score']:.2f})" in intent


def test_text_is_shown_as_text_never_as_html(page):
    browser, _ = page
    attack = '<img src=x onerror="document.title=\'pwned\'"> fly to boston'
    submit(browser, attack)
    time.sleep(0.2)  # time for an injected onerror to fire, had the text become HTML
    assert browser.eval("document.querySelectorAll('#result img').length") == 0
    assert browser.eval("document.title") == "slotfill"
    shown = browser.eval("[...document.getElementById('sentence').childNodes].map(n => n.nodeType === 3 ? "
                         "n.textContent : n.firstChild.textContent).join('')")
    assert shown == attack


def test_classifier_shows_label_and_a_bar_per_class(page, trained_tagger, trained_classifier):
    browser, _ = page
    choose(browser, "reviews")
    assert browser.eval("document.getElementById('go').textContent") == "Classify"
    review = "a gripping, funny film with a superb cast"
    submit(browser, review)
    expected = trained_classifier.predictor.classify(review)
    assert expected["label"] in browser.eval("document.getElementById('intent').textContent")
    bars = json.loads(browser.eval("JSON.stringify([...document.querySelectorAll('#classes .bar div')].map(d => d.style.width))"))
    widths = sorted(float(w.rstrip("%")) for w in bars)
    assert widths == pytest.approx(sorted(100 * s for s in expected["scores"].values()), abs=0.06)
    choose(browser, trained_tagger.directory.name)


def test_error_is_shown(page):
    browser, _ = page
    submit(browser, "   ")
    assert browser.eval("document.getElementById('error').textContent") == "'text' is empty"


# ---- a server with --token: the page asks once and keeps the token for the session ---------------------

TOKEN = "page-token"


@pytest.fixture(scope="module")
def guarded_page(trained_tagger, start_server, tmp_path_factory):
    running = start_server(trained_tagger.directory, "--token", TOKEN)
    browser = Browser(tmp_path_factory.mktemp("chromium-token-profile"))
    try:
        browser.send("Page.navigate", url=running.url)
        yield browser, running
    finally:
        browser.close()
        running.stop()


def use_token(browser: Browser, token: str) -> None:
    browser.wait_for("document.readyState === 'complete' && document.getElementById('auth') && "
                     "!document.getElementById('auth').hidden")
    browser.type("#token", token)
    browser.click("#use")


def test_page_asks_for_the_token_once(guarded_page, trained_tagger):
    browser, server = guarded_page
    use_token(browser, "not-it")
    browser.wait_for("document.getElementById('error').textContent === 'wrong token'")
    assert not browser.eval("document.getElementById('auth').hidden")
    use_token(browser, TOKEN)
    browser.wait_for("document.body.dataset.ready === '1'")
    assert browser.eval("document.getElementById('auth').hidden")
    assert browser.eval("sessionStorage.getItem('slotfill-token')") == TOKEN
    submit(browser, SENTENCE)
    marks = json.loads(browser.eval(MARKS))
    assert [(t, l) for t, l, _ in marks] == [(s["text"], s["label"]) for s in trained_tagger.predictor.tag(SENTENCE)["slots"]]
    browser.open(server.url)  # a reload of the page: the token is kept, not asked again
    assert browser.eval("document.getElementById('auth').hidden")
    submit(browser, SENTENCE)
    assert browser.eval("document.getElementById('error').textContent") == ""
