"""Agents file (pydantic), labour rules and a checker of every hard rule of a named roster.

The agents YAML: ``rules:`` (the labour rules below) and ``agents:`` (id, teams = skills,
contract min/max weekly hours, days available, nights allowed, preferences, weekends worked
recently). The same predicates (rest between two shifts, night shift) are used by the CP-SAT
model in :mod:`slarisk.schedule.roster` and by :func:`check_roster`, which the tests and the
roster report rely on. Days are 0 = Monday .. 6 = Sunday; with ``cyclic_week`` the week
repeats (Sunday is followed by Monday) for the rest and consecutive-day rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from slarisk.schedule.catalogue import ALL_DAYS, WEEKDAYS, ShiftTemplate, Weekday
from slarisk.specs import read_yaml, spec_error

#: a night shift works at least this many minutes inside [23:00, 06:00) local time.
NIGHT_MINUTES = 180


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabourRules(_Strict):
    """Hard rules of every agent's week (a value of None switches the rule off)."""

    min_rest_hours: float = Field(default=11.0, ge=0)
    max_consecutive_days: int = Field(default=5, ge=1, le=7)
    min_days_off: int = Field(default=2, ge=0, le=7)
    paired_weekend_off: bool = True
    max_nights: int | None = Field(default=None, ge=0)
    cyclic_week: bool = True


class AgentSpec(_Strict):
    """A person: skills (teams), contract hours per week, availability and preferences."""

    id: str = Field(min_length=1)
    teams: list[str] = Field(min_length=1)
    min_hours: float = Field(default=0.0, ge=0)
    max_hours: float = Field(default=40.0, gt=0)
    days: list[Weekday] = Field(default_factory=lambda: list(ALL_DAYS))
    nights: bool = True
    prefer_types: list[str] = Field(default_factory=list)
    avoid_days: list[Weekday] = Field(default_factory=list)
    weekends_worked: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _hours(self) -> AgentSpec:
        if self.min_hours > self.max_hours:
            raise ValueError("min_hours > max_hours")
        return self

    @property
    def day_indices(self) -> tuple[int, ...]:
        return tuple(WEEKDAYS.index(d) for d in self.days)


