"""POST /v1/staffing/requirements against the published Erlang C reference and the limits."""

from __future__ import annotations

from typing import Any

import pytest

from slarisk.service import audit
from tests.service.conftest import Service, ServiceFactory

BASE: dict[str, Any] = {
    "interval_minutes": 30,
    "aht_seconds": 180,
    "target_service_level": 0.8,
    "answer_within_seconds": 20,
    "intervals": [
        {"interval_start": "2026-11-30T09:00:00Z", "volume": 100},
        {"interval_start": "2026-11-30T09:30:00Z", "volume": 0},
    ],
}


def _post(service: Service, body: Any, role: str = "scheduler") -> Any:
    return service.client.post(
        "/v1/staffing/requirements", json=body, headers=service.headers(role)
    )


def test_erlang_c_reference_values(service: Service) -> None:
    """100 contacts per 30 min, AHT 3 min, 80% in 20 s -> 14 agents, SL 0.888, occupancy 0.714."""
    r = _post(service, BASE)
    assert r.status_code == 200, r.text
    first, idle = r.json()["intervals"]
    assert first["agents"] == 14
    assert first["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert first["occupancy"] == pytest.approx(0.714, abs=5e-4)
    assert idle["agents"] == 0
    assert r.json()["total_agent_hours"] == pytest.approx(7.0)


def test_shrinkage_and_erlang_a(service: Service) -> None:
    body = {**BASE, "shrinkage": 0.3}
    assert _post(service, body).json()["intervals"][0]["agents"] == 20  # ceil(14 / 0.7)
    body = {**BASE, "method": "erlang-a", "patience_seconds": 120}
    row = _post(service, body).json()["intervals"][0]
    assert row["p_abandon"] is not None and row["agents"] <= 14


def test_backlog_method(service: Service) -> None:
    body = {
        "interval_minutes": 60,
        "method": "backlog",
        "target_hours": 8,
        "aht_seconds": 1800,
        "cyclic": True,
        "intervals": [
            {"interval_start": f"2026-11-30T{h:02d}:00:00Z", "volume": 10} for h in range(12)
        ],
    }
    r = _post(service, body)
    assert r.status_code == 200, r.text
    rows = r.json()["intervals"]
    delays = [row["max_delay_hours"] for row in rows if row["max_delay_hours"] is not None]
    assert delays and all(d <= 8 + 1e-9 for d in delays)
    assert sum(row["agents"] for row in rows) > 0


def test_recommendation_audited(service: Service) -> None:
    r = _post(service, BASE, role="planner")
    rec = audit.recent(service.store, 1)[0]
    assert rec.endpoint == "staffing.requirements"
    assert rec.key_id == service.key_ids["planner"]
    assert rec.input_digest == r.json()["input_digest"]
    assert rec.outputs["max_agents"] == 14


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_service_level": None}, "target_service_level"),
        ({"method": "erlang-a"}, "patience_seconds"),
        ({"method": "backlog"}, "target_hours"),
        ({"aht_seconds": None}, "intervals[0].aht_seconds"),
        ({"target_service_level": 1.5}, "target_service_level"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"intervals": []}, "intervals"),
        (
            {"intervals": [{"interval_start": "2026-11-30T09:00:00", "volume": 1}]},
            "intervals[0].interval_start",
        ),
        (
            {"intervals": [{"interval_start": "2026-11-30T09:00:00Z", "volume": -1}]},
            "intervals[0].volume",
        ),
        (
            {"intervals": [{"interval_start": "2026-11-30T09:00:00Z", "volume": 1}] * 2},
            "intervals[1]",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_requests_name_the_field(
    service: Service, change: dict[str, Any], field: str
) -> None:
    r = _post(service, {**BASE, **change})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()


@pytest.mark.parametrize("method", ["erlang-c", "erlang-a"])
def test_a_near_zero_occupancy_cap_is_refused_not_searched(service: Service, method: str) -> None:
    """An occupancy cap that would need millions of agents is a 422 naming the field (it used
    to overflow to a wrong count with Erlang C and never finish with Erlang A)."""
    body = {**BASE, "method": method, "patience_seconds": 120, "max_occupancy": 1e-300}
    r = _post(service, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("max_occupancy: max_occupancy 1e-300 would need more")


def test_interval_limit(make_service: ServiceFactory) -> None:
    service = make_service(max_staffing_intervals=1)
    r = _post(service, BASE)
    assert r.status_code == 413
    assert "max_staffing_intervals" in r.json()["detail"] and "limit of 1" in r.json()["detail"]


def test_booleans_are_not_numbers(service: Service) -> None:
    """JSON true is refused where a number is expected (found by the OpenAPI fuzz)."""
    r = _post(service, {**BASE, "answer_within_seconds": True})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("answer_within_seconds")
    bad = {**BASE, "intervals": [{"interval_start": "2026-11-30T09:00:00Z", "volume": True}]}
    assert _post(service, bad).status_code == 422


def test_every_numeric_request_field_is_strict() -> None:
    """Numbers in request bodies are declared strict (JSON true/false is not 1/0)."""
    from pydantic import Strict

    from slarisk.service import schemas

    models = [m for m in vars(schemas).values() if isinstance(m, type)]
    models = [m for m in models if issubclass(m, schemas.RequestModel)]
    assert len(models) >= 6
    for model in models:
        for name, f in model.model_fields.items():
            text = str(f.annotation)
            if ("float" in text or "int" in text) and "dict" not in text:
                assert any(isinstance(m, Strict) for m in f.metadata), f"{model.__name__}.{name}"
