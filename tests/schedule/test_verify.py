"""Simulation check of a roster (tiny scenario): staffing fed as weekly rows, attainment with
95% intervals, the repair loop only ever raises the requirement where it re-plans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.errors import InputError
from slarisk.schedule.demand import Requirement
from slarisk.schedule.plan import solve_plan
from slarisk.schedule.report import schedule_page
from slarisk.schedule.roster import solve_roster
from slarisk.schedule.rules import agents_from_dict
from slarisk.schedule.verify import scenario_mapping_for, verify_and_repair
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
