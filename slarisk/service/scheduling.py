"""Schedule jobs: request checks (limits, strict types, catalogue size and zone, the
requirement on the catalogue's grid) and the job body, which runs
:func:`slarisk.schedule.plan.solve_plan` then :func:`slarisk.schedule.roster.solve_roster`
(as ``slarisk schedule roster`` does) and turns plan, roster and coverage into JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import pandas as pd
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from slarisk.errors import InputError
from slarisk.schedule.catalogue import WEEKDAYS, Catalogue, hhmm_minutes
from slarisk.schedule.demand import Requirement, requirement_from_frame
from slarisk.schedule.plan import Plan, hhmm, solve_plan
from slarisk.schedule.roster import Roster, solve_roster
from slarisk.service.deps import check_batch_limit
from slarisk.service.schedule_schemas import ScheduleRequest
from slarisk.service.settings import Settings

#: the finest grid a request's catalogue may use, minutes (a week is 2016 intervals).
MIN_INTERVAL_MINUTES = 5
#: share of the job's progress taken by the plan; the roster takes the rest.
PLAN_SHARE = 0.5


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def template_count(cat: Catalogue) -> int:
    """Templates :func:`~slarisk.schedule.catalogue.expand_templates` would make (counted
    without building them, so an oversized catalogue costs nothing)."""
    total = 0
    for st in cat.shift_types:
        starts = (hhmm_minutes(st.latest_start) - hhmm_minutes(st.earliest_start)) // max(
            st.start_step_minutes, 1
        ) + 1
        total += len(st.teams) * len(st.length_hours) * starts
    return total


def strict_check(raw: bytes) -> None:
    """Validate the raw body again in strict mode (the catalogue and agents models are lax
    for YAML): 422 naming the field for ``true`` or ``"8"`` where a number is expected."""
    try:
        ScheduleRequest.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = [
            {"loc": ("body", *e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise RequestValidationError(errors) from None


def requirement(body: ScheduleRequest) -> Requirement:
    """The request's rows as the library's requirement on the catalogue's week grid."""
    rows = body.requirements
    frame = pd.DataFrame(
        {
            "interval_start": pd.to_datetime([r.interval_start for r in rows], utc=True),
            "queue": [r.queue for r in rows],
            "agents": [float(r.agents) for r in rows],
        }
    )
    return requirement_from_frame(frame, body.catalogue)


def _check_catalogue(cat: Catalogue, settings: Settings) -> None:
    if cat.interval_minutes < MIN_INTERVAL_MINUTES:
        raise InputError(
            f"must be at least {MIN_INTERVAL_MINUTES}", field="catalogue.interval_minutes"
        )
    if cat.timezone not in _zones():
        raise InputError(f"unknown IANA timezone {cat.timezone!r}", field="catalogue.timezone")
    n = template_count(cat)
    if n > settings.max_schedule_templates:
        raise InputError(
            f"the shift types expand into {n} templates, more than the limit of"
            f" {settings.max_schedule_templates} (max_schedule_templates)",
            field="catalogue.shift_types",
        )


def check_request(body: ScheduleRequest, raw: bytes, settings: Settings) -> dict[str, Any]:
    """Check a schedule request against the limits (413 for too many rows or agents, 422
    naming the field otherwise). Returns the job's stored request."""
    check_batch_limit(
        "requirements", len(body.requirements), settings.max_schedule_rows, "max_schedule_rows"
    )
    check_batch_limit(
        "agents", len(body.agents.agents), settings.max_schedule_agents, "max_schedule_agents"
    )
    strict_check(raw)
    try:
        _check_catalogue(body.catalogue, settings)
        req = requirement(body)
    except InputError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if not req.agents.sum() > 0:
        raise HTTPException(422, detail="requirements: no agents are required at all")
    return {"body": json.loads(body.model_dump_json(exclude_none=True))}


def _num(value: Any) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "status": plan.status,
        "cost": _num(plan.shift_cost),
        "objective": _num(plan.objective),
        "lp_bound": _num(plan.lp_bound),
        "gap_to_lp": _num(plan.gap_to_lp),
        "mip_gap": _num(plan.mip_gap),
        "shortage_hours": _num(plan.shortage_hours),
        "shifts": int(sum(p.count for p in plan.shifts)),
        "templates": int(plan.n_templates),
        "seconds": _num(plan.seconds),
    }


def _assignments(roster: Roster) -> list[dict[str, Any]]:
    out = roster.assignment_records()
    for r in out:
        r["paid_hours"], r["cost"] = _num(r["paid_hours"]), _num(r["cost"])
        del r["start_minute_of_week"]
    return out


def roster_result(roster: Roster, cat: Catalogue) -> dict[str, Any]:
    """The JSON result of a solved roster (and its plan)."""
    plan = roster.plan
    step = plan.interval_minutes
    unmet = roster.unmet_frame()
    short = unmet[unmet["unmet"] > 1e-9]
    return {
        "interval_minutes": step,
        "timezone": cat.timezone,
        "currency": cat.currency,
        "teams": list(plan.teams),
        "plan": _plan_summary(plan),
        "roster": {
            "status": roster.status,
            "cost": _num(roster.cost),
            "agents_used": len({a.agent_id for a in roster.assignments}),
            "unfilled_shifts": int(sum(u.count for u in roster.unfilled)),
            "seconds": _num(roster.seconds),
            "seed": roster.seed,
            "workers": roster.workers,
        },
        "assignments": _assignments(roster),
        "unmet": [
            {k: (_num(v) if isinstance(v, float) else str(v)) for k, v in rec.items()}
            for rec in short.to_dict(orient="records")
        ],
        "unmet_agent_hours": _num(float(unmet["unmet"].sum()) * step / 60),
        "unfilled": [
            {
                "day": WEEKDAYS[u.day],
                "team": u.template.team,
                "type": u.template.type,
                "start": hhmm(u.template.start * step),
                "end": hhmm(u.template.end * step),
                "count": int(u.count),
            }
            for u in roster.unfilled
        ],
        "conflicts": list(roster.conflicts),
        "violations": [
            {"rule": v.rule, "agent_id": v.agent_id, "detail": v.detail} for v in roster.violations
        ],
    }


def run_schedule_job(request: dict[str, Any], progress: Callable[[float], None]) -> dict[str, Any]:
    """Job body: plan (HiGHS) then roster (CP-SAT) with the request's limits; JSON."""
    body = ScheduleRequest.model_validate_json(json.dumps(request["body"]))
    progress(0.0)
    req = requirement(body)
    plan = solve_plan(req, body.catalogue, time_limit=body.plan_time_seconds)
    progress(PLAN_SHARE)
    roster = solve_roster(
        plan,
        body.agents,
        seed=body.seed,
        workers=body.workers,
        time_limit=body.roster_time_seconds,
    )
    return roster_result(roster, body.catalogue)
