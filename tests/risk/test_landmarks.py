"""Landmark training set: observation times on the business calendar, only while open, the
final outcome as label, and no leakage (features at t unchanged when the future is deleted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.risk.feature_indexes import outcomes_from_clocks
from slarisk.risk.features import build_context, build_features
from slarisk.risk.landmarks import (
    LANDMARK_COLUMNS,
    build_landmarks,
    build_training_data,
    calendar_info,
    resolution_due,
)
from slarisk.sla.clock import compute_clocks

from .conftest import History, make_history


@pytest.fixture(scope="module")
def hist() -> History:
    return make_history(seed=3, days=14, per_day=120.0)


@pytest.fixture(scope="module")
def clocks(hist: History) -> pd.DataFrame:
    return compute_clocks(hist.tickets, hist.policy, events=hist.events, now=_end(hist))


def _end(h: History) -> pd.Timestamp:
    return h.tickets["created_at"].max()


def test_landmarks_at_fractions_of_the_target_on_its_calendar(hist, clocks):
    lm = build_landmarks(hist.tickets, hist.policy, clocks=clocks)
    assert tuple(lm.columns) == LANDMARK_COLUMNS
    assert lm["at"].is_monotonic_increasing
    assert set(lm["landmark"]) == {0.0, 0.25, 0.5, 0.75}
    assert np.allclose(lm["elapsed_seconds"], lm["landmark"] * lm["target_seconds"])
    for name in ("business", "24x7"):
        cal = hist.policy.business_calendar(name)
        c = clocks.set_index(["ticket_id", "metric"])["calendar"]
        on = c.reindex(pd.MultiIndex.from_frame(lm[["ticket_id", "metric"]])).to_numpy() == name
        sub = lm[on & (lm["landmark"] > 0)]
        assert len(sub) > 50
        got = cal.business_seconds(sub["created_at"], sub["at"])
        assert np.allclose(got, sub["elapsed_seconds"], atol=1e-3)
        # the due time carried is the nominal one: created + target on the calendar
        due = cal.add_business_seconds(sub["created_at"], sub["target_seconds"])
        assert np.array_equal(due, pd.DatetimeIndex(sub["due_at"]).as_unit("ns").asi8)


def test_landmarks_only_while_the_clock_runs_and_label_is_the_final_outcome(hist, clocks):
    lm = build_landmarks(hist.tickets, hist.policy, clocks=clocks)
    c = clocks.set_index(["ticket_id", "metric"])
    key = pd.MultiIndex.from_frame(lm[["ticket_id", "metric"]])
    stopped = c["stopped_at"].reindex(key).to_numpy()
    assert (pd.isna(stopped) | (stopped > lm["at"].to_numpy())).all()
    assert (lm["at"] < lm["due_at"]).all()
    assert np.array_equal(lm["label"].to_numpy(bool), c["breached"].reindex(key).to_numpy(bool))
    # a ticket answered before its first quarter has no later first_response landmarks
    fr = lm[lm["metric"] == "first_response"]
    assert fr.groupby("landmark").size().is_monotonic_decreasing
    assert 0.05 < lm["label"].mean() < 0.95


def test_every_k_hours_scheme(hist, clocks):
    lm = build_landmarks(
        hist.tickets, hist.policy, clocks=clocks, scheme="every", every_hours=1.0, max_per_ticket=3
    )
    assert set(lm["landmark"]) <= {0.0, 1.0, 2.0}
    assert np.allclose(lm["elapsed_seconds"], lm["landmark"] * 3600)
    assert (lm["elapsed_seconds"] < lm["target_seconds"]).all()
    assert lm.groupby(["ticket_id", "metric"]).size().max() <= 3


def test_source_made_sla_label(hist, clocks):
    rng = np.random.default_rng(0)
    t = hist.tickets.assign(source_made_sla=rng.random(len(hist.tickets)) < 0.7)
    lm = build_landmarks(t, hist.policy, clocks=clocks, label="source_made_sla")
    assert set(lm["metric"]) == {"resolution"}
    made = t.set_index("ticket_id")["source_made_sla"].reindex(lm["ticket_id"]).to_numpy()
    assert np.array_equal(lm["label"].to_numpy(bool), ~made)


def test_right_censoring_keeps_only_settled_tickets_whatever_their_outcome(hist):
    """censoring="due": a (ticket, metric) is in only if its nominal due time has passed at now;
    "known" also keeps recent tickets that already met their target (but not those still
    running towards a breach), so its newest rows under-state the breach rate."""
    now = _end(hist) - pd.Timedelta(days=2)
    tk = hist.tickets[hist.tickets["created_at"] <= now].copy()
    for col in ("first_response_at", "resolved_at"):
        tk.loc[tk[col] > now, col] = pd.NaT
    ev = hist.events[hist.events["at"] <= now]
    c = compute_clocks(tk, hist.policy, events=ev, now=now)
    due = build_landmarks(tk, hist.policy, clocks=c, now=now)
    known = build_landmarks(tk, hist.policy, clocks=c, now=now, censoring="known")
    assert (due["due_at"] <= now).all()
    extra = known[known["due_at"] > now]
    assert len(extra) > 20 and not extra["label"].any()  # only met ones are known early
    key = ["ticket_id", "metric", "landmark"]
    assert len(due.merge(known, on=key)) == len(due)  # a subset of the known outcomes
    # the settled set's labels are the final outcomes (judged with the whole history)
    full = compute_clocks(hist.tickets, hist.policy, events=hist.events, now=_end(hist))
    fin = full.set_index(["ticket_id", "metric"])["breached"]
    got = fin.reindex(pd.MultiIndex.from_frame(due[["ticket_id", "metric"]])).to_numpy(bool)
    assert np.array_equal(got, due["label"].to_numpy(bool))
    with pytest.raises(ValueError, match="censoring"):
        build_landmarks(tk, hist.policy, clocks=c, now=now, censoring="never")  # type: ignore[arg-type]


def _truncate(h: History, t: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The history as it was known at t: later tickets removed, later timestamps unknown."""
    tk = h.tickets[h.tickets["created_at"] <= t].copy()
    for col in ("first_response_at", "resolved_at"):
        tk.loc[tk[col] > t, col] = pd.NaT
    tk.loc[tk["resolved_at"].isna(), "status"] = "open"
    ev = h.events[h.events["at"] <= t]
    ev = ev[ev["ticket_id"].isin(tk["ticket_id"])]
    # the roster is a plan: known up to the 4-hour horizon of the staffing features
    st = h.staffing[h.staffing["interval_start"] < t + pd.Timedelta(hours=4)]
    return tk, ev, st


