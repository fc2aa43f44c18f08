"""Does a fitted scenario reproduce the history it was fitted on? Per class: SLA attainment
(first response, resolution), abandonment and mean wait of the history next to the same
measures of simulated replications of the fitted scenario over the same period.

Conventions are the simulator's (:mod:`slarisk.capacity.sim.outcomes`), applied to both
sides by one function (:func:`ticket_measures`): clocks from
:func:`slarisk.sla.clock.compute_clocks` at the end of the period; an abandoned ticket is a
first-response miss only when it waited beyond the target, and is left out of resolution;
clocks still open and not yet due are undecided (left out). Classes are named as the fit names
them (``priority-tier-channel``). Abandonment = abandoned / arrived; mean wait = seconds from
creation to the first response of answered tickets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.capacity.sim.compile import CompiledScenario
from slarisk.capacity.sim.results import SimResult, t_interval
from slarisk.capacity.sim.run import simulate
from slarisk.data.schema import TICKET_COLUMNS
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import Policy

MEASURES = ("first_response", "resolution", "abandonment", "mean_wait_seconds")
_BASE = list(TICKET_COLUMNS)


def class_names(tickets: pd.DataFrame) -> np.ndarray:
    """The fit's class name of each ticket: ``priority-tier-channel`` without unknown parts."""
    parts = [
        tickets[c].astype(str) if c in tickets else pd.Series("unknown", index=tickets.index)
        for c in ("priority", "tier", "channel")
    ]
    out = []
    for p, t, c in zip(*(x.to_numpy() for x in parts), strict=True):
        out.append("-".join(x for x in (p, t, c) if x != "unknown") or "all")
    return np.asarray(out, dtype=object)


def ticket_measures(
    tickets: pd.DataFrame, events: pd.DataFrame | None, policy: Policy, now: pd.Timestamp
) -> pd.DataFrame:
    """Per class (and ``ALL``): attainment of each metric, abandonment, mean wait (seconds)
    and counts, for tickets judged at ``now``. Columns ``class, measure, value, n``."""
    t = tickets.reset_index(drop=True)
    base = t[[c for c in _BASE if c in t]].copy()
    for col in _BASE:
        if col not in base:
            base[col] = "unknown"
    ev = events if events is not None and len(events) else None
    if ev is not None:
        ev = ev[ev["ticket_id"].isin(set(base["ticket_id"]))]
    clocks = compute_clocks(base[_BASE], policy, events=ev, now=now)
    if "abandoned" in t:
        ab = t["abandoned"].fillna(False).to_numpy(dtype=bool)
    else:
        ab = t["status"].astype(str).eq("abandoned").to_numpy()
    cls = class_names(t)
    metric = clocks["metric"].to_numpy()
    nmet = len(metric) // max(len(t), 1)
    ab_rep = np.repeat(ab, nmet)
    breached = clocks["breached"].to_numpy(dtype=bool)
    is_open = clocks["is_open"].to_numpy(dtype=bool)
    excluded = clocks["excluded_by"].notna().to_numpy()
    excl = excluded | (ab_rep & ~breached) | (ab_rep & (metric == "resolution"))
    decided = ~excl & ~(is_open & ~breached)
    met = decided & ~breached
    cls_rep = np.repeat(cls, nmet)
    created = pd.to_datetime(t["created_at"], utc=True)
    first = pd.to_datetime(t["first_response_at"], utc=True)
    wait = (first - created).dt.total_seconds().to_numpy(dtype=float)
    answered = ~ab & np.isfinite(wait)
    rows = []
    for name in [*sorted(set(cls)), "ALL"]:
        mt = np.ones(len(t), dtype=bool) if name == "ALL" else cls == name
        mc = np.ones(len(metric), dtype=bool) if name == "ALL" else cls_rep == name
        for m in ("first_response", "resolution"):
            sel = mc & (metric == m) & decided
            n = int(sel.sum())
            rows.append((name, m, float(met[sel].mean()) if n else np.nan, n))
        n_all = int(mt.sum())
        rows.append((name, "abandonment", float(ab[mt].mean()) if n_all else np.nan, n_all))
        w = wait[mt & answered]
        rows.append((name, "mean_wait_seconds", float(w.mean()) if w.size else np.nan, w.size))
    return pd.DataFrame(rows, columns=["class", "measure", "value", "n"])


