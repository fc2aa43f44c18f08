"""The committed contract: app.openapi() == api/openapi.json (`make api-spec` regenerates it),
and the example requests in api/examples/ validate against their request schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from slarisk.service.app import create_app
from slarisk.service.forecast_schemas import ForecastRequest
from slarisk.service.schedule_schemas import ScheduleRequest
from slarisk.service.schemas import ScoreRequest, SimulationRequest, StaffingRequest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS: dict[str, type[BaseModel]] = {
    "forecast": ForecastRequest,
    "schedule": ScheduleRequest,
    "score": ScoreRequest,
    "simulation": SimulationRequest,
    "staffing": StaffingRequest,
}


def test_openapi_matches_committed_file() -> None:
    committed = json.loads((ROOT / "api" / "openapi.json").read_text(encoding="utf-8"))
    assert create_app().openapi() == committed, (
        "the API drifted from api/openapi.json: review the change, then run `make api-spec`"
    )


def test_every_operation_has_an_example_or_no_body() -> None:
    spec = create_app().openapi()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert spec["components"]["schemas"][ref].get("examples"), (method, path)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_examples_validate(kind: str) -> None:
    files = sorted((ROOT / "api" / "examples").glob(f"{kind}*.json"))
    assert files, f"no api/examples/{kind}*.json"
    for f in files:
        SCHEMAS[kind].model_validate_json(f.read_text(encoding="utf-8"))
