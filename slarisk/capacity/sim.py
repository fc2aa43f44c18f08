"""SimPy support-centre simulator: `simulate(scenario, replications, seed, ...) -> SimResult`.

Design (for speed, see benchmarks/bench_sim.py):

* every random variate of a replication is pre-sampled with numpy in vectorised batches
  (arrival times by inverting the cumulative intensity of a piecewise-constant rate grid;
  handle times, touches, customer waits and patience per class);
* the SimPy model is lean: one arrival process and one roster process (generator functions
  taking ``env`` first) and one ``Timeout`` per service or customer wait whose callback frees
  the agent and dispatches the next work item from plain deques/heaps (no process per
  customer, no Resource);
* abandonment is exact but lazy: a waiting sync ticket whose patience ran out is removed when
  an agent next looks at its queue, with its abandonment time = arrival + patience;
* KPIs, SLA clocks and attainment are computed vectorised afterwards from the records
  (:mod:`slarisk.capacity.sim_results`).

Random streams: replication r of seed s uses ``SeedSequence(s).spawn(R)[r]``; each
(purpose, arrival group, class) gets its own child keyed by stable hashes of the names, so two
scenarios run with the same seed share arrivals, handle times, touches, waits and patience
where their definitions agree (common random numbers), whatever their staffing.
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import (
    Scenario,
    TicketClass,
    hhmm_seconds,
    sample_count,
    sample_duration,
    weekday_index,
)
from slarisk.errors import InputError

if TYPE_CHECKING:
    import simpy

    from slarisk.capacity.sim_results import SimResult
    from slarisk.sla.policy import Policy

#: resolution of the arrival-rate grid, seconds (spike windows are applied per grid cell).
RATE_GRID_SECONDS = 900.0
#: stream purposes (part of the SeedSequence spawn key; never renumber).
_ARRIVALS, _HANDLE, _TOUCHES, _WAITS, _PATIENCE, _REPLAY = 1, 2, 3, 4, 5, 6
#: arrival groups.
_BASE, _BACKLOG = 0, 1


def stable_key(name: str) -> int:
    """A stable 32-bit key of a name (for SeedSequence spawn keys)."""
    return zlib.crc32(name.encode("utf-8"))


# --- compiled model ---------------------------------------------------------------------------
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

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


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


def _staff_changes(
    sc: Scenario, start_ns: int, limit: float, team_names: list[str]
) -> list[tuple[float, int, int]]:
    """(time s, team index, agents) change points over [0, limit], sorted by time."""
    st = sc.staffing
    team_ix = {n: i for i, n in enumerate(team_names)}
    if st.constant is not None:
        return [(0.0, team_ix[t], int(n)) for t, n in st.constant.items()]
    changes: list[tuple[float, int, int]] = []
    if st.roster_file is not None:
        from slarisk.data.io import load_staffing, read_table

        path = sc.resolve(st.roster_file)
        if "agent_id" in read_table(str(path)).columns:  # shift form: one row per agent shift
            from slarisk.data.staffing import load_shift_intervals
            from slarisk.data.validate import ValidationResult

            frame, checked = load_shift_intervals(read_table(str(path)), str(path), 5)
            if checked.n_quarantined:
                res = checked
            else:
                res = ValidationResult(frame, checked.quarantined, str(path), "staffing")
        else:
            res = load_staffing(str(path))
        if res.n_quarantined:
            raise InputError(
                f"{res.n_quarantined} bad staffing row(s), first: "
                f"row {res.quarantined['row'].iloc[0]} {res.quarantined['reason'].iloc[0]}",
                path=str(path),
            )
        df = res.accepted
        unknown = sorted(set(df["team"].astype(str)) - set(team_names))
        if unknown:
            raise InputError(f"teams {unknown} are not in staffing.teams", path=str(path))
        ns = df["interval_start"].astype("datetime64[ns, UTC]").astype("int64").to_numpy()
        t0 = (ns - start_ns) / 1e9
        minutes = df["interval_minutes"].astype(float).to_numpy()
        t0, t1, agents, rows = time_shared(t0, minutes, df["agents"].astype(float).to_numpy())
        team_col = df["team"].astype(str).to_numpy()[rows]
        for team in team_names:
            m = team_col == team
            if not m.any():
                continue
            steps = _intervals_to_levels(t0[m], t1[m], agents[m])
            changes += [(t, team_ix[team], a) for t, a in steps]
        return _clip_changes(changes, limit)
    # weekly patterns (local time): evaluate on a 1-minute grid and keep the change points
    step = 60
    n = math.ceil(limit / step) + 1
    grid_ns = start_ns + np.arange(n, dtype=np.int64) * step * 1_000_000_000
    local = pd.DatetimeIndex(pd.to_datetime(grid_ns, utc=True)).tz_convert(sc.timezone)
    minute_of_week = np.asarray(local.day_of_week * 1440 + local.hour * 60 + local.minute)
    for ti, team in enumerate(team_names):
        level = np.zeros(n, dtype=np.int64)
        if st.weekly is not None:
            for w in st.weekly:
                if w.team == team:
                    a = np.asarray(w.agents, dtype=float)
                    whole = np.floor(a).astype(np.int64)
                    extra = np.rint((a - whole) * w.interval_minutes)  # minutes of one more
                    i = minute_of_week // w.interval_minutes
                    level += whole[i] + (minute_of_week % w.interval_minutes < extra[i])
        else:
            for sh in st.shifts or []:
                if sh.team != team:
                    continue
                level += sh.agents * _shift_on(sh, minute_of_week)
        changes += _levels_to_changes(np.arange(n) * float(step), level, ti)
    return _clip_changes(changes, limit)


def time_shared(
    t0: np.ndarray, minutes: np.ndarray, agents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intervals (start s, length in minutes) with fractional ``agents`` -> intervals of whole
    agents with the same agent-minutes (to the minute): ``a`` agents over L minutes are
    ``floor(a) + 1`` for the first ``round(frac(a) * L)`` minutes and ``floor(a)`` for the
    rest (0.33 agents at night: one agent for 20 minutes of the hour, not 0 agents). Returns
    (start s, end s, agents, source row) of the non-empty pieces, in row order."""
    whole = np.floor(agents)
    extra = np.rint((agents - whole) * minutes) * 60.0  # seconds with one more agent
    t1 = t0 + minutes * 60.0
    mid = t0 + extra
    rows = np.arange(len(t0))
    starts = np.column_stack([t0, mid]).ravel()
    ends = np.column_stack([mid, t1]).ravel()
    level = np.column_stack([whole + 1, whole]).ravel().astype(np.int64)
    src = np.repeat(rows, 2)
    keep = ends > starts
    return starts[keep], ends[keep], level[keep], src[keep]


