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


def _arrow_strings(s: pd.Series) -> Any:
    """The pyarrow ChunkedArray behind an arrow-backed string column (no copy), else None."""
    import pyarrow as pa

    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        pa_type = dtype.pyarrow_dtype
        if not (pa.types.is_string(pa_type) or pa.types.is_large_string(pa_type)):
            return None
    elif not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    data = s.array.__arrow_array__()  # type: ignore[attr-defined]
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _ticket_index(ids: pd.Series, event_ids: pd.Series | None) -> np.ndarray:
    """Row of each event's ticket in `ids` (-1: unknown ticket or missing id).

    Raises InputError naming the rows when `ids` has duplicates. Arrow string ids are
    matched by one sort (a dense rank over tickets and events); other dtypes by hashing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(ids)
    n_ev = 0 if event_ids is None else len(event_ids)
    a = _arrow_strings(ids)
    b = None if event_ids is None else _arrow_strings(event_ids)
    if n and a is not None and a.null_count == 0 and (event_ids is None or b is not None):
        chunks = list(a.chunks)
        if b is not None:
            chunks += [c if c.type == a.type else c.cast(a.type) for c in b.chunks]
        both = pa.chunked_array(chunks, type=a.type).combine_chunks()
        # equal strings get equal ranks (1..distinct); nulls (events only) rank last
        rank = pc.rank(both, sort_keys="ascending", tiebreaker="dense").to_numpy()
        rank = rank.astype(np.intp, copy=False)
        t_rank = rank[:n]
        if np.bincount(t_rank).max() > 1:
            dup = pd.Series(t_rank).duplicated().to_numpy()
            raise InputError(f"duplicate ticket ids in {_rows_text(dup, ids)}", field="ticket_id")
        lut = np.full(int(rank.max()) + 1, -1, dtype=np.intp)
        lut[t_rank] = np.arange(n)
        ev_tix = lut[rank[n:]]
        if b is not None and b.null_count:
            ev_tix[b.is_null().to_numpy(zero_copy_only=False)] = -1
        return ev_tix
    both = ids if event_ids is None else pd.concat([ids, event_ids], ignore_index=True)
    # one hash pass: the tickets get codes 0..n-1 in order iff their ids are unique
    id_codes = pd.factorize(both)[0]
    if n and int(id_codes[n - 1]) != n - 1:
        dup = pd.Series(id_codes[:n]).duplicated().to_numpy()
        raise InputError(f"duplicate ticket ids in {_rows_text(dup, ids)}", field="ticket_id")
    ev = id_codes[n : n + n_ev]
    return np.where(ev < n, ev, -1)


def _codes(
    values: pd.Series, allowed: list[str], field: str, ids: pd.Series, default: str | None = None
) -> np.ndarray:
    """Index of each value in `allowed`; missing or "unknown" values get `default` if given.

    Unknown values raise InputError naming the field and the first rows.
    """
    a = _arrow_strings(values)
    if a is not None and (default is None or not {"unknown", ""} & set(allowed)):
        import pyarrow as pa
        import pyarrow.compute as pc

        # fast path: every value is one of `allowed` (no hashing of the column)
        found = pc.index_in(a, value_set=pa.array(allowed, type=a.type))
        if found.null_count == 0:
            return found.to_numpy().astype(np.intp)
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

    n = codes.size
    if n and labels and int(codes.min()) == int(codes.max()) >= 0:  # one label throughout
        return pd.array(pa.repeat(pa.scalar(labels[int(codes[0])], pa.large_string()), n), "str")
    missing = codes < 0
    if not labels or missing.all():
        return pd.array(pa.nulls(n, pa.large_string()), dtype="str")
    idx = pa.array(codes.astype(np.int32), mask=missing if missing.any() else None)
    return pd.array(pa.array(labels, type=pa.large_string()).take(idx), dtype="str")


def _pauses(
    events: pd.DataFrame | None, ev_tix: np.ndarray, pause_statuses: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pause intervals (ticket index, start ns, end ns), grouped by ticket, by start within.

    A pause runs from an event with a pause status until the ticket's next event (end =
    int64 max when none); events at the same instant keep their given order. `ev_tix` is
    each event's ticket index (-1: unknown ticket, ignored).
    """
    empty = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
    if events is None or len(events) == 0 or not pause_statuses:
        return empty
    at = _ns_column(events, "at", events["ticket_id"], required=True)
    is_pause = events["status"].isin(pause_statuses).to_numpy(dtype=bool)
    # only the events of tickets with a pause matter
    pausing = np.zeros(int(ev_tix.max()) + 2, dtype=bool)
    pausing[ev_tix[is_pause]] = True
    pausing[-1] = False  # index -1: unknown tickets
    keep = np.flatnonzero(pausing[ev_tix])
    if keep.size == 0:
        return empty
    tix, at, is_pause = ev_tix[keep], at[keep], is_pause[keep]
    # order by ticket, then time, then given order: a stable sort by time, then by the
    # unique key (ticket, position in that order); cheaper than lexsort
    by_time = np.argsort(at, kind="stable")
    m = by_time.size
    if (int(tix.max()) + 1) * m < 2**62:
        order = by_time[np.argsort(tix[by_time].astype(np.int64) * m + np.arange(m))]
    else:
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


