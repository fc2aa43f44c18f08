"""Vectorised SLA clocks: elapsed business time, due time, breach and alert level per ticket.

`compute_clocks(tickets, policy, events=None, now=None)` returns one row per (ticket, metric)
(see docs/architecture.md). Definitions, per metric (first_response, resolution):

- The clock runs from `created_at` to its stop: `first_response_at` for first_response (or
  `resolved_at` when a ticket is resolved without a recorded response), `resolved_at` for
  resolution. An open clock (no stop) is measured at `now`.
- Pauses: from each status event whose status is in the policy's `pause_statuses` until the
  next event of the same ticket (open-ended when it is the last event), clipped to
  [created_at, stop or now]. A pause still running at `now` is projected as if the ticket
  resumed at `now` (its due time is what it would be on resuming now).
- elapsed_seconds = open business seconds of the target's calendar in [created_at, stop or now]
  minus those inside pauses; paused_seconds = business seconds inside pauses.
- due_at = the earliest instant at which the target's business-time budget is used up,
  counting pauses that began before it (pauses after the stop do not count).
- breached = elapsed_seconds > target_seconds (strictly; for open clocks: at `now`). A budget
  that runs out at closing time with the ticket resolved in closed hours is therefore met.
- time_left_seconds = target_seconds - elapsed_seconds (business seconds; negative when over).
- elapsed_fraction = elapsed_seconds / target_seconds; alert_level (open clocks only, 0 when
  stopped) = the largest policy warning level (e.g. 80/90/100) whose fraction is reached.
- excluded_by = id of the first exception window (register order) whose [start, end) holds
  `created_at` and whose scope matches the ticket; None otherwise.

All arithmetic is int64 nanoseconds over numpy arrays, grouped by calendar; see
`slarisk.sla.calendar` for the calendar definition (DST-exact).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slarisk.errors import InputError
from slarisk.sla.calendar import NAT, NS_PER_DAY, NS_PER_SECOND, OpenIntervals, to_ns
from slarisk.sla.policy import ANY_TIER, METRICS, SCOPE_FIELDS, Policy

_INF = np.iinfo(np.int64).max

#: clock columns, in output order (the ticket's own columns follow).
CLOCK_COLUMNS: tuple[str, ...] = (
    "ticket_id",
    "metric",
    "target_seconds",
    "goal",
    "calendar",
    "elapsed_seconds",
    "paused_seconds",
    "due_at",
    "stopped_at",
    "is_open",
    "breached",
    "time_left_seconds",
    "elapsed_fraction",
    "alert_level",
    "excluded_by",
)


def _rows_text(mask: np.ndarray, ids: np.ndarray, limit: int = 3) -> str:
    bad = np.flatnonzero(mask)
    shown = ", ".join(f"row {i + 1} (ticket {ids[i]})" for i in bad[:limit])
    more = f" and {bad.size - limit} more" if bad.size > limit else ""
    return f"{bad.size} row(s): {shown}{more}"


def _ns_column(df: pd.DataFrame, col: str, ids: np.ndarray, *, required: bool) -> np.ndarray:
    """int64 UTC ns of a timestamp column (naive = UTC); bad values raise InputError."""
    if col not in df.columns:
        if required:
            raise InputError("required column is missing", field=col)
        return np.full(len(df), NAT, dtype=np.int64)
    s = df[col]
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        out = to_ns(s)
    else:
        conv = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        badmask = (conv.isna() & s.notna()).to_numpy()
        if badmask.any():
            raise InputError(f"not a timestamp in {_rows_text(badmask, ids)}", field=col)
        out = to_ns(conv)
    if required and (out == NAT).any():
        raise InputError(f"missing timestamp in {_rows_text(out == NAT, ids)}", field=col)
    return out


def _codes(values: np.ndarray, allowed: list[str], field: str, ids: np.ndarray) -> np.ndarray:
    """Index of each value in `allowed`; unknown values raise InputError naming rows."""
    codes = pd.Index(allowed).get_indexer(values)
    if (codes < 0).any():
        bad = codes < 0
        first = values[np.flatnonzero(bad)[0]]
        raise InputError(
            f"unknown value {first!r} (policy has {allowed}) in {_rows_text(bad, ids)}",
            field=field,
        )
    return codes


def _segment(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), "unknown", dtype=object)
    return df[col].astype(object).where(df[col].notna(), "unknown").to_numpy(dtype=object)


def _pauses(
    events: pd.DataFrame | None, ticket_ids: pd.Index, pause_statuses: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pause intervals (ticket index, start ns, end ns), sorted by ticket then start.

    A pause runs from an event with a pause status until the ticket's next event (end =
    int64 max when none). Events of unknown tickets are ignored.
    """
    empty = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
    if events is None or len(events) == 0 or not pause_statuses:
        return empty
    for col in ("ticket_id", "at", "status"):
        if col not in events.columns:
            raise InputError("required column of status events is missing", field=col)
    ev_ids = events["ticket_id"].to_numpy(dtype=object)
    at = _ns_column(events, "at", ev_ids, required=True)
    tix = ticket_ids.get_indexer(events["ticket_id"])
    keep = tix >= 0
    tix, at = tix[keep], at[keep]
    is_pause = events["status"].isin(pause_statuses).to_numpy()[keep]
    order = np.lexsort((at, tix))
    tix, at, is_pause = tix[order], at[order], is_pause[order]
    nxt = np.full(at.size, _INF, dtype=np.int64)
    same = tix[1:] == tix[:-1]
    nxt[:-1] = np.where(same, at[1:], _INF)
    return tix[is_pause], at[is_pause], nxt[is_pause]