def _shift_on(sh: Any, minute_of_week: np.ndarray) -> np.ndarray:
    """1 where the weekly shift (minus its break) is on duty, else 0."""
    a, b = hhmm_seconds(sh.start) // 60, hhmm_seconds(sh.end) // 60
    length = (b - a) % 1440 or 1440  # 00:00-24:00 is a full day
    on = np.zeros(minute_of_week.shape, dtype=bool)
    for day in sh.days:
        s0 = weekday_index(day) * 1440 + a
        rel = (minute_of_week - s0) % 10080
        on |= rel < length
        if sh.break_start is not None:
            bs = (hhmm_seconds(sh.break_start) // 60 - a) % 1440
            be = (hhmm_seconds(sh.break_end) // 60 - a) % 1440
            on &= ~((rel >= bs) & (rel < be) & (rel < length)) | (rel >= length)
    return on.astype(np.int64)


def _levels_to_changes(t: np.ndarray, level: np.ndarray, team: int) -> list[tuple[float, int, int]]:
    idx = np.flatnonzero(np.diff(level, prepend=-1) != 0)
    return [(float(t[i]), team, int(level[i])) for i in idx]


def _intervals_to_levels(
    t0: np.ndarray, t1: np.ndarray, agents: np.ndarray
) -> list[tuple[float, int]]:
    """Change points of a team's piecewise-constant staffing from intervals (0 in gaps)."""
    level: dict[float, int] = {0.0: 0}
    for end in t1.tolist():
        level[end] = 0
    for start, a in zip(t0.tolist(), agents.tolist(), strict=True):
        level[start] = int(a)  # an interval starting where another ends wins
    return sorted(level.items())


def _clip_changes(
    changes: list[tuple[float, int, int]], limit: float
) -> list[tuple[float, int, int]]:
    """Changes inside [0, limit]; the level in force at 0 is moved to time 0."""
    changes.sort(key=lambda c: (c[0], c[1]))
    out: list[tuple[float, int, int]] = []
    at0: dict[int, int] = {}
    for t, team, a in changes:
        if t <= 0:
            at0[team] = a
        elif t <= limit:
            out.append((t, team, a))
    merged = [(0.0, team, a) for team, a in sorted(at0.items())] + out
    last: dict[int, int] = {}
    kept = []
    for t, team, a in merged:  # drop changes to the level already in force
        if last.get(team) != a:
            kept.append((t, team, a))
            last[team] = a
    return kept


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
    from slarisk.data.io import load_tickets

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
        from slarisk.sla.policy import load_policy

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
        staff_changes=tuple(_staff_changes(sc, start_ns, limit, team_names)),
        team_names=tuple(team_names),
        team_classes=tuple(team_classes),
        class_teams=class_teams,
        policy=policy,
        targets=targets,
    )


# --- per-replication draws ---------------------------------------------------------------------
@dataclass(frozen=True)
class Draws:
    """Pre-sampled tickets of one replication, sorted by arrival time (seconds since start)."""

    t: np.ndarray
    created: np.ndarray
    cls: np.ndarray
    group: np.ndarray  # 0 base, 1 backlog, 2 replay, 3+ added customer index + 3
    touches: np.ndarray
    hoff: np.ndarray  # offset into handles
    poff: np.ndarray  # offset into waits
    handles: np.ndarray
    waits: np.ndarray
    abandon_at: np.ndarray  # arrival + patience (inf: never)
    fr_due: np.ndarray  # first-response deadline, s (NaN without policy)
    res_due: np.ndarray  # resolution deadline, s
    ticket_id: np.ndarray  # given ids (replay/backlog), None entries for generated tickets
    customer: np.ndarray
    prior_first_response: np.ndarray  # backlog: first response before start (s) or NaN


def nhpp_times(edges: np.ndarray, rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a Poisson process with piecewise-constant `rates` (per s)."""
    cum = np.concatenate(([0.0], np.cumsum(rates * np.diff(edges))))
    total = float(cum[-1])
    if total <= 0:
        return np.empty(0)
    n = rng.poisson(total)
    u = np.sort(rng.uniform(0.0, total, n))
    return np.interp(u, cum, edges)


def _stream(root: np.random.SeedSequence, *key: int) -> np.random.Generator:
    ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
    return np.random.default_rng(ss)


def draw_tickets(model: CompiledScenario, rep_seq: np.random.SeedSequence) -> Draws:
    """Pre-sample every ticket of one replication (vectorised, one stream per purpose/class)."""
    sc = model.scenario
    parts: list[dict[str, np.ndarray]] = []
    groups: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]] = []
    # (group id, group key, times, created, fixed-index or None, cls array)
    for k, key in enumerate(model.class_keys):
        if model.replay is None:
            t = nhpp_times(
                model.grid_edges, model.class_rates[k], _stream(rep_seq, _ARRIVALS, 0, key)
            )
            groups.append((_BASE, 0, t, t, None, np.full(len(t), k)))
        for a, (cust, rates) in enumerate(model.added):
            ck = stable_key(cust)
            t = nhpp_times(model.grid_edges, rates[k], _stream(rep_seq, _ARRIVALS, ck, key))
            groups.append((3 + a, ck, t, t, None, np.full(len(t), k)))
    for gid, fixed in ((2, model.replay), (_BACKLOG, model.backlog)):
        if fixed is None:
            continue
        for k in range(model.n_classes):
            idx = np.flatnonzero(fixed.cls == k)
            if len(idx):
                groups.append(
                    (gid, gid, fixed.t[idx], fixed.created[idx], idx, np.full(len(idx), k))
                )
    handles_all: list[np.ndarray] = []
    waits_all: list[np.ndarray] = []
    h_base = w_base = 0
    for gid, gkey, t, created, fidx, cls in groups:
        k = int(cls[0]) if len(cls) else 0
        c: TicketClass = sc.classes[k]
        key = model.class_keys[k]
        n = len(t)
        touches = sample_count(c.touches, _stream(rep_seq, _TOUCHES, gkey, key), n)
        n_h = int(touches.sum())
        handles = sample_duration(c.handle, _stream(rep_seq, _HANDLE, gkey, key), n_h)
        n_w = n_h - n
        waits = (
            sample_duration(c.customer_wait, _stream(rep_seq, _WAITS, gkey, key), n_w)
            if n_w and c.customer_wait is not None
            else np.zeros(n_w)
        )
        if c.patience is not None:
            pat = sample_duration(c.patience, _stream(rep_seq, _PATIENCE, gkey, key), n)
        else:
            pat = np.full(n, np.inf)
        hoff = h_base + np.concatenate(([0], np.cumsum(touches)[:-1])) if n else np.empty(0, int)
        poff = (
            w_base + np.concatenate(([0], np.cumsum(touches - 1)[:-1])) if n else np.empty(0, int)
        )
        h_base += n_h
        w_base += n_w
        handles_all.append(handles)
        waits_all.append(waits)
        fixed = model.replay if gid == 2 else model.backlog if gid == _BACKLOG else None
        parts.append(
            {
                "t": t,
                "created": created,
                "cls": cls,
                "group": np.full(n, gid),
                "touches": touches,
                "hoff": hoff,
                "poff": poff,
                "abandon_at": t + pat,
                "ticket_id": fixed.ticket_id[fidx] if fixed is not None else np.full(n, None),
                "customer": (
                    fixed.customer[fidx]
                    if fixed is not None
                    else np.full(
                        n, model.added[gid - 3][0] if gid >= 3 else "unknown", dtype=object
                    )
                ),
                "prior_fr": fixed.first_response[fidx] if fixed is not None else np.full(n, np.nan),
            }
        )
    cat = {
        name: np.concatenate([p[name] for p in parts]) if parts else np.empty(0)
        for name in (
            "t",
            "created",
            "cls",
            "group",
            "touches",
            "hoff",
            "poff",
            "abandon_at",
            "ticket_id",
            "customer",
            "prior_fr",
        )
    }
    order = np.lexsort((cat["created"], cat["t"]))
    s = {name: v[order] for name, v in cat.items()}
    cls = s["cls"].astype(np.int64)
    fr_due, res_due = deadlines(model, s["created"], cls)
    return Draws(
        t=s["t"].astype(float),
        created=s["created"].astype(float),
        cls=cls,
        group=s["group"].astype(np.int64),
        touches=s["touches"].astype(np.int64),
        hoff=s["hoff"].astype(np.int64),
        poff=s["poff"].astype(np.int64),
        handles=np.concatenate(handles_all) if handles_all else np.empty(0),
        waits=np.concatenate(waits_all) if waits_all else np.empty(0),
        abandon_at=s["abandon_at"].astype(float),
        fr_due=fr_due,
        res_due=res_due,
        ticket_id=s["ticket_id"],
        customer=s["customer"],
        prior_first_response=s["prior_fr"].astype(float),
    )


def deadlines(
    model: CompiledScenario, created: np.ndarray, cls: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First-response and resolution deadlines (s since start) from the policy's calendars.

    Only needed (and computed) for EDF dispatch, as its key (NaN otherwise). Pauses are not
    known in advance: the engine shifts the resolution deadline by the customer-wait time
    already spent, in wall-clock seconds.
    """
    n = len(created)
    fr = np.full(n, np.nan)
    res = np.full(n, np.nan)
    pol = model.policy
    sc = model.scenario
    if pol is None or n == 0 or sc.dispatch != "edf":
        return fr, res
    created_ns = model.start_ns + np.rint(created * 1e9).astype(np.int64)
    for k, c in enumerate(sc.classes):
        m = cls == k
        if not m.any():
            continue
        for out, metric in ((fr, "first_response"), (res, "resolution")):
            tgt = pol.target_for(c.tier, c.priority, metric)
            cal = pol.business_calendar(tgt.calendar)
            due_ns = np.asarray(
                cal.add_business_seconds(created_ns[m], np.full(m.sum(), tgt.seconds))
            )
            out[m] = (due_ns.astype(np.int64) - model.start_ns) / 1e9
    return fr, res


# --- the SimPy engine --------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineOutput:
    """Raw records of one replication (seconds since start)."""

    first_start: np.ndarray  # start of the first touch in the simulation (NaN: never)
    resolved: np.ndarray  # end of the last touch (NaN: not resolved)
    abandoned: np.ndarray  # abandonment time (NaN: not abandoned)
    touches_done: np.ndarray
    seg_ticket: np.ndarray  # one row per service (touch): ticket, start, duration, team
    seg_start: np.ndarray
    seg_dur: np.ndarray
    seg_team: np.ndarray
    wait_ticket: np.ndarray  # one row per customer wait: ticket, start, end
    wait_start: np.ndarray
    wait_end: np.ndarray
    end_time: float


def _arrival_process(
    env: simpy.Environment,
    times: list[float],
    arrive: Callable[[int], None],
    done: Callable[[], None],
) -> Generator[simpy.Event, Any, None]:
    """Release ticket i at times[i] (times sorted)."""
    from simpy.events import Timeout

    for i, t in enumerate(times):
        delay = t - env.now
        if delay > 0:
            yield Timeout(env, delay)
        arrive(i)
    done()


def _roster_process(
    env: simpy.Environment,
    changes: Iterable[tuple[float, int, int]],
    set_staff: Callable[[int, int], None],
) -> Generator[simpy.Event, Any, None]:
    """Apply staffing change points (time s, team, agents) in time order."""
    from simpy.events import Timeout

    for t, team, agents in changes:
        delay = t - env.now
        if delay > 0:
            yield Timeout(env, delay)
        set_staff(team, agents)


def run_engine(model: CompiledScenario, d: Draws) -> EngineOutput:
    """Run one replication of the SimPy model on pre-sampled draws."""
    import simpy
    from simpy.events import Timeout

    env = simpy.Environment()
    n = len(d.t)
    n_teams = len(model.team_names)
    dispatch = model.scenario.dispatch
    edf = dispatch == "edf"
    use_rank = dispatch == "priority"
    rank = list(model.rank)
    cls = d.cls.tolist()
    touches = d.touches.tolist()
    hoff = d.hoff.tolist()
    poff = d.poff.tolist()
    handles = d.handles.tolist()
    waits = d.waits.tolist()
    abandon_at = d.abandon_at.tolist()
    created = d.created.tolist()
    fr_due = d.fr_due.tolist()
    res_due = d.res_due.tolist()
    nan = math.nan
    first_start = [nan] * n
    resolved = [nan] * n
    abandoned = [nan] * n
    done_touches = [0] * n
    entry = created[:]  # FIFO key: created_at for the first touch, re-entry time afterwards
    waited = [0.0] * n  # customer-wait seconds so far (EDF shifts the resolution deadline)
    seg_ticket: list[int] = []
    seg_start: list[float] = []
    seg_dur: list[float] = []
    seg_team: list[int] = []
    w_ticket: list[int] = []
    w_start: list[float] = []
    w_end: list[float] = []
    free = [0] * n_teams
    owed = [0] * n_teams
    on_duty = [0] * n_teams  # agents present and staying (free + busy - owed)
    queues: list[Any] = [[] if edf else deque() for _ in model.class_names]
    team_classes = [list(ks) for ks in model.team_classes]
    # classes an agent looks at, in groups: priority dispatch = one group per rank (highest
    # first); fifo/edf = one group (the oldest head / earliest deadline over all classes wins)
    team_groups: list[list[list[int]]] = []
    for ks in team_classes:
        if use_rank:
            ranks = sorted({rank[k] for k in ks})
            team_groups.append([[k for k in ks if rank[k] == r] for r in ranks])
        else:
            team_groups.append([ks])
    class_teams = [list(ts) for ts in model.class_teams]
    single_team = [len(ts) == 1 for ts in class_teams]
    state = {"in_system": 0, "arrivals_done": False}
    stop = env.event()
    seg_ticket_append, seg_start_append = seg_ticket.append, seg_start.append
    seg_dur_append, seg_team_append = seg_dur.append, seg_team.append
    done_cbs: list[Callable[[Any], None]] = []

    def start(i: int, team: int, now: float) -> None:
        j = done_touches[i]
        h = handles[hoff[i] + j]
        if j == 0:
            first_start[i] = now
        seg_ticket_append(i)
        seg_start_append(now)
        seg_dur_append(h)
        seg_team_append(team)
        Timeout(env, h, i).callbacks.append(done_cbs[team])

    def purge(q: Any, now: float) -> None:
        # drop heads whose patience ran out (they left at abandon_at)
        if edf:
            while q and abandon_at[q[0][1]] < now:
                i = heapq.heappop(q)[1]
                abandoned[i] = abandon_at[i]
                state["in_system"] -= 1
        else:
            while q and abandon_at[q[0]] < now:
                i = q.popleft()
                abandoned[i] = abandon_at[i]
                state["in_system"] -= 1

    def pick(team: int, now: float) -> int:
        """Next ticket for an agent of `team` (-1: none)."""
        best_q: Any = None
        best_key = math.inf
        for group in team_groups[team]:
            for k in group:
                q = queues[k]
                if not q:
                    continue
                purge(q, now)
                if not q:
                    continue
                key = q[0][0] if edf else entry[q[0]]
                if key < best_key:
                    best_key, best_q = key, q
            if best_q is not None:
                break  # priority: a higher rank group had work
        if best_q is None:
            return -1
        return heapq.heappop(best_q)[2] if edf else best_q.popleft()

    def make_done(team: int) -> Callable[[Any], None]:
        def done(ev: Any) -> None:
            i = ev._value
            now = env._now
            j = done_touches[i] = done_touches[i] + 1
            if j < touches[i]:
                w = waits[poff[i] + j - 1]
                w_ticket.append(i)
                w_start.append(now)
                w_end.append(now + w)
                waited[i] += w
                Timeout(env, w, i).callbacks.append(reenter)
            else:
                resolved[i] = now
                state["in_system"] -= 1
                if state["in_system"] == 0 and state["arrivals_done"] and not stop.triggered:
                    stop.succeed()
            if owed[team]:
                owed[team] -= 1
                return
            nxt = pick(team, now)
            if nxt < 0:
                free[team] += 1
            else:
                start(nxt, team, now)

        return done

    done_cbs.extend(make_done(t) for t in range(n_teams))

    def enqueue(i: int, now: float) -> None:
        k = cls[i]
        if single_team[k]:
            team = class_teams[k][0]
            if free[team]:
                free[team] -= 1
                start(i, team, now)
                return
        else:
            for team in class_teams[k]:
                if free[team]:
                    free[team] -= 1
                    start(i, team, now)
                    return
        if edf:
            due = fr_due[i] if done_touches[i] == 0 else res_due[i] + waited[i]
            heapq.heappush(queues[k], (due, i, i))
        else:
            queues[k].append(i)

    def arrive(i: int) -> None:
        state["in_system"] += 1
        enqueue(i, env._now)

    def reenter(ev: Any) -> None:
        i = ev._value
        now = env._now
        entry[i] = now
        enqueue(i, now)

    def arrivals_done() -> None:
        state["arrivals_done"] = True
        if state["in_system"] == 0 and not stop.triggered:
            stop.succeed()

    def set_staff(team: int, agents: int) -> None:
        delta = agents - on_duty[team]
        on_duty[team] = agents
        if delta > 0:
            keep = min(owed[team], delta)
            owed[team] -= keep
            delta -= keep
            now = env._now
            while delta:
                delta -= 1
                nxt = pick(team, now)
                if nxt < 0:
                    free[team] += 1
                else:
                    start(nxt, team, now)
        elif delta < 0:
            leave = -delta
            f = min(free[team], leave)
            free[team] -= f
            owed[team] += leave - f

    env.process(_roster_process(env, model.staff_changes, set_staff))
    env.process(_arrival_process(env, d.t.tolist(), arrive, arrivals_done))

    def at_limit(_: Any) -> None:
        if not stop.triggered:
            stop.succeed()

    Timeout(env, model.limit).callbacks.append(at_limit)
    env.run(until=stop)
    end = float(env.now)
    return EngineOutput(
        first_start=np.asarray(first_start, dtype=float),
        resolved=np.asarray(resolved, dtype=float),
        abandoned=np.asarray(abandoned, dtype=float),
        touches_done=np.asarray(done_touches, dtype=np.int64),
        seg_ticket=np.asarray(seg_ticket, dtype=np.int64),
        seg_start=np.asarray(seg_start, dtype=float),
        seg_dur=np.asarray(seg_dur, dtype=float),
        seg_team=np.asarray(seg_team, dtype=np.int64),
        wait_ticket=np.asarray(w_ticket, dtype=np.int64),
        wait_start=np.asarray(w_start, dtype=float),
        wait_end=np.asarray(w_end, dtype=float),
        end_time=end,
    )


# --- replications ------------------------------------------------------------------------------
def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence child per replication (the same for every scenario with this seed)."""
    return np.random.SeedSequence(seed).spawn(replications)


def run_replication(model: CompiledScenario, rep_seq: np.random.SeedSequence, rep: int) -> Any:
    """Draw, simulate and collect one replication -> `ReplicationRecords`."""
    from slarisk.capacity.sim_results import collect_replication

    draws = draw_tickets(model, rep_seq)
    out = run_engine(model, draws)
    return collect_replication(model, draws, out, rep)


def _worker(args: tuple[CompiledScenario, np.random.SeedSequence, int]) -> Any:
    return run_replication(*args)


def simulate(
    scenario: Scenario | CompiledScenario,
    replications: int = 10,
    seed: int = 0,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    policy: Policy | None = None,
) -> SimResult:
    """Run `replications` replications of a scenario; `workers` > 1 spreads them over processes.

    Same `seed` -> same streams in every scenario (common random numbers). `progress(k)` is
    called after each finished replication with the number finished so far.
    """
    from slarisk.capacity.sim_results import combine

    if replications < 1:
        raise InputError("replications must be >= 1", field="replications")
    model = (
        scenario if isinstance(scenario, CompiledScenario) else compile_scenario(scenario, policy)
    )
    seqs = replication_seeds(seed, replications)
    reps: list[Any] = []
    if workers <= 1 or replications == 1:
        for r, s in enumerate(seqs):
            reps.append(run_replication(model, s, r))
            if progress:
                progress(r + 1)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, replications)) as pool:
            for k, rec in enumerate(pool.map(_worker, [(model, s, r) for r, s in enumerate(seqs)])):
                reps.append(rec)
                if progress:
                    progress(k + 1)
    return combine(model, reps, seed=seed)
