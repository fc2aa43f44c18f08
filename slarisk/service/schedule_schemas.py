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

from pydantic import ConfigDict, Field

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
        strict=True, default=20.0, gt=0, le=60, description="Plan MIP time limit, seconds."
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


class ScheduleJobOut(JobOut):
    """A schedule job: status, progress (0..1) and, when it succeeded, its results."""

    result: ScheduleResultOut | None
