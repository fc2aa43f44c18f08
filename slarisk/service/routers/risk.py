"""`POST /v1/risk/score`: breach risk of a batch of open tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from slarisk.service.deps import GuardedRoute, StateDep, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS, UNAVAILABLE
from slarisk.service.schemas import ScoreRequest, ScoreResponse
from slarisk.service.security import SCORE, Principal

router = APIRouter(prefix="/v1/risk", tags=["risk"], route_class=GuardedRoute)


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Breach probability, due time, alert level, reasons and work order per ticket",
    responses={**AUTH_ERRORS, **BODY_ERRORS, **UNAVAILABLE},
)
async def score(
    body: ScoreRequest,
    request: Request,
    state: StateDep,
    caller: Annotated[Principal, Depends(require(SCORE))],
) -> Response:
    raise HTTPException(503, detail="breach-risk scoring library not available yet")
