"""Staffing (effective agents on duty per interval) estimated from the service records of a
call log, and helpers for interval rosters.

Four methods, compared in docs/realdata_fit.md: ``distinct`` (agents that served in the
interval), ``busy`` (agent busy seconds / interval / occupancy), ``span`` (each agent is on
duty from the start of the first to the end of the last call of a session; calls more than
``gap`` apart split sessions) and ``available`` (``span`` minus the agent time between calls
while callers were waiting). Times are UTC; intervals in minutes; durations in seconds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from slarisk.capacity.arrivals import WEEK_MINUTES
from slarisk.errors import InputError

StaffingMethod = Literal["distinct", "busy", "span", "available"]
STAFFING_METHODS: tuple[str, ...] = ("distinct", "busy", "span", "available")


def epoch_ns(ts: pd.Series) -> np.ndarray:
    """Timestamps -> int64 nanoseconds since the epoch (whatever the stored unit)."""
    return np.asarray(
        pd.to_datetime(ts, utc=True).astype("datetime64[ns, UTC]").astype("int64"), dtype=np.int64
    )


def _interval_edges(
    start: pd.Timestamp, end: pd.Timestamp, interval_minutes: int
) -> pd.DatetimeIndex:
    return pd.date_range(
        start.floor(f"{interval_minutes}min"),
        end.ceil(f"{interval_minutes}min"),
        freq=f"{interval_minutes}min",
    )


def occupancy_integral(starts: np.ndarray, ends: np.ndarray, edges_ns: np.ndarray) -> np.ndarray:
    """Integral (seconds) of the number of open spans over each [edge_i, edge_i+1).

    ``starts``/``ends``/``edges_ns`` are int64 nanoseconds; spans with end <= start count 0.
    Vectorised: the step function of open spans is integrated piecewise between events.
    """
    keep = ends > starts
    s, e = starts[keep], ends[keep]
    t = np.concatenate([s, e, edges_ns])
    d = np.concatenate([np.ones(len(s)), -np.ones(len(e)), np.zeros(len(edges_ns))])
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    level = np.cumsum(d)
    seg = np.diff(t).astype(float) / 1e9
    lev = level[:-1]
    idx = np.searchsorted(edges_ns, t[:-1], side="right") - 1
    ok = (idx >= 0) & (idx < len(edges_ns) - 1)
    return np.bincount(idx[ok], weights=(lev * seg)[ok], minlength=len(edges_ns) - 1)


def agent_sessions(calls: pd.DataFrame, gap_seconds: float = 1800.0) -> pd.DataFrame:
    """Each agent's on-duty sessions inferred from served calls.

    A session runs from the start of an agent's first call to the end of the last; a pause of
    more than ``gap_seconds`` between calls starts a new one. Columns ``server, start, end,
    calls`` (UTC). Calls without a named agent (``NO_SERVER``) are skipped.
    """
    s = calls.loc[
        calls["served"] & (calls["server"] != "NO_SERVER"),
        ["server", "service_start_at", "service_end_at"],
    ].sort_values(["server", "service_start_at"], kind="stable")
    if s.empty:
        return pd.DataFrame({"server": [], "start": [], "end": [], "calls": []})
    st = epoch_ns(s["service_start_at"])
    en = epoch_ns(s["service_end_at"])
    srv = s["server"].to_numpy()
    # running max of call ends per agent (a call may end before an earlier, longer one)
    run_end = s.assign(e=en).groupby("server", sort=False)["e"].cummax().to_numpy()
    prev_end = np.concatenate([[np.iinfo(np.int64).min], run_end[:-1]])
    new_agent = np.concatenate([[True], srv[1:] != srv[:-1]])
    new = new_agent | (st - prev_end > gap_seconds * 1e9)
    sid = np.cumsum(new) - 1
    g = pd.DataFrame({"sid": sid, "server": srv, "st": st, "en": run_end})
    agg = g.groupby("sid").agg(
        server=("server", "first"), start=("st", "min"), end=("en", "max"), calls=("st", "size")
    )
    agg["start"] = pd.to_datetime(agg["start"], utc=True)
    agg["end"] = pd.to_datetime(agg["end"], utc=True)
    return agg.reset_index(drop=True)


def estimate_staffing(
    calls: pd.DataFrame,
    interval_minutes: int = 60,
    method: StaffingMethod = "span",
    *,
    gap_seconds: float = 1800.0,
    occupancy: float | None = None,
    team: str = "agents",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Effective agents on duty per interval, from served calls (canonical interval staffing).

    Methods: ``distinct`` = number of distinct named agents with service in the interval;
    ``busy`` = agent busy seconds in the interval / interval seconds / ``occupancy``
    (default 1: the busy-agent count itself); ``span`` = time-average of agents inside an
    on-duty session (see :func:`agent_sessions`); ``available`` = ``span`` minus the time agents
    spent between calls of a session while callers were waiting (not available to answer,
    e.g. after-call work or short breaks; :func:`unavailable_agent_seconds`).
    Returns ``interval_start, interval_minutes, team, agents`` plus ``busy_agents`` (mean
    agents busy).
    """
    served = calls.loc[calls["served"] & (calls["server"] != "NO_SERVER")]
    if served.empty:
        raise InputError("staffing estimate: no served calls with a named agent")
    st = served["service_start_at"]
    en = served["service_end_at"]
    lo = start if start is not None else st.min()
    hi = end if end is not None else en.max()
    edges = _interval_edges(pd.Timestamp(lo), pd.Timestamp(hi), interval_minutes)
    edges_ns = edges.asi8 if edges.unit == "ns" else edges.as_unit("ns").asi8
    secs = interval_minutes * 60.0
    st_ns = epoch_ns(st)
    en_ns = epoch_ns(en)
    busy = occupancy_integral(st_ns, en_ns, edges_ns) / secs
    if method == "busy":
        occ = 1.0 if occupancy is None else occupancy
        if not 0 < occ <= 1:
            raise InputError("occupancy must be in (0, 1]", field="occupancy")
        agents = busy / occ
    elif method in ("span", "available"):
        sess = agent_sessions(calls, gap_seconds)
        agents = (
            occupancy_integral(
                epoch_ns(sess["start"]),
                epoch_ns(sess["end"]),
                edges_ns,
            )
            / secs
        )
        if method == "available":
            unavailable = unavailable_agent_seconds(calls, edges, gap_seconds) / secs
            agents = np.maximum(agents - unavailable, 0.0)
    elif method == "distinct":
        # an agent counts in every interval that any of its calls overlaps
        i0 = np.searchsorted(edges_ns, st_ns, side="right") - 1
        i1 = np.searchsorted(edges_ns, np.maximum(en_ns - 1, st_ns), side="right") - 1
        span = i1 - i0 + 1
        rep = np.repeat(np.arange(len(i0)), span)
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
        idx = i0[rep] + offs
        srv = served["server"].to_numpy()[rep]
        ok = (idx >= 0) & (idx < len(edges) - 1)
        pairs = pd.DataFrame({"i": idx[ok], "s": srv[ok]}).drop_duplicates()
        agents = np.bincount(pairs["i"].to_numpy(), minlength=len(edges) - 1).astype(float)
    else:
        raise InputError(f"unknown staffing method {method!r}", field="method")
    return pd.DataFrame(
        {
            "interval_start": edges[:-1],
            "interval_minutes": interval_minutes,
            "team": team,
            "agents": agents,
            "busy_agents": busy,
        }
    )


