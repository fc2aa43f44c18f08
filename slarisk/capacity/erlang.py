"""Erlang B, C and A (M/M/n, M/M/n+M) queueing formulas and per-interval staffing.

Over 600 lines on purpose: the three models share the vectorised kernels and one staffing
search, and their tests check them against each other.

Everything is vectorised: arguments broadcast like numpy arrays (one element per interval and
queue). Units: times in **seconds** (AHT, patience, answer-time threshold `t`, ASA), rates per
second, load in Erlangs (arrival rate x AHT).

Formulas:
- Erlang B via the Poisson pmf/cdf ratio in log space (``scipy.special.gammaincc``), valid for
  real ``n``; a convergent series is used where the Poisson cdf underflows (load >> n).
- Erlang C: ``C = n B / (n - a (1 - B))``; service level ``1 - C exp(-(n - a) t / AHT)``;
  ASA ``C AHT / (n - a)``; occupancy ``a / n``.
- Erlang A (Palm; Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn): with
  ``x = n mu / theta`` and ``y = lambda / theta`` and
  ``T(v) = sum_k v^k / ((x+1)...(x+k+1)) = e^v v^(-x-1) Gamma(x+1) P(x+1, v)``
  (``P`` = regularised lower incomplete gamma, ``scipy.special.gammainc``):
  ``S = 1 + y T(y)`` (GMR's ``A(x, y)``), ``P(W>0) = S B / (1 + (S-1) B)``,
  ``P(served, W>0) = pi_n x T(y)``, ``P(Ab) = P(W>0) - P(served, W>0)``,
  ``E[W] = P(Ab) / theta`` (all customers), and the service level
  ``P(W<=t, served) = P(W=0) + pi_n x [T(y) - exp(y - w - (n mu + theta) t) T(w)]``,
  ``w = y exp(-theta t)``. The mean wait of served customers is the exact series
  ``sum_j pi_{n+j} x/(x+j+1) (psi(x+j+2) - psi(x+1)) / theta`` summed until negligible.

(Over 600 lines: the formulas, the staffing searches built on them and the per-interval table
that calls the searches are one unit.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from slarisk.capacity.backlog import backlog_requirements
from slarisk.capacity.limits import check_range

FloatArray = NDArray[np.float64]

_TINY = 1e-280  # below this a regularised incomplete gamma is treated as underflowed
_SERIES_MAX_TERMS = 200_000
_SL_TOL = 1e-12  # tolerance when comparing achieved service levels with targets


def offered_load(volume: ArrayLike, aht: ArrayLike, interval_seconds: ArrayLike) -> FloatArray:
    """Offered load in Erlangs: ``volume * aht / interval_seconds`` (aht, interval in seconds)."""
    return (
        np.asarray(volume, dtype=float)
        * np.asarray(aht, dtype=float)
        / np.asarray(interval_seconds, dtype=float)
    )


# --------------------------------------------------------------------------------------------
# Erlang B / C
# --------------------------------------------------------------------------------------------


def log_erlang_b(n: ArrayLike, load: ArrayLike) -> FloatArray:
    """Natural log of Erlang B blocking probability for ``n`` servers and ``load`` Erlangs."""
    n_arr, a_arr = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(load, dtype=float))
    out = np.zeros(n_arr.shape, dtype=float)  # log 1: n == 0 or load stays blocked
    pos = (a_arr > 0) & (n_arr > 0)
    out[(a_arr <= 0) & (n_arr > 0)] = -np.inf
    if not pos.any():
        return out
    nn, aa = n_arr[pos], a_arr[pos]
    with np.errstate(divide="ignore", under="ignore"):
        cdf = special.gammaincc(nn + 1.0, aa)  # P(Poisson(a) <= n)
        log_pmf = nn * np.log(aa) - aa - special.gammaln(nn + 1.0)
        res = log_pmf - np.log(cdf)
    bad = ~(cdf > _TINY)
    if bad.any():
        # 1/B = sum_m n (n-1) ... (n-m+1) / a^m, converges fast when the cdf underflows (a >> n).
        res[bad] = -np.log(_falling_series(nn[bad], aa[bad]))
    out[pos] = res
    return out


def _falling_series(n: FloatArray, a: FloatArray) -> FloatArray:
    total = np.ones_like(n)
    term = np.ones_like(n)
    for m in range(_SERIES_MAX_TERMS):
        term = term * np.maximum(n - m, 0.0) / a
        total += term
        if not (term > 1e-17 * total).any():
            break
    return total


def erlang_b(n: ArrayLike, load: ArrayLike) -> FloatArray:
    """Erlang B: probability that all ``n`` servers are busy in M/M/n/n with ``load`` Erlangs."""
    return np.exp(log_erlang_b(n, load))


def erlang_c(n: ArrayLike, load: ArrayLike) -> FloatArray:
    """Erlang C: probability of waiting P(W>0) in M/M/n; 1 when ``n <= load`` (unstable)."""
    n_arr, a_arr = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(load, dtype=float))
    b = erlang_b(n_arr, a_arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n_arr * b / (n_arr - a_arr * (1.0 - b))
    c = np.where(n_arr > a_arr, c, 1.0)
    return np.where(a_arr <= 0, 0.0, np.clip(c, 0.0, 1.0))


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state measures per element (arrays). Times in seconds.

    ``service_level`` is P(answered within ``t``) (Erlang A: P(W<=t and served));
    ``asa`` is the mean wait of served customers; ``mean_wait`` of all customers (equals ``asa``
    for Erlang C); ``occupancy`` is the served load per agent.
    """

    agents: FloatArray
    load: FloatArray
    p_wait: FloatArray
    service_level: FloatArray
    asa: FloatArray
    mean_wait: FloatArray
    p_abandon: FloatArray
    occupancy: FloatArray


