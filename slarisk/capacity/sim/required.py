"""Agents a scenario's expected demand requires per KPI interval, by the formulas (to set
next to the agents rostered and the agents the simulation kept busy).

Expected arrivals per class and interval come from the compiled rate grid (profile, spikes,
added customers; a replay scenario counts its replayed tickets). Work per ticket = mean handle
time x mean touches. Synchronous classes are pooled into one Erlang C queue (their weighted
mean work per ticket) whose service level goal is the highest first-response goal among them,
within the shortest first-response target; asynchronous classes into one backlog queue
(:func:`slarisk.capacity.backlog.backlog_requirements`) whose work must be done within the
shortest first-response target. Targets are taken as wall-clock seconds (a business-hours
target is longer in wall-clock time, so this errs on the side of more agents). Without a
policy: ``service_level_seconds`` with an 80 % goal for sync classes, 8 hours for async.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.capacity.backlog import backlog_requirements
from slarisk.capacity.erlang import required_agents
from slarisk.capacity.scenario import (
    Count,
    EmpiricalCount,
    FixedCount,
    duration_mean_seconds,
)
from slarisk.capacity.sim.compile import CompiledScenario, utc_times

#: defaults when the scenario has no policy target for a class.
DEFAULT_SYNC_GOAL = 0.8
DEFAULT_SYNC_WITHIN = 60.0
DEFAULT_ASYNC_SECONDS = 8 * 3600.0


def _mean_count(d: Count) -> float:
    if isinstance(d, FixedCount):
        return float(d.value)
    if isinstance(d, EmpiricalCount):
        return float(np.mean(d.values))
    return float(max(d.mean, 1.0))


def expected_arrivals(model: CompiledScenario, edges: np.ndarray) -> np.ndarray:
    """(classes, bins) expected arrivals in each bin of ``edges`` (seconds since start)."""
    rates = model.class_rates.copy()
    for _, added in model.added:
        rates = rates + added
    grid = model.grid_edges
    cum = np.concatenate(
        [np.zeros((rates.shape[0], 1)), np.cumsum(rates * np.diff(grid), axis=1)], axis=1
    )
    out = np.vstack([np.diff(np.interp(edges, grid, row)) for row in cum])
    if model.replay is not None:
        t = model.replay.t
        k = model.replay.cls
        b = np.searchsorted(edges, t, side="right") - 1
        ok = (b >= 0) & (b < len(edges) - 1)
        np.add.at(out, (k[ok], b[ok]), 1.0)
    return out


def required_by_interval(model: CompiledScenario) -> pd.DataFrame:
    """Per KPI interval over the horizon: ``interval_start``, ``required_sync``,
    ``required_async`` and ``required`` (productive agents, no shrinkage)."""
    sc = model.scenario
    step = sc.kpi_interval_minutes * 60.0
    nb = max(1, int(np.ceil(model.horizon / step)))
    edges = np.arange(nb + 1) * step
    arrivals = expected_arrivals(model, edges)
    work = np.array([duration_mean_seconds(c.handle) * _mean_count(c.touches) for c in sc.classes])
    sync = np.array([c.mode == "sync" for c in sc.classes])
    fr = model.targets[:, 0] if model.targets.size else np.full(len(sc.classes), np.nan)
    goals = np.array(
        [
            model.policy.target_for(c.tier, c.priority, "first_response").goal
            if model.policy is not None
            else DEFAULT_SYNC_GOAL
            for c in sc.classes
        ]
    )
    req_sync = np.zeros(nb)
    req_async = np.zeros(nb)
    if sync.any():
        vol = arrivals[sync].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            aht = np.where(vol > 0, (arrivals[sync] * work[sync, None]).sum(axis=0) / vol, 1.0)
        within = np.nanmin(fr[sync]) if np.isfinite(fr[sync]).any() else np.nan
        if not np.isfinite(within):
            within = float(sc.service_level_seconds or DEFAULT_SYNC_WITHIN)
        goal = float(np.clip(goals[sync].max(), 0.01, 0.999))
        res = required_agents(vol, np.maximum(aht, 1e-9), step, target_sl=goal, within=within)
        req_sync = res.agents_raw.astype(float)
    if (~sync).any():
        w = (arrivals[~sync] * work[~sync, None]).sum(axis=0)
        target = np.nanmin(fr[~sync]) if np.isfinite(fr[~sync]).any() else DEFAULT_ASYNC_SECONDS
        res_b = backlog_requirements(w, 1.0, step, float(target))
        req_async = res_b.agents_raw.ravel().astype(float)
    return pd.DataFrame(
        {
            "interval_start": utc_times(model.start_ns, edges[:-1]),
            "required_sync": req_sync,
            "required_async": req_async,
            "required": req_sync + req_async,
        }
    )