def _exceptions(
    tickets: pd.DataFrame, created: np.ndarray, tier: np.ndarray, policy: Policy
) -> np.ndarray:
    """Exception id per ticket (object array, None when not excluded)."""
    out = np.full(len(tickets), None, dtype=object)
    if not policy.exceptions:
        return out
    cols: dict[str, np.ndarray] = {}
    for ex in policy.exceptions:
        start = to_ns(pd.Timestamp(ex.start))[0]
        end = to_ns(pd.Timestamp(ex.end))[0]
        m = (created >= start) & (created < end) & np.equal(out, None)
        for f, allowed in ex.scope.items():
            if f not in cols:
                cols[f] = tier if f == "tier" else _segment(tickets, f)
            m &= np.isin(cols[f], allowed)
        out[m] = ex.id
    return out


def _table_for(policy: Policy, cal_name: str, lo: int, hi: int, budget: int) -> OpenIntervals:
    """A table of `cal_name` valid over [lo, hi] with at least `budget` open ns after hi."""
    cal = policy.business_calendar(cal_name)
    tab = cal.intervals(lo, hi)
    while not tab.always_open and tab.total - int(tab.cumulative(np.array([hi]))[0]) < budget:
        grown = cal.intervals(lo, tab.hi + 366 * NS_PER_DAY)
        if grown.hi - grown.lo > 300 * 366 * NS_PER_DAY:
            raise InputError(f"calendar {cal_name!r} has (almost) no open time")
        tab = grown
    return tab


