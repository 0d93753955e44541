"""slotfill.server.workers and .reload: `slotfill serve --workers N`, model reloads (HTTP and SIGHUP) and the
graceful stop, for real: server subprocesses, HTTP over loopback, model directories replaced on disk."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SENTENCES = ["i want to fly from taipei to boston", "show me flights from dallas to denver",
             "what is the cheapest fare to chicago", "list flights from boston to atlanta on monday"]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def other_tagger(tmp_path_factory, tagger_overrides, small_data):
    """A second tiny tagger (2 epochs, not 10): the same labels, other answers."""
    from slotfill.config import load_config
    from slotfill.nn.training import train

    directory = tmp_path_factory.mktemp("other-tagger") / "tagger"
    predictor, _ = train(load_config(Path(__file__).parent.parent / "configs" / "flights.toml",
                                     tagger_overrides(small_data.flights_train, small_data.flights_dev, epochs=2)), directory)
    return directory, predictor


def replace_model(target: Path, source: Path) -> None:
    """Put the model of `source` in `target`, file by file, as an operator would."""
    for path in source.iterdir():
        shutil.copy2(path, target / path.name)


def tag(client: httpx.Client, texts: list[str]) -> list[dict]:
    answer = client.post("/tag", content=json.dumps({"texts": texts}), headers=JSON)
    assert answer.status_code == 200, answer.text
    return answer.json()


def fresh_health(url: str) -> dict:
    """/health on a new connection (so that any worker may answer)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.get("/health").json()


def every_worker(url: str, workers: int) -> dict[int, dict]:
    """/health of each worker, by pid: asked on new connections until every worker has answered."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + 60
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        health = fresh_health(url)
        seen[health["worker"]] = health
    return seen


# ---- load: keep-alive clients recording every request ---------------------------------------------------


@dataclass
class Sent:
    connected: float  # when its connection was established
    sent: float  # when the whole request had been written
    status: int | None = None  # None: no answer
    answered: float | None = None
    error: str = ""


@dataclass
class Load:
    requests: list[Sent] = field(default_factory=list)

    def failed(self, before: float = float("inf")) -> list[Sent]:
        """Requests sent on an established connection before `before` that got no 200."""
        return [r for r in self.requests if r.sent < before and r.status != 200]


async def _client(port: int, body: bytes, until: float, load: Load) -> None:
    reader = writer = None
    connected = 0.0
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                connected = time.monotonic()
        except OSError:  # refused: the server has stopped listening
            await asyncio.sleep(0.01)
            continue
        writer.write(b"POST /model/parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        record = Sent(connected, 0.0)
        load.requests.append(record)
        try:
            await writer.drain()
            record.sent = time.monotonic()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            record.status, record.answered = int(head[9:12]), time.monotonic()
            if b"connection: close" in head.lower():
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError) as err:
            record.sent = record.sent or time.monotonic()
            record.error = repr(err)
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _drive(url: str, seconds: float, clients: int, during) -> Load:
    """`clients` keep-alive clients on /model/parse for `seconds`, `during(loop)` started in a thread meanwhile."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    load, until = Load(), time.monotonic() + seconds
    body = json.dumps({"text": SENTENCES[0]}).encode()
    side = asyncio.get_running_loop().run_in_executor(None, during)
    await asyncio.gather(*(_client(port, body, until, load) for _ in range(clients)), side)
    return load


def under_load(url: str, seconds: float, during, clients: int = 8) -> Load:
    return asyncio.run(_drive(url, seconds, clients, during))


# ---- workers --------------------------------------------------------------------------------------------


def test_workers_share_the_port_and_stop_together(trained_tagger, start_server, same):
    running = start_server(trained_tagger.directory, "--workers", "2")
    health = every_worker(running.url, 2)
    assert running.process.pid not in health and all(h["workers"] == 2 for h in health.values())
    with httpx.Client(base_url=running.url, timeout=30) as client:
        same(tag(client, SENTENCES), trained_tagger.predictor.tag_batch(SENTENCES))
    status, stderr = running.stop()
    assert status == 0 and stderr.strip().endswith("stopped") and "Traceback" not in stderr
    for pid in health:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_model_that_does_not_load_stops_the_workers_at_start(tmp_path, run_slotfill):
    """With workers, the same one-line error as `slotfill tag` gives, and no process left behind."""
    missing = tmp_path / "missing"
    served = run_slotfill("serve", missing, "--workers", "2", "--port", "0")
    tagged = run_slotfill("tag", "--model", missing, "fly to boston")
    assert served.returncode == tagged.returncode == 1
    assert served.stderr == tagged.stderr and len(served.stderr.splitlines()) == 1
    assert served.stdout == b""


def test_a_worker_that_dies_is_replaced(trained_tagger, start_server):
    running = start_server(trained_tagger.directory, "--workers", "2")
    first = set(every_worker(running.url, 2))
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        pids = set(every_worker(running.url, 2))
        if victim not in pids and len(pids - first) == 1:
            break
        assert time.monotonic() < deadline, pids
    status, stderr = running.stop()
    assert status == 0 and f"pid {victim}) exited with status -9; starting another" in stderr


