"""Scoring input as columns: open tickets, status events and staffing as arrays (from frames
or from a request), the staffing index of a roster (cached by content) and the pause
intervals of status events. Read by :mod:`slarisk.risk.fastscore`."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from slarisk.data import schema as s
from slarisk.risk.feature_indexes import STAFF_HORIZON_NS, StaffingIndex
from slarisk.sla.clock import pause_intervals

NAT = np.iinfo(np.int64).min
_LOCK = threading.Lock()


class NotScorable(Exception):
    """Input the array path does not take as it is (text timestamps, unknown priorities or
    tiers, duplicate ids, a model with features it does not build): callers report it
    (:func:`slarisk.risk.score.score_open_tickets` raises an ``InputError`` naming the rows)."""


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketArrays:
    """Open tickets as columns: ids, int64 UTC ns times (NaT = int64 min), attribute values
    (sequences of str; None or NaN = missing -> "unknown")."""

    ticket_id: Sequence[Any]
    created_ns: np.ndarray
    first_response_ns: np.ndarray
    resolved_ns: np.ndarray
    priority: Sequence[Any]
    segments: dict[str, Sequence[Any]]  # SEGMENT_COLUMNS present (tier, region, ...)

    def __len__(self) -> int:
        return len(self.created_ns)


@dataclass(frozen=True)
class EventArrays:
    """Status events as columns: ticket ids, int64 UTC ns instants, statuses."""

    ticket_id: Sequence[Any]
    at_ns: np.ndarray
    status: Sequence[Any]

    def __len__(self) -> int:
        return len(self.at_ns)


@dataclass(frozen=True)
class StaffingArrays:
    """Interval-form staffing as columns (start in UTC ns, minutes, team, agents)."""

    start_ns: np.ndarray
    minutes: np.ndarray
    team: Sequence[Any] | np.ndarray
    agents: np.ndarray
    team_codes: tuple[np.ndarray, list[str]] | None = None  # factorized ``team`` when known


def _column(df: pd.DataFrame, name: str) -> Any:
    """The column's array (``df[name].array``; public API, ~20 us a column)."""
    return df[name].array


_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _ns_of(arr: Any) -> np.ndarray | None:
    """int64 UTC ns of a datetime column's array (naive = UTC), or None when it is not one."""
    if isinstance(arr, pd.arrays.DatetimeArray):
        values = np.asarray(arr.asi8)  # type: ignore[attr-defined]
        factor = _NS_PER.get(arr.unit)
        if factor is None:
            return np.asarray(arr.as_unit("ns").asi8)  # type: ignore[attr-defined]
        if factor == 1:
            return values
        return np.where(values == NAT, NAT, values * factor)
    return None


def _values(arr: Any) -> list[Any]:
    """A column's values as a list (missing as None or NaN; both read as "unknown")."""
    if isinstance(arr, pd.arrays.ArrowExtensionArray):  # ~6x cheaper than tolist()
        try:
            return list(pa.array(arr).to_pylist())
        except (pa.ArrowException, TypeError):
            pass
    return list(arr.tolist())


def _numbers(df: pd.DataFrame, name: str, dtype: type[np.generic]) -> np.ndarray:
    """A numeric column as ``dtype`` (pandas' own conversion, with its errors, unless the
    column already is a plain numpy array of a kind that converts exactly)."""
    arr = _column(df, name)
    kinds = "iu" if np.dtype(dtype).kind in "iu" else "iuf"
    if isinstance(arr, np.ndarray) and arr.dtype.kind in kinds:
        return np.asarray(arr, dtype=dtype)
    return df[name].to_numpy(dtype)


