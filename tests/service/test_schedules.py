"""Schedule jobs over HTTP: submit, poll, results equal to the library's; roles, limits and
validation (422 names the field, 413 above the limits)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from slarisk.schedule import (
    AgentsFile,
    catalogue_from_dict,
    check_roster,
    requirement_from_frame,
    solve_plan,
    solve_roster,
)
from tests.service.conftest import Service, ServiceFactory

ROOT = Path(__file__).resolve().parents[2]
BODY: dict[str, Any] = json.loads((ROOT / "api" / "examples" / "schedule.json").read_text())


def _submit(service: Service, body: Any, role: str = "scheduler") -> Any:
    return service.client.post("/v1/schedules", json=body, headers=service.headers(role))


def _wait(service: Service, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.client.get(f"/v1/schedules/{job_id}", headers=service.headers("planner"))
        assert job.status_code == 200, job.text
        if job.json()["status"] in ("succeeded", "failed"):
            return dict(job.json())
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def test_schedule_job_runs_and_matches_the_library(service: Service) -> None:
    r = _submit(service, BODY)
    assert r.status_code == 202, r.text
    assert r.json()["href"] == f"/v1/schedules/{r.json()['id']}"
    job = _wait(service, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0
    res = job["result"]
    assert res["teams"] == ["voice"] and res["interval_minutes"] == 30
    plan = res["plan"]
    assert plan["lp_bound"] <= plan["objective"] + 1e-6 and plan["shifts"] >= 1
    assert plan["cost"] > 0 and 0 <= plan["gap_to_lp"] < 1
    assert res["assignments"] and res["violations"] == [] and res["conflicts"] == []
    for a in res["assignments"]:
        assert a["day"] == "mon" and a["team"] == "voice"
        assert [b["name"] for b in a["breaks"]] == ["break1", "lunch"]
        assert "07:00" <= a["start"] <= "10:00"
    # every required interval is covered: nothing unmet
    assert res["unmet"] == [] and res["unmet_agent_hours"] == 0

    # the same library calls give the same figures
    cat = catalogue_from_dict(BODY["catalogue"])
    frame = pd.DataFrame(BODY["requirements"])
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    lib_plan = solve_plan(requirement_from_frame(frame, cat), cat, time_limit=10)
    agents = AgentsFile.model_validate(BODY["agents"])
    roster = solve_roster(lib_plan, agents, seed=0, workers=1, time_limit=10)
    assert plan["cost"] == pytest.approx(lib_plan.shift_cost)
    assert plan["lp_bound"] == pytest.approx(lib_plan.lp_bound)
    assert res["roster"]["cost"] == pytest.approx(roster.cost)
    got = sorted((a["agent_id"], a["start"]) for a in res["assignments"])
    step = cat.interval_minutes
    want = sorted(
        (a.agent_id, f"{a.template.start * step // 60:02d}:{a.template.start * step % 60:02d}")
        for a in roster.assignments
    )
    assert got == want
    assert check_roster(list(roster.assignments), agents, step) == []


def test_unmet_cover_and_unfilled_shifts_are_reported(service: Service) -> None:
    """One agent for a demand of three: the roster is short and says where."""
    body = copy.deepcopy(BODY)
    body["agents"]["agents"] = body["agents"]["agents"][:1]
    job = _wait(service, _submit(service, body).json()["id"])
    assert job["status"] == "succeeded", job["error"]
    res = job["result"]
    assert len(res["assignments"]) == 1 and res["unfilled"]
    assert sum(u["count"] for u in res["unfilled"]) == res["roster"]["unfilled_shifts"]
    assert res["unmet"] and res["unmet_agent_hours"] > 0
    assert all(u["unmet"] > 0 and u["day"] == "mon" for u in res["unmet"])


def test_scorer_is_refused_and_no_key_is_401_before_the_body(service: Service) -> None:
    r = _submit(service, BODY, role="scorer")
    assert r.status_code == 403 and "scorer" in r.json()["detail"]
    r = service.client.post(
        "/v1/schedules", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401
    r = service.client.get("/v1/schedules/abc", headers=service.headers("sales"))
    assert r.status_code == 403


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _row(**changes: Any) -> list[dict[str, Any]]:
    return [{**BODY["requirements"][0], **changes}, *BODY["requirements"][1:]]


def _cat(**changes: Any) -> dict[str, Any]:
    return {**BODY["catalogue"], **changes}


def _shift(**changes: Any) -> dict[str, Any]:
    return _cat(shift_types=[{**BODY["catalogue"]["shift_types"][0], **changes}])


def _agent(**changes: Any) -> dict[str, Any]:
    people = BODY["agents"]["agents"]
    return {**BODY["agents"], "agents": [{**people[0], **changes}, *people[1:]]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(requirements=[]), "requirements"),
        (_body(requirements=None), "requirements"),
        (_body(requirements=_row(interval_start="1850-01-01T00:00:00Z")), "requirements[0]"),
        (_body(requirements=_row(interval_start="2300-01-01T00:00:00Z")), "requirements[0]"),
        (_body(requirements=_row(interval_start="2026-10-05T09:00:00")), "requirements[0]"),
        (_body(requirements=_row(agents=-1)), "requirements[0].agents"),
        (_body(requirements=_row(agents="2")), "requirements[0].agents"),
        (_body(requirements=_row(queue="")), "requirements[0].queue"),
        (_body(requirements=[{**r, "agents": 0} for r in BODY["requirements"]]), "requirements"),
        (_body(plan_time_seconds=61), "plan_time_seconds"),
        (_body(roster_time_seconds=0), "roster_time_seconds"),
        (_body(workers=9), "workers"),
        (_body(seed=-1), "seed"),
        (_body(seed=True), "seed"),
        (_body(catalogue=_cat(interval_minutes=7)), "catalogue"),
        (_body(catalogue=_cat(interval_minutes=1)), "catalogue.interval_minutes"),
        (_body(catalogue=_cat(interval_minutes="30")), "catalogue.interval_minutes"),
        (_body(catalogue=_cat(timezone="Mars/Olympus")), "catalogue.timezone"),
        (_body(catalogue=_cat(path="/etc/shifts.yaml")), "catalogue.path"),
        (_body(catalogue=_shift(earliest_start="7am")), "catalogue.shift_types[0]"),
        (_body(catalogue=_shift(length_hours=[8, 20])), "catalogue.shift_types[0]"),
        (_body(catalogue=_shift(cost_per_hour=True)), "catalogue.shift_types[0].cost_per_hour"),
        (_body(agents=_agent(days=["mon", "funday"])), "agents.agents[0].days[1]"),
        (_body(agents=_agent(min_hours=50)), "agents.agents[0]"),
        (_body(agents={**BODY["agents"], "agents": []}), "agents.agents"),
        (_body(scenario="baseline"), "scenario"),
    ],
)
def test_invalid_schedules_name_the_field(service: Service, body: Any, field: str) -> None:
    r = _submit(service, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()


def test_limits_are_settings(make_service: ServiceFactory) -> None:
    service = make_service(max_schedule_rows=2, max_schedule_agents=2, max_schedule_templates=3)
    r = _submit(service, BODY)
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("requirements") and "(max_schedule_rows)" in r.text
    r = _submit(service, _body(requirements=BODY["requirements"][:2]))
    assert r.status_code == 413 and "(max_schedule_agents)" in r.json()["detail"]
    two = {**BODY["agents"], "agents": BODY["agents"]["agents"][:2]}
    r = _submit(service, _body(requirements=BODY["requirements"][:2], agents=two))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("catalogue.shift_types: the shift types expand into 4 templates")


def test_unknown_or_other_kind_of_job_is_404(service: Service) -> None:
    r = service.client.get("/v1/schedules/abc", headers=service.headers("planner"))
    assert r.status_code == 404 and "abc" in r.json()["detail"]
    job = service.app.state.service.jobs.submit("simulation", {"scenario": {}}, "k")
    r = service.client.get(f"/v1/schedules/{job.id}", headers=service.headers("planner"))
    assert r.status_code == 404


def test_submission_is_audited(service: Service) -> None:
    from slarisk.service import audit

    r = _submit(service, BODY, role="planner")
    rec = audit.recent(service.store, 1)[0]
    assert rec.endpoint == "schedules.submit" and rec.key_id == service.key_ids["planner"]
    assert rec.outputs["job_id"] == r.json()["id"]
    assert rec.n_items == len(BODY["requirements"])
