"""Fit, predict and read inputs: what the CLI and the service call.

``fit`` runs a rolling backtest over the latest weekly origins to choose the model or
combination, calibrate its bands and learn the intraday update rule; ``predict`` refits the
chosen models on all the history and writes the volume table that ``capacity requirements``
reads (``interval_start`` UTC, ``queue``, ``volume``, ``aht``) plus the bands.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from slarisk.data.io import read_table
from slarisk.errors import InputError
from slarisk.forecast.backtest import (
    BacktestConfig,
    BacktestResult,
    combine,
    origins_between,
    run_backtest,
)
from slarisk.forecast.baselines import lag_days
from slarisk.forecast.events import SpecialDays
from slarisk.forecast.intervals import LEVELS, Calibration, sample_paths
from slarisk.forecast.models import LAG_WEEKS, model_forecasts
from slarisk.forecast.reforecast import IntradayRule, day_samples, learn_rule
from slarisk.forecast.series import QueueSeries, tickets_to_table


@dataclass(frozen=True)
class FittedForecast:
    """What ``fit`` chose: the candidate, its calibration, the intraday rule, scores.

    ``intraday_weight`` is the rule's main weight of the morning ratio (for display)."""

    choice: str
    calibration: Calibration
    intraday_weight: float
    interval_minutes: int
    metrics: dict[str, float] = field(default_factory=dict)
    intraday: IntradayRule = field(default_factory=IntradayRule)

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "choice": self.choice,
            "calibration": self.calibration.to_dict(),
            "intraday_weight": self.intraday_weight,
            "interval_minutes": self.interval_minutes,
            "metrics": self.metrics,
            "intraday": self.intraday.to_dict(),
        }
        out.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> FittedForecast:
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                choice=str(body["choice"]),
                calibration=Calibration.from_dict(body["calibration"]),
                intraday_weight=float(body["intraday_weight"]),
                interval_minutes=int(body["interval_minutes"]),
                metrics=dict(body.get("metrics", {})),
                intraday=(
                    IntradayRule.from_dict(body["intraday"])
                    if "intraday" in body
                    else IntradayRule.of_weight(float(body["intraday_weight"]))
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a fitted forecast: {exc}", path=str(path)) from exc


def read_input(
    path: str | Path, *, value_column: str | None = None, by: Sequence[str] = ()
) -> pd.DataFrame:
    """A volume table from a file: canonical tickets (``created_at``; queues from ``by``), a
    volume table (``interval_start``, ``volume``) or any table with ``interval_start`` and a
    count column named by ``value_column`` (e.g. ``calls``)."""
    df = read_table(path)
    if "created_at" in df.columns and "interval_start" not in df.columns:
        df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
        return tickets_to_table(df, by)
    col = value_column or "volume"
    for need in ("interval_start", col):
        if need not in df.columns:
            raise InputError(
                f"no column {need!r} (have: {', '.join(map(str, df.columns))})", path=str(path)
            )
    out = pd.DataFrame(
        {
            "interval_start": pd.to_datetime(df["interval_start"]),
            "volume": pd.to_numeric(df[col], errors="coerce"),
        }
    )
    if by:
        missing = [c for c in by if c not in df.columns]
        if missing:
            raise InputError(f"no column(s) {', '.join(missing)}", path=str(path))
        out["queue"] = df[list(by)].astype(str).agg("|".join, axis=1)
    elif "queue" in df.columns:
        out["queue"] = df["queue"].astype(str)
    if "aht" in df.columns:
        out["aht"] = pd.to_numeric(df["aht"], errors="coerce")
    bad = out["volume"].isna() | (out["volume"] < 0)
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 1
        raise InputError(f"{col} is not a number >= 0", path=str(path), row=row, field=col)
    return out


def fit(
    series: Sequence[QueueSeries],
    days: SpecialDays,
    *,
    config: BacktestConfig = BacktestConfig(),
    origins: int | None = None,
    warmup: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[FittedForecast, BacktestResult]:
    """Backtest the latest ``origins`` weekly origins (after ``warmup`` earlier ones that
    only inform selection and calibration) and keep the choice.

    By default 6 origins and 2 warm-up for one queue; with more queues the residuals pool
    across queues, so fewer origins give as many: 3 origins and 1 warm-up from 4 queues on.
    """
    many = len(series) >= 4
    origins = origins if origins is not None else (3 if many else 6)
    warmup = warmup if warmup is not None else (1 if many else 2)
    end = series[0].start + pd.Timedelta(days=series[0].days - config.horizon_days)
    first = end - pd.Timedelta(days=config.step_days * (origins - 1))
    first = max(first, series[0].start + pd.Timedelta(days=7 * LAG_WEEKS + 7))
    picked = origins_between(series, first, end, config)
    if not picked:
        raise InputError("history too short to backtest: need about 7 weeks")
    result = run_backtest(series, picked, days, replace(config, warmup=warmup), progress)
    sel = result.metrics.set_index("model")
    rule = learn_rule(
        [
            s
            for frame in (result.warmup, result.forecasts)
            if len(frame)
            for _, s in day_samples(frame, series, days.off_days)
        ]
    )
    fitted = FittedForecast(
        choice=result.choice,
        calibration=result.calibration,
        intraday_weight=rule.main_weight,
        intraday=rule,
        interval_minutes=series[0].interval_minutes,
        metrics={f"wape_{m}": float(v) for m, v in sel["wape"].items()},
    )
    return fitted, result


def _aht_forecast(q: QueueSeries, origin: int, horizon_days: int) -> np.ndarray:
    """Volume-weighted mean handle time (s) of the same interval over the 4 latest weeks,
    else the queue's mean over the last 4 weeks (then over all history); NaN if none."""
    aht = np.where(q.aht > 0, q.aht, np.nan)  # 0 s handle times are not usable by Erlang
    idx = lag_days(origin, horizon_days, 4)
    ok = (idx >= 0) & (idx < min(origin, q.days))
    a = np.full((*idx.shape, q.slots), np.nan)
    w = np.zeros_like(a)
    a[ok] = aht[idx[ok]]
    w[ok] = np.nan_to_num(q.volume[idx[ok]])
    w = np.where(np.isfinite(a), w, 0.0)
    num = (np.nan_to_num(a) * w).sum(axis=1)
    den = w.sum(axis=1)
    overall = np.nan
    for recent in (aht[max(0, origin - 28) : origin], aht[:origin]):
        if np.isfinite(recent).any():
            overall = float(np.nanmean(recent))
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), overall)


