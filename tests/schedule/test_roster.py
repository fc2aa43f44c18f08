"""Named roster: every hard rule holds (hypothesis), partial rosters name the conflicting
rules, the same seed gives the same roster; the rule checker catches each rule."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.schedule.catalogue import expand_templates
from slarisk.schedule.demand import Requirement
from slarisk.schedule.plan import solve_plan
from slarisk.schedule.roster import solve_roster
from slarisk.schedule.rules import Assignment, agents_from_dict, check_roster
from tests.schedule.conftest import day_profile, small_catalogue

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

agent_st = st.fixed_dictionaries(
    {
        "teams": st.sampled_from([["a"], ["b"], ["a", "b"]]),
        "min_hours": st.sampled_from([0, 8, 16, 24]),
        "max_hours": st.sampled_from([24, 32, 40]),
        "days": st.lists(st.sampled_from(DAYS), min_size=3, max_size=7, unique=True),
        "nights": st.booleans(),
        "weekends_worked": st.integers(0, 3),
    }
)
rules_st = st.fixed_dictionaries(
    {
        "min_rest_hours": st.sampled_from([8, 11, 12]),
        "max_consecutive_days": st.integers(3, 6),
        "min_days_off": st.integers(1, 3),
        "paired_weekend_off": st.booleans(),
        "max_nights": st.sampled_from([None, 1, 2]),
        "cyclic_week": st.booleans(),
    }
)


def _plan(seed: int, peak: int) -> Any:
    cat = small_catalogue(("a", "b"))
    rng = np.random.default_rng(seed)
    req = Requirement(("a", "b"), np.stack([day_profile(peak, rng), day_profile(1, rng)]), 60)
    return solve_plan(req, cat, time_limit=5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    agents=st.lists(agent_st, min_size=2, max_size=7),
    rules=rules_st,
    seed=st.integers(0, 50),
    peak=st.integers(1, 3),
)
def test_every_hard_rule_holds_or_is_named(agents, rules, seed, peak) -> None:
    plan = _plan(seed, peak)
    people = agents_from_dict(
        {"rules": rules, "agents": [{"id": f"A{i}", **a} for i, a in enumerate(agents)]}
    )
    r = solve_roster(plan, people, seed=1, time_limit=2)
    assert r.status in ("OPTIMAL", "FEASIBLE")
    # the roster's own report agrees with an independent check
    assert list(r.violations) == check_roster(list(r.assignments), people, plan.interval_minutes)
    broken = {f"{v.agent_id}: {v.rule}" for v in r.violations}
    assert broken <= set(r.conflicts)  # every broken rule is named as conflicting
    if not r.conflicts:
        assert r.violations == ()
    # breaks inside their windows, never more shifts than planned
    for a in r.assignments:
        for w, o in zip(a.template.breaks, a.breaks, strict=True):
            assert w.first <= o <= w.last
    planned = {(p.day, p.template.index): p.count for p in plan.shifts}
    used: dict[tuple[int, int], int] = {}
    for a in r.assignments:
        key = (a.day, a.template.index)
        used[key] = used.get(key, 0) + 1
    assert all(used[k] <= planned[k] for k in used)
    left = {(u.day, u.template.index): u.count for u in r.unfilled}
    assert all(used.get(k, 0) + left.get(k, 0) == n for k, n in planned.items())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    agents=st.lists(agent_st, min_size=2, max_size=8),
    rules=rules_st,
    seed=st.integers(0, 50),
    peak=st.integers(1, 3),
)
def test_satisfiable_instances_get_zero_violations(agents, rules, seed, peak) -> None:
    """Without minimum hours every rule can be met (an agent may stay home), so the roster
    must meet every hard rule: no conflicts, no violations."""
    plan = _plan(seed, peak)
    people = agents_from_dict(
        {
            "rules": rules,
            "agents": [{"id": f"A{i}", **a, "min_hours": 0} for i, a in enumerate(agents)],
        }
    )
    r = solve_roster(plan, people, seed=3, time_limit=2)
    assert r.status in ("OPTIMAL", "FEASIBLE")
    assert r.conflicts == ()
    assert check_roster(list(r.assignments), people, plan.interval_minutes) == []


def test_feasible_instance_has_zero_violations() -> None:
    plan = _plan(3, 2)
    people = agents_from_dict(
        {
            "agents": [
                {"id": f"P{i}", "teams": ["a", "b"], "min_hours": 0, "max_hours": 40}
                for i in range(14)
            ]
        }
    )
    r = solve_roster(plan, people, seed=2, time_limit=3)
    assert r.conflicts == () and r.violations == ()
    assert not r.proven_infeasible
    assert len(r.assignments) > 0


def test_infeasible_contract_gives_partial_roster_and_names_rule() -> None:
    plan = _plan(1, 2)
    people = agents_from_dict(
        {
            "rules": {"min_days_off": 2},
            "agents": [
                # 40 h in two available days cannot be done with 8-hour shifts
                {"id": "short", "teams": ["a"], "min_hours": 40, "days": ["mon", "tue"]},
                {"id": "ok1", "teams": ["a", "b"], "min_hours": 0},
                {"id": "ok2", "teams": ["a", "b"], "min_hours": 0},
            ],
        }
    )
    r = solve_roster(plan, people, seed=0, time_limit=3)
    assert r.status in ("OPTIMAL", "FEASIBLE")
    assert "short: min_weekly_hours" in r.conflicts
    assert r.proven_infeasible  # CP-SAT proved that no roster meets every rule
    assert {v.rule for v in r.violations} == {"min_weekly_hours"}
    assert len(r.assignments) > 0  # a partial roster, not a bare "infeasible"
    unmet = r.unmet_frame()
    assert {"required", "planned", "rostered", "unmet"} <= set(unmet.columns)
    assert unmet["unmet"].sum() > 0  # three people cannot staff the whole week


def test_same_seed_same_roster() -> None:
    plan = _plan(7, 2)
    people = agents_from_dict(
        {
            "agents": [
                {"id": f"P{i}", "teams": ["a", "b"] if i % 2 else ["a"], "min_hours": 16}
                for i in range(10)
            ]
        }
    )
    one = solve_roster(plan, people, seed=5, workers=2, time_limit=2)
    two = solve_roster(plan, people, seed=5, workers=2, time_limit=2)
    assert one.assignments == two.assignments
    assert one.assignments_frame().equals(two.assignments_frame())


def test_checker_names_each_rule() -> None:
    ts: dict[str, Any] = {}
    for t in expand_templates(small_catalogue(("a",))):
        ts.setdefault(t.type, t)  # the earliest start of each type
    people = agents_from_dict(
        {
            "rules": {
                "min_rest_hours": 11,
                "max_consecutive_days": 3,
                "min_days_off": 2,
                "paired_weekend_off": True,
                "max_nights": 1,
                "cyclic_week": False,
            },
            "agents": [
                {"id": "x", "teams": ["a"], "max_hours": 30, "nights": True},
                {"id": "y", "teams": ["b"], "days": ["mon"], "nights": False, "min_hours": 10},
            ],
        }
    )
    late, day, night = ts["late"], ts["day"], ts["night"]
    rows = [
        Assignment("x", 0, late, (3,)),  # late Monday (ends 22:00) ...
        Assignment("x", 1, day, (3,)),  # ... day Tuesday from 06:00: 8 h rest
        Assignment("x", 2, night, ()),
        Assignment("x", 3, night, ()),  # two nights
        Assignment("x", 5, day, (6,)),  # lunch outside its window; Saturday without Sunday
        Assignment("y", 2, night, ()),  # wrong team, unavailable day, no nights allowed
    ]
    found = {(v.agent_id, v.rule) for v in check_roster(rows, people, 60)}
    assert found == {
        ("x", "min_rest"),
        ("x", "max_consecutive_days"),
        ("x", "max_nights"),
        ("x", "break_window"),
        ("x", "paired_weekend_off"),
        ("x", "max_weekly_hours"),
        ("y", "skills"),
        ("y", "availability"),
        ("y", "nights_allowed"),
        ("y", "min_weekly_hours"),
    }
