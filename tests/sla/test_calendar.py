"""Business-hours calendar: hand-computed examples, DST days, and properties vs the reference."""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.sla.calendar import NAT, BusinessCalendar, to_ns
from slarisk.sla.policy import CalendarSpec
from tests.sla import reference as ref
from tests.sla.strategies import (
    TIMEZONES,
    base_instants,
    calendar_specs,
    ref_calendar,
    weekly_open_minutes,
)

#: property-test examples (raise it for a deeper local run, e.g. 2000).
EXAMPLES = int(os.environ.get("SLARISK_SLA_EXAMPLES", "40"))
LONDON = "Europe/London"
NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def cal_of(spec: dict, tz: str = LONDON, name: str = "c") -> BusinessCalendar:
    return BusinessCalendar.from_spec(name, CalendarSpec.model_validate(spec), tz)


def local(ts: str, tz: str = LONDON) -> pd.Timestamp:
    return pd.Timestamp(ts, tz=tz)


def as_local(ns: np.ndarray, tz: str = LONDON) -> pd.Timestamp:
    return pd.Timestamp(int(ns[0]), tz="UTC").tz_convert(tz)


@pytest.fixture(scope="module")
def nine_to_five() -> BusinessCalendar:
    return cal_of({"hours": NINE_TO_FIVE, "holidays": {"country": "GB", "subdivision": "ENG"}})


def test_friday_afternoon_plus_two_hours_is_monday_ten(nine_to_five: BusinessCalendar) -> None:
    due = nine_to_five.add_business_seconds(local("2026-11-27 16:00"), 2 * 3600)
    assert as_local(due) == local("2026-11-30 10:00")
    assert nine_to_five.business_seconds(
        local("2026-11-27 16:00"), local("2026-11-30 10:00")
    ) == pytest.approx(7200)


def test_budget_ending_at_close_is_due_at_close(nine_to_five: BusinessCalendar) -> None:
    due = nine_to_five.add_business_seconds(local("2026-11-27 15:00"), 2 * 3600)
    assert as_local(due) == local("2026-11-27 17:00")


def test_start_in_closed_hours_waits_for_opening(nine_to_five: BusinessCalendar) -> None:
    due = nine_to_five.add_business_seconds(local("2026-11-28 12:00"), 1800)  # Saturday
    assert as_local(due) == local("2026-11-30 09:30")
    assert nine_to_five.add_business_seconds(local("2026-11-28 12:00"), 0)[0] == to_ns(
        local("2026-11-28 12:00")
    )


def test_easter_holidays_are_skipped(nine_to_five: BusinessCalendar) -> None:
    # Thu 2 Apr 2026 16:00 + 2 h: Good Friday (3 Apr) and Easter Monday (6 Apr) are closed
    due = nine_to_five.add_business_seconds(local("2026-04-02 16:00"), 2 * 3600)
    assert as_local(due) == local("2026-04-07 10:00")


def test_closed_dates_are_skipped() -> None:
    cal = cal_of({"hours": NINE_TO_FIVE, "closed_dates": ["2026-11-30"]})
    due = cal.add_business_seconds(local("2026-11-27 16:00"), 2 * 3600)
    assert as_local(due) == local("2026-12-01 10:00")


def test_across_spring_forward(nine_to_five: BusinessCalendar) -> None:
    # clocks go forward on Sun 29 Mar 2026; Monday 10:00 BST is 09:00 UTC
    due = nine_to_five.add_business_seconds(local("2026-03-27 16:00"), 2 * 3600)
    assert pd.Timestamp(int(due[0]), tz="UTC") == pd.Timestamp("2026-03-30 09:00", tz="UTC")


def test_twenty_four_hour_days_follow_real_time_on_dst_days() -> None:
    all_day = cal_of({"hours": {d: [["00:00", "24:00"]] for d in ("sat", "sun")}})
    # Sunday 25 Oct 2026 (clocks go back) lasts 25 h, Sunday 29 Mar 2026 lasts 23 h
    assert all_day.business_seconds(local("2026-10-25"), local("2026-10-26")) == 25 * 3600
    assert all_day.business_seconds(local("2026-03-29"), local("2026-03-30")) == 23 * 3600


