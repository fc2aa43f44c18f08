"""`slarisk keys ...`, `slarisk api-spec`, the default champion loader (models/ export), and the
public probes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from slarisk.cli import app as cli_app
from slarisk.service.security import authenticate
from slarisk.service.settings import Settings
from slarisk.service.store import Store
from tests.service.conftest import Service, ServiceFactory
from tests.service.model_fixture import tiny_loaded_model

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    r = runner.invoke(
        cli_app, ["keys", "create", "--role", "planner", "--name", "ops", "--db", str(db)]
    )
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    principal = authenticate(Store(db), key)
    assert principal is not None and principal.role == "planner" and principal.name == "ops"
    listed = runner.invoke(cli_app, ["keys", "list", "--db", str(db)])
    assert principal.key_id in listed.stdout and "planner" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout  # the secret is shown once only
    r = runner.invoke(cli_app, ["keys", "revoke", principal.key_id, "--db", str(db)])
    assert r.exit_code == 0 and authenticate(Store(db), key) is None
    r = runner.invoke(cli_app, ["keys", "revoke", principal.key_id, "--db", str(db)])
    assert r.exit_code == 2 and "no active key" in r.output


def test_keys_create_unknown_role(tmp_path: Path) -> None:
    r = runner.invoke(cli_app, ["keys", "create", "--role", "root", "--db", str(tmp_path / "k.db")])
    assert r.exit_code == 2
    assert "unknown role 'root'" in r.output and "Traceback" not in r.output


def test_api_spec_command(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    r = runner.invoke(cli_app, ["api-spec", "--out", str(out)])
    assert r.exit_code == 0, r.output
    committed = Path(__file__).resolve().parents[2] / "api" / "openapi.json"
    assert out.read_text() == committed.read_text()


def test_default_loader_reads_the_models_export(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    """No registry reachable (tmp tracking URI) -> the champion exported to models_dir."""
    from slarisk.risk.model_card import ModelCard
    from slarisk.risk.registry import export_model
    from slarisk.service.app import create_app

    models = tmp_path / "models"
    card = ModelCard(
        name="slarisk-breach-risk", version="7", run_id="r1", trained_at="2026-10-26T00:00:00Z",
        spec_name="test", data_source="random", data_fingerprint="f", n_tickets_train=1,
        n_tickets_test=1, n_rows_train=1, n_rows_test=1, period_train="a", period_test="b",
        metrics={"roc_auc": 0.81}, baselines={}, by_age=[], params={}, decision="promoted", seed=0,
    )  # fmt: skip
    export_model(tiny_loaded_model().model, card, models)
    settings = Settings(
        db_path=tmp_path / "s.db", policy_path=tmp_path / "none.yaml", models_dir=models
    )
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz").json()
        assert ready["model_loaded"] and ready["model_version"] == "7"
        assert "policy" in ready["degraded"] and not ready["ready"]


def test_probes_and_metrics(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    service.client.get("/v1/whoami", headers=service.headers("sales"))
    service.client.get("/v1/simulations/123", headers=service.headers("sales"))
    text = service.client.get("/metrics").text
    assert 'slarisk_http_requests_total{method="GET",route="/v1/whoami",status="200"} 1.0' in text
    assert 'route="/v1/simulations/{job_id}",status="404"' in text  # templates, not raw paths
    assert "slarisk_http_request_seconds_bucket" in text
    assert "slarisk_jobs_running 0.0" in text and "slarisk_model_loaded 0.0" in text


def test_openapi_has_examples_and_security(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
    assert json.dumps(spec["components"]["schemas"]["ScoreRequest"]["examples"])


def test_bad_setting_is_one_line_exit_2(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SLARISK_PORT", "0")
    res = CliRunner().invoke(cli_app, ["serve", "--db", str(tmp_path / "s.db")])
    assert res.exit_code == 2
    assert "SLARISK_PORT" in res.output and "Traceback" not in res.output


def test_keys_list_and_revoke_need_an_existing_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    for args in (["keys", "list"], ["keys", "revoke", "abc"]):
        r = runner.invoke(cli_app, [*args, "--db", str(missing)])
        assert r.exit_code == 2 and "no service database" in r.output
    assert not missing.exists()  # nothing created by a read


def test_serve_on_a_busy_port_is_one_line_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = runner.invoke(cli_app, ["serve", "--port", str(port), "--db", str(tmp_path / "s.db")])
    assert r.exit_code == 2 and "address in use" in r.output
