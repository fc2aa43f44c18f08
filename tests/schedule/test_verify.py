"""Simulation check of a roster (tiny scenario): staffing fed as weekly rows, attainment with
95% intervals, the repair loop only ever raises the requirement where it re-plans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.errors import InputError
from slarisk.schedule.catalogue import catalogue_from_dict
from slarisk.schedule.demand import Requirement
from slarisk.schedule.plan import solve_plan
from slarisk.schedule.report import schedule_page
from slarisk.schedule.roster import solve_roster
from slarisk.schedule.rules import agents_from_dict
from slarisk.schedule.verify import scenario_mapping_for, verify_and_repair
from slarisk.sla.policy import load_policy
from tests.schedule.conftest import day_profile, small_catalogue

ROOT = Path(__file__).resolve().parents[2]


def _inputs() -> tuple[dict, Requirement, object, object]:
    base = yaml.safe_load((ROOT / "simulations" / "tiny.yaml").read_text())
    # the catalogue in the scenario's timezone: the roster's local times are the scenario's
    cat = small_catalogue(("desk",)).model_copy(update={"timezone": base["timezone"]})
    req = Requirement(("desk",), day_profile(2)[None, :], 60)
    people = agents_from_dict(
        {"agents": [{"id": f"P{i}", "teams": ["desk"], "max_hours": 40} for i in range(16)]}
    )
    return base, req, cat, people


def test_roster_becomes_weekly_staffing_of_the_scenario() -> None:
    base, req, cat, people = _inputs()
    roster = solve_roster(solve_plan(req, cat, time_limit=5), people, time_limit=3)
    d = scenario_mapping_for(base, roster, weeks=1)
    sc = scenario_from_dict(d, path="x", base_dir=str(ROOT / "simulations"))
    (row,) = sc.staffing.weekly or []
    assert row.team == "desk" and row.interval_minutes == 60
    assert np.allclose(row.agents, roster.rostered()[0])
    assert sc.horizon_seconds == 7 * 86400
    assert [c.name for c in sc.classes] == [c["name"] for c in base["classes"]]


def test_scenario_in_another_timezone_than_the_catalogue_is_refused() -> None:
    base, req, cat, people = _inputs()
    utc = cat.model_copy(update={"timezone": "UTC"})
    with pytest.raises(InputError, match="timezone 'Europe/London' differs from the catalogue"):
        verify_and_repair(base, req, utc, people, base_dir=str(ROOT / "simulations"))


def test_verify_and_repair_reports_attainment_and_raises_requirement() -> None:
    base, req, cat, people = _inputs()
    weak = Requirement(req.teams, (req.agents > 0).astype(float), 60)  # 1 agent: too few
    fractions: list[float] = []
    v = verify_and_repair(
        base,
        weak,
        cat,
        people,
        base_dir=str(ROOT / "simulations"),
        replications=3,
        weeks=1,
        max_rounds=1,
        plan_time=5,
        roster_time=3,
        fraction=fractions.append,
    )
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] == 1.0
    assert len(fractions) == 2 * (2 + 3)  # per round: plan, roster, each replication
    first = v.rounds[0]
    assert {"class", "metric", "goal", "lo", "hi", "met"} <= set(first.attainment.columns)
    assert first.ok == bool((first.attainment["lo"] >= first.attainment["goal"] - 1e-12).all())
    assert np.array_equal(first.needed, weak.agents)
    assert not first.ok and len(v.rounds) == 2  # round 0 fails; one repair round (budget)
    assert (v.rounds[1].needed >= first.needed).all()
    assert v.rounds[1].needed.sum() > first.needed.sum()
    assert v.rounds[1].cost > first.cost
    for r in v.rounds:  # busy / present agents: a fraction
        assert r.occupancy.min() >= 0 and r.occupancy.max() <= 1 + 1e-9, r.occupancy.max()
    html = schedule_page(v.final.roster, title="tiny <desk>", verification=v)
    assert "tiny &lt;desk&gt;" in html and "<img" in html


#: a toy desk: 40 gold P1 tickets a weekday between 08:00 and 18:00 (UTC), first response due
#: within 15 minutes 24x7 (policies/default.yaml)
TOY: dict = {
    "name": "toy",
    "start": "2026-10-05T00:00:00Z",
    "timezone": "UTC",
    "horizon_days": 7,
    "dispatch": "priority",
    "classes": [
        {
            "name": "p1",
            "priority": "P1",
            "tier": "gold",
            "share": 1.0,
            "handle": {"dist": "exponential", "mean": 10, "unit": "minutes"},
        }
    ],
    "arrivals": {
        "tickets_per_week": 200,
        "weekday_weights": [1, 1, 1, 1, 1, 0, 0],
        "hour_weights": [0] * 8 + [1] * 10 + [0] * 6,
    },
}


def _toy(agents: int, *, people: int = 12, hours: tuple[int, int] = (8, 18), **shift: object):
    """The toy desk's requirement (`agents` on weekdays in `hours`), an 8-hour shift of 200
    against a shortage penalty of 60 per agent-hour (2 short hours are cheaper than a shift,
    as 2 h x 200 < 8.5 h x 20 on the demo desk's 15-minute grid) and `people` agents."""
    cat = catalogue_from_dict(
        {
            "interval_minutes": 60,
            "timezone": "UTC",
            "shortage_cost_per_hour": 60,
            "shift_types": [
                {
                    "name": "day",
                    "teams": ["desk"],
                    "length_hours": 8,
                    "earliest_start": "06:00",
                    "latest_start": "12:00",
                    "cost_per_hour": 25,
                    **shift,
                }
            ],
        }
    )
    h = np.arange(168)
    weekday = (h // 24 < 5) & (h % 24 >= hours[0]) & (h % 24 < hours[1])
    req = Requirement(("desk",), np.where(weekday, float(agents), 0.0)[None, :], 60)
    staff = agents_from_dict(
        {"agents": [{"id": f"P{i}", "teams": ["desk"], "max_hours": 40} for i in range(people)]}
    )
    return req, cat, staff


def _toy_verify(req: Requirement, cat: object, staff: object, max_rounds: int):
    return verify_and_repair(
        TOY,
        req,
        cat,  # type: ignore[arg-type]
        staff,  # type: ignore[arg-type]
        base_dir=".",
        replications=4,
        weeks=1,
        max_rounds=max_rounds,
        plan_time=5,
        roster_time=3,
        policy=load_policy(str(ROOT / "policies" / "default.yaml")),
    )


def test_repair_adds_capacity_every_round_until_the_goals_are_met() -> None:
    # one agent as the requirement: the plan leaves two hours a day uncovered (cheaper than
    # a shift) and the goal is missed; raising the requirement in a few busy hours used to be
    # cheaper to leave short than to cover, so the plan never changed (the stall)
    v = _toy_verify(*_toy(1), max_rounds=4)
    first = v.rounds[0]
    assert not first.ok and v.erlang_cost == first.cost
    assert len(v.rounds) >= 2
    for prev, cur in zip(v.rounds, v.rounds[1:], strict=False):
        assert not prev.ok  # a repair round only follows a missed goal
        assert cur.cost > prev.cost, [c.cost for c in v.rounds]
        assert cur.roster.rostered().sum() > prev.roster.rostered().sum()
        assert (cur.roster.rostered() >= prev.roster.rostered()).all()  # adds, never trades
        assert (cur.needed >= prev.needed).all()
    assert v.final.ok and v.goals_met
    assert v.status == f"goals met after {v.final.round} repair round(s)"
    assert v.final.cost >= v.erlang_cost


def test_repair_stops_at_the_budget_with_the_goal_missed() -> None:
    v = _toy_verify(*_toy(1), max_rounds=1)
    assert [c.round for c in v.rounds] == [0, 1] and not v.final.ok
    assert v.status == "goal not met: budget reached (1 repair round(s))"
    assert v.final.cost > v.erlang_cost


def test_repair_stops_when_no_agent_can_work_more() -> None:
    # one agent, who already works five shifts a week in round 0
    v = _toy_verify(*_toy(1, people=1), max_rounds=3)
    assert [c.round for c in v.rounds] == [0] and not v.final.ok
    assert v.status.startswith("goal not met: no change possible (the agents cannot work")


def test_no_repair_when_round_0_meets_the_goals() -> None:
    v = _toy_verify(*_toy(3, hours=(6, 20)), max_rounds=2)
    assert len(v.rounds) == 1 and v.final.ok
    assert v.status == "goals met: no repair needed"
    assert np.array_equal(v.final.needed, v.rounds[0].needed)
