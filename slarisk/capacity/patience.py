"""Customer patience estimated from the waits of queued calls (seconds), with censoring.

An abandoned call is an observed patience (its wait), a served call a right-censored one
(patience > wait). Estimators: the exponential MLE ``rate = abandons / total wait``, censored
lognormal/gamma MLEs for comparison (``scipy.stats`` ``dist.fit`` on ``CensoredData``) and the
Kaplan-Meier survival curve (``scipy.stats.ecdf``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from slarisk.capacity.durations import FAMILIES, MIN_DURATION_SECONDS, family_spec
from slarisk.errors import InputError


@dataclass(frozen=True)
class PatienceFit:
    """Patience estimated from waits of queued calls (seconds).

    ``rate`` is the exponential MLE (abandons / total waiting time), ``mean = 1 / rate``.
    ``censored`` holds censored MLEs of other families and their AIC; ``km`` the Kaplan-Meier
    survival curve (time_seconds, survival) at the distinct abandonment times.
    """

    rate: float
    n_queued: int
    n_abandoned: int
    total_wait_seconds: float
    censored: dict[str, dict[str, float]]
    km: pd.DataFrame

    @property
    def mean(self) -> float:
        """Mean patience of the exponential fit, seconds."""
        return 1.0 / self.rate if self.rate > 0 else math.inf

    @property
    def best_family(self) -> str:
        """The censored fit with the lowest AIC."""
        return min(self.censored, key=lambda k: self.censored[k]["aic"])

    def km_quantile(self, q: float) -> float:
        """Time (s) by which a fraction ``q`` has run out of patience; inf if not reached."""
        hit = self.km.loc[self.km["survival"] <= 1 - q, "time_seconds"]
        return float(hit.iloc[0]) if len(hit) else math.inf

    def spec(self, unit: str = "seconds", family: str = "exponential") -> dict[str, Any]:
        """Scenario YAML mapping of the patience distribution."""
        return family_spec(family, self.censored[family], unit)

    def summary(self) -> dict[str, Any]:
        """Plain dict for JSON reports."""
        return {
            "exponential_mean_seconds": self.mean,
            "rate_per_second": self.rate,
            "n_queued": self.n_queued,
            "n_abandoned": self.n_abandoned,
            "total_wait_seconds": self.total_wait_seconds,
            "censored_fits": self.censored,
            "best_family": self.best_family,
            "km_median_seconds": self.km_quantile(0.5),
            "km_p25_seconds": self.km_quantile(0.25),
        }


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival at each distinct event time (``scipy.stats.ecdf``).

    ``times`` (seconds), ``events`` True where the event (abandonment) was observed, False for a
    right-censored observation. Ties: events before censorings at the same time. Columns
    ``time_seconds, at_risk, events, survival``.
    """
    t = np.asarray(times, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(t) == 0:
        return pd.DataFrame({"time_seconds": [], "at_risk": [], "events": [], "survival": []})
    uniq, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(uniq))
    d_at = np.bincount(inv, weights=e.astype(float), minlength=len(uniq))
    at_risk = len(t) - np.concatenate([[0], np.cumsum(n_at)[:-1]]).astype(np.int64)
    keep = d_at > 0
    surv = np.array([], dtype=float)
    if keep.any():
        sample = stats.CensoredData(uncensored=t[e], right=t[~e])
        surv = np.asarray(stats.ecdf(sample).sf.evaluate(uniq[keep]), dtype=float)
    return pd.DataFrame(
        {
            "time_seconds": uniq[keep],
            "at_risk": at_risk[keep],
            "events": d_at[keep].astype(int),
            "survival": surv,
        }
    )


def censored_mle(t: np.ndarray, e: np.ndarray, family: str) -> dict[str, float]:
    """Censored MLE (location 0) of lognormal or gamma patience: ``scipy.stats`` ``fit`` on
    ``CensoredData`` (``t`` seconds, ``e`` True where observed). Returns ``mean`` (s) and
    ``sd`` (s), ``mu``, ``sigma`` (lognormal) or ``shape`` (gamma), ``loglik`` and ``aic``."""
    dists = {"lognormal": stats.lognorm, "gamma": stats.gamma}
    if family not in dists:
        raise InputError(f"no censored fit for family {family!r}; use one of {FAMILIES}")
    dist = dists[family]
    t = np.maximum(np.asarray(t, dtype=float), MIN_DURATION_SECONDS)
    e = np.asarray(e, dtype=bool)
    shape, _, scale = dist.fit(stats.CensoredData(uncensored=t[e], right=t[~e]), floc=0)
    ll = float(
        dist.logpdf(t[e], shape, scale=scale).sum() + dist.logsf(t[~e], shape, scale=scale).sum()
    )
    if family == "lognormal":
        mu, sig = math.log(scale), float(shape)
        mean = math.exp(mu + sig**2 / 2)
        return {
            "mean": mean,
            "sd": mean * math.sqrt(math.expm1(sig**2)),
            "mu": mu,
            "sigma": sig,
            "loglik": ll,
            "aic": 4 - 2 * ll,
        }
    return {"mean": float(shape * scale), "shape": float(shape), "loglik": ll, "aic": 4 - 2 * ll}


def fit_patience(
    wait_seconds: Any,
    abandoned: Any,
    families: Sequence[str] = FAMILIES,
    max_fit_sample: int = 20_000,
    rng: np.random.Generator | None = None,
) -> PatienceFit:
    """Estimate patience from the waits of queued calls (seconds) and their abandonment flags.

    Abandoned calls are observed patience times; the others (served) are censored at their wait.
    Lognormal/gamma censored fits use at most ``max_fit_sample`` calls (a random subsample).
    """
    t = np.asarray(wait_seconds, dtype=float)
    e = np.asarray(abandoned, dtype=bool)
    if t.shape != e.shape:
        raise InputError("patience: waits and abandonment flags differ in length")
    ok = np.isfinite(t) & (t >= 0)
    t, e = t[ok], e[ok]
    if len(t) == 0 or e.sum() == 0:
        raise InputError("patience: need queued calls with at least one abandonment")
    total = float(t.sum())
    rate = float(e.sum()) / total
    ll_exp = float(e.sum()) * math.log(rate) - rate * total
    censored: dict[str, dict[str, float]] = {}
    for fam in families:
        if fam == "exponential":
            censored[fam] = {"mean": 1 / rate, "loglik": ll_exp, "aic": 2 - 2 * ll_exp}
        else:
            tt, ee = t, e
            scale = 1.0
            if len(t) > max_fit_sample:
                g = rng if rng is not None else np.random.default_rng(0)
                idx = g.choice(len(t), max_fit_sample, replace=False)
                tt, ee = t[idx], e[idx]
                scale = len(t) / max_fit_sample
            fit = censored_mle(tt, ee, fam)
            fit["loglik"] *= scale
            fit["aic"] = 4 - 2 * fit["loglik"]
            censored[fam] = fit
    return PatienceFit(
        rate=rate,
        n_queued=len(t),
        n_abandoned=int(e.sum()),
        total_wait_seconds=total,
        censored=censored,
        km=kaplan_meier(t, e),
    )
