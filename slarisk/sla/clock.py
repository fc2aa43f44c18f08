"""Vectorised SLA clocks: elapsed business time, due time, breach and alert level per ticket.

`compute_clocks(tickets, policy, events=None, now=None)` returns one row per (ticket, metric)
(see docs/architecture.md). Definitions, per metric (first_response, resolution):

- The clock runs from `created_at` to its stop: `first_response_at` for first_response (or
  `resolved_at` when a ticket is resolved without a recorded response), `resolved_at` for
  resolution. An open clock (no stop) is measured at `now`.
- Pauses: from each status event whose status is in the policy's `pause_statuses` until the
  next event of the same ticket (open-ended when it is the last event; events at the same
  instant keep their given order), clipped to
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
  `created_at` and whose scope matches the ticket; missing (NaN, test with `.notna()`)
  otherwise. Excluded tickets still get their clock; reports leave them out.

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


def _rows_text(mask: np.ndarray, ids: pd.Series, limit: int = 3) -> str:
    """ "N row(s): row 3 (ticket X), ..." for the rows where mask is true (1-based rows)."""
    bad = np.flatnonzero(mask)
    shown = ", ".join(f"row {i + 1} (ticket {ids.iloc[i]})" for i in bad[:limit])
    more = f" and {bad.size - limit} more" if bad.size > limit else ""
    return f"{bad.size} row(s): {shown}{more}"


def _ns_column(df: pd.DataFrame, col: str, ids: pd.Series, *, required: bool) -> np.ndarray:
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


def _codes(
    values: pd.Series, allowed: list[str], field: str, ids: pd.Series, default: str | None = None
) -> np.ndarray:
    """Index of each value in `allowed`; missing or "unknown" values get `default` if given.

    Unknown values raise InputError naming the field and the first rows.
    """
    codes, uniques = pd.factorize(values)
    names = [str(u) for u in uniques]
    lookup = [allowed.index(u) if u in allowed else -1 for u in names]
    if default is not None:
        d = allowed.index(default)
        lookup = [d if u in ("unknown", "") else c for u, c in zip(names, lookup, strict=True)]
    # the last entry is for missing values (factorize code -1)
    out = np.asarray([*lookup, -1 if default is None else d], dtype=np.intp)[codes]
    if (out < 0).any():
        bad = out < 0
        first = values.iloc[int(np.flatnonzero(bad)[0])]
        raise InputError(
            f"unknown value {first!r} (policy has {allowed}) in {_rows_text(bad, ids)}",
            field=field,
        )
    return out


def _strings(labels: list[str], codes: np.ndarray) -> Any:
    """A pandas "str" array of labels[codes] (code -1: missing), built in arrow (fast)."""
    import pyarrow as pa

    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pd.array(pa.array(labels, type=pa.large_string()).take(idx), dtype="str")


def _pauses(
    events: pd.DataFrame | None, ev_tix: np.ndarray, pause_statuses: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pause intervals (ticket index, start ns, end ns), sorted by ticket then start.

    A pause runs from an event with a pause status until the ticket's next event (end =
    int64 max when none); events at the same instant keep their given order. `ev_tix` is
    each event's ticket index (-1: unknown ticket, ignored).
    """
    empty = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
    if events is None or len(events) == 0 or not pause_statuses:
        return empty
    at = _ns_column(events, "at", events["ticket_id"], required=True)
    keep = ev_tix >= 0
    tix, at = ev_tix[keep], at[keep]
    is_pause = events["status"].isin(pause_statuses).to_numpy()[keep]
    order = np.lexsort((at, tix))
    tix, at, is_pause = tix[order], at[order], is_pause[order]
    nxt = np.full(at.size, _INF, dtype=np.int64)
    nxt[:-1] = np.where(tix[1:] == tix[:-1], at[1:], _INF)
    return tix[is_pause], at[is_pause], nxt[is_pause]


