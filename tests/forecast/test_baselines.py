"""Baselines against hand computations; series building from tables and tickets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.errors import InputError
from slarisk.forecast.baselines import lag_days, seasonal_average, seasonal_naive
from slarisk.forecast.series import build_series, tickets_to_table
from tests.forecast.synthetic import START, poisson_table


def _series(weeks: int = 5):
    slots = 4  # 6-hour intervals: small matrices to compute by hand
    days = 7 * weeks
    vol = np.arange(days * slots, dtype=float)
    table = pd.DataFrame(
        {
            "interval_start": pd.date_range(START, periods=days * slots, freq="360min"),
            "volume": vol,
        }
    )
    [q] = build_series(table, interval_minutes=360)
    return q, vol.reshape(days, slots)


def test_lag_days_use_the_latest_same_weekday_before_origin() -> None:
    idx = lag_days(origin=28, horizon_days=10, weeks=2)
    assert idx[0].tolist() == [21, 14]
    assert idx[6].tolist() == [27, 20]
    assert idx[7].tolist() == [21, 14]  # day 35 is two weeks after day 21
    assert idx[9].tolist() == [23, 16]


def test_seasonal_naive_and_average_by_hand() -> None:
    q, m = _series()
    naive = seasonal_naive(q, origin=28, horizon_days=7)
    np.testing.assert_array_equal(naive, m[21:28])
    avg = seasonal_average(q, origin=28, horizon_days=7, weeks=4)
    np.testing.assert_allclose(avg, (m[21:28] + m[14:21] + m[7:14] + m[0:7]) / 4)
    # two weeks ahead: the latest same weekday is still before the origin
    naive14 = seasonal_naive(q, origin=28, horizon_days=14)
    np.testing.assert_array_equal(naive14[7:], m[21:28])


def test_seasonal_average_with_fewer_weeks_averages_what_exists() -> None:
    q, m = _series()
    avg = seasonal_average(q, origin=10, horizon_days=2, weeks=4)
    np.testing.assert_allclose(avg, m[3:5])


def test_build_series_sums_into_intervals_and_infers_hours() -> None:
    table, _ = poisson_table(weeks=3, interval_minutes=30)
    [q] = build_series(table, interval_minutes=60)
    assert q.slots == 24 and q.days == 21
    assert q.volume.sum() == table["volume"].sum()
    assert q.volume[0, 8] == table["volume"].iloc[16:18].sum()
    # Sunday closed, weekdays open 08-18
    assert not q.weekly_open[6].any()
    assert q.weekly_open[0, 8:18].all() and not q.weekly_open[0, :7].any()


def test_build_series_marks_the_unobserved_tail_nan() -> None:
    table, _ = poisson_table(weeks=1, interval_minutes=60)
    [q] = build_series(table.iloc[:30], interval_minutes=60)
    assert q.days == 2 and np.isnan(q.volume[1, 6:]).all() and np.isfinite(q.volume[1, :6]).all()


def test_tickets_to_table_joins_segments_into_queues() -> None:
    t = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2026-01-05 09:10", "2026-01-05 09:50", "2026-01-05 10:05"], utc=True
            ),
            "channel": ["phone", "phone", "email"],
            "priority": ["P1", "P1", "P2"],
            "handle_seconds": [100.0, 300.0, 50.0],
        }
    )
    table = tickets_to_table(t, ["channel", "priority"])
    series = {q.queue: q for q in build_series(table, interval_minutes=60)}
    assert set(series) == {"phone|P1", "email|P2"}
    assert series["phone|P1"].volume[0, 9] == 2
    assert series["phone|P1"].aht[0, 9] == pytest.approx(200.0)
    with pytest.raises(InputError, match="tier"):
        tickets_to_table(t, ["tier"])
