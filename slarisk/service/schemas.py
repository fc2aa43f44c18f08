"""API schemas: request models (strict: extra fields, NaN/Infinity and naive timestamps are
rejected) and response models, kept separate. Durations are seconds unless a name says otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields, NaN and Infinity are errors. Numeric fields are
    declared ``strict`` so JSON true/false is not read as 1/0 (pydantic's lax mode would)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """Base of response bodies."""

    model_config = ConfigDict(extra="forbid")


# --- errors ----------------------------------------------------------------------------------
class FieldError(ResponseModel):
    """One problem with the request, naming the field (``tickets[3].created_at``)."""

    field: str
    message: str
    type: str


class ErrorOut(ResponseModel):
    """Every 4xx/5xx body: a one-line message, plus per-field errors for validation failures."""

    detail: str
    errors: list[FieldError] | None = None


# --- risk scoring ----------------------------------------------------------------------------
_TICKET_EXAMPLE: dict[str, Any] = {
    "ticket_id": "INC0012345",
    "created_at": "2026-11-27T08:15:00Z",
    "first_response_at": None,
    "priority": "P2",
    "tier": "gold",
    "region": "emea",
    "service_type": "incident",
    "channel": "email",
    "customer": "acme",
    "category": "network",
    "group": "service-desk",
    "status": "open",
}


class TicketIn(RequestModel):
    """One open ticket in canonical form (``slarisk.data.schema``); timestamps need a zone."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    ticket_id: str = Field(min_length=1, max_length=200)
    created_at: AwareDatetime
    first_response_at: AwareDatetime | None = None
    priority: str = Field(min_length=1, max_length=100)
    tier: str = Field(default="unknown", min_length=1, max_length=100)
    region: str = Field(default="unknown", min_length=1, max_length=100)
    service_type: str = Field(default="unknown", min_length=1, max_length=100)
    channel: str = Field(default="unknown", min_length=1, max_length=100)
    customer: str = Field(default="unknown", min_length=1, max_length=200)
    category: str = Field(default="unknown", min_length=1, max_length=200)
    group: str = Field(default="unknown", min_length=1, max_length=200)
    status: str = Field(default="open", min_length=1, max_length=100)


class StaffingIntervalIn(RequestModel):
    """Agents on duty for one team in one interval (canonical interval form)."""

    interval_start: AwareDatetime
    interval_minutes: int = Field(strict=True, ge=1, le=1440)
    team: str = Field(default="all", min_length=1, max_length=200)
    agents: float = Field(strict=True, ge=0, le=100_000)


class StatusEventIn(RequestModel):
    """A status change of a ticket (clocks pause in the policy's pause statuses)."""

    ticket_id: str = Field(min_length=1, max_length=200)
    at: AwareDatetime
    status: str = Field(min_length=1, max_length=100)


class ScoreRequest(RequestModel):
    """A batch of open tickets to score at ``now`` (default: the server's clock)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "now": "2026-11-27T10:00:00Z",
                    "tickets": [_TICKET_EXAMPLE],
                    "staffing": [
                        {
                            "interval_start": "2026-11-27T10:00:00Z",
                            "interval_minutes": 60,
                            "team": "service-desk",
                            "agents": 6,
                        }
                    ],
                }
            ]
        }
    )

    now: AwareDatetime | None = None
    tickets: list[TicketIn] = Field(min_length=1)
    staffing: list[StaffingIntervalIn] | None = None
    events: list[StatusEventIn] | None = None


class ScoreItem(ResponseModel):
    """The risk of one ticket missing one running SLA clock's target (see slarisk.risk.score)."""

    work_order: int = Field(description="Suggested order of work per ticket (1 = first).")
    ticket_id: str
    metric: str = Field(description="first_response or resolution.")
    priority: str
    tier: str
    breach_probability: float = Field(
        ge=0, le=1, description="Calibrated probability of breaching; 1 when already past due."
    )
    risk_band: str = Field(description="low, medium, high, critical, or breached.")
    expected_cost: float = Field(description="Probability x priority weight (0 when breached).")
    due_at: datetime | None
    time_left_seconds: float | None = Field(description="Business seconds left (< 0: overdue).")
    elapsed_fraction: float | None
    alert_level: int = Field(description="0, 80, 90 or 100 (% of the target elapsed).")
    reasons: list[str] = Field(description="Top reasons raising the risk, most important first.")


