"""The queue-wait features (fluid drain of a roster, higher-priority arrivals) and the input-range
guard as scoring serves it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from slarisk.risk.feature_indexes import HOUR_NS, StaffingIndex
from slarisk.risk.features import MAX_WAIT_HOURS, expected_wait_hours
from slarisk.risk.model import RiskModel
from slarisk.risk.outputs import GUARD_REASON, GUARD_REASON_KEPT
from slarisk.risk.score import score_open_tickets

from .conftest import Trained

MIN_NS = 60 * 10**9
T0 = 1_700_000_000 * 10**9 // HOUR_NS * HOUR_NS  # a whole hour


def _roster() -> StaffingIndex:
    """Team "a": 2 agents 00:00-04:00, none 04:00-06:00, 3 agents 06:00-10:00 (hours after T0)."""
    frame = pd.DataFrame(
        {
            "interval_start": pd.to_datetime([T0, T0 + 6 * HOUR_NS], utc=True),
            "interval_minutes": [240, 240],
            "team": ["a", "a"],
            "agents": [2.0, 3.0],
        }
    )
    return StaffingIndex.build(frame)


def _per_minute_drain(agents_at, t_ns: int, work_agent_hours: float) -> float:
    """Hours until the agents on duty from t have done the work, minute by minute."""
    done, minute = 0.0, 0
    while done < work_agent_hours - 1e-12:
        done += agents_at(t_ns + minute * MIN_NS) / 60.0
        minute += 1
    return minute / 60.0


def test_drain_matches_a_per_minute_count_across_a_gap_in_the_roster():
    steps = _roster().teams["a"]
    agents_at = lambda t: float(steps.at(np.asarray([t]))[0])  # noqa: E731
    for start_h in (0.0, 1.0, 3.5):
        for work in (0.5, 2.0, 7.0, 12.0):  # agent-hours; 8 are left before the gap from 0:00
            t = T0 + int(start_h * HOUR_NS)
            got = float(steps.drain(t, np.asarray([work * HOUR_NS]), 24 * HOUR_NS)[0]) / HOUR_NS
            assert abs(got - _per_minute_drain(agents_at, t, work)) <= 1 / 60 + 1e-9
    assert steps.drain(T0, np.zeros(1), 24 * HOUR_NS)[0] == 0.0


def test_beyond_the_known_roster_the_week_before_repeats():
    steps = _roster().teams["a"]
    agents_at = lambda t: float(steps.at(np.asarray([t]))[0])  # noqa: E731
    t = T0 + 7 * 24 * HOUR_NS + HOUR_NS  # a week later, 01:00: nothing rostered any more
    week = 7 * 24 * HOUR_NS
    week_ago = lambda u: agents_at(t - week + (u - t) % week)  # noqa: E731  the week repeats
    for work in (1.0, 5.0, 12.0, 25.0):  # 20 agent-hours a week: 25 runs into the next week
        got = float(steps.drain(t, np.asarray([work * HOUR_NS]), 0)[0]) / HOUR_NS
        assert abs(got - _per_minute_drain(week_ago, t, work)) <= 1 / 60 + 1e-9
    # the known part first: 4 hours ahead from 01:00 on the roster itself (6 agent-hours)
    got = float(steps.drain(T0 + HOUR_NS, np.asarray([5.0 * HOUR_NS]), 4 * HOUR_NS)[0])
    assert np.isclose(got / HOUR_NS, 2.5)
    # no agents in the week before the horizon: never drains
    empty = float(steps.drain(T0 + 30 * 24 * HOUR_NS, np.asarray([HOUR_NS]), 0)[0])
    assert empty == np.inf


def test_expected_wait_grows_with_the_queue_and_the_higher_priority_arrivals():
    st = _roster()
    work = np.full(6, 0.5)  # agent-hours per ticket
    ahead = np.asarray([0.0, 2.0, 4.0, 4.0, 4.0, np.nan])
    higher = np.asarray([0.0, 0.0, 0.0, 1.0, 4.0, 0.0])
    groups = ["a", "b"]
    code = np.asarray([0, 0, 0, 0, 0, 0])
    w = expected_wait_hours(st, groups, code, ahead, higher, work, T0)
    assert w[0] == 0.0
    assert np.isclose(w[1], 0.5) and np.isclose(w[2], 1.0)  # 2 agents: 1 ticket per 15 min
    assert w[2] < w[3] < w[4] <= MAX_WAIT_HOURS  # arrivals ahead of it while it waits
    assert np.isnan(w[5])
    # a group without a team on the roster, or without a work scale: unknown
    one = (ahead[:1] + 1, higher[:1])
    assert np.isnan(expected_wait_hours(st, groups, np.ones(1, np.intp), *one, work[:1], T0))
    assert np.isnan(expected_wait_hours(st, groups, code[:1], *one, np.full(1, np.nan), T0))


def test_per_row_times_give_the_same_wait_as_one_instant():
    st = _roster()
    ahead = np.asarray([1.0, 3.0, 5.0])
    args = (st, ["a"], np.zeros(3, np.intp), ahead, np.full(3, 0.5), np.full(3, 0.5))
    one = expected_wait_hours(*args, T0 + HOUR_NS)
    rows = expected_wait_hours(*args, np.full(3, T0 + HOUR_NS, np.int64))
    np.testing.assert_allclose(one, rows)


def test_the_served_guard_widens_towards_the_rule_and_says_so(trained: Trained):
    t = trained
    wide = {k: {**v, "min": -np.inf, "max": np.inf} for k, v in t.model.workload_range.items()}
    ranges = {k: dict(v) for k, v in wide.items()}
    ranges["backlog_total"]["max"] = -1.0  # every row is outside the training range

    def with_range(r: dict[str, dict[str, float]]) -> RiskModel:
        return dataclasses.replace(t.model, metadata={**t.model.metadata, "workload_range": r})

    narrow = with_range(ranges)
    plain = score_open_tickets(with_range(wide), t.open_tickets, t.now, t.history.policy)
    guarded = score_open_tickets(narrow, t.open_tickets, t.now, t.history.policy)
    live = guarded["risk_band"] != "breached"
    assert live.sum() > 5
    first = guarded.loc[live, "reason_1"]
    head = GUARD_REASON.split("{}")[0] + "backlog_total>max"  # named first (column order)
    widened = GUARD_REASON.split("{}")[1]
    kept = GUARD_REASON_KEPT.split("{}")[1]
    assert first.str.startswith(head).all()
    assert (first.str.endswith(widened) | first.str.endswith(kept)).all()
    key = ["ticket_id", "metric"]
    both = guarded[live].merge(plain, on=key, suffixes=("", "_plain"))
    p, p0 = both["breach_probability"], both["breach_probability_plain"]
    assert (p >= p0 - 1e-12).all()
    unflagged = ~both["reason_1_plain"].str.startswith(GUARD_REASON.split("(")[0])
    assert unflagged.all()  # nothing is outside an infinite range: p0 is the trees' risk
    raised = (p > p0)[unflagged]
    assert (raised == both.loc[unflagged, "reason_1"].str.endswith(widened)).all()
    moved = both.loc[unflagged]  # the model's own reasons move down one place
    assert (moved["reason_2"] == moved["reason_1_plain"]).all()
    assert (moved["reason_3"] == moved["reason_2_plain"]).all()
    rule = t.model.rule
    assert rule is not None
    lift = rule.lift(both["metric"].to_numpy(), both["elapsed_fraction"].to_numpy())
    np.testing.assert_allclose(p, np.maximum(p0, lift), rtol=1e-12, atol=1e-12)
