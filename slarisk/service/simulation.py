"""Simulation jobs: request checks (limits, no server-side file references) and the job body
that runs :func:`slarisk.capacity.sim.simulate` and turns its result into JSON."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import KPI_COLUMNS, compile_scenario, kpi_summary, simulate
from slarisk.errors import InputError
from slarisk.service.schemas import SimulationRequest
from slarisk.service.settings import Settings

_AWARE = TypeAdapter(AwareDatetime)
#: scenario fields naming server-side files: refused over HTTP.
_FILE_FIELDS = (("backlog",), ("arrivals", "replay"), ("staffing", "roster_file"))


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=f"{field}: {message}")


def _expected_arrivals(scenario: Any) -> float:
    """Rough upper estimate of tickets arriving in one replication (for the size limit)."""
    arrivals = scenario.arrivals
    hours = scenario.horizon_seconds / 3600.0
    if arrivals.replay is not None:
        return 0.0
    rate = float(arrivals.weekly_rates_per_hour().mean())
    peak = max([1.0, *(s.multiplier for s in arrivals.spikes)])
    added = sum(c.tickets_per_week for c in arrivals.added_customers) / 168.0
    return (rate * peak + added) * hours


def inline_scenario(scenario: dict[str, Any], field: str) -> dict[str, Any]:
    """A scenario sent inline, checked for what HTTP refuses (file references, a policy,
    ``base_dir``; 422 naming the field under `field`) with its `start` made ISO. The rest is
    validated by :func:`~slarisk.capacity.scenario.scenario_from_dict` (one format)."""
    data = dict(scenario)
    for path in _FILE_FIELDS:
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            raise _unprocessable(
                f"{field}." + ".".join(path), "file references are not accepted over HTTP"
            )
    if "policy" in data and data["policy"] is not None:
        raise _unprocessable(
            f"{field}.policy",
            "file references are not accepted over HTTP (the server's policy is used)",
        )
    if "base_dir" in data:
        raise _unprocessable(f"{field}.base_dir", "not accepted over HTTP")
    if "start" in data:
        try:
            start: datetime = _AWARE.validate_python(data["start"])
        except ValidationError as exc:
            raise _unprocessable(f"{field}.start", exc.errors()[0]["msg"]) from None
        data["start"] = start.isoformat()
    return data


def check_request(body: SimulationRequest, settings: Settings, policy: Any) -> dict[str, Any]:
    """Validate a simulation request against the scenario spec, the server's SLA policy and the
    limits; 422 names the field. Returns the job's stored request."""
    if body.replications > settings.max_replications:
        raise _unprocessable(
            "replications",
            f"{body.replications} exceeds the limit of {settings.max_replications}"
            " (max_replications)",
        )
    data = inline_scenario(body.scenario, "scenario")
    try:
        scenario = scenario_from_dict(data, path="scenario")
    except InputError as exc:
        raise _unprocessable(
            f"scenario.{exc.field}" if exc.field else "scenario", exc.detail
        ) from None
    horizon_days = scenario.horizon_seconds / 86400.0
    if horizon_days > settings.max_horizon_days:
        which = "horizon_days" if scenario.horizon_days is not None else "horizon_hours"
        raise _unprocessable(
            f"scenario.{which}",
            f"horizon of {horizon_days:g} days exceeds the limit of"
            f" {settings.max_horizon_days:g} days (max_horizon_days)",
        )
    if scenario.drain and scenario.drain_limit_hours > settings.max_drain_hours:
        raise _unprocessable(
            "scenario.drain_limit_hours",
            f"{scenario.drain_limit_hours:g} hours exceeds the limit of"
            f" {settings.max_drain_hours:g} hours (max_drain_hours)",
        )
    expected = _expected_arrivals(scenario)
    if not math.isfinite(expected) or expected > settings.max_expected_arrivals:
        raise _unprocessable(
            "scenario.arrivals",
            f"about {expected:.3g} tickets per replication exceed the limit of"
            f" {settings.max_expected_arrivals} (max_expected_arrivals)",
        )
    try:
        compile_scenario(scenario, policy)  # checks the classes against the policy's targets
    except InputError as exc:
        raise _unprocessable(
            f"scenario.{exc.field}" if exc.field else "scenario", exc.detail
        ) from None
    return {"scenario": data, "replications": body.replications, "seed": body.seed}


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, timestamps -> ISO strings."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(df: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of ``df`` as JSON-safe dicts with columns renamed (source -> output name)."""
    present = {src: dst for src, dst in columns.items() if src in df.columns}
    return [
        {dst: _clean(row[src]) for src, dst in present.items()}
        for row in df.to_dict(orient="records")
    ]


def result_to_json(res: Any) -> dict[str, Any]:
    """A :class:`slarisk.capacity.sim.SimResult` -> the job's JSON result."""
    mean, lo, hi = res.expected_credit()
    counts = [c for c in res.summary.columns if c != "replication"]
    kpis = kpi_summary(res.kpis) if len(res.kpis) else res.kpis
    return {
        "scenario": res.scenario_name,
        "seed": int(res.seed),
        "replications": int(res.replications),
        "attainment": _records(
            res.attainment,
            {
                "class": "ticket_class",
                "metric": "metric",
                "goal": "goal",
                "attainment": "attainment",
                "lo": "attainment_lo",
                "hi": "attainment_hi",
                "pooled": "pooled",
                "tickets": "tickets",
                "breaches_mean": "breaches_mean",
                "breaches_lo": "breaches_lo",
                "breaches_hi": "breaches_hi",
            },
        ),
        "replication_summary": _records(
            res.summary, {"replication": "replication", **{c: c for c in counts}}
        ),
        "expected_credit": {
            "mean": _clean(mean),
            "lo": _clean(lo),
            "hi": _clean(hi),
            "currency": res.currency,
        },
        "kpis": _records(kpis, {c: c for c in ("interval_start", *KPI_COLUMNS)}),
    }


def run_simulation_job(
    request: dict[str, Any], progress: Callable[[float], None], policy: Any
) -> dict[str, Any]:
    """Job body: run the scenario's replications with the server's policy; JSON result."""
    scenario = scenario_from_dict(request["scenario"], path="scenario")
    replications = int(request["replications"])
    progress(0.0)
    res = simulate(
        scenario,
        replications,
        int(request["seed"]),
        progress=lambda k: progress(k / replications),
        policy=policy,
    )
    return result_to_json(res)
