"""Fitting a class's lifecycle (:mod:`slarisk.capacity.lifecycle`) from a help-desk event log.

From each resolved ticket's status spells (the time from one status event to the next, cut at
the resolution), counted in open seconds of the class's SLA calendar (the policy's resolution
target; wall-clock seconds without a policy):

* pickup: creation to the end of the leading ``new`` spell (to the first event when the ticket
  starts in another status): the first response of a ticket whose first touch starts there;
* outside waits: spells in a status that is not one of the desk's own (:data:`DESK_STATUSES`),
  per status: spells per ticket and their durations;
* reopens: ``resolved``/``closed`` spells before the final resolution (count and duration);
* hand-offs: the tickets' ``reassignment_count`` (0 when the column is absent);
* work per team stint: the remaining desk time (``new``/``in_progress``/... spells after the
  pickup) minus the simulated touches' handle time, shared equally over the ticket's stints
  (1 + hand-offs).

Durations are kept as empirical quantiles (the log's own distribution, heavy tails included);
a class with fewer than ``min_spells`` spells of a kind takes the pooled spells of all classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.lifecycle import MAX_LIFECYCLE_COUNT
from slarisk.sla.policy import Policy

#: statuses of tickets in the desk's own hands (every other status is an outside wait).
DESK_STATUSES: tuple[str, ...] = (
    "new",
    "open",
    "assigned",
    "active",
    "in_progress",
    "resolved",
    "solved",
    "closed",
    "canceled",
    "cancelled",
)
#: statuses that end a ticket's life (before the final resolution: a reopen follows).
DONE_STATUSES: tuple[str, ...] = ("resolved", "solved", "closed", "canceled", "cancelled")
#: quantiles kept of a fitted duration.
QUANTILES = 200
#: statuses that pause the clock when no policy is given (as the fit's customer waits).
DEFAULT_PAUSING: tuple[str, ...] = ("pending", "on_hold", "awaiting_customer", "waiting")
_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class LifecycleFit:
    """A class's fitted lifecycle; durations in seconds of ``calendar`` (None: wall clock)."""

    calendar: str | None
    n: int
    pickup: np.ndarray
    work: np.ndarray
    handoffs: dict[int, float]
    outside: dict[str, tuple[dict[int, float], np.ndarray]]
    reopens: dict[int, float]
    reopen_delay: np.ndarray
    first_stint: float = 1.0

    def mean_touches(self) -> float:
        """Expected agent touches per ticket of the fitted lifecycle."""
        waits = sum(_mean(f) for f, _ in self.outside.values())
        return 1.0 + self.first_stint + _mean(self.handoffs) + waits + _mean(self.reopens)

    def spec(self, unit: str = "hours") -> dict[str, Any]:
        """The ``lifecycle`` mapping of a scenario class."""
        out: dict[str, Any] = {}
        if self.calendar is not None:
            out["calendar"] = self.calendar
        out["pickup"] = _empirical(self.pickup, unit)
        out["work"] = _empirical(self.work, unit)
        out["first_stint"] = float(f"{self.first_stint:.4g}")
        out["handoffs"] = _freq_spec(self.handoffs)
        out["outside_waits"] = [
            {"status": s, "counts": _freq_spec(f), "duration": _empirical(v, unit)}
            for s, (f, v) in self.outside.items()
            if len(v)
        ]
        out["reopens"] = _freq_spec(self.reopens)
        if len(self.reopen_delay) and max(self.reopens) > 0:
            out["reopen_delay"] = _empirical(self.reopen_delay, unit)
        else:
            out["reopens"] = {0: 1.0}
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-able means (hours) and frequencies."""

        def hours(v: np.ndarray) -> float | None:
            return round(float(np.mean(v)) / 3600.0, 3) if len(v) else None

        return {
            "calendar": self.calendar,
            "tickets": self.n,
            "pickup_mean_hours": hours(self.pickup),
            "work_per_stint_mean_hours": hours(self.work),
            "first_stint": round(self.first_stint, 4),
            "handoffs_mean": round(_mean(self.handoffs), 4),
            "outside_waits": {
                s: {"per_ticket": round(_mean(f), 4), "mean_hours": hours(v)}
                for s, (f, v) in self.outside.items()
            },
            "reopens_mean": round(_mean(self.reopens), 4),
            "reopen_delay_mean_hours": hours(self.reopen_delay),
        }


def _mean(freq: dict[int, float]) -> float:
    tot = sum(freq.values())
    return sum(k * p for k, p in freq.items()) / tot if tot else 0.0


def _freq_spec(freq: dict[int, float]) -> dict[int, float]:
    return {int(k): float(f"{p:.4g}") for k, p in sorted(freq.items()) if p > 0}


def _empirical(values: np.ndarray, unit: str) -> dict[str, Any]:
    """Empirical distribution: the values when few, else ``QUANTILES`` mid-quantiles."""
    f = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}[unit]
    v = np.sort(np.asarray(values, dtype=float))
    if v.size == 0:
        v = np.zeros(1)
    if v.size > QUANTILES:
        v = np.quantile(v, (np.arange(QUANTILES) + 0.5) / QUANTILES)
    return {"dist": "empirical", "values": [float(f"{x / f:.4g}") for x in v], "unit": unit}


def _frequencies(counts: pd.Series) -> dict[int, float]:
    c = counts.clip(upper=MAX_LIFECYCLE_COUNT).astype(int).value_counts(normalize=True)
    c = c.sort_index()
    keys = c.index.to_numpy(dtype=np.int64)
    return {int(k): float(p) for k, p in zip(keys, c.to_numpy(), strict=True)} or {0: 1.0}


def _calendars(
    classes: Sequence[tuple[str, str, str]], policy: Policy | None
) -> dict[str, str | None]:
    """Class key -> calendar of its resolution target (None without a policy)."""
    if policy is None:
        return {k: None for k, _, _ in classes}
    return {k: policy.target_for(tier, pr, "resolution").calendar for k, tier, pr in classes}


def fit_lifecycles(
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    key: pd.Series,
    classes: Sequence[tuple[str, str, str]],
    handle_seconds: dict[str, float],
    policy: Policy | None = None,
    *,
    min_spells: int = 30,
) -> dict[str, LifecycleFit]:
    """Per class key (``classes``: (key, tier, priority)) its fitted lifecycle.

    ``key`` is the class key of each row of ``tickets``; ``handle_seconds`` the mean handle
    time per touch of each class (subtracted from the desk time, see the module docstring).
    Only resolved tickets are used.
    """
    cal_of = _calendars(classes, policy)
    wanted = {k for k, _, _ in classes}
    fr = (
        tickets["first_response_at"]
        if "first_response_at" in tickets
        else pd.Series(pd.NaT, index=tickets.index)
    )
    t = pd.DataFrame(
        {
            "ticket_id": tickets["ticket_id"].astype(str).to_numpy(),
            "key": key.to_numpy(),
            "created": _ns(tickets["created_at"]),
            "resolved": _ns(tickets["resolved_at"]),
            "first": _ns(fr),
            "handoffs": pd.to_numeric(
                tickets["reassignment_count"] if "reassignment_count" in tickets else 0,
                errors="coerce",
            ),
        }
    )
    t["handoffs"] = t["handoffs"].fillna(0).clip(lower=0)
    t = t.loc[(t["resolved"] != _NAT) & t["key"].isin(wanted)].reset_index(drop=True)
    t["cal"] = t["key"].map(cal_of)
    n = len(t)
    created, resolved = t["created"].to_numpy(), t["resolved"].to_numpy()
    first = t["first"].to_numpy()
    # the first response stops at first_response_at, else at the resolution (the SLA
    # engine's rule)
    stop = np.clip(np.where(first == _NAT, resolved, first), created, np.maximum(created, resolved))
    sp = _spells(events, t["ticket_id"], resolved)
    rows = sp["row"].to_numpy()
    cals = t["cal"].to_numpy()[rows]
    status = sp["status"]
    outside = ~status.isin(DESK_STATUSES).to_numpy()
    pauses = set(policy.pause_statuses) if policy is not None else set(DEFAULT_PAUSING)
    paused = outside & status.isin(pauses).to_numpy()
    done = status.isin(DONE_STATUSES).to_numpy()
    s0, s1 = sp["start"].to_numpy(), sp["end"].to_numpy()
    cut = stop[rows]
    # before the first response: the pickup, less the spells the policy pauses (those are
    # simulated as outside waits after it, where they pause the same)
    pre = _business(cals, s0, np.minimum(s1, cut), policy)
    post = _business(cals, np.maximum(s0, cut), s1, policy)
    t_pre = _business(t["cal"].to_numpy(), created, stop, policy)
    t_post = _business(t["cal"].to_numpy(), stop, resolved, policy)
    pickup = np.maximum(t_pre - np.bincount(rows[paused], pre[paused], n), 0.0)
    wait_secs = np.where(paused, pre, 0.0) + np.where(outside, post, 0.0)
    is_wait = outside & (wait_secs > 0)
    is_reopen = done & (post > 0)
    desk = t_post - np.bincount(rows[outside], post[outside], n)
    desk -= np.bincount(rows[is_reopen], post[is_reopen], n)
    waits_t = pd.DataFrame(
        {"row": rows[is_wait], "status": status.to_numpy()[is_wait], "secs": wait_secs[is_wait]}
    )
    waits_t["key"] = t["key"].to_numpy()[waits_t["row"]]
    reopen_t = pd.DataFrame({"row": rows[is_reopen], "secs": post[is_reopen]})
    reopen_t["key"] = t["key"].to_numpy()[reopen_t["row"]]
    n_reopen_all = np.bincount(reopen_t["row"], minlength=n)
    out: dict[str, LifecycleFit] = {}
    statuses = sorted(set(waits_t["status"]))
    for k, _, _ in classes:
        m = (t["key"] == k).to_numpy()
        if not m.any():
            continue
        hand = t["handoffs"].to_numpy()[m].astype(int)
        waits: dict[str, tuple[dict[int, float], np.ndarray]] = {}
        n_waits = np.zeros(int(m.sum()))
        for s in statuses:
            ws = waits_t.loc[waits_t["status"] == s]
            cnt = np.bincount(ws["row"], minlength=n)[m]
            n_waits += cnt
            waits[s] = (_frequencies(pd.Series(cnt)), _pooled(ws, k, min_spells))
        n_reopen = n_reopen_all[m]
        # after the first touch: every touch's handle time, then the first team's stint when
        # time is left (a ticket resolved at its first response has none). Seen only in
        # tickets without hand-offs; with hand-offs the first stint is expected (p), and the
        # desk time is shared over hand + p stints (values weighted by stints, in quarters).
        h = handle_seconds.get(k, 0.0)
        left = desk[m] - (1 + hand + n_waits + n_reopen) * h
        seen = left > h
        p = float(seen[hand == 0].mean()) if (hand == 0).any() else float(seen.mean())
        stints = np.where(hand == 0, seen.astype(float), hand + p)
        per_stint = np.where(
            stints > 0, np.maximum(left - (stints - hand) * h, 0.0) / np.maximum(stints, 1e-9), 0.0
        )
        weight = np.rint(4 * stints).astype(int)
        out[k] = LifecycleFit(
            calendar=cal_of[k],
            n=int(m.sum()),
            pickup=pickup[m],
            work=np.repeat(per_stint, weight),
            first_stint=p,
            handoffs=_frequencies(pd.Series(hand)),
            outside=waits,
            reopens=_frequencies(pd.Series(n_reopen)),
            reopen_delay=_pooled(reopen_t, k, min_spells),
        )
    return out


def _ns(values: Any) -> np.ndarray:
    """int64 UTC nanoseconds (NaT -> int64 min)."""
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(values), utc=True))
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def _spells(events: pd.DataFrame, ids: pd.Series, resolved: np.ndarray) -> pd.DataFrame:
    """Status spells of the tickets ``ids`` (row = position in ``ids``): from an event to the
    ticket's next event, cut at its resolution; empty spells dropped."""
    row = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    ev = pd.DataFrame(
        {
            "row": events["ticket_id"].astype(str).map(row),
            "at": _ns(events["at"]),
            "status": events["status"].astype(str).to_numpy(),
        }
    )
    ev = ev.loc[ev["row"].notna()].astype({"row": np.int64})
    ev = ev.sort_values(["row", "at"], kind="stable", ignore_index=True)
    r = ev["row"].to_numpy()
    at = ev["at"].to_numpy()
    same_next = np.r_[r[1:] == r[:-1], False] if len(r) else np.zeros(0, bool)
    nxt = np.r_[at[1:], at[-1:]] if len(at) else at
    end = np.minimum(np.where(same_next, nxt, resolved[r]), resolved[r])
    out = pd.DataFrame({"row": r, "start": at, "end": end, "status": ev["status"]})
    return out.loc[out["end"] > out["start"]].reset_index(drop=True)


def _pooled(spells: pd.DataFrame, key: str, min_spells: int) -> np.ndarray:
    mine = spells.loc[spells["key"] == key, "secs"].to_numpy(dtype=float)
    return mine if len(mine) >= min_spells else spells["secs"].to_numpy(dtype=float)


def _business(
    cal: np.ndarray, start: np.ndarray, end: np.ndarray, policy: Policy | None
) -> np.ndarray:
    """Open seconds of each row's calendar in [start, end) (int64 ns; 0 when end <= start;
    wall clock without a policy)."""
    end = np.maximum(end, start)
    out = (end - start).astype(np.float64) / 1e9
    if policy is None:
        return out
    names = pd.Series(np.asarray(cal, dtype=object))
    for name in names.dropna().unique():
        m = (names == name).to_numpy()
        c = policy.business_calendar(str(name))
        out[m] = np.maximum(c.business_seconds(start[m], end[m]), 0.0)
    return out
