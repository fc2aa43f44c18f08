"""Load a page in headless Chromium over the DevTools protocol and list what went wrong.

Used by tests/reports/test_browser.py. Problems reported: console messages of level error
or assert, uncaught exceptions, browser log entries of level error (e.g. a resource that
failed to load) and images that did not decode. Chromium runs as in CI containers (root):
headless, no sandbox, no GPU, no background traffic, a fresh profile per page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
_CHECK_IMAGES = (
    "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
    ".map(i => i.alt || i.src.slice(0, 40))"
)


def _port(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker.is_file():
            first = marker.read_text().splitlines()
            if first and first[0].strip().isdigit():
                return int(first[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def page_problems(page: Path, *, timeout: float = 30.0) -> list[str]:
    """Problems met while loading ``page`` (a local file) in headless Chromium."""
    from websockets.sync.client import connect  # installed with uvicorn[standard]

    profile = Path(tempfile.mkdtemp(prefix="slarisk-chromium-"))
    proc = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _port(profile, proc, timeout)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        with connect(url, max_size=None, open_timeout=timeout) as ws:
            return _load(ws, page.resolve().as_uri(), timeout)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _load(ws: Any, uri: str, timeout: float) -> list[str]:
    ids = iter(range(1, 1_000_000))
    problems: list[str] = []

    def send(method: str, **params: Any) -> int:
        n = next(ids)
        ws.send(json.dumps({"id": n, "method": method, "params": params}))
        return n

    def note(msg: dict[str, Any]) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            problems.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            problems.append(f"exception: {d.get('exception', {}).get('description', d['text'])}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            problems.append(f"log: {p['entry'].get('text', '')}")

    def wait_for(pred: Any) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = json.loads(ws.recv(timeout=max(0.01, end - time.monotonic())))
            note(msg)
            if pred(msg):
                return msg
        raise TimeoutError("no answer from chromium")

    for method in ("Runtime.enable", "Log.enable", "Page.enable"):
        n = send(method)
        wait_for(lambda m, n=n: m.get("id") == n)
    send("Page.navigate", url=uri)
    wait_for(lambda m: m.get("method") == "Page.loadEventFired")
    n = send("Runtime.evaluate", expression=_CHECK_IMAGES, returnByValue=True)
    broken = wait_for(lambda m: m.get("id") == n)["result"]["result"].get("value", [])
    problems += [f"image did not load: {b}" for b in broken]
    # late console messages (a script run after load): drain what arrives within a moment
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        try:
            note(json.loads(ws.recv(timeout=max(0.01, end - time.monotonic()))))
        except TimeoutError:
            break
    return problems