def erlang_c_metrics(
    n: ArrayLike, load: ArrayLike, aht: ArrayLike, t: ArrayLike = 20.0
) -> QueueMetrics:
    """Erlang C (M/M/n) measures for ``n`` agents, ``load`` Erlangs, ``aht`` and threshold ``t``
    (seconds). Unstable elements (``n <= load``) get service level 0, infinite waits, and
    occupancy 1."""
    n_arr, a_arr, h_arr, t_arr = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (n, load, aht, t))
    )
    c = erlang_c(n_arr, a_arr)
    stable = n_arr > a_arr
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gap = np.where(stable, n_arr - a_arr, 1.0)
        sl = np.where(stable, 1.0 - c * np.exp(-gap * t_arr / h_arr), 0.0)
        asa = np.where(stable, c * h_arr / gap, np.inf)
        occ = np.where(n_arr > 0, np.minimum(a_arr / np.where(n_arr > 0, n_arr, 1.0), 1.0), 1.0)
    sl = np.where(a_arr <= 0, 1.0, np.clip(sl, 0.0, 1.0))
    asa = np.where(a_arr <= 0, 0.0, asa)
    occ = np.where(a_arr <= 0, 0.0, occ)
    return QueueMetrics(
        agents=n_arr,
        load=a_arr,
        p_wait=c,
        service_level=sl,
        asa=asa,
        mean_wait=asa,
        p_abandon=np.zeros_like(c),
        occupancy=occ,
    )


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------


def _log_t(x: FloatArray, v: FloatArray) -> FloatArray:
    """log T_x(v) with T_x(v) = sum_k v^k / ((x+1)(x+2)...(x+k+1)) (x >= 0, v >= 0)."""
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        p = special.gammainc(x + 1.0, v)
        res = v - (x + 1.0) * np.log(v) + special.gammaln(x + 1.0) + np.log(p)
    bad = ~(p > _TINY) | ~np.isfinite(res)
    if bad.any():
        xb, vb = x[bad], v[bad]
        term = 1.0 / (xb + 1.0)
        total = term.copy()
        for k in range(_SERIES_MAX_TERMS):
            term = term * vb / (xb + k + 2.0)
            total += term
            if not (term > 1e-17 * total).any():
                break
        res[bad] = np.log(total)
    return res


