"""Round trip: Poisson counts from a known weekly profile; the backtest recovers the profile,
reaches near the Poisson floor, covers nominally, and the baselines score as computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.forecast.backtest import (
    SELECTED,
    BacktestConfig,
    candidate_names,
    origins_between,
    poisson_mad,
    run_backtest,
)
from slarisk.forecast.events import SpecialDays
from slarisk.forecast.series import build_series
from tests.forecast.synthetic import START, poisson_table


@pytest.fixture(scope="module")
def result():
    table, lam = poisson_table(weeks=14, interval_minutes=60, seed=5)
    series = build_series(table, interval_minutes=60)
    cfg = BacktestConfig(warmup=3)
    origins = origins_between(
        series, START + pd.Timedelta(weeks=10), START + pd.Timedelta(weeks=13), cfg
    )
    res = run_backtest(series, origins, SpecialDays(), cfg)
    truth = pd.Series(lam, index=pd.date_range(START, periods=lam.size, freq="60min"))
    return res, truth


def test_poisson_mad_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    for lam in (0.3, 4.0, 37.5):
        sim = np.abs(rng.poisson(lam, 200_000) - lam).mean()
        assert poisson_mad(np.array([lam]))[0] == pytest.approx(sim, rel=0.02)


def test_candidates_are_models_and_their_means() -> None:
    names = candidate_names(("naive", "avg4", "ets", "lgbm"))
    assert names == ["ets", "lgbm", "ets+lgbm"]


def test_selected_forecast_recovers_the_profile(result) -> None:
    res, truth = result
    f = res.forecasts
    lam = truth.reindex(f["interval_start"]).to_numpy()
    err = np.abs(f[SELECTED].to_numpy() - lam).sum() / lam.sum()
    assert err < 0.08, err
    assert res.summary["floor_ratio"] < 1.25
    m = res.metrics.set_index("model")
    assert m.loc[SELECTED, "wape"] < m.loc["naive", "wape"] * 0.85
    assert abs(m.loc[SELECTED, "bias"]) < 0.03


def test_bands_cover_nominally(result) -> None:
    res, _ = result
    assert 0.72 <= res.summary["coverage80"] <= 0.88
    assert 0.90 <= res.summary["coverage95"] <= 0.985


def test_baseline_metrics_are_the_hand_computed_wape(result) -> None:
    res, _ = result
    f = res.forecasts
    wape = np.abs(f["naive"] - f["actual"]).sum() / f["actual"].sum()
    assert res.metrics.set_index("model").loc["naive", "wape"] == pytest.approx(wape)
    # origins are Mondays: horizon day 7 is a Sunday, closed, so it has no open interval
    assert res.summary["origins"] == 4 and set(res.by_horizon.index) == set(range(1, 7))


def test_day_table_flags_days_outside_the_band(result) -> None:
    res, _ = result
    d = res.days
    outside = (d["actual"] < d["band_lo"]) | (d["actual"] > d["band_hi"])
    assert (d["flag"] == outside).all()
    assert d["reason"].str.len().gt(0).all()
