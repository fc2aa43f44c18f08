"""`POST /v1/forecasts` (submit a demand-forecast job) and `GET /v1/forecasts/{id}` (poll it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from starlette.concurrency import run_in_threadpool

from slarisk.service import audit
from slarisk.service.deps import StateDep, require
from slarisk.service.forecast_schemas import ForecastJobOut, ForecastRequest, ForecastResultOut
from slarisk.service.forecasting import check_request
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.schemas import ErrorOut, JobAccepted
from slarisk.service.security import FORECAST, Principal

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])
Caller = Annotated[Principal, Depends(require(FORECAST))]
KIND = "forecast"


@router.post(
    "",
    response_model=JobAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Submit a demand forecast (fit, backtest, predict); returns a job id to poll",
    responses={**AUTH_ERRORS, **BODY_ERRORS},
)
async def submit(
    body: ForecastRequest, request: Request, state: StateDep, caller: Caller
) -> JobAccepted:
    job_request = await run_in_threadpool(check_request, body, state.settings, state.policy)
    job = state.jobs.submit(KIND, job_request, caller.key_id)
    audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint="forecasts.submit",
        model_version=None,
        body=await request.body(),
        n_items=len(body.tickets or body.volumes or []),
        outputs={"job_id": job.id, "horizon_days": body.horizon_days},
        keep_body=state.settings.audit_store_inputs,
    )
    return JobAccepted(id=job.id, status=job.status.value, href=f"/v1/forecasts/{job.id}")


@router.get(
    "/{job_id}",
    response_model=ForecastJobOut,
    summary="Status, progress and results (volume table, backtest accuracy) of a forecast job",
    responses={
        **AUTH_ERRORS,
        404: {"model": ErrorOut, "description": "No such job."},
        422: BODY_ERRORS[422],
    },
)
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], state: StateDep, _: Caller
) -> ForecastJobOut:
    job = state.jobs.get(job_id)
    if job is None or job.kind != KIND:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no forecast job {job_id!r}")
    return ForecastJobOut(
        id=job.id,
        status=job.status.value,
        progress=job.progress,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        result=ForecastResultOut.model_validate(job.result) if job.result else None,
    )
