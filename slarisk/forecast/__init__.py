"""Demand forecasting: interval arrivals and handle times with calibrated uncertainty."""

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
from slarisk.forecast.models import MODELS, GbmParams, model_forecasts
from slarisk.forecast.series import QueueSeries, build_series, tickets_to_table

__all__ = [
    "MODELS",
    "SELECTED",
    "BacktestConfig",
    "BacktestResult",
    "Calibration",
    "Event",
    "GbmParams",
    "QueueSeries",
    "SpecialDays",
    "build_series",
    "calibrate",
    "model_forecasts",
    "origins_between",
    "parse_event",
    "poisson_mad",
    "run_backtest",
    "sample_paths",
    "seasonal_average",
    "seasonal_naive",
    "special_days",
    "tickets_to_table",
]
