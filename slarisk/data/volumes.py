"""Per-interval contact volumes from canonical tickets (the input of staffing requirements)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.data import schema as s


def interval_volumes(
    tickets: pd.DataFrame,
    *,
    interval_minutes: int = 30,
    by: str | None = s.CHANNEL,
    weeks_average: bool = False,
) -> pd.DataFrame:
    """Count tickets created per interval and queue.

    Returns ``interval_start`` (UTC), ``queue`` (the ``by`` column, or "all"), ``volume``
    (tickets created in the interval) and, when the tickets carry ``handle_seconds``, ``aht``
    (mean handle seconds of the interval's tickets, falling back to the queue's mean). Empty
    intervals between the first and last ticket are kept with volume 0. With ``weeks_average``
    the result is one average week (interval of week from Monday 00:00 UTC), volumes averaged
    over the weeks seen.
    """
    if interval_minutes <= 0:
        raise ValueError("interval_minutes must be > 0")
    freq = f"{interval_minutes}min"
    queue = tickets[by].astype(str) if by else pd.Series("all", index=tickets.index)
    frame = pd.DataFrame(
        {
            "interval_start": tickets[s.CREATED_AT].dt.floor(freq),
            "queue": queue.to_numpy(),
        }
    )
    has_aht = "handle_seconds" in tickets.columns
    if has_aht:
        frame["handle"] = tickets["handle_seconds"].to_numpy(float)
    grouped = frame.groupby(["queue", "interval_start"], sort=True)
    out = grouped.size().rename("volume").to_frame()
    if has_aht:
        out["aht"] = grouped["handle"].mean()
    grid = pd.date_range(
        frame["interval_start"].min(), frame["interval_start"].max(), freq=freq, tz="UTC"
    )
    full = pd.MultiIndex.from_product(
        [sorted(frame["queue"].unique()), grid], names=["queue", "interval_start"]
    )
    out = out.reindex(full)
    out["volume"] = out["volume"].fillna(0).astype("int64")
    if has_aht:
        out["aht"] = out["aht"].fillna(out.groupby(level="queue")["aht"].transform("mean"))
    out = out.reset_index()
    if weeks_average:
        start = out["interval_start"]
        week_start = (start - pd.to_timedelta(start.dt.day_of_week, unit="D")).dt.normalize()
        n_weeks = out.groupby("queue")["interval_start"].transform(
            lambda x: max(1, int(np.ceil((x.max() - x.min()) / pd.Timedelta(days=7))))
        )
        out = out.assign(offset=start - week_start, volume=out["volume"] / n_weeks)
        agg = {"volume": "sum", **({"aht": "mean"} if has_aht else {})}
        out = out.groupby(["queue", "offset"], sort=True).agg(agg).reset_index()
        monday = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday: interval-of-week reference
        out.insert(0, "interval_start", monday + out.pop("offset"))
    return out[["interval_start", "queue", "volume", *(["aht"] if has_aht else [])]]
