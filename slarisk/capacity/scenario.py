"""Simulation scenario spec (pydantic, strict) and `load_scenario(path)`.

Over 600 lines on purpose: the scenario file format is one schema, kept in one module so it
reads top to bottom in the order of docs/scenarios.md.

A scenario is data (like Ciw's networks): start, horizon and warm-up; ticket classes
(priority x tier x channel) with handle-time, patience, touch and customer-wait distributions;
arrivals (a weekly rate profile x multiplier, spikes, added customers, or replay of observed
arrivals); staffing (constant, weekly roster, weekly shifts or a canonical roster file) with
teams serving classes; the dispatch rule; the SLA policy path; an optional starting backlog.
Durations in the YAML carry their unit (``unit: minutes`` on a distribution, ``*_hours``
fields); the compiled model (:mod:`slarisk.capacity.sim`) works in seconds.
Relative paths (policy, backlog, replay, roster file) are resolved against the scenario file.

Every number has a plausible range (the ``MAX_*`` constants, documented in docs/scenarios.md
"Limits"): beyond it validation fails with one line naming the field and the limit, before
any work starts (a billion agents or 1e15 tickets a week is a typo, not a plan).

(Over 600 lines: one pydantic model tree, its validators and limits, and the loader whose
messages name a field of that tree; split, the spec would be read in several places.)
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from slarisk.capacity.distributions import MAX_DURATION_SECONDS as MAX_DURATION_SECONDS
from slarisk.capacity.distributions import MAX_EMPIRICAL_VALUES as MAX_EMPIRICAL_VALUES
from slarisk.capacity.distributions import MAX_GAMMA_SHAPE as MAX_GAMMA_SHAPE
from slarisk.capacity.distributions import UNIT_SECONDS as UNIT_SECONDS
from slarisk.capacity.distributions import Duration as Duration
from slarisk.capacity.distributions import Empirical as Empirical
from slarisk.capacity.distributions import Exponential as Exponential
from slarisk.capacity.distributions import Fixed as Fixed
from slarisk.capacity.distributions import Gamma as Gamma
from slarisk.capacity.distributions import Lognormal as Lognormal
from slarisk.capacity.distributions import NonNegFloat as NonNegFloat
from slarisk.capacity.distributions import Unit as Unit
from slarisk.capacity.distributions import duration_mean_seconds as duration_mean_seconds
from slarisk.capacity.distributions import sample_duration as sample_duration
from slarisk.capacity.lifecycle import Lifecycle
from slarisk.errors import InputError
from slarisk.specs import read_yaml, spec_error

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")

# --- plausible ranges (docs/scenarios.md, "Limits") -------------------------------------------
#: agents of one team at one time (constant, a shift, a weekly roster value).
MAX_TEAM_AGENTS = 10_000
#: tickets per week of the base profile or of an added customer.
MAX_TICKETS_PER_WEEK = 1_000_000
#: tickets per hour of an `hourly_rates` value.
MAX_HOURLY_RATE = 100_000
#: arrival-rate multipliers (`arrivals.multiplier`, spikes).
MAX_MULTIPLIER = 100
#: arrival horizon (and longest drain): ten years (the expected-tickets cap below is what
#: keeps a long horizon's memory in bounds).
MAX_HORIZON_DAYS = 10 * 365.25
MAX_HORIZON_HOURS = MAX_HORIZON_DAYS * 24
#: touches of one ticket (fixed value, geometric mean, empirical values).
MAX_TOUCHES = 100
#: expected tickets arriving in one replication (rate profile x horizon, spikes, customers).
MAX_TICKETS_PER_REPLICATION = 2_000_000
#: cost of one agent-hour (the policy's currency), for the report's cost per scenario.
MAX_AGENT_HOUR_COST = 10_000

#: relative weights (class shares, weekday and hour weights, added customers' shares).
MAX_WEIGHT = 1_000_000

AgentCount = Annotated[int, Field(ge=0, le=MAX_TEAM_AGENTS)]
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
Multiplier = Annotated[float, Field(ge=0, le=MAX_MULTIPLIER)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- touch counts ---------------------------------------------------------------------------
class FixedCount(_Strict):
    """Always `value` touches."""

    dist: Literal["fixed"]
    value: int = Field(ge=1, le=MAX_TOUCHES)


class GeometricCount(_Strict):
    """Touches >= 1, geometric with the given mean (mean 1 = one touch)."""

    dist: Literal["geometric"]
    mean: float = Field(ge=1, le=MAX_TOUCHES)


class EmpiricalCount(_Strict):
    """Touches resampled from observed counts."""

    dist: Literal["empirical"]
    values: list[Annotated[int, Field(ge=1, le=MAX_TOUCHES)]] = Field(
        min_length=1, max_length=MAX_EMPIRICAL_VALUES
    )


Count = Annotated[FixedCount | GeometricCount | EmpiricalCount, Field(discriminator="dist")]


def sample_count(d: Count, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw `n` touch counts (int64, >= 1)."""
    if isinstance(d, FixedCount):
        return np.full(n, d.value, dtype=np.int64)
    if isinstance(d, GeometricCount):
        if d.mean <= 1.0:
            return np.ones(n, dtype=np.int64)
        return rng.geometric(1.0 / d.mean, n).astype(np.int64)
    return rng.choice(np.asarray(d.values, dtype=np.int64), n)


