"""Background jobs (simulations) run in worker threads, outside the request, persisted in SQLite.

Life of a job: ``queued`` -> ``running`` (progress 0..1) -> ``succeeded`` (result kept) or
``failed`` (error kept). The result and the final status are written in one statement, so a
finished result is never lost. On startup :meth:`JobRunner.recover` marks jobs left ``running``
by a previous process as failed (with the reason) and re-queues jobs that never started. Every
write of a running job is guarded by this process's owner token, so a stale worker can never
overwrite a job that another process has since taken over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from slarisk.errors import SlariskError
from slarisk.service.metrics import Metrics
from slarisk.service.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
Handler = Callable[[dict[str, Any], Progress], dict[str, Any]]

INTERRUPTED = "interrupted: the server stopped while this job was running; submit it again"
SHUTDOWN = "cancelled: the server shut down while this job was running; submit it again"


class JobStatus(StrEnum):
    """Where a job is in its life."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


@dataclass(frozen=True)
class Job:
    """A job as stored."""

    id: str
    kind: str
    status: JobStatus
    progress: float
    key_id: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class _Cancelled(Exception):
    """Raised from the progress callback when the runner shuts down."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JobRunner:
    """Runs jobs of registered kinds on ``workers`` threads and keeps their state in ``store``."""

    def __init__(self, store: Store, metrics: Metrics | None = None, workers: int = 1) -> None:
        self.store, self.metrics = store, metrics
        self.owner = uuid.uuid4().hex
        self.handlers: dict[str, Handler] = {}
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slarisk-job")
        self._stopping = threading.Event()

    def register(self, kind: str, handler: Handler) -> None:
        """Run jobs of ``kind`` with ``handler(request, progress) -> result``."""
        self.handlers[kind] = handler

    # --- lifecycle -------------------------------------------------------------------------
    def recover(self) -> tuple[int, int]:
        """Fail jobs left running by a dead process; re-queue queued ones. Returns the counts."""
        conn = self.store.conn()
        failed = conn.execute(
            "UPDATE jobs SET status = ?, error = ?, finished_at = ?, owner = ? WHERE status = ?",
            (JobStatus.failed, INTERRUPTED, _now(), self.owner, JobStatus.running),
        ).rowcount
        queued = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM jobs WHERE status = ? ORDER BY created_at", (JobStatus.queued,)
            )
        ]
        for job_id in queued:
            self._executor.submit(self._run, job_id)
        if failed and self.metrics is not None:
            self.metrics.jobs.labels(JobStatus.failed).inc(failed)
        return failed, len(queued)

    def shutdown(self) -> None:
        """Stop: running jobs are cancelled at their next progress report and marked failed."""
        self._stopping.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    # --- API -------------------------------------------------------------------------------
    def submit(self, kind: str, request: dict[str, Any], key_id: str) -> Job:
        """Persist a queued job and hand it to a worker; return it."""
        if kind not in self.handlers:
            raise KeyError(f"no handler for job kind {kind!r}")
        job_id = uuid.uuid4().hex
        self.store.conn().execute(
            "INSERT INTO jobs (id, kind, status, progress, key_id, request, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (job_id, kind, JobStatus.queued, 0.0, key_id, json.dumps(request), _now()),
        )
        if self.metrics is not None:
            self.metrics.jobs.labels(JobStatus.queued).inc()
        self._executor.submit(self._run, job_id)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        """The stored job, or None."""
        row = self.store.conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        return Job(
            id=row["id"],
            kind=row["kind"],
            status=JobStatus(row["status"]),
            progress=float(row["progress"]),
            key_id=row["key_id"],
            request=json.loads(row["request"]),
            result=json.loads(row["result"]) if row["result"] is not None else None,
            error=row["error"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )

    def count_by_status(self) -> dict[str, int]:
        """Number of stored jobs per status."""
        rows = self.store.conn().execute("SELECT status, count(*) AS n FROM jobs GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    # --- worker ----------------------------------------------------------------------------
    def _run(self, job_id: str) -> None:
        conn = self.store.conn()
        claimed = conn.execute(
            "UPDATE jobs SET status = ?, owner = ?, started_at = ? WHERE id = ? AND status = ?",
            (JobStatus.running, self.owner, _now(), job_id, JobStatus.queued),
        ).rowcount
        if not claimed:
            return
        job = self.get(job_id)
        assert job is not None
        if self.metrics is not None:
            self.metrics.jobs_running.inc()
        last = [0.0]

        def progress(fraction: float) -> None:
            if self._stopping.is_set():
                raise _Cancelled
            now = time.monotonic()
            if now - last[0] < 0.2 and fraction < 1.0:
                return
            last[0] = now
            conn.execute(
                "UPDATE jobs SET progress = ? WHERE id = ? AND owner = ? AND status = ?",
                (min(max(float(fraction), 0.0), 1.0), job_id, self.owner, JobStatus.running),
            )

        try:
            result = self.handlers[job.kind](job.request, progress)
        except _Cancelled:
            self._finish(job_id, JobStatus.failed, error=SHUTDOWN)
        except SlariskError as exc:
            self._finish(job_id, JobStatus.failed, error=str(exc))
        except Exception as exc:  # a bug in a handler must not leave the job running
            log.exception("job %s failed", job_id)
            self._finish(job_id, JobStatus.failed, error=f"internal error: {type(exc).__name__}")
        else:
            self._finish(job_id, JobStatus.succeeded, result=result)
        finally:
            if self.metrics is not None:
                self.metrics.jobs_running.dec()

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        self.store.conn().execute(
            "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ?,"
            " progress = CASE WHEN ? THEN 1.0 ELSE progress END"
            " WHERE id = ? AND owner = ? AND status = ?",
            (
                status,
                json.dumps(result) if result is not None else None,
                error,
                _now(),
                status == JobStatus.succeeded,
                job_id,
                self.owner,
                JobStatus.running,
            ),
        )
        if self.metrics is not None:
            self.metrics.jobs.labels(status).inc()
