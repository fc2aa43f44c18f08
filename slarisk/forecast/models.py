"""Forecast models: baselines, statsmodels MSTL / Holt-Winters and a LightGBM global model.

Every model maps (series, origin day, horizon days) to one (horizon_days, slots) array per
queue of expected counts. The LightGBM model is global (one fit over all queues) with a
Poisson objective on: the same interval of the 1..4 latest same weekdays before the origin
(unusual days such as holidays skipped), their mean and the mean daily total of those days
(the level), the interval of day, weekday, queue, holidays, holiday eves, days after an off
day, the position in the month, and declared events.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from slarisk.forecast.baselines import lag_days, seasonal_average, seasonal_naive
from slarisk.forecast.events import SpecialDays, day_features, event_names, unusual_days
from slarisk.forecast.series import QueueSeries

#: model names, in report order.
BASELINES = ("naive", "avg4")
MODELS = ("naive", "avg4", "mstl", "ets", "lgbm", "lgbm_nomonth")
#: models run by default (``lgbm_nomonth``, LightGBM without month position, on request:
#: the backtest then shows whether month-position features help this data).
DEFAULT_MODELS = ("naive", "avg4", "mstl", "ets", "lgbm")
LAG_WEEKS = 4
#: history used by the statsmodels daily models (weeks).
STATS_WEEKS = 26
#: history used by LightGBM (weeks): a year sees each holiday once.
GBM_WEEKS = 53


@dataclass(frozen=True)
class GbmParams:
    """LightGBM settings (small trees, Poisson objective; deterministic with one thread)."""

    num_leaves: int = 31
    learning_rate: float = 0.1
    n_estimators: int = 150
    min_child_samples: int = 20
    feature_fraction: float = 0.9
    seed: int = 0
    max_rows: int = 120_000  # training rows kept (a seeded random subset beyond that)


def _clean_volume(series: QueueSeries, origin: int) -> np.ndarray:
    """Volumes before origin with unusual days (by totals seen before origin) set to NaN."""
    vol = series.volume[:origin].copy()
    totals = np.where(np.isfinite(vol).all(axis=1), vol.sum(axis=1), np.nan)
    weekdays = series.dates(origin).day_of_week.to_numpy()
    vol[unusual_days(totals, weekdays)] = np.nan
    return vol


def _frame(
    series: QueueSeries,
    clean: np.ndarray,
    targets: np.ndarray,
    lags: np.ndarray,
    days: SpecialDays,
    learned: Sequence[str],
    month: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature rows for target days ``targets`` (n,) with lag days ``lags`` (n, LAG_WEEKS),
    and the declared-event multiplier of each row."""
    n, slots = len(targets), series.slots
    ok = (lags >= 0) & (lags < clean.shape[0])
    lagvol = np.full((n, LAG_WEEKS, slots), np.nan)
    lagvol[ok] = clean[lags[ok]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN lags: mean is NaN, intended
        totals = np.where(np.isfinite(lagvol).all(axis=2), lagvol.sum(axis=2), np.nan)
        level = np.nanmean(totals, axis=1) if n else np.zeros(0)
        mean = np.nanmean(lagvol, axis=1)
    # a skipped (unusual) lag day takes the mean of the others: missingness carries no signal
    lagvol = np.where(np.isnan(lagvol), mean[:, None, :], lagvol)
    dates = series.start + pd.to_timedelta(targets, unit="D")
    cal = day_features(pd.DatetimeIndex(dates), days, series.queue)
    for name in learned:
        if f"ev_{name}" not in cal:
            cal[f"ev_{name}"] = 0.0
    if not month:
        cal = cal.drop(columns=["dom", "to_month_end"])
    rep = {c: np.repeat(cal[c].to_numpy(), slots) for c in cal.columns}
    feats = {
        "slot": np.tile(np.arange(slots), n),
        **{k: v for k, v in rep.items() if k != "multiplier"},
        **{f"lag{k + 1}": lagvol[:, k, :].reshape(-1) for k in range(LAG_WEEKS)},
        "lag_mean": mean.reshape(-1),
        "level": np.repeat(level, slots),
    }
    frame = pd.DataFrame(feats)
    frame["share"] = frame["lag_mean"] / frame["level"].where(frame["level"] > 0)
    return frame, rep["multiplier"]


def gbm_forecast(
    series: Sequence[QueueSeries],
    origin: pd.Timestamp,
    horizon_days: int,
    days: SpecialDays,
    params: GbmParams = GbmParams(),
    *,
    month: bool = True,
) -> dict[str, np.ndarray]:
    """LightGBM global Poisson model fitted on the history before ``origin`` (see module)."""
    import lightgbm as lgb  # heavy import, only when this model runs

    learned = event_names(days)
    train_x, train_y, pred_x = [], [], []
    for k, q in enumerate(series):
        o = q.day_index(origin)
        clean = _clean_volume(q, o)
        first = max(7, o - 7 * GBM_WEEKS)  # rows with fewer lag weeks take their mean
        tdays = np.arange(first, o)
        tdays = tdays[np.isfinite(q.volume[tdays]).all(axis=1)]
        lags = tdays[:, None] - 7 * np.arange(1, LAG_WEEKS + 1)[None, :]
        fx, mult = _frame(q, clean, tdays, lags, days, learned, month)
        fx["queue_id"] = k
        # all observed intervals (closed ones teach the model their near-zero volume)
        mask = np.isfinite(q.volume[tdays]).reshape(-1)
        train_x.append(fx[mask])
        train_y.append(q.volume[tdays].reshape(-1)[mask] / mult[mask])
        pdays = o + np.arange(horizon_days)
        px, pmult = _frame(
            q, clean, pdays, lag_days(o, horizon_days, LAG_WEEKS), days, learned, month
        )
        px["queue_id"] = k
        pred_x.append((px, pmult))
    x = pd.concat(train_x, ignore_index=True)
    y = np.concatenate(train_y)
    if len(y) > params.max_rows:
        keep = np.sort(np.random.default_rng(params.seed).choice(len(y), params.max_rows, False))
        x, y = x.iloc[keep], y[keep]
    if len(y) < 10 * params.min_child_samples:  # too little history: 4-week average
        return {
            q.queue: seasonal_average(q, q.day_index(origin), horizon_days, LAG_WEEKS)
            for q in series
        }
    model = lgb.LGBMRegressor(
        objective="poisson",
        num_leaves=params.num_leaves,
        learning_rate=params.learning_rate,
        n_estimators=params.n_estimators,
        min_child_samples=params.min_child_samples,
        colsample_bytree=params.feature_fraction,
        subsample=1.0,
        random_state=params.seed,
        n_jobs=1,
        verbose=-1,
    )
    model.fit(x, y, categorical_feature=["queue_id"])
    out: dict[str, np.ndarray] = {}
    for q, (px, pmult) in zip(series, pred_x, strict=True):
        pred = model.predict(px[x.columns]) * pmult
        out[q.queue] = np.asarray(pred, dtype=float).reshape(horizon_days, q.slots)
    return out


def intraday_profile(series: QueueSeries, origin: int, horizon_days: int) -> np.ndarray:
    """(horizon_days, slots) share of the day per interval: mean over the 4 latest clean
    same weekdays before origin (unusual days skipped), falling back to all 4."""
    clean = _clean_volume(series, origin)
    idx = lag_days(origin, horizon_days, LAG_WEEKS)
    ok = (idx >= 0) & (idx < origin)
    lag = np.full((*idx.shape, series.slots), np.nan)
    lag[ok] = clean[idx[ok]]
    raw = np.full_like(lag, np.nan)
    raw[ok] = series.volume[idx[ok]]
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = np.nansum(lag, axis=1)
        fallback = np.nansum(raw, axis=1)
        prof = np.where(prof.sum(axis=1, keepdims=True) > 0, prof, fallback)
        total = prof.sum(axis=1, keepdims=True)
        return np.where(total > 0, prof / np.where(total > 0, total, 1), 0.0)


def special_day_factors(
    series: QueueSeries, origin: int, days: SpecialDays, dates: pd.DatetimeIndex
) -> np.ndarray:
    """(len(dates),) learned multipliers of holidays, holiday eves and days after an off day.

    Each kind's factor is the median, over its past days before origin, of the day's total
    over the median total of its weekday; 1 for a kind not seen yet. Declared event
    multipliers are applied on top. A day of several kinds takes the lowest factor.
    """
    past = series.dates(origin)
    totals = np.nansum(series.volume[:origin], axis=1)
    weekdays = past.day_of_week.to_numpy()
    med = np.array(
        [np.median(totals[weekdays == wd]) if (weekdays == wd).any() else 0.0 for wd in range(7)]
    )
    base = med[weekdays]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(base > 0, totals / np.where(base > 0, base, 1), np.nan)
    past_f = day_features(past, days, series.queue)
    fut_f = day_features(dates, days, series.queue)
    out = np.ones(len(dates))
    for kind in ("holiday", "holiday_eve", "after_off"):
        seen = ratio[(past_f[kind].to_numpy() > 0) & np.isfinite(ratio)]
        if seen.size:
            hit = fut_f[kind].to_numpy() > 0
            out[hit] = np.minimum(out[hit], float(np.median(seen)))
    return out * fut_f["multiplier"].to_numpy()


def _ets_daily(y: np.ndarray, h: int) -> np.ndarray:
    """Holt-Winters (weekly season, no trend: the level adapts) on daily totals, the
    lowest-AIC of an additive and a multiplicative season (the latter when every day > 0)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # heavy import

    best, best_aic = None, np.inf
    seasons = ("add", "mul") if (y > 0).all() else ("add",)
    for seasonal in seasons:
        model = ExponentialSmoothing(
            y, seasonal=seasonal, seasonal_periods=7, initialization_method="estimated"
        )
        fit = model.fit(use_brute=False)  # no grid search of starting values: 3x faster
        if np.isfinite(fit.aic) and fit.aic < best_aic:
            best, best_aic = fit, fit.aic
    if best is None:
        return np.repeat(y[-7:].mean(), h)
    return np.asarray(best.forecast(h), dtype=float)


def _mstl_daily(y: np.ndarray, h: int) -> np.ndarray:
    """statsmodels MSTL (weekly season) on daily totals: the last season repeated plus a
    damped-trend exponential smoothing of the seasonally adjusted series."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # heavy import
    from statsmodels.tsa.seasonal import MSTL

    dec = MSTL(y, periods=[7]).fit()
    seasonal = np.asarray(dec.seasonal, dtype=float).reshape(len(y), -1).sum(axis=1)
    adjusted = y - seasonal
    trend = ExponentialSmoothing(
        adjusted, trend="add", damped_trend=True, initialization_method="estimated"
    ).fit(use_brute=False)
    last = seasonal[-7:]
    season_fc = last[np.arange(h) % 7]  # day n + k has the season of day n - 7 + k % 7
    return np.asarray(trend.forecast(h), dtype=float) + season_fc


def daily_stats_forecast(
    series: Sequence[QueueSeries],
    origin: pd.Timestamp,
    horizon_days: int,
    model: str,
    days: SpecialDays = SpecialDays(),
) -> dict[str, np.ndarray]:
    """statsmodels on daily totals (``mstl``: MSTL with a weekly season and
    a damped trend; ``ets``: Holt-Winters, weekly season, chosen by AIC), spread over the
    day by :func:`intraday_profile`, times :func:`special_day_factors`.

    Daily totals are fitted on up to ``STATS_WEEKS`` weeks; unusual days (holidays) are
    replaced by their weekday's median so they do not bend the trend and season.
    """
    out: dict[str, np.ndarray] = {}
    for q in series:
        o = q.day_index(origin)
        first = max(0, o - 7 * STATS_WEEKS)
        totals = np.nansum(q.volume[first:o], axis=1)
        weekdays = q.dates(o - first, first).day_of_week.to_numpy()
        odd = unusual_days(totals, weekdays)
        for wd in range(7):
            sel = (weekdays == wd) & ~odd
            if sel.any():
                totals[(weekdays == wd) & odd] = np.median(totals[sel])
        # one BLAS thread: these small fits run ~10x slower with OpenBLAS threads contending
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")  # statsmodels convergence chatter on short series
            if len(totals) < 21 or not np.any(totals > 0):  # too short: seasonal naive
                fc = np.zeros(horizon_days)
                if len(totals) >= 7:
                    fc = totals[-7:][np.arange(horizon_days) % 7]
            elif model == "mstl":
                fc = _mstl_daily(totals, horizon_days)
            else:
                fc = _ets_daily(totals, horizon_days)
        day_total = np.clip(fc, 0, None) * special_day_factors(q, o, days, q.dates(horizon_days, o))
        out[q.queue] = day_total[:, None] * intraday_profile(q, o, horizon_days)
    return out


def model_forecasts(
    series: Sequence[QueueSeries],
    origin: pd.Timestamp,
    horizon_days: int,
    days: SpecialDays,
    models: Sequence[str] = MODELS,
    params: GbmParams = GbmParams(),
) -> dict[str, dict[str, np.ndarray]]:
    """{model: {queue: (horizon_days, slots)}} for the named models at one origin."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in models:
        if name == "naive":
            out[name] = {
                q.queue: seasonal_naive(q, q.day_index(origin), horizon_days) for q in series
            }
        elif name == "avg4":
            out[name] = {
                q.queue: seasonal_average(q, q.day_index(origin), horizon_days, 4) for q in series
            }
        elif name in ("mstl", "ets"):
            out[name] = daily_stats_forecast(series, origin, horizon_days, name, days)
        elif name == "lgbm":
            out[name] = gbm_forecast(series, origin, horizon_days, days, params)
        elif name == "lgbm_nomonth":
            out[name] = gbm_forecast(series, origin, horizon_days, days, params, month=False)
        else:
            raise ValueError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    return out
