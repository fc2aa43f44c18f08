"""`GET /v1/models/champion` and `POST /v1/models/reload` (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from slarisk.service.champion import LoadedModel
from slarisk.service.deps import StateDep, require
from slarisk.service.routers import AUTH_ERRORS, UNAVAILABLE
from slarisk.service.schemas import ChampionOut
from slarisk.service.security import ADMIN, MODEL_READ, Principal

router = APIRouter(prefix="/v1/models", tags=["models"])


def _out(m: LoadedModel) -> ChampionOut:
    return ChampionOut(
        version=m.version,
        source=m.source,
        trained_at=m.trained_at,
        loaded_at=m.loaded_at,
        metrics=m.metrics,
        details=m.details,
    )


@router.get(
    "/champion",
    response_model=ChampionOut,
    summary="The champion model served: version, training date, backtest metrics",
    responses={**AUTH_ERRORS, **UNAVAILABLE},
)
async def champion(
    state: StateDep, _: Annotated[Principal, Depends(require(MODEL_READ))]
) -> ChampionOut:
    current = state.models.current
    if current is None:
        raise HTTPException(503, detail=f"no model loaded: {state.models.error or 'unknown'}")
    return _out(current)


@router.post(
    "/reload",
    response_model=ChampionOut,
    summary="Load the current champion and swap it in atomically (admin)",
    description="Requests in flight finish on the model they started with; on failure the "
    "previous model stays in service and the error is returned.",
    responses={**AUTH_ERRORS, **UNAVAILABLE},
)
async def reload(state: StateDep, _: Annotated[Principal, Depends(require(ADMIN))]) -> ChampionOut:
    try:
        new = await run_in_threadpool(state.models.load)
    except Exception as exc:
        state.metrics.model_reloads.labels("failed").inc()
        kept = state.models.current
        keep = f"; still serving {kept.version}" if kept is not None else ""
        raise HTTPException(503, detail=f"reload failed: {exc}{keep}") from None
    state.metrics.model_reloads.labels("ok").inc()
    state.metrics.model_loaded.set(1)
    return _out(new)
