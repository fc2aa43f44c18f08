"""Per-interval KPIs of one replication (arrivals, queue, agents, present, busy, occupancy,
answered, abandoned, service level; per team: agents, present, busy, occupancy), as time
averages over ``kpi_interval_minutes`` bins computed vectorised from the engine's records.

``agents`` are the rostered agents; ``present`` adds the agents whose shift or break began
while they were busy and who finish the work in hand first (departures are non-preemptive).
Occupancy is busy / present, so it never exceeds 1 (busy / rostered did: up to 1.56 in the
interval after a shift end, when a team's leavers were still finishing their tickets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.capacity.sim.compile import CompiledScenario, utc_times
from slarisk.capacity.sim.draws import Draws
from slarisk.capacity.sim.engine import EngineOutput


def span_average(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average number of open spans [start, end) in each bin of `edges` (vectorised)."""
    starts = np.sort(np.asarray(starts, dtype=float))
    ends = np.sort(np.asarray(ends, dtype=float))

    def integral(t: np.ndarray) -> np.ndarray:
        # integral_0^t of #spans open = sum_{a<t}(t-a) - sum_{b<t}(t-b)
        na = np.searchsorted(starts, t)
        nb = np.searchsorted(ends, t)
        ca = np.concatenate(([0.0], np.cumsum(starts)))
        cb = np.concatenate(([0.0], np.cumsum(ends)))
        return (t * na - ca[na]) - (t * nb - cb[nb])

    f = integral(np.asarray(edges, dtype=float))
    return np.diff(f) / np.diff(edges)


