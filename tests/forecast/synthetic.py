"""Synthetic interval counts with a known weekly profile (Poisson), for forecast tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-01-05")  # a Monday


def weekly_rate(interval_minutes: int = 60, scale: float = 30.0) -> np.ndarray:
    """(7, slots) expected counts: weekdays 08:00-18:00 with a midday peak, Saturday morning
    lighter, Sunday closed."""
    slots = 24 * 60 // interval_minutes
    hours = (np.arange(slots) + 0.5) * interval_minutes / 60
    day = np.where((hours >= 8) & (hours < 18), 1.0 + 0.8 * np.sin((hours - 8) / 10 * np.pi), 0)
    rate = np.zeros((7, slots))
    for wd, level in enumerate((1.2, 1.0, 1.0, 0.95, 0.85, 0.0, 0.0)):
        rate[wd] = scale * level * day
    rate[5] = np.where(hours < 12, 0.4 * scale * day, 0.0)
    return rate


def poisson_table(
    weeks: int = 12, interval_minutes: int = 60, seed: int = 0, scale: float = 30.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """A volume table (interval_start, queue "q", volume) and the true rate per row."""
    rng = np.random.default_rng(seed)
    rate = weekly_rate(interval_minutes, scale)
    days = pd.date_range(START, periods=7 * weeks, freq="D")
    lam = rate[days.day_of_week.to_numpy()].reshape(-1)
    starts = pd.date_range(START, periods=lam.size, freq=f"{interval_minutes}min")
    table = pd.DataFrame({"interval_start": starts, "queue": "q", "volume": rng.poisson(lam)})
    return table, lam
