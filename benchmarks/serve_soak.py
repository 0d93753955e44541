"""Soak and fault test of `slotfill serve` on loopback: a bounded run (5 minutes by default) of good and bad requests
mixed, clients that hang up mid-request or send their bodies slowly, oversized bodies, concurrent reloads and
SIGHUP; prints requests and errors by kind, latency by time window and the server's memory at start and end.

    python benchmarks/serve_soak.py models/atis-joint --minutes 5 --workers 2 --clients 32

The server runs with a token, --allow-reload and small limits (--max-texts 16 --max-chars 500), so that an
oversized body is quick to send. Good requests are paced to --rate in all (0: as fast as the clients go).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import secrets
import signal
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT
from serve_load import HOST, percentile, read_response, sentences, start_server, tree

MAX_TEXTS, MAX_CHARS = 16, 500
MAX_BODY = MAX_TEXTS * (6 * MAX_CHARS + 8) + 4096  # as slotfill.server.requests.Limits computes it
KINDS = {"good": 0.88, "bad": 0.06, "slow": 0.02, "hang-up": 0.03, "oversized": 0.01}


def http(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n{head}\r\n".encode() + body


def bad_requests(token: str) -> list[tuple[str, bytes, int]]:
    """(name, request bytes, the 4xx status it must get)."""
    auth = {"Authorization": f"Bearer {token}"}

    def body(obj) -> bytes:
        return json.dumps(obj).encode()

    def post(obj_or_bytes, path="/model/parse", kind="application/json", headers=auth) -> bytes:
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else body(obj_or_bytes)
        return http(path, data, {**headers, "Content-Type": kind, "Content-Length": str(len(data))})

    return [
        ("not JSON", post(b"{not json"), 400),
        ("empty text", post({"text": " "}), 400),
        ("text too long", post({"text": "a" * (MAX_CHARS + 1)}), 400),
        ("too many texts", post({"texts": ["fly"] * (MAX_TEXTS + 1)}, "/tag"), 413),
        ("wrong content type", post(b"text=fly", kind="application/x-www-form-urlencoded"), 415),
        ("unknown model", post({"text": "fly", "model": "nothere"}), 404),
        ("no token", post({"text": "fly to boston"}, headers={}), 401),
        ("wrong token", post({"text": "fly to boston"}, headers={"Authorization": "Bearer nope"}), 401),
        ("wrong token in the body", post({"text": "fly to boston", "token": "nope"}, headers={}), 401),
        ("no such endpoint", post({"text": "fly"}, "/nothing"), 404),
    ]


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    counts: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class Soak:
    started: float
    window: float
    windows: dict[int, Window] = field(default_factory=lambda: collections.defaultdict(Window))
    counts: collections.Counter = field(default_factory=collections.Counter)  # (kind, outcome) -> n
    errors: collections.Counter = field(default_factory=collections.Counter)  # what went wrong, by kind

    def count(self, kind: str, outcome: str, latency: float | None = None) -> None:
        self.counts[kind, outcome] += 1
        window = self.windows[int((time.monotonic() - self.started) // self.window)]
        window.counts[kind, outcome] += 1
        if latency is not None:
            window.latencies.append(latency)


class Client:
    """One soak client: its keep-alive connection for good and bad requests, fresh ones for the faults."""

    def __init__(self, port: int, soak: Soak, token: str, interval: float, rng: random.Random):
        self.port, self.soak, self.interval, self.rng = port, soak, interval, rng
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.texts, self.wrong = sentences(), bad_requests(token)
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(request)
        status, close, _ = await read_response(self.reader)
        if close:
            self.close()
        return status, close

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def good_request(self) -> bytes:
        data = json.dumps({"text": self.rng.choice(self.texts)}).encode()
        return http("/model/parse", data, {**self.auth, "Content-Length": str(len(data))})

    async def run(self, until: float) -> None:
        kinds, weights = list(KINDS), list(KINDS.values())
        due = time.monotonic() + self.rng.random() * self.interval
        while time.monotonic() < until:
            if self.interval:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                due += self.interval
            kind = self.rng.choices(kinds, weights)[0]
            try:
                await getattr(self, kind.replace("-", "_"))()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
                self.soak.count(kind, "failed")
                self.soak.errors[kind, err.__class__.__name__] += 1
                self.close()
        self.close()

    async def good(self) -> None:
        started = time.perf_counter()
        status, _ = await self.exchange(self.good_request())
        ok = status == 200
        self.soak.count("good", "200" if ok else "failed", time.perf_counter() - started if ok else None)
        if not ok:
            self.soak.errors["good", f"status {status}"] += 1

    async def bad(self) -> None:
        name, request, expected = self.rng.choice(self.wrong)
        status, _ = await self.exchange(request)
        self.soak.count("bad", "4xx" if 400 <= status < 500 else "not 4xx")
        if status != expected:
            self.soak.errors["bad", f"{name}: {status}, not {expected}"] += 1

    async def slow(self) -> None:
        """A good request on a new connection, its body in four parts 50 ms apart."""
        request = self.good_request()
        cut = request.index(b"\r\n\r\n") + 4
        body = request[cut:]
        await self.fresh("slow", [request[:cut], *(body[k * len(body) // 4:(k + 1) * len(body) // 4] for k in range(4))],
                         0.05, 200)

    async def fresh(self, kind: str, parts: list[bytes], pause: float, expected: int) -> None:
        """`parts` of a request on a new connection, `pause` seconds apart; the answer's status must be `expected`."""
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            for k, part in enumerate(parts):
                await asyncio.sleep(pause if k else 0)
                writer.write(part)
            status, _, _ = await read_response(reader)
        finally:
            writer.close()
        self.soak.count(kind, str(status) if status == expected else "failed")
        if status != expected:
            self.soak.errors[kind, f"status {status}, not {expected}"] += 1

    async def hang_up(self) -> None:
        """A new connection that sends part of a request (or all of it) and goes away without reading the answer."""
        _, writer = await asyncio.open_connection(HOST, self.port)
        request = self.good_request()
        writer.write(request[:self.rng.randrange(1, len(request) + 1)])
        await writer.drain()
        await asyncio.sleep(self.rng.random() * 0.02)
        writer.close()
        self.soak.count("hang-up", "sent")

    async def oversized(self) -> None:
        """A body past the limit, sent in full (or only announced, every other time): 413."""
        announced = self.rng.random() < 0.5
        size = 10**12 if announced else MAX_BODY + 1000
        head = http("/tag", b"", {**self.auth, "Content-Length": str(size)})
        await self.fresh("oversized", [head if announced else head + b'{"text": "' + b"a" * (size - 12) + b'"}'], 0, 413)


