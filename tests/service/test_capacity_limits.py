"""The scenario and requirement limits over HTTP: 422 naming the field and the limit, at once
(a billion agents used to freeze the job runner; 1e15 tickets a week ran out of memory)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from tests.service.conftest import SCENARIO, Service


def _scenario(edit: Any) -> dict[str, Any]:
    sc = copy.deepcopy(SCENARIO)
    edit(sc)
    return sc


@pytest.mark.parametrize(
    ("edit", "field", "limit"),
    [
        (lambda s: s["staffing"].update(constant={"agents": 1_000_000_000}),
         "scenario.staffing.constant.agents", "10000"),
        (lambda s: s["arrivals"].update(tickets_per_week=1e15),
         "scenario.arrivals.tickets_per_week", "1000000"),
        (lambda s: s.update(horizon_hours=1e9), "scenario.horizon_hours", "87660"),
        (lambda s: s["classes"][0]["handle"].update(mean=1e300),
         "scenario.classes[0:p1].handle", "365 days"),
    ],
)  # fmt: skip
def test_a_scenario_beyond_the_limits_is_a_422(
    service: Service, edit: Any, field: str, limit: str
) -> None:
    t0 = time.monotonic()
    r = service.client.post(
        "/v1/simulations",
        json={"scenario": _scenario(edit), "replications": 1},
        headers=service.headers("planner"),
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field + ":") and limit in detail, detail
    assert time.monotonic() - t0 < 30  # generous guard: refused before any work


def test_requirements_beyond_the_load_limit_are_a_422(service: Service) -> None:
    body = {
        "interval_minutes": 1,
        "aht_seconds": 86_400,
        "target_service_level": 0.8,
        "intervals": [{"interval_start": "2026-11-30T09:00:00Z", "volume": 1_000_000}],
    }
    r = service.client.post(
        "/v1/staffing/requirements", json=body, headers=service.headers("scheduler")
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("intervals: load"), r.json()


def test_requirements_aht_beyond_the_limit_is_a_422(service: Service) -> None:
    body = {
        "interval_minutes": 30,
        "aht_seconds": 1e300,
        "target_service_level": 0.8,
        "intervals": [{"interval_start": "2026-11-30T09:00:00Z", "volume": 10}],
    }
    r = service.client.post(
        "/v1/staffing/requirements", json=body, headers=service.headers("scheduler")
    )
    assert r.status_code == 422, r.text
    assert "aht_seconds" in r.text and "86400" in r.text, r.text
