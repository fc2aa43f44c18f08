"""Demand forecasting: backtest, fit and predict times on synthetic 30-minute counts.

Poisson counts from a weekly profile with a slow trend and a few holiday dips, one to 50
queues. Goals (from the forecasting issue): a 13-origin backtest of one queue (6 months of
history, plus the 4 warm-up origins the backtest adds) in <= 30 s; `fit` (a 6-origin
selection backtest plus warm-up) and a 14-day `predict` on 2 years of one queue in <= 10 s;
the same for 50 queues in <= 2 minutes (``--quick``: 10 queues, the goal scaled to 24 s).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-01-07")  # a Sunday


def _table(weeks: int, queues: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    slots = 48
    hours = (np.arange(slots) + 0.5) / 2
    day = np.where((hours >= 7) & (hours < 23), 1 + 0.7 * np.sin((hours - 7) / 16 * np.pi), 0)
    level = np.array([1.0, 0.95, 0.95, 0.9, 0.9, 0.35, 0.1])  # Mon..Sun
    dates = pd.date_range(START, periods=7 * weeks, freq="D")
    trend = 1 + 0.15 * np.arange(len(dates)) / len(dates)
    dips = np.ones(len(dates))
    dips[rng.choice(len(dates), size=len(dates) // 60, replace=False)] = 0.2
    frames = []
    for q in range(queues):
        scale = 10 + 40 * rng.random()
        lam = scale * (level[dates.day_of_week.to_numpy()] * trend * dips)[:, None] * day
        frames.append(
            pd.DataFrame(
                {
                    "interval_start": pd.date_range(START, periods=lam.size, freq="30min"),
                    "queue": f"q{q:02d}",
                    "volume": rng.poisson(lam.reshape(-1)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(quick: bool = False) -> dict[str, Any]:
    """Time the three forecast workloads; print a table with each goal."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.forecast.backtest import BacktestConfig, origins_between, run_backtest
    from slarisk.forecast.events import SpecialDays
    from slarisk.forecast.pipeline import fit, predict
    from slarisk.forecast.series import build_series

    days = SpecialDays()
    cfg = BacktestConfig()
    rows: list[tuple[str, float, float]] = []

    one = build_series(_table(26 + 13, 1), interval_minutes=30)
    first = one[0].start + pd.Timedelta(weeks=26)
    origins = origins_between(one, first, first + pd.Timedelta(weeks=12), cfg)
    t, res = _timed(lambda: run_backtest(one, origins, days, cfg))
    rows.append((f"backtest {len(origins)} origins, 1 queue, 39 weeks", t, 30.0))

    two_years = build_series(_table(104, 1), interval_minutes=30)

    def fit_predict(series: list) -> Any:
        fitted, _ = fit(series, days, config=cfg)
        return predict(series, days, fitted, horizon_days=14, config=cfg)

    t, _ = _timed(lambda: fit_predict(two_years))
    rows.append(("fit + predict 14 days, 1 queue, 2 years", t, 10.0))

    n = 10 if quick else 50
    many = build_series(_table(104, n), interval_minutes=30)
    t, (table, _) = _timed(lambda: fit_predict(many))
    rows.append((f"fit + predict 14 days, {n} queues, 2 years", t, 120.0 * n / 50))

    out = Table(title="Forecast timings (seconds)")
    for col in ("workload", "seconds", "goal", "met"):
        out.add_column(col, justify="left" if col == "workload" else "right")
    for name, secs, goal in rows:
        out.add_row(name, f"{secs:.1f}", f"{goal:.0f}", "yes" if secs <= goal else "NO")
    console = Console()
    console.print(out)
    wape = float(res.metrics.set_index("model").loc["selected", "wape"])
    console.print(f"backtest selected WAPE {wape:.3f}; {len(table)} forecast rows for {n} queues")
    return {
        name: {"seconds": round(secs, 2), "goal_seconds": goal, "met": secs <= goal}
        for name, secs, goal in rows
    }
