"""API schemas of shift schedules (`POST /v1/schedules`): the requirement rows, the shift
catalogue and the agents inline, the solver limits, and the job's result.

The catalogue and the agents use the very models of the YAML files
(:class:`~slarisk.schedule.catalogue.Catalogue`, :class:`~slarisk.schedule.rules.AgentsFile`);
the request is also validated in strict mode (see :mod:`slarisk.service.scheduling`), so JSON
``true`` or ``"8"`` is refused where a number is expected. Timestamps need a zone and must
fall in 1900-2200. Durations are seconds unless named otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, model_validator

from slarisk.schedule.catalogue import Catalogue
from slarisk.schedule.rules import AgentsFile
from slarisk.service.forecast_schemas import Timestamp
from slarisk.service.schemas import JobOut, RequestModel, ResponseModel

_BREAKS = [
    {"name": "break1", "minutes": 30, "paid": True, "window": ["01:30", "03:00"]},
    {"name": "lunch", "minutes": 30, "paid": False, "window": ["03:30", "05:00"]},
]
_SCHEDULE_EXAMPLE: dict[str, Any] = {
    "requirements": [
        {"interval_start": "2026-10-05T09:00:00Z", "queue": "phone", "agents": 2},
        {"interval_start": "2026-10-05T10:00:00Z", "queue": "phone", "agents": 3},
        {"interval_start": "2026-10-05T11:00:00Z", "queue": "phone", "agents": 2},
    ],
    "catalogue": {
        "interval_minutes": 30,
        "timezone": "UTC",
        "currency": "GBP",
        "teams": {"voice": ["phone"]},
        "shift_types": [
            {
                "name": "day",
                "teams": ["voice"],
                "length_hours": [8],
                "earliest_start": "07:00",
                "latest_start": "10:00",
                "cost_per_hour": 20,
                "breaks": _BREAKS,
            }
        ],
    },
    "agents": {
        "rules": {"min_rest_hours": 11, "max_consecutive_days": 5, "min_days_off": 2},
        "agents": [
            {"id": "V01", "teams": ["voice"], "max_hours": 40},
            {"id": "V02", "teams": ["voice"], "max_hours": 40},
            {"id": "V03", "teams": ["voice"], "max_hours": 24},
        ],
    },
    "plan_time_seconds": 10,
    "roster_time_seconds": 10,
    "seed": 0,
    "workers": 1,
}


class RequirementRowIn(RequestModel):
    """Agents needed in one interval of one queue (as `slarisk capacity requirements` writes);
    placed on the catalogue's week grid by its local time of the week."""

    interval_start: Timestamp
    queue: str = Field(
        min_length=1,
        max_length=200,
        description="A requirement queue (pooled by the catalogue's `teams`) or a team name.",
    )
    agents: float = Field(strict=True, ge=0, le=100_000, description="Agents needed.")


class ScheduleVerifyIn(RequestModel):
    """Verification by simulation, as ``slarisk schedule verify`` does it: the roster is
    simulated against the scenario's demand with common random numbers, and while a class
    misses its goal (the lower end of its 95% interval under the goal) the requirement is
    raised, and made a floor the plan must cover, where the teams serving it are busiest or
    its tickets waited, then re-planned, re-rostered and re-simulated, for at most
    `max_rounds` repair rounds; each adds agents or the loop stops (`status`). The scenario
    is one of the files of the server's scenario folder (`scenario_file`) or sent inline
    (`scenario`, the format of ``POST /v1/simulations``): exactly one of the two."""

    scenario_file: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="A scenario of the server's scenario folder (SLARISK_SCENARIO_DIR) by"
        " its plain file name, with or without `.yaml` (e.g. `baseline`).",
    )
    scenario: dict[str, Any] | None = Field(
        default=None,
        description="A scenario inline, same fields as the YAML files and POST"
        " /v1/simulations (no file references; the server's SLA policy). Its staffing is"
        " replaced by the roster.",
    )
    replications: int = Field(
        strict=True, default=5, ge=2, le=50, description="Replications per round (seeded)."
    )
    weeks: int = Field(
        strict=True, default=1, ge=1, le=8, description="Weeks simulated per replication."
    )
    max_rounds: int = Field(
        strict=True, default=2, ge=0, le=6, description="Repair rounds at most (the budget)."
    )
    multiplier: float | None = Field(
        default=None, gt=0, le=100, description="Scale the scenario's arrivals (1.1 = +10%)."
    )

    @model_validator(mode="after")
    def _one_scenario(self) -> ScheduleVerifyIn:
        if (self.scenario_file is None) == (self.scenario is None):
            raise ValueError("give exactly one of scenario_file or scenario")
        return self


