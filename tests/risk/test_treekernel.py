"""The compiled tree kernel (slarisk.risk.treekernel) against LightGBM itself: the same raw
scores, bit for bit, and the same decision-path contributions as the per-leaf table gather."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slarisk.risk import fastscore, score_inputs, score_tables, treekernel

from .conftest import Trained

needs_numba = pytest.mark.skipif(not treekernel.AVAILABLE, reason="numba is not installed")


def _check(clf: Any, X: np.ndarray) -> None:
    forest = treekernel.flatten(clf.booster_, clf.leaf_table_, clf.leaf_offset_)
    raw, contrib = treekernel.raw_and_contributions(forest, X)
    expected = clf.booster_.predict(X, raw_score=True, num_threads=1)
    np.testing.assert_array_equal(raw, expected)  # same sum, same order: bit-identical
    _, ref_contrib = clf.path_contributions(X)
    np.testing.assert_allclose(contrib, ref_contrib, rtol=0, atol=1e-12)
    np.testing.assert_allclose(clf.bias_ + contrib.sum(axis=1), raw, rtol=0, atol=1e-9)


def _split_kinds(booster: Any) -> set[tuple[str, str]]:
    kinds = set()
    stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            kinds.add((node["decision_type"], node["missing_type"]))
            stack += [node["left_child"], node["right_child"]]
    return kinds


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, dict[str, Any]]:
    """Small boosters with categorical splits and every missing type (None, Zero, NaN), and
    one whose trees are single leaves."""
    import lightgbm as lgb

    from slarisk.risk.classifier import BreachClassifier

    rng = np.random.default_rng(5)
    n = 3000
    X = np.column_stack(
        [
            rng.integers(0, 12, n).astype(np.float64),  # categorical codes
            rng.normal(size=n),
            rng.integers(0, 3, n).astype(np.float64),  # many exact zeros
            rng.normal(size=n),
        ]
    )
    X[rng.random(n) < 0.15, 1] = np.nan
    X[rng.random(n) < 0.1, 0] = np.nan
    logit = (
        1.5 * np.isin(X[:, 0], [1, 4, 7, 9])
        + np.nan_to_num(X[:, 1], nan=2.0)
        - 1.0 * (X[:, 2] == 0)
        + 0.5 * X[:, 3]
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    base = {
        "objective": "binary",
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": 4,
        "verbosity": -1,
        "seed": 0,
        "deterministic": True,
        "num_threads": 1,
    }
    models = {}
    for name, extra, rounds in (
        ("nan", {}, 40),
        ("zero", {"zero_as_missing": True}, 40),
        ("stumps", {"min_data_in_leaf": n}, 3),
    ):
        booster = lgb.train({**base, **extra}, lgb.Dataset(X, y, categorical_feature=[0]), rounds)
        clf = BreachClassifier()
        clf.booster_ = booster
        clf._build_path_table()
        models[name] = clf
    return X, models


def _awkward_rows(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows of X with NaN, zeros, tiny values, unseen, negative and fractional codes."""
    out = X[rng.integers(0, len(X), 2000)].copy()
    for j in range(X.shape[1]):
        pick = rng.random(len(out))
        out[pick < 0.1, j] = np.nan
        out[(pick >= 0.1) & (pick < 0.15), j] = 0.0
        out[(pick >= 0.15) & (pick < 0.18), j] = 1e-40
        out[(pick >= 0.18) & (pick < 0.21), j] = rng.choice([-1.0, -0.5, 0.7, 13.0, 500.0, 1e12])
    return out


@needs_numba
def test_kernel_matches_lightgbm_on_the_trained_model(trained: Trained):
    t = trained
    clf = t.model.pipeline.named_steps["clf"]
    rng = np.random.default_rng(11)
    X = t.model.matrix(t.data.X.iloc[rng.choice(len(t.data.X), 2000, replace=False)])
    assert ("==", "None") in _split_kinds(clf.booster_)  # the fixture has categorical splits
    _check(clf, X)
    _check(clf, _awkward_rows(X, rng))
    _check(clf, X[:1])