# ---- reloads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_reload_serves_the_new_model_in_every_worker(model_copy, other_tagger, trained_tagger, start_server, same, workers):
    running = start_server(f"flights={model_copy}", "--workers", workers, "--allow-reload")
    before = every_worker(running.url, workers)
    replace_model(model_copy, other_tagger[0])
    with httpx.Client(base_url=running.url, timeout=60) as client:
        answer = client.post("/models/flights/reload")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"model": "flights", "task": "tagger", "engine": "onnx", "generation": 1,
                                 "workers": workers, "reloaded": workers}
    for pid, health in every_worker(running.url, workers).items():
        assert health["models"][0]["reloads"] == 1 and health["models"][0]["loaded_at"] > before[pid]["models"][0]["loaded_at"]
    expected = other_tagger[1].tag_batch(SENTENCES)
    assert expected != trained_tagger.predictor.tag_batch(SENTENCES)
    for _ in range(4 * workers):  # new connections: every worker answers with the new model
        with httpx.Client(base_url=running.url, timeout=30) as client:
            same(tag(client, SENTENCES), expected)
    running.stop()


def spoil_onnx(directory: Path, _classifier: Path | None = None) -> None:
    (directory / "model.onnx").write_bytes(b"not an onnx model")


def spoil_config(directory: Path, _classifier: Path | None = None) -> None:
    (directory / "config.json").write_text("{not json", encoding="utf-8")


def remove(directory: Path, _classifier: Path) -> None:
    shutil.rmtree(directory)


def give_a_classifier(directory: Path, classifier: Path) -> None:
    for path in directory.iterdir():
        path.unlink()
    replace_model(directory, classifier)


@pytest.mark.parametrize("engine, spoil, status, words", [
    ("auto", spoil_config, 422, "config.json: corrupt model file"),
    ("onnx", spoil_onnx, 422, "not a valid ONNX model"),
    ("auto", remove, 422, "cannot reload 'flights'"),
    ("auto", give_a_classifier, 409, "holds a classifier"),
], ids=["corrupt", "corrupt onnx", "gone", "other task"])
def test_a_broken_model_is_refused_and_the_old_one_serves_on(model_copy, trained_tagger, trained_classifier, start_server,
                                                             same, engine, spoil, status, words):
    running = start_server(f"flights={model_copy}", "--workers", "2", "--allow-reload", "--engine", engine)
    spoil(model_copy, trained_classifier.directory)
    with httpx.Client(base_url=running.url, timeout=60) as client:
        answer = client.post("/models/flights/reload")
        assert answer.status_code == status and words in answer.json()["error"], answer.text
        same(tag(client, SENTENCES), trained_tagger.predictor.tag_batch(SENTENCES))
    assert all(h["models"][0]["reloads"] == 0 for h in every_worker(running.url, 2).values())
    assert running.stop()[0] == 0


@pytest.mark.parametrize("args, path, status, words", [
    ([], "/models/flights/reload", 403, "--allow-reload"),
    (["--allow-reload"], "/models/atis/reload", 404, "no model named 'atis'"),
])
def test_reload_off_or_unknown(model_copy, start_server, args, path, status, words):
    running = start_server(f"flights={model_copy}", *args)
    answer = httpx.post(running.url + path.lstrip("/"), timeout=30)
    assert answer.status_code == status and words in answer.json()["error"]
    running.stop()


def test_sighup_reloads_every_worker_and_refuses_a_broken_model(model_copy, other_tagger, start_server, same):
    running = start_server(f"flights={model_copy}", "--workers", "2")
    replace_model(model_copy, other_tagger[0])
    running.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while not all(h["models"][0]["reloads"] == 1 for h in every_worker(running.url, 2).values()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    spoil_config(model_copy)
    running.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while written(running).count("still serving the model loaded before") < 2:  # each worker tried, and refused
        assert time.monotonic() < deadline, written(running)
        time.sleep(0.1)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        for _ in range(10):
            same(tag(client, SENTENCES), other_tagger[1].tag_batch(SENTENCES))
    status, stderr = running.stop()
    assert status == 0
    assert stderr.count("reloaded flights") == 2 and stderr.count("config.json: corrupt model file") == 2, stderr


def written(running) -> str:
    """What the server has written to its standard error so far."""
    running.stderr.seek(0)
    return running.stderr.read()


@pytest.mark.parametrize("workers", [1, 2])
def test_reloads_under_load_lose_no_request(model_copy, other_tagger, trained_tagger, start_server, workers):
    running = start_server(f"flights={model_copy}", "--workers", workers, "--allow-reload", "--batch-wait-ms", "5")
    answers = []

    def reload_three_times():
        for source in (other_tagger[0], trained_tagger.directory, other_tagger[0]):
            time.sleep(0.3)
            replace_model(model_copy, source)
            answers.append(httpx.post(running.url + "models/flights/reload", timeout=60).json())

    load = under_load(running.url, 3.0, reload_three_times)
    assert [a.get("reloaded") for a in answers] == [workers] * 3, answers
    assert len(load.requests) > 50 and load.failed() == []
    assert running.stop()[0] == 0


# ---- the graceful stop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_loses_no_accepted_request(trained_tagger, start_server, workers):
    """Requests sent before SIGTERM on an established connection all get their 200 (in flight: answered after
    the signal); afterwards connections are refused, never answered with an error; the server exits 0."""
    running = start_server(trained_tagger.directory, "--workers", workers, "--batch-wait-ms", "50")
    signalled = []

    def stop_midway():
        time.sleep(1.0)
        signalled.append(time.monotonic())
        running.process.send_signal(signal.SIGTERM)

    load = under_load(running.url, 3.0, stop_midway)
    status, stderr = running.stop()
    assert status == 0 and "Traceback" not in stderr
    accepted = [r for r in load.requests if r.sent and r.sent < signalled[0]]
    assert len(accepted) > 20
    assert load.failed(before=signalled[0]) == []
    assert any(r.answered > signalled[0] for r in accepted)  # some were in flight at the signal, and finished
    assert {r.status for r in load.requests if r.status is not None} == {200}
