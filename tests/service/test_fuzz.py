"""Property-based fuzz of the OpenAPI (schemathesis, in-process ASGI): no 5xx, no response that
violates the schema, invalid requests rejected. Bounded: few examples per operation."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from slarisk.service.app import create_app
from slarisk.service.security import create_key
from slarisk.service.settings import Settings
from slarisk.service.store import Store
from tests.service.model_fixture import tiny_loaded_model

warnings.filterwarnings("ignore", category=DeprecationWarning)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 12

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, policy_path: Path) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("fuzz")
    model = tiny_loaded_model()
    app = create_app(
        Settings(
            db_path=tmp / "fuzz.db",
            policy_path=policy_path,
            models_dir=tmp / "none",
            max_expected_arrivals=2000,
            max_horizon_days=3,
            max_replications=2,
            max_batch_size=50,
            max_forecast_rows=200,
            max_forecast_history_days=120,
            max_schedule_rows=50,
            max_schedule_agents=5,
            max_schedule_templates=20,
        ),
        model_loader=lambda _: model,
    )
    _, key = create_key(Store(tmp / "fuzz.db"), "admin")
    app.state.fuzz_key = key
    with TestClient(app):  # runs the lifespan once; the state stays on the app
        yield app


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


_SPEC = json.loads((ROOT / "api" / "openapi.json").read_text())["paths"]
# negative cases only exist for operations that take parameters or a body
CASES = [
    (path, method.upper(), mode)
    for path, ops in _SPEC.items()
    for method, op in ops.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
]


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_openapi_fuzz(
    fuzz_schema: Any, fuzz_app: Any, path: str, method: str, mode: GenerationMode
) -> None:
    operation = fuzz_schema[path][method]
    headers = {"X-API-Key": fuzz_app.state.fuzz_key}

    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
