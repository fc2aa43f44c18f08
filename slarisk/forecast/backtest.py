"""Rolling-origin backtest: metrics per model and horizon, the Poisson floor, selection.

At each origin every model is fitted on the history before it and forecasts ``horizon_days``.
Candidates are the non-baseline models and the equal-weight means of their subsets; at each
origin the candidate with the lowest WAPE over all earlier origins (warm-up origins first) is
the ``selected`` forecast, and its bands are calibrated on its residuals at the latest
``calibration_origins`` of them (:mod:`slarisk.forecast.intervals`). Nothing of an origin's own
future is used for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from slarisk.forecast.events import SpecialDays, day_features
from slarisk.forecast.intervals import LEVELS, Calibration, calibrate, coverage
from slarisk.forecast.models import BASELINES, DEFAULT_MODELS, GbmParams, model_forecasts
from slarisk.forecast.series import QueueSeries

SELECTED = "selected"


@dataclass(frozen=True)
class BacktestConfig:
    """Horizon, spacing of origins, warm-up origins (selection/calibration only), models."""

    horizon_days: int = 7
    step_days: int = 7
    warmup: int = 4
    calibration_origins: int = 6  # bands use the latest 6 earlier origins: they follow drift
    models: tuple[str, ...] = DEFAULT_MODELS
    gbm: GbmParams = field(default_factory=GbmParams)


@dataclass(frozen=True)
class BacktestResult:
    """Forecasts and scores of the evaluated origins (warm-up origins excluded)."""

    forecasts: pd.DataFrame  # one row per (origin, queue, open interval)
    metrics: pd.DataFrame  # per model: wape, bias, ratios to the baselines
    by_horizon: pd.DataFrame  # WAPE per horizon day (rows) and model (columns)
    days: pd.DataFrame  # per (origin, queue, day): totals, error, band, flag, reason
    summary: dict  # coverage, Poisson floor, selection counts
    choice: str  # candidate selected with all origins' evidence (for predict)
    calibration: Calibration  # its calibration on all origins
    #: the warm-up origins' rows (origin, queue, interval_start, horizon_day, actual, selected:
    #: the candidate chosen on the origins before each), e.g. to learn intraday updates
    warmup: pd.DataFrame = field(default_factory=pd.DataFrame)


def candidate_names(models: Sequence[str]) -> list[str]:
    """Non-baseline models and '+'-joined equal-weight combinations of them."""
    base = [m for m in models if m not in BASELINES]
    out = list(base)
    for k in range(2, len(base) + 1):
        out += ["+".join(c) for c in combinations(base, k)]
    return out


def combine(name: str, fc: dict[str, dict[str, np.ndarray]], queue: str) -> np.ndarray:
    parts = name.split("+")
    return np.mean([fc[p][queue] for p in parts], axis=0)


def poisson_mad(lam: np.ndarray) -> np.ndarray:
    """E|N - lam| for N ~ Poisson(lam): 2 lam pmf(floor(lam); lam)."""
    lam = np.maximum(lam, 0.0)
    return 2 * lam * stats.poisson.pmf(np.floor(lam), lam)


def origins_between(
    series: Sequence[QueueSeries], first: pd.Timestamp, last: pd.Timestamp, config: BacktestConfig
) -> list[pd.Timestamp]:
    """Origins first, first + step, ... <= last whose whole horizon is observed."""
    end = series[0].start + pd.Timedelta(days=series[0].days)
    out, t = [], pd.Timestamp(first).normalize()
    while t <= last and t + pd.Timedelta(days=config.horizon_days) <= end:
        out.append(t)
        t += pd.Timedelta(days=config.step_days)
    return out


def _wape(err: float, den: float) -> float:
    return err / den if den > 0 else float("nan")


def run_backtest(
    series: Sequence[QueueSeries],
    origins: Sequence[pd.Timestamp],
    days: SpecialDays,
    config: BacktestConfig = BacktestConfig(),
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Backtest ``origins`` (evaluated) after ``config.warmup`` earlier warm-up origins."""
    if not origins:
        raise ValueError("no backtest origin")
    h = config.horizon_days
    step = pd.Timedelta(days=config.step_days)
    min_start = series[0].start + pd.Timedelta(days=42)
    warm = [origins[0] - step * k for k in range(config.warmup, 0, -1)]
    warm = [o for o in warm if o >= min_start]
    all_origins = [*warm, *origins]
    cands = candidate_names(config.models)
    runs = []
    for i, origin in enumerate(all_origins):
        if progress:
            progress(f"origin {origin.date()} ({i + 1}/{len(all_origins)})")
        fc = model_forecasts(series, origin, h, days, config.models, config.gbm)
        for c in cands:
            if "+" in c:
                fc[c] = {q.queue: combine(c, fc, q.queue) for q in series}
        ys, ms = {}, {}
        for q in series:
            o = q.day_index(origin)
            y = q.volume[o : o + h]
            ys[q.queue] = y
            ms[q.queue] = q.open_mask[o : o + h] & np.isfinite(y)
        runs.append((origin, fc, ys, ms))

    def pooled(idx: Sequence[int], name: str) -> tuple[np.ndarray, ...]:
        yy, ff, hh, dy, df = [], [], [], [], []
        for i in idx:
            _, fc, ys, ms = runs[i]
            for q in series:
                m = ms[q.queue]
                f, y = fc[name][q.queue], ys[q.queue]
                yy.append(y[m])
                ff.append(f[m])
                hh.append(np.broadcast_to(np.arange(h)[:, None], m.shape)[m])
                dy.append(np.where(m, y, 0).sum(axis=1))
                df.append(np.where(m, f, 0).sum(axis=1))
        return tuple(np.concatenate(a) if a else np.zeros(0) for a in (yy, ff, hh, dy, df))

    def choose(upto: int) -> tuple[str, Calibration]:
        if upto == 0:
            return cands[0] if cands else config.models[0], Calibration()
        scores = {}
        for c in cands:
            y, f, *_ = pooled(range(upto), c)
            scores[c] = _wape(float(np.abs(f - y).sum()), float(y.sum()))
        best = min(scores, key=lambda c: scores[c])
        y, f, hz, dy, df = pooled(range(max(0, upto - config.calibration_origins), upto), best)
        return best, calibrate(y, f, hz, dy, df)

    rows, chosen = [], []
    n_warm = len(warm)
    for i in range(n_warm, len(runs)):
        origin, fc, ys, ms = runs[i]
        best, cal = choose(i)
        chosen.append(best)
        for q in series:
            f = fc[best][q.queue]
            hd = np.broadcast_to(np.arange(h)[:, None], f.shape)
            bands = {lv: cal.bounds(f, hd, lv) for lv in LEVELS}
            m = ms[q.queue]
            start = origin + pd.to_timedelta(np.arange(h * q.slots) * q.interval_minutes, "min")
            rec = {
                "origin": origin,
                "queue": q.queue,
                "interval_start": start[m.reshape(-1)],
                "horizon_day": hd[m] + 1,
                "actual": ys[q.queue][m],
                **{name: fc[name][q.queue][m] for name in config.models},
                SELECTED: f[m],
                "choice": best,
                "alpha_day": cal.alpha_day,
                **{f"lo{lv}": bands[lv][0][m] for lv in LEVELS},
                **{f"hi{lv}": bands[lv][1][m] for lv in LEVELS},
            }
            rows.append(pd.DataFrame(rec))
            rows[-1].attrs["alpha_day"] = cal.alpha_day
    frame = pd.concat(rows, ignore_index=True)
    final_choice, final_cal = choose(len(runs))
    alpha_days = [r.attrs["alpha_day"] for r in rows]
    result = _score(frame, config, series, days, chosen, final_choice, final_cal, alpha_days, rows)
    return replace(
        result, warmup=_warmup_rows(runs[:n_warm], [choose(i)[0] for i in range(n_warm)], series, h)
    )


