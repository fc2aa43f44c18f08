"""Business-hours calendars compiled to sorted UTC open intervals (vectorised arithmetic).

Definition: an instant is *open* when the calendar is 24x7, or when its local wall-clock time
(policy timezone) falls in one of the opening ranges of its local weekday and its local date
is neither a public holiday nor a closed date. On DST days this is exact: a 00:00-24:00 day
lasts 23 or 25 real hours; a range over a repeated hour counts the hour twice (the wall clock
shows it twice); a range over a skipped hour loses it.

`BusinessCalendar` compiles, for a span of whole local years, the open intervals as int64 UTC
nanoseconds ``[starts, ends)`` with the cumulative open time before each interval. Then, with
``F(t)`` = open nanoseconds before instant ``t`` (a `searchsorted`):
business_seconds(a, b) = F(b) - F(a) and add_business_seconds(a, s) = the earliest t with
F(t) = F(a) + s (the inverse, another `searchsorted` on cumulative ends).
All times are int64 nanoseconds since the epoch (UTC); NaT is ``numpy.iinfo(int64).min``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from slarisk.sla.policy import CalendarSpec

NAT = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max
_LOCK = threading.Lock()  # guards the calendars' table caches (the API serves threads)
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
_BLOCK = 1 << 15  # elements per block of the vectorised table look-ups


def to_ns(values: Any) -> np.ndarray:
    """int64 UTC nanoseconds of timestamps (pandas tz-aware/naive-UTC, datetime64, or int64).

    Naive values are taken as UTC; NaT becomes ``NAT`` (int64 min).
    """
    if isinstance(values, (int, np.integer)):
        return np.array([values], dtype=np.int64)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    if isinstance(values, (pd.Timestamp, datetime, np.datetime64, str)):
        values = [values]
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def _utc_offsets(tz: ZoneInfo, lo_ns: int, hi_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Constant-offset segments of `tz` over UTC [lo, hi]: boundaries (n+1) and offsets (n), ns.

    Offsets are sampled hourly (pandas) and each change is bisected to the second (zoneinfo).
    Two transitions within one hour would be missed (no real zone has them in modern data).
    """
    step = 3600 * NS_PER_SECOND
    grid = np.arange(lo_ns - lo_ns % step, hi_ns + 2 * step, step, dtype=np.int64)
    utc = pd.DatetimeIndex(grid.view("datetime64[ns]")).tz_localize("UTC")
    local = utc.tz_convert(tz).tz_localize(None).as_unit("ns").asi8
    off = local - grid
    change = np.flatnonzero(np.diff(off)) + 1
    bounds = [lo_ns]
    offsets = [int(off[0])]

    def offset_at(sec: int) -> int:
        u = datetime.fromtimestamp(sec, tz=tz).utcoffset()
        assert u is not None
        return int(u.total_seconds()) * NS_PER_SECOND

    for i in change:
        a, b = int(grid[i - 1]) // NS_PER_SECOND, int(grid[i]) // NS_PER_SECOND
        before = offset_at(a)
        while b - a > 1:  # invariant: offset(a) == before != offset(b)
            mid = (a + b) // 2
            if offset_at(mid) == before:
                a = mid
            else:
                b = mid
        t = b * NS_PER_SECOND
        if lo_ns < t < hi_ns:
            bounds.append(t)
            offsets.append(int(off[i]))
        elif t <= lo_ns:
            offsets[-1] = int(off[i])
    bounds.append(hi_ns)
    return np.array(bounds, dtype=np.int64), np.array(offsets, dtype=np.int64)


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals [starts, ends): sorted, disjoint, non-touching, non-empty."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.ones(starts.size, dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    return starts[first], np.maximum.reduceat(ends, first)


