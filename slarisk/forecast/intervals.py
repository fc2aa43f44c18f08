"""Uncertainty: over-dispersed count bands calibrated on rolling-backtest residuals.

The score of an interval is the standardised residual ``z = (y - f) / sqrt(f + a f^2)``
(Poisson noise plus a squared-level term with over-dispersion ``a``, method of moments on
past residuals). Its empirical quantiles per horizon bucket (split-conformal, with the
finite-sample correction) give the bands: ``f + q * sqrt(f + a f^2)``. Sample paths for the
simulator are Gamma-Poisson with a day-level factor shared by the day's intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: horizon buckets (first day of each, 0-based): day 1, days 2-3, days 4-7, days 8+.
BUCKETS = (0, 1, 3, 7)
#: central interval levels reported (%).
LEVELS = (80, 95)
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}


def bucket_of(horizon_day: np.ndarray) -> np.ndarray:
    """Bucket index of each 0-based horizon day."""
    return np.searchsorted(np.asarray(BUCKETS), horizon_day, side="right") - 1


@dataclass(frozen=True)
class Calibration:
    """Dispersion and z-quantiles per horizon bucket: ``quantiles[b][level] = (lo, hi)``."""

    alpha: float = 0.0  # over-dispersion of intervals (variance f + alpha f^2)
    alpha_day: float = 0.0  # over-dispersion of ordinary day totals (robust, see calibrate)
    quantiles: dict[int, dict[int, tuple[float, float]]] = field(default_factory=dict)
    n: int = 0  # residuals used

    def bounds(
        self, f: np.ndarray, horizon_day: np.ndarray, level: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) arrays of the ``level``% band around forecasts ``f``."""
        scale = np.sqrt(np.maximum(f, 0) + self.alpha * f**2)
        b = bucket_of(np.broadcast_to(horizon_day, f.shape))
        lo = np.full(f.shape, -_Z[level])
        hi = np.full(f.shape, _Z[level])
        for k, qs in self.quantiles.items():
            if level in qs:
                lo[b == k], hi[b == k] = qs[level]
        return np.maximum(f + lo * scale, 0.0), np.maximum(f + hi * scale, 0.0)

    def to_dict(self) -> dict:
        return {
            "alpha": self.alpha,
            "alpha_day": self.alpha_day,
            "n": self.n,
            "quantiles": {
                str(b): {str(lv): list(v) for lv, v in qs.items()}
                for b, qs in self.quantiles.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        qs = {
            int(b): {int(lv): (float(v[0]), float(v[1])) for lv, v in q.items()}
            for b, q in data.get("quantiles", {}).items()
        }
        return cls(float(data["alpha"]), float(data["alpha_day"]), qs, int(data.get("n", 0)))


def _dispersion(y: np.ndarray, f: np.ndarray) -> float:
    den = float(np.sum(f**2))
    return max(0.0, float(np.sum((y - f) ** 2 - f)) / den) if den > 0 else 0.0


def _robust_day_dispersion(day_y: np.ndarray, day_f: np.ndarray) -> float:
    """Over-dispersion of ordinary days: (1.4826 x median |y/f - 1|)^2 less the Poisson part,
    so that a few holidays do not widen every day's band (they are what the flag is for)."""
    ok = day_f > 0
    if not ok.any():
        return 0.0
    sigma = 1.4826 * float(np.median(np.abs(day_y[ok] / day_f[ok] - 1)))
    return max(0.0, sigma**2 - float(np.median(1 / day_f[ok])))


def _conformal(z: np.ndarray, level: int) -> tuple[float, float]:
    """Split-conformal lower/upper quantiles of scores ``z`` for a central ``level``%."""
    n = z.size
    tail = (1 - level / 100) / 2
    k_hi = min(1.0, np.ceil((n + 1) * (1 - tail)) / n)
    k_lo = max(0.0, np.floor((n + 1) * tail) / n)
    return float(np.quantile(z, k_lo)), float(np.quantile(z, k_hi))


def calibrate(
    y: np.ndarray,
    f: np.ndarray,
    horizon_day: np.ndarray,
    day_y: np.ndarray,
    day_f: np.ndarray,
    *,
    min_per_bucket: int = 50,
) -> Calibration:
    """Calibrate on past interval residuals (``y``, ``f``, ``horizon_day`` flat arrays of open
    intervals) and day totals (``day_y``, ``day_f``: their robust dispersion makes the band
    of a day's total and the shared day factor of sample paths). Buckets with fewer than
    ``min_per_bucket`` residuals borrow the quantiles of all residuals."""
    if y.size == 0:
        return Calibration()
    alpha = _dispersion(y, f)
    alpha_day = _robust_day_dispersion(day_y, day_f)
    z = (y - f) / np.sqrt(np.maximum(f, 1e-9) + alpha * f**2)
    b = bucket_of(horizon_day)
    pooled = {lv: _conformal(z, lv) for lv in LEVELS}
    qs: dict[int, dict[int, tuple[float, float]]] = {}
    for k in range(len(BUCKETS)):
        zk = z[b == k]
        qs[k] = {lv: _conformal(zk, lv) for lv in LEVELS} if zk.size >= min_per_bucket else pooled
    return Calibration(alpha=alpha, alpha_day=alpha_day, quantiles=qs, n=int(y.size))


def sample_paths(
    f: np.ndarray, calibration: Calibration, n_paths: int, seed: int = 0
) -> np.ndarray:
    """(n_paths, days, slots) simulated counts for forecasts ``f`` (days, slots).

    Each day draws a Gamma factor (mean 1, variance ``alpha_day``) shared by its intervals,
    each interval a further Gamma factor (variance the rest of ``alpha``), then Poisson.
    """
    rng = np.random.default_rng(seed)
    a_day = max(calibration.alpha_day, 1e-9)
    a_int = max(calibration.alpha - calibration.alpha_day, 1e-9)
    g_day = rng.gamma(1 / a_day, a_day, size=(n_paths, f.shape[0], 1))
    g_int = rng.gamma(1 / a_int, a_int, size=(n_paths, *f.shape))
    return rng.poisson(np.maximum(f, 0)[None] * g_day * g_int)


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of ``y`` inside [lo, hi]."""
    return float(np.mean((y >= lo) & (y <= hi))) if y.size else float("nan")


def level_names(levels: Sequence[int] = LEVELS) -> list[str]:
    return [f"{side}{lv}" for lv in levels for side in ("lo", "hi")]
