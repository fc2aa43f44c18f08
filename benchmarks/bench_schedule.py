"""Shift scheduling: plan MIP, named roster and pyworkforce's MinRequiredResources.

Same run, one synthetic week (7 days x 96 quarter-hours, a two-peak weekday profile, lighter
weekends, requirement up to ~70 agents):

1. plan: >= 200 shift templates with break windows (3 breaks on full shifts); goal: within
   1 % of the LP bound in <= 30 s;
2. roster: that plan assigned to 100 named agents under every labour rule (11 h rest, <= 5
   days in a row, 2 days off, paired weekend days off, <= 3 nights); goal: zero hard-rule
   violations (independent checker) in <= 60 s;
3. against pyworkforce 0.5.1's MinRequiredResources (CP-SAT, whole-day shifts without
   breaks, no under-staffing) on the same requirement and its kind of shift set (8-hour
   shifts starting on the hour 00:00..16:00 and 4-hour shifts on the hour 06:00..20:00, hard
   coverage): goal: our cost <= its cost and our time <= its time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from slarisk.schedule.catalogue import Catalogue, catalogue_from_dict, expand_templates
from slarisk.schedule.demand import Requirement


def weekly_requirement(seed: int = 1) -> np.ndarray:
    """7 x 96 agents: morning and afternoon peaks, small nights, lighter weekends."""
    t = np.arange(96) / 4.0
    day = 4 + 45 * np.exp(-(((t - 11) / 3.5) ** 2)) + 25 * np.exp(-(((t - 16) / 2.5) ** 2))
    rng = np.random.default_rng(seed)
    days = [
        np.ceil(day * f + rng.normal(0, 1.5, 96)).clip(1)
        for f in (1.0, 1.0, 0.95, 1.0, 0.9, 0.55, 0.4)
    ]
    return np.concatenate(days)


def big_catalogue() -> Catalogue:
    """222 templates: full shifts (8.5/9 h, 3 breaks) and part-time (4-6 h, 1 break) every 15
    minutes, nights (2 breaks)."""
    full_breaks = [
        {"name": "break1", "minutes": 15, "paid": True, "window": ["01:30", "03:00"]},
        {"name": "lunch", "minutes": 30, "paid": False, "window": ["03:30", "05:00"]},
        {"name": "break2", "minutes": 15, "paid": True, "window": ["05:45", "07:00"]},
    ]
    return catalogue_from_dict(
        {
            "interval_minutes": 15,
            "shortage_cost_per_hour": 200,
            "shift_types": [
                {
                    "name": "early",
                    "teams": ["desk"],
                    "length_hours": [8.5, 9],
                    "earliest_start": "06:00",
                    "latest_start": "09:00",
                    "start_step_minutes": 15,
                    "cost_per_hour": 21,
                    "breaks": full_breaks,
                },
                {
                    "name": "day",
                    "teams": ["desk"],
                    "length_hours": [8.5, 9],
                    "earliest_start": "09:15",
                    "latest_start": "13:00",
                    "start_step_minutes": 15,
                    "cost_per_hour": 20,
                    "breaks": full_breaks,
                },
                {
                    "name": "late",
                    "teams": ["desk"],
                    "length_hours": [8.5, 9],
                    "earliest_start": "13:15",
                    "latest_start": "16:00",
                    "start_step_minutes": 15,
                    "cost_per_hour": 23,
                    "breaks": full_breaks,
                },
                {
                    "name": "part_time",
                    "teams": ["desk"],
                    "part_time": True,
                    "length_hours": [4, 5, 6],
                    "earliest_start": "07:00",
                    "latest_start": "18:00",
                    "start_step_minutes": 15,
                    "cost_per_hour": 22,
                    "max_heads": 25,
                    "breaks": [
                        {
                            "name": "break1",
                            "minutes": 15,
                            "paid": True,
                            "window": ["01:30", "02:45"],
                        }
                    ],
                },
                {
                    "name": "night",
                    "teams": ["desk"],
                    "length_hours": [10],
                    "earliest_start": "20:00",
                    "latest_start": "22:00",
                    "start_step_minutes": 30,
                    "cost_per_hour": 28,
                    "breaks": [
                        {
                            "name": "break1",
                            "minutes": 15,
                            "paid": True,
                            "window": ["02:00", "03:30"],
                        },
                        {
                            "name": "meal",
                            "minutes": 30,
                            "paid": False,
                            "window": ["04:00", "06:00"],
                        },
                    ],
                },
            ],
        }
    )


def hundred_agents() -> Any:
    from slarisk.schedule.rules import agents_from_dict

    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    people = []
    for k in range(100):
        people.append(
            {
                "id": f"A{k:03d}",
                "teams": ["desk"],
                "min_hours": 0 if k % 5 == 4 else 24,
                "max_hours": 25 if k % 5 == 4 else 40,
                "days": days if k % 7 else days[:5],
                "nights": k % 3 == 0,
                "weekends_worked": k % 4,
            }
        )
    return agents_from_dict(
        {
            "rules": {
                "min_rest_hours": 11,
                "max_consecutive_days": 5,
                "min_days_off": 2,
                "paired_weekend_off": True,
                "max_nights": 3,
                "cyclic_week": True,
            },
            "agents": people,
        }
    )


def _pyworkforce_instance(need: np.ndarray) -> tuple[dict[str, list[int]], dict[str, float]]:
    """Whole-day shifts on the 15-minute grid (pyworkforce's model cannot cross midnight)."""
    cover: dict[str, list[int]] = {}
    cost: dict[str, float] = {}
    for start in range(0, 17):
        v = [0] * 96
        v[start * 4 : start * 4 + 32] = [1] * 32
        cover[f"full_{start:02d}"] = v
        cost[f"full_{start:02d}"] = 8 * 20.0
    for start in range(6, 21):
        v = [0] * 96
        v[start * 4 : start * 4 + 16] = [1] * 16
        cover[f"part_{start:02d}"] = v
        cost[f"part_{start:02d}"] = 4 * 22.0
    return cover, cost


def _same_shifts_catalogue() -> Catalogue:
    return catalogue_from_dict(
        {
            "interval_minutes": 15,
            "shortage_cost_per_hour": 100000,  # hard coverage, as in pyworkforce
            "shift_types": [
                {
                    "name": "full",
                    "teams": ["desk"],
                    "length_hours": 8,
                    "earliest_start": "00:00",
                    "latest_start": "16:00",
                    "start_step_minutes": 60,
                    "cost_per_hour": 20,
                },
                {
                    "name": "part",
                    "teams": ["desk"],
                    "length_hours": 4,
                    "earliest_start": "06:00",
                    "latest_start": "20:00",
                    "start_step_minutes": 60,
                    "cost_per_hour": 22,
                },
            ],
        }
    )


def run(quick: bool = False) -> dict[str, Any]:
    """Plan, roster and the pyworkforce comparison; print a table of figures and goals."""
    from pyworkforce.scheduling import MinRequiredResources
    from rich.console import Console
    from rich.table import Table

    from slarisk.schedule.plan import solve_plan
    from slarisk.schedule.roster import solve_roster
    from slarisk.schedule.rules import check_roster

    need = weekly_requirement()
    cat = big_catalogue()
    n_templates = len(expand_templates(cat))
    req = Requirement(("desk",), need[None, :], 15)
    t0 = time.perf_counter()
    plan = solve_plan(req, cat, time_limit=30.0)
    plan_s = time.perf_counter() - t0

    people = hundred_agents()
    t0 = time.perf_counter()
    roster = solve_roster(plan, people, seed=0, workers=1, time_limit=12.0)
    roster_s = time.perf_counter() - t0
    violations = check_roster(list(roster.assignments), people, plan.interval_minutes)

    cover, cost = _pyworkforce_instance(need)
    days = need.reshape(7, 96).astype(int).tolist()
    t0 = time.perf_counter()
    pw = MinRequiredResources(
        num_days=7,
        periods=96,
        shifts_coverage=cover,
        required_resources=days,
        max_period_concurrency=1000,
        max_shift_concurrency=1000,
        cost_dict=cost,
        max_search_time=120.0,
        num_search_workers=2,
    ).solve()
    pw_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = solve_plan(req, _same_shifts_catalogue(), time_limit=60.0, mip_rel_gap=1e-6)
    ours_s = time.perf_counter() - t0

    figures = {
        "plan_templates": n_templates,
        "plan_seconds": plan_s,
        "plan_cost": plan.shift_cost,
        "plan_objective": plan.objective,
        "plan_lp_bound": plan.lp_bound,
        "plan_gap_to_lp": plan.gap_to_lp,
        "plan_status": plan.status,
        "roster_agents": len(people.agents),
        "roster_seconds": roster_s,
        "roster_status": roster.status,
        "roster_shifts": len(roster.assignments),
        "roster_unfilled": sum(u.count for u in roster.unfilled),
        "roster_violations": len(violations),
        "pyworkforce_status": pw["status"],
        "pyworkforce_cost": float(pw["cost"]),
        "pyworkforce_seconds": pw_s,
        "ours_cost_same_shifts": ours.shift_cost,
        "ours_shortage_hours_same_shifts": ours.shortage_hours,
        "ours_seconds_same_shifts": ours_s,
    }
    goals = {
        "plan within 1% of LP bound in <= 30 s": plan.gap_to_lp <= 0.01 and plan_s <= 30.0,
        "roster: 0 violations in <= 60 s": not violations and roster_s <= 60.0,
        "cost <= pyworkforce's": ours.shortage_hours == 0
        and ours.shift_cost <= float(pw["cost"]) + 1e-6,
        "time <= pyworkforce's": ours_s <= pw_s,
    }
    t = Table(title="Shift scheduling (one run)")
    t.add_column("figure", justify="left")
    t.add_column("value", justify="right")
    for k, v in figures.items():
        t.add_row(k, f"{v:,.4g}" if isinstance(v, float) else str(v))
    for k, ok in goals.items():
        t.add_row(f"goal: {k}", "met" if ok else "[red]missed[/red]")
    Console().print(t)
    return {**figures, "goals": goals}