@pytest.mark.parametrize("day", [6, 10])
def test_no_leakage_features_at_t_unchanged_when_the_future_is_deleted(hist, day):
    end = _end(hist)
    full = build_training_data(
        hist.tickets, hist.policy, events=hist.events, staffing=hist.staffing, now=end
    )
    t = hist.tickets["created_at"].min().normalize() + pd.Timedelta(days=day, hours=15)
    tk, ev, st = _truncate(hist, t)
    changed = (hist.tickets["resolved_at"] > t) & (hist.tickets["created_at"] <= t)
    assert changed.sum() > 5  # the deletion really removes known-later outcomes
    tc = compute_clocks(tk, hist.policy, events=ev, now=t)
    ctx = build_context(
        tk,
        outcomes=outcomes_from_clocks(tc, tk),
        staffing=st,
        calendar=calendar_info(hist.policy),
        priorities=hist.policy.priorities,
        resolution_due=resolution_due(tk, tc, hist.policy),
    )
    known = (full.meta["at"] <= t).to_numpy()
    assert known.sum() > 500 and (~known).sum() > 500
    obs = full.meta[known]
    before = full.X[known]
    after = build_features(obs, ctx, priorities=full.priorities)
    pd.testing.assert_frame_equal(
        before.reset_index(drop=True).astype({c: str for c in before.select_dtypes("category")}),
        after.reset_index(drop=True).astype({c: str for c in after.select_dtypes("category")}),
        check_exact=False,
        rtol=1e-12,
        check_categorical=False,
    )
    # the comparison is not vacuous: workload, staffing and history features are populated
    assert after["backlog_total"].gt(0).mean() > 0.5
    assert after["agents_now"].notna().all()
    assert after["hist_n_category"].gt(0).mean() > 0.5
    assert after["backlog_overdue"].gt(0).any()
