"""Scoring an open queue: one row per running clock, bands, reasons, work order, CLI."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from typer.testing import CliRunner

from slarisk.cli import app
from slarisk.risk.model import save_model
from slarisk.risk.outputs import (
    BREACHED_BAND,
    SCORE_COLUMNS,
    priority_weights,
    top_k_order,
)
from slarisk.risk.score import score_open_tickets
from slarisk.sla.clock import compute_clocks

from .conftest import POLICY, Trained
from .score_reference import reference_scores


@pytest.fixture(scope="module")
def scored(trained: Trained) -> pd.DataFrame:
    t = trained
    return score_open_tickets(
        t.model, t.open_tickets, t.now, t.history.policy, staffing=t.history.staffing
    )


def test_one_row_per_running_clock(trained: Trained, scored: pd.DataFrame):
    assert tuple(scored.columns) == SCORE_COLUMNS
    clocks = compute_clocks(trained.open_tickets, trained.history.policy, now=trained.now)
    running = clocks[clocks["is_open"]]
    assert len(scored) == len(running) > 20
    assert set(zip(scored["ticket_id"], scored["metric"], strict=True)) == set(
        zip(running["ticket_id"], running["metric"], strict=True)
    )
    assert scored["breach_probability"].between(0, 1).all()


def test_overdue_clocks_are_breached_and_others_banded(scored: pd.DataFrame):
    over = scored["time_left_seconds"] <= 0
    assert (scored.loc[over, "risk_band"] == BREACHED_BAND).all()
    assert (scored.loc[over, "breach_probability"] == 1.0).all()
    assert (scored.loc[over, "reason_1"] == "already past due").all()
    rest = scored[~over]
    p = rest["breach_probability"].to_numpy()
    expected = np.select([p >= 0.8, p >= 0.5, p >= 0.2], ["critical", "high", "medium"], "low")
    assert (rest["risk_band"].to_numpy() == expected).all()


def test_reasons_are_readable_and_ranked(trained: Trained, scored: pd.DataFrame):
    rest = scored[scored["risk_band"] != BREACHED_BAND]
    assert (rest["reason_1"] != "").mean() > 0.9
    assert rest["reason_1"].str.contains("=").mean() < 0.5  # templates, not raw names
    joined = rest["reason_1"] + "; " + rest["reason_2"]
    ok = [
        r2 == "" or full.startswith(j)
        for r2, full, j in zip(rest["reason_2"], rest["reasons"], joined, strict=True)
    ]
    assert all(ok)


def test_work_order_follows_the_documented_rule(trained: Trained, scored: pd.DataFrame):
    w = priority_weights(POLICY["priorities"])
    assert w == {"P1": 4.0, "P2": 2.0, "P3": 1.0}
    live = scored[scored["risk_band"] != BREACHED_BAND]
    assert np.allclose(live["expected_cost"], live["breach_probability"] * live["priority"].map(w))
    per = scored.groupby("ticket_id").agg(
        order=("work_order", "first"),
        cost=("expected_cost", "sum"),
        saveable=("risk_band", lambda b: (b != BREACHED_BAND).any()),
    )
    assert (scored.groupby("ticket_id")["work_order"].nunique() == 1).all()
    per = per.sort_values("order")
    assert sorted(per["order"]) == list(range(1, len(per) + 1))
    # saveable tickets first, each by non-increasing expected cost
    sv = per["saveable"].to_numpy()
    assert not np.any(~sv[:-1] & sv[1:])
    costs = per.loc[per["saveable"], "cost"].to_numpy()
    assert np.all(np.diff(costs) <= 1e-12)
    assert scored["work_order"].is_monotonic_increasing


def test_risk_ranks_real_outcomes(trained: Trained, scored: pd.DataFrame):
    """The open clocks' eventual outcomes: higher bands breach more often."""
    from sklearn.metrics import roc_auc_score

    h = trained.history
    final = compute_clocks(
        h.tickets[h.tickets["ticket_id"].isin(scored["ticket_id"])],
        h.policy,
        events=h.events,
        now=h.tickets["created_at"].max(),
    )
    y = scored.merge(final[["ticket_id", "metric", "breached"]], on=["ticket_id", "metric"])
    live = y[y["risk_band"] != BREACHED_BAND]
    if live["breached"].nunique() == 2:
        assert roc_auc_score(live["breached"], live["breach_probability"]) > 0.7


