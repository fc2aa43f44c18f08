"""Interval series per queue: a (day x interval-of-day) count matrix in local time.

A volume table (``interval_start``, ``volume``, optional ``queue`` and ``aht``) or canonical
tickets become one :class:`QueueSeries` per queue: ``volume[d, s]`` is the count of day ``d``
(local midnight ``start + d days``) and interval ``s`` of the day, NaN where not observed;
``aht`` the mean handle seconds (NaN without calls); ``open_mask[d, s]`` the opening hours
(from a policy calendar, or inferred from the data: an interval of the week is open when its
mean volume is at least ``open_threshold`` of the busiest one).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.errors import InputError
from slarisk.sla.calendar import BusinessCalendar

#: separator of segment values in a combined queue name, e.g. "phone|P1".
QUEUE_SEP = "|"


@dataclass(frozen=True)
class QueueSeries:
    """Counts of one queue by local day and interval of day (see module docstring)."""

    queue: str
    start: pd.Timestamp  # local midnight of day 0 (naive, in `tz`)
    interval_minutes: int
    tz: str
    volume: np.ndarray  # (days, slots) float, NaN = not observed
    aht: np.ndarray  # (days, slots) float seconds, NaN = unknown
    open_mask: np.ndarray  # (days, slots) bool
    weekly_open: np.ndarray  # (7, slots) bool, Monday = 0 (opening hours of a normal week)
    hours_known: bool = False  # opening hours from a calendar (else inferred from the data)

    @property
    def slots(self) -> int:
        return 24 * 60 // self.interval_minutes

    @property
    def days(self) -> int:
        return int(self.volume.shape[0])

    def dates(self, n: int | None = None, first: int = 0) -> pd.DatetimeIndex:
        """Local midnights of days ``first .. first + n - 1`` (default: all observed days)."""
        n = self.days - first if n is None else n
        return pd.date_range(self.start + pd.Timedelta(days=first), periods=n, freq="D")

    def day_index(self, day: pd.Timestamp) -> int:
        return int((pd.Timestamp(day).normalize() - self.start) / pd.Timedelta(days=1))

    def open_for(
        self, dates: pd.DatetimeIndex, closed: set | frozenset = frozenset()
    ) -> np.ndarray:
        """Opening mask (len(dates), slots) of future days: weekly hours, closed dates shut."""
        if not self.hours_known:  # inferred hours only focus scoring: forecast every interval
            return np.ones((len(dates), self.slots), dtype=bool)
        mask = self.weekly_open[dates.day_of_week.to_numpy()].copy()
        shut = np.array([d.date() in closed for d in dates], dtype=bool)
        mask[shut] = False
        return mask


def _local_naive(ts: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(ts)
    if ts.dt.tz is not None:
        return ts.dt.tz_convert(tz).dt.tz_localize(None)
    return ts


def weekly_open_from_calendar(calendar: BusinessCalendar, interval_minutes: int) -> np.ndarray:
    """(7, slots) opening mask: an interval is open when it overlaps an opening range."""
    slots = 24 * 60 // interval_minutes
    if calendar.always_open:
        return np.ones((7, slots), dtype=bool)
    mask = np.zeros((7, slots), dtype=bool)
    lo = np.arange(slots) * interval_minutes
    for wd, ranges in enumerate(calendar.weekly):
        for a, b in ranges:
            mask[wd] |= (lo < b) & (lo + interval_minutes > a)
    return mask


def infer_weekly_open(volume: np.ndarray, weekdays: np.ndarray, threshold: float) -> np.ndarray:
    """(7, slots) mask of intervals whose mean volume >= threshold x the busiest interval's."""
    slots = volume.shape[1]
    means = np.zeros((7, slots))
    for wd in range(7):
        rows = volume[weekdays == wd]
        if rows.size:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # unobserved slot: NaN -> 0
                col = np.nanmean(rows, axis=0)
            means[wd] = np.nan_to_num(col)
    peak = means.max()
    if peak <= 0:
        return np.ones((7, slots), dtype=bool)
    return means >= threshold * peak