def tickets_from_frame(tickets: pd.DataFrame) -> TicketArrays:
    """Columns of a canonical open-ticket frame (raises :class:`NotScorable` when unusual)."""
    for col in (s.TICKET_ID, s.CREATED_AT, s.PRIORITY):
        if col not in tickets.columns:
            raise NotScorable(col)
    n = len(tickets)
    times = []
    for col in (s.CREATED_AT, s.FIRST_RESPONSE_AT, s.RESOLVED_AT):
        if col in tickets.columns:
            ns = _ns_of(_column(tickets, col))
            if ns is None:
                raise NotScorable(col)  # text etc.: score_open_tickets parses or reports
        else:
            ns = np.full(n, NAT, dtype=np.int64)
        times.append(ns)
    return TicketArrays(
        ticket_id=_values(_column(tickets, s.TICKET_ID)),
        created_ns=times[0],
        first_response_ns=times[1],
        resolved_ns=times[2],
        priority=_values(_column(tickets, s.PRIORITY)),
        segments={
            c: _values(_column(tickets, c)) for c in s.SEGMENT_COLUMNS if c in tickets.columns
        },
    )


def staffing_from_frame(staffing: pd.DataFrame) -> StaffingArrays:
    """Columns of an interval-form staffing frame (raises :class:`NotScorable` when unusual)."""
    ns = _ns_of(_column(staffing, s.INTERVAL_START))
    if ns is None:
        raise NotScorable(s.INTERVAL_START)
    codes, uniques = pd.factorize(_column(staffing, s.TEAM))
    names = [u if isinstance(u, str) else str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names.append(s.UNKNOWN)
    return StaffingArrays(
        start_ns=ns,
        minutes=_numbers(staffing, s.INTERVAL_MINUTES, np.int64),
        team=np.asarray(names, dtype=object)[codes],
        agents=_numbers(staffing, s.AGENTS, np.float64),
        team_codes=(np.asarray(codes, dtype=np.intp), names),
    )


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _factor(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(codes, names) of values as strings (missing -> "unknown"), first-seen order."""
    if len(values) <= 4096:
        index = {v: i for i, v in enumerate(dict.fromkeys(values))}
        if all(type(u) is str for u in index):  # the common case: plain strings
            return np.fromiter(map(index.__getitem__, values), np.intp, len(values)), list(index)
    if len(values) > 256:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        names = [u if isinstance(u, str) else str(u) for u in uniques]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(names), codes)
            names.append(s.UNKNOWN)
    else:
        seen: dict[Any, int] = {}
        out = []
        for v in values:
            key = s.UNKNOWN if _is_missing(v) else v
            c = seen.get(key)
            if c is None:
                c = seen[key] = len(seen)
            out.append(c)
        codes = np.asarray(out, dtype=np.intp)
        names = [k if isinstance(k, str) else str(k) for k in seen]
    if len(set(names)) != len(names):  # e.g. 1 and "1", or "unknown" and a missing value
        uniq = list(dict.fromkeys(names))
        remap = np.asarray([uniq.index(x) for x in names], dtype=np.intp)
        codes, names = remap[codes], uniq
    return np.asarray(codes, dtype=np.intp), names


_STAFFING_CACHE: dict[bytes, StaffingIndex] = {}


def staffing_index(st: StaffingArrays) -> StaffingIndex:
    """:meth:`StaffingIndex.from_arrays` of the roster's columns (what
    :meth:`StaffingIndex.build` does on a frame); cached by content (a digest of the arrays),
    so a roster sent again is not indexed again."""
    start = np.ascontiguousarray(st.start_ns, dtype=np.int64)
    minutes = np.ascontiguousarray(st.minutes, dtype=np.int64)
    agents = np.ascontiguousarray(st.agents, dtype=np.float64)
    codes, names = st.team_codes if st.team_codes is not None else _factor(st.team)
    codes = np.ascontiguousarray(codes, dtype=np.intp)
    h = hashlib.sha256()  # hardware-accelerated on most CPUs: ~2.5x blake2b here
    for a in (start, minutes, agents, codes):
        h.update(a.data)  # contiguous: hashed in place, no copy
    h.update("\x00".join(names).encode())
    key = h.digest()
    hit = _STAFFING_CACHE.get(key)
    if hit is not None:
        return hit
    index = StaffingIndex.from_arrays(start, minutes, agents, codes, names)
    with _LOCK:
        if len(_STAFFING_CACHE) >= 8:
            _STAFFING_CACHE.clear()
        _STAFFING_CACHE[key] = index
    return index


_FRAME_INDEX: dict[bytes, StaffingIndex] = {}
_STAFFING_FRAME_COLUMNS = (s.INTERVAL_START, s.INTERVAL_MINUTES, s.TEAM, s.AGENTS)


_DTYPE_TEXT: dict[Any, str] = {}


def _frame_fingerprint(df: pd.DataFrame, columns: Sequence[str]) -> bytes | None:
    """A digest of the content of ``columns`` read from their buffers (numpy values, or the
    pyarrow buffers of text columns), without converting anything; None when a column is
    missing or stored otherwise (then nothing is cached)."""
    h = hashlib.sha256()  # hardware-accelerated on most CPUs: ~2.5x blake2b here
    for name in columns:
        if name not in df.columns:
            return None
        arr = _column(df, name)
        # datetime arrays: their int64 values (the dtype text below holds the unit and zone)
        # numpy-backed columns (``NumpyExtensionArray``): their ndarray, no copy
        if isinstance(arr, pd.arrays.DatetimeArray):
            values = arr.to_numpy(dtype=f"datetime64[{arr.unit}]").view(np.int64)  # UTC
        elif isinstance(arr, pd.arrays.NumpyExtensionArray):
            values = arr.to_numpy()
        else:
            values = arr
        dtype = _DTYPE_TEXT.get(arr.dtype)
        if dtype is None:  # str() of a pandas dtype costs ~20 us: once per dtype
            dtype = _DTYPE_TEXT.setdefault(arr.dtype, str(arr.dtype))
        h.update(f"|{name}:{dtype}:{len(arr)}|".encode())
        if isinstance(values, np.ndarray) and values.dtype != object:
            h.update(np.ascontiguousarray(values).view(np.uint8).data)
            continue
        if not isinstance(arr, pd.arrays.ArrowExtensionArray):
            return None
        pa_array = pa.array(arr)  # the arrow data (zero-copy for one chunk)
        chunks = pa_array.chunks if isinstance(pa_array, pa.ChunkedArray) else [pa_array]
        for chunk in chunks:
            h.update(f"{chunk.offset}:{len(chunk)}".encode())
            for buf in chunk.buffers():
                if buf is not None:
                    h.update(buf)
    return h.digest()


def staffing_index_of_frame(staffing: pd.DataFrame) -> StaffingIndex:
    """:func:`staffing_index` of an interval-form staffing frame, cached by the frame's
    content: scoring a ticket at a time against the same roster reads the roster once."""
    key = _frame_fingerprint(staffing, _STAFFING_FRAME_COLUMNS)
    hit = _FRAME_INDEX.get(key) if key is not None else None
    if hit is not None:
        return hit
    index = staffing_index(staffing_from_frame(staffing))
    if key is not None:
        with _LOCK:
            if len(_FRAME_INDEX) >= 8:
                _FRAME_INDEX.clear()
            _FRAME_INDEX[key] = index
    return index


def _staffing_at(st: StaffingIndex, t: int) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """(agents now, mean agents over the next 4 h, per team (now, next 4 h)) at ``t``."""
    return (
        st.total.at_one(t),
        st.total.mean_one(t, STAFF_HORIZON_NS),
        {
            name: (steps.at_one(t), steps.mean_one(t, STAFF_HORIZON_NS))
            for name, steps in st.teams.items()
        },
    )


def event_pauses(
    tickets: TicketArrays, events: EventArrays, pause_statuses: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`slarisk.sla.clock.pause_intervals` of status events given as columns (events of
    tickets not in ``tickets`` are ignored, as ``compute_clocks`` does)."""
    index = {tid: i for i, tid in enumerate(tickets.ticket_id)}
    n_ev = len(events.at_ns)
    ev_tix = np.fromiter(map(index.get, events.ticket_id, itertools.repeat(-1)), np.intp, n_ev)
    pausing = frozenset(pause_statuses)
    is_pause = np.fromiter(map(pausing.__contains__, events.status), np.bool_, n_ev)
    return pause_intervals(ev_tix, np.asarray(events.at_ns, dtype=np.int64), is_pause)
