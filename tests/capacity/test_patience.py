"""Censored patience fits and Kaplan-Meier against known truths."""

from __future__ import annotations

import numpy as np
import pytest

from slarisk.capacity.patience import fit_patience, kaplan_meier


def test_patience_exponential_mle_with_censoring() -> None:
    g = np.random.default_rng(3)
    n = 40_000
    patience = g.exponential(300.0, n)  # true mean 300 s
    offered_wait = g.exponential(120.0, n)  # the wait a call would have had
    abandoned = patience < offered_wait
    wait = np.minimum(patience, offered_wait)
    p = fit_patience(wait, abandoned)
    assert p.rate == pytest.approx(abandoned.sum() / wait.sum())
    assert p.mean == pytest.approx(300.0, rel=0.04)
    # naive mean of the abandoners' waits is badly biased; the censored estimate is not
    assert wait[abandoned].mean() < 150
    # Kaplan-Meier follows exp(-t/300)
    km = p.km
    for t in (60.0, 120.0, 240.0):
        s = km.loc[km["time_seconds"] <= t, "survival"].iloc[-1]
        assert s == pytest.approx(np.exp(-t / 300.0), abs=0.02)
    assert p.censored["gamma"]["shape"] == pytest.approx(1.0, abs=0.1)


def test_kaplan_meier_hand_example() -> None:
    # times 1,2,2,3,4 ; events: 1 yes, 2 yes, 2 censored, 3 yes, 4 censored
    km = kaplan_meier(np.array([1, 2, 2, 3, 4.0]), np.array([1, 1, 0, 1, 0], dtype=bool))
    assert km["time_seconds"].tolist() == [1.0, 2.0, 3.0]
    assert km["at_risk"].tolist() == [5, 4, 2]
    assert km["survival"].tolist() == pytest.approx([0.8, 0.6, 0.3])
