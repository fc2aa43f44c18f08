"""What the job routers (simulations, forecasts, schedules) share: queue a checked request as a
job with its audit record, find a job of one kind (404 otherwise), and a job's status fields."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Path, status

from slarisk.service import audit
from slarisk.service.deps import ServiceState
from slarisk.service.jobs import Job
from slarisk.service.routers import AUTH_ERRORS, BODY_ERRORS
from slarisk.service.schemas import ErrorOut, JobAccepted
from slarisk.service.security import Principal

#: error responses of ``GET /v1/<jobs>/{job_id}``.
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"model": ErrorOut, "description": "No such job."},
    422: BODY_ERRORS[422],
}
#: the ``{job_id}`` path parameter.
JobId = Annotated[str, Path(min_length=1, max_length=64)]


def queue_job(
    state: ServiceState,
    caller: Principal,
    *,
    kind: str,
    job_request: dict[str, Any],
    endpoint: str,
    body: bytes,
    n_items: int,
    outputs: dict[str, Any],
    href: str,
) -> JobAccepted:
    """Submit a checked request as a job of ``kind``, audit it, answer where to poll it."""
    job = state.jobs.submit(kind, job_request, caller.key_id)
    audit.record(
        state.store,
        key_id=caller.key_id,
        endpoint=endpoint,
        model_version=None,
        body=body,
        n_items=n_items,
        outputs={"job_id": job.id, **outputs},
        keep_body=state.settings.audit_store_inputs,
    )
    return JobAccepted(id=job.id, status=job.status.value, href=f"{href}/{job.id}")


def job_of_kind(state: ServiceState, kind: str, job_id: str) -> Job:
    """The job ``job_id`` if it is a ``kind`` job; 404 otherwise."""
    job = state.jobs.get(job_id)
    if job is None or job.kind != kind:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {kind} job {job_id!r}")
    return job


def job_fields(job: Job) -> dict[str, Any]:
    """The status fields every job response carries (all but ``result``)."""
    return {
        "id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
    }
