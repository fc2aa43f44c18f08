"""`POST /v1/simulations` (submit a job) and `GET /v1/simulations/{id}` (poll it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from slarisk.service.deps import StateDep, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.routers.job_routes import JOB_ERRORS, JobId, job_fields, job_of_kind, queue_job
from slarisk.service.schemas import (
    JobAccepted,
    SimulationJobOut,
    SimulationRequest,
    SimulationResultOut,
)
from slarisk.service.security import SIMULATE, Principal
from slarisk.service.simulation import check_request

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])
Caller = Annotated[Principal, Depends(require(SIMULATE))]


@router.post(
    "",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Submit a simulation; returns a job id to poll",
    responses={**AUTH_ERRORS, **BODY_ERRORS},
)
async def submit(
    body: SimulationRequest, request: Request, state: StateDep, caller: Caller
) -> JobAccepted:
    job_request = check_request(body, state.settings, state.policy)
    return queue_job(
        state,
        caller,
        kind="simulation",
        job_request=job_request,
        endpoint="simulations.submit",
        body=await request.body(),
        n_items=body.replications,
        outputs={"scenario": str(body.scenario.get("name", ""))},
        href="/v1/simulations",
    )


@router.get(
    "/{job_id}",
    response_model=SimulationJobOut,
    summary="Status, progress and results of a simulation job",
    responses=JOB_ERRORS,
)
async def get_job(job_id: JobId, state: StateDep, _: Caller) -> SimulationJobOut:
    job = job_of_kind(state, "simulation", job_id)
    result = SimulationResultOut.model_validate(job.result) if job.result else None
    return SimulationJobOut(**job_fields(job), result=result)
