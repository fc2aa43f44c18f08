"""Arrival profiles per interval of the week and per date."""

from __future__ import annotations

import pandas as pd
import pytest

from slarisk.capacity.arrivals import arrival_profile, daily_totals


def test_arrival_profile_counts_per_observed_day() -> None:
    # two Mondays with 3 and 1 arrivals at 09:xx, one Tuesday with 2 at 10:xx (UTC)
    ts = pd.to_datetime(
        [
            "2024-01-01 09:05",
            "2024-01-01 09:10",
            "2024-01-01 09:50",
            "2024-01-08 09:30",
            "2024-01-02 10:00",
            "2024-01-02 10:59",
        ],
        utc=True,
    )
    prof = arrival_profile(pd.Series(ts), "UTC", 60)
    assert len(prof) == 168
    assert prof.loc[9, "mean_arrivals"] == pytest.approx(2.0)  # (3 + 1) / 2 Mondays
    assert prof.loc[24 + 10, "rate_per_hour"] == pytest.approx(2.0)
    assert prof["arrivals"].sum() == 6
    daily = daily_totals(pd.Series(ts), "UTC")
    assert daily["arrivals"].tolist() == [3, 2, 1]