@needs_numba
@pytest.mark.parametrize("name", ["nan", "zero", "stumps"])
def test_kernel_matches_lightgbm_on_every_split_kind(synthetic, name: str):
    X, models = synthetic
    clf = models[name]
    kinds = _split_kinds(clf.booster_)
    if name == "nan":
        assert ("<=", "NaN") in kinds and any(k[0] == "==" for k in kinds)
    elif name == "zero":
        assert ("<=", "Zero") in kinds
    else:
        assert kinds == set()
    _check(clf, X)
    _check(clf, _awkward_rows(X, np.random.default_rng(2)))


@needs_numba
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 20), st.just(4)),
        elements=st.one_of(
            st.floats(-1e6, 1e6),
            st.sampled_from([0.0, -0.0, 1e-40, -1.0, 3.0, 11.0, 12.0, np.nan]),
        ),
    )
)
def test_kernel_matches_lightgbm_on_any_rows(synthetic, rows: np.ndarray):
    _, models = synthetic
    for clf in models.values():
        _check(clf, rows)


@needs_numba
def test_fast_path_predict_is_the_same_with_and_without_the_kernel(trained: Trained):
    t = trained
    fm = score_tables.fast_model(t.model)
    assert fm.forest is not None  # the kernel reproduced LightGBM on the probe
    numpy_fm = dataclasses.replace(fm, forest=None)
    X = t.model.matrix(t.data.X.iloc[:700])
    X[:5, 0] = np.nan
    for rows in (X[:1], X[:3], X[:100], X):  # every branch of the numpy path
        p_kernel, c_kernel = fastscore._predict(fm, rows)
        p_numpy, c_numpy = fastscore._predict(numpy_fm, rows)
        np.testing.assert_allclose(c_kernel, c_numpy, rtol=0, atol=1e-12)
        np.testing.assert_allclose(p_kernel, p_numpy, rtol=0, atol=1e-12)


def test_without_numba_the_fast_path_keeps_the_numpy_gather(trained: Trained, monkeypatch):
    clf = trained.model.pipeline.named_steps["clf"]
    monkeypatch.setattr(treekernel, "AVAILABLE", False)
    assert score_tables._flat_forest(clf) is None


def test_input_columns_are_read_as_the_series_would_give_them(trained: Trained):
    from slarisk.data import schema as s

    q = trained.open_tickets
    got = score_inputs.tickets_from_frame(q)
    assert got.ticket_id == q[s.TICKET_ID].tolist()
    assert got.priority == q[s.PRIORITY].tolist()
    for c in s.SEGMENT_COLUMNS:
        if c in q.columns:
            assert got.segments[c] == q[c].tolist(), c
    np.testing.assert_array_equal(got.created_ns, q[s.CREATED_AT].array.as_unit("ns").asi8)
    st = trained.history.staffing
    arrays = score_inputs.staffing_from_frame(st)
    np.testing.assert_array_equal(arrays.team, st[s.TEAM].to_numpy(object))


@needs_numba
@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_rows_split_across_threads_give_the_same_bits(trained: Trained, threads: int):
    """Cutting the rows into parts walked by several threads changes no bit."""
    t = trained
    clf = t.model.pipeline.named_steps["clf"]
    forest = treekernel.flatten(clf.booster_, clf.leaf_table_, clf.leaf_offset_)
    X = t.model.matrix(t.data.X.iloc[:501])
    raw1, contrib1 = treekernel.raw_and_contributions(forest, X, threads=1)
    raw, contrib = treekernel.raw_and_contributions(forest, X, threads=threads)
    np.testing.assert_array_equal(raw, raw1)
    np.testing.assert_array_equal(contrib, contrib1)
    np.testing.assert_array_equal(raw, clf.booster_.predict(X, raw_score=True, num_threads=1))
