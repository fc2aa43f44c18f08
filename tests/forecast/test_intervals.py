"""Calibrated bands and sample paths on data of known dispersion."""

from __future__ import annotations

import numpy as np

from slarisk.forecast.intervals import Calibration, calibrate, coverage, sample_paths


def _gamma_poisson(rng: np.random.Generator, f: np.ndarray, alpha: float) -> np.ndarray:
    return rng.poisson(f * rng.gamma(1 / alpha, alpha, size=f.shape))


def test_calibrated_bands_cover_nominally_on_fresh_data() -> None:
    rng = np.random.default_rng(1)
    f = rng.uniform(5, 80, size=20_000)
    hz = rng.integers(0, 7, size=f.size)
    y = _gamma_poisson(rng, f, 0.04)
    cal = calibrate(y, f, hz, np.zeros(0), np.zeros(0))
    assert 0.02 < cal.alpha < 0.06
    y2 = _gamma_poisson(rng, f, 0.04)
    for level, lo_ok, hi_ok in ((80, 0.77, 0.83), (95, 0.935, 0.965)):
        lo, hi = cal.bounds(f, hz, level)
        assert lo_ok <= coverage(y2, lo, hi) <= hi_ok


def test_uncalibrated_bands_are_poisson() -> None:
    f = np.full(5000, 50.0)
    rng = np.random.default_rng(2)
    lo, hi = Calibration().bounds(f, np.zeros(5000, dtype=int), 95)
    assert 0.93 <= coverage(rng.poisson(f), lo, hi) <= 0.97


def test_calibration_round_trips_through_a_dict() -> None:
    rng = np.random.default_rng(3)
    f = rng.uniform(5, 50, size=3000)
    cal = calibrate(rng.poisson(f), f, rng.integers(0, 7, 3000), f[:10], f[:10])
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_sample_paths_mean_and_day_correlation() -> None:
    f = np.full((7, 10), 20.0)
    cal = Calibration(alpha=0.05, alpha_day=0.04)
    paths = sample_paths(f, cal, 4000, seed=4)
    assert paths.shape == (4000, 7, 10)
    assert abs(paths.mean() / 20.0 - 1) < 0.01
    day = paths.sum(axis=2)  # variance of day totals: Poisson plus the shared factor
    assert day.var() > 200 * 1.5