def build_series(
    table: pd.DataFrame,
    *,
    interval_minutes: int = 30,
    tz: str = "UTC",
    calendar: BusinessCalendar | None = None,
    closed_days: set | frozenset = frozenset(),
    open_threshold: float = 0.1,
) -> list[QueueSeries]:
    """One series per queue from a volume table (counts summed into ``interval_minutes``).

    ``table``: ``interval_start`` (tz-aware, converted to ``tz``; naive = local already),
    ``volume`` (>= 0), optional ``queue`` (default "all") and ``aht`` (seconds). The span is
    whole local days from the first to the last interval; intervals after the last observed
    one are NaN. Opening hours come from ``calendar`` when given, else are inferred.
    """
    if interval_minutes not in (15, 30, 60) and (24 * 60) % interval_minutes:
        raise InputError(f"interval of {interval_minutes} min does not divide a day")
    for col in ("interval_start", "volume"):
        if col not in table.columns:
            raise InputError(f"volume table has no column {col!r}")
    if table.empty:
        raise InputError("volume table has no rows")
    slots = 24 * 60 // interval_minutes
    local = _local_naive(table["interval_start"], tz)
    frame = pd.DataFrame(
        {
            "queue": table["queue"].astype(str).to_numpy() if "queue" in table else "all",
            "t": local.dt.floor(f"{interval_minutes}min").to_numpy(),
            "volume": pd.to_numeric(table["volume"]).to_numpy(float),
        }
    )
    has_aht = "aht" in table.columns
    frame["work"] = (
        pd.to_numeric(table["aht"]).to_numpy(float) * frame["volume"] if has_aht else np.nan
    )
    frame["work_n"] = np.where(np.isfinite(frame["work"]), frame["volume"], 0.0)
    frame["work"] = frame["work"].fillna(0.0)
    agg = frame.groupby(["queue", "t"], sort=True)[["volume", "work", "work_n"]].sum()
    first_day = pd.Timestamp(frame["t"].min()).normalize()
    last_t = pd.Timestamp(frame["t"].max())
    n_days = int((last_t.normalize() - first_day) / pd.Timedelta(days=1)) + 1
    out: list[QueueSeries] = []
    weekdays = pd.date_range(first_day, periods=n_days, freq="D").day_of_week.to_numpy()
    cal_open = (
        weekly_open_from_calendar(calendar, interval_minutes) if calendar is not None else None
    )
    for queue, g in agg.groupby(level="queue", sort=True):
        t = pd.DatetimeIndex(g.index.get_level_values("t"))
        day = ((t.normalize() - first_day) / pd.Timedelta(days=1)).to_numpy().astype(int)
        slot = ((t - t.normalize()) / pd.Timedelta(minutes=interval_minutes)).to_numpy()
        slot = slot.astype(int)
        vol = np.zeros((n_days, slots))
        flat_end = int((last_t - first_day) / pd.Timedelta(minutes=interval_minutes)) + 1
        vol.reshape(-1)[flat_end:] = np.nan
        np.add.at(vol, (day, slot), g["volume"].to_numpy())
        work = np.zeros((n_days, slots))
        work_n = np.zeros((n_days, slots))
        np.add.at(work, (day, slot), g["work"].to_numpy())
        np.add.at(work_n, (day, slot), g["work_n"].to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            aht = np.where(work_n > 0, work / work_n, np.nan)
        weekly = (
            cal_open if cal_open is not None else infer_weekly_open(vol, weekdays, open_threshold)
        )
        open_mask = weekly[weekdays].copy()
        dates = pd.date_range(first_day, periods=n_days, freq="D")
        shut = np.array([d.date() in closed_days for d in dates], dtype=bool)
        if calendar is not None:
            open_mask[shut] = False
        out.append(
            QueueSeries(
                queue=str(queue),
                start=first_day,
                interval_minutes=interval_minutes,
                tz=tz,
                volume=vol,
                aht=aht,
                open_mask=open_mask,
                weekly_open=weekly,
                hours_known=calendar is not None,
            )
        )
    return out


def tickets_to_table(tickets: pd.DataFrame, by: Sequence[str] = (s.CHANNEL,)) -> pd.DataFrame:
    """A per-ticket volume table (``interval_start`` = creation, volume 1) keyed by segments.

    The queue is the ``by`` columns' values joined by ``|`` (e.g. "phone|P1"), "all" without.
    """
    missing = [c for c in by if c not in tickets.columns]
    if missing:
        raise InputError(f"tickets have no column(s) {', '.join(missing)}")
    if by:
        queue = tickets[list(by)].astype(str).agg(QUEUE_SEP.join, axis=1)
    else:
        queue = pd.Series("all", index=tickets.index)
    out = pd.DataFrame(
        {
            "interval_start": tickets[s.CREATED_AT].to_numpy(),
            "queue": queue.to_numpy(),
            "volume": 1.0,
        }
    )
    if "handle_seconds" in tickets.columns:
        out["aht"] = pd.to_numeric(tickets["handle_seconds"]).to_numpy(float)
    return out
