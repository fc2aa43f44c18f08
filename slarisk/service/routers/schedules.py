"""`POST /v1/schedules` (submit a shift plan + roster job, optionally verified by simulation)
and `GET /v1/schedules/{id}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from starlette.concurrency import run_in_threadpool

from slarisk.service.deps import StateDep, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.routers.job_routes import JOB_ERRORS, JobId, job_fields, job_of_kind, queue_job
from slarisk.service.schedule_schemas import ScheduleJobOut, ScheduleRequest, ScheduleResultOut
from slarisk.service.scheduling import check_request
from slarisk.service.schemas import JobAccepted
from slarisk.service.security import SCHEDULE, Principal

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])
Caller = Annotated[Principal, Depends(require(SCHEDULE))]
KIND = "schedule"


@router.post(
    "",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Submit a shift plan and named roster (optionally verified by simulation);"
    " returns a job id to poll",
    responses={**AUTH_ERRORS, **BODY_ERRORS},
)
async def submit(
    body: ScheduleRequest, request: Request, state: StateDep, caller: Caller
) -> JobAccepted:
    raw = await request.body()
    job_request = await run_in_threadpool(check_request, body, raw, state.settings, state.policy)
    return queue_job(
        state,
        caller,
        kind=KIND,
        job_request=job_request,
        endpoint="schedules.submit",
        body=raw,
        n_items=len(body.requirements),
        outputs={
            "agents": len(body.agents.agents),
            "verify": job_request["verify"]["name"] if "verify" in job_request else None,
        },
        href="/v1/schedules",
    )


@router.get(
    "/{job_id}",
    response_model=ScheduleJobOut,
    summary="Status, progress and results (plan, assignments, unmet cover) of a schedule job",
    responses=JOB_ERRORS,
)
async def get_job(job_id: JobId, state: StateDep, _: Caller) -> ScheduleJobOut:
    job = job_of_kind(state, KIND, job_id)
    result = ScheduleResultOut.model_validate(job.result) if job.result else None
    return ScheduleJobOut(**job_fields(job), result=result)
