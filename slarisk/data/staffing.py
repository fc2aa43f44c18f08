"""Staffing: shift rows -> agents on duty per interval and team (the interval form).

Interval form: ``interval_start (UTC), interval_minutes, team, agents`` where ``agents`` is the
average number of agents on duty over the interval (fractional when a shift or break covers
part of it). Computed exactly and vectorised: the agent-seconds worked before time t are
``sum_i min(t, end_i) - min(t, start_i)`` (breaks subtracted the same way), evaluated on the
interval edges with sorted cumulative sums, so the cost is O((shifts + intervals) log shifts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.data import validate as v


def _sum_min(points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each t in ``points``: sum over ``values`` of min(t, value) (exact int64 arithmetic)."""
    vals = np.sort(values)
    csum = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(vals, dtype=np.int64)])
    k = np.searchsorted(vals, points, side="right")  # values <= t contribute themselves
    return csum[k] + points * (len(vals) - k)


def shifts_to_intervals(
    shifts: pd.DataFrame,
    interval_minutes: int = 15,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Agents on duty per team and interval from validated shift rows.

    ``shifts`` is the accepted frame of ``validate_shifts`` (UTC timestamps, nullable break).
    Intervals are aligned to multiples of ``interval_minutes`` since 1970-01-01 UTC and cover
    ``[start, end)`` (default: from the earliest shift start to the latest shift end) for every
    team, zero-agent intervals included. Returns the interval form, sorted by team and start.
    """
    if interval_minutes <= 0:
        raise ValueError("interval_minutes must be positive")
    columns = {
        s.INTERVAL_START: pd.Series(dtype=s.TIMESTAMP_DTYPE),
        s.INTERVAL_MINUTES: pd.Series(dtype="int64"),
        s.TEAM: pd.Series(dtype="str"),
        s.AGENTS: pd.Series(dtype="float64"),
    }
    if shifts.empty:
        return pd.DataFrame(columns)
    step = int(interval_minutes) * 60_000  # milliseconds

    def ms(col: str) -> np.ndarray:
        """Milliseconds since the epoch (0 where missing)."""
        ts = shifts[col].dt.tz_convert("UTC").fillna(pd.Timestamp(0, tz="UTC")).dt.as_unit("ms")
        return ts.astype("int64").to_numpy(dtype=np.int64)

    st, en, bs, be = (ms(c) for c in (s.START, s.END, s.BREAK_START, s.BREAK_END))
    has_break = shifts[s.BREAK_START].notna().to_numpy() & shifts[s.BREAK_END].notna().to_numpy()
    lo = int(st.min()) if start is None else pd.Timestamp(start).tz_convert("UTC").value // 10**6
    hi = int(en.max()) if end is None else pd.Timestamp(end).tz_convert("UTC").value // 10**6
    first = (lo // step) * step
    last = -((-hi) // step) * step
    # work relative to `first` so the int64 sums stay far from overflow
    edges = np.arange(0, last - first + 1, step, dtype=np.int64)
    st, en, bs, be = st - first, en - first, bs - first, be - first
    if len(edges) < 2:
        return pd.DataFrame(columns)
    teams = shifts[s.TEAM].astype("str").to_numpy()
    parts = []
    for team in np.unique(teams):  # one vectorised pass per team (teams are few)
        m = teams == team
        b = m & has_break
        worked = _sum_min(edges, en[m]) - _sum_min(edges, st[m])
        worked -= _sum_min(edges, be[b]) - _sum_min(edges, bs[b])
        agents = np.diff(worked) / step
        parts.append(
            pd.DataFrame(
                {
                    s.INTERVAL_START: pd.to_datetime(
                        edges[:-1] + first, unit="ms", utc=True
                    ).as_unit("ns"),
                    s.INTERVAL_MINUTES: np.full(len(agents), int(interval_minutes), np.int64),
                    s.TEAM: team,
                    s.AGENTS: agents,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out[s.TEAM] = out[s.TEAM].astype("str")
    return out


def load_shift_intervals(
    shifts: pd.DataFrame, source: str, interval_minutes: int = 15, **options: object
) -> tuple[pd.DataFrame, v.ValidationResult]:
    """Validate shift rows and convert them: (interval frame, validation result)."""
    checked = v.validate_shifts(shifts, source, **options)  # type: ignore[arg-type]
    return shifts_to_intervals(checked.accepted, interval_minutes), checked
