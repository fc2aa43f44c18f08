"""Hypothesis strategies for SLA tests: calendars, timezones, DST-day instants, policies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import strategies as st

from slarisk.sla.policy import WEEKDAYS, CalendarSpec
from tests.sla.reference import RefCalendar

#: zones with DST in both hemispheres, a half-hour DST shift, odd offsets, and none at all.
TIMEZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
#: local dates on or next to DST switches (EU, US, AU) in 2025/2026, plus ordinary days.
BASE_DATES = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 4, 5),
    date(2026, 10, 4),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2025, 12, 24),
    date(2026, 1, 15),
    date(2026, 6, 10),
]
HOLIDAY_SPECS = [
    None,
    {"country": "GB", "subdivision": "ENG"},
    {"country": "US"},
    {"country": "AU", "subdivision": "NSW"},
]
STATUSES = ["pending", "open", "on_hold", "in_progress"]
PAUSE_STATUSES = ["pending", "on_hold"]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def calendar_specs(draw: st.DrawFn, allow_always_open: bool = True) -> dict[str, Any]:
    """A policy calendar mapping: random ranges on 15-minute marks (night hours included)."""
    if allow_always_open and draw(st.integers(0, 7)) == 0:
        return {"always_open": True}
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        k = draw(st.sampled_from([0, 1, 1, 1, 2]))
        if k:
            pts = sorted(draw(st.sets(st.integers(0, 96), min_size=2 * k, max_size=2 * k)))
            hours[day] = [[hhmm(pts[2 * i] * 15), hhmm(pts[2 * i + 1] * 15)] for i in range(k)]
    if not hours:
        hours["wed"] = [["09:00", "17:00"]]
    spec: dict[str, Any] = {"hours": hours}
    hol = draw(st.sampled_from(HOLIDAY_SPECS))
    if hol:
        spec["holidays"] = hol
    closed = draw(
        st.lists(st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 11, 30)), max_size=3)
    )
    if closed:
        spec["closed_dates"] = [d.isoformat() for d in closed]
    return spec


def weekly_open_minutes(spec: dict[str, Any]) -> int:
    """Open minutes of an ordinary week (ignoring holidays and DST)."""
    if spec.get("always_open"):
        return 7 * 1440
    weekly = CalendarSpec.model_validate(spec).weekly_minutes()
    return sum(b - a for day in weekly for a, b in day)


def ref_calendar(spec: dict[str, Any], tz: str) -> RefCalendar:
    """The reference-implementation twin of a calendar spec (holidays for 2024-2028)."""
    if spec.get("always_open"):
        return RefCalendar(timezone=tz, always_open=True)
    weekly = tuple(
        tuple(sorted((_m(a), _m(b)) for a, b in spec["hours"].get(day, []))) for day in WEEKDAYS
    )
    closed = {date.fromisoformat(d) for d in spec.get("closed_dates", [])}
    hol = spec.get("holidays")
    if hol:
        closed |= set(
            holidays.country_holidays(
                hol["country"], subdiv=hol.get("subdivision"), years=range(2024, 2029)
            ).keys()
        )
    return RefCalendar(timezone=tz, weekly=weekly, closed=frozenset(closed))


def _m(s: str) -> int:
    hh, mm = s.split(":")
    return int(hh) * 60 + int(mm)


@st.composite
def base_instants(draw: st.DrawFn, tz: str) -> int:
    """UTC seconds: local midnight of a DST-ish date in `tz`, moved by up to +-2 days."""
    d = draw(st.sampled_from(BASE_DATES))
    midnight = datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))
    shift = draw(
        st.one_of(
            st.integers(-2 * 86400, 2 * 86400),
            st.integers(-2 * 96, 2 * 96).map(lambda q: q * 900),  # on quarter-hour marks
        )
    )
    return int(midnight.timestamp()) + shift
