"""Schedule jobs: request checks (limits, strict types, catalogue size and zone, the
requirement on the catalogue's grid, the verification's scenario and size) and the job body,
which runs :func:`slarisk.schedule.plan.solve_plan` then
:func:`slarisk.schedule.roster.solve_roster` (as ``slarisk schedule roster`` does), or with
``verify`` :func:`slarisk.schedule.verify.verify_and_repair` (as ``slarisk schedule verify``),
and turns plan, roster, coverage and the simulation rounds into JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
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
from slarisk.schedule.report import rounds_frame
from slarisk.schedule.roster import Roster, solve_roster
from slarisk.schedule.verify import Verification, check_base_scenario, verify_and_repair
from slarisk.service.deps import check_batch_limit
from slarisk.service.schedule_schemas import ScheduleRequest, ScheduleVerifyIn
from slarisk.service.settings import Settings
from slarisk.service.simulation import inline_scenario
from slarisk.specs import read_yaml

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


def scenario_names(folder: Path) -> list[str]:
    """Names (file stems) of the scenario YAML files in `folder`: the files whose top level
    has ``classes`` and ``arrivals`` (not a shift catalogue or an agents file)."""
    names = []
    if folder.is_dir():
        for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                data = read_yaml(p, "scenario")
            except InputError:
                continue
            if isinstance(data, dict) and "classes" in data and "arrivals" in data:
                names.append(p.stem)
    return names


def _scenario_file(name: str, settings: Settings) -> tuple[dict[str, Any], str]:
    """The named scenario of the server's folder (parsed) and its folder; 422 when the name is
    not one of its scenarios. The name is matched against the folder's listing, never joined
    to a path as given, so nothing outside the folder can be named."""
    folder = settings.scenario_dir
    known = scenario_names(folder)
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    if stem not in known:
        listed = ", ".join(known) if known else "none"
        raise HTTPException(
            422,
            detail=f"verify.scenario_file: unknown scenario {name!r}; known: {listed}",
        )
    path = next(p for p in (folder / f"{stem}.yaml", folder / f"{stem}.yml") if p.is_file())
    try:
        data = read_yaml(path, "scenario")
    except InputError as exc:
        raise HTTPException(422, detail=f"verify.scenario_file: {exc.detail}") from None
    return dict(data), str(folder)


def _check_verify(
    v: ScheduleVerifyIn, body: ScheduleRequest, req: Requirement, settings: Settings, policy: Any
) -> dict[str, Any]:
    """The verification's size limits and scenario (422 naming the field); its stored part."""
    if len(body.agents.agents) > settings.max_verify_agents:
        raise HTTPException(
            422,
            detail=f"agents.agents: {len(body.agents.agents)} agents exceed the limit of"
            f" {settings.max_verify_agents} for a verification (max_verify_agents)",
        )
    work = v.replications * v.weeks
    if work > settings.max_verify_replication_weeks:
        raise HTTPException(
            422,
            detail=f"verify.replications: {v.replications} replications x {v.weeks} weeks ="
            f" {work} exceed the limit of {settings.max_verify_replication_weeks}"
            " (max_verify_replication_weeks)",
        )
    if v.scenario_file is not None:
        base, base_dir = _scenario_file(v.scenario_file, settings)
        field, name = "verify.scenario_file", v.scenario_file
        own_policy = base.get("policy") is not None
    else:
        base = inline_scenario(v.scenario or {}, "verify.scenario")
        base_dir, field, name, own_policy = ".", "verify.scenario", "inline", False
        name = str(base.get("name", name))
    if v.multiplier is not None:
        arrivals = base.get("arrivals")
        if isinstance(arrivals, dict):
            base["arrivals"] = {**arrivals, "multiplier": v.multiplier}
    try:
        sc = check_base_scenario(
            base,
            body.catalogue,
            req.teams,
            base_dir=base_dir,
            weeks=v.weeks,
            policy=None if own_policy else policy,
            path=field,
        )
    except InputError as exc:
        if v.scenario is not None:
            where = f"{field}.{exc.field}" if exc.field else field
        else:  # the field is inside the named file
            where = f"{field}: {name} {exc.field}" if exc.field else f"{field}: {name}"
        raise HTTPException(422, detail=f"{where}: {exc.detail}") from None
    expected = sc.expected_arrivals()
    if not math.isfinite(expected) or expected > settings.max_expected_arrivals:
        raise HTTPException(
            422,
            detail=f"verify.weeks: about {expected:.3g} tickets per replication exceed the"
            f" limit of {settings.max_expected_arrivals} (max_expected_arrivals)",
        )
    return {"scenario": base, "name": name, "base_dir": base_dir, "server_policy": not own_policy}


