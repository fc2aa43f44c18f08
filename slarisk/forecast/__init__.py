"""Demand forecasting: interval arrivals and handle times with calibrated uncertainty.

Series per queue (:mod:`~slarisk.forecast.series`), baselines, statsmodels and LightGBM
models, a rolling-origin backtest choosing the model or combination, bands calibrated on its
residuals, special days and events, an intraday reforecast, fit/predict for the CLI, the
backtest page and MLflow tracking. See docs/forecast.md.
"""

from slarisk.forecast.backtest import (
    SELECTED,
    BacktestConfig,
    BacktestResult,
    origins_between,
    poisson_mad,
    run_backtest,
)
from slarisk.forecast.baselines import seasonal_average, seasonal_naive
from slarisk.forecast.events import Event, SpecialDays, parse_event, special_days
from slarisk.forecast.intervals import Calibration, calibrate, sample_paths
from slarisk.forecast.models import DEFAULT_MODELS, MODELS, GbmParams, model_forecasts
from slarisk.forecast.pipeline import FittedForecast, fit, predict, read_input
from slarisk.forecast.reforecast import (
    IntradayRule,
    Reforecast,
    intraday_evaluation,
    learn_rule,
    reforecast_day,
    reforecast_table,
)
from slarisk.forecast.report import write_report
from slarisk.forecast.series import QueueSeries, build_series, tickets_to_table
from slarisk.forecast.tracking import track_run

__all__ = [
    "DEFAULT_MODELS",
    "MODELS",
    "SELECTED",
    "BacktestConfig",
    "BacktestResult",
    "Calibration",
    "Event",
    "FittedForecast",
    "GbmParams",
    "IntradayRule",
    "QueueSeries",
    "Reforecast",
    "SpecialDays",
    "build_series",
    "calibrate",
    "fit",
    "intraday_evaluation",
    "learn_rule",
    "model_forecasts",
    "origins_between",
    "parse_event",
    "poisson_mad",
    "predict",
    "read_input",
    "reforecast_day",
    "reforecast_table",
    "run_backtest",
    "sample_paths",
    "seasonal_average",
    "seasonal_naive",
    "special_days",
    "tickets_to_table",
    "track_run",
    "write_report",
]