def _exceptions(
    tickets: pd.DataFrame, created: np.ndarray, t_code: np.ndarray, policy: Policy
) -> np.ndarray:
    """Index into policy.exceptions of the window excluding each ticket (-1: none)."""
    out = np.full(len(tickets), -1, dtype=np.intp)
    for e, ex in enumerate(policy.exceptions):
        start = to_ns(pd.Timestamp(ex.start))[0]
        end = to_ns(pd.Timestamp(ex.end))[0]
        m = (created >= start) & (created < end) & (out < 0)
        for f, allowed in ex.scope.items():
            if f == "tier":
                m &= np.isin(t_code, [policy.tiers.index(a) for a in allowed])
            elif f in tickets.columns:
                col = tickets[f]
                m &= (col.isin(allowed) | (col.isna() & ("unknown" in allowed))).to_numpy()
            else:
                m &= "unknown" in allowed
        out[m] = e
    return out


def _metric_on_calendar(
    tab: OpenIntervals,
    sel: np.ndarray,
    created: np.ndarray,
    end: np.ndarray,
    budget: np.ndarray,
    pauses: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(elapsed ns, paused ns, due ns) of tickets `sel` whose clocks use calendar table `tab`.

    `pauses` are (ticket index, start, end) of these tickets, sorted by ticket then start.
    """
    c0, e0 = created[sel], end[sel]
    f_created = tab.cumulative(c0)
    f_end = tab.cumulative(e0)
    f_due = f_created + budget[sel]
    paused = np.zeros(sel.size, dtype=np.int64)
    pt, ps, pe = pauses
    ps, pe = np.maximum(ps, created[pt]), np.minimum(pe, end[pt])  # clip to [created, end]
    ok = ps < pe
    pt, ps, pe = pt[ok], ps[ok], pe[ok]
    if pt.size:
        pos = np.zeros(n, dtype=np.intp)
        pos[sel] = np.arange(sel.size)
        q_all = pos[pt]  # position of each pause's ticket within sel
        f_ps = tab.cumulative(ps)
        amount = tab.cumulative(pe) - f_ps
        np.add.at(paused, q_all, amount)
        # due: a pause shifts the due point by its business time if it starts before the
        # due point as shifted by the ticket's earlier pauses -> walk pauses by rank.
        first = np.ones(pt.size, dtype=bool)
        first[1:] = pt[1:] != pt[:-1]
        rank = np.arange(pt.size) - np.maximum.accumulate(np.where(first, np.arange(pt.size), 0))
        by_rank = np.argsort(rank, kind="stable")
        cuts = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
        for r in range(int(rank.max()) + 1):
            rows = by_rank[cuts[r] : cuts[r + 1]]
            q = q_all[rows]
            hit = f_ps[rows] < f_due[q]
            f_due[q[hit]] += amount[rows[hit]]
    elapsed = f_end - f_created - paused
    due = np.maximum(c0, tab.inverse(f_due))
    return elapsed, paused, due


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
    ticket's other columns; `tier` holds the effective tier (policy.default_tier applied).
    Durations are seconds (float); timestamps datetime64[ns, UTC]; excluded_by is missing
    (NaN) unless excluded. Raises InputError for missing columns, bad timestamps, duplicate
    ticket ids, unknown priorities or tiers.
    """
    for col in ("ticket_id", "created_at", "priority"):
        if col not in tickets.columns:
            raise InputError("required column of tickets is missing", field=col)
    n = len(tickets)
    ids = tickets["ticket_id"]
    both = ids
    if events is not None and len(events):
        for col in ("ticket_id", "at", "status"):
            if col not in events.columns:
                raise InputError("required column of status events is missing", field=col)
        both = pd.concat([ids, events["ticket_id"]], ignore_index=True)
    # one hash pass: the tickets get codes 0..n-1 in order iff their ids are unique
    id_codes = pd.factorize(both)[0]
    if n and int(id_codes[n - 1]) != n - 1:
        dup = pd.Series(id_codes[:n]).duplicated().to_numpy()
        raise InputError(f"duplicate ticket ids in {_rows_text(dup, ids)}", field="ticket_id")
    ev_tix = np.where(id_codes[n:] < n, id_codes[n:], -1)
    created = _ns_column(tickets, "created_at", ids, required=True)
    first_resp = _ns_column(tickets, "first_response_at", ids, required=False)
    resolved = _ns_column(tickets, "resolved_at", ids, required=False)
    try:
        now_ns = int(to_ns(pd.Timestamp.now(tz="UTC") if now is None else now)[0])
    except (ValueError, TypeError):
        now_ns = NAT
    if now_ns == NAT:
        raise InputError(f"not a timestamp: {now!r}", field="now")

    p_code = _codes(tickets["priority"], policy.priorities, "priority", ids)
    tier_col = tickets["tier"] if "tier" in tickets.columns else pd.Series([None] * n)
    t_code = _codes(tier_col, policy.tiers, "tier", ids, default=policy.default_tier)

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

    p_tix, p_start, p_end = _pauses(events, ev_tix, policy.pause_statuses)
    excluded = _exceptions(tickets, created, t_code, policy)
    levels = np.array([0, *policy.alert_levels], dtype=np.int64)
    thresholds = np.asarray(policy.warning_thresholds, dtype=float)

    blocks: list[dict[str, np.ndarray]] = []
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
            pm = p_cal == c
            elapsed[sel], paused[sel], due[sel] = _metric_on_calendar(
                tab, sel, created, end, budget, (p_tix[pm], p_start[pm], p_end[pm]), n
            )
        budget_s = budget / NS_PER_SECOND
        elapsed_s = elapsed / NS_PER_SECOND
        fraction = elapsed / budget
        level = levels[np.searchsorted(thresholds, fraction * (1 + 1e-12), side="right")]
        blocks.append(
            {
                "metric": np.full(n, k, dtype=np.intp),
                "target_seconds": budget_s,
                "goal": goal_tab[t_code, p_code, k],
                "calendar": cal_idx,
                "elapsed_seconds": elapsed_s,
                "paused_seconds": paused / NS_PER_SECOND,
                "due_at": due,
                "stopped_at": stop,
                "is_open": is_open,
                "breached": elapsed > budget,
                "time_left_seconds": budget_s - elapsed_s,
                "elapsed_fraction": fraction,
                "alert_level": np.where(is_open, level, 0).astype(np.int64),
                "excluded_by": excluded,
            }
        )

    # interleave the metric blocks ticket-major: t0/m0, t0/m1, t1/m0, ...
    m = len(METRICS)
    rep = np.repeat(np.arange(n), m)
    data: dict[str, Any] = {}
    for col in blocks[0]:
        arr = np.empty(n * m, dtype=blocks[0][col].dtype)
        for k in range(m):
            arr[k::m] = blocks[k][col]
        data[col] = arr
    data["ticket_id"] = ids.iloc[rep].reset_index(drop=True)
    data["metric"] = _strings(list(METRICS), data["metric"])
    data["calendar"] = _strings(cal_names, data["calendar"])
    data["excluded_by"] = _strings([ex.id for ex in policy.exceptions], data["excluded_by"])
    for col in ("due_at", "stopped_at"):
        data[col] = pd.DatetimeIndex(data[col].view("datetime64[ns]")).tz_localize("UTC")
    out = pd.DataFrame({col: data[col] for col in CLOCK_COLUMNS})
    extra = [c for c in tickets.columns if c not in CLOCK_COLUMNS and c != "tier"]
    if extra:
        others = tickets[extra].iloc[rep].reset_index(drop=True)
        out = pd.concat([out, others], axis=1)
    out["tier"] = _strings(policy.tiers, t_code[rep])  # effective tier (default_tier applied)
    return out


__all__ = ["ANY_TIER", "CLOCK_COLUMNS", "SCOPE_FIELDS", "compute_clocks"]
