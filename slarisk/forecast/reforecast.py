"""Intraday reforecast: update the rest of today from the arrivals seen so far.

The rest of the day is the morning forecast times ``(arrived / expected so far) ** weight``,
clipped to [1/2, 2]. The ``weight`` (0..1) is learned from backtest days: the least-squares
slope of the log rest-of-day ratio on the log ratio so far. Where mornings do not predict
afternoons it is near 0 and the update stays near the morning forecast; where a surge
carries through the day it is near 1. ``factor`` says how far the day runs from forecast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slarisk.forecast.backtest import SELECTED

#: bounds of the update factor.
FACTOR_BOUNDS = (0.5, 2.0)


@dataclass(frozen=True)
class Reforecast:
    """Updated day forecast and how far the day runs from the morning forecast."""

    forecast: np.ndarray  # (slots,) counts: arrivals for known slots, updated expectation after
    factor: float  # update factor of the rest of day (1.12 = 12% above the morning forecast)
    running: float  # arrivals so far / morning forecast of the same intervals
    arrived: float
    expected: float


def reforecast_day(morning: np.ndarray, arrivals: np.ndarray, weight: float) -> Reforecast:
    """Update ``morning`` (slots,) given ``arrivals`` of its first ``len(arrivals)`` slots."""
    n = len(arrivals)
    arrived = float(np.sum(arrivals))
    expected = float(np.sum(morning[:n]))
    running = (arrived + 1.0) / (expected + 1.0)
    factor = float(np.clip(running ** float(np.clip(weight, 0, 1)), *FACTOR_BOUNDS))
    out = morning.astype(float) * factor
    out[:n] = arrivals
    return Reforecast(out, factor, running, arrived, expected)


def _days(
    forecasts: pd.DataFrame, share: float
) -> Iterator[tuple[pd.Timestamp, np.ndarray, np.ndarray, int]]:
    frame = forecasts.assign(day=forecasts["interval_start"].dt.normalize())
    for _, g in frame.groupby(["origin", "queue", "day"], sort=False):
        y = g["actual"].to_numpy(float)
        f = g[SELECTED].to_numpy(float)
        if y.sum() <= 0 or f.sum() <= 0:
            continue
        cut = int(np.searchsorted(np.cumsum(y), share * y.sum())) + 1
        if cut < len(y):
            yield pd.Timestamp(g["origin"].iloc[0]), y, f, cut


def fit_weight(samples: list[tuple[float, float]]) -> float:
    """Slope (0..1) of log rest-of-day ratio on log ratio so far, through the origin."""
    if not samples:
        return 0.0
    x, z = np.log(np.array(samples)).T
    den = float(np.sum(x * x))
    return float(np.clip(np.sum(x * z) / den, 0, 1)) if den > 0 else 0.0


def learn_weight(forecasts: pd.DataFrame, share: float = 0.25) -> float:
    """The update weight learned on all backtest days of ``forecasts``."""
    return fit_weight(_samples(forecasts, share))


def _samples(forecasts: pd.DataFrame, share: float) -> list[tuple[float, float]]:
    out = []
    for _, y, f, cut in _days(forecasts, share):
        so_far = (y[:cut].sum() + 1) / (f[:cut].sum() + 1)
        rest = (y[cut:].sum() + 1) / (f[cut:].sum() + 1)
        out.append((so_far, rest))
    return out


def intraday_evaluation(
    forecasts: pd.DataFrame, *, share: float = 0.25, off: float = 0.10
) -> pd.DataFrame:
    """Rest-of-day WAPE before/after reforecasting once ``share`` of the day's volume has
    arrived, for backtest days whose morning forecast was off by more than ``off`` and for
    the others. Each day's weight is learned on earlier origins' days only."""
    rows = []
    past: list[tuple[float, float]] = []
    current: pd.Timestamp | None = None
    pending: list[tuple[float, float]] = []
    for origin, y, f, cut in _days(forecasts, share):
        if origin != current:
            past += pending
            current, pending = origin, []
        upd = reforecast_day(f, y[:cut], fit_weight(past))
        pending.append(
            ((y[:cut].sum() + 1) / (f[:cut].sum() + 1), (y[cut:].sum() + 1) / (f[cut:].sum() + 1))
        )
        rows.append(
            {
                "off_day": abs(y.sum() / f.sum() - 1) > off,
                "actual": y[cut:].sum(),
                "err_morning": np.abs(f[cut:] - y[cut:]).sum(),
                "err_reforecast": np.abs(upd.forecast[cut:] - y[cut:]).sum(),
            }
        )
    days = pd.DataFrame(rows)
    out = days.groupby("off_day")[["actual", "err_morning", "err_reforecast"]].sum()
    out["days"] = days.groupby("off_day").size()
    out["wape_morning"] = out["err_morning"] / out["actual"]
    out["wape_reforecast"] = out["err_reforecast"] / out["actual"]
    out["change"] = out["wape_reforecast"] / out["wape_morning"] - 1
    return out[["days", "wape_morning", "wape_reforecast", "change"]]
