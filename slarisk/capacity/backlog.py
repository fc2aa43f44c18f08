"""Backlog-aware staffing for asynchronous tickets whose targets are hours (fluid FIFO model).

Model (all work in agent-seconds, intervals of ``interval_seconds`` in table order, so a table
holding only open hours measures the target in business time):

- work arriving in interval i is ``volume_i * aht_i``, spread evenly over the interval;
- capacity of interval i is ``agents_raw_i * interval_seconds * max_occupancy`` (productive
  agents; scheduled agents add shrinkage);
- work is done first-in-first-out at the capacity rate while there is backlog, so
  ``backlog_{i+1} = max(0, backlog_i + work_i - capacity_i)`` and cumulative completed work
  within an interval is ``D(t) = min(D_i + capacity_i * (t - t_i) / L, A(t))``;
- target: work arriving at time s is done by ``s + target_seconds``, i.e.
  ``D(s + H) >= A(s)`` for all s. Both curves are piecewise linear, so it suffices to check the
  deadlines of interval boundaries (A's kinks) and the interval ends (D's kinks).

Requirement (greedy, "just in time"): walk the intervals in order; in each interval take the
fewest productive agents that meet every deadline falling inside that interval, given the work
done so far. This gives, interval by interval, the least cumulative capacity that meets all
deadlines; lowering any single interval's agents by one misses a deadline in that interval.
Deadlines after the last interval are not checked (the carried-over backlog is reported) unless
``cyclic=True``, which treats the table as one period of a repeating pattern (e.g. a week) and
repeats the greedy pass until the per-interval agents repeat. Vectorised over queues (columns);
the walk over intervals is inherently sequential.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BacklogResult:
    """Per-interval (rows) x queue (columns) arrays. Work and backlog in agent-seconds.

    ``backlog`` is the backlog at the *end* of each interval; ``max_delay`` is the longest
    completion delay (seconds) of work arriving in the interval (inf if not done in the horizon).
    """

    agents_raw: NDArray[np.int64]
    agents: NDArray[np.int64]
    work: FloatArray
    capacity: FloatArray
    completed: FloatArray
    backlog: FloatArray
    max_delay: FloatArray


def _as_2d(values: ArrayLike, shape: tuple[int, int] | None = None) -> FloatArray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if shape is not None:
        arr = np.broadcast_to(arr, shape)
    return np.array(arr, dtype=float)


def simulate_backlog(
    work: ArrayLike,
    agents_raw: ArrayLike,
    interval_seconds: float,
    *,
    max_occupancy: float = 1.0,
    initial_backlog: ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fluid backlog recursion for given staffing.

    ``work`` (agent-seconds arriving per interval) and ``agents_raw`` are (intervals,) or
    (intervals, queues). Returns ``(capacity, completed, backlog_end)`` of the same 2-D shape.
    """
    w = _as_2d(work)
    n = _as_2d(agents_raw, w.shape)
    cap = n * interval_seconds * max_occupancy
    b = np.broadcast_to(np.asarray(initial_backlog, dtype=float), w.shape[1:]).astype(float)
    done = np.empty_like(w)
    back = np.empty_like(w)
    for i in range(w.shape[0]):
        avail = b + w[i]
        d = np.minimum(cap[i], avail)
        b = avail - d
        done[i], back[i] = d, b
    return cap, done, back


def fifo_max_delay(
    work: ArrayLike,
    capacity: ArrayLike,
    interval_seconds: float,
    *,
    initial_backlog: ArrayLike = 0.0,
) -> FloatArray:
    """Longest FIFO completion delay (seconds) of the work arriving in each interval.

    Work arriving in an interval is spread evenly over it, so the delay along one arrival piece
    is piecewise linear and peaks at the piece's ends or where the completion curve has a kink
    (an interval end). Returns inf where the work is not finished within the horizon and 0 where
    no work arrives. ``initial_backlog`` (agent-seconds) arrives at time 0 before everything.
    """
    w = _as_2d(work)
    cap = _as_2d(capacity, w.shape)
    t_count, q_count = w.shape
    L = float(interval_seconds)
    b0 = np.broadcast_to(np.asarray(initial_backlog, dtype=float), (q_count,))
    a_cum = np.vstack([b0[None, :], b0[None, :] + np.cumsum(w, axis=0)])  # A(t) at boundaries
    d_cum = np.zeros_like(a_cum)
    for i in range(t_count):
        d_cum[i + 1] = np.minimum(d_cum[i] + cap[i], a_cum[i + 1])
    times = np.arange(t_count + 1) * L
    out = np.zeros((t_count, q_count))
    rows = np.arange(t_count)
    for q in range(q_count):
        a, d, wq, cq = a_cum[:, q], d_cum[:, q], w[:, q], cap[:, q]
        scale = max(1.0, float(a[-1]))
        # candidate levels: both ends of every arrival piece, and every completion-curve kink
        # taken on both sides (where D is flat its inverse jumps: the work just above a kink
        # level waits for the next capacity). "Just above" is beyond the search tolerance below.
        eps = 1e-7 * scale
        kinks = np.searchsorted(a, d[1:], side="left") - 1
        lv = np.concatenate([a[:-1] + eps, a[1:], d[1:], d[1:] + eps])
        piece = np.concatenate(
            [rows, rows, kinks, np.searchsorted(a, d[1:] + eps, side="left") - 1]
        )
        keep = (piece >= 0) & (piece < t_count)
        lv, piece = lv[keep], piece[keep]
        keep = (wq[piece] > 0) & (lv > a[piece]) & (lv <= a[piece + 1] + 1e-9 * scale)
        lv, piece = lv[keep], piece[keep]
        arrival = times[piece] + (lv - a[piece]) / wq[piece] * L
        # finish time: first t with D(t) >= level (D linear at rate cap/L until it meets A)
        k = np.searchsorted(d, lv - 1e-9 * scale, side="left")
        k = np.maximum(k, piece + 1)  # work cannot finish before the interval it arrives in
        finish = np.full(lv.shape, np.inf)
        ok = k <= t_count
        i = np.clip(k, 1, t_count) - 1
        rate = cq[i] / L
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip(np.where(rate > 0, (lv - d[i]) / rate, L), 0.0, L)
        finish[ok] = (times[i] + frac)[ok]
        delay = np.maximum(finish - arrival, 0.0)
        col = np.zeros(t_count)
        np.maximum.at(col, piece, delay)
        out[:, q] = col
    return out


