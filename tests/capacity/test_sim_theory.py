"""The simulator against queueing theory: Erlang C, Erlang A and Cobham's priority formula.

Oracles come from slarisk.capacity.erlang (Erlang C/A); Cobham's formula is written here.
Every check uses a fixed seed (reproducible) and asks that the exact value lies inside the
95% t-interval over replication means.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from slarisk.capacity.erlang import erlang_a_metrics, erlang_c, erlang_c_metrics
from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import simulate, t_interval


def mmc_spec(
    agents: int,
    rate_per_hour: float | list[float],
    aht_seconds: float,
    hours: float,
    warmup_hours: float,
    *,
    patience_seconds: float | None = None,
    classes: list[dict[str, Any]] | None = None,
    dispatch: str = "fifo",
) -> dict[str, Any]:
    """A stationary M/M/c(+M) scenario as a mapping (single team, constant staffing)."""
    handle = {"dist": "exponential", "mean": aht_seconds, "unit": "seconds"}
    if classes is None:
        cls: dict[str, Any] = {"name": "calls", "priority": "P1", "share": 1.0, "handle": handle}
        if patience_seconds is not None:
            cls["patience"] = {"dist": "exponential", "mean": patience_seconds, "unit": "seconds"}
        classes = [cls]
    return {
        "name": "mmc",
        "start": "2026-01-05T00:00:00Z",
        "horizon_hours": hours,
        "warmup_hours": warmup_hours,
        "drain": True,  # customers still waiting at the horizon get served (no NaN waits)
        "dispatch": dispatch,
        "classes": classes,
        "arrivals": {"hourly_rates": [rate_per_hour] * 168},
        "staffing": {"constant": {"agents": agents}},
    }


def per_replication(result: Any, fn: Any, cls: str | None = None) -> np.ndarray:
    """fn(in-window tickets of one replication) for each replication."""
    t = result.tickets
    assert t.loc[t["in_window"], "wait_seconds"].notna().all()
    t = t[t["in_window"]]
    if cls is not None:
        t = t[t["class"] == cls]
    return np.array([fn(g) for _, g in t.groupby("replication")])


def inside(values: np.ndarray, exact: float) -> tuple[bool, tuple[float, float, float]]:
    m, lo, hi = t_interval(values)
    return lo <= exact <= hi, (m, lo, hi)


def test_mmc_matches_erlang_c_over_two_million_customers() -> None:
    c, aht, t = 20, 300.0, 20.0
    load = 0.85 * c
    rate = load / aht * 3600.0  # 204 per hour
    reps = 10
    hours = 1000.0  # ~204,000 customers per replication, 2.04 million in all
    sc = scenario_from_dict(mmc_spec(c, rate, aht, hours, 5.0))
    res = simulate(sc, replications=reps, seed=20260105, workers=2)
    n_total = int(res.tickets["in_window"].sum())
    assert n_total >= 2_000_000
    exact = erlang_c_metrics(c, load, aht, t)
    checks = {
        "P(W>0)": (lambda g: float((g["wait_seconds"] > 0).mean()), float(exact.p_wait)),
        "P(W<=t)": (lambda g: float((g["wait_seconds"] <= t).mean()), float(exact.service_level)),
        "mean wait": (lambda g: float(g["wait_seconds"].mean()), float(exact.asa)),
    }
    report = {}
    for name, (fn, value) in checks.items():
        ok, ci = inside(per_replication(res, fn), value)
        report[name] = (value, ci)
        assert ok, f"{name}: exact {value:.5f} outside simulated 95% CI {ci}"
        assert abs(ci[0] - value) <= 0.05 * value + 1e-3
    print(f"\nM/M/{c} rho=0.85, {n_total:,} customers: {report}")


def test_mmn_plus_m_matches_erlang_a() -> None:
    n, aht, patience = 10, 300.0, 600.0
    rate = 10 / aht * 3600.0 * 1.0  # rho = 1.0: abandonment does the balancing
    sc = scenario_from_dict(mmc_spec(n, rate, aht, 600.0, 5.0, patience_seconds=patience))
    res = simulate(sc, replications=8, seed=7, workers=2)
    exact = erlang_a_metrics(n, rate / 3600.0, aht, patience, 20.0)
    p_ab = per_replication(res, lambda g: float(g["abandoned"].mean()))
    mean_wait = per_replication(res, lambda g: float(g["wait_seconds"].mean()))
    ok_ab, ci_ab = inside(p_ab, float(exact.p_abandon))
    ok_w, ci_w = inside(mean_wait, float(exact.mean_wait))
    print(
        f"\nErlang A n={n}: P(ab) {float(exact.p_abandon):.5f} CI {ci_ab}; "
        f"mean wait {float(exact.mean_wait):.3f} CI {ci_w}"
    )
    assert ok_ab, (float(exact.p_abandon), ci_ab)
    assert ok_w, (float(exact.mean_wait), ci_w)


def cobham_waits(c: int, lams: list[float], mu: float) -> list[float]:
    """Mean waits of strict non-preemptive priority M/M/c classes (equal service rates)."""
    lam = sum(lams)
    a = lam / mu
    pc = float(erlang_c(c, a))
    w0 = pc / (c * mu)
    out, sigma = [], 0.0
    for lk in lams:
        prev = sigma
        sigma += lk / (c * mu)
        out.append(w0 / ((1 - prev) * (1 - sigma)))
    return out


def test_three_class_priority_matches_cobham() -> None:
    c, aht = 8, 300.0
    mu = 1 / aht
    lams = [0.2 * 0.9 * c * mu, 0.3 * 0.9 * c * mu, 0.5 * 0.9 * c * mu]  # rho = 0.9
    handle = {"dist": "exponential", "mean": aht, "unit": "seconds"}
    classes = [
        {"name": f"k{i}", "priority": f"P{i + 1}", "share": lams[i], "handle": handle}
        for i in range(3)
    ]
    rate = sum(lams) * 3600.0
    sc = scenario_from_dict(
        mmc_spec(c, rate, aht, 1000.0, 10.0, classes=classes, dispatch="priority")
    )
    res = simulate(sc, replications=8, seed=11, workers=2)
    exact = cobham_waits(c, lams, mu)
    for i, value in enumerate(exact):
        waits = per_replication(res, lambda g: float(g["wait_seconds"].mean()), cls=f"k{i}")
        ok, ci = inside(waits, value)
        print(f"\nclass P{i + 1}: Cobham {value:.3f} s, simulated {ci}")
        assert ok, (f"P{i + 1}", value, ci)
    assert math.isfinite(exact[2])


@pytest.mark.parametrize("dispatch", ["fifo", "priority"])
def test_single_class_dispatch_rules_agree(dispatch: str) -> None:
    """With one class, fifo and priority dispatch are the same queue (same seed -> same waits)."""
    sc = scenario_from_dict(mmc_spec(3, 30.0, 300.0, 50.0, 1.0, dispatch=dispatch))
    res = simulate(sc, replications=1, seed=3)
    ref = simulate(scenario_from_dict(mmc_spec(3, 30.0, 300.0, 50.0, 1.0)), 1, seed=3)
    np.testing.assert_allclose(res.tickets["wait_seconds"], ref.tickets["wait_seconds"])