class ScheduleRequest(RequestModel):
    """A shift plan and a named roster, as ``slarisk schedule roster`` makes them: the least
    cost plan of the catalogue's shifts covering the requirement (HiGHS), then the shifts
    assigned to the agents under the labour rules (CP-SAT). Same seed and workers: same
    roster. The catalogue and agents have the format of the YAML files
    ([schedule.md](schedule.md))."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SCHEDULE_EXAMPLE]})

    requirements: list[RequirementRowIn] = Field(
        min_length=1, description="Agents needed per interval and queue."
    )
    catalogue: Catalogue = Field(description="The shift catalogue (format of the YAML file).")
    agents: AgentsFile = Field(description="Labour rules and agents (format of the YAML file).")
    plan_time_seconds: float = Field(
        strict=True,
        default=60.0,
        gt=0,
        le=60,
        description="Safety cap on the plan's seconds: the plan stops on deterministic limits"
        " (same input, same plan); one stopped by the cap says so (`plan.time_capped`).",
    )
    roster_time_seconds: float = Field(
        strict=True,
        default=20.0,
        gt=0,
        le=60,
        description="Roster CP-SAT deterministic time limit (about seconds).",
    )
    seed: int = Field(strict=True, default=0, ge=0, le=2**31 - 1, description="CP-SAT seed.")
    workers: int = Field(
        strict=True, default=1, ge=1, le=8, description="CP-SAT workers (fixed: reproducible)."
    )
    verify: ScheduleVerifyIn | None = Field(
        default=None,
        description="Verify the roster by simulation and repair it (as `slarisk schedule"
        " verify`); the result then describes the final round's roster. `seed` is also the"
        " simulation's root seed.",
    )


# --- results ---------------------------------------------------------------------------------
class PlanSummaryOut(ResponseModel):
    """The least-cost shift plan's figures (costs in the catalogue's currency)."""

    status: str = Field(description="HiGHS model status.")
    cost: float = Field(description="Cost of the planned shifts.")
    objective: float = Field(description="Cost plus the penalty of the shortage.")
    lp_bound: float = Field(description="LP relaxation bound of the objective.")
    gap_to_lp: float = Field(description="(objective - LP bound) / objective.")
    mip_gap: float
    shortage_hours: float = Field(description="Agent-hours short of the requirement.")
    shifts: int = Field(description="Shifts planned in the week.")
    templates: int = Field(description="Shift templates the catalogue expands into.")
    seconds: float
    time_capped: bool = Field(
        description="A stage stopped at the time cap (`plan_time_seconds`): a rerun may give"
        " another plan. Otherwise the same request gives the same plan."
    )


class RosterSummaryOut(ResponseModel):
    """The named roster's figures."""

    status: str = Field(description="CP-SAT status.")
    cost: float = Field(description="Cost of the assigned shifts.")
    agents_used: int
    unfilled_shifts: int = Field(description="Planned shifts no agent could take.")
    seconds: float
    seed: int
    workers: int


class BreakOut(ResponseModel):
    name: str
    start: str = Field(description="Local HH:MM.")
    end: str = Field(description="Local HH:MM.")
    paid: bool


