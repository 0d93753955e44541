"""Load test of `slotfill serve`: N keep-alive clients on loopback, one sentence per request; prints requests/s,
latency percentiles and errors. Starts the server on a free port and stops it when done.

    python benchmarks/serve_load.py models/atis-joint --clients 32 --requests 20000
    python benchmarks/serve_load.py models/atis-joint --workers 1 2      # one run each, and their ratio
    python benchmarks/serve_load.py models/atis-joint --reload-every 2   # POST /models/NAME/reload meanwhile

The clients speak HTTP/1.1 over raw asyncio streams (an HTTP library would cost more CPU than the server).
Sentences: the ATIS test set from ../shared/data when present, else the bundled flights dev set.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ATIS, ROOT

HOST = "127.0.0.1"


def sentences() -> list[str]:
    atis = ATIS / "test" / "seq.in"
    if atis.is_file():
        return [line.strip() for line in atis.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = (ROOT / "data" / "flights" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def request_bytes(path: str, port: int, text: str, fields: dict | None = None) -> bytes:
    body = json.dumps({"text": text, **(fields or {})}).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def start_server(args: argparse.Namespace, workers: int = 1, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "slotfill", "serve", *args.models, "--host", HOST, "--port", "0",
               "--engine", args.engine, "--batch-wait-ms", str(args.batch_wait_ms), "--max-batch", str(args.max_batch),
               "--threads", str(args.threads), "--workers", str(workers), *extra]
    errors = tempfile.TemporaryFile(mode="w+")  # the server's notices (reloads), shown if it fails
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    server.errors = errors
    line = server.stdout.readline()
    if not line.startswith("serving"):
        server.wait(timeout=30)
        errors.seek(0)
        sys.exit(f"the server did not start (exit status {server.returncode}): {errors.read().strip()}")
    port = int(line.split(f"http://{HOST}:")[1].split("/")[0])
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1):
                return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not answer /health")


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.failed = 0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, whether the server closes the connection, body) of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return int(head[9:12]), close, await reader.readexactly(length)


async def client(port: int, requests: list[bytes], counter, limit: int, deadline: float, stats: Stats | None) -> None:
    """Sends requests one after another on one keep-alive connection (reconnecting if the server closes it)."""
    reader = writer = None
    for i in counter:
        if i >= limit or time.perf_counter() > deadline:
            break
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status, close, _ = await read_response(reader)
            elapsed = time.perf_counter() - started
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            if stats:
                stats.failed += 1
            writer = None
            continue
        if stats:
            stats.latencies.append(elapsed)
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def drive(port: int, requests: list[bytes], clients: int, limit: int, seconds: float, stats: Stats | None,
                side=None) -> float:
    """Run the clients until `limit` requests or `seconds`; `side`, a coroutine, runs meanwhile (then is cancelled)."""
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    task = asyncio.ensure_future(side) if side is not None else None
    await asyncio.gather(*(client(port, requests, counter, limit, deadline, stats) for _ in range(clients)))
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return time.perf_counter() - started


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=[str(ROOT / "models" / "atis-joint")], help="MODEL_DIR... to serve")
    parser.add_argument("--endpoint", default="/model/parse", choices=["/model/parse", "/tag", "/classify"])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="Stop sending after this long even if requests remain.")
    parser.add_argument("--warmup", type=int, default=500, help="Requests sent (and not counted) first.")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="Worker processes; several (--workers 1 2): one run each, then their ratio of requests/s.")
    parser.add_argument("--reload-every", type=float, default=0.0, metavar="SECONDS",
                        help="Reload the first model (POST /models/NAME/reload) this often while the clients run.")
    parser.add_argument("--compare", action="store_true",
                        help="Then time the model alone in this process (batches of the server's mean size, same threads).")
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass

    rates = {}
    for workers in args.workers:
        rates[workers], mean_batch = run(args, workers)
    if len(rates) > 1:
        base = args.workers[0]
        print("   ".join(f"{n} workers / {base}: {rates[n] / rates[base]:.2f}x requests/s" for n in args.workers[1:]))
    if args.compare:
        rate, cpu_each = model_alone(args, max(1, round(mean_batch)))
        print(f"the model alone, batches of {round(mean_batch)} on {args.threads} thread(s): {rate:,.0f} sentences/s, "
              f"{1e6 * cpu_each:.0f} µs CPU per sentence; the server answered {rates[args.workers[-1]] / rate:.0%} of that rate")


def run(args: argparse.Namespace, workers: int) -> tuple[float, float]:
    """One server with `workers` workers under load; prints its figures; (requests/s, mean batch)."""
    server, port = start_server(args, workers, ("--allow-reload",) if args.reload_every else ())
    reloads: list[int] = []
    try:
        model = worker_health(port, 1)[0]["models"][0]
        requests = [request_bytes(args.endpoint, port, text) for text in sentences()]
        asyncio.run(drive(port, requests, args.clients, args.warmup, args.seconds, None))
        stats = Stats()
        before, cpu_before = batches(port, workers), cpu_seconds(server.pid)
        elapsed = asyncio.run(drive(port, requests, args.clients, args.requests, args.seconds, stats,
                                    reloading(port, model["name"], args.reload_every, reloads)))
        after, cpu_after = batches(port, workers), cpu_seconds(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=60)
        if status != 0:
            server.errors.seek(0)
            print(server.errors.read(), file=sys.stderr)
    done = len(stats.latencies)
    lat = sorted(stats.latencies)
    non_2xx = sum(n for code, n in stats.statuses.items() if not 200 <= code < 300)
    count = after[0] - before[0]
    print(f"{args.endpoint} on {model['name']} ({model['task']}, {model['engine']} engine), {workers} worker"
          f"{'s' if workers > 1 else ''}: {args.clients} clients, {done:,} requests in {elapsed:.1f} s")
    print(f"requests/s {done / elapsed:,.0f}   latency p50 {1000 * statistics.median(lat):.1f} ms  "
          f"p95 {1000 * percentile(lat, 0.95):.1f} ms  p99 {1000 * percentile(lat, 0.99):.1f} ms   "
          f"non-2xx {non_2xx}   failed {stats.failed}")
    mean_batch = (after[1] - before[1]) / max(count, 1)
    cpu = f"; server CPU {1e6 * (cpu_after - cpu_before) / done:.0f} µs per request" if cpu_before is not None else ""
    print(f"mean batch {mean_batch:.1f} sentences ({count:,} batches){cpu}; server exit status {status}")
    if args.reload_every:
        print(f"reloads during the run: {len(reloads)}, answered 200: {reloads.count(200)}")
    return done / elapsed, mean_batch


async def reloading(port: int, name: str, every: float, statuses: list[int]) -> None:
    """POST /models/NAME/reload every `every` seconds (none if 0), until cancelled; each answer's status kept."""
    if not every:
        return
    while True:
        await asyncio.sleep(every)
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"POST /models/{name}/reload HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n\r\n".encode())
        statuses.append((await read_response(reader))[0])
        writer.close()


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux): the server and its worker processes."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid] + [p for child in children for p in tree(int(child))]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its workers so far (Linux), which a busy shared machine distorts
    less than rates."""
    total = 0.0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def model_alone(args: argparse.Namespace, batch: int) -> tuple[float, float]:
    """(sentences/s, CPU seconds per sentence) of the served model's batched call, here, on the same sentences."""
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from slotfill.predict import load

    predictor = load(args.models[0].partition("=")[2] or args.models[0], engine=args.engine)
    run = predictor.tag_batch if predictor.task == "tagger" else predictor.classify_batch
    texts = sentences()
    chunks = [texts[k:k + batch] for k in range(0, len(texts), batch)]
    run(chunks[0])  # warm-up
    best = best_cpu = float("inf")
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        for chunk in chunks:
            run(chunk)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(texts) / best, best_cpu / len(texts)


def worker_health(port: int, workers: int) -> list[dict]:
    """/health of every worker, asked on new connections until each has answered."""
    seen: dict[int, dict] = {}
    for _ in range(100 * workers):
        with urllib.request.urlopen(f"http://{HOST}:{port}/health") as answer:
            health = json.load(answer)
        seen[health["worker"]] = health
        if len(seen) == workers:
            break
    return list(seen.values())


def batches(port: int, workers: int) -> tuple[int, int]:
    """(batches, texts) of the first model, over every worker."""
    counts = [health["models"][0]["batches"] for health in worker_health(port, workers)]
    return sum(c["count"] for c in counts), sum(c["texts"] for c in counts)


if __name__ == "__main__":
    main()
