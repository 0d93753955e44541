"""slotfill.server.app's page at `GET /`: fetched as is, and used in headless Chromium over the DevTools protocol."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from helpers import CHROMIUM, Browser

SENTENCE = "i want to fly from taipei to boston"
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


def test_the_page_links_the_models_report(page, trained_tagger):
    browser, server = page
    href = browser.eval("document.querySelector('#about a').getAttribute('href')")
    assert href == f"report/{trained_tagger.directory.name}"
    assert httpx.get(server.url + href, timeout=120).text.startswith("<!doctype html>")


def test_slots_are_highlighted_in_place(page, trained_tagger):
    browser, _ = page
    submit(browser, SENTENCE)
    marks = json.loads(browser.eval(MARKS))
    expected = trained_tagger.predictor.tag(SENTENCE)
    assert [(text, label) for text, label, _ in marks] == [(s["text"], s["label"]) for s in expected["slots"]]
    assert ("taipei", "fromloc.city_name") in [(t, l) for t, l, _ in marks]
    assert ("boston", "toloc.city_name") in [(t, l) for t, l, _ in marks]
    shown = browser.eval("[...document.querySelectorAll('#sentence mark .label')].map(l => "
                         "getComputedStyle(l, '::after').content)")
    assert shown == [f'"{s["score"]:.2f}"' for s in expected["slots"]]  # each slot's probability, drawn after its label
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


# ---- a server that always falls back (--threshold 1): the page says so, and what the model thought ----------


@pytest.fixture(scope="module")
def fallback_page(trained_tagger, trained_classifier, start_server, tmp_path_factory):
    running = start_server(trained_tagger.directory, f"reviews={trained_classifier.directory}", "--threshold", "1")
    browser = Browser(tmp_path_factory.mktemp("chromium-fallback-profile"))
    try:
        browser.open(running.url)
        yield browser
    finally:
        browser.close()
        running.stop()


def test_the_fallback_is_shown_with_the_models_guess(fallback_page, trained_tagger, trained_classifier):
    from slotfill.fallback import Fallback

    browser = fallback_page
    submit(browser, SENTENCE)
    guess = trained_tagger.predictor.tag(SENTENCE, fallback=Fallback())
    intent = browser.eval("document.getElementById('intent').textContent")
    assert intent.startswith("intent nlu_fallback (1.00)")
    assert browser.eval("document.querySelector('#intent .fallback').textContent") == \
        f" · not understood (low confidence); best guess {guess['intent']['label']} ({guess['intent']['score']:.2f})"
    assert [m[:2] for m in json.loads(browser.eval(MARKS))] == [[s["text"], s["label"]] for s in guess["slots"]]  # slots stay
    choose(browser, "reviews")
    review = "a gripping, funny film with a superb cast"
    submit(browser, review)
    model = trained_classifier.predictor.classify(review, Fallback())
    assert browser.eval("document.getElementById('intent').textContent") == \
        f"label nlu_fallback (1.00) · not understood (low confidence); best guess {model['label']} ({model['scores'][model['label']]:.2f})"
    best = browser.eval("[...document.querySelectorAll('#classes .best')].map(e => e.textContent)")
    assert best[0] == model["label"]  # the bars still mark the model's best class
