"""Acceptance on the real bank call centre (needs ../shared/data; skips without it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from slarisk.forecast.backtest import SELECTED, BacktestConfig, origins_between, run_backtest
from slarisk.forecast.events import special_days
from slarisk.forecast.pipeline import read_input
from slarisk.forecast.reforecast import intraday_evaluation
from slarisk.forecast.series import build_series

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def test_bank_backtest_april_to_june(shared_data: Path) -> None:
    path = shared_data / "callcenter_bank" / "volumes_6min_1999_h1.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    series = build_series(read_input(path, value_column="calls"), interval_minutes=30)
    days = special_days(holiday_country="IL", years=[1999, 2000])
    cfg = BacktestConfig()
    origins = origins_between(series, pd.Timestamp("1999-04-01"), pd.Timestamp("1999-06-30"), cfg)
    assert len(origins) == 13
    res = run_backtest(series, origins, days, cfg)
    m = res.metrics.set_index("model")
    sel = m.loc[SELECTED]
    assert sel["wape"] <= 0.85 * m.loc["avg4", "wape"]
    assert sel["wape"] <= 0.75 * m.loc["naive", "wape"]
    assert abs(sel["bias"]) <= 0.02
    assert 0.75 <= res.summary["coverage80"] <= 0.85
    assert 0.92 <= res.summary["coverage95"] <= 0.97
    assert 0.10 < res.summary["poisson_floor"] < 0.15
    intraday = intraday_evaluation(res.forecasts, series, days.off_days, warmup=res.warmup)
    assert intraday["days"].to_dict() == {False: 36, True: 55}
    # the reforecast helps the days the morning forecast missed, without hurting the others
    # (the goal of -15% on missed days is not reached here: see docs/forecast.md)
    assert intraday.loc[True, "change"] < -0.05
    assert intraday.loc[False, "change"] <= 0.02
