"""`POST /v1/schedules` (submit a shift plan + roster job) and `GET /v1/schedules/{id}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from starlette.concurrency import run_in_threadpool

from slarisk.service import audit
from slarisk.service.deps import StateDep, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.schedule_schemas import ScheduleJobOut, ScheduleRequest, ScheduleResultOut
from slarisk.service.scheduling import check_request
from slarisk.service.schemas import ErrorOut, JobAccepted
from slarisk.service.security import SCHEDULE, Principal

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])
Caller = Annotated[Principal, Depends(require(SCHEDULE))]
KIND = "schedule"


@router.post(
    "",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Submit a shift plan and named roster; returns a job id to poll",
    responses={**AUTH_ERRORS, **BODY_ERRORS},
)
async def submit(
    body: ScheduleRequest, request: Request, state: StateDep, caller: Caller
) -> JobAccepted:
    raw = await request.body()
    job_request = await run_in_threadpool(check_request, body, raw, state.settings)
    job = state.jobs.submit(KIND, job_request, caller.key_id)
    audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="schedules.submit",
        model_version=None,
        body=raw,
        n_items=len(body.requirements),
        outputs={"job_id": job.id, "agents": len(body.agents.agents)},
        keep_body=state.settings.audit_store_inputs,
    )
    return JobAccepted(id=job.id, status=job.status.value, href=f"/v1/schedules/{job.id}")


@router.get(
    "/{job_id}",
    response_model=ScheduleJobOut,
    summary="Status, progress and results (plan, assignments, unmet cover) of a schedule job",
    responses={
        **AUTH_ERRORS,
        404: {"model": ErrorOut, "description": "No such job."},
        422: BODY_ERRORS[422],
    },
)
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], state: StateDep, _: Caller
) -> ScheduleJobOut:
    job = state.jobs.get(job_id)
    if job is None or job.kind != KIND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no schedule job {job_id!r}")
    return ScheduleJobOut(
        id=job.id,
        status=job.status.value,
        progress=job.progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        result=ScheduleResultOut.model_validate(job.result) if job.result else None,
    )
