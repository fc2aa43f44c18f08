"""Time folds that mirror a purged outer split: validation windows end a label-maturity period
before the outer cutoff, fit rows purged of outcomes not known at the window start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.risk.evaluate import time_folds, time_split
from slarisk.risk.servicenow_eval import label_maturity

DAY = pd.Timedelta(days=1)


def _meta(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Tickets opened over 40 days, 1-3 rows each, outcome known 0-12 days after opening."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 40 * 86400, n)), unit="s"
    )
    known = created + pd.to_timedelta(rng.uniform(0, 12 * 86400, n), unit="s")
    reps = rng.integers(1, 4, n)
    return pd.DataFrame(
        {
            "ticket_id": np.repeat([f"T{i}" for i in range(n)], reps),
            "created_at": np.repeat(created, reps),
            "outcome_known_at": np.repeat(known, reps),
        }
    )


def test_windows_end_a_maturity_period_before_the_cutoff_and_fit_rows_are_purged() -> None:
    meta = _meta()
    train, _, cutoff = time_split(meta, 0.3, purge=True)
    maturity = 6 * DAY
    folds = time_folds(meta, train, 3, 0.15, True, cutoff=cutoff, maturity=maturity)
    assert len(folds) == 3
    end = cutoff - maturity
    eligible = train & (meta["created_at"] < end).to_numpy()
    starts = []
    for fit, val in folds:
        assert val.any() and fit.any()
        assert not (val & ~train).any() and not (fit & ~train).any()
        assert (meta.loc[val, "created_at"] < end).all()  # the window ends before cutoff - m
        start = meta.loc[val, "created_at"].min()
        starts.append(start)
        assert (meta.loc[fit, "created_at"] < start).all()
        assert (meta.loc[fit, "outcome_known_at"] < start).all()  # purged at the window start
        # the fit rows are every training row created before the window and known by then
        expect = train & (meta["created_at"] < start) & (meta["outcome_known_at"] < start)
        assert (fit == expect.to_numpy()).all()
    assert starts == sorted(starts)
    # the windows cover the newest 45% of the eligible tickets, up to the last one
    val_all = np.logical_or.reduce([v for _, v in folds])
    assert meta.loc[val_all, "created_at"].max() == meta.loc[eligible, "created_at"].max()
    n_elig = meta.loc[eligible, "ticket_id"].nunique()
    assert meta.loc[val_all, "ticket_id"].nunique() == pytest.approx(0.45 * n_elig, abs=2)
    # the training rows between cutoff - maturity and the cutoff are never validated on
    gap = train & (meta["created_at"] >= end).to_numpy()
    assert gap.any() and not (val_all & gap).any()


def test_without_maturity_the_windows_reach_the_last_training_ticket() -> None:
    meta = _meta()
    train, _, cutoff = time_split(meta, 0.3, purge=True)
    folds = time_folds(meta, train, 3, 0.15, True)
    last = folds[-1][1]
    assert meta.loc[last, "created_at"].max() == meta.loc[train, "created_at"].max()
    assert meta.loc[last, "created_at"].max() > cutoff - 6 * DAY
    with pytest.raises(ValueError, match="both cutoff and maturity"):
        time_folds(meta, train, 3, 0.15, True, cutoff=cutoff)


def test_label_maturity_is_a_quantile_of_the_training_incidents_time_to_outcome() -> None:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    hours = np.arange(1, 11)  # incidents resolved 1..10 h after opening
    meta = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(10)] + ["T9", "X"],  # T9 twice; X not train
            "created_at": [t0] * 12,
            "outcome_known_at": [t0 + pd.Timedelta(hours=int(h)) for h in hours]
            + [t0 + pd.Timedelta(hours=10), t0 + pd.Timedelta(hours=500)],
        }
    )
    train = np.array([True] * 11 + [False])
    assert label_maturity(meta, train, 0.9) == pd.Timedelta(hours=9.1)
    assert label_maturity(meta, train, 0.5) == pd.Timedelta(hours=5.5)
