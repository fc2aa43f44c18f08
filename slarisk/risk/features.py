"""Leakage-free, vectorised features of observations (ticket, metric, time ``at``).

An *observation* is one row with at least ``ticket_id, metric, at, created_at`` and the ticket's
attribute columns; landmark rows (:mod:`slarisk.risk.landmarks`) and the open tickets being
scored (:mod:`slarisk.risk.score`) both have this shape. Optional columns: ``target_seconds``,
``elapsed_seconds`` (business seconds elapsed at ``at``, pauses removed), ``due_at``.

Everything a feature uses is known at ``at``:

- workload: tickets created at or before ``at`` and not resolved by ``at`` (a ticket resolved
  later counts as open, exactly as it did at the time), arrivals in the last hour / day against
  the same hour over the previous 4 weeks / the last 28 days;
- staffing: the roster (a plan, known in advance) now and over the next hours;
- history: breach rates and resolution times by category/group over the last 28 days, from
  outcomes *known strictly before* ``at`` (a met target is known when the clock stops, a breach
  at the due time at the latest).

All lookups are sorted arrays + ``numpy.searchsorted`` and cumulative sums; no per-row Python.
Durations are in seconds internally; feature columns say their unit (``_hours``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.risk.feature_indexes import (
    _NAT,
    DAY_NS,
    HOUR_NS,
    METRIC,
    STAFF_HORIZON_NS,
    WEEK_NS,
    WINDOW_NS,
    GroupBacklogIndex,
    HistoryIndex,
    OverdueIndex,
    StaffingIndex,
    WorkloadIndex,
    _is,
    _ns,
    as_categorical,
)

# models pickled before the indexes moved to feature_indexes look these classes up here
from slarisk.risk.feature_indexes import KeyedCumulative as KeyedCumulative
from slarisk.risk.feature_indexes import _Coder as _Coder

CATEGORICAL_FEATURES: tuple[str, ...] = (
    METRIC,
    s.PRIORITY,
    s.TIER,
    s.REGION,
    s.SERVICE_TYPE,
    s.CHANNEL,
    s.CUSTOMER,
    s.CATEGORY,
    s.GROUP,
)
#: features of the staffing at t (NaN when no staffing is given).
STAFFING_FEATURES: tuple[str, ...] = (
    "agents_now",
    "agents_next_4h",
    "agents_team_now",
    "agents_team_next_4h",
    "backlog_per_agent",
)
#: every feature that needs a staffing table (constant NaN without one): turned off by
#: :func:`slarisk.risk.train.available_features` when training has no staffing.
NEEDS_STAFFING_FEATURES: tuple[str, ...] = (*STAFFING_FEATURES, "ahead_per_team_agent")
#: features of the outcome history before t (NaN without one).
HISTORY_FEATURES: tuple[str, ...] = (
    "hist_breach_rate_metric",
    "hist_breach_rate_category",
    "hist_breach_rate_group",
    "hist_n_category",
    "hist_log_resolution_hours_category",
    "hist_log_resolution_hours_group",
)
#: numeric features always produced by :func:`build_features` (per-priority backlogs follow).
BASE_NUMERIC_FEATURES: tuple[str, ...] = (
    "age_hours",
    "target_hours",
    "elapsed_fraction",
    "business_left_hours",
    "wall_left_hours",
    "hour",
    "weekday",
    "is_holiday",
    "backlog_total",
    "backlog_same_priority",
    "backlog_overdue",
    "overdue_share",
    "arrivals_1h",
    "arrivals_24h",
    "arrivals_1h_ratio",
    "arrivals_24h_ratio",
    *STAFFING_FEATURES,
    "backlog_group",
    "backlog_group_ahead",
    "ahead_per_team_agent",
    *HISTORY_FEATURES,
)


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalendarInfo:
    """Timezone and public holidays used by the calendar features."""

    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()

    @cached_property
    def holiday_days_array(self) -> np.ndarray:
        """Holidays as sorted int64 days since the epoch (computed once)."""
        return np.sort(
            np.array([np.datetime64(d, "D").astype(np.int64) for d in self.holidays], np.int64)
        )

    def holiday_days(self) -> np.ndarray:
        """Holidays as sorted int64 days since the epoch."""
        return self.holiday_days_array

    @cached_property
    def holiday_day_set(self) -> frozenset[int]:
        """Holidays as days since the epoch."""
        return frozenset(self.holiday_days_array.tolist())


def _calendar_features(t_ns: np.ndarray, cal: CalendarInfo) -> dict[str, np.ndarray]:
    first = int(t_ns[0]) if len(t_ns) else 0
    if len(t_ns) and (t_ns == first).all():  # scoring: one `now`, no tz conversion of arrays
        one = calendar_features_at(first, cal)
        return {name: np.full(len(t_ns), value) for name, value in one.items()}
    local = (
        pd.DatetimeIndex(t_ns.view("datetime64[ns]"))
        .tz_localize("UTC")
        .tz_convert(cal.timezone)
        .tz_localize(None)
        .asi8
    )
    days = np.floor_divide(local, DAY_NS)
    hour = (local - days * DAY_NS) / HOUR_NS
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    hol = np.isin(days, cal.holiday_days()).astype(np.float64)
    return {"hour": hour, "weekday": weekday.astype(np.float64), "is_holiday": hol}


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | timezone:
    return UTC if name == "UTC" else ZoneInfo(name)


def calendar_features_at(t_ns: int, cal: CalendarInfo) -> dict[str, float]:
    """The calendar features of one instant (ns), without pandas: the local time is ``t``
    plus the zone's UTC offset at ``t`` (offsets change on whole seconds); the same values as
    :func:`_calendar_features` on many instants (tested)."""
    when = datetime.fromtimestamp(t_ns // 10**9, _zone(cal.timezone))
    offset = when.utcoffset()
    local = t_ns + (offset // _ONE_US * 1000 if offset is not None else 0)
    days = local // DAY_NS
    return {
        "hour": (local - days * DAY_NS) / HOUR_NS,
        "weekday": float((days + 3) % 7),
        "is_holiday": 1.0 if days in cal.holiday_day_set else 0.0,
    }


_ONE_US = timedelta(microseconds=1)


# --------------------------------------------------------------------------------------------
# Context and the builder
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureContext:
    """Everything observations are joined with: ticket universe, staffing, history, calendar."""

    workload: WorkloadIndex
    history: HistoryIndex | None = None
    group_backlog: GroupBacklogIndex | None = None
    overdue: OverdueIndex | None = None
    staffing: StaffingIndex | None = None
    calendar: CalendarInfo = CalendarInfo()
    #: clip history queries to this time (ns): scoring with a history that ends earlier.
    history_clip_ns: int | None = None


def build_context(
    tickets: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    staffing: pd.DataFrame | None = None,
    calendar: CalendarInfo | None = None,
    priorities: Sequence[str] | None = None,
    resolution_due: np.ndarray | None = None,
) -> FeatureContext:
    """Index the ticket universe (created/resolved), outcomes and staffing once.

    ``priorities`` (highest first, e.g. the policy's) orders the queue-position features;
    by default sorted names. ``resolution_due``: nominal resolution due time (int64 ns, aligned
    with ``tickets``) for the overdue-backlog features.
    """
    created = _ns(tickets[s.CREATED_AT])
    resolved = (
        _ns(tickets[s.RESOLVED_AT])
        if s.RESOLVED_AT in tickets
        else np.full(len(tickets), _NAT, dtype=np.int64)
    )
    group = tickets[s.GROUP] if s.GROUP in tickets else np.full(len(tickets), s.UNKNOWN)
    prio = (
        list(priorities)
        if priorities is not None
        else sorted(str(c) for c in as_categorical(tickets[s.PRIORITY]).categories)
    )
    return FeatureContext(
        workload=WorkloadIndex.from_arrays(created, resolved, tickets[s.PRIORITY]),
        group_backlog=GroupBacklogIndex.from_arrays(
            created, resolved, group, tickets[s.PRIORITY], prio
        ),
        overdue=OverdueIndex.from_arrays(np.asarray(resolution_due, np.int64), resolved)
        if resolution_due is not None
        else None,
        history=HistoryIndex.build(outcomes) if outcomes is not None and len(outcomes) else None,
        staffing=StaffingIndex.build(staffing) if staffing is not None and len(staffing) else None,
        calendar=calendar or CalendarInfo(),
    )


def _col(obs: pd.DataFrame, name: str, n: int) -> Any:
    if name in obs:
        return as_categorical(obs[name])
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([s.UNKNOWN]))


def _num(obs: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name in obs:
        return pd.to_numeric(obs[name], errors="coerce").to_numpy(np.float64)
    return np.full(n, np.nan)


@dataclass(frozen=True)
class Counts:
    """What the numeric features are computed from, at each observation's time ``t``: numbers
    (one value for every row) or arrays aligned with the rows.

    ``backlog``: open tickets per priority; ``same_priority``: those of the row's priority;
    ``overdue``: open tickets past their nominal resolution due time (None: unknown);
    ``arrivals``: tickets created in the last hour, the last day, the same hour 1..4 weeks
    ago (the sum of the four) and the 28 days before the last day; ``staffing``: agents now,
    mean agents over the next 4 h, the same for the row's team (None: no roster);
    ``group``: the open tickets of the row's group and those of its group ahead in priority
    order (None: unknown); ``history``: :data:`HISTORY_FEATURES` (None: no history).
    """

    backlog: dict[str, Any]
    same_priority: Any
    overdue: Any | None
    arrivals: tuple[Any, Any, Any, Any]
    staffing: tuple[Any, Any, Any, Any] | None
    group: tuple[Any, Any] | None
    history: dict[str, Any] | None


def numeric_features(
    t: Any,
    created: np.ndarray,
    target: np.ndarray,
    elapsed: np.ndarray,
    due: np.ndarray | None,
    calendar: dict[str, Any],
    counts: Counts,
    priorities: Sequence[str],
) -> dict[str, Any]:
    """Every numeric feature (:data:`BASE_NUMERIC_FEATURES` and ``backlog_p_<priority>``) of
    observations at ``t`` (ns; one instant or one per row): the one definition of the
    features, for the training rows (:func:`build_features`) and for scoring
    (:mod:`slarisk.risk.fastscore`, every row at ``now``). ``created``, ``due`` (None:
    unknown) in ns, ``target`` and ``elapsed`` in business seconds, per row; ``calendar``:
    the calendar features at ``t``. Values the rows share stay numbers."""
    out: dict[str, Any] = {}
    age = (t - created) / 1e9
    out["age_hours"] = age / 3600.0
    out["target_hours"] = target / 3600.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out["elapsed_fraction"] = elapsed / target
    out["business_left_hours"] = (target - elapsed) / 3600.0
    if due is not None:
        out["wall_left_hours"] = np.where(due == _NAT, np.nan, (due - t) / 3.6e12)
    else:
        out["wall_left_hours"] = np.nan
    out.update(calendar)

    total: Any = 0.0
    for v in counts.backlog.values():
        total = total + v
    out["backlog_total"] = total
    out["backlog_same_priority"] = counts.same_priority
    out["backlog_overdue"] = counts.overdue if counts.overdue is not None else np.nan
    out["overdue_share"] = out["backlog_overdue"] / (total + 1.0)
    a1, a24, prev4, a28 = counts.arrivals
    out["arrivals_1h"] = a1
    out["arrivals_24h"] = a24
    out["arrivals_1h_ratio"] = (a1 + 1.0) / (prev4 / 4.0 + 1.0)
    out["arrivals_24h_ratio"] = (a24 + 1.0) / (a28 / 28.0 + 1.0)

    if counts.staffing is not None:
        now_ag, next_ag, team, team_next = counts.staffing
        out["agents_now"] = now_ag
        out["agents_next_4h"] = next_ag
        out["agents_team_now"] = team
        out["agents_team_next_4h"] = team_next
        out["backlog_per_agent"] = total / (np.maximum(now_ag, next_ag) + 1.0)
    else:
        for name in STAFFING_FEATURES:
            out[name] = np.nan
    gtot, ahead = counts.group if counts.group is not None else (np.nan, np.nan)
    out["backlog_group"] = gtot
    out["backlog_group_ahead"] = ahead
    with np.errstate(invalid="ignore"):  # agents are >= 0 or NaN (no roster)
        out["ahead_per_team_agent"] = ahead / (
            np.fmax(out["agents_team_now"], out["agents_team_next_4h"]) + 1.0
        )
    hist = counts.history
    for name in HISTORY_FEATURES:
        out[name] = hist[name] if hist is not None else np.nan
    for p in priorities:
        out[f"backlog_p_{p}"] = counts.backlog.get(p, 0.0)
    return out


def build_features(
    obs: pd.DataFrame,
    context: FeatureContext,
    priorities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Feature frame (same row order as ``obs``): categorical columns as strings, numerics float.

    ``priorities`` fixes the per-priority backlog columns (``backlog_p_<priority>``); by default
    the priorities of the context's ticket universe.
    """
    n = len(obs)
    t = _ns(obs[s.AT])
    created = _ns(obs[s.CREATED_AT])
    cats = {c: _col(obs, c, n) for c in CATEGORICAL_FEATURES}
    out: dict[str, Any] = dict(cats)

    target = _num(obs, "target_seconds", n)
    elapsed = _num(obs, "elapsed_seconds", n)
    due = _ns(obs["due_at"]) if "due_at" in obs else None

    wl = context.workload
    back = wl.backlog(t)
    pri = cats[s.PRIORITY]
    same = np.zeros(n)
    for p, v in back.items():
        same += np.where(_is(pri, p), v, 0.0)
    prev4 = sum(wl.arrivals(t - k * WEEK_NS, HOUR_NS) for k in range(1, 5))
    arrivals = (
        wl.arrivals(t, HOUR_NS),
        wl.arrivals(t, DAY_NS),
        prev4,
        wl.arrivals(t - DAY_NS, WINDOW_NS),
    )
    staffing = None
    if context.staffing is not None:
        st = context.staffing
        team = np.full(n, np.nan)
        team_next = np.full(n, np.nan)
        grp = cats[s.GROUP]
        for name, steps in st.teams.items():  # a few teams
            m = _is(grp, name)
            if m.any():
                team[m] = steps.at(t[m])
                team_next[m] = steps.mean(t[m], STAFF_HORIZON_NS)
        staffing = (st.total.at(t), st.total.mean(t, STAFF_HORIZON_NS), team, team_next)
    group = None
    if context.group_backlog is not None:
        gtot, ahead = context.group_backlog.features(cats[s.GROUP], pri, t)
        group = (gtot, ahead)
    history = None
    if context.history is not None:
        th = t if context.history_clip_ns is None else np.minimum(t, context.history_clip_ns)
        history = context.history.features(cats[METRIC], cats[s.CATEGORY], cats[s.GROUP], th)
    counts = Counts(
        backlog=back,
        same_priority=same,
        overdue=context.overdue.count(t) if context.overdue is not None else None,
        arrivals=arrivals,
        staffing=staffing,
        group=group,
        history=history,
    )
    prios = list(priorities) if priorities is not None else list(wl.priorities)
    out.update(
        numeric_features(
            t, created, target, elapsed, due, _calendar_features(t, context.calendar), counts,
            prios,
        )
    )  # fmt: skip
    return pd.DataFrame({c: out[c] for c in feature_names(prios)}, index=obs.index)


def feature_names(priorities: Sequence[str]) -> list[str]:
    """Column order of :func:`build_features` for these priorities."""
    return [
        *CATEGORICAL_FEATURES,
        *BASE_NUMERIC_FEATURES,
        *[f"backlog_p_{p}" for p in priorities],
    ]
