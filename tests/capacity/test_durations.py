"""Duration fits against known truths."""

from __future__ import annotations

import numpy as np
import pytest

from slarisk.capacity.durations import fit_duration
from slarisk.errors import InputError


@pytest.mark.parametrize(
    ("family", "draw"),
    [
        ("gamma", lambda g, n: g.gamma(3.0, 40.0, n)),
        ("lognormal", lambda g, n: g.lognormal(4.0, 0.9, n)),
    ],
)
def test_fit_duration_picks_the_true_family(family: str, draw) -> None:  # type: ignore[no-untyped-def]
    x = draw(np.random.default_rng(1), 20_000)
    f = fit_duration(x)
    assert f.family == family
    assert f.mean == pytest.approx(x.mean(), rel=0.02)
    assert f.quantiles["p50"] == pytest.approx(np.median(x), rel=1e-9)
    if family == "gamma":
        assert f.params["shape"] == pytest.approx(3.0, rel=0.05)
    spec = f.spec("minutes")
    assert spec["dist"] == family and spec["mean"] == pytest.approx(f.mean / 60, rel=1e-5)


def test_fit_duration_exponential_and_errors() -> None:
    x = np.random.default_rng(2).exponential(180.0, 20_000)
    f = fit_duration(x)
    assert f.family in {"exponential", "gamma"}  # gamma with shape ~1 nests the exponential
    assert f.all_params["gamma"]["shape"] == pytest.approx(1.0, abs=0.05)
    assert f.aic["exponential"] < f.aic["lognormal"]
    with pytest.raises(InputError, match="negative"):
        fit_duration([1.0, -2.0, 3.0])
    with pytest.raises(InputError, match="at least 2"):
        fit_duration([1.0])