def erlang_a_metrics(
    n: ArrayLike,
    arrival_rate: ArrayLike,
    aht: ArrayLike,
    patience: ArrayLike,
    t: ArrayLike = 20.0,
    *,
    served_wait: bool = True,
) -> QueueMetrics:
    """Erlang A (M/M/n+M, exponential patience with mean ``patience`` seconds) measures.

    ``arrival_rate`` per second, ``aht`` and ``t`` in seconds. ``served_wait=False`` skips the
    (series) mean wait of served customers, leaving ``asa`` as NaN.
    """
    n_arr, lam, h_arr, pat, t_arr = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (n, arrival_rate, aht, patience, t))
    )
    shape = n_arr.shape
    n_arr, lam, h_arr, pat, t_arr = (v.ravel() for v in (n_arr, lam, h_arr, pat, t_arr))
    theta = 1.0 / pat
    mu = 1.0 / h_arr
    a = lam * h_arr
    x = n_arr * mu / theta
    y = lam / theta
    log_b = log_erlang_b(n_arr, a)
    with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
        log_ty = _log_t(x, y)
        log_s = np.logaddexp(0.0, np.log(y) + log_ty)
        b = np.exp(log_b)
        log_den = np.logaddexp(np.log1p(-np.minimum(b, 1.0)), log_s + log_b)
        log_pin = log_b - log_den
        p_wait = np.exp(log_b + log_s - log_den)
        p_served_wait = np.exp(log_pin + np.log(x) + log_ty)
        p_served_wait = np.where(x > 0, p_served_wait, 0.0)
        p_ab = np.clip(p_wait - p_served_wait, 0.0, 1.0)
        mean_wait = p_ab * pat
        w = y * np.exp(-theta * t_arr)
        log_tw = _log_t(x, w)
        late = np.exp(log_pin + np.log(x) + (y - w) - (n_arr * mu + theta) * t_arr + log_tw)
        late = np.where(x > 0, late, 0.0)
        sl = np.clip(1.0 - p_wait + p_served_wait - late, 0.0, 1.0)
        occ = np.where(n_arr > 0, a * (1.0 - p_ab) / np.where(n_arr > 0, n_arr, 1.0), 1.0)
    if served_wait:
        w_served = _served_wait_sum(x, y, theta, log_s, p_wait)
        p_served = 1.0 - p_ab
        with np.errstate(divide="ignore", invalid="ignore"):
            asa = np.where(p_served > 0, w_served / p_served, np.inf)
    else:
        asa = np.full_like(x, np.nan)
    zero = lam <= 0
    p_wait = np.where(zero, 0.0, p_wait)
    p_ab = np.where(zero, 0.0, p_ab)
    sl = np.where(zero, 1.0, sl)
    mean_wait = np.where(zero, 0.0, mean_wait)
    asa = np.where(zero, 0.0, asa)
    occ = np.where(zero, 0.0, np.clip(occ, 0.0, 1.0))
    return QueueMetrics(
        agents=n_arr.reshape(shape),
        load=a.reshape(shape),
        p_wait=p_wait.reshape(shape),
        service_level=sl.reshape(shape),
        asa=asa.reshape(shape),
        mean_wait=mean_wait.reshape(shape),
        p_abandon=p_ab.reshape(shape),
        occupancy=occ.reshape(shape),
    )