def step_average(times: np.ndarray, levels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of a right-continuous step function (level[i] from times[i]) per bin."""
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if times.size == 0:
        return np.zeros(len(edges) - 1)
    knots = np.concatenate((times, [max(edges[-1], times[-1])]))
    cum = np.concatenate(([0.0], np.cumsum(levels * np.diff(knots))))
    f = np.interp(edges, knots, cum, left=0.0)
    return np.diff(f) / np.diff(edges)


def total_staffing(model: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    """Change times (s) and total agents rostered across teams after each change."""
    level = [0] * len(model.team_names)
    times: list[float] = []
    totals: list[int] = []
    for t, team, a in model.staff_changes:
        level[team] = a
        if times and times[-1] == t:
            totals[-1] = sum(level)
        else:
            times.append(t)
            totals.append(sum(level))
    return np.asarray(times), np.asarray(totals)


def present_agents(
    model: CompiledScenario, out: EngineOutput, end: float, team: int, edges: np.ndarray
) -> np.ndarray:
    """Time-average agents of ``team`` present per bin: max(rostered, busy) at every instant.

    An agent due to leave while busy stays until the touch ends and then leaves at once (a
    team never has free agents while some are owed), so present = rostered + those still
    finishing = max(rostered, busy)."""
    m = out.seg_team == team
    s = out.seg_start[m]
    e = np.maximum(np.minimum(s + out.seg_dur[m], end), s)
    ch = [(t, a) for t, k, a in model.staff_changes if k == team]
    ch_t = np.array([c[0] for c in ch], dtype=float)
    ch_a = np.array([c[1] for c in ch], dtype=float)
    t = np.concatenate([s, e, ch_t])
    step = np.concatenate([np.ones(s.size), -np.ones(e.size), np.zeros(ch_t.size)])
    order = np.argsort(t, kind="stable")
    t, busy = t[order], np.cumsum(step[order])
    idx = np.searchsorted(ch_t, t, side="right") - 1
    rostered = np.where(idx >= 0, ch_a[np.clip(idx, 0, None)], 0.0) if ch_t.size else 0.0 * t
    return step_average(t, np.maximum(busy, rostered), edges)


def team_kpis(
    model: CompiledScenario, out: EngineOutput, end: float, starts: pd.Series, rep: int
) -> pd.DataFrame:
    """Per team and interval: rostered agents, busy agents (time averages), occupancy."""
    step = model.scenario.kpi_interval_minutes * 60.0
    edges = np.arange(len(starts) + 1) * step
    frames = []
    for ti, team in enumerate(model.team_names):
        m = out.seg_team == ti
        busy = span_average(
            out.seg_start[m], np.minimum(out.seg_start[m] + out.seg_dur[m], end), edges
        )
        ch = [(t, a) for t, k, a in model.staff_changes if k == ti]
        agents = step_average(np.array([c[0] for c in ch]), np.array([c[1] for c in ch]), edges)
        present = present_agents(model, out, end, ti, edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            occ = np.where(present > 0, np.minimum(busy / present, 1.0), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "replication": rep,
                    "interval_start": starts.to_numpy(),
                    "team": team,
                    "agents": agents,
                    "present": present,
                    "busy": busy,
                    "occupancy": occ,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def interval_kpis(
    model: CompiledScenario,
    d: Draws,
    out: EngineOutput,
    end: float,
    abandoned: np.ndarray,
    in_service: np.ndarray,
    met_fr: np.ndarray,
    rep: int,
) -> pd.DataFrame:
    """Per-interval KPIs over [0, max(horizon, end)) in kpi_interval_minutes bins."""
    step = model.scenario.kpi_interval_minutes * 60.0
    top = max(model.horizon, end)
    edges = np.arange(0.0, top + step, step)
    edges = edges[edges <= top + step - 1e-9]
    if edges[-1] < top:
        edges = np.append(edges, edges[-1] + step)
    nb = len(edges) - 1
    n = len(d.t)
    # waiting spans: first touch from arrival, later touches from the end of the customer wait
    seg_order = np.lexsort((out.seg_start, out.seg_ticket))
    st, ss = out.seg_ticket[seg_order], out.seg_start[seg_order]
    first_seg = np.ones(st.size, dtype=bool)
    first_seg[1:] = st[1:] != st[:-1]
    w_order = np.lexsort((out.wait_start, out.wait_ticket))
    wt, we = out.wait_ticket[w_order], out.wait_end[w_order]
    w_first = np.full(n, -1, dtype=np.int64)
    if wt.size:
        uniq, idx = np.unique(wt, return_index=True)
        w_first[uniq] = idx
    touch_ix = np.arange(st.size) - np.maximum.accumulate(
        np.where(first_seg, np.arange(st.size), 0)
    )
    ready = out.ready if out.ready is not None else d.t  # queued after the pickup (lifecycle)
    entry = np.where(
        first_seg,
        ready[st],
        we[np.clip(w_first[st] + touch_ix - 1, 0, max(wt.size - 1, 0))] if wt.size else ready[st],
    )
    q_start = [entry]
    q_end = [ss]
    ab = np.isfinite(abandoned)
    q_start.append(d.t[ab])
    q_end.append(abandoned[ab])
    done = np.bincount(out.seg_ticket, minlength=n)
    waiting = ~np.isfinite(out.resolved) & ~ab & ~in_service
    last_we = np.full(n, -np.inf)
    if out.wait_ticket.size:
        np.maximum.at(last_we, out.wait_ticket, out.wait_end)
    wq = waiting & (((done == 0) & (ready <= end)) | ((done > 0) & (last_we <= end)))
    q_start.append(np.where(done[wq] == 0, ready[wq], last_we[wq]))
    q_end.append(np.full(int(wq.sum()), end))
    queue = span_average(np.concatenate(q_start), np.concatenate(q_end), edges)
    busy = span_average(out.seg_start, np.minimum(out.seg_start + out.seg_dur, end), edges)
    ct, cl = total_staffing(model)
    agents = step_average(ct, cl, edges)
    present = sum(
        (present_agents(model, out, end, ti, edges) for ti in range(len(model.team_names))),
        np.zeros(nb),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        # min(): float noise only (busy <= present at every instant)
        occ = np.where(present > 0, np.minimum(busy / present, 1.0), np.nan)
    arr_bin = np.clip(np.searchsorted(edges, d.t, side="right") - 1, 0, nb - 1)
    arrivals = np.bincount(arr_bin, minlength=nb)[:nb]
    fs = out.first_start[np.isfinite(out.first_start)]
    answered = np.bincount(
        np.clip(np.searchsorted(edges, fs, side="right") - 1, 0, nb - 1), minlength=nb
    )[:nb]
    abd = abandoned[ab]
    abandons = np.bincount(
        np.clip(np.searchsorted(edges, abd, side="right") - 1, 0, nb - 1), minlength=nb
    )[:nb]
    ok = np.isfinite(met_fr)
    sl_n = np.bincount(arr_bin[ok], minlength=nb)[:nb]
    sl_met = np.bincount(arr_bin[ok], weights=met_fr[ok], minlength=nb)[:nb]
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(sl_n > 0, sl_met / np.maximum(sl_n, 1), np.nan)
    return pd.DataFrame(
        {
            "replication": rep,
            "interval_start": utc_times(model.start_ns, edges[:-1]),
            "arrivals": arrivals,
            "queue": queue,
            "agents": agents,
            "present": present,
            "busy": busy,
            "occupancy": occ,
            "answered": answered,
            "abandoned": abandons,
            "service_level": sl,
        }
    )
