"""Shift plan MIP: LP bound, break windows, coverage, and a brute-force optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from slarisk.errors import InputError
from slarisk.schedule.catalogue import catalogue_from_dict, expand_templates
from slarisk.schedule.demand import Requirement, requirement_from_frame
from slarisk.schedule.plan import coverage, solve_plan


def test_templates_expand_every_start_and_team(catalogue) -> None:
    ts = expand_templates(catalogue)
    # day: 06, 08, 10; late: 14; night: 22; part: 08, 12, 16
    assert [t.type for t in ts].count("day") == 3
    assert [t.type for t in ts].count("part") == 3
    day = next(t for t in ts if t.type == "day")
    assert day.paid_hours == 7.0 and day.cost == 140.0
    assert day.breaks[0].first == 3 and day.breaks[0].last == 5


def test_overlapping_break_windows_are_rejected() -> None:
    bad = {
        "interval_minutes": 15,
        "shift_types": [
            {
                "name": "x",
                "teams": ["t"],
                "length_hours": 8,
                "earliest_start": "08:00",
                "latest_start": "08:00",
                "cost_per_hour": 10,
                "breaks": [
                    {"name": "a", "minutes": 30, "window": ["02:00", "04:00"]},
                    {"name": "b", "minutes": 15, "window": ["03:00", "05:00"]},
                ],
            }
        ],
    }
    with pytest.raises(InputError, match="overlaps"):
        catalogue_from_dict(bad)


def test_requirement_table_pools_queues_into_teams() -> None:
    cat = catalogue_from_dict(
        {
            "interval_minutes": 15,
            "teams": {"voice": ["phone", "chat"]},
            "shift_types": [
                {
                    "name": "d",
                    "teams": ["voice"],
                    "length_hours": 8,
                    "earliest_start": "08:00",
                    "latest_start": "08:00",
                    "cost_per_hour": 10,
                }
            ],
        }
    )
    df = pd.DataFrame(
        {
            "interval_start": ["2024-01-01T09:00:00Z", "2024-01-01T09:30:00Z"] * 2,
            "queue": ["phone", "phone", "chat", "chat"],
            "agents": [2, 3, 1, 1],
        }
    )
    req = requirement_from_frame(df, cat)
    assert req.teams == ("voice",)
    v = req.of("voice")
    assert v[36] == v[37] == 3  # 09:00 and 09:15 (30-min rows repeated on the 15-min grid)
    assert v[38] == v[39] == 4
    assert v.sum() == 14


def test_plan_objective_at_least_lp_bound_and_breaks_in_windows(catalogue, requirement) -> None:
    plan = solve_plan(requirement, catalogue, time_limit=20)
    assert plan.objective >= plan.lp_bound - 1e-6
    assert plan.objective >= plan.mip_dual_bound - 1e-6
    assert plan.lp_bound <= plan.mip_dual_bound + 1e-6
    for p in plan.shifts:
        assert p.count > 0
        for w, places in zip(p.template.breaks, p.breaks, strict=True):
            assert sum(n for _, n in places) == p.count  # every shift gets each break once
            assert all(w.first <= o <= w.last for o, _ in places)
    sched = plan.scheduled()
    short = np.maximum(requirement.agents - sched, 0).sum()
    assert plan.shortage_hours == pytest.approx(short)
    assert plan.shift_cost == pytest.approx(sum(p.count * p.template.cost for p in plan.shifts))
    frame = plan.shifts_frame()
    assert frame["count"].sum() == sum(p.count for p in plan.shifts)


def test_tiny_plan_matches_brute_force() -> None:
    """One day shift type with a two-position break window, Monday only: enumerate all."""
    cat = catalogue_from_dict(
        {
            "interval_minutes": 60,
            "shortage_cost_per_hour": 30,
            "shift_types": [
                {
                    "name": "s",
                    "teams": ["desk"],
                    "length_hours": 4,
                    "earliest_start": "08:00",
                    "latest_start": "10:00",
                    "start_step_minutes": 120,
                    "days": ["mon"],
                    "cost_per_hour": 10,
                    "breaks": [
                        {"name": "b", "minutes": 60, "paid": True, "window": ["01:00", "02:00"]}
                    ],
                }
            ],
        }
    )
    need = np.zeros(168)
    need[8:14] = [1, 2, 2, 1, 2, 1]
    req = Requirement(("desk",), need[None, :], 60)
    plan = solve_plan(req, cat, time_limit=20, mip_rel_gap=0.0)
    ts = expand_templates(cat)
    best = np.inf
    for counts in itertools.product(range(4), repeat=len(ts)):
        # per template: how many take the break at the first window position
        for firsts in itertools.product(*(range(c + 1) for c in counts)):
            cov = np.zeros(168)
            cost = 0.0
            for t, c, f in zip(ts, counts, firsts, strict=True):
                cov[t.start : t.end] += c
                w = t.breaks[0]
                cov[t.start + w.first] -= f
                cov[t.start + w.last] -= c - f
                cost += c * t.cost
            cost += 30 * np.maximum(need - cov, 0).sum()
            best = min(best, cost)
    assert plan.objective == pytest.approx(best)


def test_coverage_of_an_overnight_shift_wraps_the_week(catalogue) -> None:
    night = next(t for t in expand_templates(catalogue) if t.type == "night")
    from slarisk.schedule.plan import PlannedShift

    cov = coverage((PlannedShift(6, night, 2, ()),), ("desk",), 168, 60)
    assert cov[0, 6 * 24 + 22] == 2 and cov[0, 0] == 2 and cov[0, 5] == 2 and cov[0, 6] == 0


def test_head_limits_hold_even_when_the_requirement_wants_more() -> None:
    from tests.schedule.conftest import day_profile, small_catalogue

    data = small_catalogue().model_dump()
    for st in data["shift_types"]:
        st["max_heads"] = 2 if st["name"] == "part" else None
        if st["name"] == "day":
            st["min_heads"] = 1
    cat = catalogue_from_dict(data)
    req = Requirement(("desk",), day_profile(6)[None, :], 60)
    plan = solve_plan(req, cat, time_limit=10)
    per_day: dict[tuple[str, int], int] = {}
    for p in plan.shifts:
        key = (p.template.type, p.day)
        per_day[key] = per_day.get(key, 0) + p.count
    assert all(n <= 2 for (typ, _d), n in per_day.items() if typ == "part")
    assert all(per_day.get(("day", d), 0) >= 1 for d in range(7))


def test_max_break_share_spreads_breaks() -> None:
    shift = {
        "name": "s",
        "teams": ["desk"],
        "length_hours": 8,
        "earliest_start": "08:00",
        "latest_start": "08:00",
        "days": ["mon"],
        "cost_per_hour": 10,
        "breaks": [{"name": "b", "minutes": 60, "paid": True, "window": ["02:00", "05:00"]}],
    }
    cat = catalogue_from_dict(
        {"interval_minutes": 60, "max_break_share": 0.34, "shift_types": [shift]}
    )
    need = np.zeros(168)
    need[8:10] = need[14:16] = 3  # nobody needed while breaks fall (10:00-14:00)
    plan = solve_plan(Requirement(("desk",), need[None, :], 60), cat, time_limit=10)
    (p,) = plan.shifts
    assert p.count == 3
    (places,) = p.breaks
    assert all(n <= 1 for _o, n in places)  # at most one of three on a break at once
    assert plan.shortage_hours == 0


def test_same_input_same_plan_whatever_the_time_cap() -> None:
    """The plan stops on deterministic limits, not the clock: the same input gives the same
    plan under a short and a long cap (before, a 4 s cap skipped the full MIP and gave a
    dearer plan); neither is stopped by the cap."""
    from tests.schedule.conftest import day_profile, small_catalogue

    cat = small_catalogue(("a", "b"))
    rng = np.random.default_rng(3)
    req = Requirement(("a", "b"), np.stack([day_profile(6, rng), day_profile(4, rng)]), 60)
    short = solve_plan(req, cat, time_limit=4)
    again = solve_plan(req, cat, time_limit=4)
    long = solve_plan(req, cat, time_limit=60)
    assert not (short.time_capped or again.time_capped or long.time_capped)
    assert short.shifts == again.shifts == long.shifts
    assert short.objective == long.objective and short.status == long.status == "Optimal"
    assert short.shifts_frame().equals(long.shifts_frame())


def test_same_input_same_plan_and_roster_twice() -> None:
    """Plan and roster twice from the same input, seed and workers: equal."""
    from slarisk.schedule.roster import solve_roster
    from slarisk.schedule.rules import agents_from_dict
    from tests.schedule.conftest import day_profile, small_catalogue

    cat = small_catalogue(("a",))
    req = Requirement(("a",), day_profile(2)[None, :], 60)
    people = agents_from_dict(
        {"agents": [{"id": f"P{i}", "teams": ["a"], "max_hours": 40} for i in range(12)]}
    )
    plans = [solve_plan(req, cat, time_limit=10) for _ in range(2)]
    assert plans[0].shifts == plans[1].shifts and not plans[0].time_capped
    rosters = [solve_roster(p, people, seed=3, workers=1, time_limit=1) for p in plans]
    assert rosters[0].assignments == rosters[1].assignments
    assert rosters[0].assignments_frame().equals(rosters[1].assignments_frame())


def test_a_floor_is_covered_when_the_shortage_penalty_alone_is_cheaper(catalogue) -> None:
    # one agent needed on Monday 10:00-12:00: 2 short hours at 10 cost less than any shift
    cheap = catalogue.model_copy(update={"shortage_cost_per_hour": 10.0})
    agents = np.zeros((1, 168))
    agents[0, 10:12] = 1.0
    req = Requirement(("desk",), agents, 60)
    plain = solve_plan(req, cheap, time_limit=10)
    assert plain.shifts == () and plain.shortage_hours == pytest.approx(2.0)
    floor = np.zeros_like(agents)
    floor[0, 10] = 1.0  # the floor may be below the requirement, or above it (Monday 13:00)
    floor[0, 13] = 1.0
    plan = solve_plan(req, cheap, time_limit=10, floor=floor)
    cover = plan.scheduled()
    assert cover[0, 10] >= 1 and cover[0, 13] >= 1  # the floor is reached
    assert plan.required[0, 13] == 1.0  # the requirement is raised to the floor
    assert plan.shift_cost == pytest.approx(140.0)  # one day shift covers both (2 part: 168)
    assert plan.lp_bound <= plan.objective + 1e-6
    with pytest.raises(ValueError, match="shape"):
        solve_plan(req, cheap, floor=floor[:, :24])
