"""`POST /v1/forecasts` (submit a demand-forecast job) and `GET /v1/forecasts/{id}` (poll it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from starlette.concurrency import run_in_threadpool

from slarisk.service.deps import StateDep, require
from slarisk.service.forecast_schemas import ForecastJobOut, ForecastRequest, ForecastResultOut
from slarisk.service.forecasting import check_request
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.routers.job_routes import JOB_ERRORS, JobId, job_fields, job_of_kind, queue_job
from slarisk.service.schemas import JobAccepted
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
    return queue_job(
        state,
        caller,
        kind=KIND,
        job_request=job_request,
        endpoint="forecasts.submit",
        body=await request.body(),
        n_items=len(body.tickets or body.volumes or []),
        outputs={"horizon_days": body.horizon_days},
        href="/v1/forecasts",
    )


@router.get(
    "/{job_id}",
    response_model=ForecastJobOut,
    summary="Status, progress and results (volume table, backtest accuracy) of a forecast job",
    responses=JOB_ERRORS,
)
async def get_job(job_id: JobId, state: StateDep, _: Caller) -> ForecastJobOut:
    job = job_of_kind(state, KIND, job_id)
    result = ForecastResultOut.model_validate(job.result) if job.result else None
    return ForecastJobOut(**job_fields(job), result=result)