def test_scoring_with_a_history_and_without_staffing(trained: Trained):
    t = trained
    out = score_open_tickets(
        t.model, t.open_tickets.head(10), t.now, t.history.policy, history=t.closed
    )
    assert len(out) >= 10 and out["breach_probability"].between(0, 1).all()
    ref = reference_scores(
        t.model, t.open_tickets.head(10), t.now, t.history.policy, history=t.closed
    )
    _assert_same_scores(ref, out)
    whole = score_open_tickets(t.model, t.open_tickets, t.now, t.history.policy, history=t.closed)
    _assert_same_scores(
        reference_scores(t.model, t.open_tickets, t.now, t.history.policy, history=t.closed), whole
    )


def _status_events(queue: pd.DataFrame, now: pd.Timestamp, seed: int) -> pd.DataFrame:
    """About 8 status events per ticket between creation and ``now``: pauses that ended,
    pauses still running at ``now``, events at the same instant, before creation and after
    ``now``."""
    rng = np.random.default_rng(seed)
    rows = []
    for tid, created in zip(queue["ticket_id"], queue["created_at"], strict=True):
        span = max((now - created).total_seconds(), 1.0)
        k = int(rng.integers(0, 16))
        at = created + pd.to_timedelta(np.sort(rng.uniform(-0.05, 1.05, k)) * span, unit="s")
        status = rng.choice(["pending", "open", "in_progress", "pending"], k)
        rows += [(tid, a, st) for a, st in zip(at, status, strict=True)]
        if k and rng.random() < 0.2:  # two events at one instant: their given order counts
            rows.append((tid, at[-1], "open" if status[-1] == "pending" else "pending"))
    return pd.DataFrame(rows, columns=["ticket_id", "at", "status"])


@pytest.mark.parametrize("with_staffing", [True, False])
def test_scores_with_status_events_match_the_reference(trained: Trained, with_staffing: bool):
    """Pauses are scored on the same path: clocks, features, probabilities, reasons and work
    order equal the from-scratch reference (clocks by compute_clocks, features by the training
    builder), for the queue, single tickets and events given in any order."""
    t = trained
    staffing = t.history.staffing if with_staffing else None
    ev = _status_events(t.open_tickets, t.now, seed=3)
    assert len(ev) > 5 * len(t.open_tickets)
    scored = score_open_tickets(
        t.model, t.open_tickets, t.now, t.history.policy, staffing, events=ev
    )
    _assert_same_scores(
        reference_scores(t.model, t.open_tickets, t.now, t.history.policy, staffing, events=ev),
        scored,
    )
    plain = score_open_tickets(t.model, t.open_tickets, t.now, t.history.policy, staffing)
    assert not plain["due_at"].equals(scored["due_at"])  # the pauses moved due times
    shuffled = ev.sample(frac=1.0, random_state=1)
    shuffled = shuffled.drop_duplicates(["ticket_id", "at"], keep=False)  # ties keep order
    for q in (t.open_tickets, t.open_tickets.iloc[[0]], t.open_tickets.iloc[[3, 4]]):
        _assert_same_scores(
            reference_scores(t.model, q, t.now, t.history.policy, staffing, events=shuffled),
            score_open_tickets(t.model, q, t.now, t.history.policy, staffing, events=shuffled),
        )


def test_empty_queue_gives_an_empty_table(trained: Trained):
    t = trained
    out = score_open_tickets(t.model, t.open_tickets.head(0), t.now, t.history.policy)
    assert len(out) == 0 and tuple(out.columns) == SCORE_COLUMNS