def _served_wait_sum(
    x: FloatArray, y: FloatArray, theta: FloatArray, log_s: FloatArray, p_wait: FloatArray
) -> FloatArray:
    """E[W; served] = P(W>0) sum_j q_j x/(x+j+1) (psi(x+j+2)-psi(x+1)) / theta, where
    q_j = (y^j / (x+1)_j) / S is the distribution of the queue seen by a delayed arrival."""
    total = np.zeros_like(x)
    active = (y > 0) & (x > 0) & (p_wait > 0)
    if not active.any():
        return total
    idx = np.flatnonzero(active)
    xs, ys, ls = x[idx], y[idx], log_s[idx]
    acc = np.zeros_like(xs)
    log_w = -ls  # log q_0
    h = np.zeros_like(xs)  # sum_{i=1}^{j} 1/(x+i)
    mode = np.maximum(ys - xs, 0.0)
    block = 256
    j0 = 0
    with np.errstate(divide="ignore", under="ignore"):
        log_y = np.log(ys)
        while j0 < _SERIES_MAX_TERMS:
            j = j0 + np.arange(block, dtype=float)[None, :]
            xj = xs[:, None]
            # log q_j for the block: log q_{j0} + cumulative log(y/(x+j)) for j0+1..
            steps = log_y[:, None] - np.log(xj + j)
            steps[:, 0] = 0.0
            lw = log_w[:, None] + np.cumsum(steps, axis=1)
            hh = h[:, None] + np.cumsum(1.0 / (xj + j + 1.0), axis=1)
            acc += np.sum(np.exp(lw) * xj / (xj + j + 1.0) * hh, axis=1)
            last = j0 + block - 1
            log_w = lw[:, -1] + log_y - np.log(xs + last + 1.0)
            h = hh[:, -1]
            j0 += block
            if ((log_w < -45.0) & (last > mode)).all():
                break
    total[idx] = p_wait[idx] * acc / theta[idx]
    return total


# --------------------------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------------------------

Method = Literal["erlang-c", "erlang-a"]


@dataclass(frozen=True)
class StaffingResult:
    """Required agents per element. ``agents_raw`` are productive agents on the phones,
    ``agents`` = ceil(agents_raw / (1 - shrinkage)) scheduled agents; measures at
    ``agents_raw``. ``binding`` says which constraint set the number ("target", "occupancy",
    or "none" for zero load)."""

    agents_raw: NDArray[np.int64]
    agents: NDArray[np.int64]
    metrics: QueueMetrics
    binding: NDArray[np.str_]


def _validate_targets(
    target_sl: float | None,
    within: float | None,
    target_asa: float | None,
    max_abandon: float | None,
    shrinkage: float,
    max_occupancy: float,
    method: str,
    patience: ArrayLike | None,
) -> None:
    if target_sl is None and target_asa is None and max_abandon is None:
        raise ValueError(
            "give at least one target: target_sl (with within), target_asa, or max_abandon"
        )
    if target_sl is not None and not 0.0 < target_sl < 1.0:
        raise ValueError(f"target_sl must be in (0, 1), got {target_sl}")
    if target_sl is not None and (within is None or within < 0):
        raise ValueError("target_sl needs `within` (seconds, >= 0)")
    if target_asa is not None and target_asa <= 0:
        raise ValueError(f"target_asa must be > 0 seconds, got {target_asa}")
    if max_abandon is not None and not 0.0 < max_abandon < 1.0:
        raise ValueError(f"max_abandon must be in (0, 1), got {max_abandon}")
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage}")
    if not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy}")
    if method not in ("erlang-c", "erlang-a"):
        raise ValueError(f"unknown method {method!r} (erlang-c or erlang-a)")
    if method == "erlang-a":
        if patience is None or np.any(np.asarray(patience, dtype=float) <= 0):
            raise ValueError("erlang-a needs patience > 0 seconds")
    elif max_abandon is not None:
        raise ValueError("max_abandon needs method='erlang-a' (Erlang C has no abandonment)")


#: agents in one interval beyond which a requirement is refused as a mistake in the inputs
#: (e.g. a near-zero occupancy cap): far above any real queue, and far inside int64.
MAX_AGENTS = 1_000_000


def _ceil(values: FloatArray) -> NDArray[np.int64]:
    """Ceiling that ignores float noise (14 / 0.7 -> 20, not 21)."""
    return np.ceil(values - 1e-9).astype(np.int64)


