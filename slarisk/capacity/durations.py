"""Duration distributions fitted from history (handle times, customer-wait pauses), seconds.

Maximum likelihood for exponential, lognormal and gamma (location 0); the family with the
lowest AIC wins and the empirical quantiles are kept beside it. Durations recorded in whole
seconds may be 0 ("under a second"): they are fitted as :data:`MIN_DURATION_SECONDS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from slarisk.capacity.scenario import MAX_GAMMA_SHAPE, UNIT_SECONDS
from slarisk.errors import InputError

FAMILIES: tuple[str, ...] = ("exponential", "lognormal", "gamma")
QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: durations recorded in whole seconds: a 0 means "under a second"; fitted as this value.
MIN_DURATION_SECONDS = 0.5


def round_sig(x: float) -> float:
    """Round to 6 significant digits (numbers written to a scenario YAML)."""
    return float(f"{x:.6g}")


def family_spec(family: str, params: Mapping[str, float], unit: str) -> dict[str, Any]:
    """Scenario YAML mapping of a fitted family: ``params`` in seconds (``mean`` and
    lognormal ``sd`` or gamma ``shape``), written in ``unit`` (seconds ... days)."""
    f = UNIT_SECONDS[unit]
    out: dict[str, Any] = {"dist": family, "mean": round_sig(params["mean"] / f)}
    if family == "lognormal":
        out["sd"] = round_sig(params["sd"] / f)
    elif family == "gamma":
        # a near-constant sample fits an enormous shape: cap it at the scenario's limit
        out["shape"] = round_sig(min(params["shape"], MAX_GAMMA_SHAPE))
    out["unit"] = unit
    return out


@dataclass(frozen=True)
class DurationFit:
    """A fitted duration distribution (seconds).

    ``family`` is the AIC winner; ``params`` hold ``mean`` and (lognormal) ``sd`` or (gamma)
    ``shape``; ``aic`` has every family tried; ``quantiles`` are empirical, in seconds.
    """

    family: str
    mean: float
    params: dict[str, float]
    n: int
    aic: dict[str, float]
    quantiles: dict[str, float]
    all_params: dict[str, dict[str, float]] = field(default_factory=dict)

    def spec(self, unit: str = "seconds", family: str | None = None) -> dict[str, Any]:
        """The scenario YAML mapping of this (or another fitted) family, in ``unit``."""
        fam = family or self.family
        p = self.all_params.get(fam, self.params) if family else self.params
        return family_spec(fam, p, unit)

    def summary(self) -> dict[str, Any]:
        """Plain dict for JSON reports."""
        return {
            "family": self.family,
            "mean_seconds": self.mean,
            "params": self.params,
            "n": self.n,
            "aic": self.aic,
            "quantiles_seconds": self.quantiles,
        }


def _clean_durations(values: Any, what: str) -> np.ndarray:
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    x = x[np.isfinite(x)]
    if (x < 0).any():
        raise InputError(f"{what}: {int((x < 0).sum())} negative durations")
    if len(x) < 2:
        raise InputError(f"{what}: need at least 2 durations, got {len(x)}")
    return np.maximum(x, MIN_DURATION_SECONDS)


def gamma_shape_mle(x: np.ndarray) -> float:
    """Gamma shape MLE (location 0) of positive durations, ``scipy.stats.gamma.fit``.

    Equal durations (no spread: the likelihood grows without bound) give 1e6, a near-constant.
    """
    if math.log(float(x.mean())) - float(np.log(x).mean()) <= 1e-12:
        return 1e6
    shape, _, _ = stats.gamma.fit(x, floc=0)
    return float(shape)


def fit_duration(
    values: Any, families: Sequence[str] = FAMILIES, what: str = "durations"
) -> DurationFit:
    """Fit exponential / lognormal / gamma by maximum likelihood (seconds); pick the best AIC.

    Zeros (sub-second durations in whole-second data) are fitted as 0.5 s.
    """
    x = _clean_durations(values, what)
    n = len(x)
    mean = float(x.mean())
    lx = np.log(x)
    aic: dict[str, float] = {}
    params: dict[str, dict[str, float]] = {}
    for fam in families:
        if fam == "exponential":
            ll = -n * math.log(mean) - n
            aic[fam] = 2 * 1 - 2 * ll
            params[fam] = {"mean": mean}
        elif fam == "lognormal":
            # closed form: the mean and (MLE) standard deviation of the logs
            mu, sigma = float(lx.mean()), float(lx.std())
            sigma = max(sigma, 1e-9)
            ll = float(stats.norm.logpdf(lx, mu, sigma).sum() - lx.sum())
            aic[fam] = 2 * 2 - 2 * ll
            m = math.exp(mu + sigma**2 / 2)
            params[fam] = {
                "mean": m,
                "sd": m * math.sqrt(math.expm1(sigma**2)),
                "mu": mu,
                "sigma": sigma,
            }
        elif fam == "gamma":
            shape = gamma_shape_mle(x)
            ll = float(stats.gamma.logpdf(x, shape, scale=mean / shape).sum())
            aic[fam] = 2 * 2 - 2 * ll
            params[fam] = {"mean": mean, "shape": shape}
        else:
            raise InputError(f"unknown distribution family {fam!r}; use one of {FAMILIES}")
    best = min(aic, key=lambda k: aic[k])
    qs = np.quantile(x, QUANTILES)
    return DurationFit(
        family=best,
        mean=params[best]["mean"],
        params=params[best],
        n=n,
        aic=aic,
        quantiles={f"p{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
        all_params=params,
    )