async def reloads(port: int, name: str, token: str, every: float, until: float, server, soak: Soak) -> None:
    """Every `every` seconds two concurrent POST /models/NAME/reload; every third time a SIGHUP as well."""
    request = http(f"/models/{name}/reload", b"", {"Authorization": f"Bearer {token}", "Content-Length": "0"})

    async def one() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(request)
            status, _, body = await read_response(reader)
        finally:
            writer.close()
        answer = json.loads(body)
        ok = status == 200 and answer["reloaded"] == answer["workers"]
        soak.count("reload", "200" if ok else "failed")
        if not ok:
            soak.errors["reload", f"status {status}: {body[:200]!r}"] += 1

    rounds = 0
    while time.monotonic() + every < until:
        await asyncio.sleep(every)
        rounds += 1
        if rounds % 3 == 0:
            server.send_signal(signal.SIGHUP)
            soak.count("SIGHUP", "sent")
        await asyncio.gather(one(), one())


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its workers, in MB."""
    total = 0
    for each in tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return total / 1024


async def watch_memory(pid: int, started: float, until: float, samples: dict[float, float]) -> None:
    while time.monotonic() < until:
        samples[time.monotonic() - started] = rss_mb(pid)
        await asyncio.sleep(5)
    samples[time.monotonic() - started] = rss_mb(pid)


async def soak_run(args, port: int, server, token: str, name: str) -> tuple[Soak, dict[float, float]]:
    started = time.monotonic()
    until = started + args.minutes * 60
    soak, memory = Soak(started, args.window), {}
    interval = args.clients / args.rate if args.rate else 0.0
    clients = [Client(port, soak, token, interval, random.Random(seed)) for seed in range(args.clients)]
    await asyncio.gather(*(c.run(until) for c in clients), watch_memory(server.pid, started, until, memory),
                         reloads(port, name, token, args.reload_every, until, server, soak))
    return soak, memory


def report(args, soak: Soak, memory: dict[float, float], model: dict, status: int) -> None:
    print(f"soak of {args.minutes:g} min: {model['name']} ({model['task']}, {model['engine']} engine), {args.workers} workers, "
          f"{args.clients} clients, good requests paced to {args.rate:,} /s" if args.rate else "as fast as they go")
    print(f"{'seconds':>9} {'good':>7} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7} {'bad':>5} {'not 4xx':>7} {'RSS MB':>7}")
    for k in sorted(soak.windows):
        window, (start, end) = soak.windows[k], (k * args.window, (k + 1) * args.window)
        lat = sorted(window.latencies) or [float("nan")]
        rss = [mb for t, mb in memory.items() if start <= t < end]
        print(f"{start:>4.0f}-{end:<4.0f} {window.counts['good', '200']:>7,} {window.counts['good', 'failed']:>6} "
              f"{1000 * statistics.median(lat):>7.1f} {1000 * percentile(lat, 0.99):>7.1f} "
              f"{window.counts['bad', '4xx'] + window.counts['bad', 'not 4xx']:>5} {window.counts['bad', 'not 4xx']:>7} "
              f"{(rss[-1] if rss else float('nan')):>7.0f}")
    by_kind = collections.defaultdict(dict)
    for (kind, outcome), n in sorted(soak.counts.items()):
        by_kind[kind][outcome] = n
    print("requests: " + "; ".join(f"{kind} " + ", ".join(f"{o} {n:,}" for o, n in outcomes.items())
                                   for kind, outcomes in by_kind.items()))
    print("errors by kind: " + ("; ".join(f"{k}/{what}: {n}" for (k, what), n in sorted(soak.errors.items())) or "none"))
    worst = max(percentile(sorted(w.latencies), 0.99) for w in soak.windows.values() if w.latencies)
    times = sorted(memory)
    at_minute = memory[min(times, key=lambda t: abs(t - 60))]
    print(f"p99 of good requests, worst {args.window:g}-second window: {1000 * worst:.1f} ms")
    print(f"server memory (all processes): start {memory[times[0]]:.0f} MB, after 1 min {at_minute:.0f} MB, "
          f"end {memory[times[-1]]:.0f} MB ({100 * (memory[times[-1]] / at_minute - 1):+.1f}% after the first minute); "
          f"server exit status {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=[str(ROOT / "models" / "atis-joint")], help="MODEL_DIR... to serve")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rate", type=int, default=500, help="Requests/s of all clients together (0: no pacing).")
    parser.add_argument("--reload-every", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--window", type=float, default=30.0, help="Seconds per line of the report.")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    args.batch_wait_ms, args.max_batch = 2.0, 64
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    token = secrets.token_urlsafe(16)
    server, port = start_server(args, args.workers, ("--token", token, "--allow-reload", "--max-texts", str(MAX_TEXTS),
                                                     "--max-chars", str(MAX_CHARS)))
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health?token={token}") as answer:
            model = json.load(answer)["models"][0]
        soak, memory = asyncio.run(soak_run(args, port, server, token, model["name"]))
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=60)
    report(args, soak, memory, model, status)


if __name__ == "__main__":
    main()
