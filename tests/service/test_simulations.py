"""Simulation jobs over HTTP: submit, poll, results; limits and validation; job recovery."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest

from slarisk.service.jobs import INTERRUPTED, SHUTDOWN, JobRunner, JobStatus
from slarisk.service.store import Store
from tests.service.conftest import SCENARIO, Service, ServiceFactory


def _submit(service: Service, body: Any, role: str = "planner") -> Any:
    return service.client.post("/v1/simulations", json=body, headers=service.headers(role))


def _wait(service: Service, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.client.get(f"/v1/simulations/{job_id}", headers=service.headers("sales"))
        assert job.status_code == 200, job.text
        if job.json()["status"] in ("succeeded", "failed"):
            return dict(job.json())
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def test_simulation_job_runs_and_keeps_results(service: Service) -> None:
    r = _submit(service, {"scenario": SCENARIO, "replications": 2, "seed": 7})
    assert r.status_code == 202, r.text
    job = _wait(service, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0
    result = job["result"]
    assert result["replications"] == 2 and result["seed"] == 7
    classes = {(a["ticket_class"], a["metric"]) for a in result["attainment"]}
    assert ("p1", "first_response") in classes and ("ALL", "resolution") in classes
    for row in result["attainment"]:
        if row["attainment"] is not None:
            assert 0.0 <= row["attainment"] <= 1.0
    assert len(result["replication_summary"]) == 2
    arrived = sum(s["arrived"] for s in result["replication_summary"])
    assert arrived > 0
    # the same seed gives the same result (stored, then recomputed)
    again = _wait(
        service, _submit(service, {"scenario": SCENARIO, "replications": 2, "seed": 7}).json()["id"]
    )
    assert again["result"]["attainment"] == result["attainment"]


def _scenario(**changes: Any) -> dict[str, Any]:
    sc = copy.deepcopy(SCENARIO)
    for dotted, value in changes.items():
        node = sc
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return sc


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scenario": SCENARIO, "replications": 51}, "replications"),
        ({"scenario": SCENARIO, "replications": 0}, "replications"),
        ({"scenario": _scenario(horizon_hours=None, horizon_days=200)}, "scenario.horizon_days"),
        ({"scenario": _scenario(start="2026-11-30T00:00:00")}, "scenario.start"),
        ({"scenario": _scenario(backlog="/etc/passwd")}, "scenario.backlog"),
        ({"scenario": _scenario(policy="policies/default.yaml")}, "scenario.policy"),
        ({"scenario": _scenario(arrivals__replay="x.csv")}, "scenario.arrivals.replay"),
        ({"scenario": _scenario(classes=None)}, "scenario.classes"),
        ({"scenario": _scenario(arrivals={"tickets_per_week": 1e12})}, "scenario.arrivals"),
        ({"scenario": _scenario(drain_limit_hours=1e9)}, "scenario.drain_limit_hours"),
        (
            {"scenario": {**SCENARIO, "classes": [{**SCENARIO["classes"][0], "priority": "P9"}]}},
            "scenario.classes",
        ),
        ({"scenario": SCENARIO, "seed": -1}, "seed"),
        ({"scenario": "baseline.yaml"}, "scenario"),
    ],
)
def test_invalid_simulations_name_the_field(service: Service, body: Any, field: str) -> None:
    r = _submit(service, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.json()
    if body.get("replications") == 51:
        assert "limit of 50 (max_replications)" in r.json()["detail"]
    if field == "scenario.horizon_days":
        assert "limit of 92 days (max_horizon_days)" in r.json()["detail"]


def test_limits_are_settings(make_service: ServiceFactory) -> None:
    service = make_service(max_replications=3, max_horizon_days=0.5)
    r = _submit(service, {"scenario": SCENARIO, "replications": 4})
    assert r.status_code == 422 and "limit of 3 (max_replications)" in r.json()["detail"]
    r = _submit(service, {"scenario": SCENARIO, "replications": 1})
    assert r.status_code == 422 and "max_horizon_days" in r.json()["detail"]


def test_unknown_job_is_404(service: Service) -> None:
    r = service.client.get("/v1/simulations/abc", headers=service.headers("planner"))
    assert r.status_code == 404 and "abc" in r.json()["detail"]


def test_recover_fails_running_and_requeues_queued(tmp_path: Any) -> None:
    """A job left 'running' by a dead process is failed with the reason; queued ones re-run."""
    store = Store(tmp_path / "jobs.db")
    conn = store.conn()
    for job_id, status in (("dead", "running"), ("waiting", "queued"), ("done", "succeeded")):
        conn.execute(
            "INSERT INTO jobs (id, kind, status, key_id, owner, request, result, created_at)"
            " VALUES (?, 'echo', ?, 'k', 'old-process', '{\"x\": 1}', ?, '2026-01-01')",
            (job_id, status, '{"kept": true}' if status == "succeeded" else None),
        )
    runner = JobRunner(store)
    runner.register("echo", lambda req, progress: {"echo": req["x"]})
    try:
        assert runner.recover() == (1, 1)
        dead = runner.get("dead")
        assert dead is not None and dead.status == JobStatus.failed and dead.error == INTERRUPTED
        deadline = time.monotonic() + 10
        while (job := runner.get("waiting")) is not None and job.status != JobStatus.succeeded:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert job is not None and job.result == {"echo": 1}
        done = runner.get("done")
        assert done is not None and done.result == {"kept": True}
        # the stale owner can no longer write to the job another process took over
        conn.execute("UPDATE jobs SET progress = 0.5 WHERE id = 'dead' AND owner = 'old-process'")
        assert runner.get("dead").progress == 0.0  # type: ignore[union-attr]
    finally:
        runner.shutdown()


def test_failing_handler_fails_the_job(tmp_path: Any) -> None:
    store = Store(tmp_path / "jobs.db")
    runner = JobRunner(store)

    def boom(req: dict[str, Any], progress: Any) -> dict[str, Any]:
        raise ZeroDivisionError

    runner.register("boom", boom)
    try:
        job = runner.submit("boom", {}, "k")
        deadline = time.monotonic() + 10
        while (got := runner.get(job.id)) is not None and got.status in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert got is not None and got.status == JobStatus.failed
        assert got.error == "internal error: ZeroDivisionError"
    finally:
        runner.shutdown()


def test_shutdown_cancels_a_running_job(tmp_path: Any) -> None:
    """A clean shutdown stops a running job at its next progress report: failed, with why."""
    store = Store(tmp_path / "jobs.db")
    runner = JobRunner(store)
    started = threading.Event()

    def endless(req: dict[str, Any], progress: Any) -> dict[str, Any]:
        started.set()
        while True:
            progress(0.5)
            time.sleep(0.01)

    runner.register("endless", endless)
    job = runner.submit("endless", {}, "k")
    assert started.wait(10)
    runner.shutdown()
    got = runner.get(job.id)
    assert got is not None and got.status == JobStatus.failed and got.error == SHUTDOWN


def test_submission_is_audited(service: Service) -> None:
    from slarisk.service import audit

    r = _submit(service, {"scenario": SCENARIO, "replications": 1}, role="sales")
    rec = audit.recent(service.store, 1)[0]
    assert rec.endpoint == "simulations.submit" and rec.key_id == service.key_ids["sales"]
    assert rec.outputs["job_id"] == r.json()["id"] and rec.n_items == 1