class ScoreResponse(ResponseModel):
    """Scores of a batch, with the model version that produced them."""

    model_version: str
    scored_at: datetime = Field(description="The `now` the clocks and risks refer to.")
    input_digest: str = Field(description="sha256 of the request body, as audited.")
    n_tickets: int
    items: list[ScoreItem] = Field(description="One per running clock, in work order.")


# --- models ----------------------------------------------------------------------------------
class ChampionOut(ResponseModel):
    """The model being served."""

    version: str
    source: str
    trained_at: str | None
    loaded_at: str
    metrics: dict[str, float]
    details: dict[str, Any]


# --- health ----------------------------------------------------------------------------------
class HealthOut(ResponseModel):
    """Liveness."""

    status: Literal["ok"]


class ReadyOut(ResponseModel):
    """Readiness: ``ready`` is false when something needed is degraded (listed with reasons)."""

    ready: bool
    model_loaded: bool
    model_version: str | None
    policy_loaded: bool
    store_ok: bool
    degraded: dict[str, str]


class WhoAmIOut(ResponseModel):
    """The key that made the request (never the secret)."""

    key_id: str
    role: str
    name: str


# --- simulations -----------------------------------------------------------------------------
_SCENARIO_EXAMPLE: dict[str, Any] = {
    "name": "baseline",
    "start": "2026-11-30T00:00:00Z",
    "timezone": "Europe/London",
    "horizon_days": 7,
    "warmup_hours": 24,
    "dispatch": "priority",
    "priority_order": ["P1", "P2", "P3", "P4"],
    "classes": [
        {
            "name": "p1",
            "priority": "P1",
            "tier": "gold",
            "share": 0.1,
            "handle": {"dist": "exponential", "mean": 30, "unit": "minutes"},
        },
        {
            "name": "p3",
            "priority": "P3",
            "tier": "silver",
            "share": 0.9,
            "handle": {"dist": "lognormal", "mean": 20, "sd": 15, "unit": "minutes"},
        },
    ],
    "arrivals": {"tickets_per_week": 600},
    "staffing": {"teams": [{"name": "agents"}], "constant": {"agents": 3}},
}


class SimulationRequest(RequestModel):
    """A simulation: a scenario as in ``simulations/*.yaml`` (sent as JSON), replications, seed.

    File references (``backlog``, ``arrivals.replay``, ``staffing.roster_file``) are not
    accepted over HTTP; the server's SLA policy is used when ``policy`` is absent.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"scenario": _SCENARIO_EXAMPLE, "replications": 5, "seed": 42}]
        }
    )

    scenario: dict[str, Any] = Field(
        description="Scenario spec, same fields as the YAML files in simulations/."
    )
    replications: int = Field(
        strict=True, default=10, ge=1, description="Independent replications (seeded)."
    )
    seed: int = Field(
        strict=True, default=0, ge=0, le=2**63 - 1, description="Root seed (numpy SeedSequence)."
    )


JobState = Literal["queued", "running", "succeeded", "failed"]


class JobAccepted(ResponseModel):
    """A simulation job accepted for background execution."""

    id: str
    status: JobState
    href: str = Field(description="Where to poll the job.")


class AttainmentOut(ResponseModel):
    """Attainment of one class (``ALL`` = every ticket) and metric: mean over replications with
    a 95% t-interval, the pooled share, and breaches per replication."""

    ticket_class: str
    metric: str
    goal: float | None
    attainment: float | None
    attainment_lo: float | None
    attainment_hi: float | None
    pooled: float | None
    tickets: int
    breaches_mean: float | None
    breaches_lo: float | None
    breaches_hi: float | None


class CreditOut(ResponseModel):
    """Expected service credit per run (mean and 95% interval) in the policy's currency."""

    mean: float | None
    lo: float | None
    hi: float | None
    currency: str


class KpiOut(ResponseModel):
    """Per-interval KPIs, mean over replications."""

    interval_start: str
    arrivals: float | None = None
    queue: float | None = None
    agents: float | None = None
    busy: float | None = None
    occupancy: float | None = None
    answered: float | None = None
    abandoned: float | None = None
    service_level: float | None = None


