"""Baselines: weekly seasonal naive and the k-week seasonal average (always reported).

Both look up, for a target day, the latest same weekday observed before the origin (for a
horizon past one week that is two or more weeks back) and the weeks before it.
"""

from __future__ import annotations

import warnings

import numpy as np

from slarisk.forecast.series import QueueSeries


def lag_days(origin: int, horizon_days: int, weeks: int) -> np.ndarray:
    """(horizon_days, weeks) day indices of the 1st..k-th latest same weekday before origin."""
    d = origin + np.arange(horizon_days)
    first = d - 7 * ((d - origin) // 7 + 1)
    return first[:, None] - 7 * np.arange(weeks)[None, :]


def seasonal_lags(series: QueueSeries, origin: int, horizon_days: int, weeks: int) -> np.ndarray:
    """(horizon_days, weeks, slots) volumes of the same weekdays before origin (NaN = none)."""
    idx = lag_days(origin, horizon_days, weeks)
    ok = (idx >= 0) & (idx < min(origin, series.days))
    out = np.full((*idx.shape, series.slots), np.nan)
    out[ok] = series.volume[idx[ok]]
    return out


def seasonal_naive(series: QueueSeries, origin: int, horizon_days: int) -> np.ndarray:
    """(horizon_days, slots): the same interval of the latest same weekday before origin."""
    return np.nan_to_num(seasonal_lags(series, origin, horizon_days, 1)[:, 0, :])


def seasonal_average(
    series: QueueSeries, origin: int, horizon_days: int, weeks: int = 4
) -> np.ndarray:
    """(horizon_days, slots): mean of the same interval over the ``weeks`` latest weeks."""
    lags = seasonal_lags(series, origin, horizon_days, weeks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no lag at all: NaN, then 0
        mean = np.nanmean(lags, axis=1)
    return np.nan_to_num(mean)
