"""Staffing of a scenario as change points (time s, team, agents): constant staffing, a
roster file (interval or shift form) or weekly patterns/shifts in local time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import Scenario, hhmm_seconds, weekday_index
from slarisk.data.io import load_staffing, read_table
from slarisk.data.staffing import load_shift_intervals
from slarisk.data.validate import ValidationResult
from slarisk.errors import InputError


def staffing_change_points(
    sc: Scenario, start_ns: int, limit: float, team_names: list[str]
) -> list[tuple[float, int, int]]:
    """(time s, team index, agents) change points over [0, limit], sorted by time."""
    st = sc.staffing
    team_ix = {n: i for i, n in enumerate(team_names)}
    if st.constant is not None:
        return [(0.0, team_ix[t], int(n)) for t, n in st.constant.items()]
    changes: list[tuple[float, int, int]] = []
    if st.roster_file is not None:
        path = sc.resolve(st.roster_file)
        if "agent_id" in read_table(str(path)).columns:  # shift form: one row per agent shift
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
