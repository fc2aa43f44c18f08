"""Plain, obviously-correct reference SLA clock: one ticket at a time, one minute at a time.

Assumptions (the property tests respect them): every timestamp is a whole number of UTC
seconds; opening ranges, holidays and timezone offsets change only on whole minutes (true of
every modern IANA zone). Then each UTC minute [60k, 60k + 60) is either wholly open or wholly
closed, decided by converting its first second to local wall-clock time with zoneinfo.

Definitions mirror slarisk.sla.clock's docstring, written out literally:
open minute = local date not closed, local weekday has a range holding the local minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RefCalendar:
    """weekly[d] = ((start_min, end_min), ...) for weekday d (Monday = 0); local times."""

    timezone: str
    always_open: bool = False
    weekly: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    closed: frozenset[date] = frozenset()
    _cache: dict[int, bool] = field(default_factory=dict, compare=False, hash=False)

    def minute_open(self, minute: int) -> bool:
        """Whether UTC minute [60*minute, 60*minute + 60) is open."""
        if self.always_open:
            return True
        hit = self._cache.get(minute)
        if hit is None:
            local = datetime.fromtimestamp(minute * 60, tz=_zone(self.timezone))
            if local.date() in self.closed:
                hit = False
            else:
                m = local.hour * 60 + local.minute
                hit = any(a <= m < b for a, b in self.weekly[local.weekday()])
            self._cache[minute] = hit
        return hit


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minus(a: int, b: int, holes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pieces of [a, b) not covered by any hole, in time order."""
    pieces = [(a, b)]
    for h0, h1 in holes:
        nxt = []
        for p0, p1 in pieces:
            if h1 <= p0 or h0 >= p1:
                nxt.append((p0, p1))
                continue
            if p0 < h0:
                nxt.append((p0, h0))
            if h1 < p1:
                nxt.append((h1, p1))
        pieces = nxt
    return pieces


def business_seconds(
    cal: RefCalendar, a: int, b: int, holes: Sequence[tuple[int, int]] = ()
) -> int:
    """Open seconds in [a, b) outside `holes` (all whole UTC seconds)."""
    total = 0
    minute = a // 60
    while minute * 60 < b:
        c0, c1 = max(a, minute * 60), min(b, minute * 60 + 60)
        if c0 < c1 and cal.minute_open(minute):
            total += sum(p1 - p0 for p0, p1 in _minus(c0, c1, list(holes)))
        minute += 1
    return total


def add_business_seconds(
    cal: RefCalendar, start: int, budget: float, holes: Sequence[tuple[int, int]] = ()
) -> float:
    """Earliest instant by which `budget` open seconds outside `holes` have passed since start."""
    if budget <= 0:
        return start
    used = 0.0
    minute = start // 60
    while True:
        if cal.minute_open(minute):
            c0 = max(start, minute * 60)
            for p0, p1 in _minus(c0, minute * 60 + 60, list(holes)):
                if used + (p1 - p0) >= budget:
                    return p0 + (budget - used)
                used += p1 - p0
        minute += 1


def pause_intervals(
    events: list[tuple[int, str]], pause_statuses: set[str]
) -> list[tuple[int, float]]:
    """(start, end) of each pause: from a pause-status event to the next event (or forever).

    Events at the same instant keep their given order (a stable sort by time).
    """
    events = sorted(events, key=lambda e: e[0])
    out: list[tuple[int, float]] = []
    for i, (at, status) in enumerate(events):
        if status in pause_statuses:
            end = events[i + 1][0] if i + 1 < len(events) else math.inf
            out.append((at, end))
    return out


def reference_clock(
    cal: RefCalendar,
    target_seconds: float,
    created: int,
    stop: int | None,
    now: int,
    pauses: list[tuple[int, float]],
    thresholds: list[float],
) -> dict[str, object]:
    """The clock of one ticket and metric (seconds; stop None = open, measured at now)."""
    is_open = stop is None
    end = max(created, now if stop is None else stop)
    clipped = []
    for p0, p1 in pauses:
        a, b = max(p0, created), min(p1, end)
        if a < b:
            clipped.append((int(a), int(b)))
    elapsed = business_seconds(cal, created, end, clipped)
    paused = sum(business_seconds(cal, a, b) for a, b in clipped)
    due = add_business_seconds(cal, created, target_seconds, clipped)
    fraction = elapsed / target_seconds
    level = 0
    if is_open:
        for th in thresholds:
            if fraction >= th:
                level = round(th * 100)
    return {
        "elapsed_seconds": elapsed,
        "paused_seconds": paused,
        "due_at": due,
        "is_open": is_open,
        "breached": elapsed > target_seconds,
        "time_left_seconds": target_seconds - elapsed,
        "alert_level": level,
    }
