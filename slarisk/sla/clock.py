"""Vectorised SLA clocks: elapsed business time, due time, breach and alert level per ticket.

Slightly over 600 lines: the one clock engine, shared by compute_clocks and breach-risk
scoring (`clocks_at`), with its calendar and target tables beside it.

`compute_clocks(tickets, policy, events=None, now=None)` returns one row per (ticket, metric)
(see docs/architecture.md). Definitions, per metric (first_response, resolution):

- The clock runs from `created_at` to its stop: `first_response_at` for first_response (or
  `resolved_at` when a ticket is resolved without a recorded response), `resolved_at` for
  resolution (or the column named by the policy's `resolution_stop`, e.g. `closed_at`).
  An open clock (no stop) is measured at `now`.
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
`slarisk.sla.calendar` for the calendar definition (DST-exact). The same engine serves
callers that hold arrays rather than frames (scoring): `pause_intervals`, `calendar_tables`
and `clocks_at`. The module is a little over 600 lines because frame input checks, the
engine and its array API belong together (one clock definition).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slarisk.errors import InputError
from slarisk.sla.calendar import NAT, NS_PER_DAY, NS_PER_SECOND, OpenIntervals, to_ns
from slarisk.sla.policy import ANY_TIER, METRICS, SCOPE_FIELDS, Policy

_INF = np.iinfo(np.int64).max
_BLOCK_TICKETS = 1 << 14  # tickets per block of the clock arithmetic (cache-sized)

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
        rank = rank.view(np.int64)  # ranks are small: uint64 -> int64 without a copy
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


def _strings(labels: list[str], codes: np.ndarray | int, n: int) -> Any:
    """A pandas "str" array of n labels[codes] (code -1: missing; an int code: all rows)."""
    if isinstance(codes, int) or (n and int(codes.min()) == int(codes.max())):
        code = codes if isinstance(codes, int) else int(codes[0])
        return _repeated_strings([labels[code] if code >= 0 else None], n)
    missing = codes < 0
    idx = pa.array(codes.astype(np.int32, copy=False), mask=missing if missing.any() else None)
    return pd.array(pa.array(labels, type=pa.large_string()).take(idx), dtype="str")


def _repeated_strings(pattern: list[str | None], n: int) -> Any:
    """A pandas "str" array of `pattern` repeated to length n (None: missing).

    Zero-copy: the chunks of the arrow array all view one template of about 2**16 values.
    """
    k = len(pattern)
    reps = max(1, min(-(-n // k), (1 << 16) // k))
    template = pa.array(pattern * reps, type=pa.large_string())
    full, rest = divmod(n, len(template))
    chunks = [template] * full + ([template.slice(0, rest)] if rest else [])
    return pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str")


def _event_order(tix: np.ndarray, at: np.ndarray) -> np.ndarray:
    """np.lexsort((at, tix)): events by ticket, then time, then given position (stable).

    Groups by ticket with one sort of packed (ticket, position) integers, then sorts each
    ticket's few events by time with an odd-even transposition sort (strict compares keep
    it stable) over all tickets at once; lexsort when a ticket has many events.
    """
    n_ev = tix.size
    bits = max(n_ev - 1, 1).bit_length()
    if n_ev == 0 or (int(tix.max()) + 1) << bits >= 1 << 62:
        return np.lexsort((at, tix))
    key = np.sort((tix.astype(np.int64) << bits) | np.arange(n_ev, dtype=np.int64))
    order = key & ((1 << bits) - 1)
    key >>= bits  # the ticket of each position
    same = key[1:] == key[:-1]  # positions i and i+1 hold events of one ticket
    a = at[order]
    if not (same & (a[1:] < a[:-1])).any():  # already in time order within tickets
        return order
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    longest = int(np.diff(np.append(starts, n_ev)).max())
    if longest > 16:
        return np.lexsort((at, tix))
    for p in range(longest):  # `longest` rounds sort every group
        lo, hi = a[p % 2 : -1 : 2], a[p % 2 + 1 :: 2]
        swap = p % 2 + 2 * np.flatnonzero(same[p % 2 :: 2][: hi.size] & (hi < lo[: hi.size]))
        a[swap], a[swap + 1] = a[swap + 1], a[swap]
        order[swap], order[swap + 1] = order[swap + 1], order[swap]
    return order


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
    return pause_intervals(ev_tix, at, is_pause)


def pause_intervals(
    ev_tix: np.ndarray, at: np.ndarray, is_pause: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pause intervals (ticket index, start ns, end ns) of status events given as arrays:
    each event's ticket index (-1: unknown ticket, ignored), its int64 UTC ns instant and
    whether its status pauses the clock. Grouped by ticket, by start within; the rule of
    :func:`compute_clocks` (a pause runs until the ticket's next event, end = int64 max when
    none; events at the same instant keep their given order)."""
    empty = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
    ev_tix = np.asarray(ev_tix, dtype=np.intp)
    if ev_tix.size == 0 or not is_pause.any():
        return empty
    # only the events of tickets with a pause matter
    pausing = np.zeros(int(ev_tix.max()) + 2, dtype=bool)
    pausing[ev_tix[is_pause]] = True
    pausing[-1] = False  # index -1: unknown tickets
    keep = np.flatnonzero(pausing[ev_tix])
    if keep.size == 0:
        return empty
    tix, at, is_pause = ev_tix[keep], at[keep], is_pause[keep]
    order = _event_order(tix, at)
    tix, at, is_pause = tix[order], at[order], is_pause[order]
    nxt = np.full(at.size, _INF, dtype=np.int64)
    nxt[:-1] = np.where(tix[1:] == tix[:-1], at[1:], _INF)
    return tix[is_pause], at[is_pause], nxt[is_pause]