def test_score_cli_writes_the_ranked_table(trained: Trained, tmp_path):
    t = trained
    model_path = save_model(t.model, tmp_path / "m.pkl")
    openq = tmp_path / "open.parquet"
    t.open_tickets.to_parquet(openq)
    staffing = tmp_path / "staffing.parquet"
    t.history.staffing.to_parquet(staffing)
    policy = tmp_path / "policy.yaml"
    import yaml

    policy.write_text(yaml.safe_dump(POLICY))
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(
        app,
        [
            "score",
            "--model",
            str(model_path),
            str(openq),
            "--policy",
            str(policy),
            "--staffing",
            str(staffing),
            "--now",
            t.now.isoformat(),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "accepted" in res.output and "scored" in res.output
    table = pd.read_csv(out)
    assert list(table.columns) == list(SCORE_COLUMNS)
    assert table["work_order"].is_monotonic_increasing


def test_score_cli_bad_model_path_is_one_line_error(trained: Trained, tmp_path):
    openq = tmp_path / "open.csv"
    trained.open_tickets.head(3).to_csv(openq, index=False)
    policy = tmp_path / "policy.yaml"
    import yaml

    policy.write_text(yaml.safe_dump(POLICY))
    res = CliRunner().invoke(
        app,
        [
            "score",
            "--model",
            str(tmp_path / "nope.pkl"),
            str(openq),
            "--policy",
            str(policy),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 2
    assert "model file not found" in res.output
    assert "Traceback" not in res.output


# --- the one scoring path against a from-scratch computation (tests/risk/score_reference.py) --
def _assert_same_scores(general: pd.DataFrame, fast: pd.DataFrame) -> None:
    assert list(fast.columns) == list(general.columns) == list(SCORE_COLUMNS)
    assert len(fast) == len(general)
    for col in SCORE_COLUMNS:
        a, b = general[col], fast[col]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-12, atol=1e-12)
        else:
            assert (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all(), col
        assert str(a.dtype) == str(b.dtype), col


@pytest.mark.parametrize("with_staffing", [True, False])
def test_scores_match_the_from_scratch_reference(trained: Trained, with_staffing: bool):
    t = trained
    staffing = t.history.staffing if with_staffing else None
    queue = t.open_tickets.copy()
    queue.loc[queue.index[:3], "category"] = None  # missing attribute -> "unknown"
    queue.loc[queue.index[3:5], "customer"] = "never-seen"  # unseen level -> missing code
    queue.loc[queue.index[5:7], "group"] = None
    queue["resolved_at"] = pd.to_datetime(queue["resolved_at"], utc=True)
    queue.loc[queue.index[7:9], "resolved_at"] = t.now - pd.Timedelta(minutes=5)  # no clock
    queue.loc[queue.index[9:11], "created_at"] = t.now + pd.Timedelta(hours=1)  # not yet
    general = reference_scores(t.model, queue, t.now, t.history.policy, staffing)
    fast = score_open_tickets(t.model, queue, t.now, t.history.policy, staffing)
    _assert_same_scores(general, fast)
    assert (fast["risk_band"] == BREACHED_BAND).any() and (fast["risk_band"] != BREACHED_BAND).any()
    from slarisk.risk import fastscore, score_inputs

    cols = fastscore.score_arrays(  # the array engine itself gives the same reasons
        t.model,
        score_inputs.tickets_from_frame(queue),
        pd.Timestamp(t.now).value,
        t.history.policy,
        score_inputs.staffing_from_frame(staffing) if staffing is not None else None,
    )
    assert list(cols["reasons"]) == list(fast["reasons"])
    for i in range(4):  # single tickets (dense contribution branch) too
        one = queue.iloc[[i]]
        _assert_same_scores(
            reference_scores(t.model, one, t.now, t.history.policy, staffing),
            score_open_tickets(t.model, one, t.now, t.history.policy, staffing),
        )


@pytest.mark.parametrize("with_staffing", [True, False])
def test_scores_match_the_reference_for_tickets_the_model_has_seen(
    trained: Trained, with_staffing: bool
):
    """A queue of tickets that are also in the model's recent closed tickets (scored at a time
    inside its training window): scoring and the reference count them once, as open."""
    from .conftest import open_snapshot

    t = trained
    now = t.closed["created_at"].max() - pd.Timedelta(hours=30)
    queue = open_snapshot(t.closed, now)
    recent = set(t.model.recent_tickets["ticket_id"])
    assert queue["ticket_id"].isin(recent).sum() >= 5  # the case under test
    staffing = t.history.staffing if with_staffing else None
    for q in (queue, queue.iloc[[0]], queue.iloc[[1, 2]]):
        _assert_same_scores(
            reference_scores(t.model, q, now, t.history.policy, staffing),
            score_open_tickets(t.model, q, now, t.history.policy, staffing),
        )


def test_recent_group_counts_cached_across_instants_match_a_fresh_count(trained: Trained):
    """The recent closed tickets' group counts are cached by which of them lie in the window,
    which were created before the second of `now` and whether `now` is a whole second: at
    instants on, just before and after recent creation times and the window's far edge, one
    after another on one cache, they equal a fresh count."""
    import dataclasses

    from slarisk.risk import fastscore, score_tables

    fm = score_tables.fast_model(trained.model)
    rng = np.random.default_rng(4)  # recent tickets in three groups, one not in the request
    sec, day = 10**9, 86_400 * 10**9
    raw = fm.recent_created_raw.copy()
    raw[::5] = raw[::5] // sec * sec  # some created on a whole second
    fm = dataclasses.replace(
        fm,
        recent_created_raw=raw,
        recent_created=np.sort(raw),
        recent_group=rng.integers(0, 3, len(raw)),
        recent_group_names=["apps", "infra", "gone"],
        group_cache={},
    )
    k = len(trained.model.priorities)
    rs = fm.recent_created
    for c in [*rs[:: max(1, len(rs) // 8)].tolist(), *raw[:40:5].tolist()]:
        s0 = c // sec * sec
        for t in (
            c, c - 1, c + 1, s0, s0 + 1, s0 - 1, s0 - sec, s0 + sec, s0 + sec + 1, c + sec // 2,
            c + 29 * day, c + 29 * day + 1, s0 + 29 * day, s0 + 29 * day + sec, c + 29 * day - 1,
        ):  # fmt: skip
            for names in (["infra", "apps", "new-group"], ["apps"]):
                cached = fastscore._recent_group_base(fm, t, names, k)
                fresh = fastscore._recent_group_counts(fm, t, names, k)
                np.testing.assert_array_equal(cached, fresh, err_msg=f"{t} {names}")
    assert 20 < len(fm.group_cache) < 2 * 17 * 15  # shared between instants


def test_scores_at_a_fractional_now_and_without_tiers(trained: Trained):
    """Sub-second `now` (group backlog counts whole seconds) and a queue without a tier column
    (the policy has no default tier: an InputError)."""
    t = trained
    now = t.now + pd.Timedelta(milliseconds=250)
    general = reference_scores(t.model, t.open_tickets, now, t.history.policy)
    _assert_same_scores(general, score_open_tickets(t.model, t.open_tickets, now, t.history.policy))
    from slarisk.errors import InputError

    no_tier = t.open_tickets.drop(columns=["tier"])
    with pytest.raises(InputError):
        score_open_tickets(t.model, no_tier, now, t.history.policy)


def test_bad_input_is_an_input_error_naming_the_field(trained: Trained):
    from slarisk.errors import InputError

    t = trained
    bad = t.open_tickets.head(3).copy()
    bad.loc[bad.index[1], "priority"] = "P9"
    with pytest.raises(InputError, match="priority"):
        score_open_tickets(t.model, bad, t.now, t.history.policy)


def test_path_contributions_sum_to_the_raw_score(trained: Trained):
    from slarisk.risk import fastscore, score_tables

    t = trained
    fm = score_tables.fast_model(t.model)
    clf = fm.clf
    rng = np.random.default_rng(3)
    X = t.model.matrix(t.data.X.iloc[rng.choice(len(t.data.X), 700, replace=False)])
    X[:5, 0] = np.nan  # missing values take the default branches
    raw = clf.decision_function(X)
    for rows in (X[:3], X[:100], X):  # dense gather, sparse x sparse, sparse x dense
        proba, contrib = fastscore._predict(fm, rows)
        np.testing.assert_allclose(clf.bias_ + contrib.sum(axis=1), raw[: len(rows)], atol=1e-9)
        np.testing.assert_allclose(proba, clf.calibrate(raw[: len(rows)]), atol=1e-12)
        _, general = clf.path_contributions(rows)
        np.testing.assert_allclose(contrib, general, atol=1e-12)


def test_staffing_index_from_arrays_matches_the_frame_build(trained: Trained):
    from slarisk.risk import score_inputs
    from slarisk.risk.feature_indexes import StaffingIndex

    st = trained.history.staffing
    ref = StaffingIndex.build(st)
    got = score_inputs.staffing_index(score_inputs.staffing_from_frame(st))
    grid = np.linspace(
        st["interval_start"].min().value - 3_600 * 10**9,
        st["interval_start"].max().value + 7_200 * 10**9,
        500,
    ).astype(np.int64)
    np.testing.assert_array_equal(got.total.at(grid), ref.total.at(grid))
    np.testing.assert_array_equal(
        got.total.mean(grid, 4 * 3_600 * 10**9), ref.total.mean(grid, 4 * 3_600 * 10**9)
    )
    assert sorted(got.teams) == sorted(ref.teams)
    for name, steps in ref.teams.items():
        np.testing.assert_array_equal(got.teams[name].at(grid), steps.at(grid))


def test_staffing_index_of_a_frame_follows_its_content(trained: Trained):
    """The per-frame cache never serves a roster whose content changed (even in place)."""
    from slarisk.risk import score_inputs
    from slarisk.risk.feature_indexes import StaffingIndex

    st = trained.history.staffing.copy()
    first = score_inputs.staffing_index_of_frame(st)
    assert score_inputs.staffing_index_of_frame(st.copy()) is first  # same content: read once
    grid = np.linspace(
        st["interval_start"].min().value, st["interval_start"].max().value, 200
    ).astype(np.int64)
    for col, value in (("agents", 7.5), ("team", "night-shift"), ("interval_minutes", 45)):
        st.loc[st.index[3], col] = value  # in place, on the frame seen before
        got = score_inputs.staffing_index_of_frame(st)
        ref = StaffingIndex.build(st)
        assert got is not first
        np.testing.assert_array_equal(got.total.at(grid), ref.total.at(grid))
        assert sorted(got.teams) == sorted(ref.teams)


def _tied_matrices(min_side: int) -> st.SearchStrategy[np.ndarray]:
    """Small float matrices drawn from a few values: many ties."""
    return hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=min_side, max_side=12),
        elements=st.sampled_from([-1.5, -0.25, 0.0, 0.25, 0.5, 2.0]),
    )


@given(values=_tied_matrices(1), k=st.integers(0, 13))
@settings(max_examples=60, deadline=None)
def test_top_k_order_is_the_stable_argsort_prefix(values: np.ndarray, k: int):
    expected = np.argsort(-values, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top_k_order(values, k), expected)


@given(values=_tied_matrices(2), k=st.integers(1, 4), data=st.data())
@settings(max_examples=60, deadline=None)
def test_compiled_top_pairs_match_the_numpy_steps(values: np.ndarray, k: int, data: Any):
    """The one-pass kernel of top_reasons: same columns, signs and rounded values (bit for
    bit) as top_k_order, the > 0 test and np.round(X, 2)."""
    from slarisk.risk.outputs import _top_pairs

    k = min(k, values.shape[1] - 1)
    X = data.draw(
        hnp.arrays(
            np.float64,
            values.shape,
            elements=st.floats(allow_nan=True, allow_infinity=True, width=64)
            | st.sampled_from([0.005, 0.015, 0.125, -0.005, 2.675, 1e300]),  # halfway cases
        )
    )
    picked = _top_pairs(values, X, k)
    assert picked is not None
    order, positive, rounded = picked
    expected = top_k_order(values, k)
    rows = np.arange(len(values))[:, None]
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(positive, values[rows, expected] > 0)
    want = np.round(X[rows, expected], 2)
    same = (rounded.view(np.int64) == want.view(np.int64)) | (np.isnan(rounded) & np.isnan(want))
    assert same.all()
    values[0, 0] = np.nan  # non-finite contributions: the numpy steps apply
    assert _top_pairs(values, X, k) is None


def test_top_k_order_partial_sort_on_large_tied_arrays():
    """Large inputs take the partial-sort branch: still the stable argsort prefix, ties too."""
    rng = np.random.default_rng(11)
    values = rng.choice([-1.0, 0.0, 0.5, 0.75, 1.0], size=(2_000, 42))
    values[::7] = rng.normal(size=(len(values[::7]), 42))  # some rows without ties
    for k in (1, 3, 5):
        np.testing.assert_array_equal(
            top_k_order(values, k), np.argsort(-values, axis=1, kind="stable")[:, :k]
        )


def test_top_reasons_branches_agree(trained: Trained):
    """The per-pair text cache (small batches) and the distinct-pair pass (large) give the
    same reasons, missing values and unseen category codes included."""
    from slarisk.risk.outputs import top_reasons

    model = trained.model
    rng = np.random.default_rng(2)
    n, f = 400, len(model.feature_names)
    X = np.round(rng.normal(size=(n, f)) * 3, 3)
    X[:, :9] = rng.integers(0, 5, (n, 9))
    X[rng.random((n, f)) < 0.05] = np.nan
    contrib = rng.normal(size=(n, f))
    contrib[rng.random((n, f)) < 0.3] = 0.0
    big = top_reasons(model, None, contrib, 3, X)
    small = [
        top_reasons(model, None, contrib[i : i + 100], 3, X[i : i + 100], cache={})
        for i in range(0, n, 100)
    ]
    tiny = [  # a few rows at a time: reasons looked up pair by pair
        top_reasons(model, None, contrib[i : i + 10], 3, X[i : i + 10], cache=cache)
        for cache in (None, {})
        for i in range(0, n, 10)
    ]
    for k in range(3):
        assert list(np.concatenate([s[k] for s in small])) == list(big[k])
        assert list(np.concatenate([s[k] for s in tiny])) == list(big[k]) * 2
    assert (big[0] != "").all()


def test_clock_tables_follow_a_moving_now(trained: Trained):
    """Scoring keeps one table of open intervals per policy and widens it when a request
    falls outside; scoring at instants months apart, forwards and back, matches the
    from-scratch reference every time."""
    t = trained
    queue = t.open_tickets
    for shift_days in (0, 45, 400, -3, 1):
        now = t.now + pd.Timedelta(days=shift_days)
        _assert_same_scores(
            reference_scores(t.model, queue, now, t.history.policy),
            score_open_tickets(t.model, queue, now, t.history.policy),
        )


@given(
    t=st.integers(0, 100 * 86_400).map(lambda s: s * 10**9 + 40 * 86_400 * 10**9),
    recent=st.lists(st.integers(0, 140 * 86_400), max_size=40),
    created=st.lists(st.integers(0, 140 * 86_400), max_size=10),
    n_excluded=st.integers(0, 10),
)
@settings(max_examples=80, deadline=None)
def test_arrival_counts_match_a_direct_count(t, recent, created, n_excluded):
    """The compiled window counts of the scoring engine = counting each window directly."""
    from slarisk.risk import fastscore

    rc = np.sort(np.asarray(recent, dtype=np.int64) * 10**9)
    cr = np.asarray(created, dtype=np.int64) * 10**9
    ex = rc[:n_excluded]
    out = np.zeros(len(fastscore._ARRIVAL_WINDOWS), dtype=np.int64)
    fastscore._arrival_counts(t, fastscore._ARRIVAL_WINDOWS, rc, cr, ex, out)
    for w, (end, length) in enumerate(fastscore._ARRIVAL_WINDOWS.tolist()):
        hi, lo = t - end, t - end - length

        n_in = [int(((a > lo) & (a <= hi)).sum()) for a in (rc, cr, ex)]
        assert out[w] == n_in[0] + n_in[1] - n_in[2]


@given(
    sizes=st.lists(st.integers(1, 3), min_size=1, max_size=12),
    data=st.data(),
)
@settings(max_examples=80, deadline=None)
def test_work_order_on_grouped_rows_matches_the_scatter_version(sizes, data):
    """Rows grouped by ticket (the scoring engine) give the same work order through the run
    reductions as through the general scatter reductions."""
    from slarisk.risk.outputs import work_order_ranks

    codes = np.repeat(np.arange(len(sizes)), sizes)
    m = len(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cost = np.asarray(
        data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 2.0]), min_size=m, max_size=m))
    )
    weight = np.asarray(
        data.draw(st.lists(st.sampled_from([1.0, 2.0, 8.0]), min_size=m, max_size=m))
    )
    due = np.asarray(data.draw(st.lists(st.integers(0, 5), min_size=m, max_size=m)), dtype=np.int64)
    overdue = np.asarray(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    k = len(sizes)
    np.testing.assert_array_equal(
        work_order_ranks(codes, k, cost, weight, due, overdue, starts=starts),
        work_order_ranks(codes, k, cost, weight, due, overdue),
    )
