"""Staffing estimated from call logs; dithered rosters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slarisk.capacity.patience import kaplan_meier
from slarisk.capacity.staffing_estimate import (
    STAFFING_METHODS,
    agent_sessions,
    dither_staffing,
    estimate_staffing,
)
from tests.capacity.call_log_samples import calls_frame, synthetic_log


def test_staffing_methods_on_a_hand_built_hour() -> None:
    calls = calls_frame(
        [
            # agent A works 09:00-09:50 in two calls with a 10-minute gap while B's caller waits
            ("A", "2024-01-01 09:00", "2024-01-01 09:20", 0, False, "2024-01-01 09:00"),
            ("A", "2024-01-01 09:30", "2024-01-01 09:50", 0, False, "2024-01-01 09:30"),
            # agent B serves 09:00-09:15 only
            ("B", "2024-01-01 09:00", "2024-01-01 09:15", 0, False, "2024-01-01 09:00"),
            # a caller waits 09:20-09:30 (10 minutes) and abandons
            ("NO_SERVER", "", "", 600, True, "2024-01-01 09:20"),
        ]
    )
    hour = pd.Timestamp("2024-01-01 09:00", tz="UTC")

    def at(method: str) -> float:
        s = estimate_staffing(calls, 60, method)  # type: ignore[arg-type]
        return float(s.loc[s["interval_start"] == hour, "agents"].iloc[0])

    assert at("distinct") == 2.0
    assert at("busy") == pytest.approx((40 + 15) / 60)
    assert at("span") == pytest.approx((50 + 15) / 60)  # A on duty 09:00-09:50, B 09:00-09:15
    assert at("available") == pytest.approx((50 + 15 - 10) / 60)  # A's gap while a caller waited
    sess = agent_sessions(calls, gap_seconds=300)  # a 10-minute gap splits A's session
    assert sess.groupby("server").size().to_dict() == {"A": 2, "B": 1}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=12))
def test_dither_keeps_the_mean(agents: list[float]) -> None:
    df = pd.DataFrame(
        {
            "interval_start": pd.date_range("2024-01-01", periods=len(agents), freq="h", tz="UTC"),
            "interval_minutes": 60,
            "team": "t",
            "agents": agents,
        }
    )
    d = dither_staffing(df, 6)
    assert len(d) == 10 * len(agents)
    assert (d["agents"] == np.round(d["agents"])).all()
    mean = d.groupby(d["interval_start"].dt.floor("h"))["agents"].mean().to_numpy()
    assert np.abs(mean - np.asarray(agents)).max() <= 0.05 + 1e-9


def test_staffing_invariants_on_a_log(tmp_path: Path) -> None:
    """0 <= available <= span in every hour; a censoring-free KM is the empirical survival."""
    from slarisk.data.calllog import load_call_log

    synthetic_log(tmp_path / "calls_1999_january.txt.gz", days=2, seed=3)
    calls = load_call_log(tmp_path / "calls_1999_january.txt.gz").calls
    est = {m: estimate_staffing(calls, 60, m)["agents"].to_numpy() for m in STAFFING_METHODS}
    assert (est["available"] >= 0).all()
    assert (est["available"] <= est["span"] + 1e-9).all()
    assert est["available"].sum() < est["span"].sum()  # some gaps while callers waited
    t = np.random.default_rng(0).exponential(60.0, 500).round()
    km = kaplan_meier(t, np.ones(len(t), dtype=bool))
    emp = [(t > x).mean() for x in km["time_seconds"]]
    assert km["survival"].to_numpy() == pytest.approx(emp)


def test_availability_by_load_learns_ratio_per_load_bin() -> None:
    from slarisk.capacity.staffing_estimate import availability_by_load, span_times_load_ratio

    calls = calls_frame(
        [
            # 09:00: A works 09:00-09:50 with a 10-minute gap while a caller waits; B 09:00-09:15
            ("A", "2024-01-01 09:00", "2024-01-01 09:20", 0, False, "2024-01-01 09:00"),
            ("A", "2024-01-01 09:30", "2024-01-01 09:50", 0, False, "2024-01-01 09:30"),
            ("B", "2024-01-01 09:00", "2024-01-01 09:15", 0, False, "2024-01-01 09:00"),
            ("NO_SERVER", "", "", 600, True, "2024-01-01 09:20"),
            # 11:00: C works 11:00-11:50 with a 10-minute gap and nobody waiting
            ("C", "2024-01-01 11:00", "2024-01-01 11:20", 0, False, "2024-01-01 11:00"),
            ("C", "2024-01-01 11:30", "2024-01-01 11:50", 0, False, "2024-01-01 11:30"),
        ]
    )
    calls["vru_exit_at"] = calls["queue_start_at"]
    # handle 1100 s: load 4 x 1100 / 3600 / (65/60) = 1.13 at 09:00 (bin 4), 0.73 at 11:00 (bin 2)
    ratio = availability_by_load(calls, 1100.0)
    assert abs(ratio[4] - 55 / 65) < 1e-9
    assert abs(ratio[2] - 1.0) < 1e-9
    assert abs(ratio[0] - 105 / 115) < 1e-9  # empty bins: the overall ratio
    span = estimate_staffing(calls, 60, "span")
    got = span_times_load_ratio(calls, span, ratio, 1100.0).set_index("interval_start")["agents"]
    av = estimate_staffing(calls, 60, "available").set_index("interval_start")["agents"]
    for h in ("2024-01-01 09:00", "2024-01-01 11:00"):
        t = pd.Timestamp(h, tz="UTC")
        assert abs(got[t] - av[t]) < 1e-9
