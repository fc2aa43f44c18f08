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
- queue wait: the fluid time the ticket's team takes, on its roster from ``at`` on, to work
  through the tickets ahead of the ticket in its group's queue for a first response (created
  and not yet responded to, same or higher priority) and the higher-priority tickets arriving
  meanwhile, at the agent-hours per ticket known at ``at``
  (:func:`~slarisk.risk.feature_indexes.work_hours_per_ticket`), on the roster known up to
  4 hours ahead (then the week before repeats); and that wait against the wall time left to
  the due time. Its meaning does not change with the load level: a wait twice the time left
  is as bad on a calm desk as on an overloaded one (the raw backlog counts of an overload may
  lie beyond anything training saw);
- history: breach rates and resolution times by category/group over the last 28 days, from
  outcomes *known strictly before* ``at`` (a met target is known when the clock stops, a breach
  at the due time at the latest).

All lookups are sorted arrays + ``numpy.searchsorted`` and cumulative sums; no per-row Python.
Durations are in seconds internally; feature columns say their unit (``_hours``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    work_hours_per_ticket,
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
#: the fluid queue wait of the ticket's team (hours) and that wait against the wall time left.
WAIT_FEATURES: tuple[str, ...] = ("expected_wait_hours", "wait_left_ratio", "wait_minus_left_hours")
#: every feature that needs a staffing table (constant NaN without one): turned off by
#: :func:`slarisk.risk.train.available_features` when training has no staffing.
NEEDS_STAFFING_FEATURES: tuple[str, ...] = (
    *STAFFING_FEATURES,
    "ahead_per_team_agent",
    *WAIT_FEATURES,
)
#: the longest queue wait a feature holds (hours): a roster without agents never drains.
MAX_WAIT_HOURS = 10_000.0
#: window of the higher-priority arrival rate of the queue wait (ns), and its fixed-point steps.
PREEMPT_WINDOW_NS = DAY_NS
PREEMPT_STEPS = 4
#: the least wall time left a ratio divides by (hours: one minute).
MIN_LEFT_HOURS = 1.0 / 60.0
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
    *WAIT_FEATURES,
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
    #: tickets waiting for a first response (created, not responded to nor resolved) per
    #: group and priority: the queue position of the wait features.
    response_queue: GroupBacklogIndex | None = None
    #: ticket creations per group and priority (no resolutions): the arrivals of a higher
    #: priority that go ahead of a waiting ticket.
    group_arrivals: GroupBacklogIndex | None = None
    #: a fixed queue-wait scale per team (agent-hours per ticket; scoring: the model's);
    #: empty: the expanding estimate known at each row's time (training)
    work_hours: Mapping[str, float] = field(default_factory=dict)
    #: :func:`work_hours_per_ticket` just after the last ticket: what a model carries.
    work_hours_at_end: Mapping[str, float] = field(default_factory=dict)


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
    staff = StaffingIndex.build(staffing) if staffing is not None and len(staffing) else None
    responded = (
        _ns(tickets[s.FIRST_RESPONSE_AT])
        if s.FIRST_RESPONSE_AT in tickets
        else np.full(len(tickets), _NAT, dtype=np.int64)
    )
    responded = np.where(responded == _NAT, resolved, responded)
    return FeatureContext(
        workload=WorkloadIndex.from_arrays(created, resolved, tickets[s.PRIORITY]),
        group_backlog=GroupBacklogIndex.from_arrays(
            created, resolved, group, tickets[s.PRIORITY], prio
        ),
        overdue=OverdueIndex.from_arrays(np.asarray(resolution_due, np.int64), resolved)
        if resolution_due is not None
        else None,
        response_queue=GroupBacklogIndex.from_arrays(
            created, responded, group, tickets[s.PRIORITY], prio
        ),
        group_arrivals=GroupBacklogIndex.from_arrays(
            created, np.full(len(created), _NAT, np.int64), group, tickets[s.PRIORITY], prio
        ),
        history=HistoryIndex.build(outcomes) if outcomes is not None and len(outcomes) else None,
        staffing=staff,
        calendar=calendar or CalendarInfo(),
        work_hours_at_end=_work_hours_at_end(staff, created, group) if staff is not None else {},
    )


def _work_hours_at_end(staff: StaffingIndex, created: np.ndarray, group: Any) -> dict[str, float]:
    """Per team that is also a ticket group: :func:`work_hours_per_ticket` just after the last
    ticket was created (every ticket of the group counted)."""
    if not len(created):
        return {}
    end = np.asarray([(int(created.max()) // 10**9 + 1) * 10**9], np.int64)
    grp = as_categorical(group)
    out = {}
    for name, steps in staff.teams.items():  # a few teams
        n = float(np.count_nonzero(_is(grp, name)))
        if n:
            out[name] = float(work_hours_per_ticket(steps, np.asarray([n]), end)[0])
    return out


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
    order (None: unknown); ``history``: :data:`HISTORY_FEATURES` (None: no history);
    ``wait``: the fluid queue wait in hours (:func:`expected_wait_hours`; None: no roster).
    """

    backlog: dict[str, Any]
    same_priority: Any
    overdue: Any | None
    arrivals: tuple[Any, Any, Any, Any]
    staffing: tuple[Any, Any, Any, Any] | None
    group: tuple[Any, Any] | None
    history: dict[str, Any] | None
    wait: Any | None = None


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
    if counts.wait is not None:
        wait = np.minimum(counts.wait, MAX_WAIT_HOURS)
        left = out["wall_left_hours"]
        out["expected_wait_hours"] = wait
        out["wait_left_ratio"] = wait / np.maximum(left, MIN_LEFT_HOURS)
        out["wait_minus_left_hours"] = wait - left
    else:
        for name in WAIT_FEATURES:
            out[name] = np.nan
    hist = counts.history
    for name in HISTORY_FEATURES:
        out[name] = hist[name] if hist is not None else np.nan
    for p in priorities:
        out[f"backlog_p_{p}"] = counts.backlog.get(p, 0.0)
    return out


def expected_wait_hours(
    staffing: StaffingIndex,
    groups: Sequence[str],
    group_code: np.ndarray,
    ahead: np.ndarray,
    higher_per_hour: np.ndarray,
    work_hours: np.ndarray,
    t: Any,
) -> np.ndarray:
    """The fluid queue wait (hours) of rows at ``t`` (ns; one instant or one per row): the
    time the team named like the row's group (``groups[group_code]``) takes, on its roster
    from ``t`` on (known :data:`STAFF_HORIZON_NS` ahead), to do ``ahead`` tickets of
    ``work_hours`` agent-hours each (per row; the ``drain`` of
    :class:`~slarisk.risk.feature_indexes.StaffingIndex` steps), plus the tickets
    of a higher priority arriving meanwhile at ``higher_per_hour`` (strict priority: they go
    ahead; a fixed point of a few steps, capped at :data:`MAX_WAIT_HOURS`). NaN where the
    group has no team on the roster, no work scale or no queue count. The one definition,
    for training (:func:`build_features`) and scoring (:mod:`slarisk.risk.fastscore`, on
    the (group, priority) cells)."""
    out = np.full(len(ahead), np.nan)
    per_row = np.ndim(t) > 0
    for gi, name in enumerate(groups):  # a few groups
        steps = staffing.teams.get(name)
        if steps is None:
            continue
        m = group_code == gi
        if not m.any():
            continue
        w = work_hours[m]
        a = np.nan_to_num(ahead[m]) * (np.nan_to_num(w) * HOUR_NS)  # agent-ns ahead
        rate = np.nan_to_num(higher_per_hour[m]) * np.nan_to_num(w)  # agent-h/h arriving ahead
        tm = np.broadcast_to(np.asarray(t[m] if per_row else t, np.int64), a.shape)
        start = steps.integral(tm)
        wait = steps.drain_from(tm, start, a, STAFF_HORIZON_NS) / HOUR_NS
        wait = np.minimum(wait, MAX_WAIT_HOURS)
        if rate.any():
            for _ in range(PREEMPT_STEPS):  # more higher-priority work arrives while waiting
                more = a + rate * wait * HOUR_NS
                wait = np.minimum(
                    steps.drain_from(tm, start, more, STAFF_HORIZON_NS) / HOUR_NS, MAX_WAIT_HOURS
                )
        out[m] = np.where(np.isnan(ahead[m]) | np.isnan(w), np.nan, wait)
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
    wait = None
    if context.response_queue is not None and context.staffing is not None:
        grp = cats[s.GROUP]
        _, waiting = context.response_queue.features(grp, pri, t)
        higher = np.zeros(n)
        work = np.full(n, np.nan)
        codes = np.asarray(grp.codes, dtype=np.intp)
        names = [str(c) for c in grp.categories]
        if context.group_arrivals is not None:
            higher = context.group_arrivals.higher(grp, pri, t, PREEMPT_WINDOW_NS)
            so_far, _ = context.group_arrivals.features(grp, pri, t)  # created before t
        for gi, name in enumerate(names):  # a few groups
            roster = context.staffing.teams.get(name)
            m = codes == gi
            if roster is None or not m.any():
                continue
            if context.work_hours:
                work[m] = context.work_hours.get(name, np.nan)
            elif context.group_arrivals is not None:
                work[m] = work_hours_per_ticket(roster, so_far[m], t[m])
        wait = expected_wait_hours(
            context.staffing,
            names,
            codes,
            waiting,
            higher * (HOUR_NS / PREEMPT_WINDOW_NS),
            work,
            t,
        )
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
        wait=wait,
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