class _SortedIndex:
    """Fast `np.searchsorted(keys, x, side)` for a fixed sorted int64 array `keys`.

    Buckets of width 2**shift over [keys[0], keys[-1]]: `first[b]` counts the keys before
    bucket b, and at most `per_bucket` keys fall in one bucket, so a query is a table
    look-up plus `per_bucket` compare-and-step passes instead of a binary search. Built
    only when the table stays small (cache-resident) and `per_bucket` is small; otherwise
    `count` is a plain searchsorted.
    """

    _MAX_BUCKETS = 1 << 15
    _MAX_PER_BUCKET = 4

    def __init__(self, keys: np.ndarray, side: Literal["left", "right"]) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.side: Literal["left", "right"] = side
        self.first: np.ndarray | None = None
        if self.keys.size < 16:
            return
        k0, k1 = int(self.keys[0]), int(self.keys[-1])
        if k1 - k0 >= 1 << 62:  # keep bucket bounds inside int64
            return
        gap = int(np.diff(self.keys).min())
        shift = max(gap, 1).bit_length() - 1  # 2**shift <= smallest gap: <= 1 key per bucket
        while ((k1 - k0) >> shift) + 1 > self._MAX_BUCKETS:
            shift += 1
        n_buckets = ((k1 - k0) >> shift) + 1
        bounds = k0 + (np.arange(n_buckets + 1, dtype=np.int64) << shift)
        first = np.searchsorted(self.keys, bounds, side="left")
        per_bucket = int(np.diff(first).max())
        last = k0 + (n_buckets << shift) - 1  # last instant of the last bucket
        if per_bucket > self._MAX_PER_BUCKET or last > _INT64_MAX:
            return
        self.origin, self.shift, self.per_bucket, self.last = k0, shift, per_bucket, last
        self.first = first[:-1].astype(np.intp)
        # padded keys: the step passes may look one key past the end per pass
        self.padded = np.concatenate([self.keys, np.full(per_bucket, _INT64_MAX, np.int64)])

    def count(self, x: np.ndarray) -> np.ndarray:
        """np.searchsorted(keys, x, side) for an int64 array x (intp)."""
        if self.first is None:
            return np.searchsorted(self.keys, x, side=self.side)
        b = np.clip(x, self.origin, self.last)
        b -= self.origin
        b >>= self.shift
        j = self.first[b]
        step = np.less_equal if self.side == "right" else np.less
        for _ in range(self.per_bucket):
            j += step(self.padded[j], x)
        if self.side == "right":  # x = int64 max also passes the padding
            np.minimum(j, self.keys.size, out=j)
        return j


@dataclass(frozen=True)
class OpenIntervals:
    """Open intervals [starts, ends) in UTC ns, sorted and disjoint, plus cumulative open ns.

    Valid for instants in [lo, hi] (`covers`); `always_open` tables have no bounds.
    """

    starts: np.ndarray
    ends: np.ndarray
    cum_start: np.ndarray
    cum_end: np.ndarray
    lo: int
    hi: int
    always_open: bool = False

    @property
    def total(self) -> int:
        """Open nanoseconds in the whole table (F at `hi`)."""
        return int(self.cum_end[-1]) if self.cum_end.size else 0

    def covers(self, lo: int, hi: int) -> bool:
        """Whether [lo, hi] (UTC ns) lies inside the table's validity span."""
        return self.always_open or (self.lo <= lo and hi <= self.hi)

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(E, D, G) for `cumulative` and `inverse`: E = [-inf, ends], D = [0, cum_end] - E
        and G = starts - cum_start, so that F(t) = D[j] + min(t, E[j]) with j the number of
        starts <= t, and F^-1(v) = v + G[k]. E[0] is int64 min: D[0] + min(t, E[0]) is 0 in
        (wrap-around) int64 arithmetic, so no clipping of j is needed.
        """
        e = np.concatenate([[NAT], self.ends]).astype(np.int64)
        d = np.concatenate([[0], self.cum_end]).astype(np.int64)
        with np.errstate(over="ignore"):
            d = d - e  # D[0] = -min wraps to min (intended)
        return e, d, self.starts - self.cum_start

    @cached_property
    def _start_index(self) -> _SortedIndex:
        return _SortedIndex(self.starts, "right")

    @cached_property
    def _cum_end_index(self) -> _SortedIndex:
        return _SortedIndex(self.cum_end, "left")

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """F(t): open nanoseconds from the table's origin to t (int64, vectorised; no NaT)."""
        t = np.asarray(t, dtype=np.int64)
        if self.always_open:
            return t.copy()
        e, d, _ = self._lookup
        index = self._start_index
        out = np.empty(t.shape, dtype=np.int64)
        src, dst = t.reshape(-1), out.reshape(-1)
        for a in range(0, src.size, _BLOCK):  # blocks: small, cache-resident temporaries
            tb = src[a : a + _BLOCK]
            j = index.count(tb)  # number of starts <= t
            ob = np.minimum(tb, e[j], out=dst[a : a + _BLOCK])  # interval j-1 ends at min(t, end)
            ob += d[j]
        return out

    def inverse(self, v: np.ndarray) -> np.ndarray:
        """Earliest instant t with F(t) >= v (int64 ns). Requires v <= `total`."""
        v = np.asarray(v, dtype=np.int64)
        if self.always_open:
            return v.copy()
        if v.size and (self.cum_end.size == 0 or int(v.max()) > self.total):
            raise ValueError("business time beyond the compiled calendar span")
        g = self._lookup[2]
        index = self._cum_end_index
        out = np.empty(v.shape, dtype=np.int64)
        src, dst = v.reshape(-1), out.reshape(-1)
        for a in range(0, src.size, _BLOCK):
            vb = src[a : a + _BLOCK]
            ob = np.take(g, index.count(vb), out=dst[a : a + _BLOCK])  # first cum_end >= v
            ob += vb
        return out


