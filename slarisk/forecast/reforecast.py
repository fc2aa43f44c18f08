"""Intraday reforecast: update the rest of today from the arrivals seen so far.

The rest of the day is the morning forecast times ``exp(weight * x)`` where ``x`` is the log
of (arrived + 1) / (expected so far + 1), clipped to +-``MAX_LOG_RATIO`` (a day whose shape
differs, like a holiday eve closing early, must not blow the update up). The ``weight`` (0..1)
is learned from backtest days: the least-squares slope of the log rest-of-day ratio on ``x``.
Where mornings do not predict afternoons it is near 0 and the update stays near the morning
forecast; where a surge carries through the day it is near 1. ``factor`` says how far the
day runs from forecast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slarisk.forecast.backtest import SELECTED

#: bound of the log running ratio used (0.3: the update moves the rest of day by <= 35%).
MAX_LOG_RATIO = 0.3


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
    x = float(np.clip(np.log(running), -MAX_LOG_RATIO, MAX_LOG_RATIO))
    factor = float(np.exp(float(np.clip(weight, 0, 1)) * x))
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
    x = np.clip(x, -MAX_LOG_RATIO, MAX_LOG_RATIO)
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


def reforecast_table(
    forecast: pd.DataFrame,
    arrivals: pd.DataFrame,
    now: pd.Timestamp,
    weight: float,
    *,
    tz: str = "UTC",
    interval_minutes: int = 30,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Update today's rows of a forecast table from the arrivals before ``now``.

    ``forecast``: ``interval_start`` (UTC), ``queue``, ``volume`` (a `forecast predict`
    table); ``arrivals``: ``interval_start``, ``volume``, optional ``queue``. Today is the
    local day of ``now``; intervals starting before ``now`` count as arrived. Returns the
    updated rows of today (``volume`` updated, ``morning`` the original, ``arrived``) and a
    per-queue summary (arrived, expected so far, running ratio, factor of the rest of day).
    """
    now_utc = pd.Timestamp(now)
    now_utc = now_utc.tz_localize(tz) if now_utc.tzinfo is None else now_utc
    now_utc = now_utc.tz_convert("UTC")
    local_day = now_utc.tz_convert(tz).normalize()
    lo, hi = local_day.tz_convert("UTC"), (local_day + pd.Timedelta(days=1)).tz_convert("UTC")
    fc = forecast.copy()
    fc["interval_start"] = pd.to_datetime(fc["interval_start"], utc=True)
    fc["volume"] = pd.to_numeric(fc["volume"])
    today = fc[(fc["interval_start"] >= lo) & (fc["interval_start"] < hi)]
    arr = arrivals.copy()
    arr["volume"] = pd.to_numeric(arr["volume"])
    ts = pd.to_datetime(arr["interval_start"])
    ts = ts.dt.tz_localize(tz) if ts.dt.tz is None else ts
    arr["interval_start"] = ts.dt.tz_convert("UTC").dt.floor(f"{interval_minutes}min")
    if "queue" not in arr.columns:
        arr["queue"] = "all"
    arr = arr[(arr["interval_start"] >= lo) & (arr["interval_start"] < now_utc)]
    counts = arr.groupby(["queue", "interval_start"])["volume"].sum()
    rows, summary = [], []
    for queue, g in today.sort_values("interval_start").groupby("queue", sort=True):
        g = g.copy()
        known = (g["interval_start"] + pd.Timedelta(minutes=interval_minutes)) <= now_utc
        got = np.array([float(counts.get((queue, t), 0.0)) for t in g.loc[known, "interval_start"]])
        upd = reforecast_day(g["volume"].to_numpy(float), got, weight)
        g["morning"] = g["volume"]
        g["arrived"] = np.where(known, np.pad(got, (0, int((~known).sum()))), np.nan)
        g["volume"] = upd.forecast
        rows.append(g)
        summary.append(
            {
                "queue": queue,
                "arrived": upd.arrived,
                "expected_so_far": upd.expected,
                "running": upd.running,
                "rest_factor": upd.factor,
                "day_morning": float(g["morning"].sum()),
                "day_updated": float(g["volume"].sum()),
            }
        )
    out = pd.concat(rows, ignore_index=True) if rows else today.assign(morning=np.nan)
    return out, pd.DataFrame(summary)