def _clocks(
    policy: Policy,
    cal_names: list[str],
    cal: np.ndarray,
    created: np.ndarray,
    end: np.ndarray,
    budget: np.ndarray,
    pauses: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(elapsed, paused, due) int64 ns, shaped (tickets, metrics) like `end`.

    `cal[i, k]` is the calendar (index into `cal_names`) of ticket i's metric k, `budget`
    its target in ns; `pauses` are (ticket index, start, end) grouped by ticket, by start.
    Each calendar's open-time function F (`OpenIntervals.cumulative`) is evaluated once per
    instant: F(created) once per ticket, F of pause bounds once per pause. F is monotone,
    so clipping a pause to [created, end] is clipping its F values to [F(created), F(end)].
    """
    n, m = end.shape
    pt, ps, pe = pauses
    n_p = pt.size
    f_created = np.empty((n, m), dtype=np.int64)
    f_end = np.empty((n, m), dtype=np.int64)
    f_ps = np.empty((n_p, m), dtype=np.int64)
    f_pe = np.empty((n_p, m), dtype=np.int64)
    used = np.unique(cal)
    tables: list[tuple[OpenIntervals, np.ndarray | None]] = []
    for c in used:
        mask = None if used.size == 1 else cal == c
        if mask is None:
            rows, c_rows, e_sel, b_max = None, created, end, int(budget.max())
        else:
            rows = np.flatnonzero(mask.any(axis=1))
            c_rows, e_sel, b_max = created[rows], end[mask], int(budget[mask].max())
        hi = int(e_sel.max())
        tab = _table_for(policy, cal_names[c], int(c_rows.min()), hi, b_max)
        tables.append((tab, mask))
        fc = tab.cumulative(c_rows)
        if mask is None:
            f_created[:] = fc[:, None]
            f_end[:] = tab.cumulative(end)
        else:
            f_created[rows] = np.where(mask[rows], fc[:, None], f_created[rows])
            f_end[mask] = tab.cumulative(e_sel)
        if n_p:
            # pause ends clipped to the latest clock end (int64 max: open-ended pause)
            if mask is None:
                f_ps[:] = tab.cumulative(ps)[:, None]
                f_pe[:] = tab.cumulative(np.minimum(pe, hi))[:, None]
            else:
                pm = mask[pt]
                prow = np.flatnonzero(pm.any(axis=1))
                pmr = pm[prow]
                fs = tab.cumulative(ps[prow])[:, None]
                fe = tab.cumulative(np.minimum(pe[prow], hi))[:, None]
                f_ps[prow] = np.where(pmr, fs, f_ps[prow])
                f_pe[prow] = np.where(pmr, fe, f_pe[prow])

    f_due = f_created + budget
    paused = np.zeros((n, m), dtype=np.int64)
    if n_p:
        lo, hi_f = f_created[pt], f_end[pt]
        a = np.minimum(np.maximum(f_ps, lo), hi_f)  # F(clipped pause start)
        amount = np.minimum(np.maximum(f_pe, lo), hi_f) - a  # business ns inside the clock
        starts = np.flatnonzero(np.concatenate([[True], pt[1:] != pt[:-1]]))
        paused[pt[starts]] = np.add.reduceat(amount, starts, axis=0)
        # due: a pause shifts the due point by its business time if it starts before the
        # due point as shifted by the ticket's earlier pauses -> walk pauses by rank, the
        # r-th pauses of all tickets at once (tickets with more than r pauses)
        sizes = np.diff(np.append(starts, n_p))
        by_size = np.argsort(-sizes, kind="stable")
        g_starts, g_sizes = starts[by_size], sizes[by_size]
        for r in range(int(g_sizes[0])):
            rows = g_starts[: int(np.searchsorted(-g_sizes, -r, side="left"))] + r
            q = pt[rows]
            f_due[q] += np.where(a[rows] < f_due[q], amount[rows], 0)
    elapsed = f_end - f_created - paused
    due = np.empty((n, m), dtype=np.int64)
    for tab, mask in tables:
        if mask is None:
            due[:] = tab.inverse(f_due)
        else:
            due[mask] = tab.inverse(f_due[mask])
    np.maximum(due, created[:, None], out=due)
    return elapsed, paused, due


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
    if events is not None and len(events):
        for col in ("ticket_id", "at", "status"):
            if col not in events.columns:
                raise InputError("required column of status events is missing", field=col)
        ev_tix = _ticket_index(ids, events["ticket_id"])
    else:
        events = None
        ev_tix = _ticket_index(ids, None)
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
    m = len(METRICS)
    shape = (len(policy.tiers), len(policy.priorities), m)
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

    pauses = _pauses(events, ev_tix, policy.pause_statuses)
    excluded = _exceptions(tickets, created, t_code, policy)
    levels = np.array([0, *policy.alert_levels], dtype=np.int64)
    thresholds = np.asarray(policy.warning_thresholds, dtype=float)

    # (ticket, metric) arrays; ravel() gives the output's ticket-major row order
    stop = np.empty((n, m), dtype=np.int64)
    for k, metric in enumerate(METRICS):
        if metric == "first_response":
            stop[:, k] = np.where(first_resp == NAT, resolved, first_resp)
        else:
            stop[:, k] = resolved
    is_open = stop == NAT
    end = np.maximum(np.where(is_open, now_ns, stop), created[:, None])
    budget = tgt_ns[t_code, p_code]
    cal = cal_tab[t_code, p_code]
    if n:
        elapsed, paused, due = _clocks(policy, cal_names, cal, created, end, budget, pauses)
    else:
        elapsed = paused = due = np.zeros((0, m), dtype=np.int64)

    budget_s = budget.ravel() / NS_PER_SECOND
    elapsed_s = elapsed.ravel() / NS_PER_SECOND
    fraction = elapsed.ravel() / budget.ravel()
    level = levels[np.searchsorted(thresholds, fraction * (1 + 1e-12), side="right")]
    rep = np.repeat(np.arange(n), m)
    data: dict[str, Any] = {
        "ticket_id": ids.array.take(rep),
        "metric": _strings(list(METRICS), np.tile(np.arange(m), n)),
        "target_seconds": budget_s,
        "goal": goal_tab[t_code, p_code].ravel(),
        "calendar": _strings(cal_names, cal.ravel()),
        "elapsed_seconds": elapsed_s,
        "paused_seconds": paused.ravel() / NS_PER_SECOND,
        "due_at": _utc(due.ravel()),
        "stopped_at": _utc(stop.ravel()),
        "is_open": is_open.ravel(),
        "breached": (elapsed > budget).ravel(),
        "time_left_seconds": budget_s - elapsed_s,
        "elapsed_fraction": fraction,
        "alert_level": np.where(is_open.ravel(), level, 0).astype(np.int64),
        "excluded_by": _strings([ex.id for ex in policy.exceptions], np.repeat(excluded, m)),
    }
    for col in tickets.columns:
        if col not in CLOCK_COLUMNS and col != "tier":
            data[col] = tickets[col].array.take(rep)
    data["tier"] = _strings(policy.tiers, np.repeat(t_code, m))  # effective tier
    # copy=False: the columns are fresh arrays; no consolidation into 2-D blocks
    return pd.DataFrame(data, copy=False)


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    """datetime64[ns, UTC] values of int64 UTC ns (NAT: NaT)."""
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


__all__ = ["ANY_TIER", "CLOCK_COLUMNS", "SCOPE_FIELDS", "compute_clocks"]
