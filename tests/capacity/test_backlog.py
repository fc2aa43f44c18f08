"""Backlog-aware (fluid FIFO) staffing: properties, a brute-force delay oracle, hand examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slarisk.capacity.backlog import backlog_requirements, fifo_max_delay, simulate_backlog

HOUR = 3600.0


def brute_force_max_delay(work: np.ndarray, capacity: np.ndarray, L: float, steps: int = 400):
    """Fine time grid: cumulative arrivals A and completions D; delay of each arrival instant is
    the first grid time with D >= A(s), minus s. Accurate to L / steps."""
    t_count = len(work)
    dt = L / steps
    a_rate = np.repeat(work / steps, steps)
    c_rate = np.repeat(capacity / steps, steps)
    a_cum = np.concatenate([[0.0], np.cumsum(a_rate)])
    d = np.zeros_like(a_cum)
    backlog = 0.0
    for k in range(len(a_rate)):
        done = min(c_rate[k], backlog + a_rate[k])
        backlog += a_rate[k] - done
        d[k + 1] = d[k] + done
    out = np.zeros(t_count)
    for i in range(t_count):
        if work[i] <= 0:
            continue
        worst = 0.0
        for k in range(i * steps, (i + 1) * steps + 1):
            level = a_cum[k] - 1e-9 * max(1.0, a_cum[-1])
            hit = np.searchsorted(d, level, side="left")
            if hit >= len(d):
                return_inf = np.inf
                worst = return_inf
                break
            worst = max(worst, (hit - k) * dt)
        out[i] = worst
    return out


volumes = st.lists(st.integers(0, 40), min_size=1, max_size=16)


@settings(max_examples=40, deadline=None)
@given(volumes, st.integers(1, 6), st.lists(st.integers(0, 3), min_size=16, max_size=16))
def test_more_agents_never_increase_backlog(vol: list[int], base: int, extra: list[int]) -> None:
    work = np.array(vol, float) * 1800
    n = np.full(len(vol), base)
    more = n + np.array(extra[: len(vol)])
    _, done1, back1 = simulate_backlog(work, n, HOUR)
    _, done2, back2 = simulate_backlog(work, more, HOUR)
    assert np.all(back2 <= back1 + 1e-9)
    assert np.all(np.cumsum(done2) >= np.cumsum(done1) - 1e-9)


@settings(max_examples=40, deadline=None)
@given(volumes, st.integers(0, 8), st.floats(0.0, 50_000.0))
def test_conservation_of_work(vol: list[int], agents: int, b0: float) -> None:
    work = np.array(vol, float) * 1234.5
    cap, done, back = simulate_backlog(work, np.full(len(vol), agents), HOUR, initial_backlog=b0)
    assert b0 + work.sum() == pytest.approx(done.sum() + back[-1, 0], rel=1e-12, abs=1e-6)
    assert np.all(done <= cap + 1e-9) and np.all(back >= 0)


def test_zero_arrivals_zero_requirement() -> None:
    res = backlog_requirements(np.zeros((24, 3)), 1800, HOUR, 8 * HOUR, shrinkage=0.3)
    assert res.agents.sum() == 0 and res.backlog.sum() == 0 and res.max_delay.sum() == 0
    cyc = backlog_requirements(np.zeros(10), 600, HOUR, 2 * HOUR, cyclic=True)
    assert cyc.agents.sum() == 0


def test_hand_example_requirement_is_arrivals_shifted_by_target() -> None:
    """Target 4 h on hourly intervals: the work of hour i is done just in time in hour i + 4."""
    vol = np.array([10, 20, 30, 5, 0, 0, 40, 10], float)  # tickets, 30 min of work each
    res = backlog_requirements(vol, 1800, HOUR, 4 * HOUR)
    expected = np.concatenate([[0, 0, 0, 0], np.ceil(vol[:4] / 2)])  # 5 tickets: 3 agents
    assert res.agents_raw[:, 0].tolist() == expected.tolist()
    assert res.max_delay[:4, 0] == pytest.approx([4 * HOUR] * 4)
    assert np.isinf(res.max_delay[6:, 0]).all()  # due after the horizon: carried over
    # the rounding surplus of hour 7 (3 agents for 2.5 h) starts on hour 6's work
    assert res.backlog[-1, 0] == pytest.approx((40 + 10) * 1800 - 0.5 * HOUR)
    # 80 % occupancy: cumulative agent-hours just cover cumulative due work / 0.8 (the rounding
    # surplus of one hour carries to the next); 25 % shrinkage scales scheduled agents
    res2 = backlog_requirements(vol, 1800, HOUR, 4 * HOUR, shrinkage=0.25, max_occupancy=0.8)
    cum = np.ceil(np.cumsum(vol[:4] / 2) / 0.8 - 1e-9)
    assert res2.agents_raw[4:, 0].tolist() == np.diff(cum, prepend=0).tolist() == [7, 12, 19, 3]
    assert res2.agents[4:, 0].tolist() == np.ceil(res2.agents_raw[4:, 0] / 0.75 - 1e-9).tolist()


@settings(max_examples=25, deadline=None)
@given(volumes, st.sampled_from([0.5, 1.0, 2.5, 3.0, 4.75]))
def test_greedy_meets_target_and_is_minimal(vol: list[int], target_h: float) -> None:
    H = target_h * HOUR
    aht = 900.0
    work = np.array(vol, float) * aht
    res = backlog_requirements(np.array(vol, float), aht, HOUR, H)
    t_count = len(vol)
    # every piece of work whose deadline lies inside the horizon is done in time
    due_inside = (np.arange(t_count) + 1) * HOUR + H <= t_count * HOUR + 1e-9
    assert np.all(res.max_delay[due_inside, 0] <= H + 1e-6)
    # one agent fewer in any staffed interval misses a deadline
    for j in np.flatnonzero(res.agents_raw[:, 0] > 0):
        fewer = res.agents_raw[:, 0].copy()
        fewer[j] -= 1
        delay = fifo_max_delay(work, fewer * HOUR, HOUR)[:, 0]
        assert np.any(delay > H + 1e-6), j


@settings(max_examples=40, deadline=None)
@given(volumes, st.lists(st.integers(0, 6), min_size=16, max_size=16))
@example(vol=[0, 0, 0, 0, 1, 0], agents=[0, 0, 0, 0, 0, 1] + [0] * 10)  # no capacity on arrival
@example(vol=[1, 2, 2, 0], agents=[0, 1, 0, 3] + [0] * 12)  # flat completions: inverse jumps
@example(vol=[0, 3, 3, 0, 0], agents=[2, 2, 0, 0, 3] + [0] * 11)
def test_fifo_max_delay_matches_brute_force(vol: list[int], agents: list[int]) -> None:
    work = np.array(vol, float) * 1800
    cap = np.array(agents[: len(vol)], float) * HOUR
    fast = fifo_max_delay(work, cap, HOUR)[:, 0]
    slow = brute_force_max_delay(work, cap, HOUR, steps=120)
    finite = np.isfinite(slow)
    assert np.array_equal(np.isfinite(fast), finite)
    assert np.allclose(fast[finite], slow[finite], atol=2 * HOUR / 120)


def test_cyclic_pattern_is_steady_and_meets_target() -> None:
    day = np.array([0, 0, 5, 20, 40, 30, 10, 0], float)
    res = backlog_requirements(np.column_stack([day, day[::-1]]), 1200, HOUR, 3 * HOUR, cyclic=True)
    assert np.all(np.isfinite(res.max_delay)) and np.all(res.max_delay <= 3 * HOUR + 1e-6)
    # steady state: a period's total capacity covers a period's work
    assert np.all(res.capacity.sum(axis=0) >= res.work.sum(axis=0) - 1e-6)
    assert res.agents_raw[:2, 0].sum() > 0  # yesterday's evening work is done this morning


def test_initial_backlog_is_due_first() -> None:
    res = backlog_requirements(np.zeros(6), 600, HOUR, 2 * HOUR, initial_backlog=4 * HOUR)
    assert res.agents_raw[:, 0].tolist() == [0, 4, 0, 0, 0, 0]


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="target"):
        backlog_requirements([1.0], 60, HOUR, 0)
    with pytest.raises(ValueError, match=">= 0"):
        backlog_requirements([-1.0], 60, HOUR, HOUR)