def required_agents(
    volume: ArrayLike,
    aht: ArrayLike,
    interval_seconds: ArrayLike,
    *,
    target_sl: float | None = None,
    within: float | None = None,
    target_asa: float | None = None,
    max_abandon: float | None = None,
    patience: ArrayLike | None = None,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    method: Method = "erlang-c",
) -> StaffingResult:
    """Minimal agents per interval meeting every given target, vectorised over intervals/queues.

    ``volume`` contacts per interval of ``interval_seconds``; ``aht``, ``within``,
    ``target_asa`` and ``patience`` in seconds. Targets: service level ``target_sl`` within
    ``within`` seconds, mean answer delay ``target_asa``, and (Erlang A) probability of
    abandoning ``max_abandon``. The occupancy of the productive agents stays <= ``max_occupancy``;
    scheduled agents add ``shrinkage``. Search: all intervals step up together from a lower bound
    (Erlang C: from the stability bound, with the Erlang B recursion; Erlang A: galloping then
    bisection, since every measure is monotone in n).
    """
    _validate_targets(
        target_sl, within, target_asa, max_abandon, shrinkage, max_occupancy, method, patience
    )
    vol, h, iv = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (volume, aht, interval_seconds))
    )
    shape = vol.shape
    vol, h, iv = vol.ravel(), h.ravel(), iv.ravel()
    if np.any(vol < 0) or np.any(h <= 0) or np.any(iv <= 0):
        raise ValueError("volume must be >= 0, aht and interval_seconds > 0")
    a = vol * h / iv
    if max_occupancy < 1.0:
        with np.errstate(over="ignore"):
            need = a / max_occupancy  # agents the occupancy cap alone asks for
        if np.any(need > MAX_AGENTS):
            raise ValueError(
                f"max_occupancy {max_occupancy:g} would need more than {MAX_AGENTS:,} agents "
                f"in an interval (load up to {float(a.max()):.4g} Erlangs): raise it"
            )
    t = 0.0 if within is None else float(within)
    if method == "erlang-c":
        n = _search_erlang_c(a, h, t, target_sl, target_asa)
    else:
        pat = np.broadcast_to(np.asarray(patience, dtype=float), shape).ravel()
        n = _search_erlang_a(a, vol / iv, h, pat, t, target_sl, target_asa, max_abandon, 1.0)
    if method == "erlang-c":
        n_occ = np.where(a > 0, _ceil(a / max_occupancy), 0)
    elif max_occupancy >= 1.0:
        n_occ = np.zeros_like(n)
    else:  # served occupancy a (1 - P(Ab)) / n, searched like the targets (monotone in n)
        n_occ = np.where(
            a > 0, _search_erlang_a(a, vol / iv, h, pat, t, None, None, None, max_occupancy), 0
        )
    binding = np.where(a <= 0, "none", np.where(n_occ > n, "occupancy", "target"))
    n = np.maximum(n, n_occ)
    n = np.where(a > 0, n, 0)
    if method == "erlang-c":
        metrics = erlang_c_metrics(n, a, h, t)
    else:
        metrics = erlang_a_metrics(n, vol / iv, h, pat, t)
    agents = _ceil(n / (1.0 - shrinkage))
    metrics = QueueMetrics(**{k: np.reshape(v, shape) for k, v in vars(metrics).items()})
    return StaffingResult(
        agents_raw=n.reshape(shape),
        agents=agents.reshape(shape),
        metrics=metrics,
        binding=binding.reshape(shape),
    )


