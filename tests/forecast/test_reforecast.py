"""Intraday reforecast: the update follows the running ratio by the learned weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.forecast.reforecast import (
    MAX_LOG_RATIO,
    fit_weight,
    reforecast_day,
    reforecast_table,
)


def test_weight_zero_keeps_the_morning_forecast() -> None:
    morning = np.full(10, 10.0)
    upd = reforecast_day(morning, np.array([15.0, 15.0]), weight=0.0)
    assert upd.factor == 1.0
    np.testing.assert_array_equal(upd.forecast[2:], morning[2:])
    np.testing.assert_array_equal(upd.forecast[:2], [15.0, 15.0])


def test_a_surge_raises_the_rest_of_the_day_within_the_bound() -> None:
    morning = np.full(10, 10.0)
    upd = reforecast_day(morning, np.array([12.0, 12.0, 12.0]), weight=1.0)
    assert upd.factor == pytest.approx(37 / 31)
    assert upd.running == pytest.approx(37 / 31)
    big = reforecast_day(morning, np.array([100.0, 100.0]), weight=1.0)
    assert big.factor == pytest.approx(np.exp(MAX_LOG_RATIO))


def test_fit_weight_recovers_a_slope() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, 500)
    z = 0.6 * x + rng.normal(0, 0.02, 500)
    assert fit_weight(list(zip(np.exp(x), np.exp(z), strict=True))) == pytest.approx(0.6, abs=0.05)
    assert fit_weight([]) == 0.0


def test_reforecast_table_updates_today_only() -> None:
    starts = pd.date_range("2026-03-02 08:00", periods=10, freq="60min", tz="UTC")
    fc = pd.DataFrame({"interval_start": starts, "queue": "q", "volume": 10.0})
    arrivals = pd.DataFrame(
        {"interval_start": starts[:3] + pd.Timedelta(minutes=5), "queue": "q", "volume": 13.0}
    )
    table, summary = reforecast_table(
        fc, arrivals, pd.Timestamp("2026-03-02 11:00", tz="UTC"), 1.0, interval_minutes=60
    )
    assert table["arrived"].iloc[:3].tolist() == [13.0] * 3
    assert table["arrived"].iloc[3:].isna().all()
    assert summary["rest_factor"].iloc[0] == pytest.approx(40 / 31)
    assert table["volume"].iloc[5] == pytest.approx(10 * 40 / 31)