def status_pauses(
    ticket_ids: pd.Series, events: pd.DataFrame | None, pause_statuses: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pause_intervals` of a status-event frame (ticket_id, at, status) for the
    tickets ``ticket_ids`` (ticket index = position there). Raises InputError like
    :func:`compute_clocks` (missing columns, duplicate ticket ids, bad timestamps)."""
    if events is None or len(events) == 0:
        _ticket_index(ticket_ids, None)  # the duplicate-id check
        return _pauses(None, np.empty(0, np.intp), pause_statuses)
    for col in ("ticket_id", "at", "status"):
        if col not in events.columns:
            raise InputError("required column of status events is missing", field=col)
    return _pauses(events, _ticket_index(ticket_ids, events["ticket_id"]), pause_statuses)


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


def calendar_tables(policy: Policy, lo: int, hi: int) -> dict[int, OpenIntervals]:
    """One open-interval table per calendar of ``policy`` (key: index in
    ``sorted(policy.calendars)``), valid for clocks started from ``lo`` and ending by ``hi``
    (UTC ns), with room after ``hi`` for the longest target on that calendar: the tables
    :func:`clocks_at` reads."""
    tgt_ns, _, cal_tab = target_tables(policy)
    out = {}
    for c, name in enumerate(sorted(policy.calendars)):
        on_c = tgt_ns[cal_tab == c]
        out[c] = _table_for(policy, name, lo, hi, int(on_c.max()) if on_c.size else 0)
    return out


def target_tables(policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(target ns, goal, calendar index in ``sorted(policy.calendars)``) per (tier, priority,
    metric), shaped (tiers, priorities, metrics) in the policy's orders and `METRICS`."""
    cal_names = sorted(policy.calendars)
    shape = (len(policy.tiers), len(policy.priorities), len(METRICS))
    tgt_ns = np.zeros(shape, dtype=np.int64)
    goal = np.zeros(shape)
    cal = np.zeros(shape, dtype=np.intp)
    for i, tr in enumerate(policy.tiers):
        for j, pr in enumerate(policy.priorities):
            for k, metric in enumerate(METRICS):
                t = policy.target_for(tr, pr, metric)
                tgt_ns[i, j, k] = round(t.seconds * NS_PER_SECOND)
                goal[i, j, k] = t.goal
                cal[i, j, k] = cal_names.index(t.calendar)
    return tgt_ns, goal, cal


def clocks_at(
    tables: dict[int, OpenIntervals],
    cal: int | np.ndarray,
    created: np.ndarray,
    end: np.ndarray,
    budget: np.ndarray,
    pauses: tuple[np.ndarray, np.ndarray, np.ndarray],
    nominal: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(elapsed, paused, due, nominal due or None) int64 ns of clocks shaped (tickets,
    metrics) like `end`: the clock engine of :func:`compute_clocks`, also for callers that hold
    arrays (scoring). The nominal due time (without pauses) only when `nominal` is true.

    `tables`: :func:`calendar_tables` (or any tables covering every clock) by calendar key;
    `cal`: the calendar key of every clock, or per clock an array shaped like `end`;
    `created` per ticket; `end` (stop, or `now` for a running clock, never before `created`)
    and `budget` (target ns) per clock; `pauses`: (ticket index, start, end) of
    :func:`pause_intervals`, grouped by ticket, by start within. Each calendar's open-time
    function F (`OpenIntervals.cumulative`) is evaluated once per instant: F(created) once per
    ticket, F of pause bounds once per pause. F is monotone, so clipping a pause to
    [created, end] is clipping its F values to [F(created), F(end)].
    """
    if created.size == 0:
        z = np.zeros(end.shape, dtype=np.int64)
        return z, z.copy(), z.copy(), (z.copy() if nominal else None)
    n, m = end.shape
    pt, ps, pe = pauses
    n_p = pt.size
    pe = np.minimum(pe, int(end.max()))  # int64 max (open-ended pause) -> latest clock end
    parts: list[tuple[OpenIntervals, np.ndarray | None]] = []
    if isinstance(cal, int):  # one calendar: F(created) and pause F values broadcast
        tab = tables[cal]
        parts.append((tab, None))
        f_created = tab.cumulative(created)[:, None]
        f_end = tab.cumulative(end)
        f_ps = tab.cumulative(ps)[:, None]
        f_pe = tab.cumulative(pe)[:, None]
    else:
        f_created = np.empty((n, m), dtype=np.int64)
        f_end = np.empty((n, m), dtype=np.int64)
        f_ps = np.empty((n_p, m), dtype=np.int64)
        f_pe = np.empty((n_p, m), dtype=np.int64)
        for c, tab in tables.items():
            mask = cal == c
            rows = np.flatnonzero(mask.any(axis=1))
            if rows.size == 0:
                continue
            parts.append((tab, mask))
            fc = tab.cumulative(created[rows])[:, None]
            f_created[rows] = np.where(mask[rows], fc, f_created[rows])
            f_end[mask] = tab.cumulative(end[mask])
            pm = mask[pt]
            prow = np.flatnonzero(pm.any(axis=1))
            if prow.size:
                pmr = pm[prow]
                f_ps[prow] = np.where(pmr, tab.cumulative(ps[prow])[:, None], f_ps[prow])
                f_pe[prow] = np.where(pmr, tab.cumulative(pe[prow])[:, None], f_pe[prow])

    f_due = f_created + budget
    f_nominal = f_due.copy() if nominal and n_p else None
    paused = np.zeros((n, m), dtype=np.int64)
    if n_p:
        lo_f, hi_f = f_created[pt], f_end[pt]
        a = np.minimum(np.maximum(f_ps, lo_f), hi_f)  # F(clipped pause start)
        amount = np.minimum(np.maximum(f_pe, lo_f), hi_f) - a  # business ns inside the clock
        starts = np.flatnonzero(np.concatenate([[True], pt[1:] != pt[:-1]]))
        paused[pt[starts]] = np.add.reduceat(amount, starts, axis=0)
        # due: a pause shifts the due point by its business time if it starts before the
        # due point as shifted by the ticket's earlier pauses -> walk pauses by rank: the
        # r-th pauses of all tickets with more than r pauses at once
        sizes = np.diff(np.append(starts, n_p))
        by_size = np.argsort(-sizes, kind="stable")
        g_starts, g_sizes = starts[by_size], sizes[by_size]
        for r in range(int(g_sizes[0])):
            rows = g_starts[: int(np.searchsorted(-g_sizes, -r, side="left"))] + r
            q = pt[rows]
            f_due[q] += np.where(a[rows] < f_due[q], amount[rows], 0)
    elapsed = f_end - f_created
    elapsed -= paused
    due = _inverse(parts, f_due, created)
    if not nominal:
        return elapsed, paused, due, None
    return elapsed, paused, due, (due if f_nominal is None else _inverse(parts, f_nominal, created))


def _inverse(
    parts: list[tuple[OpenIntervals, np.ndarray | None]], f: np.ndarray, created: np.ndarray
) -> np.ndarray:
    """The instants where the open-time functions reach ``f`` (never before ``created``)."""
    due = np.empty(f.shape, dtype=np.int64)
    for tab, mask in parts:
        if mask is None:
            due = tab.inverse(f)
        else:
            due[mask] = tab.inverse(f[mask])
    np.maximum(due, created[:, None], out=due)
    return due


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
    res_stop = resolved
    if policy.resolution_stop != "resolved_at":  # e.g. closed_at: the tool's stop condition
        if policy.resolution_stop not in tickets.columns:
            raise InputError(
                "column named by the policy's resolution_stop is missing",
                field=policy.resolution_stop,
            )
        res_stop = _ns_column(tickets, policy.resolution_stop, ids, required=False)
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
    n_prio = len(policy.priorities)
    shape = (len(policy.tiers) * n_prio, m)  # row: tier * n_prio + priority
    tgt_ns, goal_tab, cal_tab = (a.reshape(shape[0], m) for a in target_tables(policy))
    combo = t_code * n_prio + p_code
    present = np.bincount(combo, minlength=shape[0]) > 0
    used_cals = np.unique(cal_tab[present])
    # one calendar for every clock (common): no per-clock calendar array needed
    cal: int | None = int(used_cals[0]) if used_cals.size == 1 else None

    pt, ps, pe = _pauses(events, ev_tix, policy.pause_statuses)
    excluded = _exceptions(tickets, created, t_code, policy)
    levels = np.array([0, *policy.alert_levels], dtype=np.int64)
    thresholds = np.asarray(policy.warning_thresholds, dtype=float)

    # one open-interval table per calendar, valid over every clock (from the earliest
    # created_at to the latest clock end) with room for the calendar's largest budget
    tables: dict[int, OpenIntervals] = {}
    if n:
        lo = int(created.min())
        any_open = bool((resolved == NAT).any() or (res_stop == NAT).any())
        hi = max(int(created.max()), int(first_resp.max()), int(resolved.max()))
        hi = max(hi, int(res_stop.max()))
        hi = max(hi, now_ns) if any_open else hi
        for c in used_cals:
            b_max = int(tgt_ns[present][cal_tab[present] == c].max())
            tables[int(c)] = _table_for(policy, cal_names[c], lo, hi, b_max)

    # output columns, ticket-major: row i * m + k is ticket i, metric k. Filled in blocks of
    # tickets so that the temporaries stay small (cache-resident, no large allocations).
    size = n * m
    target_s, goal, elapsed_s, paused_s, left_s, fraction = (np.empty(size) for _ in range(6))
    due_ns, stop_ns, level = (np.empty(size, dtype=np.int64) for _ in range(3))
    is_open, breached = np.empty(size, dtype=bool), np.empty(size, dtype=bool)
    p_bounds = np.searchsorted(pt, np.arange(0, n + _BLOCK_TICKETS, _BLOCK_TICKETS))
    for blk, i0 in enumerate(range(0, n, _BLOCK_TICKETS)):
        i1 = min(i0 + _BLOCK_TICKETS, n)
        rs, shape2 = slice(i0 * m, i1 * m), (i1 - i0, m)
        fr, res, rstop = first_resp[i0:i1], resolved[i0:i1], res_stop[i0:i1]
        stop = stop_ns[rs].reshape(shape2)
        for k, metric in enumerate(METRICS):
            stop[:, k] = np.where(fr == NAT, res, fr) if metric == "first_response" else rstop
        opened = np.equal(stop, NAT, out=is_open[rs].reshape(shape2))
        end = np.where(opened, now_ns, stop)
        np.maximum(end, created[i0:i1, None], out=end)
        cb = combo[i0:i1]
        budget = tgt_ns[cb]
        p0, p1 = int(p_bounds[blk]), int(p_bounds[blk + 1])
        elapsed, paused, due, _ = clocks_at(
            tables,
            cal if cal is not None else cal_tab[cb],
            created[i0:i1],
            end,
            budget,
            (pt[p0:p1] - i0, ps[p0:p1], pe[p0:p1]),
        )
        due_ns[rs] = due.ravel()
        np.take(goal_tab, cb, axis=0, out=goal[rs].reshape(shape2))
        np.divide(budget.ravel(), NS_PER_SECOND, out=target_s[rs])
        np.divide(elapsed.ravel(), NS_PER_SECOND, out=elapsed_s[rs])
        np.divide(paused.ravel(), NS_PER_SECOND, out=paused_s[rs])
        np.subtract(target_s[rs], elapsed_s[rs], out=left_s[rs])
        np.divide(elapsed.ravel(), budget.ravel(), out=fraction[rs])
        np.greater(elapsed.ravel(), budget.ravel(), out=breached[rs])
        lv = levels[np.searchsorted(thresholds, fraction[rs] * (1 + 1e-12), side="right")]
        np.multiply(lv, is_open[rs], out=level[rs])  # alert levels of open clocks only

    data: dict[str, Any] = {
        "ticket_id": _repeat(ids, m),
        "metric": _repeated_strings(list(METRICS), size),
        "target_seconds": target_s,
        "goal": goal,
        "calendar": _strings(cal_names, cal if cal is not None else cal_tab[combo].ravel(), size),
        "elapsed_seconds": elapsed_s,
        "paused_seconds": paused_s,
        "due_at": _utc(due_ns),
        "stopped_at": _utc(stop_ns),
        "is_open": is_open,
        "breached": breached,
        "time_left_seconds": left_s,
        "elapsed_fraction": fraction,
        "alert_level": level,
        "excluded_by": _strings(
            [ex.id for ex in policy.exceptions],
            -1 if n == 0 or excluded.max() < 0 else np.repeat(excluded, m),
            size,
        ),
    }
    for col in tickets.columns:
        if col not in CLOCK_COLUMNS and col != "tier":
            data[col] = _repeat(tickets[col], m)
    # the effective tier (policy.default_tier applied)
    data["tier"] = _strings(policy.tiers, np.repeat(t_code.astype(np.int32), m), size)
    # copy=False: the columns are fresh arrays; no consolidation into 2-D blocks
    return pd.DataFrame(data, copy=False)


def _repeat(s: pd.Series, m: int) -> pd.Series:
    """Each value of s m times in a row, same dtype, fresh RangeIndex (no index to take)."""
    return pd.Series(s.array.repeat(m), dtype=s.dtype, name=s.name, copy=False)


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    """datetime64[ns, UTC] values of int64 UTC ns (NAT: NaT)."""
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


__all__ = [
    "ANY_TIER",
    "CLOCK_COLUMNS",
    "SCOPE_FIELDS",
    "calendar_tables",
    "clocks_at",
    "compute_clocks",
    "pause_intervals",
    "status_pauses",
    "target_tables",
]
