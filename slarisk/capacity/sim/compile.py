"""Scenario compilation: a validated :class:`~slarisk.capacity.scenario.Scenario` -> a
:class:`CompiledScenario` of arrays in seconds since the start (arrival-rate grid, added
customers, replay and backlog tickets, staffing change points, dispatch ranks, SLA targets).
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import Scenario
from slarisk.capacity.sim.roster import staffing_change_points
from slarisk.data.io import load_tickets
from slarisk.errors import InputError
from slarisk.sla.policy import Policy, load_policy

#: resolution of the arrival-rate grid, seconds (spike windows are applied per grid cell).
RATE_GRID_SECONDS = 900.0


def stable_key(name: str) -> int:
    """A stable 32-bit key of a name (for SeedSequence spawn keys)."""
    return zlib.crc32(name.encode("utf-8"))


@dataclass(frozen=True)
class FixedTickets:
    """Tickets whose arrival times are given (replay or backlog), seconds since start."""

    t: np.ndarray  # arrival into the simulation (backlog: 0)
    created: np.ndarray  # created_at, seconds since start (backlog: negative)
    cls: np.ndarray  # class index
    ticket_id: np.ndarray  # str ids (object)
    customer: np.ndarray  # str (object)
    first_response: np.ndarray  # seconds since start or NaN (backlog already responded)


@dataclass(frozen=True)
class BusinessClock:
    """Open intervals of a policy calendar in seconds since the start (sorted, disjoint), for
    lifecycle waits that count open time: ``end(now, secs)`` is when ``secs`` open seconds
    have passed after ``now`` (inf beyond the compiled span)."""

    starts: list[float]
    ends: list[float]
    cum_start: list[float]  # open seconds before each interval
    cum_end: list[float]

    @classmethod
    def of(cls, policy: Policy, name: str, start_ns: int, limit: float) -> BusinessClock | None:
        """The clock of calendar ``name`` over [start - 1 day, start + limit + 2 days]; None
        for an always-open calendar (wall-clock time)."""
        cal = policy.business_calendar(name)
        if cal.always_open:
            return None
        lo, hi = start_ns - 86400 * 10**9, start_ns + int((limit + 2 * 86400.0) * 1e9)
        tab = cal.intervals(lo, hi)
        keep = (tab.ends > lo) & (tab.starts < hi)
        st = (np.maximum(tab.starts[keep], lo) - start_ns) / 1e9
        en = (np.minimum(tab.ends[keep], hi) - start_ns) / 1e9
        cum = np.concatenate(([0.0], np.cumsum(en - st)))
        return cls(st.tolist(), en.tolist(), cum[:-1].tolist(), cum[1:].tolist())

    def end(self, now: float, secs: float) -> float:
        """The instant (s) when ``secs`` open seconds have passed after ``now``."""
        i = bisect_right(self.starts, now) - 1
        used = 0.0
        if i >= 0:
            used = self.cum_start[i] + min(
                max(now - self.starts[i], 0.0), self.ends[i] - self.starts[i]
            )
        target = used + secs
        k = bisect_left(self.cum_end, target)
        if k >= len(self.starts):
            return math.inf
        return max(now, self.starts[k] + (target - self.cum_start[k]))


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario compiled to arrays (seconds since `start`), ready for replications."""

    scenario: Scenario
    start_ns: int
    horizon: float
    warmup: float
    limit: float
    class_names: tuple[str, ...]
    class_keys: tuple[int, ...]
    rank: tuple[int, ...]
    grid_edges: np.ndarray
    class_rates: np.ndarray  # (classes, cells) tickets/second
    added: tuple[tuple[str, np.ndarray], ...]  # (customer, (classes, cells) rates)
    replay: FixedTickets | None
    backlog: FixedTickets | None
    staff_changes: tuple[tuple[float, int, int], ...]  # (time, team, agents)
    team_names: tuple[str, ...]
    team_classes: tuple[tuple[int, ...], ...]
    class_teams: tuple[tuple[int, ...], ...]
    policy: Policy | None
    targets: np.ndarray  # (classes, 2) seconds: first_response, resolution (NaN: no policy)
    #: per class: the clock of its lifecycle waits (None: wall clock)
    clocks: tuple[BusinessClock | None, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def utc_times(start_ns: int, secs: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps of times in seconds since the start (`start_ns`, ns); NaN -> NaT."""
    ok = np.isfinite(secs)
    vals = np.where(ok, start_ns + np.rint(np.where(ok, secs, 0) * 1e9), 0).astype(np.int64)
    arr = vals.astype("datetime64[ns]")
    arr[~ok] = np.datetime64("NaT")
    return pd.DatetimeIndex(arr).tz_localize("UTC")


def _local_index(edges_ns: np.ndarray, tz: str, step_minutes: int) -> np.ndarray:
    """Interval-of-week index (Monday 00:00 local = 0) of each UTC timestamp (ns)."""
    local = pd.DatetimeIndex(pd.to_datetime(edges_ns, utc=True)).tz_convert(tz)
    minutes = local.day_of_week * 1440 + local.hour * 60 + local.minute
    return np.asarray(minutes // step_minutes, dtype=np.int64)


def _rate_grid(sc: Scenario, start_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid edges (s) and per-class base rates (tickets/s) incl. multiplier and spikes."""
    n_cells = max(1, math.ceil(sc.horizon_seconds / RATE_GRID_SECONDS))
    edges = np.minimum(np.arange(n_cells + 1) * RATE_GRID_SECONDS, sc.horizon_seconds)
    starts_ns = start_ns + (edges[:-1] * 1e9).astype(np.int64)
    how = _local_index(starts_ns, sc.timezone, 60)
    hourly = sc.arrivals.weekly_rates_per_hour() / 3600.0
    total = hourly[how]
    shares = np.array([c.share for c in sc.classes], dtype=float)
    shares = shares / shares.sum()
    rates = np.outer(shares, total)
    for spike in sc.arrivals.spikes:
        a = pd.Timestamp(spike.start).tz_convert("UTC").value
        b = pd.Timestamp(spike.end).tz_convert("UTC").value
        inside = (starts_ns >= a) & (starts_ns < b)
        rows = (
            [sc.class_names().index(c) for c in spike.classes]
            if spike.classes
            else list(range(len(sc.classes)))
        )
        for r in rows:
            rates[r, inside] *= spike.multiplier
    return edges, rates


def _added_rates(sc: Scenario, start_ns: int, edges: np.ndarray) -> tuple[tuple[str, Any], ...]:
    """Per added customer: (name, per-class rates over the grid)."""
    out = []
    starts_ns = start_ns + (edges[:-1] * 1e9).astype(np.int64)
    how = _local_index(starts_ns, sc.timezone, 60)
    prof = sc.arrivals.weekly_rates_per_hour()
    shape = prof / prof.sum() if prof.sum() > 0 else np.full(168, 1 / 168)
    for cust in sc.arrivals.added_customers:
        total = cust.tickets_per_week * shape[how] / 3600.0
        if cust.start is not None:
            total = np.where(
                starts_ns >= pd.Timestamp(cust.start).tz_convert("UTC").value, total, 0
            )
        if cust.end is not None:
            total = np.where(starts_ns < pd.Timestamp(cust.end).tz_convert("UTC").value, total, 0)
        if cust.shares:
            sh = np.array([cust.shares.get(c.name, 0.0) for c in sc.classes], dtype=float)
        else:
            sh = np.array([c.share for c in sc.classes], dtype=float)
        if sh.sum() <= 0:
            raise InputError(f"added customer {cust.name!r}: shares are all zero")
        out.append((cust.name, np.outer(sh / sh.sum(), total)))
    return tuple(out)


def _match_classes(df: pd.DataFrame, sc: Scenario, path: str, default: str | None) -> np.ndarray:
    """Class index of each ticket by (priority, tier, channel); InputError for unmatched rows."""
    names = sc.class_names()
    lookup: dict[tuple[str, str, str], int] = {}
    for i, c in enumerate(sc.classes):
        lookup.setdefault((c.priority, c.tier, c.channel), i)
    keys = zip(
        df["priority"].astype(str), df["tier"].astype(str), df["channel"].astype(str), strict=True
    )
    out = np.array([lookup.get(k, -1) for k in keys], dtype=np.int64)
    if (out < 0).any():
        if default is not None:
            out[out < 0] = names.index(default)
        else:
            bad = int(np.flatnonzero(out < 0)[0])
            key = (df["priority"].iloc[bad], df["tier"].iloc[bad], df["channel"].iloc[bad])
            raise InputError(
                f"ticket {df['ticket_id'].iloc[bad]!r} matches no class by (priority, tier, "
                f"channel) = {key}"
                " (set arrivals.replay_default_class, or add the class)",
                path=path,
                field="priority/tier/channel",
            )
    return out


def _fixed_tickets(sc: Scenario, start_ns: int, which: str) -> FixedTickets | None:
    """Replay arrivals (created_at inside the horizon) or the backlog (open at start)."""
    raw = sc.arrivals.replay if which == "replay" else sc.backlog
    if raw is None:
        return None
    path = str(sc.resolve(raw))
    res = load_tickets(path)
    if res.n_quarantined:
        q = res.quarantined.iloc[0]
        raise InputError(
            f"{res.n_quarantined} bad ticket row(s); first: {q['field']}: {q['reason']}",
            path=path,
            row=int(q["row"]),
        )
    df = res.accepted
    created = (
        df["created_at"].astype("datetime64[ns, UTC]").astype("int64").to_numpy() - start_ns
    ) / 1e9
    if which == "replay":
        keep = (created >= 0) & (created < sc.horizon_seconds)
        t = created[keep]
        fr = np.full(keep.sum(), np.nan)
    else:
        resolved = df["resolved_at"].astype("datetime64[ns, UTC]")
        keep = (created < 0) & (resolved.isna().to_numpy() | (resolved.astype("int64") > start_ns))
        t = np.zeros(keep.sum())
        frs = df["first_response_at"].astype("datetime64[ns, UTC]")[keep]
        fr = np.where(frs.isna(), np.nan, (frs.astype("int64") - start_ns) / 1e9)
        fr = np.where(fr < 0, fr, np.nan)  # responded after start: not yet responded at start
    sub = df.loc[keep]
    cls = _match_classes(sub, sc, path, sc.arrivals.replay_default_class)
    return FixedTickets(
        t=np.asarray(t, dtype=float),
        created=np.asarray(created[keep], dtype=float),
        cls=cls,
        ticket_id=sub["ticket_id"].astype(str).to_numpy(dtype=object),
        customer=sub["customer"].astype(str).to_numpy(dtype=object),
        first_response=np.asarray(fr, dtype=float),
    )


def compile_scenario(sc: Scenario, policy: Policy | None = None) -> CompiledScenario:
    """Compile a validated scenario (loads its policy, replay, backlog and roster files)."""
    if policy is None and sc.policy is not None:
        policy = load_policy(str(sc.resolve(sc.policy)))
    start_ns = pd.Timestamp(sc.start).tz_convert("UTC").value
    horizon = sc.horizon_seconds
    limit = horizon + (sc.drain_limit_hours * 3600.0 if sc.drain else 0.0)
    names = sc.class_names()
    prios = [c.priority for c in sc.classes]
    order = sc.priority_order or (policy.priorities if policy is not None else sorted(set(prios)))
    missing = sorted(set(prios) - set(order))
    if missing:
        raise InputError(
            f"priorities {missing} are not in the policy's priorities {order}", field="classes"
        )
    rank = tuple(order.index(p) for p in prios)
    targets = np.full((len(names), 2), np.nan)
    if policy is not None:
        for i, c in enumerate(sc.classes):
            for j, m in enumerate(("first_response", "resolution")):
                try:
                    targets[i, j] = policy.target_for(c.tier, c.priority, m).seconds
                except InputError as exc:
                    raise InputError(
                        f"class {c.name!r}: {exc.detail} in policy {sc.policy}",
                        field=f"classes[{c.name}].{exc.field}",
                    ) from None
    if sc.dispatch == "edf" and policy is None:
        raise InputError("dispatch: edf needs a policy (its deadlines)", field="dispatch")
    edges, rates = (
        _rate_grid(sc, start_ns)
        if sc.arrivals.replay is None
        else (np.array([0.0, horizon]), np.zeros((len(names), 1)))
    )
    added = _added_rates(sc, start_ns, edges) if sc.arrivals.replay is None else ()
    team_names = [t.name for t in sc.staffing.teams]
    team_classes: list[tuple[int, ...]] = []
    for t in sc.staffing.teams:
        ks = list(range(len(names))) if "*" in t.serves else [names.index(c) for c in t.serves]
        ks.sort(key=lambda k: (rank[k], k) if sc.dispatch == "priority" else k)
        team_classes.append(tuple(ks))
    class_teams = tuple(
        tuple(ti for ti, ks in enumerate(team_classes) if k in ks) for k in range(len(names))
    )
    clocks: list[BusinessClock | None] = []
    for c in sc.classes:
        cal = c.lifecycle.calendar if c.lifecycle is not None else None
        if cal is not None and policy is None:
            raise InputError(
                f"class {c.name!r}: lifecycle calendar {cal!r} needs a policy",
                field=f"classes[{c.name}].lifecycle.calendar",
            )
        clocks.append(BusinessClock.of(policy, cal, start_ns, limit) if policy and cal else None)
    return CompiledScenario(
        scenario=sc,
        start_ns=start_ns,
        horizon=horizon,
        warmup=sc.warmup_seconds,
        limit=limit,
        class_names=tuple(names),
        class_keys=tuple(stable_key(n) for n in names),
        rank=rank,
        grid_edges=edges,
        class_rates=rates,
        added=added,
        replay=_fixed_tickets(sc, start_ns, "replay"),
        backlog=_fixed_tickets(sc, start_ns, "backlog"),
        staff_changes=tuple(staffing_change_points(sc, start_ns, limit, team_names)),
        team_names=tuple(team_names),
        team_classes=tuple(team_classes),
        class_teams=class_teams,
        policy=policy,
        targets=targets,
        clocks=tuple(clocks),
    )
