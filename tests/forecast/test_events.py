"""Special days: declared events, holiday features, unusual days."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from slarisk.errors import InputError
from slarisk.forecast.events import (
    Event,
    SpecialDays,
    day_features,
    parse_event,
    special_days,
    unusual_days,
)


def test_parse_event_forms() -> None:
    e = parse_event("campaign:2026-03-02:2026-03-06:1.3@phone,chat")
    assert e == Event("campaign", date(2026, 3, 2), date(2026, 3, 6), 1.3, ("phone", "chat"))
    assert parse_event("newclient:2026-04-01::").end is None
    assert parse_event("outage:2026-02-10").end == date(2026, 2, 10)
    for bad in ("x", "x:2026-13-01", "x:2026-01-01:2026-01-02:-1"):
        with pytest.raises(InputError):
            parse_event(bad)


def test_day_features_flags_holidays_eves_and_events() -> None:
    days = SpecialDays(
        holidays=frozenset({date(2026, 1, 7)}),
        events=(
            Event("promo", date(2026, 1, 5), date(2026, 1, 6), 1.5),
            Event("launch", date(2026, 1, 8), None, None, ("phone",)),
        ),
    )
    dates = pd.date_range("2026-01-05", periods=5, freq="D")
    f = day_features(dates, days, "phone")
    assert f["holiday"].tolist() == [0, 0, 1, 0, 0]
    assert f["holiday_eve"].tolist() == [0, 1, 0, 0, 0]
    assert f["after_off"].tolist() == [0, 0, 0, 1, 0]
    assert f["multiplier"].tolist() == [1.5, 1.5, 1, 1, 1]
    assert f["ev_launch"].tolist() == [0, 0, 0, 1, 1]
    assert day_features(dates, days, "email")["ev_launch"].sum() == 0
    assert f["to_month_end"].iloc[0] == 26


def test_special_days_from_a_holiday_country() -> None:
    days = special_days(holiday_country="IL", years=[1999])
    assert date(1999, 4, 21) in days.holidays  # Independence Day
    with pytest.raises(InputError):
        special_days(holiday_country="XX", years=[1999])


def test_unusual_days_by_weekday_median() -> None:
    totals = np.array([100.0] * 21)
    totals[9] = 30.0  # a dip
    totals[12] = np.nan
    odd = unusual_days(totals, np.arange(21) % 7)
    assert odd.tolist() == [i == 9 for i in range(21)]