def count_mean(d: Count) -> float:
    """Mean touch count (a geometric mean below 1 draws 1)."""
    if isinstance(d, FixedCount):
        return float(d.value)
    if isinstance(d, EmpiricalCount):
        return float(np.mean(d.values))
    return float(max(d.mean, 1.0))


def count_max(d: Count) -> float:
    """Largest possible count (inf for geometric with mean > 1)."""
    if isinstance(d, FixedCount):
        return d.value
    if isinstance(d, GeometricCount):
        return 1.0 if d.mean <= 1 else math.inf
    return max(d.values)


# --- classes --------------------------------------------------------------------------------
class TicketClass(_Strict):
    """One ticket class (priority x tier x channel) and its behaviour.

    sync: the customer waits on line and abandons after `patience` (none = infinitely patient).
    async: `touches` agent work items separated by `customer_wait` periods (status `pending`,
    which pauses the SLA clock when the policy lists it as a pause status).
    `lifecycle` (async, one `touches` entry): pickup, team stints, hand-offs, outside waits
    and reopens around the touches (:mod:`slarisk.capacity.lifecycle`).
    """

    name: str = Field(min_length=1)
    priority: str = Field(min_length=1)
    tier: str = "unknown"
    channel: str = "unknown"
    share: Weight
    mode: Literal["sync", "async"] = "sync"
    handle: Duration
    patience: Duration | None = None
    touches: Count = FixedCount(dist="fixed", value=1)
    customer_wait: Duration | None = None
    wait_status: str = "pending"
    lifecycle: Lifecycle | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> TicketClass:
        if self.lifecycle is not None and (
            self.mode != "async" or count_max(self.touches) > 1 or self.customer_wait
        ):
            raise ValueError("lifecycle needs mode: async, no touches and no customer_wait")
        if self.mode == "async" and self.patience is not None:
            raise ValueError("patience is for sync classes only (async tickets do not abandon)")
        if self.mode == "sync" and count_max(self.touches) > 1:
            raise ValueError("touches > 1 need mode: async")
        if count_max(self.touches) > 1 and self.customer_wait is None:
            raise ValueError("customer_wait is required when a ticket can have several touches")
        return self


# --- arrivals -------------------------------------------------------------------------------
def _as_utc(v: datetime | None) -> datetime | None:
    """Scenario times: UTC when naive (like `start`), else converted to UTC."""
    if v is None:
        return None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class Spike(_Strict):
    """Arrival-rate multiplier over a date window [start, end) (e.g. a holiday or campaign)."""

    name: str = "spike"
    start: datetime
    end: datetime
    multiplier: Multiplier
    classes: list[str] | None = None

    _utc_times = field_validator("start", "end")(_as_utc)

    @model_validator(mode="after")
    def _order(self) -> Spike:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class AddedCustomer(_Strict):
    """An added customer's volume on top of the profile, from `start` (until `end`).

    Follows the same weekly shape as the base profile; `shares` (class name -> share) default
    to the class shares. Its tickets carry `customer: name`.
    """

    name: str = Field(min_length=1)
    tickets_per_week: float = Field(ge=0, le=MAX_TICKETS_PER_WEEK)
    start: datetime | None = None
    end: datetime | None = None
    shares: dict[str, Weight] | None = None

    _utc_times = field_validator("start", "end")(_as_utc)