def test_repeated_and_skipped_night_hours() -> None:
    night = cal_of({"hours": {"sun": [["00:00", "01:30"]]}})
    # 25 Oct: local 01:00-01:30 happens twice -> 2 h; 29 Mar: 01:00-01:30 does not exist -> 1 h
    assert night.business_seconds(local("2026-10-25"), local("2026-10-26")) == 2 * 3600
    assert night.business_seconds(local("2026-03-29"), local("2026-03-30")) == 1 * 3600


def test_always_open_is_plain_elapsed_time() -> None:
    cal = cal_of({"always_open": True})
    a, b = local("2026-03-28 12:00"), local("2026-03-30 12:00")
    assert cal.business_seconds(a, b)[0] == (b - a).total_seconds() == 47 * 3600
    assert as_local(cal.add_business_seconds(a, 47 * 3600)) == b


def test_timezones_matter() -> None:
    spec = {"hours": NINE_TO_FIVE}
    ny = cal_of(spec, "America/New_York")
    start = pd.Timestamp("2026-11-27 20:00", tz="UTC")  # 15:00 in New York, 20:00 in London
    assert ny.business_seconds(start, start + pd.Timedelta(hours=2))[0] == 2 * 3600
    assert cal_of(spec).business_seconds(start, start + pd.Timedelta(hours=2))[0] == 0


def test_nat_and_vectors(nine_to_five: BusinessCalendar) -> None:
    starts = pd.Series(pd.to_datetime(["2026-11-27 16:00", None], utc=True))
    ends = pd.Series(pd.to_datetime(["2026-11-27 16:30", "2026-11-27 16:30"], utc=True))
    out = nine_to_five.business_seconds(starts, ends)
    assert out[0] == 1800 and np.isnan(out[1])
    due = nine_to_five.add_business_seconds(starts, [60.0, 60.0])
    assert due[1] == NAT
    with pytest.raises(ValueError):
        nine_to_five.add_business_seconds(starts[:1], -1.0)


def test_far_future_extends_the_table() -> None:
    sparse = cal_of({"hours": {"wed": [["10:00", "11:00"]]}})
    start = local("2026-12-29 12:00")  # Tuesday
    due = sparse.add_business_seconds(start, 150 * 3600)  # 150 Wednesdays later
    assert as_local(due).weekday() == 2 and as_local(due).hour == 11
    assert sparse.business_seconds(start, due)[0] == pytest.approx(150 * 3600)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_matches_reference(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from(TIMEZONES), label="tz")
    spec = data.draw(calendar_specs(), label="calendar")
    cal, rcal = cal_of(spec, tz), ref_calendar(spec, tz)
    a = data.draw(base_instants(tz), label="a")
    b = a + data.draw(st.integers(0, 4 * 86400), label="b - a")
    got = cal.business_seconds(np.array([a * 10**9]), np.array([b * 10**9]))[0]
    assert got == ref.business_seconds(rcal, a, b)
    budget_max = max(60, min(2 * weekly_open_minutes(spec), 24 * 60)) * 60
    budget = data.draw(st.integers(0, budget_max), label="budget")
    due = cal.add_business_seconds(np.array([a * 10**9]), float(budget))[0]
    assert due == ref.add_business_seconds(rcal, a, budget) * 10**9


def test_reference_agrees_on_hand_example() -> None:
    day = ((9 * 60, 17 * 60),)
    rcal = ref.RefCalendar(timezone=LONDON, weekly=(day,) * 5 + ((), ()))
    start = int(local("2026-11-27 16:00").timestamp())
    assert ref.add_business_seconds(rcal, start, 7200) == local("2026-11-30 10:00").timestamp()
    assert date(2026, 11, 30).weekday() == 0
