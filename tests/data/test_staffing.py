"""Shifts -> interval staffing: exact against a plain per-shift reference."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from slarisk.data import schema as s
from slarisk.data.staffing import shifts_to_intervals
from slarisk.data.validate import validate_shifts

T0 = pd.Timestamp("2024-03-04", tz="UTC")


def _reference(
    shifts: list[tuple[str, int, int, int, int]], edges: list[int], team: str
) -> list[float]:
    """Obviously correct: overlap minutes of each shift (minus break) with each interval."""
    out = []
    for a, b in itertools.pairwise(edges):
        total = 0
        for t, start, end, bs, be in shifts:
            if t == team:
                total += max(min(b, end) - max(a, start), 0) - max(min(b, be) - max(a, bs), 0)
        out.append(total / (b - a))
    return out


def test_example_with_break_and_partial_intervals() -> None:
    raw = pd.DataFrame(
        {
            "agent_id": ["a", "b"],
            "team": ["x", "x"],
            "start": ["2024-03-04 09:00", "2024-03-04 09:10"],
            "end": ["2024-03-04 10:00", "2024-03-04 09:40"],
            "break_start": ["2024-03-04 09:15", ""],
            "break_end": ["2024-03-04 09:30", ""],
        }
    )
    shifts = validate_shifts(raw, "s.csv").accepted
    out = shifts_to_intervals(shifts, 15)
    assert list(out.columns) == list(s.STAFFING_COLUMNS)
    np.testing.assert_allclose(out[s.AGENTS], [1 + 5 / 15, 1.0, 1 + 10 / 15, 1.0])
    assert str(out[s.INTERVAL_START].dtype) == s.TIMESTAMP_DTYPE
    # agent-hours are conserved: 45 min + 30 min
    assert out[s.AGENTS].sum() * 0.25 == 1.25


def test_shift_checks_quarantine() -> None:
    raw = pd.DataFrame(
        {
            "agent_id": ["a", "b", "c", ""],
            "start": ["2024-03-04 09:00"] * 4,
            "end": ["2024-03-04 08:00", "2024-03-04 17:00", "2024-03-04 17:00", "2024-03-04 17:00"],
            "break_start": ["", "2024-03-04 12:00", "2024-03-04 18:00", ""],
            "break_end": ["", "", "2024-03-04 18:30", ""],
        }
    )
    r = validate_shifts(raw, "s.csv")
    assert r.n_accepted == 0
    assert list(r.quarantined["reason"]) == [
        "end not after start",
        "break has only one end",
        "break outside the shift",
        "missing agent_id",
    ]


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["x", "y"]),
            st.integers(0, 600),
            st.integers(1, 600),
            st.one_of(st.none(), st.tuples(st.integers(0, 599), st.integers(1, 120))),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([5, 15, 30, 60]),
)
def test_matches_reference(rows: list[tuple], minutes: int) -> None:  # type: ignore[type-arg]
    recs, plain = [], []
    for i, (team, start, length, brk) in enumerate(rows):
        bs = be = start  # an empty break
        if brk is not None and length > 1:
            off, blen = brk
            bs = start + off % length
            be = min(bs + blen, start + length)
        has_break = be > bs
        recs.append(
            {
                "agent_id": f"a{i}",
                "team": team,
                "start": T0 + pd.Timedelta(minutes=start),
                "end": T0 + pd.Timedelta(minutes=start + length),
                "break_start": T0 + pd.Timedelta(minutes=bs) if has_break else pd.NaT,
                "break_end": T0 + pd.Timedelta(minutes=be) if has_break else pd.NaT,
            }
        )
        plain.append((team, start, start + length, bs, be))
    shifts = validate_shifts(pd.DataFrame(recs), "h").accepted
    assert len(shifts) == len(recs)
    out = shifts_to_intervals(shifts, minutes)
    for team, part in out.groupby("team"):
        offsets = ((part[s.INTERVAL_START] - T0) / pd.Timedelta(minutes=1)).astype(int).tolist()
        edges = [*offsets, offsets[-1] + minutes]
        np.testing.assert_allclose(part[s.AGENTS], _reference(plain, edges, str(team)), atol=1e-9)