class Arrivals(_Strict):
    """Arrival process: a weekly profile (local time of the scenario's timezone) or a replay.

    Either `hourly_rates` (168 tickets/hour, Monday 00:00 first), or `tickets_per_week` spread
    by `weekday_weights` (7, Monday first) x `hour_weights` (24), or `replay` (a canonical
    ticket file whose created_at inside the horizon are replayed as they are).
    """

    hourly_rates: list[Annotated[float, Field(ge=0, le=MAX_HOURLY_RATE)]] | None = None
    tickets_per_week: float | None = Field(None, ge=0, le=MAX_TICKETS_PER_WEEK)
    weekday_weights: list[Weight] = Field(default_factory=lambda: [1.0] * 7)
    hour_weights: list[Weight] = Field(default_factory=lambda: [1.0] * 24)
    multiplier: Multiplier = 1.0
    spikes: list[Spike] = Field(default_factory=list)
    added_customers: list[AddedCustomer] = Field(default_factory=list)
    replay: str | None = None
    replay_default_class: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Arrivals:
        given = [
            n
            for n, v in (
                ("hourly_rates", self.hourly_rates),
                ("tickets_per_week", self.tickets_per_week),
                ("replay", self.replay),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of hourly_rates, tickets_per_week or replay"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.replay is not None and (self.spikes or self.added_customers):
            raise ValueError("spikes and added_customers need a rate profile, not a replay")
        if self.hourly_rates is not None and len(self.hourly_rates) != 168:
            raise ValueError(f"hourly_rates needs 168 values, got {len(self.hourly_rates)}")
        if len(self.weekday_weights) != 7 or sum(self.weekday_weights) <= 0:
            raise ValueError("weekday_weights needs 7 non-negative values, not all zero")
        if len(self.hour_weights) != 24 or sum(self.hour_weights) <= 0:
            raise ValueError("hour_weights needs 24 non-negative values, not all zero")
        return self

    def weekly_rates_per_hour(self) -> np.ndarray:
        """168 base rates in tickets/hour (Monday 00:00 local first), multiplier applied."""
        if self.hourly_rates is not None:
            base = np.asarray(self.hourly_rates, dtype=float)
        else:
            w = np.outer(self.weekday_weights, self.hour_weights).ravel()
            base = (self.tickets_per_week or 0.0) * w / w.sum()
        return base * self.multiplier


# --- staffing -------------------------------------------------------------------------------
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def hhmm_seconds(value: str) -> int:
    """'HH:MM' -> seconds after midnight (24:00 allowed)."""
    m = _HHMM.match(value)
    if not m:
        raise ValueError(f"time {value!r} is not HH:MM")
    secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60
    if secs > 86400:
        raise ValueError(f"time {value!r} is after 24:00")
    return secs


class Team(_Strict):
    """A team and the classes it serves ('*' = every class)."""

    name: str = Field(min_length=1)
    serves: list[str] = Field(default_factory=lambda: ["*"], min_length=1)


class WeeklyRoster(_Strict):
    """Agents of `team` per interval of the week (local time, Monday 00:00 first)."""

    team: str
    interval_minutes: int = Field(60, gt=0, le=10080)
    agents: list[Annotated[float, Field(ge=0, le=MAX_TEAM_AGENTS)]]

    @model_validator(mode="after")
    def _length(self) -> WeeklyRoster:
        if 10080 % self.interval_minutes:
            raise ValueError("interval_minutes must divide a week (10080 minutes)")
        need = 10080 // self.interval_minutes
        if len(self.agents) != need:
            raise ValueError(f"agents needs {need} values, got {len(self.agents)}")
        return self


class Shift(_Strict):
    """`agents` agents of `team` work start..end (local, may cross midnight) on `days`.

    An agent finishes the work in hand at the end of the shift or at the start of the break
    (non-preemptive departure).
    """

    team: str
    agents: AgentCount
    days: list[Weekday] = Field(default_factory=lambda: list(_WORKDAYS))
    start: str
    end: str
    break_start: str | None = None
    break_end: str | None = None

    @field_validator("start", "end", "break_start", "break_end")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        if v is not None:
            hhmm_seconds(v)
        return v

    @model_validator(mode="after")
    def _break(self) -> Shift:
        if (self.break_start is None) != (self.break_end is None):
            raise ValueError("give both break_start and break_end, or neither")
        if self.start == self.end:
            raise ValueError("start and end are equal")
        return self


class Staffing(_Strict):
    """Teams and one staffing source: constant, weekly rosters, weekly shifts or a roster file.

    `roster_file` is a canonical staffing table (CSV or Parquet): the interval form
    (interval_start, interval_minutes, team, agents) or the shift form (agent_id, team,
    start, end, break_start, break_end; converted to 5-minute intervals by
    `slarisk.data.staffing`); outside its intervals a team has 0 agents.
    Fractional agents are rounded to the nearest whole agent.
    """

    teams: list[Team] = Field(default_factory=lambda: [Team(name="agents")], min_length=1)
    constant: dict[str, AgentCount] | None = None
    weekly: list[WeeklyRoster] | None = None
    shifts: list[Shift] | None = None
    roster_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Staffing:
        given = [
            n
            for n in ("constant", "weekly", "shifts", "roster_file")
            if getattr(self, n) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of constant, weekly, shifts or roster_file")
        names = [t.name for t in self.teams]
        if len(set(names)) != len(names):
            raise ValueError("team names must be unique")
        used: list[str] = []
        if self.constant is not None:
            used = list(self.constant)
        elif self.weekly is not None:
            used = [w.team for w in self.weekly]
        elif self.shifts is not None:
            used = [s.team for s in self.shifts]
        unknown = sorted(set(used) - set(names))
        if unknown:
            raise ValueError(f"unknown team(s) {unknown}; teams are {names}")
        return self


# --- scenario -------------------------------------------------------------------------------
class Scenario(_Strict):
    """A support-centre scenario (see the module docstring; examples in simulations/*.yaml).

    `start` (UTC if naive) begins the simulation clock; arrivals run for the horizon
    (`horizon_hours` or `horizon_days`, warm-up included); statistics count tickets created
    after `warmup_hours`. With `drain` the run continues after the horizon (no new arrivals)
    until every ticket is done or `drain_limit_hours` passed; otherwise it stops at the
    horizon and open tickets stay open. `backlog` is a canonical ticket file whose tickets
    open at `start` join the queues at time zero. `service_level_seconds` is used for the
    first-response service level when no `policy` is given. `agent_hour_cost` (the policy's
    currency) prices the agent-hours of the horizon in the report.
    """

    name: str = "scenario"
    description: str = ""
    start: datetime
    timezone: str = "UTC"
    horizon_hours: float | None = Field(None, gt=0, le=MAX_HORIZON_HOURS)
    horizon_days: float | None = Field(None, gt=0, le=MAX_HORIZON_DAYS)
    warmup_hours: NonNegFloat = 0.0
    drain: bool = True
    drain_limit_hours: float = Field(24.0 * 14, gt=0, le=MAX_HORIZON_HOURS)
    kpi_interval_minutes: int = Field(60, gt=0, le=1440)
    dispatch: Literal["fifo", "priority", "edf"] = "fifo"
    priority_order: list[str] | None = None
    policy: str | None = None
    backlog: str | None = None
    service_level_seconds: float | None = Field(None, gt=0, le=MAX_DURATION_SECONDS)
    agent_hour_cost: float | None = Field(None, ge=0, le=MAX_AGENT_HOUR_COST)
    classes: list[TicketClass] = Field(min_length=1)
    arrivals: Arrivals
    staffing: Staffing = Field(default_factory=lambda: Staffing(constant={"agents": 1}))
    base_dir: str = Field(".", exclude=True)

    _utc_start = field_validator("start")(_as_utc)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _consistency(self) -> Scenario:
        if (self.horizon_hours is None) == (self.horizon_days is None):
            raise ValueError("give exactly one of horizon_hours or horizon_days")
        if self.warmup_hours * 3600.0 >= self.horizon_seconds:
            raise ValueError("warmup_hours must be shorter than the horizon")
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError("class names must be unique")
        if sum(c.share for c in self.classes) <= 0:
            raise ValueError("class shares must not all be zero")
        known = set(names)
        for team in self.staffing.teams:
            bad = sorted(set(team.serves) - known - {"*"})
            if bad:
                raise ValueError(f"team {team.name!r} serves unknown class(es) {bad}")
        served = {c for t in self.staffing.teams for c in t.serves}
        if "*" not in served:
            missing = sorted(known - served)
            if missing:
                raise ValueError(f"no team serves class(es) {missing}")
        if self.priority_order is not None:
            missing = sorted({c.priority for c in self.classes} - set(self.priority_order))
            if missing:
                raise ValueError(f"priority_order lacks {missing}")
        for cust in self.arrivals.added_customers:
            if cust.shares:
                bad = sorted(set(cust.shares) - known)
                if bad:
                    raise ValueError(f"added customer {cust.name!r}: unknown classes {bad}")
        for spike in self.arrivals.spikes:
            if spike.classes:
                bad = sorted(set(spike.classes) - known)
                if bad:
                    raise ValueError(f"spike {spike.name!r}: unknown classes {bad}")
        if self.arrivals.replay_default_class and self.arrivals.replay_default_class not in known:
            raise ValueError("arrivals.replay_default_class is not a class name")
        expected = self.expected_arrivals()
        if expected > MAX_TICKETS_PER_REPLICATION:
            # an InputError (not a ValueError) passes through pydantic, keeping the field
            raise InputError(
                f"about {expected:,.0f} tickets per replication (rate x horizon) is above the"
                f" limit of {MAX_TICKETS_PER_REPLICATION:,}: shorten the horizon or lower the"
                " volume",
                field="arrivals",
            )
        return self

    def expected_arrivals(self) -> float:
        """Expected tickets arriving over the horizon (profile mean x hours, plus spikes and
        added customers over their windows); 0 for a replay (its file decides)."""
        arr = self.arrivals
        if arr.replay is not None:
            return 0.0
        hours = self.horizon_seconds / 3600.0
        start = self.start
        end = start + timedelta(seconds=self.horizon_seconds)
        rate = float(arr.weekly_rates_per_hour().mean())  # tickets/hour
        total = rate * hours
        for sp in arr.spikes:
            lo, hi = max(sp.start, start), min(sp.end, end)
            if hi > lo and sp.multiplier > 1:
                total += rate * (sp.multiplier - 1) * (hi - lo).total_seconds() / 3600.0
        for cust in arr.added_customers:
            lo, hi = max(cust.start or start, start), min(cust.end or end, end)
            if hi > lo:
                total += cust.tickets_per_week / 168.0 * (hi - lo).total_seconds() / 3600.0
        return total

    @property
    def horizon_seconds(self) -> float:
        """Arrival horizon (including warm-up), seconds."""
        if self.horizon_hours is not None:
            return self.horizon_hours * 3600.0
        return (self.horizon_days or 0.0) * 86400.0

    @property
    def warmup_seconds(self) -> float:
        return self.warmup_hours * 3600.0

    def resolve(self, path: str | None) -> Path | None:
        """A path of the scenario, resolved against the scenario file's folder."""
        if path is None:
            return None
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """'classes[2].handle.mean' (class entries named by their name when known)."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and "name" in node:
                    label = f"[{item}:{node['name']}]"
            else:
                node = None
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            if isinstance(node, dict):
                node = node.get(item)
            else:
                node = None
            if item in {"exponential", "lognormal", "gamma", "empirical", "fixed", "geometric"}:
                continue  # discriminator tag of a union member, not a field
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def scenario_from_dict(data: Any, *, path: str = "<scenario>", base_dir: str = ".") -> Scenario:
    """Validate a parsed scenario mapping; raises InputError naming `path` and the field."""
    if not isinstance(data, dict):
        raise InputError("the scenario must be a YAML mapping", path=path)
    try:
        return Scenario.model_validate({**data, "base_dir": base_dir})
    except InputError as exc:
        raise InputError(exc.detail, path=path, field=exc.field) from None
    except ValidationError as exc:
        fmt = lambda loc: _field_path(loc, data)  # noqa: E731
        raise spec_error(exc, Scenario, path=path, format_loc=fmt) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; errors name the file and field (InputError)."""
    p = Path(path)
    return scenario_from_dict(read_yaml(p, "scenario"), path=str(p), base_dir=str(p.parent))


def weekday_index(day: str) -> int:
    """'mon' -> 0 ... 'sun' -> 6."""
    return WEEKDAYS.index(day)
