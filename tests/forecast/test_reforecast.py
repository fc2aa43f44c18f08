"""Intraday reforecast: the update follows the running ratio by the learned weight."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slarisk.forecast.backtest import SELECTED
from slarisk.forecast.intervals import Calibration
from slarisk.forecast.pipeline import FittedForecast
from slarisk.forecast.reforecast import (
    MAX_LOG_RATIO,
    DaySample,
    IntradayRule,
    intraday_evaluation,
    learn_rule,
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


def _samples(
    rng: np.random.Generator, n: int, slope: float, level: float = 50.0
) -> list[DaySample]:
    """Days of 20 intervals whose morning (first 5) runs at exp(x) and rest at exp(slope x)."""
    out = []
    for k in range(n):
        x = rng.normal(0, 0.12)
        rate = np.full(20, level)
        actual = np.concatenate(
            [rng.poisson(rate[:5] * np.exp(x)), rng.poisson(rate[5:] * np.exp(slope * x))]
        ).astype(float)
        out.append(DaySample(k % 5, actual, rate, 5))
    return out


def test_learn_rule_recovers_the_weight_and_keeps_plain_days() -> None:
    rng = np.random.default_rng(1)
    # large counts: the Poisson noise of the morning barely shrinks the slope (by ~3%)
    rule = learn_rule(_samples(rng, 200, 0.7, level=400.0))
    assert set(rule.weights) == {0, 1, 2, 3, 4}
    assert rule.weights[0][0] == pytest.approx(0.7, abs=0.08)
    assert rule.weights[0][1] == 0.0  # no earlier days: no signal
    flat = learn_rule(_samples(rng, 200, 0.0))
    assert flat.weights[0][0] < 0.15
    # small counts: the morning's Poisson noise shrinks the weight towards 0 (empirical Bayes:
    # 0.7 x var(x) / (var(x) + 1 / 250 expected calls) = 0.55)
    noisy = learn_rule(_samples(rng, 400, 0.7))
    assert 0.4 < noisy.weights[0][0] < 0.62
    assert learn_rule([]) == IntradayRule()


def test_learn_rule_rejects_mornings_that_do_not_carry_on() -> None:
    """Mornings 4x the forecast (a spike at opening) followed by an ordinary rest teach the
    rule to ignore mornings that far off, while ordinary surges still carry on."""
    rng = np.random.default_rng(2)
    days = _samples(rng, 120, 0.8)
    rate = np.full(20, 50.0)
    for k in range(20):
        actual = rng.poisson(rate).astype(float)
        actual[:5] *= 4
        days.append(DaySample(k % 5, actual, rate, 5))
    rule = learn_rule(days)
    assert rule.reject < 2.0
    assert rule.weights[0][0] > 0.5
    spike = DaySample(0, np.concatenate([np.full(5, 200.0), np.full(15, 50.0)]), rate, 5)
    np.testing.assert_allclose(spike.update(rule), rate[5:])


def test_earlier_days_and_the_weekday_profile_update_the_rest() -> None:
    morning = np.full(10, 10.0)
    rule = IntradayRule(weights={0: (0.0, 1.0)}, shape=0.5)
    upd = reforecast_day(morning, np.array([10.0, 10.0]), rule, weekday=0, previous=(119.0, 99.0))
    assert upd.factor == pytest.approx(1.2)  # earlier days ran 20% above the forecast
    np.testing.assert_allclose(upd.forecast[2:], 12.0)
    profile = np.array([1, 1, 1, 1, 1, 1, 3, 3, 3, 3], dtype=float)
    upd = reforecast_day(morning, np.array([10.0, 10.0]), rule, weekday=0, profile=profile)
    assert upd.factor == 1.0
    assert upd.forecast[2:].sum() == pytest.approx(80.0)  # the level is the forecast's
    np.testing.assert_allclose(upd.forecast[2:6], 0.5 * 10 + 0.5 * 80 * 1 / 16)
    np.testing.assert_allclose(upd.forecast[6:], 0.5 * 10 + 0.5 * 80 * 3 / 16)
    other = reforecast_day(morning, np.array([10.0, 10.0]), rule, weekday=3, previous=(119, 99))
    assert other.factor == 1.0  # no weights for Thursday: the default (no update)


def test_rule_round_trips_and_old_fitted_files_load(tmp_path: Path) -> None:
    rule = IntradayRule(weights={0: (0.5, 0.25), 6: (0.4, 0.0)}, reject=2.0, shape=0.5)
    assert IntradayRule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    plain = IntradayRule(weights={1: (0.3, 0.1)})
    assert IntradayRule.from_dict(json.loads(json.dumps(plain.to_dict()))) == plain
    old = {
        "choice": "ets",
        "calibration": Calibration().to_dict(),
        "intraday_weight": 0.4,
        "interval_minutes": 30,
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert FittedForecast.load(path).intraday == IntradayRule.of_weight(0.4)


def test_reforecast_table_uses_earlier_days_and_past_weeks() -> None:
    """Three past Mondays make the profile (busy afternoons); yesterday ran 20% above the
    forecast; today's morning is on forecast."""
    hours = pd.date_range("2026-03-02 08:00", periods=10, freq="60min", tz="UTC")
    past = [hours - pd.Timedelta(weeks=w) for w in (1, 2, 3)]
    shape = np.array([5, 5, 5, 5, 5, 15, 15, 15, 15, 15], dtype=float)
    yesterday = hours - pd.Timedelta(days=1)
    arrivals = pd.DataFrame(
        {
            "interval_start": np.concatenate([*past, yesterday, hours[:3]]),
            "volume": np.concatenate([shape, shape, shape, np.full(10, 12.0), np.full(3, 10.0)]),
        }
    )
    fc = pd.DataFrame({"interval_start": yesterday.append(hours), "queue": "all", "volume": 10.0})
    rule = IntradayRule(weights={0: (1.0, 1.0)}, shape=0.5)
    table, summary = reforecast_table(
        fc, arrivals, pd.Timestamp("2026-03-02 11:00", tz="UTC"), rule, interval_minutes=60
    )
    factor = 121 / 101  # yesterday's (120 + 1) / (100 + 1); today's morning ratio is 1
    assert summary["rest_factor"].iloc[0] == pytest.approx(factor)
    rest = table["volume"].to_numpy()[3:]
    assert rest.sum() == pytest.approx(70 * factor)
    assert rest[-1] > rest[0]  # the profile's busy afternoon
    plain, _ = reforecast_table(
        fc, arrivals, pd.Timestamp("2026-03-02 11:00", tz="UTC"), 1.0, interval_minutes=60
    )
    np.testing.assert_allclose(plain["volume"].to_numpy()[3:], 10.0 * 31 / 31)


def test_evaluation_learns_on_earlier_origins_only() -> None:
    """One origin: nothing earlier to learn from, so the reforecast equals the morning."""
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2026-03-02")
    rows = []
    for d in range(7):
        t = start + pd.Timedelta(days=d) + pd.to_timedelta(np.arange(8, 18), "h")
        rows.append(
            pd.DataFrame(
                {
                    "origin": start,
                    "queue": "q",
                    "interval_start": t,
                    "actual": rng.poisson(30, 10).astype(float),
                    SELECTED: 20.0,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    out = intraday_evaluation(frame)
    np.testing.assert_allclose(out["wape_reforecast"], out["wape_morning"])
    later = frame.assign(origin=start + pd.Timedelta(days=7))
    later["interval_start"] += pd.Timedelta(days=7)
    out = intraday_evaluation(later, warmup=frame)
    assert (out["change"] < -0.1).all()  # learned on the warm-up: mornings run 50% high
