"""Floors of the score route: how fast could `POST /v1/risk/score` be if parts of the
scoring cost nothing? Three servers on one store and model (as `bench_api`), measured in
alternating rounds of the same run:

- ``real``: `slarisk serve` as shipped;
- ``floor-b``: the array scoring (clocks, features, reasons, work order:
  ``fastscore.score_arrays``) returns the first 100-ticket request's columns, after walking
  the trees over that request's feature matrix; the request's arrays, the response items,
  validation, policy checks, audit, JSON and HTTP all still run. What a perfectly compiled
  scoring path, free apart from the tree walk, would give;
- ``floor-a``: all of ``score_request`` (arrays, scoring, response items) returns the first
  100-ticket request's items after the same tree walk; validation, policy checks, audit, JSON
  and HTTP still run. The least work the issue's contract asks of the server.

Per round and server: no-op p50, score p50 (one connection), score requests/s over 8
connections, server CPU per score request. The floors are measurements of stripped servers,
not goals; they show which goals of issue 5 this design can reach (docs/api.md#speed).

Run: ``python -m benchmarks floor`` (part of ``make bench``). The floor servers are this
module run as ``python -m benchmarks.bench_floor serve MODE ...``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_api import (
    RawHTTP,
    _cpu_seconds,
    _free_port,
    _latencies,
    _prepare,
    _score_requests,
    _server_env,
    _throughput,
    _wait_ready,
)

MODES = ("real", "floor-b", "floor-a")
#: requests with fewer tickets are not captured (the server's start-up warm-up scores one).
_CAPTURE_TICKETS = 50


def _serve(mode: str, argv: list[str]) -> None:
    """Run `slarisk serve` (``argv``) with the scoring of ``mode`` stripped."""
    from slarisk.risk import fastscore
    from slarisk.risk.treekernel import raw_and_contributions

    state: dict[str, Any] = {}

    def capture(n: int, call: Any) -> Any:
        """``call()`` once for the first request of ``_CAPTURE_TICKETS`` or more tickets (its
        result and the feature matrix it walked are kept), then the walk alone."""
        if "result" not in state and n >= _CAPTURE_TICKETS:
            predict = fastscore._predict

            def spy(fm: Any, X: np.ndarray) -> Any:
                state["forest"], state["X"] = fm.forest, X.copy()
                return predict(fm, X)

            fastscore._predict = spy
            try:
                state["result"] = call()
            finally:
                fastscore._predict = predict
            return state["result"]
        if "result" not in state:
            return call()
        raw_and_contributions(state["forest"], state["X"])
        return state["result"]

    if mode == "floor-b":
        score_arrays = fastscore.score_arrays

        def floor_b(model: Any, tickets: Any, *args: Any, **kwargs: Any) -> Any:
            return capture(len(tickets), lambda: score_arrays(model, tickets, *args, **kwargs))

        fastscore.score_arrays = floor_b  # type: ignore[assignment]
    elif mode == "floor-a":
        import slarisk.service.routers.risk as route

        score_request = route.score_request

        def floor_a(model: Any, body: Any, *args: Any) -> Any:
            return capture(len(body.tickets), lambda: score_request(model, body, *args))

        route.score_request = floor_a  # type: ignore[assignment]
    elif mode != "real":
        raise SystemExit(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    from slarisk.cli import main

    sys.argv = ["slarisk", *argv]
    main()


def run(quick: bool = False) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    from slarisk.service.security import create_key
    from slarisk.service.store import Store

    rounds, n, seconds = (2, 100, 2.0) if quick else (4, 300, 3.0)
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="slarisk-bench-floor-") as d:
        tmp = Path(d)
        policy, models, _ = _prepare(tmp)
        env = _server_env(tmp, models)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        headers: dict[str, dict[str, str]] = {}
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for mode in MODES:
                db = tmp / f"service-{mode}.db"  # each server its own store and key
                headers[mode] = {"X-API-Key": create_key(Store(db), "admin", name=mode)[1]}
                headers[mode]["content-type"] = "application/json"
                port = _free_port()
                cmd = [sys.executable, "-m", "benchmarks.bench_floor", "serve", mode, "serve"]
                cmd += ["--port", str(port), "--db", str(db), "--policy", str(policy)]
                cmd += ["--log-level", "warning"]
                servers[mode] = (subprocess.Popen(cmd, cwd=tmp, env=env), port)
            for server, port in servers.values():
                _wait_ready(server, port)
            figures: dict[str, dict[str, list[float]]] = {
                m: {"noop_p50_ms": [], "score_p50_ms": [], "rps_8": [], "server_cpu_score_ms": []}
                for m in MODES
            }
            for r in range(rounds):
                for k, (mode, (server, port)) in enumerate(servers.items()):
                    # a fresh connection per round: idle keep-alive connections are closed
                    c = RawHTTP("127.0.0.1", port)
                    start = 1_000_000 * (r + 1) + 100_000 * k  # every request its own `now`
                    scores = _score_requests(c, headers[mode], start)
                    noops = itertools.repeat(
                        c.request_bytes("GET", "/v1/whoami", headers[mode], None)
                    )
                    _latencies(c, scores, 150 if r == 0 else 30)  # the first: warm-up
                    noop = np.median(_latencies(c, noops, n))
                    score = np.median(_latencies(c, scores, n))
                    c.close()
                    cpu0 = _cpu_seconds(server.pid)
                    t0 = time.perf_counter()
                    rps = _throughput(port, headers[mode], seconds, start + 50_000)
                    served = rps * (time.perf_counter() - t0)
                    cpu = (_cpu_seconds(server.pid) - cpu0) / served * 1000.0
                    f = figures[mode]
                    f["noop_p50_ms"].append(float(noop))
                    f["score_p50_ms"].append(float(score))
                    f["rps_8"].append(rps)
                    f["server_cpu_score_ms"].append(cpu)
        finally:
            for server, _ in servers.values():
                server.terminate()
                server.wait()
    result: dict[str, Any] = {}
    table = Table(title=f"score route floors ({rounds} rounds, medians; range in brackets)")
    for col in ("measure", *MODES):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for name, label in (
        ("score_p50_ms", "score p50 (ms)"),
        ("noop_p50_ms", "no-op p50 (ms)"),
        ("ratio_vs_noop", "score p50 / no-op p50"),
        ("rps_8", "score requests/s, 8 connections"),
        ("server_cpu_score_ms", "server CPU per score request (ms)"),
    ):
        cells = []
        for mode in MODES:
            f = figures[mode]
            if name == "ratio_vs_noop":
                values = [s / o for s, o in zip(f["score_p50_ms"], f["noop_p50_ms"], strict=True)]
            else:
                values = f[name]
            result[f"{mode}_{name}"] = float(np.median(values))
            result[f"{mode}_{name}_all"] = values
            cells.append(f"{np.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]")
        table.add_row(label, *cells)
    Console().print(table)
    return result


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        _serve(sys.argv[2], sys.argv[3:])
    else:
        print("usage: python -m benchmarks.bench_floor serve MODE SERVE-ARGS...", file=sys.stderr)
        raise SystemExit(2)
