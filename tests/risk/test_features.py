"""Features: vectorised lookups against brute-force oracles, calendar features, shapes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from slarisk.risk.feature_indexes import KeyedCumulative, StaffingIndex, WorkloadIndex
from slarisk.risk.features import (
    BASE_NUMERIC_FEATURES,
    CATEGORICAL_FEATURES,
    CalendarInfo,
    build_context,
    build_features,
    feature_names,
)

T0 = pd.Timestamp("2025-06-02 00:00", tz="UTC")  # a Monday
S = 10**9


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 500), st.floats(0, 10)), max_size=40
    ),
    queries=st.lists(st.tuples(st.integers(-1, 4), st.integers(0, 600)), min_size=1, max_size=20),
    window=st.one_of(st.none(), st.integers(1, 200)),
)
def test_keyed_cumulative_matches_brute_force(events, queries, window):
    keys = np.array([e[0] for e in events], dtype=np.int64)
    t_ns = np.array([e[1] for e in events], dtype=np.int64) * S + 10**18
    vals = np.array([e[2] for e in events], dtype=np.float64)
    idx = KeyedCumulative.build(keys, t_ns, np.column_stack([np.ones_like(vals), vals]))
    qk = np.array([q[0] for q in queries], dtype=np.int64)
    qt = np.array([q[1] for q in queries], dtype=np.int64) * S + 10**18
    got = idx.window_sums(qk, qt, None if window is None else window * S)
    for i, (k, t) in enumerate(zip(qk, qt, strict=True)):
        lo = -np.inf if window is None else t - window * S
        m = (keys == k) & (t_ns < t) & (t_ns >= lo) if k >= 0 else np.zeros(len(keys), bool)
        assert got[i, 0] == m.sum()
        assert np.isclose(got[i, 1], vals[m].sum())


@settings(max_examples=40, deadline=None)
@given(
    tickets=st.lists(
        st.tuples(
            st.integers(0, 1000), st.one_of(st.none(), st.integers(1, 500)), st.sampled_from("AB")
        ),
        min_size=1,
        max_size=30,
    ),
    queries=st.lists(st.integers(0, 1600), min_size=1, max_size=10),
)
def test_workload_backlog_and_arrivals_match_brute_force(tickets, queries):
    created = np.array([t[0] for t in tickets], dtype=np.int64) * S
    resolved = np.array(
        [np.iinfo(np.int64).min if t[1] is None else (t[0] + t[1]) * S for t in tickets]
    )
    pri = np.array([t[2] for t in tickets], dtype=object)
    wl = WorkloadIndex.from_arrays(created, resolved, pri)
    q = np.array(queries, dtype=np.int64) * S
    back = wl.backlog(q)
    arr = wl.arrivals(q, 100 * S)
    for i, t in enumerate(q):
        for p in set(pri):
            m = (
                (pri == p)
                & (created <= t)
                & ~((resolved != np.iinfo(np.int64).min) & (resolved <= t))
            )
            assert back[p][i] == m.sum()
        assert arr[i] == ((created <= t) & (created > t - 100 * S)).sum()


def test_staffing_now_and_horizon_mean():
    starts = pd.date_range(T0, periods=8, freq="60min")
    staffing = pd.DataFrame(
        {
            "interval_start": list(starts) * 2,
            "interval_minutes": 60,
            "team": ["a"] * 8 + ["b"] * 8,
            "agents": [1, 2, 3, 4, 5, 6, 7, 8] + [1.0] * 8,
        }
    )
    idx = StaffingIndex.build(staffing)
    t = np.array([(T0 + pd.Timedelta(minutes=m)).value for m in (0, 90, 200, 480, 600)])
    assert np.allclose(idx.total.at(t), [2, 3, 5, 0, 0])
    assert np.allclose(idx.teams["a"].at(t), [1, 2, 4, 0, 0])
    # mean over the next 4 h from 00:00: agents (1+2+3+4) + 4 x 1 over 4 h = 3.5 + 1
    assert np.isclose(idx.total.mean(t[:1], 4 * 3600 * S)[0], 3.5)
    # from 01:30: half of hour 1 (3), hours 2..4 (4,5,6), half of hour 5 (7) -> /4
    expected = (0.5 * 3 + 4 + 5 + 6 + 0.5 * 7) / 4
    assert np.isclose(idx.total.mean(t[1:2], 4 * 3600 * S)[0], expected)
    # past the roster: zeros
    assert idx.total.mean(t[-1:], 4 * 3600 * S)[0] == 0


def _obs(at: list[pd.Timestamp]) -> pd.DataFrame:
    n = len(at)
    return pd.DataFrame(
        {
            "ticket_id": [f"X{i}" for i in range(n)],
            "metric": "resolution",
            "at": pd.DatetimeIndex(at),
            "created_at": pd.DatetimeIndex(at) - pd.Timedelta(hours=1),
            "priority": "P1",
            "category": "net",
            "group": "g",
            "target_seconds": 4 * 3600.0,
            "elapsed_seconds": 3600.0,
            "due_at": pd.DatetimeIndex(at) + pd.Timedelta(hours=3),
        }
    )


def test_calendar_features_use_the_policy_timezone_and_holidays():
    tickets = pd.DataFrame(
        {"ticket_id": ["a"], "created_at": [T0], "resolved_at": [pd.NaT], "priority": ["P1"]}
    )
    cal = CalendarInfo("Europe/London", frozenset({date(2025, 6, 3)}))
    ctx = build_context(tickets, calendar=cal)
    # 2025-06-02 23:30 UTC = 2025-06-03 00:30 BST (Tuesday, the holiday)
    at = [pd.Timestamp("2025-06-02 23:30", tz="UTC"), pd.Timestamp("2025-06-02 12:00", tz="UTC")]
    X = build_features(_obs(at), ctx)
    assert np.allclose(X["hour"], [0.5, 13.0])
    assert list(X["weekday"]) == [1.0, 0.0]
    assert list(X["is_holiday"]) == [1.0, 0.0]
    assert np.allclose(X["elapsed_fraction"], 0.25)
    assert np.allclose(X["business_left_hours"], 3.0)
    assert np.allclose(X["wall_left_hours"], 3.0)
    assert np.allclose(X["age_hours"], 1.0)


def test_feature_frame_columns_and_missing_context_parts():
    tickets = pd.DataFrame(
        {
            "ticket_id": ["a", "b"],
            "created_at": [T0, T0 + pd.Timedelta(hours=1)],
            "resolved_at": [pd.NaT, T0 + pd.Timedelta(hours=2)],
            "priority": ["P1", "P2"],
        }
    )
    ctx = build_context(tickets)
    X = build_features(_obs([T0 + pd.Timedelta(minutes=90)]), ctx, priorities=["P1", "P2", "P3"])
    assert list(X.columns) == feature_names(["P1", "P2", "P3"])
    assert set(CATEGORICAL_FEATURES) | set(BASE_NUMERIC_FEATURES) <= set(X.columns)
    row = X.iloc[0]
    assert row["backlog_total"] == 2 and row["backlog_same_priority"] == 1
    assert row["backlog_p_P3"] == 0
    assert np.isnan(row["agents_now"]) and np.isnan(row["hist_breach_rate_category"])
    assert row["tier"] == "unknown"


def test_history_rates_count_only_outcomes_known_strictly_before_t():
    known = pd.DatetimeIndex([T0 + pd.Timedelta(hours=h) for h in (1, 2, 3)])
    outcomes = pd.DataFrame(
        {
            "metric": "resolution",
            "category": ["net", "net", "net"],
            "group": "g",
            "breached": [True, True, False],
            "known_at": known,
            "resolved_at": known,
            "resolution_seconds": [3600.0, 7200.0, 3600.0],
        }
    )
    tickets = pd.DataFrame(
        {"ticket_id": ["a"], "created_at": [T0], "resolved_at": [pd.NaT], "priority": ["P1"]}
    )
    ctx = build_context(tickets, outcomes=outcomes)
    at = [T0 + pd.Timedelta(hours=2), T0 + pd.Timedelta(hours=2, seconds=1)]
    X = build_features(_obs(at), ctx)
    # at exactly 02:00 only the 01:00 outcome is known; one second later, two
    assert list(X["hist_n_category"]) == [1.0, 2.0]
    prior = (np.array([1, 2]) + 1) / (np.array([1, 2]) + 2)  # metric-level, all past
    glob = (np.array([1, 2]) + 10 * prior) / (np.array([1, 2]) + 10)
    assert np.allclose(X["hist_breach_rate_metric"], glob)
    assert np.allclose(
        X["hist_breach_rate_category"], (np.array([1, 2]) + 10 * glob) / (np.array([1, 2]) + 10)
    )


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(
        ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
    ),
    # 2024-2027, dense around the 2025 DST changes too
    t=st.one_of(
        st.integers(1_704_067_200 * S, 1_830_297_600 * S),
        st.integers(1_743_285_600 * S - 7200 * S, 1_743_285_600 * S + 7200 * S),
        st.integers(1_761_440_400 * S - 7200 * S, 1_761_440_400 * S + 7200 * S),
    ),
)
def test_calendar_features_of_one_instant_equal_the_vectorised_ones(zone: str, t: int):
    from slarisk.risk.features import _calendar_features, calendar_features_at

    day = pd.Timestamp(t, tz="UTC").tz_convert(zone).date()
    cal = CalendarInfo(zone, frozenset({day, date(2025, 12, 25)}))
    # two instants: the vectorised conversion (one instant would take calendar_features_at)
    vec = _calendar_features(np.array([t, t + 86_400 * S + 1], dtype=np.int64), cal)
    one = calendar_features_at(t, cal)
    assert one == {k: float(v[0]) for k, v in vec.items()}  # bit for bit
    assert one["is_holiday"] == 1.0


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 48), st.sampled_from([15, 30, 60]), st.floats(0, 40)),
        min_size=1,
        max_size=12,
    ),
    t=st.integers(-5 * 3600, 60 * 3600),
)
def test_staffing_steps_of_one_instant_equal_the_vectorised_ones(rows, t: int):
    from slarisk.risk.feature_indexes import STAFF_HORIZON_NS

    frame = pd.DataFrame(
        {
            "interval_start": [T0 + pd.Timedelta(hours=h) for h, _, _ in rows],
            "interval_minutes": [m for _, m, _ in rows],
            "team": ["a" if i % 3 else "b" for i in range(len(rows))],
            "agents": [a for _, _, a in rows],
        },
    )
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    index = StaffingIndex.build(frame.drop_duplicates(["interval_start", "team"]))
    at = T0.value + t * S
    ta = np.array([at], dtype=np.int64)
    for steps in [index.total, *index.teams.values()]:
        assert steps.at_one(at) == float(steps.at(ta)[0])
        assert steps.mean_one(at, STAFF_HORIZON_NS) == float(steps.mean(ta, STAFF_HORIZON_NS)[0])
