"""Named roster: assign a plan's shifts to people under labour rules (OR-Tools CP-SAT).

Variables ``a[i, g]``: agent i works shift group g (a (day, template) of the plan), created
only where the agent has the skill (team), is available that day and may work nights. At most
one shift per agent and day; at most the planned count per group (the rest is *unfilled*).

Every labour rule of every agent (max/min weekly hours, minimum rest, maximum consecutive days,
days off, paired weekend days off, maximum nights) has its own literal. Phase 1 fixes them all
true (a quick search without the LP relaxation, whose roster seeds the main search). Only if
phase 1 finds no roster (``proven_infeasible`` tells whether CP-SAT proved that none exists)
are the rules made soft (a heavy penalty per broken rule) and solved again from the empty
roster, so the result is always the best roster found, the unmet requirement per interval
and the rules broken (the conflicting rules), never a bare "infeasible".

Objective (lexicographic by weights): broken rules, unfilled paid hours, fairness (the most
weekend days and nights any agent works, counting weekends worked recently), preferences.
Reruns with the same seed and worker count give the same roster: the limit `time_limit` is
CP-SAT's *deterministic* time (work units of roughly a second, not wall-clock seconds) and
with more than one worker the search is interleaved (CP-SAT's deterministic parallel mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slarisk.schedule.catalogue import WEEKDAYS
from slarisk.schedule.plan import Plan, PlannedShift, coverage, hhmm
from slarisk.schedule.rules import (
    AgentsFile,
    Assignment,
    Violation,
    check_roster,
    is_night,
    next_day,
    rest_minutes,
)

W_RULE = 1_000_000
W_UNFILLED = 1_000  # per paid quarter-hour unfilled
W_FAIR = 20
W_PREF = 2


@dataclass(frozen=True)
class Roster:
    """A named roster: assignments, what is left unfilled, conflicts and rule violations."""

    plan: Plan
    assignments: tuple[Assignment, ...]
    unfilled: tuple[PlannedShift, ...]
    conflicts: tuple[str, ...]
    violations: tuple[Violation, ...]
    status: str
    seconds: float
    seed: int
    workers: int
    proven_infeasible: bool = False
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def cost(self) -> float:
        return float(sum(a.template.cost for a in self.assignments))

    def rostered(self) -> np.ndarray:
        """Net agents per (team, interval) of the roster (breaks taken off)."""
        shifts = tuple(
            PlannedShift(a.day, a.template, 1, tuple(((o, 1),) for o in a.breaks))
            for a in self.assignments
        )
        p = self.plan
        return coverage(shifts, p.teams, p.required.shape[1], p.interval_minutes)

    def assignment_records(self) -> list[dict[str, Any]]:
        """One record per assigned shift: agent, team, day, type, start/end (HH:MM), paid
        hours, cost, its breaks (name, start, end, paid) and the start minute of the week."""
        step = self.plan.interval_minutes
        return [
            {
                "agent_id": a.agent_id,
                "team": a.template.team,
                "day": WEEKDAYS[a.day],
                "type": a.template.type,
                "start": hhmm(a.template.start * step),
                "end": hhmm(a.template.end * step),
                "paid_hours": a.template.paid_hours,
                "cost": a.template.cost,
                "breaks": [
                    {
                        "name": w.name,
                        "start": hhmm((a.template.start + o) * step),
                        "end": hhmm((a.template.start + o + w.slots) * step),
                        "paid": w.paid,
                    }
                    for w, o in zip(a.template.breaks, a.breaks, strict=True)
                ],
                "start_minute_of_week": a.day * 1440 + a.template.start * step,
            }
            for a in self.assignments
        ]

    def assignments_frame(self) -> pd.DataFrame:
        """:meth:`assignment_records` as a table; breaks as ``name HH:MM-HH:MM; ...``."""
        rows = self.assignment_records()
        for r in rows:
            r["breaks"] = "; ".join(f"{b['name']} {b['start']}-{b['end']}" for b in r["breaks"])
        return pd.DataFrame(rows)

    def unmet_frame(self) -> pd.DataFrame:
        """Per team and interval: required, planned, rostered and unmet agents."""
        p = self.plan
        planned, rostered = p.scheduled(), self.rostered()
        rows = []
        for k, team in enumerate(p.teams):
            for s in range(p.required.shape[1]):
                rows.append(
                    {
                        "team": team,
                        "day": WEEKDAYS[s * p.interval_minutes // 1440],
                        "time": hhmm(s * p.interval_minutes),
                        "required": p.required[k, s],
                        "planned": planned[k, s],
                        "rostered": rostered[k, s],
                        "unmet": max(p.required[k, s] - rostered[k, s], 0.0),
                    }
                )
        return pd.DataFrame(rows)


def solve_roster(
    plan: Plan,
    agents: AgentsFile,
    *,
    seed: int = 0,
    workers: int = 1,
    time_limit: float = 20.0,
    progress: Callable[[str], None] | None = None,
) -> Roster:
    """Assign the plan's shifts to the agents (see the module docstring)."""
    from ortools.sat.python import cp_model  # heavy optional solver: only when rostering

    t0 = time.perf_counter()
    step = plan.interval_minutes
    rules = agents.rules
    groups = list(plan.shifts)
    m = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for i, a in enumerate(agents.agents):
        days = set(a.day_indices)
        for g, p in enumerate(groups):
            t = p.template
            if t.team in a.teams and p.day in days and (a.nights or not is_night(t, step)):
                x[i, g] = m.new_bool_var(f"a{i}_g{g}")
    by_agent_day: dict[tuple[int, int], list[int]] = {}
    for i, g in x:
        by_agent_day.setdefault((i, groups[g].day), []).append(g)
    works: dict[tuple[int, int], Any] = {}
    for (i, d), gs in by_agent_day.items():
        m.add_at_most_one(x[i, g] for g in gs)
        works[i, d] = sum(x[i, g] for g in gs)
    fill = []
    for g, p in enumerate(groups):
        vs = [x[i, g] for i in range(len(agents.agents)) if (i, g) in x]
        m.add(sum(vs) <= p.count)
        fill.append((g, vs))
    rule_lits: dict[str, cp_model.IntVar] = {}

    def lit(name: str) -> cp_model.IntVar:
        v = m.new_bool_var(name)
        rule_lits[name] = v
        return v

    night_terms: list[Any] = []
    weekend_terms: list[Any] = []
    pref_terms: list[Any] = []
    for i, a in enumerate(agents.agents):
        mine = [g for g in range(len(groups)) if (i, g) in x]
        if not mine:
            if a.min_hours > 0:  # no shift at all is open to this agent
                m.add(lit(f"{a.id}: min_weekly_hours") == 0)
            continue
        q = {g: round(groups[g].template.paid_hours * 4) for g in mine}
        quarters = sum(q[g] * x[i, g] for g in mine)
        m.add(quarters <= round(a.max_hours * 4)).only_enforce_if(lit(f"{a.id}: max_weekly_hours"))
        if a.min_hours > 0:
            m.add(quarters >= round(a.min_hours * 4)).only_enforce_if(
                lit(f"{a.id}: min_weekly_hours")
            )
        wd: list[Any] = [works.get((i, d), 0) for d in range(7)]
        if rules.min_days_off > 0:
            m.add(sum(wd) <= 7 - rules.min_days_off).only_enforce_if(lit(f"{a.id}: min_days_off"))
        c = rules.max_consecutive_days
        if c < 7:
            r = lit(f"{a.id}: max_consecutive_days")
            starts = range(7) if rules.cyclic_week else range(7 - c)
            for s in starts:
                m.add(sum(wd[(s + k) % 7] for k in range(c + 1)) <= c).only_enforce_if(r)
        if rules.paired_weekend_off:
            m.add(wd[5] == wd[6]).only_enforce_if(lit(f"{a.id}: paired_weekend_off"))
        if rules.min_rest_hours > 0:
            r = lit(f"{a.id}: min_rest")
            for g in mine:
                nd = next_day(groups[g].day, rules)
                if nd is None:
                    continue
                bad = [
                    x[i, h]
                    for h in mine
                    if groups[h].day == nd
                    and rest_minutes(groups[g].template, groups[h].template, step, 1)
                    < rules.min_rest_hours * 60
                ]
                if bad:
                    m.add(x[i, g] + sum(bad) <= 1).only_enforce_if(r)
        nights = [x[i, g] for g in mine if is_night(groups[g].template, step)]
        if rules.max_nights is not None and nights:
            m.add(sum(nights) <= rules.max_nights).only_enforce_if(lit(f"{a.id}: max_nights"))
        if nights:
            night_terms.append(sum(nights))
        weekend_terms.append(a.weekends_worked + wd[5] + wd[6])
        avoid = {WEEKDAYS.index(d) for d in a.avoid_days}
        for g in mine:
            p = groups[g]
            miss = (p.day in avoid) + (
                bool(a.prefer_types) and p.template.type not in a.prefer_types
            )
            if miss:
                pref_terms.append(int(miss) * x[i, g])
    max_w = m.new_int_var(0, 7 * 8, "max_weekend")
    for e in weekend_terms:
        m.add(max_w >= e)
    max_n = m.new_int_var(0, 7, "max_nights")
    for e in night_terms:
        m.add(max_n >= e)
    unfilled_q = sum(
        round(groups[g].template.paid_hours * 4) * (groups[g].count - sum(vs)) for g, vs in fill
    )
    m.minimize(
        W_RULE * sum(1 - v for v in rule_lits.values())
        + W_UNFILLED * unfilled_q
        + W_FAIR * (max_w + max_n)
        + W_PREF * sum(pref_terms)
    )
    ok = (cp_model.OPTIMAL, cp_model.FEASIBLE)

    def run(model: cp_model.CpModel, budget: float, lp: bool) -> tuple[Any, Any]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = int(workers)
        solver.parameters.random_seed = int(seed)
        solver.parameters.max_deterministic_time = float(max(budget, 0.1))
        if not lp:  # no LP relaxation: first rosters come much sooner on large instances
            solver.parameters.linearization_level = 0
        if workers > 1:
            solver.parameters.interleave_search = True
        return solver, solver.solve(model)

    # Phase 1: every rule hard; a quick search without LP (30% of the budget) whose roster
    # seeds the main search (the rest). Phase 2, only when phase 1 finds no roster: rules
    # soft from the empty roster (always valid but for minimum hours), the fewest broken first.
    hard = m.clone()
    for v in rule_lits.values():
        hard.add(hard.get_bool_var_from_proto_index(v.index) == 1)
    if progress:
        progress(f"roster: {len(x)} choices, {len(rule_lits)} rules, all enforced")
    solver, status = run(hard, 0.3 * time_limit, lp=False)
    proven = status == cp_model.INFEASIBLE
    first = solver if status in ok else None
    if not proven:
        if first is not None:
            for k in range(len(hard.proto.variables)):  # a complete hint: taken at once
                var = hard.get_int_var_from_proto_index(k)
                hard.add_hint(var, first.value(var))
        solver, status = run(hard, 0.7 * time_limit if first else time_limit, lp=True)
        if status not in ok and first is not None:
            solver, status = first, cp_model.FEASIBLE
        proven = status == cp_model.INFEASIBLE
    conflicts: list[str] = []
    if status not in ok:
        if progress:
            progress(f"roster: {solver.status_name(status)} with every rule; relaxing rules")
        for v in x.values():
            m.add_hint(v, False)
        for n, v in rule_lits.items():
            m.add_hint(v, not n.endswith(": min_weekly_hours"))
        solver, status = run(m, time_limit, lp=True)
        if status in ok:
            conflicts = [n for n, v in rule_lits.items() if not solver.value(v)]
    assignments: list[Assignment] = []
    taken: dict[int, list[str]] = {}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (i, g), v in sorted(x.items()):
            if solver.value(v):
                taken.setdefault(g, []).append(agents.agents[i].id)
    unfilled = []
    for g, p in enumerate(groups):
        ids = sorted(taken.get(g, []))
        places = [_expand(pl) for pl in p.breaks]
        for j, aid in enumerate(ids):
            assignments.append(Assignment(aid, p.day, p.template, tuple(pl[j] for pl in places)))
        left = p.count - len(ids)
        if left > 0:
            rest = tuple(_compress(pl[len(ids) :]) for pl in places)
            unfilled.append(PlannedShift(p.day, p.template, left, rest))
    assignments.sort(key=lambda a: (a.agent_id, a.day))
    violations = check_roster(assignments, agents, step)
    broken = {f"{v.agent_id}: {v.rule}" for v in violations}
    conflicts = [c for c in conflicts if c in broken]  # relaxed and actually broken
    return Roster(
        plan=plan,
        assignments=tuple(assignments),
        unfilled=tuple(unfilled),
        conflicts=tuple(dict.fromkeys(conflicts)),
        violations=tuple(violations),
        status=solver.status_name(status),
        proven_infeasible=proven,
        seconds=time.perf_counter() - t0,
        seed=seed,
        workers=workers,
        stats={
            "choices": float(len(x)),
            "objective": float(solver.objective_value) if taken or groups else 0.0,
            "max_weekend": float(solver.value(max_w)) if taken else 0.0,
        },
    )


def _expand(places: tuple[tuple[int, int], ...]) -> list[int]:
    return [o for o, n in places for _ in range(n)]


def _compress(offsets: list[int]) -> tuple[tuple[int, int], ...]:
    out: dict[int, int] = {}
    for o in offsets:
        out[o] = out.get(o, 0) + 1
    return tuple(sorted(out.items()))
