"""slotfill.server: `slotfill serve` for real, a subprocess on a free loopback port, every endpoint and bad input over HTTP."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from http.client import HTTPConnection

import httpx
import pytest
from click.testing import CliRunner

from slotfill.cli import main

SENTENCE = "i want to fly from taipei to boston"
REVIEW = "a gripping, funny film with a superb cast"
JSON = {"Content-Type": "application/json"}


def post(http, path: str, body) -> httpx.Response:
    return http.post(path, content=json.dumps(body), headers=JSON)


# ---- the endpoints --------------------------------------------------------------------------------------


def test_health(http, trained_tagger, trained_classifier):
    answer = http.get("/health")
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok"
    tagger, classifier = health["models"]
    assert health["default"] == tagger["name"] == trained_tagger.directory.name
    assert (tagger["task"], tagger["engine"]) == ("tagger", "onnx")  # auto: the model has a model.onnx
    assert tagger["labels"] == sorted({t[2:] for t in trained_tagger.predictor.tags.itos if t != "O"})
    assert "fromloc.city_name" in tagger["labels"]
    assert tagger["intents"] == trained_tagger.predictor.intents.itos
    assert classifier == {**classifier, "name": "reviews", "task": "classifier", "labels": ["negative", "positive"], "intents": None}
    assert health["limits"]["max_texts"] == 1000 and health["limits"]["max_chars"] == 10_000


def test_tag_answers_as_the_cli_prints(http, trained_tagger, same):
    printed = CliRunner().invoke(main, ["tag", "--json", "--model", str(trained_tagger.directory), SENTENCE])
    assert printed.exit_code == 0, printed.output
    answer = post(http, "/tag", {"text": SENTENCE})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    same(answer.json(), json.loads(printed.stdout))
    slots = {(s["text"], s["label"]) for s in answer.json()["slots"]}
    assert {("taipei", "fromloc.city_name"), ("boston", "toloc.city_name")} <= slots


def test_the_server_lists_the_n_best_tag_sequences_a_request_asks_for(http, trained_tagger):
    expected = trained_tagger.predictor.tag(SENTENCE, nbest=3)["nbest"]
    got = post(http, "/tag", {"texts": [SENTENCE, SENTENCE], "nbest": 3}).json()
    for result in got:
        assert [r["tags"] for r in result["nbest"]] == [r["tags"] for r in expected]
        assert [r["probability"] for r in result["nbest"]] == pytest.approx([r["probability"] for r in expected], abs=1e-5)
    assert "nbest" not in post(http, "/tag", {"text": SENTENCE}).json()
    for value in (0, 21, "3", 2.5):
        bad = post(http, "/tag", {"text": SENTENCE, "nbest": value})
        assert bad.status_code == 400 and bad.json() == {"error": f"'nbest' must be an integer from 1 to 20, not {value!r}"}
    assert post(http, "/classify", {"text": REVIEW, "model": "reviews", "nbest": 2}).status_code == 400
    assert post(http, "/model/parse", {"text": SENTENCE, "nbest": 2}).status_code == 400


def test_tag_many_texts_and_named_model(http, trained_tagger, same):
    texts = [SENTENCE, "Show me flights from  San Francisco to DALLAS", "cheapest fare to chicago ✈️", "台北"]
    answer = post(http, "/tag", {"texts": texts, "model": trained_tagger.directory.name})
    assert answer.status_code == 200
    same(answer.json(), trained_tagger.predictor.tag_batch(texts))


def test_classify(http, trained_classifier, same):
    one = post(http, "/classify", {"text": REVIEW, "model": "reviews"})
    assert one.status_code == 200
    same(one.json(), trained_classifier.predictor.classify(REVIEW))
    printed = CliRunner().invoke(main, ["classify", "--json", "--model", str(trained_classifier.directory), REVIEW])
    assert printed.exit_code == 0, printed.output
    same(one.json(), json.loads(printed.stdout))
    texts = [REVIEW, "a tedious adaptation with wooden performances"]
    many = post(http, "/classify", {"texts": texts, "model": "reviews"})
    assert many.status_code == 200
    same(many.json(), trained_classifier.predictor.classify_batch(texts))


def test_model_parse_has_rasas_shape(http, trained_tagger, same):
    tagged = post(http, "/tag", {"text": SENTENCE}).json()
    assert "ranking" not in tagged["intent"]  # /tag answers what `slotfill tag --json` prints
    answer = post(http, "/model/parse", {"text": SENTENCE, "message_id": "abc"})  # Rasa clients send message_id
    assert answer.status_code == 200
    parsed = answer.json()
    assert set(parsed) == {"text", "intent", "intent_ranking", "entities"}
    assert parsed["text"] == SENTENCE
    ranking = trained_tagger.predictor.tag(SENTENCE, ranking=10)["intent"]["ranking"]
    assert len(parsed["intent_ranking"]) == min(10, len(trained_tagger.predictor.intents)) > 1
    assert [r["name"] for r in parsed["intent_ranking"]] == [r["label"] for r in ranking]
    same([r["confidence"] for r in parsed["intent_ranking"]], [r["score"] for r in ranking])
    assert parsed["intent_ranking"][0]["confidence"] >= parsed["intent_ranking"][-1]["confidence"]
    assert parsed["intent"] == {"name": tagged["intent"]["label"], "confidence": tagged["intent"]["score"]}
    assert parsed["intent_ranking"][0] == parsed["intent"]
    assert len(parsed["entities"]) == len(tagged["slots"]) >= 2
    assert all(0 < slot["score"] <= 1 for slot in tagged["slots"])
    for entity, slot in zip(parsed["entities"], tagged["slots"]):
        same(entity, {"entity": slot["label"], "value": slot["text"], "start": slot["start"], "end": slot["end"],
                      "confidence_entity": slot["score"], "extractor": "slotfill"})
        assert SENTENCE[entity["start"]:entity["end"]] == entity["value"]


def test_model_parse_with_a_classifier(http, trained_classifier, same):
    answer = post(http, "/model/parse", {"text": REVIEW, "model": "reviews"})
    assert answer.status_code == 200
    parsed = answer.json()
    scores = trained_classifier.predictor.classify(REVIEW)["scores"]
    best = max(scores, key=scores.get)
    assert parsed["intent"]["name"] == best
    assert [r["name"] for r in parsed["intent_ranking"]] == sorted(scores, key=scores.get, reverse=True)
    same([r["confidence"] for r in parsed["intent_ranking"]], sorted(scores.values(), reverse=True))
    assert parsed["entities"] == []


def test_requests_are_counted_in_batches(http):
    def counted() -> dict:
        return http.get("/health").json()["models"][0]["batches"]

    before = counted()
    post(http, "/tag", {"texts": [SENTENCE] * 3})
    post(http, "/model/parse", {"text": SENTENCE})
    after = counted()
    assert after["texts"] - before["texts"] == 4
    assert 1 <= after["count"] - before["count"] <= 2


@pytest.mark.parametrize("path", ["/tag", "/classify", "/model/parse"])
def test_openapi_describes_each_endpoint(http, path):
    answer = http.get("/openapi.json")
    assert answer.status_code == 200
    operation = answer.json()["paths"][path]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "text" in schema["properties"]
    assert "schema" in operation["responses"]["200"]["content"]["application/json"]
    assert operation["responses"]["4XX"]["content"]["application/json"]["schema"]["required"] == ["error"]


def test_openapi_lists_health(http):
    assert "/health" in http.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("words", ["POST /tag", "POST /classify", "POST /model/parse", "GET /health", "intent_ranking"])
def test_docs_page_names(http, words):
    docs = http.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert words in docs.text


def test_docs_page_is_self_contained(http):
    assert "<script" not in http.get("/docs").text  # no Swagger UI from a CDN


# ---- bad input ------------------------------------------------------------------------------------------

BAD = [
    # (path, body bytes, content type, status, words in the error)
    ("/tag", b"{not json", "application/json", 400, "not valid JSON"),
    ("/tag", b"\xff\xfe{}", "application/json", 400, "not valid JSON"),
    ("/tag", b"[1, 2]", "application/json", 400, "JSON object"),
    ("/tag", b"{}", "application/json", 400, "missing 'text'"),
    ("/tag", b'{"text": 3}', "application/json", 400, "'text' must be a string"),
    ("/tag", b'{"text": null}', "application/json", 400, "'text' must be a string"),
    ("/tag", b'{"text": ""}', "application/json", 400, "'text' is empty"),
    ("/tag", b'{"text": " \\n\\t "}', "application/json", 400, "'text' is empty"),
    ("/tag", b'{"text": "fly \\ud800"}', "application/json", 400, "lone surrogate"),
    ("/tag", b'{"texts": "fly"}', "application/json", 400, "'texts' must be a list"),
    ("/tag", b'{"texts": []}', "application/json", 400, "'texts' is an empty list"),
    ("/tag", b'{"texts": ["fly", 7]}', "application/json", 400, "'texts[1]' must be a string"),
    ("/tag", b'{"texts": ["fly", ""]}', "application/json", 400, "'texts[1]' is empty"),
    ("/tag", json.dumps({"texts": ["fly"] * 1001}).encode(), "application/json", 413, "at most 1000"),
    ("/tag", json.dumps({"text": "a" * 10_001}).encode(), "application/json", 400, "longer than 10000 characters"),
    ("/tag", b'{"text": "fly", "texts": ["fly"]}', "application/json", 400, "not both"),
    ("/tag", b'{"text": "fly", "model": "nothere"}', "application/json", 404, "no model named 'nothere'"),
    ("/tag", b'{"text": "fly", "model": ["x"]}', "application/json", 400, "'model' must be a string"),
    ("/tag", b'{"text": "fly", "model": "reviews"}', "application/json", 400, "is a classifier: use /classify"),
    ("/classify", b'{"text": "fly"}', "application/json", 400, "is a tagger: use /tag"),
    ("/tag", b'{"text": "fly"}', "text/plain", 415, "Content-Type: application/json"),
    ("/tag", b'{"text": "fly"}', "", 415, "Content-Type: application/json"),
    ("/model/parse", b'{"texts": ["fly"]}', "application/json", 400, "missing 'text'"),
    ("/model/parse", b'{"text": "   "}', "application/json", 400, "'text' is empty"),
    ("/model/parse", b'{"text": "fly", "model": "../models"}', "application/json", 404, "no model named"),
]


@pytest.mark.parametrize("path, body, content_type, status, words", BAD, ids=[f"{b[0]}:{b[4]}" for b in BAD])
def test_bad_input(http, server, path, body, content_type, status, words):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = http.post(path, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"error"}
    assert words in answer.json()["error"]
    assert post(http, "/tag", {"text": SENTENCE}).status_code == 200  # and the server goes on serving
    assert server.process.poll() is None


@pytest.mark.parametrize("method, path, status", [("GET", "/nothing", 404), ("GET", "/tag", 405), ("PUT", "/model/parse", 405)])
def test_wrong_endpoint_and_method(http, method, path, status):
    answer = http.request(method, path)
    assert answer.status_code == status
    assert path in answer.json()["error"]


def test_body_too_large_is_refused_before_it_is_read(server):
    """A Content-Length past the largest valid request: 413 at once, the body never sent."""
    host, port = server.url[len("http://"):-1].split(":")
    conn = HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/tag")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", "999999999999")
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 413
        assert json.loads(answer.read())["error"].startswith("the body is larger than")
    finally:
        conn.close()


def test_concurrent_good_and_bad_requests(server, trained_tagger, same):
    """Many clients at once, good and bad mixed: every good one gets its own tags, every bad one a 400."""
    texts = [f"flights from boston to denver number {i}" for i in range(24)]
    sent = [" " if i % 4 == 0 else text for i, text in enumerate(texts)]  # every fourth one empty

    async def all_at_once():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/tag", content=json.dumps({"text": t}), headers=JSON) for t in sent))

    answers = asyncio.run(all_at_once())
    bad = [answer for text, answer in zip(sent, answers) if text == " "]
    assert len(bad) == 6
    assert [(a.status_code, a.json()) for a in bad] == [(400, {"error": "'text' is empty"})] * 6
    good = [(text, answer) for text, answer in zip(sent, answers) if text != " "]
    assert [answer.status_code for _, answer in good] == [200] * 18
    same([answer.json() for _, answer in good], trained_tagger.predictor.tag_batch([text for text, _ in good]))


# ---- starting and stopping ------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_cleanly(trained_tagger, start_server, sig):
    running = start_server(trained_tagger.directory, "--batch-wait-ms", "0")
    assert httpx.post(running.url + "tag", json={"text": SENTENCE}, timeout=30).status_code == 200
    status, stderr = running.stop(sig)
    assert status == 0, stderr
    assert "Traceback" not in stderr and stderr.strip().endswith("stopped")


def corrupt_model(folder):
    folder.mkdir()
    for name in ("config.json", "vocab.json", "weights.pt"):
        (folder / name).write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize("spoil", [lambda folder: None, corrupt_model], ids=["missing", "corrupt"])
def test_missing_or_corrupt_model_stops_at_start(tmp_path, spoil):
    """`slotfill serve` stops with the one-line error `slotfill tag` gives for the same model."""
    directory = tmp_path / "model"
    spoil(directory)
    runner = CliRunner()
    tagged = runner.invoke(main, ["tag", "--model", str(directory), SENTENCE])
    served = runner.invoke(main, ["serve", str(directory), "--port", "0"])
    assert served.exit_code == tagged.exit_code == 1
    assert served.stderr == tagged.stderr and served.stderr.startswith(f"error: {directory}")
    assert len(served.stderr.splitlines()) == 1


@pytest.mark.parametrize("args, words", [
    (["a=DIR", "a=DIR2"], "two models named 'a'"),
    (["bad/name=DIR"], "a model name is letters"),
    (["DIR", "--max-texts", "0"], "must be positive"),
])
def test_bad_serve_arguments(trained_tagger, args, words):
    args = [a.replace("DIR", str(trained_tagger.directory)) for a in args]
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 1 and words in result.stderr


def test_port_in_use(trained_tagger):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", str(trained_tagger.directory), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_server_package_does_not_import_torch():
    code = "import sys, slotfill.server.app, slotfill.server.batching; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
