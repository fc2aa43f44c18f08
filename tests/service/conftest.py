"""Fixtures of the service tests: a small SLA policy, an app with one key per role."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from slarisk.service.app import create_app  # noqa: E402
from slarisk.service.champion import LoadedModel  # noqa: E402
from slarisk.service.security import Role, create_key  # noqa: E402
from slarisk.service.settings import Settings  # noqa: E402
from slarisk.service.store import Store  # noqa: E402

POLICY_YAML = """
name: test
timezone: Europe/London
calendars:
  24x7: {always_open: true}
  business:
    hours:
      mon: [["09:00", "17:00"]]
      tue: [["09:00", "17:00"]]
      wed: [["09:00", "17:00"]]
      thu: [["09:00", "17:00"]]
      fri: [["09:00", "17:00"]]
priorities: [P1, P2, P3]
tiers: [gold, silver]
default_tier: silver
targets:
  - {priority: P1, metric: first_response, hours: 0.5, calendar: 24x7, goal: 0.95}
  - {priority: P1, metric: resolution, hours: 4, calendar: 24x7, goal: 0.9}
  - {priority: P2, metric: first_response, hours: 2, calendar: business, goal: 0.9}
  - {priority: P2, metric: resolution, hours: 16, calendar: business, goal: 0.9}
  - {priority: P3, metric: first_response, hours: 8, calendar: business, goal: 0.85}
  - {priority: P3, metric: resolution, hours: 40, calendar: business, goal: 0.8}
pause_statuses: [pending]
"""

SCENARIO: dict[str, Any] = {
    "name": "tiny",
    "start": "2026-11-30T00:00:00Z",
    "timezone": "Europe/London",
    "horizon_hours": 24,
    "dispatch": "priority",
    "classes": [
        {
            "name": "p1",
            "priority": "P1",
            "share": 0.2,
            "handle": {"dist": "exponential", "mean": 20, "unit": "minutes"},
        },
        {
            "name": "p3",
            "priority": "P3",
            "share": 0.8,
            "handle": {"dist": "exponential", "mean": 20, "unit": "minutes"},
        },
    ],
    "arrivals": {"tickets_per_week": 700},
    "staffing": {"teams": [{"name": "agents"}], "constant": {"agents": 2}},
}


@pytest.fixture(scope="session")
def policy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    return path


@dataclass
class Service:
    """A running app (TestClient) with one key per role."""

    app: FastAPI
    client: TestClient
    store: Store
    keys: dict[str, str]
    key_ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


ServiceFactory = Callable[..., Service]


@pytest.fixture
def make_service(tmp_path: Path, policy_path: Path) -> Iterator[ServiceFactory]:
    """Build and start apps; ``model`` (a LoadedModel or None) is what the loader returns."""
    started: list[TestClient] = []

    def factory(model: LoadedModel | None = None, **overrides: Any) -> Service:
        values: dict[str, Any] = {
            "db_path": tmp_path / f"service{len(started)}.db",
            "policy_path": policy_path,
            "models_dir": tmp_path / "no-models",
            **overrides,
        }
        settings = Settings(**values)

        def loader(_: Settings) -> LoadedModel:
            if model is None:
                raise RuntimeError("no model in this test")
            return model

        app = create_app(settings, model_loader=loader)
        store = Store(settings.db_path)
        keys, ids = {}, {}
        for role in Role:
            ids[role.value], keys[role.value] = create_key(store, role, name=f"test-{role.value}")
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        started.append(client)
        return Service(app, client, store, keys, ids)

    yield factory
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def service(make_service: ServiceFactory) -> Service:
    """An app without a model (scoring degraded), policy loaded."""
    return make_service()
