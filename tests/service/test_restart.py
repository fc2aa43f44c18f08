"""Kill -9 the server in the middle of a simulation job and restart it: no job stays
"running", finished results survive, queued jobs still run."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from slarisk.service.security import create_key
from slarisk.service.store import Store
from tests.service.conftest import SCENARIO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, db: Path, policy: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "SLARISK_LOAD_MODEL": "false",
        "SLARISK_MODELS_DIR": str(tmp_path / "no-models"),
        "SLARISK_JOB_WORKERS": "1",
    }
    cmd = [sys.executable, "-c", "from slarisk.cli import main; main()", "serve"]
    cmd += ["--port", str(port), "--db", str(db), "--policy", str(policy), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


def _job(base: str, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/v1/simulations/{job_id}", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _until(pred: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_job_then_restart(tmp_path: Path, policy_path: Path) -> None:
    db = tmp_path / "service.db"
    _, key = create_key(Store(db), "planner")
    headers = {"X-API-Key": key}
    proc, base = _start(tmp_path, db, policy_path)
    try:
        submit = lambda reps: httpx.post(  # noqa: E731
            f"{base}/v1/simulations",
            json={"scenario": SCENARIO, "replications": reps, "seed": 3},
            headers=headers,
            timeout=30,
        ).json()["id"]
        done_id = submit(1)
        done = _until(
            lambda: (j := _job(base, headers, done_id))["status"] == "succeeded" and j,
            60,
            "the first job to finish",
        )
        long_id = submit(50)
        queued_id = submit(1)
        _until(
            lambda: (
                (j := _job(base, headers, long_id))["status"] == "running" and j["progress"] > 0
            ),
            60,
            "the long job to make progress",
        )
        assert _job(base, headers, queued_id)["status"] == "queued"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    with sqlite3.connect(db) as conn:  # what the dead process left behind
        assert (
            conn.execute("SELECT status FROM jobs WHERE id = ?", (long_id,)).fetchone()[0]
            == "running"
        )

    proc, base = _start(tmp_path, db, policy_path)
    try:
        long_job = _job(base, headers, long_id)
        assert long_job["status"] == "failed"
        assert "interrupted" in long_job["error"]
        assert _job(base, headers, done_id) == done  # finished result intact
        _until(
            lambda: _job(base, headers, queued_id)["status"] == "succeeded", 60, "the queued job"
        )
        with sqlite3.connect(db) as conn:
            assert (
                conn.execute("SELECT count(*) FROM jobs WHERE status = 'running'").fetchone()[0]
                == 0
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("server did not stop on SIGTERM")