class SimulationResultOut(ResponseModel):
    """Results of a finished simulation."""

    scenario: str
    seed: int
    replications: int
    attainment: list[AttainmentOut]
    replication_summary: list[dict[str, float | int | None]] = Field(
        description="Per replication: arrived, served, abandoned, in_system, breaches, credit."
    )
    expected_credit: CreditOut
    kpis: list[KpiOut]


class JobOut(ResponseModel):
    """The status fields of every job (simulation, forecast, schedule); each kind adds its
    ``result``."""

    id: str
    status: JobState
    progress: float = Field(ge=0, le=1)
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None


class SimulationJobOut(JobOut):
    """A simulation job: status, progress (0..1) and, when it succeeded, its results."""

    result: SimulationResultOut | None = Field(
        description="Attainment per class and metric with 95% intervals, breaches, credits."
    )


# --- staffing --------------------------------------------------------------------------------
class VolumeIntervalIn(RequestModel):
    """Contacts expected in one interval of one queue."""

    interval_start: AwareDatetime
    queue: str = Field(default="all", min_length=1, max_length=200)
    volume: float = Field(
        strict=True, ge=0, le=1_000_000, description="Contacts arriving in the interval."
    )
    aht_seconds: float | None = Field(
        strict=True,
        default=None,
        gt=0,
        le=86_400,
        description="Average handle time (default: the request's).",
    )


class StaffingRequest(RequestModel):
    """Per-interval volumes and handle times, and the target, to compute agents per interval.

    Methods: ``erlang-c`` (M/M/n), ``erlang-a`` (M/M/n+M, needs ``patience_seconds``), or
    ``backlog`` (asynchronous work carried over between intervals; needs ``target_hours``).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "interval_minutes": 30,
                    "method": "erlang-c",
                    "aht_seconds": 180,
                    "target_service_level": 0.8,
                    "answer_within_seconds": 20,
                    "shrinkage": 0.3,
                    "intervals": [
                        {"interval_start": "2026-11-30T09:00:00Z", "volume": 100},
                        {"interval_start": "2026-11-30T09:30:00Z", "volume": 120},
                    ],
                }
            ]
        }
    )

    interval_minutes: int = Field(strict=True, ge=1, le=1440)
    method: Literal["erlang-c", "erlang-a", "backlog"] = "erlang-c"
    aht_seconds: float | None = Field(strict=True, default=None, gt=0, le=86_400)
    target_service_level: float | None = Field(
        strict=True,
        default=None,
        gt=0,
        lt=1,
        description="Fraction answered within answer_within_seconds.",
    )
    answer_within_seconds: float = Field(strict=True, default=20.0, ge=0, le=86_400)
    target_asa_seconds: float | None = Field(strict=True, default=None, gt=0, le=86_400)
    max_abandon: float | None = Field(strict=True, default=None, gt=0, lt=1)
    patience_seconds: float | None = Field(strict=True, default=None, gt=0, le=86_400)
    shrinkage: float = Field(strict=True, default=0.0, ge=0, lt=1)
    max_occupancy: float = Field(strict=True, default=1.0, gt=0, le=1)
    target_hours: float | None = Field(
        strict=True,
        default=None,
        gt=0,
        le=8760,
        description="Backlog method: work done within this many hours.",
    )
    cyclic: bool = Field(default=False, description="Backlog method: the intervals repeat.")
    intervals: list[VolumeIntervalIn] = Field(min_length=1)


class StaffingIntervalOut(ResponseModel):
    """Required agents of one interval and queue, with the measures expected at that staffing."""

    interval_start: datetime
    queue: str
    volume: float
    aht_seconds: float
    load_erlangs: float
    agents_raw: int = Field(description="Productive agents needed.")
    agents: int = Field(description="Scheduled agents (shrinkage added).")
    service_level: float | None = None
    asa_seconds: float | None = None
    p_wait: float | None = None
    p_abandon: float | None = None
    occupancy: float | None = None
    binding: str | None = None
    backlog_hours: float | None = None
    max_delay_hours: float | None = None


class StaffingResponse(ResponseModel):
    """Agents per interval for the target."""

    method: str
    interval_minutes: int
    input_digest: str
    total_agent_hours: float = Field(description="Scheduled agent-hours over all intervals.")
    intervals: list[StaffingIntervalOut]
