"""Load test of `slotfill serve`: N keep-alive clients on loopback, one sentence per request; prints requests/s,
latency percentiles and errors. Starts the server on a free port and stops it when done.

    python benchmarks/serve_load.py models/atis-joint --clients 32 --requests 20000

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


def request_bytes(path: str, port: int, text: str) -> bytes:
    body = json.dumps({"text": text}).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "slotfill", "serve", *args.models, "--host", HOST, "--port", "0",
               "--engine", args.engine, "--batch-wait-ms", str(args.batch_wait_ms), "--max-batch", str(args.max_batch),
               "--threads", str(args.threads)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith("serving"):
        server.wait(timeout=30)
        sys.exit(f"the server did not start (exit status {server.returncode})")
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
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
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


async def drive(port: int, requests: list[bytes], clients: int, limit: int, seconds: float, stats: Stats | None) -> float:
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(client(port, requests, counter, limit, deadline, stats) for _ in range(clients)))
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
    parser.add_argument("--compare", action="store_true",
                        help="Then time the model alone in this process (batches of the server's mean size, same threads).")
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass

    server, port = start_server(args)
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health") as answer:
            model = json.load(answer)["models"][0]
        requests = [request_bytes(args.endpoint, port, text) for text in sentences()]
        asyncio.run(drive(port, requests, args.clients, args.warmup, args.seconds, None))
        stats = Stats()
        before, cpu_before = _batches(port), cpu_seconds(server.pid)
        elapsed = asyncio.run(drive(port, requests, args.clients, args.requests, args.seconds, stats))
        after, cpu_after = _batches(port), cpu_seconds(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=30)
    done = len(stats.latencies)
    lat = sorted(stats.latencies)
    non_2xx = sum(n for code, n in stats.statuses.items() if not 200 <= code < 300)
    batches = after[0] - before[0]
    print(f"{args.endpoint} on {model['name']} ({model['task']}, {model['engine']} engine): {args.clients} clients, "
          f"{done:,} requests in {elapsed:.1f} s")
    print(f"requests/s {done / elapsed:,.0f}   latency p50 {1000 * statistics.median(lat):.1f} ms  "
          f"p95 {1000 * percentile(lat, 0.95):.1f} ms  p99 {1000 * percentile(lat, 0.99):.1f} ms   "
          f"non-2xx {non_2xx}   failed {stats.failed}")
    mean_batch = (after[1] - before[1]) / max(batches, 1)
    cpu = f"; server CPU {1e6 * (cpu_after - cpu_before) / done:.0f} µs per request" if cpu_before is not None else ""
    print(f"mean batch {mean_batch:.1f} sentences ({batches:,} batches){cpu}; server exit status {status}")
    if args.compare:
        rate, cpu_each = model_alone(args, max(1, round(mean_batch)))
        print(f"the model alone, batches of {round(mean_batch)} on {args.threads} thread(s): {rate:,.0f} sentences/s, "
              f"{1e6 * cpu_each:.0f} µs CPU per sentence; the server answered {done / elapsed / rate:.0%} of that rate")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), which a busy shared machine distorts less than rates."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _batches(port: int) -> tuple[int, int]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/health") as answer:
        batches = json.load(answer)["models"][0]["batches"]
    return batches["count"], batches["texts"]


if __name__ == "__main__":
    main()