def _warmup_rows(
    runs: Sequence[tuple], chosen: Sequence[str], series: Sequence[QueueSeries], h: int
) -> pd.DataFrame:
    """Actual and selected forecast of the warm-up origins' open intervals."""
    parts = []
    for (origin, fc, ys, ms), best in zip(runs, chosen, strict=True):
        for q in series:
            m = ms[q.queue]
            start = origin + pd.to_timedelta(np.arange(h * q.slots) * q.interval_minutes, "min")
            hd = np.broadcast_to(np.arange(h)[:, None], m.shape)
            parts.append(
                pd.DataFrame(
                    {
                        "origin": origin,
                        "queue": q.queue,
                        "interval_start": start[m.reshape(-1)],
                        "horizon_day": hd[m] + 1,
                        "actual": ys[q.queue][m],
                        SELECTED: fc[best][q.queue][m],
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _score(
    frame: pd.DataFrame,
    config: BacktestConfig,
    series: Sequence[QueueSeries],
    days: SpecialDays,
    chosen: list[str],
    final_choice: str,
    final_cal: Calibration,
    alpha_days: list[float],
    parts: list[pd.DataFrame],
) -> BacktestResult:
    names = [*config.models, SELECTED]
    y = frame["actual"].to_numpy()
    den = float(y.sum())
    metrics = pd.DataFrame(
        {
            "model": names,
            "wape": [_wape(float(np.abs(frame[n] - y).sum()), den) for n in names],
            "bias": [float((frame[n] - y).sum()) / den if den else np.nan for n in names],
        }
    )
    for b in BASELINES:
        if b in config.models:
            ref = float(metrics.loc[metrics["model"] == b, "wape"].iloc[0])
            metrics[f"vs_{b}"] = metrics["wape"] / ref if ref > 0 else np.nan
    by_h = frame.groupby("horizon_day")[["actual", *names]].apply(
        lambda g: pd.Series(
            {
                n: _wape(float(np.abs(g[n] - g["actual"]).sum()), float(g["actual"].sum()))
                for n in names
            }
        )
    )
    floor = float(poisson_mad(frame[SELECTED].to_numpy()).sum()) / float(frame[SELECTED].sum())
    sel_wape = float(metrics.loc[metrics["model"] == SELECTED, "wape"].iloc[0])
    summary = {
        "origins": int(frame["origin"].nunique()),
        "queues": int(frame["queue"].nunique()),
        "intervals": len(frame),
        "coverage80": coverage(y, frame["lo80"].to_numpy(), frame["hi80"].to_numpy()),
        "coverage95": coverage(y, frame["lo95"].to_numpy(), frame["hi95"].to_numpy()),
        "poisson_floor": floor,
        "floor_ratio": sel_wape / floor if floor > 0 else float("nan"),
        "choices": pd.Series(chosen).value_counts().to_dict(),
        "final_choice": final_choice,
    }
    return BacktestResult(
        forecasts=frame,
        metrics=metrics,
        by_horizon=pd.DataFrame(by_h),
        days=_day_table(parts, alpha_days, series, days),
        summary=summary,
        choice=final_choice,
        calibration=final_cal,
    )


def _reason(row: pd.Series) -> str:
    why = []
    for col, text in (
        ("holiday", "holiday"),
        ("holiday_eve", "holiday eve"),
        ("after_off", "day after an off day"),
    ):
        if row[col] > 0:
            why.append(text)
    if row["dom"] <= 3:
        why.append("start of month")
    if row["to_month_end"] <= 1:
        why.append("end of month")
    for col in row.index:
        if str(col).startswith("ev_") and row[col] > 0:
            why.append(f"event {str(col)[3:]}")
    if not why:
        why.append("above forecast" if row["error"] > 0 else "below forecast")
    return ", ".join(why)


def _day_table(
    parts: list[pd.DataFrame],
    alpha_days: list[float],
    series: Sequence[QueueSeries],
    days: SpecialDays,
) -> pd.DataFrame:
    """Day totals per origin and queue with a 95% band; ``flag`` when outside it."""
    out = []
    for part, a_day in zip(parts, alpha_days, strict=True):
        g = part.assign(day=part["interval_start"].dt.normalize())
        d = g.groupby("day").agg(
            origin=("origin", "first"),
            queue=("queue", "first"),
            horizon_day=("horizon_day", "first"),
            actual=("actual", "sum"),
            forecast=(SELECTED, "sum"),
        )
        d = d.reset_index()
        half = 1.959963984540054 * np.sqrt(d["forecast"] + a_day * d["forecast"] ** 2)
        d["band_lo"] = np.maximum(d["forecast"] - half, 0)
        d["band_hi"] = d["forecast"] + half
        d["error"] = (d["actual"] - d["forecast"]) / d["forecast"].where(d["forecast"] > 0)
        d["flag"] = (d["actual"] < d["band_lo"]) | (d["actual"] > d["band_hi"])
        feats = day_features(pd.DatetimeIndex(d["day"]), days, str(d["queue"].iloc[0]))
        d = pd.concat([d, feats.drop(columns=["weekday", "multiplier"])], axis=1)
        d["reason"] = d.apply(_reason, axis=1)
        out.append(d)
    table = pd.concat(out, ignore_index=True)
    table["abs_error"] = (table["actual"] - table["forecast"]).abs()
    keep = ["day", "origin", "queue", "horizon_day", "actual", "forecast", "error"]
    keep += ["band_lo", "band_hi", "flag", "reason", "abs_error"]
    return table[keep]
