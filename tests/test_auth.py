"""slotfill.server.auth: `slotfill serve --token` over real HTTP: every API route asks for the token (header, query,
JSON body as Rasa's HTTP interpreter sends it), the page, docs and a bare /health stay public."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from click.testing import CliRunner

from slotfill.cli import main

TOKEN = "s3cret-Tök3n"
SENTENCE = "i want to fly from taipei to boston"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(trained_tagger, trained_classifier, start_server):
    """The tiny tagger and classifier (`reviews`), with a token given through SLOTFILL_TOKEN, reloads allowed."""
    running = start_server(trained_tagger.directory, f"reviews={trained_classifier.directory}", "--allow-reload",
                           env={"SLOTFILL_TOKEN": TOKEN})
    yield running
    running.stop()


def rasa_interpreter_request(http: httpx.Client, token: str | None) -> httpx.Response:
    """What Rasa's RasaNLUHttpInterpreter sends: aiohttp's `session.post(url + "/model/parse", json=params)` with
    params {"token": endpoint token or None, "text": ..., "message_id": None}."""
    params = {"token": token, "text": SENTENCE, "message_id": None}
    return http.post("/model/parse", content=json.dumps(params).encode(), headers={"Content-Type": "application/json"})


def test_rasa_http_interpreter_with_a_token(http, trained_tagger):
    answer = rasa_interpreter_request(http, TOKEN)
    assert answer.status_code == 200, answer.text
    parsed = answer.json()
    assert set(parsed) == {"text", "intent", "intent_ranking", "entities"}
    assert parsed["intent"]["name"] == trained_tagger.predictor.tag(SENTENCE)["intent"]["label"]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_rasa_http_interpreter_without_the_token(http, token):
    answer = rasa_interpreter_request(http, token)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert set(answer.json()) == {"error"}


def test_rasa_http_interpreter_on_a_server_without_token(trained_tagger, start_server):
    running = start_server(trained_tagger.directory)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            answer = rasa_interpreter_request(client, None)  # an endpoint config with no token sends "token": null
        assert answer.status_code == 200 and answer.json()["text"] == SENTENCE
    finally:
        running.stop()


WAYS = {  # how a request can carry the token: (extra headers, query, body fields)
    "header": ({"Authorization": f"Bearer {TOKEN}".encode()}, {}, {}),  # UTF-8, as curl sends it
    "scheme in lower case": ({"Authorization": f"bearer {TOKEN}".encode()}, {}, {}),
    "query": ({}, {"token": TOKEN}, {}),
    "body": ({}, {}, {"token": TOKEN}),
}
ROUTES = [("/tag", {"text": SENTENCE}), ("/classify", {"text": "a fine film", "model": "reviews"}),
          ("/model/parse", {"text": SENTENCE})]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("path, body", ROUTES, ids=[r[0] for r in ROUTES])
def test_each_way_of_sending_the_token(http, way, path, body):
    headers, query, fields = WAYS[way]
    answer = http.post(path, params=query, content=json.dumps({**body, **fields}), headers={**JSON, **headers})
    assert answer.status_code == 200, answer.text


REFUSED = {  # (headers, query, body fields, words in the error)
    "none": ({}, {}, {}, "needs a token"),
    "null in the body": ({}, {}, {"token": None}, "needs a token"),
    "wrong header": ({"Authorization": "Bearer nope"}, {}, {}, "wrong token"),
    "bare scheme": ({"Authorization": "Bearer"}, {}, {}, "wrong token"),
    "longer header": ({"Authorization": f"Bearer {TOKEN}x".encode()}, {}, {}, "wrong token"),
    "other scheme": ({"Authorization": f"Basic {TOKEN}".encode()}, {}, {}, "Authorization: Bearer"),
    "lone surrogate in the body": ({}, {}, {"token": "\ud800"}, "wrong token"),
    "wrong query": ({}, {"token": "nope"}, {}, "wrong token"),
    "wrong body": ({}, {}, {"token": "nope"}, "wrong token"),
    "number in the body": ({}, {}, {"token": 12}, "wrong token"),
    "wrong header, right body": ({"Authorization": "Bearer nope"}, {}, {"token": TOKEN}, "wrong token"),
}


@pytest.mark.parametrize("case", REFUSED)
@pytest.mark.parametrize("path, body", ROUTES, ids=[r[0] for r in ROUTES])
def test_missing_or_wrong_token_is_refused(http, server, case, path, body):
    headers, query, fields, words = REFUSED[case]
    answer = http.post(path, params=query, content=json.dumps({**body, **fields}), headers={**JSON, **headers})
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"error"} and words in answer.json()["error"]
    assert TOKEN not in answer.text
    assert server.process.poll() is None


def test_a_wrong_header_token_is_refused_before_the_body_is_read(server):
    """An announced body past the limit is not even waited for: the token is checked first."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post("/tag", content=b"{}", headers={**JSON, "Authorization": "Bearer nope",
                                                             "Content-Length": "2"})
    assert answer.status_code == 401