class AgentsFile(_Strict):
    rules: LabourRules = Field(default_factory=lambda: LabourRules())
    agents: list[AgentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> AgentsFile:
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValueError("agent ids must be unique")
        return self


def agents_from_dict(data: Any, *, path: str = "<agents>") -> AgentsFile:
    try:
        return AgentsFile.model_validate(data)
    except ValidationError as exc:
        fmt = lambda loc: ".".join(str(p) for p in loc) or "agents"  # noqa: E731
        raise spec_error(exc, AgentsFile, path=path, format_loc=fmt) from None


def load_agents(path: str | Path) -> AgentsFile:
    """Read an agents YAML file (rules + agents)."""
    p = Path(path)
    return agents_from_dict(read_yaml(p, "agents"), path=str(p))


# --- predicates shared with the CP-SAT model --------------------------------------------------
def is_night(t: ShiftTemplate, step: int) -> bool:
    """True if the shift works >= NIGHT_MINUTES inside [23:00, 06:00) local time."""
    minutes = (np.arange(t.start * step, t.end * step) % 1440) if t.length else np.array([])
    return int(((minutes >= 23 * 60) | (minutes < 6 * 60)).sum()) >= NIGHT_MINUTES


def rest_minutes(first: ShiftTemplate, second: ShiftTemplate, step: int, days_apart: int) -> int:
    """Minutes from the end of `first` to the start of `second`, started `days_apart` later."""
    return (days_apart * 1440 + second.start * step) - first.end * step


def next_day(day: int, rules: LabourRules) -> int | None:
    if day < 6:
        return day + 1
    return 0 if rules.cyclic_week else None


@dataclass(frozen=True)
class Assignment:
    """Agent `agent_id` works `template` on `day`; break k starts `breaks[k]` after the start."""

    agent_id: str
    day: int
    template: ShiftTemplate
    breaks: tuple[int, ...]


@dataclass(frozen=True)
class Violation:
    rule: str
    agent_id: str
    detail: str


def check_roster(
    assignments: list[Assignment],
    agents: AgentsFile,
    step: int,
) -> list[Violation]:
    """Every hard-rule violation of a roster (empty list = the roster is valid)."""
    rules = agents.rules
    by_agent: dict[str, list[Assignment]] = {a.id: [] for a in agents.agents}
    out: list[Violation] = []
    spec = {a.id: a for a in agents.agents}
    for asg in assignments:
        if asg.agent_id not in by_agent:
            out.append(Violation("unknown_agent", asg.agent_id, "not in the agents file"))
            continue
        by_agent[asg.agent_id].append(asg)
    for aid, rows in by_agent.items():
        a = spec[aid]
        days = sorted(r.day for r in rows)
        if len(set(days)) != len(days):
            out.append(Violation("one_shift_per_day", aid, f"days {days}"))
        for r in rows:
            t = r.template
            if t.team not in a.teams:
                out.append(Violation("skills", aid, f"{t.team} shift on day {r.day}"))
            if r.day not in a.day_indices:
                out.append(Violation("availability", aid, f"works on {WEEKDAYS[r.day]}"))
            if r.day not in t.days:
                out.append(Violation("shift_days", aid, f"{t.type} not run on {WEEKDAYS[r.day]}"))
            if not a.nights and is_night(t, step):
                out.append(Violation("nights_allowed", aid, f"night shift on {WEEKDAYS[r.day]}"))
            if len(r.breaks) != len(t.breaks):
                out.append(Violation("breaks", aid, f"{len(r.breaks)} breaks placed"))
                continue
            prev_end = 0
            for w, o in zip(t.breaks, r.breaks, strict=True):
                if not w.first <= o <= w.last:
                    out.append(Violation("break_window", aid, f"{w.name} at +{o * step} min"))
                if o < prev_end:
                    out.append(Violation("break_overlap", aid, f"{w.name} on day {r.day}"))
                prev_end = o + w.slots
        hours = sum(r.template.paid_hours for r in rows)
        if hours > a.max_hours + 1e-9:
            out.append(Violation("max_weekly_hours", aid, f"{hours:g} h > {a.max_hours:g} h"))
        if hours < a.min_hours - 1e-9:
            out.append(Violation("min_weekly_hours", aid, f"{hours:g} h < {a.min_hours:g} h"))
        worked = {r.day: r for r in rows}
        for d, r in worked.items():
            nd = next_day(d, rules)
            if nd is not None and nd in worked:
                rest = rest_minutes(r.template, worked[nd].template, step, 1)
                if rest < rules.min_rest_hours * 60:
                    out.append(Violation("min_rest", aid, f"{rest / 60:g} h after day {d}"))
        run = _longest_run(set(worked), rules.cyclic_week)
        if run > rules.max_consecutive_days:
            out.append(Violation("max_consecutive_days", aid, f"{run} days in a row"))
        if 7 - len(worked) < rules.min_days_off:
            out.append(Violation("min_days_off", aid, f"{7 - len(worked)} days off"))
        if rules.paired_weekend_off and (5 in worked) != (6 in worked):
            out.append(Violation("paired_weekend_off", aid, "one weekend day off, not both"))
        if rules.max_nights is not None:
            nights = sum(is_night(r.template, step) for r in rows)
            if nights > rules.max_nights:
                out.append(Violation("max_nights", aid, f"{nights} nights"))
    return out


def _longest_run(days: set[int], cyclic: bool) -> int:
    if len(days) == 7:
        return 7
    best = 0
    seq = list(range(14)) if cyclic else list(range(7))
    run = 0
    for i in seq:
        run = run + 1 if (i % 7) in days else 0
        best = max(best, run)
    return best
