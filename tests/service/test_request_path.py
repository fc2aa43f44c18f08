"""The score request path's shortcuts: the JSON body route (pydantic-core's JSON parser, direct
endpoint call), the scoring warm-up and the serving GC settings; every score is audited."""

from __future__ import annotations

import gc
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from slarisk.service.app import GC_GEN0_THRESHOLD, create_app, serving_gc
from slarisk.service.champion import LoadedModel
from slarisk.service.deps import JsonBodyRoute, _direct_plan, get_state
from slarisk.service.schemas import ScoreRequest
from slarisk.service.security import create_key
from slarisk.service.settings import Settings
from slarisk.service.store import Store
from tests.service.conftest import ServiceFactory
from tests.service.model_fixture import tiny_loaded_model

NOW = "2026-10-26T12:00:00Z"
TICKET: dict[str, Any] = {
    "ticket_id": "A",
    "created_at": "2026-10-26T09:00:00Z",
    "priority": "P1",
    "tier": "gold",
}

VALID_BODIES: list[bytes] = [
    json.dumps({"now": NOW, "tickets": [TICKET]}).encode(),
    json.dumps(
        {
            "now": "2026-10-26T14:00:00.123456+02:00",
            "tickets": [
                {**TICKET, "ticket_id": "  caf\u00e9 \u2603  ", "channel": " chat "},
                {**TICKET, "ticket_id": "B", "created_at": 1761469200, "priority": "P3"},
                {**TICKET, "ticket_id": "C", "created_at": 1761469200.25, "tier": "unknown"},
                {
                    **TICKET,
                    "ticket_id": 'D\\n"q"',
                    "first_response_at": "2026-10-26T09:05:00.5-01:00",
                },
            ],
            "staffing": [
                {"interval_start": NOW, "interval_minutes": 60, "agents": 3},
                {"interval_start": NOW, "interval_minutes": 30, "team": "x", "agents": 2.1},
                {"interval_start": NOW, "interval_minutes": 15, "agents": 4.000000000000001},
            ],
            "events": [{"ticket_id": "B", "at": "2026-10-26T09:10:00Z", "status": "pending"}],
        },
        ensure_ascii=False,
    ).encode(),
    b'{"tickets": [], "tickets": [{"ticket_id": "A", "created_at": "2026-10-26T09:00:00Z",'
    b' "priority": "P1"}], "staffing": null}',
]


@pytest.mark.parametrize("raw", VALID_BODIES)
def test_json_parser_reads_what_fastapi_reads(raw: bytes) -> None:
    """The route's parser (pydantic-core JSON) and FastAPI's (json.loads, then the model)
    agree on valid bodies; invalid ones always go through FastAPI's own handler."""
    assert ScoreRequest.model_validate_json(raw) == ScoreRequest.model_validate(json.loads(raw))


def test_score_route_calls_its_endpoint_directly() -> None:
    from slarisk.service.routers.risk import router

    (route,) = router.routes
    assert isinstance(route, JsonBodyRoute)
    plan = _direct_plan(route.dependant)
    assert plan == ("body", ScoreRequest, "request", "state", "caller")


def _bodies() -> list[bytes]:
    body = {
        "now": NOW,
        "tickets": [
            TICKET,
            {**TICKET, "ticket_id": "B", "created_at": "2026-10-26T11:30:00Z", "priority": "P3"},
        ],
        "staffing": [{"interval_start": NOW, "interval_minutes": 60, "agents": 3}],
    }
    return [json.dumps(body).encode(), VALID_BODIES[1]]


def test_direct_path_answers_like_fastapi(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same responses with and without the shortcut (``dependency_overrides`` turns it off),
    and the shortcut really skips FastAPI's dependency solving."""
    service = make_service(model=tiny_loaded_model())
    solved: list[int] = []
    solve = fastapi.routing.solve_dependencies

    async def counting_solve(*args: Any, **kwargs: Any) -> Any:
        solved.append(1)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting_solve)
    headers = {"content-type": "application/json", **service.headers("scorer")}

    def post(raw: bytes) -> tuple[int, Any]:
        r = service.client.post("/v1/risk/score", content=raw, headers=headers)
        return r.status_code, r.json()

    direct = [post(raw) for raw in _bodies()]
    assert not solved
    service.app.dependency_overrides[get_state] = get_state
    try:
        general = [post(raw) for raw in _bodies()]
    finally:
        service.app.dependency_overrides.clear()
    assert len(solved) == len(general)
    assert [s for s, _ in direct] == [200, 200]
    assert direct == general


def test_every_score_is_in_the_audit_file_after_shutdown(tmp_path: Path, policy_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "a.db", policy_path=policy_path, models_dir=tmp_path)
    model = tiny_loaded_model()
    app = create_app(settings, model_loader=lambda _: model)
    _, key = create_key(Store(settings.db_path), "scorer")
    digests = []
    with TestClient(app) as client:
        for i in range(40):
            body = {"now": NOW, "tickets": [{**TICKET, "ticket_id": f"T{i}"}]}
            r = client.post("/v1/risk/score", json=body, headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
            digests.append(r.json()["input_digest"])
    with sqlite3.connect(settings.db_path) as conn:  # a fresh connection, after shutdown
        rows = conn.execute("SELECT input_digest FROM audit ORDER BY id").fetchall()
    assert [d for (d,) in rows] == digests


def test_serving_gc_is_restored() -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    with serving_gc():
        assert gc.get_threshold()[0] >= GC_GEN0_THRESHOLD
        assert gc.get_freeze_count() >= frozen
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0


def test_failed_warm_up_is_logged_and_the_app_starts(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broken = LoadedModel(model=object(), version="broken", source="test")
    with caplog.at_level(logging.WARNING, logger="slarisk.service"):
        service = make_service(model=broken)
    assert "scoring warm-up failed" in caplog.text
    assert service.client.get("/readyz").json()["model_version"] == "broken"
