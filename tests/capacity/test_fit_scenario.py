"""Fitted scenarios from call logs and tickets: round trip through the simulator, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.capacity.call_log_fit import fit_calls
from slarisk.capacity.fit_scenario import fit_tickets, write_scenario
from slarisk.capacity.scenario import load_scenario
from slarisk.cli import app
from slarisk.errors import InputError
from tests.capacity.call_log_samples import synthetic_log

runner = CliRunner()


def test_fit_calls_scenario_round_trip(tmp_path: Path) -> None:
    from slarisk.capacity.sim import simulate
    from slarisk.data.calllog import load_call_log

    log_path = tmp_path / "calls_1999_january.txt.gz"
    synthetic_log(log_path)
    calls = load_call_log(log_path).calls
    res = fit_calls(calls)
    assert {c.name for c in res.classes} == {"high", "regular"}
    assert sum(c.share for c in res.classes) == pytest.approx(1.0)
    assert len(res.hourly_rates()) == 168
    out = tmp_path / "fitted.yaml"
    write_scenario(res.scenario_dict(horizon_days=1.0), out)
    sc = load_scenario(out)
    assert sc.timezone == "Asia/Jerusalem"
    assert sc.classes[0].patience is not None
    sim = simulate(sc, replications=1, seed=1)
    assert len(sim.tickets) > 0


def test_fit_tickets_touches_and_pauses() -> None:
    g = np.random.default_rng(5)
    n = 400
    created = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(g.uniform(0, 14 * 86400, n)), unit="s"
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(n)],
            "created_at": created,
            "priority": np.where(g.random(n) < 0.5, "P2", "P3"),
            "tier": "gold",
            "channel": "email",
            "handle_seconds": g.gamma(2.0, 300.0, n),
        }
    )
    # every third ticket waits on the customer once, for about 2 hours
    ids = tickets["ticket_id"].iloc[::3]
    start = tickets["created_at"].iloc[::3] + pd.Timedelta(hours=1)
    dur = pd.to_timedelta(g.exponential(7200.0, len(ids)), unit="s")
    events = pd.concat(
        [
            pd.DataFrame({"ticket_id": ids, "at": start, "status": "pending"}),
            pd.DataFrame({"ticket_id": ids, "at": start + dur.to_numpy(), "status": "open"}),
        ]
    )
    res = fit_tickets(tickets, events)
    assert len(res.classes) == 2
    c = res.classes[0]
    assert c.touches is not None and c.touches[2] == pytest.approx(1 / 3, abs=0.06)
    assert c.customer_wait is not None
    assert c.customer_wait.mean == pytest.approx(7200, rel=0.2)
    spec = res.scenario_dict()
    assert spec["classes"][0]["mode"] == "async"
    assert spec["classes"][0]["touches"]["dist"] == "empirical"
    write_scenario(spec, Path("/tmp") / "_unused.yaml") if False else None
    with pytest.raises(InputError, match="handle"):
        fit_tickets(tickets.drop(columns="handle_seconds"))


def test_cli_fit(tmp_path: Path) -> None:
    log_path = tmp_path / "calls_1999_january.txt.gz"
    synthetic_log(log_path, days=2)
    out = tmp_path / "s.yaml"
    r = runner.invoke(app, ["capacity", "fit", "--calls", str(tmp_path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "accepted" in r.output and out.exists()
    assert (tmp_path / "s.fit.json").exists()
    load_scenario(out)
    r = runner.invoke(app, ["capacity", "fit", "--out", str(out)])
    assert r.exit_code == 2 and "exactly one of --calls or --tickets" in r.output
    assert "Traceback" not in r.output