def backlog_requirements(
    volume: ArrayLike,
    aht: ArrayLike,
    interval_seconds: float,
    target_seconds: float,
    *,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    initial_backlog: ArrayLike = 0.0,
    cyclic: bool = False,
    max_cycles: int = 8,
) -> BacklogResult:
    """Fewest productive agents per interval so that FIFO work is done within
    ``target_seconds`` of arrival (greedy just-in-time, see the module docstring).

    ``volume`` (tickets per interval) and ``aht`` (seconds of work per ticket) are (intervals,)
    or (intervals, queues); ``initial_backlog`` is work (agent-seconds) already waiting at the
    start, due ``target_seconds`` after the start. With ``cyclic`` the table is one period of a
    repeating pattern: the greedy pass runs over repeated periods until the agents of the last
    two periods agree (at most ``max_cycles`` periods) and the steady period is returned.
    """
    if interval_seconds <= 0 or target_seconds <= 0:
        raise ValueError("interval_seconds and target_seconds must be > 0")
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage}")
    if not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy}")
    vol = _as_2d(volume)
    work = vol * _as_2d(aht, vol.shape)
    if np.any(~np.isfinite(work)) or np.any(work < 0):
        raise ValueError("volume and aht must be finite and >= 0")
    L, H = float(interval_seconds), float(target_seconds)
    per_agent = L * max_occupancy
    b0 = np.broadcast_to(np.asarray(initial_backlog, dtype=float), work.shape[1:]).astype(float)
    if not cyclic:
        n = _greedy(work, L, H, per_agent, b0)
        return _result(work, n, L, max_occupancy, shrinkage, b0, 0)
    t_count = work.shape[0]
    periods = 3
    while True:
        tiled = np.vstack([work] * periods)
        n = _greedy(tiled, L, H, per_agent, b0)
        last, before = (
            n[(periods - 2) * t_count : (periods - 1) * t_count],
            n[(periods - 3) * t_count : (periods - 2) * t_count],
        )
        if np.array_equal(last, before) or periods >= max_cycles:
            break
        periods += 1
    # the period before the last is the steady one; the last period checks its deadlines
    return _result(tiled, n, L, max_occupancy, shrinkage, b0, (periods - 2, t_count))


def _greedy(
    work: FloatArray, L: float, H: float, per_agent: float, b0: FloatArray
) -> NDArray[np.int64]:
    """Greedy just-in-time agents per interval (productive, integer)."""
    t_count, q_count = work.shape
    a_cum = np.vstack([b0[None, :], b0[None, :] + np.cumsum(work, axis=0)])
    times = np.arange(t_count + 1) * L
    n = np.zeros((t_count, q_count), dtype=np.int64)
    d = np.zeros(q_count)
    offset = H / L
    for j in range(t_count):
        need = np.zeros(q_count)
        s_end = times[j + 1] - H  # deadline at the interval end: work arrived by s_end
        if s_end >= 0:
            k = min(int(s_end // L), t_count - 1)
            level = a_cum[k] + work[k] * (s_end - times[k]) / L
            need = np.maximum(need, level - d)
        # an arrival-boundary kink k L whose deadline k L + H falls strictly inside interval j
        k = int(np.floor(j + 1 - offset))
        tau = times[k] + H - times[j] if k >= 0 else -1.0
        if 0 <= k <= t_count and 0.0 < tau < L:
            need = np.maximum(need, (a_cum[k] - d) * L / tau)
        agents = np.maximum(np.ceil(need / per_agent - 1e-9), 0).astype(np.int64)
        n[j] = agents
        d = np.minimum(d + agents * per_agent, a_cum[j + 1])
    return n


def _result(
    work: FloatArray,
    n: NDArray[np.int64],
    L: float,
    max_occupancy: float,
    shrinkage: float,
    b0: FloatArray,
    window: tuple[int, int] | int,
) -> BacklogResult:
    cap, done, back = simulate_backlog(work, n, L, max_occupancy=max_occupancy, initial_backlog=b0)
    delay = fifo_max_delay(work, cap, L, initial_backlog=b0)
    agents = np.ceil(n / (1.0 - shrinkage) - 1e-9).astype(np.int64)
    sl = slice(None)
    if isinstance(window, tuple):
        period, t_count = window
        sl = slice(period * t_count, (period + 1) * t_count)
    return BacklogResult(
        agents_raw=n[sl],
        agents=agents[sl],
        work=work[sl],
        capacity=cap[sl],
        completed=done[sl],
        backlog=back[sl],
        max_delay=delay[sl],
    )
