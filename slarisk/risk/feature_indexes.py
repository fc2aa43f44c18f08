"""Point-in-time indexes behind the features: what was known at an instant ``t``.

- :class:`WorkloadIndex`, :class:`GroupBacklogIndex`, :class:`OverdueIndex`: the open queue
  (tickets created at or before ``t`` and not resolved by ``t``), per priority and group, the
  tickets already past their nominal resolution due, and arrival counts in windows before ``t``;
- :class:`StaffingIndex`: agents on duty as a step function, with its integral for means over
  the next hours;
- :class:`HistoryIndex`: breach rates and resolution times by category/group from outcomes
  known strictly before ``t`` (:func:`outcomes_from_clocks` derives those outcomes).

All lookups are sorted arrays + ``numpy.searchsorted`` and cumulative sums; no per-row Python.
The builder of the feature table is :func:`slarisk.risk.features.build_features`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s

HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
WEEK_NS = 7 * DAY_NS
#: window of the rolling history and arrival norms (ns).
WINDOW_NS = 28 * DAY_NS
#: horizon of the "agents over the next hours" feature (ns).
STAFF_HORIZON_NS = 4 * HOUR_NS
#: pseudo-count pulling a segment's breach rate towards the metric's overall rate.
PRIOR_WEIGHT = 10.0
_KEY_SHIFT = 34  # seconds since base fit in 34 bits (544 years)

METRIC = "metric"


def _ns(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """int64 nanoseconds since the epoch (UTC); NaT -> int64 min."""
    if getattr(values, "dtype", None) == np.int64:
        return np.asarray(values)
    idx = pd.DatetimeIndex(values)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.as_unit("ns").asi8.copy()


_NAT = np.iinfo(np.int64).min


# --------------------------------------------------------------------------------------------
# Keyed cumulative counts: sum of values over events with key k and time < t (or in a window)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyedCumulative:
    """Events (key code, time in whole seconds, values) sorted for fast prefix sums.

    ``sums(keys, t_ns)`` returns, per query, the column sums over events of the same key whose
    time (floored to the second) is strictly before ``t`` floored to the second: an event is
    counted only if it happened strictly before ``t``.
    """

    combined: np.ndarray  # int64: key << 34 | (seconds - base), sorted
    cum: np.ndarray  # float64 (n + 1, k) prefix sums
    base_s: int

    @classmethod
    def build(cls, keys: np.ndarray, t_ns: np.ndarray, values: np.ndarray) -> KeyedCumulative:
        keys = np.asarray(keys, dtype=np.int64)
        secs = np.floor_divide(t_ns, 10**9)
        base = int(secs.min()) if len(secs) else 0
        combined = (keys << _KEY_SHIFT) | (secs - base)
        order = np.argsort(combined, kind="stable")
        values = np.asarray(values, dtype=np.float64)
        vals = (values if values.ndim == 2 else values.reshape(len(keys), -1))[order]
        cum = np.vstack([np.zeros((1, vals.shape[1])), np.cumsum(vals, axis=0)])
        return cls(combined=combined[order], cum=cum, base_s=base)

    def _pos(self, keys: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        off = np.clip(np.floor_divide(t_ns, 10**9) - self.base_s, 0, (1 << _KEY_SHIFT) - 1)
        return np.searchsorted(self.combined, (keys << _KEY_SHIFT) | off, side="left")

    def window_sums(self, keys: np.ndarray, t_ns: np.ndarray, window_ns: int | None) -> np.ndarray:
        """Sums over events with time in [t - window, t) (all of the past when window is None).

        Unknown keys (negative codes) get zeros.
        """
        keys = np.asarray(keys, dtype=np.int64)
        safe = np.where(keys < 0, 0, keys)
        hi = self._pos(safe, t_ns)
        if window_ns is None:
            lo = np.searchsorted(self.combined, safe << _KEY_SHIFT, side="left")
        else:
            lo = self._pos(safe, t_ns - window_ns)
        out = self.cum[hi] - self.cum[lo]
        out[keys < 0] = 0.0
        return out


@dataclass(frozen=True)
class _Coder:
    """Maps strings to dense int codes (unknown -> -1)."""

    categories: tuple[str, ...]

    @classmethod
    def fit(cls, values: Any) -> _Coder:
        return cls(tuple(sorted(str(c) for c in as_categorical(values).categories)))

    @cached_property
    def index(self) -> pd.Index:
        return pd.Index(self.categories, dtype=object)

    def codes(self, values: Any) -> np.ndarray:
        cat = as_categorical(values)
        index = self.index
        lookup = np.asarray(index.get_indexer(cat.categories.astype(object)), dtype=np.int64)
        return lookup[np.asarray(cat.codes, dtype=np.int64)]


def as_categorical(values: Any) -> pd.Categorical:
    """Values as a string-category ``pandas.Categorical`` with no missing values
    (missing -> ``"unknown"``). Cheap for columns that already are categorical."""
    if isinstance(values, pd.Categorical):
        cat = values
    elif isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = pd.Series(values).array  # type: ignore[assignment]
    else:
        cat = pd.Categorical(pd.Series(values, copy=False))
    if len(cat.categories) and not isinstance(cat.categories[0], str):
        cat = cat.rename_categories({c: str(c) for c in cat.categories})
    if (np.asarray(cat.codes) < 0).any():
        if s.UNKNOWN not in cat.categories:
            cat = cat.add_categories([s.UNKNOWN])
        cat = cat.fillna(s.UNKNOWN)
    return cat


def _is(cat: pd.Categorical, value: str) -> np.ndarray:
    """Boolean mask ``cat == value`` through the codes."""
    where = np.flatnonzero(np.asarray(cat.categories.astype(object)) == value)
    if not len(where):
        return np.zeros(len(cat), dtype=bool)
    return np.asarray(cat.codes) == where[0]


# --------------------------------------------------------------------------------------------
# Workload: backlog and arrivals from the ticket universe
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkloadIndex:
    """Created / resolved times per priority (ns, sorted) of every ticket known so far."""

    priorities: tuple[str, ...]
    created: tuple[np.ndarray, ...]  # per priority, sorted ns
    resolved: tuple[np.ndarray, ...]  # per priority, sorted ns (resolved tickets only)
    all_created: np.ndarray

    @classmethod
    def build(cls, tickets: pd.DataFrame) -> WorkloadIndex:
        """From a ticket frame (``created_at``, ``resolved_at`` (optional), ``priority``)."""
        created = _ns(tickets[s.CREATED_AT])
        resolved = (
            _ns(tickets[s.RESOLVED_AT])
            if s.RESOLVED_AT in tickets
            else np.full(len(tickets), _NAT, dtype=np.int64)
        )
        return cls.from_arrays(created, resolved, tickets[s.PRIORITY])

    @classmethod
    def from_arrays(cls, created: np.ndarray, resolved: np.ndarray, priority: Any) -> WorkloadIndex:
        """From int64 ns arrays (NaT = int64 min: never resolved) and priorities."""
        pri = as_categorical(priority)
        names = tuple(sorted(str(c) for c in pri.categories))
        c_list, r_list = [], []
        for p in names:  # loop over a handful of priorities, vectorised inside
            m = _is(pri, p)
            c_list.append(np.sort(created[m]))
            r = resolved[m]
            r_list.append(np.sort(r[r != _NAT]))
        return cls(names, tuple(c_list), tuple(r_list), np.sort(created))

    def backlog(self, t_ns: np.ndarray) -> dict[str, np.ndarray]:
        """Open tickets at t per priority: created <= t and not resolved by t."""
        return {
            p: (
                np.searchsorted(c, t_ns, side="right") - np.searchsorted(r, t_ns, side="right")
            ).astype(np.float64)
            for p, c, r in zip(self.priorities, self.created, self.resolved, strict=True)
        }

    def arrivals(self, t_ns: np.ndarray, window_ns: int) -> np.ndarray:
        """Tickets created in (t - window, t]."""
        c = self.all_created
        return (
            np.searchsorted(c, t_ns, side="right") - np.searchsorted(c, t_ns - window_ns, "right")
        ).astype(np.float64)


@dataclass(frozen=True)
class OverdueIndex:
    """Open tickets already past their nominal resolution due time, at t.

    overdue(t) = #(due <= t) - #(max(due, resolved) <= t): tickets due by t minus those of
    them resolved by t. The nominal due (created + target on the calendar) is known at creation.
    """

    due: np.ndarray  # sorted ns
    done: np.ndarray  # sorted ns: max(due, resolved); unresolved tickets are left out

    @classmethod
    def from_arrays(cls, due: np.ndarray, resolved: np.ndarray) -> OverdueIndex:
        ok = due != _NAT
        d, r = due[ok], resolved[ok]
        res = r != _NAT
        return cls(np.sort(d), np.sort(np.maximum(d[res], r[res])))

    def count(self, t_ns: np.ndarray) -> np.ndarray:
        return (
            np.searchsorted(self.due, t_ns, side="right")
            - np.searchsorted(self.done, t_ns, side="right")
        ).astype(np.float64)


@dataclass(frozen=True)
class GroupBacklogIndex:
    """Open tickets per group and priority at t (strict-priority queue position).

    Counts tickets created strictly before t (to the second) and not resolved strictly before
    t; ``ahead`` = open tickets of the same group with the same or a higher priority.
    """

    groups: _Coder
    priorities: tuple[str, ...]  # highest first
    index: KeyedCumulative  # key: group; values: +1/-1 one-hot over priority rank

    @classmethod
    def from_arrays(
        cls,
        created: np.ndarray,
        resolved: np.ndarray,
        group: Any,
        priority: Any,
        priorities: Sequence[str],
    ) -> GroupBacklogIndex:
        coder = _Coder.fit(group)
        g = coder.codes(group)
        k = len(priorities)
        rank = _Coder(tuple(priorities)).codes(priority)
        rank = np.where(rank < 0, k, rank)
        onehot = np.zeros((len(g), k + 1))
        onehot[np.arange(len(g)), rank] = 1.0
        res = resolved != _NAT
        return cls(
            coder,
            tuple(priorities),
            KeyedCumulative.build(
                np.concatenate([g, g[res]]),
                np.concatenate([created, resolved[res]]),
                np.vstack([onehot, -onehot[res]]),
            ),
        )

    def features(self, group: Any, priority: Any, t_ns: np.ndarray) -> tuple[np.ndarray, ...]:
        """(open in the group, open in the group with the same or a higher priority)."""
        g = self.groups.codes(group)
        k = len(self.priorities)
        rank = _Coder(self.priorities).codes(priority)
        rank = np.where(rank < 0, k, rank)
        sums = np.cumsum(self.index.window_sums(g, t_ns, None), axis=1)
        total = sums[:, -1]
        ahead = sums[np.arange(len(g)), rank]
        unknown = g < 0
        return np.where(unknown, np.nan, total), np.where(unknown, np.nan, ahead)

    def higher(self, group: Any, priority: Any, t_ns: np.ndarray, window_ns: int) -> np.ndarray:
        """Events in the window ``[t - window, t)`` (to the second) of the row's group with a
        strictly higher priority than the row's (NaN for unknown groups): on an index of
        creations alone, the arrivals that go ahead of a waiting ticket."""
        g = self.groups.codes(group)
        k = len(self.priorities)
        rank = _Coder(self.priorities).codes(priority)
        rank = np.where(rank < 0, k, rank)
        sums = np.cumsum(self.index.window_sums(g, t_ns, window_ns), axis=1)
        out = np.where(rank > 0, sums[np.arange(len(g)), np.maximum(rank - 1, 0)], 0.0)
        return np.where(g < 0, np.nan, out)


# --------------------------------------------------------------------------------------------
# Staffing: agents on duty as a step function, with its integral for horizon means
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Steps:
    starts: np.ndarray  # ns, sorted, non-overlapping interval starts
    ends: np.ndarray
    agents: np.ndarray
    cum_agent_ns: np.ndarray  # integral of agents up to each start (agent-ns), len n + 1

    @classmethod
    def build(cls, starts: np.ndarray, ends: np.ndarray, agents: np.ndarray) -> _Steps:
        order = np.argsort(starts, kind="stable")
        st, en, ag = starts[order], ends[order], agents[order]
        cum = np.concatenate([[0.0], np.cumsum(ag * (en - st).astype(np.float64))])
        return cls(st, en, ag, cum)

    def at(self, t_ns: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.starts, t_ns, side="right") - 1
        ok = (i >= 0) & (t_ns < self.ends[np.clip(i, 0, None)])
        return np.where(ok, self.agents[np.clip(i, 0, None)], 0.0)

    def integral(self, t_ns: np.ndarray) -> np.ndarray:
        """Agent-ns from the first interval start up to t."""
        i = np.searchsorted(self.starts, t_ns, side="right") - 1
        ic = np.clip(i, 0, None)
        inside = np.minimum(t_ns, self.ends[ic]) - self.starts[ic]
        part = self.agents[ic] * np.clip(inside, 0, None).astype(np.float64)
        return np.where(i >= 0, self.cum_agent_ns[ic] + part, 0.0)

    def mean(self, t_ns: np.ndarray, horizon_ns: int) -> np.ndarray:
        return (self.integral(t_ns + horizon_ns) - self.integral(t_ns)) / horizon_ns

    def drain(self, t_ns: Any, work_agent_ns: np.ndarray, horizon_ns: int) -> np.ndarray:
        """Fluid drain time (ns) from ``t`` (one instant or one per row): how long the agents
        on duty from ``t`` on take to do ``work_agent_ns`` (agent-ns; at full capacity, no
        agents in the gaps of the roster). The roster is known ``horizon_ns`` ahead (a plan):
        after ``t + horizon`` the week before it repeats (the same hours of the week, so
        nights and weekends stay closed); a roster without agents that week never drains
        (inf). 0 where there is no work."""
        work = np.asarray(work_agent_ns, dtype=np.float64)
        t = np.broadcast_to(np.asarray(t_ns, dtype=np.int64), work.shape)
        return self.drain_from(t, self.integral(t), work, horizon_ns)

    def _inverse(self, goal: np.ndarray) -> np.ndarray:
        """The first time (ns, float) the integral reaches ``goal`` (within the roster)."""
        cum = self.cum_agent_ns
        i = np.searchsorted(cum, goal, side="left") - 1  # cum[i] < goal <= cum[i + 1]
        ic = np.minimum(np.maximum(i, 0), len(self.starts) - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.starts[ic] + (goal - cum[ic]) / self.agents[ic]

    def drain_from(
        self, t: np.ndarray, start: np.ndarray, work: np.ndarray, horizon_ns: int
    ) -> np.ndarray:
        """:meth:`drain` given ``start = integral(t)`` (int64 ``t`` per row), so that repeated
        drains from the same instants compute it once."""
        if not len(self.starts):
            return np.where(work > 0, np.inf, 0.0)
        h = t + horizon_ns
        at_h = self.integral(h)
        goal = start + work
        week_ago = h - WEEK_NS
        at_week_ago = self.integral(week_ago)
        weekly = at_h - at_week_ago  # agent-ns of the week before t + horizon
        with np.errstate(divide="ignore", invalid="ignore"):
            rest = goal - at_h  # > 0: beyond the known roster
            weeks = np.floor(np.maximum(rest, 0.0) / weekly)
            left = rest - weeks * weekly
            again = self._inverse(at_week_ago + np.where(left > 0, left, 0.0)) - week_ago
            later = h + weeks * WEEK_NS + again
            done_at = np.where(goal <= at_h, self._inverse(goal), later)
            done_at = np.where((goal > at_h) & ~(weekly > 0), np.inf, done_at)
        return np.where(work > 0, np.maximum(done_at - t, 0.0), 0.0)

    # one instant (scoring at `now`): the same arithmetic on Python numbers, no array calls
    @cached_property
    def _lists(self) -> tuple[list[int], list[int], list[float], list[float]]:
        return (
            self.starts.tolist(),
            self.ends.tolist(),
            self.agents.tolist(),
            self.cum_agent_ns.tolist(),
        )

    def at_one(self, t_ns: int) -> float:
        """:meth:`at` of one instant (ns)."""
        starts, ends, agents, _ = self._lists
        i = bisect_right(starts, t_ns) - 1
        return float(agents[i]) if i >= 0 and t_ns < ends[i] else 0.0

    def _integral_one(self, t_ns: int) -> float:
        starts, ends, agents, cum = self._lists
        i = bisect_right(starts, t_ns) - 1
        if i < 0:
            return 0.0
        return cum[i] + agents[i] * float(max(min(t_ns, ends[i]) - starts[i], 0))

    def mean_one(self, t_ns: int, horizon_ns: int) -> float:
        """:meth:`mean` of one instant (ns)."""
        return (self._integral_one(t_ns + horizon_ns) - self._integral_one(t_ns)) / horizon_ns


@dataclass(frozen=True)
class StaffingIndex:
    """Agents on duty (all teams, and per team) from interval-form staffing."""

    total: _Steps
    teams: Mapping[str, _Steps] = field(default_factory=dict)

    @classmethod
    def build(cls, staffing: pd.DataFrame) -> StaffingIndex:
        """From interval-form staffing (``interval_start``, ``interval_minutes``, ``team``,
        ``agents``): :meth:`from_arrays` of its columns."""
        teams = as_categorical(staffing[s.TEAM])
        return cls.from_arrays(
            _ns(staffing[s.INTERVAL_START]),
            staffing[s.INTERVAL_MINUTES].to_numpy(np.int64),
            staffing[s.AGENTS].to_numpy(np.float64),
            np.asarray(teams.codes, dtype=np.intp),
            [str(c) for c in teams.categories],
        )

    @classmethod
    def from_arrays(
        cls,
        start_ns: np.ndarray,
        minutes: np.ndarray,
        agents: np.ndarray,
        team_codes: np.ndarray,
        team_names: Sequence[str],
    ) -> StaffingIndex:
        """From columns: interval starts (int64 UTC ns), lengths (minutes), agents, and the
        team of each interval as codes into ``team_names`` (a name may repeat)."""
        start = np.asarray(start_ns, dtype=np.int64)
        end = start + np.asarray(minutes, dtype=np.int64) * 60 * 10**9
        ag = np.asarray(agents, dtype=np.float64)
        codes = np.asarray(team_codes, dtype=np.intp)
        per_team = {}
        for name in sorted(set(team_names)):  # a few teams
            m = np.isin(codes, [i for i, x in enumerate(team_names) if x == name])
            if m.any():
                per_team[str(name)] = _Steps.build(start[m], end[m], ag[m])
        # total: agents of all teams summed on the union of the interval boundaries
        bounds = np.unique(np.concatenate([start, end]))
        mids = bounds[:-1]
        tot = np.zeros(len(mids))
        for steps in per_team.values():
            tot += steps.at(mids)
        return cls(_Steps.build(mids, bounds[1:], tot), per_team)


def work_hours_per_ticket(
    steps: _Steps, created_before: np.ndarray, t_ns: np.ndarray
) -> np.ndarray:
    """Agent-hours on duty per ticket of a team's group, known at ``t`` (per row): the
    roster's agent-hours from its start up to ``t`` over the group's tickets created before
    ``t`` (``created_before``, at least 1). The scale of the fluid queue wait
    (:meth:`_Steps.drain`); agents idle part of the time make it larger than the work itself.
    An expanding mean, so it settles as the history grows and never looks ahead."""
    return steps.integral(np.asarray(t_ns, np.int64)) / HOUR_NS / np.maximum(created_before, 1.0)


# --------------------------------------------------------------------------------------------
# History: outcomes known before t
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryIndex:
    """Rolling breach rates and resolution times from outcomes known before each query time."""

    metrics: _Coder
    categories: _Coder
    groups: _Coder
    breach_metric: KeyedCumulative  # key metric; values (n, breaches)
    breach_category: KeyedCumulative  # key metric * n_cat + category
    breach_group: KeyedCumulative
    resolution_category: KeyedCumulative  # key category; values (n, sum log1p hours)
    resolution_group: KeyedCumulative
    known_until_ns: int  # latest time at which an outcome became known

    @classmethod
    def build(cls, outcomes: pd.DataFrame) -> HistoryIndex:
        """``outcomes``: ``metric, category, group, breached (bool), known_at`` and optionally
        ``resolution_seconds`` with ``resolved_at`` (see :func:`outcomes_from_clocks`)."""
        metrics = _Coder.fit(outcomes[METRIC])
        cats = _Coder.fit(outcomes[s.CATEGORY])
        groups = _Coder.fit(outcomes[s.GROUP])
        m = metrics.codes(outcomes[METRIC])
        c = cats.codes(outcomes[s.CATEGORY])
        g = groups.codes(outcomes[s.GROUP])
        known = _ns(outcomes["known_at"])
        b = outcomes["breached"].to_numpy(np.float64)
        one = np.ones_like(b)
        vals = np.column_stack([one, b])
        nc, ng = max(len(cats.categories), 1), max(len(groups.categories), 1)
        res_rows = _is(as_categorical(outcomes[METRIC]), "resolution")
        if "resolution_seconds" in outcomes:
            res = outcomes["resolution_seconds"].to_numpy(np.float64)
            res_rows = res_rows & np.isfinite(res)
            res_at = _ns(outcomes["resolved_at"])[res_rows]
            lr = np.log1p(np.clip(res[res_rows], 0, None) / 3600.0)
        else:
            res_at, lr = np.zeros(0, np.int64), np.zeros(0)
        rv = np.column_stack([np.ones_like(lr), lr])
        return cls(
            metrics=metrics,
            categories=cats,
            groups=groups,
            breach_metric=KeyedCumulative.build(m, known, vals),
            breach_category=KeyedCumulative.build(m * nc + c, known, vals),
            breach_group=KeyedCumulative.build(m * ng + g, known, vals),
            resolution_category=KeyedCumulative.build(c[res_rows], res_at, rv),
            resolution_group=KeyedCumulative.build(g[res_rows], res_at, rv),
            known_until_ns=int(known.max()) if len(known) else 0,
        )

    def features(
        self,
        metric: Any,
        category: Any,
        group: Any,
        t_ns: np.ndarray,
    ) -> dict[str, np.ndarray]:
        m = self.metrics.codes(metric)
        c = self.categories.codes(category)
        g = self.groups.codes(group)
        nc, ng = max(len(self.categories.categories), 1), max(len(self.groups.categories), 1)
        glob_all = self.breach_metric.window_sums(m, t_ns, None)
        prior = (glob_all[:, 1] + 1.0) / (glob_all[:, 0] + 2.0)
        glob = self.breach_metric.window_sums(m, t_ns, WINDOW_NS)
        rate_metric = (glob[:, 1] + PRIOR_WEIGHT * prior) / (glob[:, 0] + PRIOR_WEIGHT)

        def rate(idx: KeyedCumulative, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            w = idx.window_sums(np.where((m < 0) | (key < 0), -1, key), t_ns, WINDOW_NS)
            return (w[:, 1] + PRIOR_WEIGHT * rate_metric) / (w[:, 0] + PRIOR_WEIGHT), w[:, 0]

        rc, nc_ = rate(self.breach_category, m * nc + c)
        rg, _ = rate(self.breach_group, m * ng + g)

        def mean_log(idx: KeyedCumulative, key: np.ndarray) -> np.ndarray:
            w = idx.window_sums(key, t_ns, WINDOW_NS)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(w[:, 0] > 0, w[:, 1] / np.maximum(w[:, 0], 1), np.nan)

        return {
            "hist_breach_rate_metric": rate_metric,
            "hist_breach_rate_category": rc,
            "hist_breach_rate_group": rg,
            "hist_n_category": nc_,
            "hist_log_resolution_hours_category": mean_log(self.resolution_category, c),
            "hist_log_resolution_hours_group": mean_log(self.resolution_group, g),
        }


def outcomes_from_clocks(clocks: pd.DataFrame, tickets: pd.DataFrame) -> pd.DataFrame:
    """Outcome rows (one per ticket and metric whose outcome is known) from ``compute_clocks``.

    ``known_at`` is when the outcome became known: the stop time if the target was met, the due
    time if it was breached. Open tickets not yet past due (outcome unknown) are left out.
    """
    stopped = clocks["stopped_at"]
    due = clocks["due_at"]
    breached = clocks["breached"].astype(bool).to_numpy()
    known_at = stopped.where(~pd.Series(breached, index=clocks.index), due)
    known_at = known_at.where(known_at.notna(), due.where(pd.Series(breached, index=clocks.index)))
    keep = known_at.notna().to_numpy()
    t = tickets.set_index(s.TICKET_ID)
    ids = clocks[s.TICKET_ID]
    out = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: clocks["metric"].to_numpy(),
            s.CATEGORY: t[s.CATEGORY].reindex(ids).to_numpy(),
            s.GROUP: t[s.GROUP].reindex(ids).to_numpy(),
            "breached": breached,
            "known_at": known_at.to_numpy(),
            s.RESOLVED_AT: t[s.RESOLVED_AT].reindex(ids).to_numpy(),
        }
    )
    created = t[s.CREATED_AT].reindex(ids).to_numpy()
    out["resolution_seconds"] = (
        (pd.Series(out[s.RESOLVED_AT]) - pd.Series(created)).dt.total_seconds().to_numpy()
    )
    return out.loc[keep].reset_index(drop=True)
