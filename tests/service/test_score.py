"""POST /v1/risk/score with a tiny trained model: results, validation, limits, audit, reload."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.service import audit
from slarisk.service.champion import LoadedModel
from slarisk.service.schemas import ScoreResponse
from tests.service.conftest import Service, ServiceFactory
from tests.service.model_fixture import tiny_loaded_model

NOW = "2026-10-26T12:00:00Z"
BODY: dict[str, Any] = {
    "now": NOW,
    "tickets": [
        {"ticket_id": "A", "created_at": "2026-10-26T09:00:00Z", "priority": "P1", "tier": "gold"},
        {
            "ticket_id": "B",
            "created_at": "2026-10-26T11:30:00Z",
            "first_response_at": "2026-10-26T11:45:00Z",
            "priority": "P3",
            "tier": "silver",
        },
        {"ticket_id": "C", "created_at": "2026-10-23T11:30:00+02:00", "priority": "P2"},
    ],
    "staffing": [
        {"interval_start": NOW, "interval_minutes": 60, "team": "desk", "agents": 3},
    ],
    "events": [{"ticket_id": "C", "at": "2026-10-23T12:00:00Z", "status": "pending"}],
}


@pytest.fixture
def scoring(make_service: ServiceFactory) -> Service:
    return make_service(model=tiny_loaded_model(), max_batch_size=200)


def _score(service: Service, body: Any, role: str = "scorer") -> Any:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **service.headers(role)}
    return service.client.post("/v1/risk/score", content=payload, headers=headers)


def test_scores_every_running_clock(scoring: Service) -> None:
    r = _score(scoring, BODY)
    assert r.status_code == 200, r.text
    out = r.json()
    ScoreResponse.model_validate(out)  # the hand-built JSON keeps to the published schema
    assert out["model_version"] == "test-1"
    assert out["scored_at"] == NOW and out["n_tickets"] == 3
    clocks = {(i["ticket_id"], i["metric"]) for i in out["items"]}
    # B was answered: only its resolution clock still runs
    assert clocks == {
        ("A", "first_response"),
        ("A", "resolution"),
        ("B", "resolution"),
        ("C", "first_response"),
        ("C", "resolution"),
    }
    for item in out["items"]:
        assert 0.0 <= item["breach_probability"] <= 1.0
        assert item["risk_band"] in {"low", "medium", "high", "critical", "breached"}
        assert item["alert_level"] in (0, 80, 90, 100)
        assert len(item["reasons"]) <= 3
    a_fr = next(
        i for i in out["items"] if i["ticket_id"] == "A" and i["metric"] == "first_response"
    )
    assert a_fr["risk_band"] == "breached" and a_fr["breach_probability"] == 1.0  # 30-min target
    assert a_fr["due_at"] == "2026-10-26T09:30:00Z" and a_fr["time_left_seconds"] == -9000.0
    orders = [i["work_order"] for i in out["items"]]
    assert orders == sorted(orders) and set(orders) == {1, 2, 3}


def test_score_is_audited_and_counted(scoring: Service) -> None:
    raw = json.dumps(BODY).encode()
    r = _score(scoring, raw, role="admin")
    rec = audit.recent(scoring.store, 1)[0]
    assert rec.endpoint == "risk.score" and rec.key_id == scoring.key_ids["admin"]
    assert rec.model_version == "test-1"
    assert rec.input_digest == audit.digest(raw) == r.json()["input_digest"]
    assert rec.n_items == 5 and rec.outputs["tickets"] == 3
    metrics = scoring.client.get("/metrics").text
    assert 'slarisk_scores_served_total{model_version="test-1"} 5.0' in metrics
    assert (
        'slarisk_http_requests_total{method="POST",route="/v1/risk/score",status="200"}' in metrics
    )


def _ticket(**changes: Any) -> dict[str, Any]:
    return {**BODY["tickets"][0], **changes}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"tickets": [', 422, "body"),
        (b"\xff\xfe", 422, "body"),
        (b"[]", 422, "body"),
        ({"tickets": []}, 422, "tickets"),
        ({"tickets": "A"}, 422, "tickets"),
        ({"tickets": [_ticket(created_at="2026-10-26T09:00:00")]}, 422, "tickets[0].created_at"),
        ({"now": "2026-10-26T12:00:00", "tickets": [_ticket()]}, 422, "now"),
        ({"tickets": [_ticket(priority="P9")]}, 422, "tickets[0].priority"),
        ({"tickets": [_ticket(), _ticket(ticket_id="B", tier="platinum")]}, 422, "tickets[1].tier"),
        ({"tickets": [_ticket(), _ticket()]}, 422, "tickets[1].ticket_id"),
        ({"tickets": [_ticket(priority=1)]}, 422, "tickets[0].priority"),
        ({"tickets": [_ticket(surprise=1)]}, 422, "tickets[0].surprise"),
        (
            {"now": NOW, "tickets": [_ticket(created_at="2026-10-27T09:00:00Z")]},
            422,
            "tickets[0].created_at",
        ),
        (
            {"tickets": [_ticket()], "staffing": [{**BODY["staffing"][0], "agents": "NaN"}]},
            422,
            "staffing[0].agents",
        ),
        (
            {
                "tickets": [_ticket()],
                "events": [{"ticket_id": "Z", "at": NOW, "status": "pending"}],
            },
            422,
            "events[0].ticket_id",
        ),
    ],
)
def test_bad_requests_name_the_field(scoring: Service, body: Any, status: int, field: str) -> None:
    r = _score(scoring, body)
    assert r.status_code == status, r.text
    assert r.json()["detail"].startswith(field), r.json()


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_rejected(scoring: Service, literal: bytes) -> None:
    raw = (
        json.dumps({"tickets": [_ticket()], "staffing": [{**BODY["staffing"][0], "agents": 0}]})
        .encode()
        .replace(b'"agents": 0', b'"agents": ' + literal)
    )
    r = _score(scoring, raw)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("staffing[0].agents")


def test_batch_and_body_limits(make_service: ServiceFactory) -> None:
    service = make_service(model=tiny_loaded_model(), max_batch_size=2, max_body_bytes=4096)
    body = {"now": NOW, "tickets": [_ticket(ticket_id=f"T{i}") for i in range(3)]}
    r = _score(service, body)
    assert r.status_code == 413
    assert r.json()["detail"] == "tickets: 3 tickets exceed the limit of 2 (max_batch_size)"
    big = json.dumps({"tickets": [_ticket(category="x" * 100)] * 40}).encode()
    assert len(big) > 4096
    r = _score(service, big)
    assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]


def test_without_model_scoring_is_503_and_readyz_says_why(service: Service) -> None:
    r = _score(service, BODY)
    assert r.status_code == 503 and "no model loaded" in r.json()["detail"]
    ready = service.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["model_loaded"] is False and "model" in ready.json()["degraded"]
    assert ready.json()["store_ok"] and ready.json()["policy_loaded"]


def test_champion_and_atomic_reload(make_service: ServiceFactory) -> None:
    base = tiny_loaded_model()
    versions = iter(["v1", "v2"])

    def loader() -> LoadedModel:
        return LoadedModel(
            base.model, version=next(versions), source="test", metrics={"roc_auc": 0.8}
        )

    service = make_service(model=base)
    service.app.state.service.models._loader = loader
    assert (
        service.client.get("/v1/models/champion", headers=service.headers("scorer")).json()[
            "version"
        ]
        == "test-1"
    )
    r = service.client.post("/v1/models/reload", headers=service.headers("admin"))
    assert r.status_code == 200 and r.json()["version"] == "v1"
    assert _score(service, BODY).json()["model_version"] == "v1"
    # a failing reload keeps the current model in service
    service.app.state.service.models._loader = lambda: (_ for _ in ()).throw(OSError("disk gone"))
    r = service.client.post("/v1/models/reload", headers=service.headers("admin"))
    assert r.status_code == 503 and "disk gone" in r.json()["detail"] and "v1" in r.json()["detail"]
    assert _score(service, BODY).json()["model_version"] == "v1"
    assert service.client.get("/readyz").json()["ready"] is True


TIME = st.datetimes(min_value=datetime(2026, 10, 19), max_value=datetime(2026, 10, 26, 11, 59)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 25))
    tickets = []
    for i in range(n):
        created = draw(TIME)
        t: dict[str, Any] = {
            "ticket_id": f"T{i}",
            "created_at": created.isoformat(),
            "priority": draw(st.sampled_from(["P1", "P2", "P3"])),
            "tier": draw(st.sampled_from(["gold", "silver", "unknown"])),
            "channel": draw(st.sampled_from(["email", "portal", "chat"])),
        }
        if draw(st.booleans()):
            gap = draw(st.floats(0, 1)) * (datetime(2026, 10, 26, 12, tzinfo=UTC) - created)
            t["first_response_at"] = (created + gap).isoformat()
        tickets.append(t)
    return {"now": NOW, "tickets": tickets}


@given(body=batches())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_property_valid_batches_score(make_service: ServiceFactory, body: dict[str, Any]) -> None:
    service = _PROPERTY_SERVICE.get("s") or _PROPERTY_SERVICE.setdefault(
        "s", make_service(model=tiny_loaded_model())
    )
    r = _score(service, body)
    assert r.status_code == 200, r.text
    ScoreResponse.model_validate(r.json())
    items = r.json()["items"]
    ids = {t["ticket_id"] for t in body["tickets"]}
    unanswered = {t["ticket_id"] for t in body["tickets"] if "first_response_at" not in t}
    assert {i["ticket_id"] for i in items} == ids  # every open ticket has a running clock
    assert {i["ticket_id"] for i in items if i["metric"] == "first_response"} == unanswered
    assert all(0 <= i["breach_probability"] <= 1 for i in items)
    assert sorted({i["work_order"] for i in items}) == list(range(1, len(ids) + 1))
    for i in items:
        assert (i["risk_band"] == "breached") == (i["time_left_seconds"] <= 0)


_PROPERTY_SERVICE: dict[str, Service] = {}


@pytest.fixture(autouse=True)
def _reset_property_service() -> Any:
    yield
    _PROPERTY_SERVICE.clear()


def test_now_defaults_to_server_clock(scoring: Service) -> None:
    created = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = _score(scoring, {"tickets": [_ticket(created_at=created)]})
    assert r.status_code == 200, r.text
    scored_at = datetime.fromisoformat(r.json()["scored_at"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - scored_at).total_seconds()) < 60


def test_request_scores_match_the_from_scratch_reference() -> None:
    """The service's request (as columns, no DataFrames, with status events) gives the same
    items as the from-scratch reference (compute_clocks and the training feature builder) on
    the request's frames, and as score_open_tickets on those frames."""
    import random

    from slarisk.risk.score import score_open_tickets
    from slarisk.service.schemas import ScoreRequest
    from slarisk.service.scoring import request_frames, score_items, score_request
    from tests.risk.score_reference import reference_scores
    from tests.service.model_fixture import test_policy

    rng = random.Random(5)
    tickets = [
        {
            "ticket_id": f"T{i}",
            "created_at": f"2026-10-{rng.randint(19, 26)}T{rng.randint(0, 11):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}Z",
            "priority": rng.choice(["P1", "P2", "P3"]),
            "tier": rng.choice(["gold", "silver", "unknown"]),
            "channel": rng.choice(["email", "portal", "fax"]),
            "category": rng.choice(["network", "access"]),
        }
        for i in range(60)
    ]
    events = [
        {
            "ticket_id": t["ticket_id"],
            "at": f"2026-10-{rng.randint(20, 26)}T{rng.randint(0, 11):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
            "status": rng.choice(["pending", "open", "in_progress"]),
        }
        for t in tickets
        for _ in range(rng.randint(0, 8))
    ]
    policy = test_policy()
    assert policy.pause_statuses and any(e["status"] in policy.pause_statuses for e in events)
    model = tiny_loaded_model().model
    due: dict[bool, list[Any]] = {}
    for with_events in (False, True):
        body = ScoreRequest.model_validate(
            {
                "now": NOW,
                "tickets": tickets,
                "staffing": BODY["staffing"] * 1,
                "events": events if with_events else None,
            }
        )
        assert body.now is not None
        got = score_request(model, body, policy, body.now)
        due[with_events] = sorted((i["ticket_id"], i["metric"], i["due_at"]) for i in got)
        tk, staffing, ev = request_frames(body)
        for want in (
            score_items(reference_scores(model, tk, body.now, policy, staffing, events=ev)),
            score_items(score_open_tickets(model, tk, body.now, policy, staffing, events=ev)),
        ):
            assert [(i["ticket_id"], i["metric"], i["work_order"]) for i in got] == [
                (i["ticket_id"], i["metric"], i["work_order"]) for i in want
            ]
            for a, b in zip(got, want, strict=True):
                assert a["reasons"] == b["reasons"] and a["due_at"] == b["due_at"]
                assert a["alert_level"] == b["alert_level"] and a["risk_band"] == b["risk_band"]
                assert a["breach_probability"] == pytest.approx(b["breach_probability"], abs=1e-12)
                assert a["time_left_seconds"] == pytest.approx(b["time_left_seconds"], abs=1e-9)
    assert due[True] != due[False]  # the pauses moved due times
