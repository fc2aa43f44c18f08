"""The score request path: the scoring warm-up and the serving GC settings; every score is
audited."""

from __future__ import annotations

import gc
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slarisk.service.app import GC_GEN0_THRESHOLD, create_app, serving_gc
from slarisk.service.champion import LoadedModel
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