def compute_clocks(
    tickets: pd.DataFrame,
    policy: Policy,
    events: pd.DataFrame | None = None,
    now: Any = None,
) -> pd.DataFrame:
    """SLA clocks of every ticket and metric at `now` (default: the current time, UTC).

    tickets: canonical ticket frame (ticket_id, created_at, first_response_at, resolved_at,
    priority, tier, ...); events: status events (ticket_id, at, status) or None.
    Returns one row per (ticket, metric), ticket-major, with `CLOCK_COLUMNS` followed by the
    ticket's other columns. Durations are seconds (float); timestamps UTC.
    Raises InputError for missing columns, bad timestamps, unknown priorities or tiers.
    """
    for col in ("ticket_id", "created_at", "priority"):
        if col not in tickets.columns:
            raise InputError("required column of tickets is missing", field=col)
    n = len(tickets)
    ids = tickets["ticket_id"].to_numpy(dtype=object)
    id_index = pd.Index(tickets["ticket_id"])
    if not id_index.is_unique:
        raise InputError(
            f"duplicate ticket ids in {_rows_text(np.asarray(id_index.duplicated()), ids)}",
            field="ticket_id",
        )
    created = _ns_column(tickets, "created_at", ids, required=True)
    first_resp = _ns_column(tickets, "first_response_at", ids, required=False)
    resolved = _ns_column(tickets, "resolved_at", ids, required=False)
    now_ns = int(to_ns(pd.Timestamp.now(tz="UTC") if now is None else now)[0])
    if now_ns == NAT:
        raise InputError("`now` is not a timestamp", field="now")

    prio = tickets["priority"].astype(object).to_numpy(dtype=object)
    p_code = _codes(prio, policy.priorities, "priority", ids)
    tier = _segment(tickets, "tier")
    if policy.default_tier is not None:
        tier = np.where(np.isin(tier, ["unknown", ""]), policy.default_tier, tier)
    t_code = _codes(tier, policy.tiers, "tier", ids)

    cal_names = sorted(policy.calendars)
    shape = (len(policy.tiers), len(policy.priorities), len(METRICS))
    tgt_ns = np.zeros(shape, dtype=np.int64)
    goal_tab = np.zeros(shape)
    cal_tab = np.zeros(shape, dtype=np.intp)
    for i, tr in enumerate(policy.tiers):
        for j, pr in enumerate(policy.priorities):
            for k, metric in enumerate(METRICS):
                t = policy.target_for(tr, pr, metric)
                tgt_ns[i, j, k] = round(t.seconds * NS_PER_SECOND)
                goal_tab[i, j, k] = t.goal
                cal_tab[i, j, k] = cal_names.index(t.calendar)

    p_tix, p_start, p_end = _pauses(events, id_index, policy.pause_statuses)
    excluded = _exceptions(tickets, created, tier, policy)
    levels = np.array([0, *policy.alert_levels], dtype=np.int64)
    thresholds = np.asarray(policy.warning_thresholds, dtype=float)

    blocks: list[dict[str, Any]] = []
    for k, metric in enumerate(METRICS):
        stop = first_resp if metric == "first_response" else resolved
        if metric == "first_response":
            stop = np.where(stop == NAT, resolved, stop)
        is_open = stop == NAT
        end = np.maximum(np.where(is_open, now_ns, stop), created)
        budget = tgt_ns[t_code, p_code, k]
        cal_idx = cal_tab[t_code, p_code, k]
        elapsed = np.zeros(n, dtype=np.int64)
        paused = np.zeros(n, dtype=np.int64)
        due = np.zeros(n, dtype=np.int64)
        p_cal = cal_idx[p_tix]
        for c in np.unique(cal_idx):
            sel = np.flatnonzero(cal_idx == c)
            tab = _table_for(
                policy,
                cal_names[c],
                int(created[sel].min()),
                int(end[sel].max()),
                int(budget[sel].max()),
            )
            f_created = tab.cumulative(created[sel])
            f_end = tab.cumulative(end[sel])
            f_due = f_created + budget[sel]
            # pauses of these tickets, clipped to [created, end]
            pm = np.flatnonzero(p_cal == c)
            pt = p_tix[pm]
            ps = np.maximum(p_start[pm], created[pt])
            pe = np.minimum(p_end[pm], end[pt])
            ok = ps < pe
            pt, ps, pe = pt[ok], ps[ok], pe[ok]
            if pt.size:
                f_ps = tab.cumulative(ps)
                amount = tab.cumulative(pe) - f_ps
                pause_sum = np.zeros(n, dtype=np.int64)
                np.add.at(pause_sum, pt, amount)
                paused[sel] = pause_sum[sel]
                # due: walk pauses by rank within ticket (they are sorted by ticket, start)
                pos = np.zeros(n, dtype=np.intp)
                pos[sel] = np.arange(sel.size)
                first = np.ones(pt.size, dtype=bool)
                first[1:] = pt[1:] != pt[:-1]
                start_of = np.maximum.accumulate(np.where(first, np.arange(pt.size), 0))
                rank = np.arange(pt.size) - start_of
                by_rank = np.argsort(rank, kind="stable")
                bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
                for r in range(int(rank.max()) + 1):
                    rows = by_rank[bounds[r] : bounds[r + 1]]
                    q = pos[pt[rows]]
                    hit = f_ps[rows] < f_due[q]
                    f_due[q[hit]] += amount[rows[hit]]
            elapsed[sel] = f_end - f_created - paused[sel]
            due[sel] = np.maximum(created[sel], tab.inverse(f_due))
        budget_s = budget / NS_PER_SECOND
        elapsed_s = elapsed / NS_PER_SECOND
        fraction = elapsed / budget
        level = levels[np.searchsorted(thresholds, fraction * (1 + 1e-12), side="right")]
        blocks.append(
            {
                "ticket_id": ids,
                "metric": np.full(n, metric, dtype=object),
                "target_seconds": budget_s,
                "goal": goal_tab[t_code, p_code, k],
                "calendar": np.asarray(cal_names, dtype=object)[cal_idx],
                "elapsed_seconds": elapsed_s,
                "paused_seconds": paused / NS_PER_SECOND,
                "due_at": due,
                "stopped_at": stop,
                "is_open": is_open,
                "breached": elapsed > budget,
                "time_left_seconds": budget_s - elapsed_s,
                "elapsed_fraction": fraction,
                "alert_level": np.where(is_open, level, 0),
                "excluded_by": excluded,
            }
        )

    # interleave the metric blocks ticket-major: t0/m0, t0/m1, t1/m0, ...
    m = len(METRICS)
    data: dict[str, Any] = {}
    for col in CLOCK_COLUMNS:
        arr = np.empty(n * m, dtype=np.asarray(blocks[0][col]).dtype)
        for k in range(m):
            arr[k::m] = blocks[k][col]
        data[col] = arr
    for col in ("due_at", "stopped_at"):
        data[col] = pd.DatetimeIndex(data[col].view("datetime64[ns]")).tz_localize("UTC")
    out = pd.DataFrame(data)
    out["alert_level"] = out["alert_level"].astype(np.int64)
    extra = [c for c in tickets.columns if c not in CLOCK_COLUMNS]
    if extra:
        rep = np.repeat(np.arange(n), m)
        others = tickets[extra].iloc[rep].reset_index(drop=True)
        out = pd.concat([out, others], axis=1)
    out["tier"] = np.repeat(tier, m)  # the effective tier (default_tier applied)
    return out


__all__ = ["ANY_TIER", "CLOCK_COLUMNS", "SCOPE_FIELDS", "compute_clocks"]
