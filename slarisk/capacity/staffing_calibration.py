"""Effective servers for a simulated call centre: log-in spans scaled by what the training
months teach (availability by load, a factor per hour of day), docs/realdata_fit.md.

``span_load_staffing``: agents' log-in spans x the training ratio available/span of each
hour's load bin. ``hour_of_day_factors``: per hour of day, the staffing factor that moves
a simulation's abandonment onto the observed one, with Erlang A as the local sensitivity of
abandonment to staffing (fitted on training months; applied to a later month's spans).
Times are UTC; durations in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from slarisk.capacity.erlang import erlang_a_metrics
from slarisk.capacity.staffing_estimate import estimate_staffing, span_times_load_ratio


def span_load_staffing(
    calls: pd.DataFrame,
    load_ratio: pd.Series,
    aht: float,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    minutes: int,
    gap_seconds: float = 1800.0,
) -> pd.DataFrame:
    """``span`` staffing of ``calls`` per ``minutes`` over [lo, hi) x the availability ratio
    of each hour's load bin (:func:`span_times_load_ratio`: chosen per hour, applied to every
    interval of the hour)."""
    hourly = estimate_staffing(calls, 60, "span", gap_seconds=gap_seconds, start=lo, end=hi)
    scaled = span_times_load_ratio(calls, hourly, load_ratio, aht)
    factor = pd.Series(
        np.where(hourly["agents"] > 0, scaled["agents"] / hourly["agents"], 1.0),
        index=pd.DatetimeIndex(hourly["interval_start"]),
    )
    st = estimate_staffing(calls, minutes, "span", gap_seconds=gap_seconds, start=lo, end=hi)
    hr = pd.DatetimeIndex(st["interval_start"]).floor("h")
    st["agents"] = st["agents"] * factor.reindex(hr).fillna(1.0).to_numpy()
    return st


def _abandon_excess(
    k: float,
    target: float,
    n: np.ndarray,
    lam: np.ndarray,
    calls: np.ndarray,
    aht: float,
    patience: float,
) -> float:
    """Erlang A abandoned calls of the hours (agents ``n * k``, arrivals ``lam`` per second,
    weights ``calls``) minus ``target``; decreasing in ``k``."""
    m = erlang_a_metrics(n * k, lam, aht, patience, served_wait=False)
    return float((m.p_abandon * calls).sum()) - target


def hour_of_day_factors(
    cells: pd.DataFrame,
    aht: float,
    patience: float,
    *,
    min_calls: int = 200,
    bounds: tuple[float, float] = (0.5, 2.0),
) -> pd.Series:
    """Staffing factor per hour of day that moves simulated abandonment onto the observed.

    ``cells``: one row per (date, hour) with ``hour``, ``calls``, observed ``abandoned``,
    simulated ``sim_abandoned`` and the simulated ``agents``. Per hour of day with at least
    ``min_calls`` calls, Erlang A (mean handle ``aht``, exponential ``patience``, seconds) is
    the local sensitivity of abandonment to staffing: the factor k solves
    sum EA(k x agents) = sum EA(agents) x observed / simulated over the hour's cells, within
    ``bounds``; 1 where the hour has too few calls or no abandonment (observed or simulated).
    Index: hour of day; name ``staffing_factor``.
    """
    out: dict[int, float] = {}
    for h, c in cells.groupby("hour"):
        hour = int(str(h))
        calls = c["calls"].to_numpy(dtype=float)
        sim_ab = float(c["sim_abandoned"].sum())
        obs_ab = float(c["abandoned"].sum())
        if calls.sum() < min_calls or sim_ab <= 0 or obs_ab <= 0:
            out[hour] = 1.0
            continue
        lam = calls / 3600.0
        n = np.maximum(c["agents"].to_numpy(dtype=float), 1e-3)

        args = (n, lam, calls, aht, patience)
        target = _abandon_excess(1.0, 0.0, *args) * obs_ab / sim_ab
        lo_k, hi_k = bounds
        if _abandon_excess(lo_k, target, *args) <= 0:
            out[hour] = lo_k
        elif _abandon_excess(hi_k, target, *args) >= 0:
            out[hour] = hi_k
        else:
            out[hour] = brentq(_abandon_excess, lo_k, hi_k, args=(target, *args), xtol=1e-4)
    return pd.Series(out, name="staffing_factor", dtype=float).sort_index()
