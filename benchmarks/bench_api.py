"""HTTP API on loopback, one uvicorn worker: latency of a 100-ticket score request on one
connection (p50/p99), throughput over 8 connections, and the score p50 against an
authenticated no-op request (`GET /v1/whoami`) measured in the same run.

Goals (issue 5): score p50 <= 5 ms and p99 <= 15 ms; >= 300 requests/s over 8 connections;
score p50 <= 3x the no-op p50. The server runs with a temporary SQLite store and a model
trained here with the modeller's functions (300 trees), never the repo's models/ or mlruns/.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

GOALS = {"score_p50_ms": 5.0, "score_p99_ms": 15.0, "rps_8": 300.0, "ratio_vs_noop": 3.0}
NOW = "2026-10-26T12:00:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(tmp: Path) -> tuple[Path, Path, str]:
    """Policy file, exported model dir, and an admin key in the store."""
    import yaml

    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import RiskModel, make_pipeline
    from slarisk.risk.registry import ModelCard, export_model
    from slarisk.service.security import create_key
    from slarisk.service.store import Store
    from slarisk.sla.policy import policy_from_dict
    from tests.service.conftest import POLICY_YAML
    from tests.service.model_fixture import random_history

    policy_path = tmp / "policy.yaml"
    policy_path.write_text(POLICY_YAML, encoding="utf-8")
    policy = policy_from_dict(yaml.safe_load(POLICY_YAML), str(policy_path))
    tickets = random_history(seed=1, days=28, per_day=60)
    data = build_training_data(tickets, policy, now=tickets["created_at"].max())
    pipeline = make_pipeline({"n_estimators": 300, "min_child_samples": 20})
    pipeline.fit(data.X, data.y)
    model = RiskModel(
        pipeline=pipeline,
        priorities=tuple(policy.priorities),
        calendar=data.calendar,
        history=data.context.history,
        recent_tickets=tickets[["ticket_id", "created_at", "resolved_at", "priority"]],
    )
    card = ModelCard(
        name="slarisk-breach-risk", version="bench", run_id="bench", trained_at=NOW,
        spec_name="bench", data_source="random", data_fingerprint="-", n_tickets_train=len(tickets),
        n_tickets_test=0, n_rows_train=len(data.y), n_rows_test=0, period_train="-",
        period_test="-", metrics={}, baselines={}, by_age=[], params={}, decision="bench", seed=1,
    )  # fmt: skip
    models = tmp / "models"
    export_model(model, card, models)
    _, key = create_key(Store(tmp / "service.db"), "admin", name="bench")
    return policy_path, models, key


def _score_body(n: int = 100, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    tickets = [
        {
            "ticket_id": f"T{i:04d}",
            "created_at": f"2026-10-{rng.randint(22, 26)}T{rng.randint(0, 11):02d}:"
            f"{rng.randint(0, 59):02d}:00Z",
            "priority": rng.choice(["P1", "P2", "P3"]),
            "tier": rng.choice(["gold", "silver"]),
            "channel": rng.choice(["email", "portal"]),
            "category": rng.choice(["network", "access"]),
        }
        for i in range(n)
    ]
    staffing = [
        {"interval_start": f"2026-10-26T{h:02d}:00:00Z", "interval_minutes": 60, "agents": 4}
        for h in range(12, 20)
    ]
    return json.dumps({"now": NOW, "tickets": tickets, "staffing": staffing}).encode()


def _latencies(
    client: Any, method: str, url: str, body: bytes | None, n: int, budget: float = 60.0
) -> np.ndarray:
    """Milliseconds of up to ``n`` sequential requests (stops after ``budget`` s, >= 10 kept)."""
    out: list[float] = []
    stop = time.perf_counter() + budget
    for k in range(n):
        t = time.perf_counter()
        r = client.request(method, url, content=body)
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:200]}")
        if k >= 9 and time.perf_counter() > stop:
            break
    return np.asarray(out) * 1000.0


def _in_process_ms(
    models: Path, policy: Path, body: bytes, n: int, budget: float
) -> tuple[np.ndarray, np.ndarray]:
    """Without HTTP, the same request: (service layer = parse + frames + library + response
    JSON, library alone = ``score_open_tickets`` on ready frames), milliseconds."""
    import json as _json

    from slarisk.risk.model import load_model
    from slarisk.risk.score import score_open_tickets
    from slarisk.service.schemas import ScoreRequest
    from slarisk.service.scoring import request_frames, score_request
    from slarisk.sla.policy import load_policy

    model = load_model(models / "slarisk-breach-risk.pkl")
    pol = load_policy(policy)
    req = ScoreRequest.model_validate_json(body)
    tickets, staffing, events = request_frames(req)

    def layer() -> None:
        r = ScoreRequest.model_validate_json(body)
        assert r.now is not None
        _json.dumps({"items": score_request(model, r, pol, r.now)})

    def library() -> None:
        score_open_tickets(model, tickets, req.now, pol, staffing=staffing, events=events)

    out = []
    for fn in (layer, library):
        fn()
        ts: list[float] = []
        stop = time.perf_counter() + budget / 2
        for k in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
            if k >= 9 and time.perf_counter() > stop:
                break
        out.append(np.asarray(ts) * 1000.0)
    return out[0], out[1]


def _throughput(base: str, headers: dict[str, str], body: bytes, seconds: float) -> float:
    import httpx

    counts = [0] * 8
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            while time.perf_counter() < stop:
                r = c.post("/v1/risk/score", content=body)
                if r.status_code != 200:
                    errors.append(r.text[:200])
                    return
                counts[i] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / (time.perf_counter() - start)


def run(quick: bool = False) -> dict[str, Any]:
    import httpx
    from rich.console import Console
    from rich.table import Table

    n = 60 if quick else 400
    seconds = 3.0 if quick else 10.0
    budget = 15.0 if quick else 60.0  # per latency series, seconds
    with tempfile.TemporaryDirectory(prefix="slarisk-bench-api-") as d:
        tmp = Path(d)
        policy, models, key = _prepare(tmp)
        port = _free_port()
        env = {
            **os.environ,
            "SLARISK_MODELS_DIR": str(models),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'no-registry.db'}",
        }
        cmd = [sys.executable, "-c", "from slarisk.cli import main; main()", "serve"]
        cmd += ["--port", str(port), "--db", str(tmp / "service.db"), "--policy", str(policy)]
        cmd += ["--log-level", "warning"]
        server = subprocess.Popen(cmd, cwd=tmp, env=env)
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key, "content-type": "application/json"}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not become ready")
                time.sleep(0.2)
            body = _score_body()
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                _latencies(c, "POST", "/v1/risk/score", body, 3)  # warm-up
                _latencies(c, "GET", "/v1/whoami", None, 20)
                noop = _latencies(c, "GET", "/v1/whoami", None, n, budget)
                score = _latencies(c, "POST", "/v1/risk/score", body, n, budget)
            rps = _throughput(base, headers, body, seconds)
            layer, library = _in_process_ms(models, policy, body, n, budget)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    res = {
        "score_p50_ms": float(np.percentile(score, 50)),
        "score_p99_ms": float(np.percentile(score, 99)),
        "noop_p50_ms": float(np.percentile(noop, 50)),
        "in_process_p50_ms": float(np.percentile(layer, 50)),
        "library_p50_ms": float(np.percentile(library, 50)),
        "rps_8": rps,
        "requests": len(score),
    }
    res["ratio_vs_noop"] = res["score_p50_ms"] / res["noop_p50_ms"]
    table = Table(title="HTTP API (1 uvicorn worker, loopback, 100-ticket score request)")
    for col in ("measure", "value", "goal", "met"):
        table.add_column(col)
    rows = [
        ("score p50 (ms)", res["score_p50_ms"], "<= 5", res["score_p50_ms"] <= 5),
        ("score p99 (ms)", res["score_p99_ms"], "<= 15", res["score_p99_ms"] <= 15),
        ("no-op p50 (ms)", res["noop_p50_ms"], "reference", True),
        ("same request in-process, no HTTP (ms)", res["in_process_p50_ms"], "reference", True),
        ("of which score_open_tickets (ms)", res["library_p50_ms"], "reference", True),
        ("score p50 / no-op p50", res["ratio_vs_noop"], "<= 3x", res["ratio_vs_noop"] <= 3),
        ("score requests/s, 8 connections", res["rps_8"], ">= 300", res["rps_8"] >= 300),
    ]
    for name, value, goal, met in rows:
        table.add_row(name, f"{value:.2f}", goal, "yes" if met else "NO")
    Console().print(table)
    res["goals_met"] = all(met for *_, met in rows)
    return res


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
