"""Pinned estimates of the patience and duration fits on fixed seeded samples.

The numbers were recorded from the hand-written estimators (Nelder-Mead censored MLE, Minka's
gamma shape iteration, a NumPy Kaplan-Meier) before they were replaced by ``scipy.stats``; the
replacement must give the same estimates (MLE parameters to rel 1e-4, log-likelihoods to
rel 1e-8, Kaplan-Meier times and counts exactly and survival to rounding: ``scipy.stats.ecdf``
multiplies ``(n - d) / n`` where the NumPy version had ``1 - d / n``, a last-bit difference).
"""

from __future__ import annotations

import numpy as np
import pytest

from slarisk.capacity.durations import fit_duration
from slarisk.capacity.patience import fit_patience, kaplan_meier


def _sample(kind: str, n: int = 3000, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Waits (whole seconds) and abandonment flags: patience ``kind`` vs an exponential offer."""
    g = np.random.default_rng(seed)
    pat = g.lognormal(5.0, 0.8, n) if kind == "lognormal" else g.gamma(2.0, 120.0, n)
    offered = g.exponential(200.0, n).round()
    ab = pat < offered
    return np.where(ab, pat.round(), offered), ab


PINNED = {
    "lognormal": {
        "n_abandoned": 1377,
        "lognormal": {
            "mu": 5.01992012635319,
            "sigma": 0.8158187596086375,
            "mean": 211.17776155444318,
            "sd": 205.35126031087762,
            "loglik": -8633.819239350965,
        },
        "gamma": {
            "shape": 2.1320590604034844,
            "mean": 188.44679115316967,
            "loglik": -8668.774841372717,
        },
        "km": (305, 0.9993050729673384, 0.9946802034867104, 0.028851566076557457),
    },
    "gamma": {
        "n_abandoned": 1132,
        "lognormal": {
            "mu": 5.295979976276108,
            "sigma": 0.9221165155963177,
            "mean": 305.2494802979832,
            "sd": 353.3974629504364,
            "loglik": -7515.9039945140175,
        },
        "gamma": {
            "shape": 2.014805240716062,
            "mean": 241.5443473341772,
            "loglik": -7464.79339090226,
        },
        "km": (354, 0.9993265993265993, 0.9958967304080247, 0.017265597757094613),
    },
}


@pytest.mark.parametrize("kind", ["lognormal", "gamma"])
def test_censored_patience_fits_are_pinned(kind: str) -> None:
    wait, ab = _sample(kind)
    p = fit_patience(wait, ab)
    want = PINNED[kind]
    assert p.n_abandoned == want["n_abandoned"]
    for fam in ("lognormal", "gamma"):
        got = p.censored[fam]
        for key, value in want[fam].items():  # type: ignore[attr-defined]
            rel = 1e-8 if key == "loglik" else 1e-4
            assert got[key] == pytest.approx(value, rel=rel), (fam, key)
        assert got["aic"] == pytest.approx(4 - 2 * got["loglik"], rel=1e-12)
    assert p.best_family == kind


@pytest.mark.parametrize("kind", ["lognormal", "gamma"])
def test_kaplan_meier_is_pinned(kind: str) -> None:
    wait, ab = _sample(kind)
    km = kaplan_meier(wait, ab)
    n, first, sixth, last = PINNED[kind]["km"]  # type: ignore[misc]
    assert len(km) == n
    # event times: the distinct waits of abandoned calls; counts exact
    assert km["time_seconds"].tolist() == sorted(set(wait[ab].tolist()))
    assert km["events"].tolist() == [int((wait[ab] == t).sum()) for t in km["time_seconds"]]
    assert km["at_risk"].tolist() == [int((wait >= t).sum()) for t in km["time_seconds"]]
    surv = km["survival"].to_numpy()
    assert surv[[0, 5, -1]] == pytest.approx([first, sixth, last], rel=0, abs=1e-14)
    # the product-limit formula itself, to rounding
    ref = np.cumprod(1 - km["events"].to_numpy() / km["at_risk"].to_numpy())
    assert surv == pytest.approx(ref, rel=0, abs=1e-14)


@pytest.mark.parametrize(
    ("x", "shape", "aic"),
    [
        (
            np.random.default_rng(1).gamma(3.0, 40.0, 500),
            3.354443039278841,
            {"exponential": 5761.945170905061, "lognormal": 5493.5636706077685,
             "gamma": 5470.743463719224},
        ),
        (
            np.random.default_rng(2).lognormal(4, 0.9, 300).round(),
            1.3252057655913576,
            {"exponential": 3226.598256823647, "lognormal": 3173.1643876183475,
             "gamma": 3215.0393686746384},
        ),
    ],
)  # fmt: skip
def test_duration_gamma_shape_is_pinned(x: np.ndarray, shape: float, aic: dict) -> None:  # type: ignore[type-arg]
    f = fit_duration(x)
    assert f.all_params["gamma"]["shape"] == pytest.approx(shape, rel=1e-9)
    assert f.aic == pytest.approx(aic, rel=1e-12)
