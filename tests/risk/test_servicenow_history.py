"""Known-before-t features of ServiceNow incidents (small hand-made fixtures, no real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.risk.servicenow_history import (
    BREACH_PRIOR,
    PRIOR_WEIGHT,
    RECENT_FEATURES,
    history_features,
    recent_features,
    sums_before,
    window_sums,
)


def _ts(hours: float) -> pd.Timestamp:
    return pd.Timestamp("2016-03-01", tz="UTC") + pd.Timedelta(hours=hours)


def _tickets() -> pd.DataFrame:
    """Group g: incidents 1-4; caller A: 1, 2, 5. Incident 5 (group g, caller A, category
    net) is opened at 30 h: the observation instant of the tests."""
    nat = pd.NaT
    return pd.DataFrame(
        {
            "ticket_id": ["1", "2", "3", "4", "5", "6"],
            "created_at": [_ts(0), _ts(10), _ts(20), _ts(29.5), _ts(30), _ts(40)],
            "resolved_at": [_ts(2), _ts(25), _ts(35), nat, _ts(50), _ts(41)],
            "closed_at": pd.Series([nat] * 6, dtype="datetime64[ns, UTC]"),
            "source_made_sla": [False, True, True, None, True, False],
            "caller": ["A", "A", "B", "C", "A", "A"],
            "group": ["g", "g", "g", "g", "g", "g"],
            "category": ["net", "net", "db", "net", "net", "net"],
            "subcategory": ["s1", "s1", "s2", "s1", "s1", "s1"],
            "symptom": ["x", "y", "x", "x", "x", "x"],
        }
    )


def _obs_at(tickets: pd.DataFrame, i: int) -> pd.DataFrame:
    return tickets.iloc[[i]].assign(at=tickets["created_at"].iloc[[i]]).reset_index(drop=True)


def test_sums_and_windows_count_only_strictly_earlier_events():
    at = pd.Series([_ts(10), _ts(10)])
    when = pd.Series([_ts(0), _ts(9), _ts(10), _ts(3)])
    ev_keys = np.array(["a", "a", "a", "b"])
    r = sums_before(at, np.array(["a", "b"]), when, ev_keys, {"v": np.array([1.0, 2, 4, 8])})
    assert r["n"].tolist() == [2.0, 1.0] and r["v"].tolist() == [3.0, 8.0]  # 10 h excluded
    w = window_sums(at, np.array(["a", "b"]), when, ev_keys, {}, hours=5.0)
    assert w["n"].tolist() == [1.0, 0.0]  # [5 h, 10 h): the 9 h event of a only


def test_recent_features_of_a_small_desk():
    t = _tickets()
    f = recent_features(t, _obs_at(t, 4)).iloc[0]
    assert list(f.index) == list(RECENT_FEATURES)
    assert f["group_arrivals_1h"] == 1.0  # incident 4 at 29.5 h
    assert f["group_arrivals_24h"] == 3.0  # 2, 3, 4 (0 h is 30 h before)
    assert f["group_arrivals_7d"] == 4.0
    assert f["group_resolved_24h"] == 1.0  # incident 2 at 25 h; 1 resolved at 2 h (28 h ago)
    # the group's resolutions before 30 h: 2 h (incident 1) and 15 h (incident 2)
    logs = np.log1p([2.0, 15.0])
    assert f["group_log_resolution_median_20"] == pytest.approx(logs.mean())
    assert f["group_log_resolution_p90_20"] == pytest.approx(logs[0] + 0.9 * (logs[1] - logs[0]))
    assert f["group_breach_share_7d"] == pytest.approx(
        (1 + BREACH_PRIOR * PRIOR_WEIGHT) / (2 + PRIOR_WEIGHT)
    )
    assert f["group_log_resolution_mean_7d"] == pytest.approx(logs.mean())
    assert f["caller_previous"] == 2.0 and f["caller_opened_24h"] == 1.0
    assert f["caller_hours_since_last"] == pytest.approx(20.0)
    # category net: incidents 1 (breached) and 2 (met) resolved before; 3 is db
    assert f["category_breach_share_7d"] == pytest.approx(f["group_breach_share_7d"])
    assert f["subcategory_breach_share_7d"] == pytest.approx(f["group_breach_share_7d"])
    assert f["symptom_breach_share_7d"] == pytest.approx(  # symptom x: incident 1 only
        (1 + BREACH_PRIOR * PRIOR_WEIGHT) / (1 + PRIOR_WEIGHT)
    )
    first = recent_features(t, _obs_at(t, 0)).iloc[0]  # nothing before: empty history
    assert first["group_arrivals_7d"] == 0.0 and first["caller_previous"] == 0.0
    assert np.isnan(first["caller_hours_since_last"])
    assert np.isnan(first["group_log_resolution_median_20"])
    assert first["group_breach_share_7d"] == pytest.approx(BREACH_PRIOR)


def test_no_caller_gives_missing_caller_features():
    t = _tickets()
    t.loc[4, "caller"] = None
    f = recent_features(t, _obs_at(t, 4)).iloc[0]
    assert f[["caller_previous", "caller_opened_24h", "caller_hours_since_last"]].isna().all()


def test_features_at_t_do_not_change_when_rows_after_t_are_altered():
    """Observation at 30 h: alter everything known only at or after 30 h (outcomes and
    resolution times of incidents resolved later, incidents opened later, a new incident of
    the same group, caller and category): the features stay the same."""
    t = _tickets()
    obs = _obs_at(t, 4)
    before = pd.concat([recent_features(t, obs), history_features(t, obs)], axis=1)
    altered = t.copy()
    altered.loc[2, ["resolved_at", "source_made_sla"]] = [_ts(31), False]  # 3: still after 30 h
    altered.loc[3, ["resolved_at", "source_made_sla"]] = [_ts(30), False]  # 4: exactly at 30 h
    altered.loc[4, ["resolved_at", "source_made_sla"]] = [_ts(90), False]  # the observed one
    altered.loc[5, ["created_at", "resolved_at", "source_made_sla"]] = [_ts(30), _ts(30), True]
    extra = altered.iloc[[0]].assign(
        ticket_id="7", created_at=_ts(33), resolved_at=_ts(34), source_made_sla=False
    )
    altered = pd.concat([altered, extra], ignore_index=True)
    after = pd.concat([recent_features(altered, obs), history_features(altered, obs)], axis=1)
    pd.testing.assert_frame_equal(before, after)
    # and the same change before 30 h does move them (the test can fail)
    moved = t.copy()
    moved.loc[1, "source_made_sla"] = False
    changed = recent_features(moved, obs)
    assert changed["group_breach_share_7d"].iloc[0] != before["group_breach_share_7d"].iloc[0]
