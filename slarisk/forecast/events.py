"""Special days: holidays and closures from policy calendars, declared events, month position.

:class:`SpecialDays` holds what is known in advance (public holidays, closed dates, declared
events); :func:`day_features` turns it into per-day model features; :func:`unusual_days`
finds past days whose total is far from their usual weekday level (holidays the calendar
does not know, outages), which the lag features then skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from slarisk.errors import InputError
from slarisk.sla.calendar import BusinessCalendar


@dataclass(frozen=True)
class Event:
    """A declared event on local days [start, end] (inclusive), e.g. a campaign or an outage.

    ``multiplier`` scales the forecast of its days when given (1.3 = +30%); when None the
    model learns its effect from past days of the same event name (a feature column).
    ``end`` None = open-ended (a new customer from a date). ``queues`` empty = all queues.
    """

    name: str
    start: date
    end: date | None = None
    multiplier: float | None = None
    queues: tuple[str, ...] = ()

    def covers(self, day: date, queue: str) -> bool:
        if self.queues and queue not in self.queues:
            return False
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class SpecialDays:
    """Holidays, closed dates and declared events known in advance."""

    holidays: frozenset[date] = frozenset()
    closed: frozenset[date] = frozenset()
    events: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def off_days(self) -> frozenset[date]:
        return self.holidays | self.closed


def special_days(
    *,
    calendars: Sequence[BusinessCalendar] = (),
    holiday_country: str | None = None,
    holiday_subdivision: str | None = None,
    years: Iterable[int] = (),
    events: Sequence[Event] = (),
) -> SpecialDays:
    """Collect holidays/closed dates of policy calendars and/or a `holidays` country."""
    ys = sorted(set(years))
    hol: set[date] = set()
    closed: set[date] = set()
    if ys:
        for cal in calendars:
            closed |= {d for d in cal.closed_dates if ys[0] <= d.year <= ys[-1]}
            hol |= cal.closed_days(ys[0], ys[-1]) - set(cal.closed_dates)
        if holiday_country:
            import holidays  # heavy: country tables load on first use

            try:
                table = holidays.country_holidays(
                    holiday_country, subdiv=holiday_subdivision, years=ys
                )
            except NotImplementedError as exc:
                raise InputError(f"unknown holiday country {holiday_country!r}: {exc}") from exc
            hol |= set(table.keys())
    return SpecialDays(holidays=frozenset(hol), closed=frozenset(closed), events=tuple(events))


def parse_event(text: str) -> Event:
    """``NAME:START[:END][:MULTIPLIER][@QUEUE,QUEUE]``, dates ISO; END may be empty.

    E.g. ``campaign:2026-03-02:2026-03-06:1.3``, ``newclient:2026-04-01::``, ``outage:2026-02-10``.
    """
    body, _, queues = text.partition("@")
    parts = body.split(":")
    if len(parts) < 2 or not parts[0]:
        raise InputError(f"event {text!r}: need NAME:START[:END][:MULTIPLIER]")
    try:
        start = date.fromisoformat(parts[1])
        end_txt = parts[2] if len(parts) > 2 else parts[1]
        end = date.fromisoformat(end_txt) if end_txt else None
        mult = float(parts[3]) if len(parts) > 3 and parts[3] else None
    except ValueError as exc:
        raise InputError(f"event {text!r}: {exc}") from exc
    if mult is not None and not mult > 0:
        raise InputError(f"event {text!r}: multiplier must be > 0")
    qs = tuple(q for q in queues.split(",") if q)
    return Event(name=parts[0], start=start, end=end, multiplier=mult, queues=qs)


def event_names(days: SpecialDays) -> list[str]:
    """Names of events whose effect is learned (no multiplier), sorted, unique."""
    return sorted({e.name for e in days.events if e.multiplier is None})


def day_features(dates: pd.DatetimeIndex, days: SpecialDays, queue: str) -> pd.DataFrame:
    """Per-day features: weekday, holiday, eve, day after an off day, month position, events.

    Columns: ``weekday`` (Mon=0), ``holiday`` (0/1), ``holiday_eve`` (next day off),
    ``after_off`` (previous day off), ``dom`` (1..31), ``to_month_end`` (days left in the
    month), ``ev_<name>`` (1 on days of a learned event) and ``multiplier`` (product of the
    given event multipliers, 1 when none).
    """
    day = np.asarray(dates.to_numpy(), dtype="datetime64[D]")
    off = np.array(sorted(days.off_days), dtype="datetime64[D]")
    one = np.timedelta64(1, "D")
    feats = pd.DataFrame(
        {
            "weekday": dates.day_of_week.to_numpy(),
            "holiday": np.isin(day, off).astype(float),
            "holiday_eve": np.isin(day + one, off).astype(float),
            "after_off": np.isin(day - one, off).astype(float),
            "dom": dates.day.to_numpy(),
            "to_month_end": (dates.days_in_month - dates.day).to_numpy(),
        }
    )

    def covers(e: Event) -> np.ndarray:
        if e.queues and queue not in e.queues:
            return np.zeros(day.shape, dtype=bool)
        hit = day >= np.datetime64(e.start, "D")
        return hit & (day <= np.datetime64(e.end, "D")) if e.end is not None else hit

    for name in event_names(days):
        hit = np.zeros(day.shape, dtype=bool)
        for e in days.events:
            if e.name == name and e.multiplier is None:
                hit |= covers(e)
        feats[f"ev_{name}"] = hit.astype(float)
    mult = np.ones(day.shape)
    for e in days.events:
        if e.multiplier is not None:
            mult = np.where(covers(e), mult * e.multiplier, mult)
    feats["multiplier"] = mult
    return feats


def unusual_days(totals: np.ndarray, weekdays: np.ndarray, *, band: float = 0.4) -> np.ndarray:
    """Days whose total is outside [1-band, 1+band] x the median of the same weekday's days.

    ``totals`` (days,) with NaN for unobserved days; returns a bool mask (NaN days False).
    A weekday whose median is 0 (closed) never marks its days unusual.
    """
    out = np.zeros(totals.shape, dtype=bool)
    for wd in range(7):
        idx = np.flatnonzero((weekdays == wd) & np.isfinite(totals))
        if idx.size < 3:
            continue
        med = float(np.median(totals[idx]))
        if med <= 0:
            continue
        ratio = totals[idx] / med
        out[idx] = (ratio < 1 - band) | (ratio > 1 + band)
    return out
