"""Does a fitted desk reproduce its log's SLA attainment? Per priority and metric: the log's
attainment (the SLA engine on the imported tickets and status events, under the policy) next
to the simulated attainment of the fitted scenario under the same policy.

Both sides count decided clocks only (met / (met + breached); clocks excluded by an exception,
or open and not yet due, are left out), like ``slarisk sla report``; the simulated side pools
the replications' in-window tickets (:mod:`slarisk.capacity.sim.outcomes`) and gives the
spread of the per-replication values as a 95% t-interval. :func:`peak_roster` staffs a
fitted desk whose log has no staffing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim.compile import CompiledScenario, compile_scenario
from slarisk.capacity.sim.results import SimResult, t_interval
from slarisk.capacity.sim.run import simulate
from slarisk.data.schema import TICKET_COLUMNS
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import Policy

METRICS = ("first_response", "resolution")


def log_attainment(
    tickets: pd.DataFrame,
    events: pd.DataFrame | None,
    policy: Policy,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per priority and metric of a ticket log: ``n`` decided clocks, ``met``, attainment.

    ``now`` judges open clocks (default: the latest timestamp of the tickets)."""
    t = tickets.reset_index(drop=True)
    base = t[[c for c in TICKET_COLUMNS if c in t]].copy()
    for col in TICKET_COLUMNS:
        if col not in base:
            base[col] = "unknown"
    if now is None:
        stamps = [pd.to_datetime(t[c], utc=True).max() for c in ("created_at", "resolved_at")]
        now = max(x for x in stamps if pd.notna(x))
    ev = events if events is not None and len(events) else None
    clocks = compute_clocks(base[list(TICKET_COLUMNS)], policy, events=ev, now=now)
    breached = clocks["breached"].to_numpy(dtype=bool)
    undecided = clocks["is_open"].to_numpy(dtype=bool) & ~breached
    decided = ~clocks["excluded_by"].notna().to_numpy() & ~undecided
    frame = pd.DataFrame(
        {
            "priority": clocks["priority"].astype(str).to_numpy(),
            "metric": clocks["metric"].to_numpy(),
            "n": decided.astype(int),
            "met": (decided & ~breached).astype(int),
        }
    )
    out = frame.groupby(["priority", "metric"], as_index=False)[["n", "met"]].sum()
    out["attainment"] = out["met"] / out["n"].where(out["n"] > 0)
    return out


def simulated_attainment(result: SimResult, model: CompiledScenario) -> pd.DataFrame:
    """Per priority and metric of a simulation: pooled attainment over the replications,
    the mean of the per-replication values with its 95% t-interval, decided clocks."""
    prio = {c.name: c.priority for c in model.scenario.classes}
    o = result.outcomes.copy()
    o["priority"] = o["class"].map(prio)
    per = o.groupby(["priority", "metric", "replication"], as_index=False)[["n", "met"]].sum()
    rows = []
    for (p, m), g in per.groupby(["priority", "metric"], sort=True):
        n = g["n"].to_numpy(dtype=float)
        vals = g["met"].to_numpy(dtype=float)[n > 0] / n[n > 0]
        mean, lo, hi = t_interval(vals) if vals.size else (np.nan, np.nan, np.nan)
        pooled = g["met"].sum() / g["n"].sum() if g["n"].sum() else np.nan
        rows.append((p, m, int(g["n"].sum()), float(pooled), mean, max(lo, 0.0), min(hi, 1.0)))
    return pd.DataFrame(
        rows, columns=["priority", "metric", "n", "attainment", "rep_mean", "lo", "hi"]
    )


def compare_attainment(log: pd.DataFrame, sim: pd.DataFrame) -> pd.DataFrame:
    """Log vs simulation per priority and metric; ``difference_pp`` = simulated - log, in
    percentage points; ``se_pp`` the binomial standard error of that difference (both sides'
    sample sizes)."""
    m = log.merge(sim, on=["priority", "metric"], how="outer", suffixes=("_log", "_sim"))
    p_log, p_sim = m["attainment_log"], m["attainment_sim"]
    se = np.sqrt(
        p_log * (1 - p_log) / m["n_log"].clip(lower=1)
        + p_sim * (1 - p_sim) / m["n_sim"].clip(lower=1)
    )
    return pd.DataFrame(
        {
            "priority": m["priority"],
            "metric": m["metric"],
            "log_n": m["n_log"],
            "log": p_log,
            "simulated_n": m["n_sim"],
            "simulated": p_sim,
            "difference_pp": 100 * (p_sim - p_log),
            "se_pp": 100 * se,
        }
    ).sort_values(["priority", "metric"], ignore_index=True)


def peak_roster(
    mapping: dict[str, Any],
    policy: Policy | None,
    *,
    weeks: int = 4,
    occupancy: float = 0.85,
    seed: int = 0,
) -> list[float]:
    """A weekly roster (agents per hour of the week, local time) for a fitted desk whose log
    has no staffing: the scenario ``mapping`` is simulated for ``weeks`` weeks with agents
    never short (one replication), and each hour of the week gets the most agents busy in
    any of its quarter-hours over those weeks / ``occupancy``, rounded up.

    The log's own spells already hold the waits for an agent, so the fitted desk must not
    add a queue of its own: with touches timed by calendars (many start when the office
    opens), a roster from the mean offered load leaves bursts waiting for hours.
    """
    m = {k: v for k, v in mapping.items() if k != "policy"}
    m.update(
        horizon_days=7.0 * weeks,
        drain=False,
        kpi_interval_minutes=15,
        staffing={"teams": [{"name": "agents", "serves": ["*"]}], "constant": {"agents": 5000}},
    )
    sc = scenario_from_dict(m)
    model = compile_scenario(sc, policy)
    res = simulate(model, replications=1, seed=seed)
    k = res.kpis
    local = pd.to_datetime(k["interval_start"], utc=True).dt.tz_convert(sc.timezone)
    how = (local.dt.day_of_week * 24 + local.dt.hour).to_numpy()
    peak = np.zeros(168)
    np.maximum.at(peak, how, k["busy"].to_numpy(dtype=float))
    return [float(np.ceil(x / occupancy - 1e-9)) if x > 1e-9 else 0.0 for x in peak]