def _seconds_grid_level(starts: np.ndarray, ends: np.ndarray, t0: int, length: int) -> np.ndarray:
    """Number of open spans [start, end) at each second of [t0, t0 + length) (int seconds)."""
    d = np.zeros(length + 1, dtype=np.int32)
    s = np.clip(starts - t0, 0, length)
    e = np.clip(ends - t0, 0, length)
    keep = e > s
    np.add.at(d, s[keep], 1)
    np.add.at(d, e[keep], -1)
    return np.cumsum(d[:-1])


def unavailable_agent_seconds(
    calls: pd.DataFrame, edges: pd.DatetimeIndex, gap_seconds: float = 1800.0
) -> np.ndarray:
    """Agent-seconds per interval in which an agent was inside a session but between calls
    while at least one caller was waiting (so the agent was evidently not available).

    Computed on a one-second grid (the source has whole seconds).
    """
    s = calls.loc[
        calls["served"] & (calls["server"] != "NO_SERVER"),
        ["server", "service_start_at", "service_end_at"],
    ].sort_values(["server", "service_start_at"], kind="stable")
    e_ns = edges.as_unit("ns").asi8
    t0 = int(e_ns[0] // 10**9)
    length = int((e_ns[-1] - e_ns[0]) // 10**9)
    st = (epoch_ns(s["service_start_at"]) // 10**9).astype(np.int64)
    run_end = (
        s.assign(e=epoch_ns(s["service_end_at"]) // 10**9)
        .groupby("server", sort=False)["e"]
        .cummax()
        .to_numpy()
        .astype(np.int64)
    )
    srv = s["server"].to_numpy()
    same = srv[1:] == srv[:-1]
    gap = st[1:] - run_end[:-1]
    m = same & (gap > 0) & (gap <= gap_seconds)
    idle = _seconds_grid_level(run_end[:-1][m], st[1:][m], t0, length)
    q = calls.loc[calls["queued"]]
    qs = (epoch_ns(q["queue_start_at"]) // 10**9).astype(np.int64)
    qe = (epoch_ns(q["queue_exit_at"]) // 10**9).astype(np.int64)
    waiting = _seconds_grid_level(qs, qe, t0, length) > 0
    per_sec = idle * waiting
    step = int((e_ns[1] - e_ns[0]) // 10**9)
    return per_sec.reshape(-1, step).sum(axis=1).astype(float)


def dither_staffing(staffing: pd.DataFrame, sub_minutes: int = 6) -> pd.DataFrame:
    """Split each interval into ``sub_minutes`` pieces with whole agents whose time-average
    equals the fractional ``agents`` of the interval (error diffusion): the extra agent's time
    spread evenly over the interval, where the simulator's own time-sharing
    (:func:`slarisk.capacity.sim.time_shared`) gives it as one block at the start. Canonical
    interval form out."""
    if staffing.empty:
        return staffing[["interval_start", "interval_minutes", "team", "agents"]].copy()
    im = staffing["interval_minutes"].to_numpy(dtype=np.int64)
    if (im % sub_minutes).any():
        raise InputError("sub_minutes must divide every interval_minutes")
    k = im // sub_minutes
    a = np.maximum(staffing["agents"].to_numpy(dtype=float), 0.0)
    rep = np.repeat(np.arange(len(staffing)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    frac = a - np.floor(a)
    whole = np.floor(a)[rep] + _even_spread(frac[rep], j, k[rep])
    base = pd.to_datetime(staffing["interval_start"], utc=True).astype("datetime64[ns, UTC]")
    start_ns = base.astype("int64").to_numpy()[rep] + j * sub_minutes * 60 * 10**9
    return pd.DataFrame(
        {
            "interval_start": pd.to_datetime(start_ns, utc=True),
            "interval_minutes": sub_minutes,
            "team": staffing["team"].to_numpy()[rep],
            "agents": whole,
        }
    )


def _even_spread(frac: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """0/1 per sub-interval j of k so that the mean over the k pieces is round(frac*k)/k."""
    units = np.rint(frac * k)
    return np.floor((j + 1) * units / k + 1e-9) - np.floor(j * units / k + 1e-9)


def weekly_mean(staffing: pd.DataFrame, tz: str, interval_minutes: int) -> list[float]:
    """Mean agents on duty per interval of the week (local), every team together.

    Rows are agent-time: a row of ``agents`` over its ``interval_minutes`` adds
    ``agents x minutes / interval_minutes`` agents to each ``interval_minutes`` interval it
    covers (rows of several teams, or shorter rows, of one interval add up). The mean of an
    interval of the week is over the distinct dates on which the table covers it (an interval
    present for one team and missing for another counts the other as 0 that day).
    """
    n = WEEK_MINUTES // interval_minutes
    if staffing.empty:
        return [0.0] * n
    rows = pd.to_datetime(staffing["interval_start"], utc=True)
    minutes = (
        staffing["interval_minutes"].to_numpy(dtype=np.int64)
        if "interval_minutes" in staffing
        else np.full(len(staffing), interval_minutes, dtype=np.int64)
    )
    step = int(np.gcd.reduce(np.append(minutes, interval_minutes)))
    k = minutes // step  # pieces of `step` minutes per row
    rep = np.repeat(np.arange(len(staffing)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    start_ns = epoch_ns(rows)[rep] + j * step * 60 * 10**9
    weight = staffing["agents"].to_numpy(dtype=float)[rep] * step / interval_minutes
    occurrence = start_ns // (interval_minutes * 60 * 10**9)  # one interval of one date
    occ, inverse = np.unique(occurrence, return_inverse=True)
    per_occ = np.bincount(inverse, weights=weight, minlength=len(occ))
    loc = pd.to_datetime(occ * interval_minutes * 60 * 10**9, utc=True).tz_convert(tz)
    slot = np.asarray(
        (loc.day_of_week * 1440 + loc.hour * 60 + loc.minute) // interval_minutes, dtype=np.int64
    )
    tot = np.bincount(slot, weights=per_occ, minlength=n)
    cnt = np.bincount(slot, minlength=n)
    return [float(x) for x in np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)]


LOAD_BINS: tuple[float, ...] = (0.4, 0.6, 0.8, 1.0)


def _offered_load_per_agent(
    calls: pd.DataFrame, span: pd.DataFrame, handle_seconds: float
) -> np.ndarray:
    """Per hourly interval of ``span``: calls asking for an agent x handle / 3600 / span agents."""
    q = calls.loc[calls["reached_queue"]]
    cnt = q.groupby(pd.to_datetime(q["vru_exit_at"], utc=True).dt.floor("h")).size()
    n = cnt.reindex(pd.DatetimeIndex(span["interval_start"])).fillna(0.0).to_numpy(dtype=float)
    agents = span["agents"].to_numpy(dtype=float)
    return np.where(agents > 0.5, n * handle_seconds / 3600.0 / np.maximum(agents, 1e-9), np.nan)


def availability_by_load(
    calls: pd.DataFrame,
    handle_seconds: float,
    *,
    gap_seconds: float = 1800.0,
    bins: tuple[float, ...] = LOAD_BINS,
) -> pd.Series:
    """Ratio ``available / span`` per bin of offered load per logged-in agent, learned from
    ``calls`` (hourly): agents in session answer less of their time when more callers wait.

    Index: the bin number 0..len(bins) (``np.digitize`` of the load on ``bins``); value: the
    span-weighted ratio (the overall ratio for a bin without data). Load = calls asking for an
    agent in the hour x ``handle_seconds`` / 3600 / span agents.
    """
    span = estimate_staffing(calls, 60, "span", gap_seconds=gap_seconds)
    av = estimate_staffing(calls, 60, "available", gap_seconds=gap_seconds)
    a = av.set_index("interval_start")["agents"].reindex(span["interval_start"]).fillna(0.0)
    x = _offered_load_per_agent(calls, span, handle_seconds)
    ok = np.isfinite(x)
    sp = span["agents"].to_numpy(dtype=float)[ok]
    avv = a.to_numpy(dtype=float)[ok]
    b = np.digitize(x[ok], bins)
    overall = float(avv.sum() / sp.sum()) if sp.sum() > 0 else 1.0
    out = {}
    for k in range(len(bins) + 1):
        m = b == k
        out[k] = float(avv[m].sum() / sp[m].sum()) if sp[m].sum() > 0 else overall
    return pd.Series(out, name="available_over_span")


def span_times_load_ratio(
    calls: pd.DataFrame,
    span: pd.DataFrame,
    ratio: pd.Series,
    handle_seconds: float,
    bins: tuple[float, ...] = LOAD_BINS,
) -> pd.DataFrame:
    """``span`` staffing (hourly) x the learned availability ratio of each hour's load bin."""
    x = _offered_load_per_agent(calls, span, handle_seconds)
    k = np.digitize(np.nan_to_num(x, nan=0.0), bins)
    out = span.copy()
    out["agents"] = out["agents"].to_numpy(dtype=float) * ratio.reindex(k).fillna(1.0).to_numpy()
    return out
