"""Arrival profiles from history: mean arrivals per interval of the week and per local date.

A weekday's mean is taken over the dates of that weekday present in the data (a date with no
arrival at all counts as missing data, not as a zero). Times are local (``tz``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.errors import InputError

WEEK_MINUTES = 7 * 24 * 60


def local_time(ts: pd.Series, tz: str) -> pd.Series:
    """Timestamps -> naive local wall-clock times in ``tz``."""
    ts = pd.to_datetime(ts, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None)


def arrival_profile(
    arrived_at: pd.Series, tz: str = "UTC", interval_minutes: int = 60
) -> pd.DataFrame:
    """Mean arrivals per interval of the week (local time, Monday 00:00 first).

    A weekday's denominator is the number of its dates with at least one arrival. Columns:
    ``slot, weekday (0=Mon), minute_of_day, arrivals (total), days (dates observed),
    mean_arrivals (per interval), rate_per_hour``.
    """
    if WEEK_MINUTES % interval_minutes or 1440 % interval_minutes:
        raise InputError("interval_minutes must divide a day (1440 minutes)")
    loc = local_time(arrived_at, tz)
    if loc.empty:
        raise InputError("arrival profile: no arrivals")
    dates = loc.dt.normalize()
    minute = loc.dt.hour * 60 + loc.dt.minute
    wd = loc.dt.day_of_week
    slot = (wd * 1440 + minute) // interval_minutes
    n_slots = WEEK_MINUTES // interval_minutes
    counts = np.bincount(slot.to_numpy(), minlength=n_slots)
    obs_days = pd.Series(dates.unique())
    days_per_wd = np.bincount(obs_days.dt.day_of_week.to_numpy(), minlength=7)
    slots = np.arange(n_slots)
    slot_wd = slots * interval_minutes // 1440
    days = days_per_wd[slot_wd]
    mean = np.where(days > 0, counts / np.maximum(days, 1), 0.0)
    return pd.DataFrame(
        {
            "slot": slots,
            "weekday": slot_wd,
            "minute_of_day": (slots * interval_minutes) % 1440,
            "arrivals": counts,
            "days": days,
            "mean_arrivals": mean,
            "rate_per_hour": mean * 60.0 / interval_minutes,
        }
    )


def daily_totals(arrived_at: pd.Series, tz: str = "UTC") -> pd.DataFrame:
    """Arrivals per local date: ``date, weekday, arrivals`` (dates without arrivals omitted)."""
    loc = local_time(arrived_at, tz)
    out = loc.dt.normalize().value_counts().sort_index()
    return pd.DataFrame(
        {"date": out.index, "weekday": out.index.day_of_week, "arrivals": out.to_numpy()}
    ).reset_index(drop=True)
