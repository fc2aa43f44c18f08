"""Every route: no key and invalid keys -> 401, each wrong role -> 403, right roles pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slarisk.service.security import Role, authenticate, revoke_key
from tests.service.conftest import SCENARIO, Service

ROLES = [r.value for r in Role]
SIM = {"planner", "sales", "admin"}
# (method, path, body, roles allowed)
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/v1/risk/score", {"tickets": []}, {"scorer", "admin"}),
    (
        "POST",
        "/v1/simulations",
        {"scenario": SCENARIO, "replications": 0},
        {"planner", "sales", "admin"},
    ),
    ("GET", "/v1/simulations/nonexistent", None, SIM),
    ("POST", "/v1/forecasts", {"volumes": []}, {"planner", "sales", "admin"}),
    ("GET", "/v1/forecasts/nonexistent", None, {"planner", "sales", "admin"}),
    ("POST", "/v1/schedules", {"requirements": []}, {"planner", "scheduler", "admin"}),
    ("GET", "/v1/schedules/nonexistent", None, {"planner", "scheduler", "admin"}),
    ("POST", "/v1/staffing/requirements", {"intervals": []}, {"planner", "scheduler", "admin"}),
    ("GET", "/v1/models/champion", None, {"scorer", "admin"}),
    ("POST", "/v1/models/reload", None, {"admin"}),
    ("GET", "/v1/whoami", None, set(ROLES)),
]
PUBLIC = ["/healthz", "/readyz", "/metrics"]


def _call(service: Service, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return service.client.request(
        method, path, content=json.dumps(body) if body is not None else None, headers=headers
    )


def test_route_table_covers_every_route(service: Service) -> None:
    spec = service.app.openapi()["paths"]
    api = {(m.upper(), p) for p, ops in spec.items() for m in ops if p.startswith("/v1")}
    listed = {(m, p.replace("nonexistent", "{job_id}")) for m, p, _, _ in ROUTES}
    assert api == listed


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_route_guarded(
    service: Service, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    valid_id = service.key_ids["admin"]
    bad_keys = {
        "none": {},
        "empty": {"X-API-Key": ""},
        "garbage": {"X-API-Key": "not-a-key"},
        "wrong secret": {"X-API-Key": f"slk_{valid_id}_wrongsecret"},
        "unknown id": {"X-API-Key": "slk_000000000000_" + "x" * 43},
        "bearer garbage": {"Authorization": "Bearer nope"},
        "basic scheme": {"Authorization": "Basic " + service.keys["admin"]},
    }
    for label, headers in bad_keys.items():
        r = _call(service, method, path, body, {"content-type": "application/json", **headers})
        assert r.status_code == 401, (label, r.status_code, r.text)
        assert service.keys["admin"] not in r.text
        assert r.headers.get("www-authenticate") == "Bearer"
    for role in ROLES:
        for headers in (
            {"X-API-Key": service.keys[role]},
            {"Authorization": f"Bearer {service.keys[role]}"},
        ):
            r = _call(service, method, path, body, {"content-type": "application/json", **headers})
            if role in allowed:
                assert r.status_code not in (401, 403), (role, r.status_code, r.text)
            else:
                assert r.status_code == 403, (role, r.status_code, r.text)
                assert role in r.json()["detail"]


def test_auth_comes_before_body_validation(service: Service) -> None:
    """Malformed JSON from a caller without a valid key is refused (401), not parsed (422)."""
    r = service.client.post(
        "/v1/risk/score", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401
    r = service.client.post(
        "/v1/risk/score",
        content=b"{not json",
        headers={"content-type": "application/json", **service.headers("sales")},
    )
    assert r.status_code == 403


def test_revoked_key_is_refused(service: Service) -> None:
    key = service.keys["scorer"]
    assert service.client.get("/v1/whoami", headers={"X-API-Key": key}).status_code == 200
    assert revoke_key(service.store, service.key_ids["scorer"])
    assert service.client.get("/v1/whoami", headers={"X-API-Key": key}).status_code == 401
    assert not revoke_key(service.store, service.key_ids["scorer"])  # already revoked


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_key(service: Service, path: str) -> None:
    assert service.client.get(path).status_code in (200, 503)


def test_keys_stored_hashed(service: Service) -> None:
    rows = service.store.conn().execute("SELECT key_id, secret_hash FROM api_keys").fetchall()
    dumped = " ".join(str(tuple(r)) for r in rows)
    for key in service.keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in dumped
    assert authenticate(service.store, service.keys["admin"]) is not None
    assert authenticate(service.store, service.keys["admin"] + "x") is None


def test_keys_never_logged(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for role in ROLES:
        service.client.get("/v1/whoami", headers=service.headers(role))
        service.client.post("/v1/risk/score", json={"tickets": []}, headers=service.headers(role))
    service.client.get("/v1/whoami", headers={"X-API-Key": service.keys["admin"] + "x"})
    for key in service.keys.values():
        assert key.split("_", 2)[2] not in caplog.text


def test_access_middleware_knows_every_guarded_route(service: Service) -> None:
    """The middleware's table (built from the routers) holds each /v1 route with exactly the
    roles of ROUTES, and the probes as public."""
    from slarisk.service.access import AccessMiddleware

    (entry,) = [m for m in service.app.user_middleware if m.cls is AccessMiddleware]
    table = {
        (method, route.path): roles
        for route, roles in entry.kwargs["routes"]
        for method in route.methods
    }
    expected = {
        (m, p.replace("nonexistent", "{job_id}")): {Role(r) for r in allowed}
        for m, p, _, allowed in ROUTES
    }
    assert {k: set(v) for k, v in table.items() if v is not None} == expected
    assert {p for (_, p), v in table.items() if v is None} == set(PUBLIC)


def test_refusals_are_counted_under_the_route(service: Service) -> None:
    service.client.post("/v1/risk/score", content=b"{not json")
    service.client.post("/v1/risk/score", content=b"{}", headers=service.headers("sales"))
    text = service.client.get("/metrics").text
    assert 'method="POST",route="/v1/risk/score",status="401"} 1.0' in text
    assert 'method="POST",route="/v1/risk/score",status="403"} 1.0' in text


def test_valid_key_then_body_validation(service: Service) -> None:
    """Once the key and role pass, the body is validated as usual (422 names the field)."""
    r = service.client.post(
        "/v1/risk/score", json={"tickets": [{"ticket_id": "x"}]}, headers=service.headers("scorer")
    )
    assert r.status_code == 422
    assert "tickets[0].created_at" in r.json()["detail"]
    r = service.client.post(
        "/v1/staffing/requirements",
        content=b"{not json",
        headers={"content-type": "application/json", **service.headers("planner")},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