class AssignmentOut(ResponseModel):
    """One shift of one agent (local times of the catalogue's timezone)."""

    agent_id: str
    team: str
    day: str = Field(description="mon .. sun.")
    type: str
    start: str = Field(description="Local HH:MM.")
    end: str = Field(description="Local HH:MM (may be the next day).")
    paid_hours: float
    cost: float
    breaks: list[BreakOut]


class UnmetOut(ResponseModel):
    """An interval of the week where the roster is short of the requirement."""

    team: str
    day: str
    time: str = Field(description="Local HH:MM of the interval start.")
    required: float
    planned: float = Field(description="Agents of the plan on duty and not on a break.")
    rostered: float = Field(description="Agents of the roster on duty and not on a break.")
    unmet: float


class UnfilledOut(ResponseModel):
    """Planned shifts left without an agent."""

    day: str
    team: str
    type: str
    start: str
    end: str
    count: int


class ViolationOut(ResponseModel):
    rule: str
    agent_id: str
    detail: str


class VerifyRoundOut(ResponseModel):
    """One round of the verification: the roster of that round, simulated."""

    round: int = Field(description="0 = the roster of the requirement as given (Erlang only).")
    cost: float = Field(description="Cost of the round's roster.")
    paid_hours: float
    plan_gap_to_lp: float
    plan_time_capped: bool
    roster_status: str
    violations: int = Field(description="Hard-rule violations of the round's roster.")
    goals_missed: int = Field(description="(class, metric) pairs under their goal (95%).")
    ok: bool = Field(description="Every goal met with 95% confidence.")


class RosterAttainmentOut(ResponseModel):
    """Simulated attainment of one class and metric: mean over replications, 95% interval."""

    ticket_class: str
    metric: str
    goal: float
    attainment: float
    attainment_lo: float
    attainment_hi: float
    met: bool = Field(description="The lower end of the 95% interval reaches the goal.")


class MissedIntervalOut(ResponseModel):
    """An interval of the week whose simulated first-response service level is under the
    goal (the strictest first-response goal), pooled over replications and weeks."""

    day: str
    time: str = Field(description="Local HH:MM of the interval start.")
    service_level: float
    arrivals: float = Field(description="Mean tickets arriving in the interval.")


class VerificationOut(ResponseModel):
    """The verification by simulation: every round, the final attainment and the cost of the
    Erlang-only roster (round 0) against the repaired one (the last round)."""

    scenario: str
    replications: int
    weeks: int
    seed: int
    ok: bool = Field(description="The final roster meets every goal with 95% confidence.")
    status: str = Field(
        description="Why the repair loop stopped: `goals met: no repair needed`, `goals met"
        " after N repair round(s)`, `goal not met: budget reached (N repair round(s))` or"
        " `goal not met: no change possible (reason)`."
    )
    erlang_cost: float = Field(description="Cost of the round-0 roster, before repair.")
    final_cost: float = Field(description="Cost of the final roster, after repair.")
    rounds: list[VerifyRoundOut]
    attainment: list[RosterAttainmentOut] = Field(description="Of the final roster.")
    missed_intervals: list[MissedIntervalOut] = Field(description="Of the final roster.")


class ScheduleResultOut(ResponseModel):
    """Results of a finished schedule: plan and roster figures, the assignments, the unmet
    requirement per interval, unfilled shifts, conflicting rules and rule violations."""

    interval_minutes: int
    timezone: str
    currency: str
    teams: list[str]
    plan: PlanSummaryOut
    roster: RosterSummaryOut
    assignments: list[AssignmentOut]
    unmet: list[UnmetOut] = Field(description="Only the intervals with unmet > 0.")
    unmet_agent_hours: float
    unfilled: list[UnfilledOut]
    conflicts: list[str] = Field(description="Rules broken because no roster met them all.")
    violations: list[ViolationOut] = Field(description="Hard-rule violations of the roster.")
    verification: VerificationOut | None = Field(
        default=None, description="With `verify`: the simulation rounds (else null)."
    )


class ScheduleJobOut(JobOut):
    """A schedule job: status, progress (0..1) and, when it succeeded, its results."""

    result: ScheduleResultOut | None
