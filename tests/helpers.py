"""Plain functions several test files share where a fixture would not fit: the BIO rules tags must obey, the
torchrun and `--set` command lines, a headless Chromium page."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import websocket

TIMEOUT = 240  # a torchrun hang (processes waiting for each other) fails instead of blocking CI


def may_follow(previous: str, tag: str) -> bool:
    """I-x only after B-x or I-x (the sentence start counts as O)."""
    return not tag.startswith("I-") or (previous != "O" and previous[2:] == tag[2:])


def valid_bio(tags: list[str]) -> bool:
    """No I-x at the start, none after O, none after B-y / I-y with y != x."""
    return all(may_follow(previous, tag) for previous, tag in zip(["O", *tags], tags))


def torchrun(*args: str, script: Path | None = None) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node 2` (a free loopback port) on `python -m slotfill` or a script."""
    target = [str(script)] if script else ["-m", "slotfill"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *target, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


def sets(items: list[str]) -> list[str]:
    """`--set ITEM` for each item."""
    return [arg for item in items for arg in ("--set", item)]


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
        self.events: list[dict] = []

    def _devtools_port(self, announced, seconds: float = 60) -> int:
        """The port chromium picked, from the file it writes in its profile once DevTools listens."""
        deadline = time.monotonic() + seconds
        while not (announced.is_file() and announced.read_text().strip()):
            assert self.process.poll() is None, f"chromium stopped (status {self.process.returncode})"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        return int(announced.read_text().splitlines()[0])

    def send(self, method: str, **params) -> dict:
        """A DevTools command's result; the events that arrive meanwhile are kept in `events`."""
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                assert "error" not in reply, reply
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

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