def check_request(
    body: ScheduleRequest, raw: bytes, settings: Settings, policy: Any = None
) -> dict[str, Any]:
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
    stored = {"body": json.loads(body.model_dump_json(exclude_none=True))}
    if body.verify is not None:
        stored["verify"] = _check_verify(body.verify, body, req, settings, policy)
    return stored


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
        "time_capped": bool(plan.time_capped),
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


def verification_result(
    v: Verification, stored: dict[str, Any], body: ScheduleRequest
) -> dict[str, Any]:
    """The JSON of a verification: rounds, final attainment and missed intervals, costs."""
    assert body.verify is not None
    rounds = rounds_frame(v)
    final = v.final
    return {
        "scenario": str(stored["name"]),
        "replications": body.verify.replications,
        "weeks": body.verify.weeks,
        "seed": body.seed,
        "ok": bool(final.ok),
        "status": v.status,
        "erlang_cost": _num(v.erlang_cost),
        "final_cost": _num(final.cost),
        "rounds": [
            {
                "round": int(r["round"]),
                "cost": _num(r["cost"]),
                "paid_hours": _num(r["paid hours"]),
                "plan_gap_to_lp": _num(r["plan gap to LP"]),
                "plan_time_capped": bool(c.roster.plan.time_capped),
                "roster_status": str(r["roster"]),
                "violations": int(r["violations"]),
                "goals_missed": int(r["goals missed"]),
                "ok": bool(r["ok"]),
            }
            for r, c in zip(rounds.to_dict(orient="records"), v.rounds, strict=True)
        ],
        "attainment": [
            {
                "ticket_class": str(r["class"]),
                "metric": str(r["metric"]),
                "goal": _num(r["goal"]),
                "attainment": _num(r["attainment"]),
                "attainment_lo": _num(r["lo"]),
                "attainment_hi": _num(r["hi"]),
                "met": bool(r["met"]),
            }
            for r in final.attainment.to_dict(orient="records")
        ],
        "missed_intervals": [
            {
                "day": str(r["day"]),
                "time": str(r["time"]),
                "service_level": _num(r["service_level"]),
                "arrivals": _num(r["arrivals"]),
            }
            for r in final.missed.to_dict(orient="records")
        ],
    }


def run_schedule_job(
    request: dict[str, Any], progress: Callable[[float], None], policy: Any = None
) -> dict[str, Any]:
    """Job body: plan (HiGHS) then roster (CP-SAT) with the request's limits, or with
    ``verify`` the verification by simulation and repair (`policy`: the server's SLA policy,
    used unless the named scenario file has its own); JSON."""
    body = ScheduleRequest.model_validate_json(json.dumps(request["body"]))
    progress(0.0)
    req = requirement(body)
    stored = request.get("verify")
    if stored is not None and body.verify is not None:
        v = verify_and_repair(
            stored["scenario"],
            req,
            body.catalogue,
            body.agents,
            base_dir=str(stored["base_dir"]),
            replications=body.verify.replications,
            seed=body.seed,
            weeks=body.verify.weeks,
            max_rounds=body.verify.max_rounds,
            plan_time=body.plan_time_seconds,
            roster_time=body.roster_time_seconds,
            roster_workers=body.workers,
            policy=policy if stored["server_policy"] else None,
            fraction=progress,
        )
        out = roster_result(v.final.roster, body.catalogue)
        out["verification"] = verification_result(v, stored, body)
        return out
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