def _search_erlang_c(
    a: FloatArray, h: FloatArray, t: float, target_sl: float | None, target_asa: float | None
) -> NDArray[np.int64]:
    """Step all intervals up from floor(load)+1 using B(n+1) = a B / (n + 1 + a B)."""
    n = np.floor(a).astype(np.int64) + 1
    nf = n.astype(float)
    b = erlang_b(nf, a)
    done = a <= 0
    while True:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            c = nf * b / (nf - a * (1.0 - b))
            ok = done.copy()
            meets = np.ones_like(ok)
            if target_sl is not None:
                meets &= 1.0 - c * np.exp(-(nf - a) * t / h) >= target_sl - _SL_TOL
            if target_asa is not None:
                meets &= c * h / (nf - a) <= target_asa * (1 + _SL_TOL)
            ok |= meets
        if ok.all():
            return n
        step = ~ok
        b = np.where(step, a * b / (nf + 1.0 + a * b), b)
        nf = np.where(step, nf + 1.0, nf)
        n = np.where(step, n + 1, n)
        done = ok


def _search_erlang_a(
    a: FloatArray,
    lam: FloatArray,
    h: FloatArray,
    pat: FloatArray,
    t: float,
    target_sl: float | None,
    target_asa: float | None,
    max_abandon: float | None,
    max_occupancy: float,
) -> NDArray[np.int64]:
    """Galloping then bisection over n, vectorised; every measure is monotone in n."""

    def meets(idx: NDArray[np.intp], n: NDArray[np.int64]) -> NDArray[np.bool_]:
        m = erlang_a_metrics(n, lam[idx], h[idx], pat[idx], t, served_wait=target_asa is not None)
        ok = np.ones(idx.shape, dtype=bool)
        if target_sl is not None:
            ok &= m.service_level >= target_sl - _SL_TOL
        if target_asa is not None:
            ok &= m.asa <= target_asa * (1 + _SL_TOL)
        if max_abandon is not None:
            ok &= m.p_abandon <= max_abandon * (1 + _SL_TOL)
        if max_occupancy < 1.0:
            ok &= m.occupancy <= max_occupancy * (1 + _SL_TOL)
        return ok

    # Lower bounds: served throughput <= n mu, so n >= a * (1 - P(Ab)); each target caps P(Ab).
    frac = np.zeros_like(a)
    if target_sl is not None:
        frac = np.maximum(frac, target_sl)
    if max_abandon is not None:
        frac = np.maximum(frac, 1.0 - max_abandon)
    lo = np.maximum(np.floor(a * frac - 1e-9).astype(np.int64), 0)  # known to fail (or 0)
    n = np.zeros_like(lo)
    pos = np.flatnonzero(a > 0)
    if pos.size == 0:
        return n
    lo_p = lo[pos]
    hi_p = np.maximum(lo_p + 1, 1)
    ok = meets(pos, hi_p)
    while not ok.all():  # gallop: double the step until the target is met
        bad = ~ok
        step = np.maximum(hi_p - lo_p, 1)
        lo_p = np.where(bad, hi_p, lo_p)
        hi_p = np.where(bad, hi_p + 2 * step, hi_p)
        sub = np.flatnonzero(bad)
        ok[sub] = meets(pos[sub], hi_p[sub])
    while True:  # bisection: lo fails (or is the bound), hi meets
        open_ = hi_p - lo_p > 1
        if not open_.any():
            break
        sub = np.flatnonzero(open_)
        mid = (lo_p[sub] + hi_p[sub]) // 2
        m_ok = meets(pos[sub], mid)
        hi_p[sub] = np.where(m_ok, mid, hi_p[sub])
        lo_p[sub] = np.where(m_ok, lo_p[sub], mid)
    # lo may be the bound itself (never evaluated); it cannot meet since P(Ab) > the cap there,
    # except at lo == 0 where no agents cannot serve anyone: hi is the answer.
    n[pos] = hi_p
    return n


# --------------------------------------------------------------------------------------------
# Per-interval volume tables (df -> df)
# --------------------------------------------------------------------------------------------

RequirementMethod = Literal["erlang-c", "erlang-a", "backlog"]


