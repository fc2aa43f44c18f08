"""`POST /v1/simulations` (submit a job) and `GET /v1/simulations/{id}` (poll it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from slarisk.service import audit
from slarisk.service.deps import StateDep, require
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.schemas import (
    ErrorOut,
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
    job = state.jobs.submit("simulation", job_request, caller.key_id)
    audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="simulations.submit",
        model_version=None,
        body=await request.body(),
        n_items=body.replications,
        outputs={"job_id": job.id, "scenario": str(body.scenario.get("name", ""))},
        keep_body=state.settings.audit_store_inputs,
    )
    return JobAccepted(id=job.id, status=job.status.value, href=f"/v1/simulations/{job.id}")


@router.get(
    "/{job_id}",
    response_model=SimulationJobOut,
    summary="Status, progress and results of a simulation job",
    responses={
        **AUTH_ERRORS,
        404: {"model": ErrorOut, "description": "No such job."},
        422: BODY_ERRORS[422],
    },
)
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], state: StateDep, _: Caller
) -> SimulationJobOut:
    job = state.jobs.get(job_id)
    if job is None or job.kind != "simulation":
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no simulation job {job_id!r}")
    return SimulationJobOut(
        id=job.id,
        status=job.status.value,
        progress=job.progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        result=SimulationResultOut.model_validate(job.result) if job.result else None,
    )
