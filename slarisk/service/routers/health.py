"""Public probes: liveness, readiness (what is degraded) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from slarisk.service.deps import StateDep
from slarisk.service.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness: the process answers")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="Readiness: model loaded, policy loaded, store reachable",
    responses={503: {"model": ReadyOut, "description": "Not ready; `degraded` says why."}},
)
async def readyz(state: StateDep) -> JSONResponse:
    degraded: dict[str, str] = {}
    current = state.models.current
    if current is None:
        degraded["model"] = state.models.error or "no champion model loaded"
    if state.policy is None:
        degraded["policy"] = state.policy_error or "no SLA policy loaded"
    try:
        state.store.ping()
        store_ok = True
    except Exception as exc:
        store_ok = False
        degraded["store"] = f"SQLite store unreachable: {type(exc).__name__}: {exc}"
    body = ReadyOut(
        ready=not degraded,
        model_loaded=current is not None,
        model_version=current.version if current is not None else None,
        policy_loaded=state.policy is not None,
        store_ok=store_ok,
        degraded=degraded,
    )
    return JSONResponse(status_code=200 if body.ready else 503, content=body.model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(state: StateDep) -> Response:
    return Response(content=state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