def requirements_frame(
    volumes: pd.DataFrame,
    *,
    interval_seconds: float,
    method: RequirementMethod = "erlang-c",
    aht: float | None = None,
    target_sl: float | None = None,
    within: float | None = 20.0,
    target_asa: float | None = None,
    max_abandon: float | None = None,
    patience: float | None = None,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    target_hours: float | None = None,
    cyclic: bool = False,
) -> pd.DataFrame:
    """Required agents per row of a volume table.

    ``volumes`` has ``interval_start`` (datetime), ``volume``, ``queue`` (str) and optionally
    ``aht`` (seconds, per row; else the ``aht`` argument). Erlang methods solve every row at
    once; ``backlog`` (needs ``target_hours``) walks each queue's rows in time order as
    consecutive intervals of ``interval_seconds`` (see :mod:`slarisk.capacity.backlog`).
    Returns the input columns plus ``load`` (Erlangs), ``agents_raw``, ``agents`` and the
    achieved measures (seconds for times, hours for backlog columns). Every input must be in
    its plausible range (:data:`slarisk.capacity.limits.REQUIREMENT_LIMITS`), else a
    ValueError naming it, before any search.
    """
    for name, value in (
        ("interval_seconds", interval_seconds),
        ("aht", aht),
        ("target_sl", target_sl),
        ("within", within if target_sl is not None else None),
        ("target_asa", target_asa),
        ("max_abandon", max_abandon),
        ("patience", patience),
        ("shrinkage", shrinkage),
        ("max_occupancy", max_occupancy),
        ("target_hours", target_hours),
    ):
        check_range(name, value)
    check_range("volume", volumes["volume"].to_numpy(float))
    if "aht" in volumes.columns:
        check_range("aht", volumes["aht"].to_numpy(float))
    df = volumes.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)
    h = df["aht"].to_numpy(float) if "aht" in df.columns else np.full(len(df), float(aht or 0))
    if np.any(~(h > 0)):
        raise ValueError("aht must be > 0 seconds (give --aht or an aht column)")
    vol = df["volume"].to_numpy(float)
    out = df.assign(aht=h, load=vol * h / interval_seconds)
    check_range("load", out["load"].to_numpy(float), label="load (volume x aht / interval)")
    if method == "backlog":
        if target_hours is None or target_hours <= 0:
            raise ValueError("method 'backlog' needs target_hours > 0")
        grid = df.assign(aht=h, work=vol * h, row=np.arange(len(df)))
        grid["k"] = grid.groupby("queue", sort=False).cumcount()
        w = grid.pivot(index="k", columns="queue", values="work").fillna(0.0)
        res = backlog_requirements(
            w.to_numpy(),
            1.0,
            interval_seconds,
            target_hours * 3600.0,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            cyclic=cyclic,
        )
        kk = grid["k"].to_numpy()
        qq = w.columns.get_indexer(pd.Index(grid["queue"]))
        out["agents_raw"] = res.agents_raw[kk, qq]
        out["agents"] = res.agents[kk, qq]
        out["work_hours"] = res.work[kk, qq] / 3600.0
        out["capacity_hours"] = res.capacity[kk, qq] / 3600.0
        out["backlog_hours"] = res.backlog[kk, qq] / 3600.0
        out["max_delay_hours"] = res.max_delay[kk, qq] / 3600.0
        with np.errstate(divide="ignore", invalid="ignore"):
            occ = res.completed / np.where(
                res.agents_raw > 0, res.agents_raw * interval_seconds, np.nan
            )
        out["occupancy"] = np.nan_to_num(occ[kk, qq], nan=0.0)
        return out
    res_e = required_agents(
        vol,
        h,
        interval_seconds,
        target_sl=target_sl,
        within=within,
        target_asa=target_asa,
        max_abandon=max_abandon,
        patience=patience,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        method=method,
    )
    m = res_e.metrics
    out["agents_raw"] = res_e.agents_raw
    out["agents"] = res_e.agents
    out["service_level"] = m.service_level
    out["asa"] = m.asa
    out["p_wait"] = m.p_wait
    if method == "erlang-a":
        out["p_abandon"] = m.p_abandon
    out["occupancy"] = m.occupancy
    out["binding"] = res_e.binding
    return out