@dataclass(frozen=True)
class BusinessCalendar:
    """A business-hours calendar in a timezone (compiled from a policy's `CalendarSpec`).

    `weekly[d]` holds the opening ranges of weekday d (Monday = 0) in minutes since local
    midnight; `closed_dates` and the `holidays` package dates (country/subdivision) are closed.
    Tables of open intervals are compiled per span of local years and cached.
    """

    name: str
    timezone: str
    always_open: bool = False
    weekly: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    _cache: dict[tuple[int, int], OpenIntervals] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    @classmethod
    def from_spec(cls, name: str, spec: CalendarSpec, timezone: str) -> BusinessCalendar:
        """Compile a policy calendar spec."""
        return cls(
            name=name,
            timezone=timezone,
            always_open=spec.always_open,
            weekly=spec.weekly_minutes(),
            holiday_country=spec.holidays.country if spec.holidays else None,
            holiday_subdivision=spec.holidays.subdivision if spec.holidays else None,
            closed_dates=frozenset(spec.closed_dates),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closed_days(self, first_year: int, last_year: int) -> set[date]:
        """Holidays and closed dates in local years [first_year, last_year]."""
        days = {d for d in self.closed_dates if first_year <= d.year <= last_year}
        if self.holiday_country:
            import holidays  # lazy: loads its country tables (about 0.1 s)

            hol = holidays.country_holidays(
                self.holiday_country,
                subdiv=self.holiday_subdivision,
                years=range(first_year, last_year + 1),
            )
            days.update(hol.keys())
        return days

    # --- tables --------------------------------------------------------------------------
    def intervals(self, lo_ns: int, hi_ns: int) -> OpenIntervals:
        """An open-interval table valid at least over UTC [lo_ns, hi_ns] (cached by years)."""
        if self.always_open:
            return _ALWAYS_OPEN
        with _LOCK:
            for tab in self._cache.values():
                if tab.covers(lo_ns, hi_ns):
                    return tab
            y0 = datetime.fromtimestamp(lo_ns // NS_PER_SECOND, tz=UTC).year
            y1 = datetime.fromtimestamp(hi_ns // NS_PER_SECOND, tz=UTC).year
            for c0, c1 in self._cache:  # widen the existing table rather than keep several
                y0, y1 = min(y0, c0), max(y1, c1)
            tab = self._compile(y0, y1)
            self._cache.clear()
            self._cache[(y0, y1)] = tab
            return tab

    def _compile(self, y0: int, y1: int) -> OpenIntervals:
        """Open intervals for local dates around years [y0, y1]; valid over UTC years y0..y1."""
        d_first = (np.datetime64(f"{y0:04d}-01-01", "D") - np.timedelta64(2, "D")).astype(np.int64)
        d_last = (np.datetime64(f"{y1 + 1:04d}-01-01", "D") + np.timedelta64(2, "D")).astype(
            np.int64
        )
        days = np.arange(int(d_first), int(d_last) + 1, dtype=np.int64)
        closed = self.closed_days(y0 - 1, y1 + 1)
        if closed:
            closed_num = np.array(
                [np.datetime64(d, "D").astype(np.int64) for d in closed], dtype=np.int64
            )
            days = days[~np.isin(days, closed_num)]
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
        a_parts, b_parts = [], []
        for wd, ranges in enumerate(self.weekly):
            sel = days[weekday == wd] * NS_PER_DAY
            for a_min, b_min in ranges:
                a_parts.append(sel + a_min * NS_PER_MINUTE)
                b_parts.append(sel + b_min * NS_PER_MINUTE)
        a = np.concatenate(a_parts) if a_parts else np.empty(0, np.int64)
        b = np.concatenate(b_parts) if b_parts else np.empty(0, np.int64)
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]  # local naive ns (wall clock as if UTC), b sorted too

        lo = int(np.datetime64(f"{y0:04d}-01-01", "ns").astype(np.int64))
        hi = int(np.datetime64(f"{y1 + 1:04d}-01-01", "ns").astype(np.int64))
        margin = 3 * NS_PER_DAY
        bounds, offsets = _utc_offsets(self.tz, int(d_first) * NS_PER_DAY - margin, hi + margin)
        s_parts, e_parts = [], []
        for j, off in enumerate(offsets):
            u0, u1 = int(bounds[j]), int(bounds[j + 1])
            # rows whose UTC image [a-off, b-off) can meet [u0, u1)
            i0 = np.searchsorted(b, u0 + off, side="right")
            i1 = np.searchsorted(a, u1 + off, side="left")
            s = np.maximum(a[i0:i1] - off, u0)
            e = np.minimum(b[i0:i1] - off, u1)
            s_parts.append(s)
            e_parts.append(e)
        starts, ends = _merge(np.concatenate(s_parts), np.concatenate(e_parts))
        lengths = ends - starts
        cum_end = np.cumsum(lengths)
        cum_start = cum_end - lengths
        return OpenIntervals(starts, ends, cum_start, cum_end, lo - NS_PER_DAY, hi + NS_PER_DAY)

    def _table_for(self, *arrays: np.ndarray) -> OpenIntervals:
        vals = np.concatenate([x[x != NAT] for x in arrays])
        if vals.size == 0 or self.always_open:
            return self.intervals(0, 0)
        return self.intervals(int(vals.min()), int(vals.max()))

    # --- public vectorised arithmetic ----------------------------------------------------
    def business_seconds(self, start: Any, end: Any) -> np.ndarray:
        """Open seconds between start and end (float64, signed: negative when end < start).

        Accepts int64 UTC ns arrays or anything `to_ns` takes; NaT gives NaN.
        """
        s, e = np.broadcast_arrays(to_ns(start), to_ns(end))
        tab = self._table_for(s, e)
        bad = (s == NAT) | (e == NAT)
        s0, e0 = np.where(bad, 0, s), np.where(bad, 0, e)
        out = (tab.cumulative(e0) - tab.cumulative(s0)).astype(np.float64) / NS_PER_SECOND
        out[bad] = np.nan
        return out

    def add_business_seconds(self, start: Any, seconds: Any) -> np.ndarray:
        """The earliest instant (int64 UTC ns) when `seconds` (>= 0) of open time have passed.

        A budget that runs out exactly at closing time gives the closing instant (Friday
        15:00 + 2 h on a 9-to-5 calendar = Friday 17:00). Zero seconds give `start` itself.
        NaT start or NaN seconds give NaT.
        """
        s_ns = to_ns(start)
        secs = np.asarray(seconds, dtype=np.float64)
        s_ns, secs = np.broadcast_arrays(s_ns, secs)
        bad = (s_ns == NAT) | np.isnan(secs)
        if np.any(secs[~bad] < 0):
            raise ValueError("add_business_seconds needs seconds >= 0")
        budget = np.where(bad, 0, np.round(np.where(bad, 0, secs) * NS_PER_SECOND)).astype(np.int64)
        s0 = np.where(bad, 0, s_ns)
        out = self.add_business_ns(s0, budget)
        out[bad] = NAT
        return out

    def add_business_ns(self, start_ns: np.ndarray, budget_ns: np.ndarray) -> np.ndarray:
        """Like `add_business_seconds` with an int64 ns budget and no NaT (the fast path)."""
        if self.always_open:
            return start_ns + budget_ns
        tab = self._table_for(start_ns)
        target = tab.cumulative(start_ns) + budget_ns
        while target.size and int(target.max()) > tab.total:
            tab = self.intervals(tab.lo + NS_PER_DAY, tab.hi + 366 * NS_PER_DAY)
            target = tab.cumulative(start_ns) + budget_ns
            if tab.hi - tab.lo > 200 * 366 * NS_PER_DAY:
                raise ValueError(f"calendar {self.name!r} has no open time left")
        return np.maximum(start_ns, tab.inverse(target))


_ALWAYS_OPEN = OpenIntervals(
    starts=np.empty(0, np.int64),
    ends=np.empty(0, np.int64),
    cum_start=np.empty(0, np.int64),
    cum_end=np.empty(0, np.int64),
    lo=NAT,
    hi=np.iinfo(np.int64).max,
    always_open=True,
)