def predict(
    series: Sequence[QueueSeries],
    days: SpecialDays,
    fitted: FittedForecast,
    *,
    horizon_days: int = 14,
    origin: pd.Timestamp | None = None,
    config: BacktestConfig = BacktestConfig(),
    paths: int = 0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Forecast table of the open intervals of ``horizon_days`` from ``origin`` (default: the
    day after the history) and, with ``paths`` > 0, simulated sample paths (long table)."""
    q0 = series[0]
    origin = origin or q0.start + pd.Timedelta(days=q0.days)
    models = tuple(dict.fromkeys(fitted.choice.split("+")))
    fc = model_forecasts(series, origin, horizon_days, days, models, config.gbm)
    fc[fitted.choice] = {q.queue: combine(fitted.choice, fc, q.queue) for q in series}
    frames, path_frames = [], []
    for q in series:
        o = q.day_index(origin)
        f = fc[fitted.choice][q.queue]
        dates = pd.date_range(origin, periods=horizon_days, freq="D")
        mask = q.open_for(dates, days.off_days)  # as build_series shut them with hours known
        hd = np.broadcast_to(np.arange(horizon_days)[:, None], f.shape)
        local = origin + pd.to_timedelta(np.arange(f.size) * q.interval_minutes, "min")
        start = pd.DatetimeIndex(local).tz_localize(q.tz, ambiguous="NaT", nonexistent="NaT")
        keep = mask.reshape(-1) & ~pd.isna(start)
        starts = start.tz_convert("UTC")[keep]
        rec: dict[str, object] = {
            "interval_start": starts,
            "queue": q.queue,
            "volume": f.reshape(-1)[keep],
        }
        aht = _aht_forecast(q, o, horizon_days).reshape(-1)[keep]
        if np.isfinite(aht).any():
            rec["aht"] = aht
        for lv in LEVELS:
            lo, hi = fitted.calibration.bounds(f, hd, lv)
            rec[f"lo{lv}"], rec[f"hi{lv}"] = lo.reshape(-1)[keep], hi.reshape(-1)[keep]
        rec["horizon_day"] = hd.reshape(-1)[keep] + 1
        rec["model"] = fitted.choice
        frames.append(pd.DataFrame(rec))
        if paths > 0:
            sims = sample_paths(f, fitted.calibration, paths, seed).reshape(paths, -1)[:, keep]
            path_frames.append(
                pd.DataFrame(
                    {
                        "path": np.repeat(np.arange(paths), int(keep.sum())),
                        "interval_start": np.tile(starts.to_numpy(), paths),
                        "queue": q.queue,
                        "volume": sims.reshape(-1),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    return table, (pd.concat(path_frames, ignore_index=True) if path_frames else None)