def test_reload_asks_for_the_token(http, trained_tagger):
    name = trained_tagger.directory.name
    assert http.post(f"/models/{name}/reload").status_code == 401
    answer = http.post(f"/models/{name}/reload", headers={"Authorization": f"Bearer {TOKEN}".encode()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reloaded"] == answer.json()["workers"] == 1


def test_health_is_public_but_says_little_without_the_token(http, trained_tagger):
    assert http.get("/health").json() == {"status": "ok", "auth": True}
    full = http.get("/health", headers={"Authorization": f"Bearer {TOKEN}".encode()}).json()
    assert full["auth"] is True and full["default"] == trained_tagger.directory.name
    assert http.get("/health", params={"token": TOKEN}).json()["models"] == full["models"]
    assert http.get("/health", params={"token": "nope"}).status_code == 401


@pytest.mark.parametrize("path", ["/", "/docs", "/openapi.json"])
def test_page_and_docs_stay_public(http, path):
    assert http.get(path).status_code == 200


def test_the_token_is_never_logged(server, trained_tagger, start_server):
    running = start_server(trained_tagger.directory, "--token", TOKEN)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        client.post("/tag", params={"token": "wrong"}, content=json.dumps({"text": SENTENCE}), headers=JSON)
        client.post("/tag", params={"token": TOKEN}, content=json.dumps({"text": SENTENCE}), headers=JSON)
    status, stderr = running.stop()
    assert status == 0 and TOKEN not in stderr and "wrong" not in stderr


def first_lines(slotfill, *args, seconds: float = 60) -> tuple[str, str]:
    """(the start line, standard error) of `slotfill serve ARGS --port 0`, stopped once it has started."""
    process = subprocess.Popen([str(slotfill), "serve", *map(str, args), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        process.terminate()
        _, stderr = process.communicate(timeout=seconds)
    finally:
        process.kill()
    return line, stderr


def test_an_open_address_without_token_is_warned_about(trained_tagger, slotfill_script):
    line, stderr = first_lines(slotfill_script, trained_tagger.directory, "--host", "0.0.0.0")
    assert line.startswith("serving ") and "http://0.0.0.0:" in line
    warnings = [w for w in stderr.splitlines() if w.startswith("warning:")]
    assert len(warnings) == 1 and "--token" in warnings[0] and "0.0.0.0" in warnings[0]


@pytest.mark.parametrize("args", [["--host", "0.0.0.0", "--token", TOKEN], ["--host", "127.0.0.1"]], ids=["token", "loopback"])
def test_no_warning_with_a_token_or_on_loopback(trained_tagger, slotfill_script, args):
    line, stderr = first_lines(slotfill_script, trained_tagger.directory, *args)
    assert line.startswith("serving ") and "warning" not in stderr


@pytest.mark.parametrize("args, env, words", [
    (["--token", ""], {}, "--token (or SLOTFILL_TOKEN) is empty"),
    (["--token", "  "], {}, "--token (or SLOTFILL_TOKEN) is empty"),
    ([], {"SLOTFILL_TOKEN": ""}, "--token (or SLOTFILL_TOKEN) is empty"),
    (["--workers", "0"], {}, "--workers must be 1 or more, not 0"),
    (["--workers", "-2"], {}, "--workers must be 1 or more, not -2"),
])
def test_bad_token_or_workers_is_a_one_line_error(trained_tagger, args, env, words):
    result = CliRunner().invoke(main, ["serve", str(trained_tagger.directory), "--port", "0", *args], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {words}") and len(result.stderr.splitlines()) == 1
