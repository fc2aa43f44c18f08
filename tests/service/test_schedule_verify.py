"""Schedule verification over HTTP (`verify` of POST /v1/schedules): the roster simulated
against a scenario named in the server's folder or sent inline (one format), results equal
to the library's, and the checks before queueing (422 naming the field)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from slarisk.schedule import AgentsFile, catalogue_from_dict, requirement_from_frame
from slarisk.schedule.verify import verify_and_repair
from slarisk.sla.policy import load_policy
from tests.service.conftest import ServiceFactory
from tests.service.test_schedules import BODY, _submit, _wait

#: a Monday-morning desk in the catalogue's timezone: 24 P1 tickets between 09:00 and 12:00
DESK: dict[str, Any] = {
    "name": "desk",
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
        "tickets_per_week": 24,
        "weekday_weights": [1, 0, 0, 0, 0, 0, 0],
        "hour_weights": [0] * 9 + [1, 1, 1] + [0] * 12,
    },
}
VERIFY = {"replications": 2, "weeks": 1, "max_rounds": 1}


def _verify_body(**verify: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body["verify"] = {k: v for k, v in {**VERIFY, **verify}.items() if v is not None}
    return body


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scenario folder: the desk scenario and a shift catalogue (not a scenario)."""
    d = tmp_path / "scenarios"
    d.mkdir()
    (d / "desk.yaml").write_text(yaml.safe_dump(DESK), encoding="utf-8")
    (d / "shifts.yaml").write_text(yaml.safe_dump(BODY["catalogue"]), encoding="utf-8")
    return d


def test_verification_job_matches_the_library(
    make_service: ServiceFactory, folder: Path, policy_path: Path
) -> None:
    service = make_service(scenario_dir=folder)
    inline = _wait(service, _submit(service, _verify_body(scenario=DESK)).json()["id"])
    named = _wait(service, _submit(service, _verify_body(scenario_file="desk")).json()["id"])
    for job in (inline, named):
        assert job["status"] == "succeeded", job["error"]
        assert job["progress"] == 1.0
    v = inline["result"]["verification"]
    assert v["scenario"] == "desk" and v["replications"] == 2 and v["weeks"] == 1
    assert [r["round"] for r in v["rounds"]] == list(range(len(v["rounds"])))
    assert v["erlang_cost"] == v["rounds"][0]["cost"]
    assert v["final_cost"] == v["rounds"][-1]["cost"] == inline["result"]["roster"]["cost"]
    assert v["ok"] == v["rounds"][-1]["ok"] == all(a["met"] for a in v["attainment"])
    assert v["status"].startswith("goals met" if v["ok"] else "goal not met")
    assert {(a["ticket_class"], a["metric"]) for a in v["attainment"]} == {
        ("p1", "first_response"),
        ("p1", "resolution"),
    }
    for a in v["attainment"]:
        assert a["attainment_lo"] <= a["attainment"] <= a["attainment_hi"]
        assert a["met"] == (a["attainment_lo"] >= a["goal"] - 1e-12)
    # one scenario format: the file and the inline mapping give the same figures
    assert named["result"]["verification"] == v
    assert named["result"]["assignments"] == inline["result"]["assignments"]

    # the library with the same inputs gives the same rounds, attainment and roster
    cat = catalogue_from_dict(BODY["catalogue"])
    frame = pd.DataFrame(BODY["requirements"])
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    lib = verify_and_repair(
        DESK,
        requirement_from_frame(frame, cat),
        cat,
        AgentsFile.model_validate(BODY["agents"]),
        base_dir=".",
        replications=2,
        seed=0,
        weeks=1,
        max_rounds=1,
        plan_time=BODY["plan_time_seconds"],
        roster_time=BODY["roster_time_seconds"],
        policy=load_policy(str(policy_path)),
    )
    assert [c.cost for c in lib.rounds] == [r["cost"] for r in v["rounds"]]
    assert lib.status == v["status"]
    att = lib.final.attainment
    assert att["attainment"].tolist() == pytest.approx([a["attainment"] for a in v["attainment"]])
    assert att["lo"].tolist() == pytest.approx([a["attainment_lo"] for a in v["attainment"]])
    assert len(lib.final.roster.assignments) == len(inline["result"]["assignments"])


def test_unknown_scenario_lists_the_known_ones(make_service: ServiceFactory, folder: Path) -> None:
    service = make_service(scenario_dir=folder)
    r = _submit(service, _verify_body(scenario_file="baseline"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("verify.scenario_file: unknown scenario 'baseline'")
    assert detail.endswith("known: desk")  # the catalogue in the folder is not a scenario
    for name in ("../scenarios/desk", "desk/../desk", "..", "/etc/passwd", "desk.yaml\x00"):
        r = _submit(service, _verify_body(scenario_file=name))
        assert r.status_code == 422, (name, r.text)
        assert r.json()["detail"].startswith("verify.scenario_file"), r.json()
    assert _submit(service, _verify_body(scenario_file="desk.yaml")).status_code == 202


@pytest.mark.parametrize(
    ("verify", "field"),
    [
        ({"scenario": DESK, "scenario_file": "desk"}, "verify"),
        ({"scenario": None}, "verify"),
        ({"scenario": DESK, "replications": 1}, "verify.replications"),
        ({"scenario": DESK, "replications": "2"}, "verify.replications"),
        ({"scenario": DESK, "weeks": 0}, "verify.weeks"),
        ({"scenario": DESK, "max_rounds": 7}, "verify.max_rounds"),
        ({"scenario": DESK, "multiplier": 0}, "verify.multiplier"),
        ({"scenario": {**DESK, "policy": "/etc/policy.yaml"}}, "verify.scenario.policy"),
        ({"scenario": {**DESK, "backlog": "open.csv"}}, "verify.scenario.backlog"),
        ({"scenario": {**DESK, "timezone": "Europe/Paris"}}, "verify.scenario.timezone"),
        ({"scenario": {**DESK, "classes": []}}, "verify.scenario.classes"),
        (
            {"scenario": {**DESK, "classes": [{**DESK["classes"][0], "priority": "P9"}]}},
            "verify.scenario.classes",
        ),
        ({"scenario": {**DESK, "start": "2026-10-05T00:00:00"}}, "verify.scenario.start"),
    ],
)
def test_invalid_verifications_name_the_field(
    make_service: ServiceFactory, folder: Path, verify: dict[str, Any], field: str
) -> None:
    service = make_service(scenario_dir=folder)
    r = _submit(service, _verify_body(**verify))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()


def test_size_limits_are_checked_before_queueing(make_service: ServiceFactory) -> None:
    service = make_service(max_verify_replication_weeks=6, max_verify_agents=2)
    r = _submit(service, _verify_body(scenario=DESK))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("agents.agents: 3 agents exceed the limit of 2")
    two = {**BODY["agents"], "agents": BODY["agents"]["agents"][:2]}
    body = {**_verify_body(scenario=DESK, replications=4, weeks=2), "agents": two}
    r = _submit(service, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("verify.replications: 4 replications x 2 weeks = 8")
    assert "(max_verify_replication_weeks)" in r.json()["detail"]
    busy = {**DESK, "arrivals": {"tickets_per_week": 20_000}}
    service = make_service(max_expected_arrivals=1000)
    r = _submit(service, _verify_body(scenario=busy))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("verify.weeks: about 2e+04 tickets per replication")
    assert sum(service.app.state.service.jobs.count_by_status().values()) == 0  # none queued