def simulated_measures(result: SimResult, policy: Policy, now: pd.Timestamp) -> pd.DataFrame:
    """:func:`ticket_measures` of each replication's in-window tickets (``replication``
    column added)."""
    out = []
    for r, g in result.tickets.groupby("replication", sort=True):
        tick = g[g["in_window"]] if "in_window" in g else g
        ev = result.events[result.events["replication"] == r] if len(result.events) else None
        m = ticket_measures(tick, ev, policy, now)
        m.insert(0, "replication", r)
        out.append(m)
    return pd.concat(out, ignore_index=True)


def compare_measures(
    history: pd.DataFrame,
    simulated: pd.DataFrame,
    *,
    tolerance_pp: float = 2.0,
    wait_tolerance: float = 0.10,
) -> pd.DataFrame:
    """History vs simulation per class and measure: the simulated mean over replications
    with its 95% t-interval, the smallest and largest replication (``rep_min``, ``rep_max``:
    how far one period's value can stray, the history being one such period), the
    difference, and ``agrees``: the history's value inside the interval or within
    ``tolerance_pp`` percentage points (mean wait: within ``wait_tolerance`` relative)."""
    rows = []
    for (name, measure), g in simulated.groupby(["class", "measure"], sort=False):
        vals = g["value"].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        hist = history[(history["class"] == name) & (history["measure"] == measure)]
        h = float(hist["value"].iloc[0]) if len(hist) else np.nan
        n_h = int(hist["n"].iloc[0]) if len(hist) else 0
        mean, lo, hi = t_interval(vals) if vals.size else (np.nan, np.nan, np.nan)
        if measure == "mean_wait_seconds":
            lo, close = max(lo, 0.0), abs(mean - h) <= wait_tolerance * max(abs(h), 1.0)
        else:
            lo, hi = max(lo, 0.0), min(hi, 1.0)
            close = abs(mean - h) <= tolerance_pp / 100.0
        inside = bool(lo <= h <= hi)
        agrees = bool(np.isfinite(h) and np.isfinite(mean) and (inside or close))
        if not np.isfinite(h) and not vals.size:
            agrees = True  # nothing to compare on either side
        rows.append(
            {
                "class": name,
                "measure": measure,
                "history": h,
                "history_n": n_h,
                "simulated": mean,
                "lo": lo,
                "hi": hi,
                "rep_min": float(vals.min()) if vals.size else np.nan,
                "rep_max": float(vals.max()) if vals.size else np.nan,
                "difference": mean - h,
                "agrees": agrees,
            }
        )
    return pd.DataFrame(rows)


def history_end(tickets: pd.DataFrame, tz: str) -> pd.Timestamp:
    """When a ticket export is judged: the end of the local date of its last arrival (the
    period a backtest covers), or its latest timestamp when that is later (UTC)."""
    created = pd.to_datetime(tickets["created_at"], utc=True)
    last = created.max().tz_convert(tz).tz_localize(None).normalize() + pd.Timedelta(days=1)
    end = last.tz_localize(tz, ambiguous=False, nonexistent="shift_forward").tz_convert("UTC")
    stamps = [pd.to_datetime(tickets[c], utc=True).max() for c in _STAMPS if c in tickets]
    return max([end, *(x for x in stamps if pd.notna(x))])


_STAMPS = ("created_at", "first_response_at", "resolved_at")


def check_round_trip(
    model: CompiledScenario,
    tickets: pd.DataFrame,
    events: pd.DataFrame | None,
    replications: int,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate a fitted scenario and compare it per class with the history it was fitted on
    (:func:`compare_measures`), both under the scenario's policy: the history judged at
    :func:`history_end`, the simulation at the end of its horizon (a backtest covers the
    history's own period, so both ends coincide)."""
    policy = model.policy
    if policy is None:
        raise ValueError("the scenario has no policy to judge attainment with")
    res = simulate(model, replications=replications, seed=seed)
    sim_end = pd.Timestamp(model.start_ns, tz="UTC") + pd.Timedelta(seconds=model.horizon)
    hist = ticket_measures(tickets, events, policy, history_end(tickets, model.scenario.timezone))
    return compare_measures(hist, simulated_measures(res, policy, sim_end))
