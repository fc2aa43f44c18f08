"""`POST /v1/staffing/requirements`: agents per interval for a service target."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from slarisk.service import audit
from slarisk.service.deps import StateDep, check_batch_limit, require
from slarisk.service.requirements import compute_requirements
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.schemas import StaffingRequest, StaffingResponse
from slarisk.service.security import STAFFING, Principal

router = APIRouter(prefix="/v1/staffing", tags=["staffing"])


@router.post(
    "/requirements",
    response_model=StaffingResponse,
    summary="Agents per interval (Erlang C/A or backlog-aware) with the expected service level",
    responses={**AUTH_ERRORS, **BODY_ERRORS},
)
async def requirements(
    body: StaffingRequest,
    request: Request,
    state: StateDep,
    caller: Annotated[Principal, Depends(require(STAFFING))],
) -> StaffingResponse:
    check_batch_limit(
        "intervals",
        len(body.intervals),
        state.settings.max_staffing_intervals,
        "max_staffing_intervals",
    )
    rows = await run_in_threadpool(compute_requirements, body)
    hours = body.interval_minutes / 60.0
    total = float(sum(r["agents"] for r in rows) * hours)
    digest = audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="staffing.requirements",
        model_version=None,
        body=await request.body(),
        n_items=len(rows),
        outputs={
            "method": body.method,
            "total_agent_hours": total,
            "max_agents": max(r["agents"] for r in rows),
        },
        keep_body=state.settings.audit_store_inputs,
    )
    state.metrics.recommendations.inc(len(rows))
    return StaffingResponse.model_validate(
        {
            "method": body.method,
            "interval_minutes": body.interval_minutes,
            "input_digest": digest,
            "total_agent_hours": total,
            "intervals": rows,
        }
    )
