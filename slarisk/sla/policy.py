"""SLA policy as code: pydantic models of a policy YAML and `load_policy(path)`.

YAML format (policies/default.yaml is a complete example)::

    name: default                      # required
    description: free text             # optional
    timezone: Europe/London            # IANA zone of every calendar
    calendars:                         # named business-hours calendars
      24x7: {always_open: true}        # round the clock (no other keys)
      business:
        hours:                         # weekday (mon..sun) -> ["HH:MM", "HH:MM"] local ranges,
          mon: [["09:00", "12:30"], ["13:00", "17:00"]]   # several a day; "24:00" may end one;
          tue: [["09:00", "17:00"]]    # quote the times; days not listed are closed
        holidays: {country: GB, subdivision: ENG}   # `holidays` package (optional)
        closed_dates: [2026-12-24]     # extra closed local dates (optional)
    priorities: [P1, P2, P3, P4]
    tiers: [gold, silver, bronze]
    default_tier: bronze               # optional: tier of tickets whose tier is "unknown"
    targets:                           # every tier x priority x metric must resolve
      - {tier: "*", priority: P1, metric: first_response, hours: 0.5, calendar: 24x7,
         goal: 0.95}                   # tier "*" = wildcard (the default); an exact tier wins
    pause_statuses: [pending, on_hold] # statuses that stop the clock until the next event
    resolution_stop: resolved_at       # ticket column stopping the resolution clock (default)
    warning_thresholds: [0.8, 0.9, 1.0]   # alert levels 80/90/100 (the default)
    credits:                           # optional service-credit schedule
      currency: GBP
      monthly_fee: 10000               # default fee per customer and month
      customer_fees: {acme: 25000}
      bands:                           # credit_pct % of the fee when goal - attainment
        - {shortfall_above: 0.0, credit_pct: 5}    # exceeds shortfall_above (fractions);
        - {shortfall_above: 0.05, credit_pct: 10}  # the highest band exceeded applies
      cap_pct: 25                      # cap per customer-month, % of the fee
    exceptions:                        # optional register of excluded windows
      - id: EX-1
        start: "2026-03-02T00:00:00"   # ISO; naive = policy timezone
        end: "2026-03-04T00:00:00"     # tickets created in [start, end) ...
        scope: {region: [EMEA]}        # ... matching every listed field (customer, region,
        reason: migration              #     tier, priority, service_type; empty = all)
        approver: Head of Service      # are excluded from reports (clock column excluded_by)

Targets are written in business *hours* in YAML and exposed in *seconds* (`Target.seconds`)
everywhere else. Validation is strict (unknown keys are errors); every error is one
`slarisk.errors.InputError` naming the file and the field path, e.g.
``policies/x.yaml: targets[3].hours: must be > 0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from slarisk.errors import InputError
from slarisk.sla.calendar import BusinessCalendar
from slarisk.specs import read_yaml, unknown_field_error

Metric = Literal["first_response", "resolution"]
#: the metrics every target table must cover, in output order.
METRICS: tuple[str, ...] = get_args(Metric)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: weekday keys in ISO order (Monday = index 0, as `date.weekday()`).
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
#: the wildcard tier of a target: applies to every tier without an exact target.
ANY_TIER = "*"
#: ticket fields an exception window may be scoped by.
SCOPE_FIELDS: tuple[str, ...] = ("customer", "region", "tier", "priority", "service_type")

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _fail(field: str, message: str) -> InputError:
    """An InputError for a cross-field check (load_policy adds the file name)."""
    return InputError(message, field=field)


def _parse_hhmm(value: object) -> int:
    """Minutes since local midnight of an "HH:MM" string ("24:00" allowed as an end)."""
    if not isinstance(value, str):
        raise ValueError(f'expected a quoted "HH:MM" string, got {value!r} (quote times in YAML)')
    m = _HHMM.match(value.strip())
    if not m:
        raise ValueError(f'expected "HH:MM", got {value!r}')
    hh, mm = int(m.group(1)), int(m.group(2))
    if mm > 59 or hh > 24 or (hh == 24 and mm != 0):
        raise ValueError(f"not a time of day: {value!r}")
    return hh * 60 + mm


def _as_list(value: object) -> object:
    """Accept a single string where a list of strings is expected."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]


def _hhmm_text(value: object) -> str:
    """Validate an "HH:MM" time of day; returns it normalised (zero-padded)."""
    minutes = _parse_hhmm(value)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ordered(pair: tuple[str, str]) -> tuple[str, str]:
    if _parse_hhmm(pair[0]) >= _parse_hhmm(pair[1]):
        raise ValueError(f"start {pair[0]} must be before end {pair[1]}")
    return pair


#: a local opening range ["HH:MM", "HH:MM"], start before end ("24:00" allowed as end).
TimeRange = Annotated[
    tuple[Annotated[str, BeforeValidator(_hhmm_text)], Annotated[str, BeforeValidator(_hhmm_text)]],
    AfterValidator(_ordered),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaySpec(_Strict):
    """Public holidays from the `holidays` package, e.g. country GB, subdivision ENG."""

    country: str
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidaySpec:
        import holidays  # lazy: loads its country tables (about 0.1 s)

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, years=2024)
        except (NotImplementedError, KeyError, ValueError) as exc:
            raise ValueError(
                f"unknown holiday country/subdivision {self.country}/{self.subdivision}: {exc}"
            ) from None
        return self


class CalendarSpec(_Strict):
    """A business-hours calendar: weekly opening ranges, holidays, closed dates; or 24x7.

    `hours` maps weekday keys (mon..sun) to lists of ["HH:MM", "HH:MM"] local opening ranges
    (end exclusive, "24:00" allowed, no overnight ranges: split them over two days). Days
    not listed are closed. `always_open: true` makes a 24x7 calendar (no other keys).
    """

    always_open: bool = False
    hours: dict[Weekday, list[TimeRange]] = Field(default_factory=dict)
    holidays: HolidaySpec | None = None
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _disjoint(cls, hours: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, ranges in hours.items():
            spans = sorted((_parse_hhmm(a), _parse_hhmm(b), i) for i, (a, b) in enumerate(ranges))
            for (_, b1, _), (a2, _, i2) in pairwise(spans):
                if a2 < b1:
                    raise ValueError(f"{day}[{i2}] overlaps another range of {day}")
        return hours

    @model_validator(mode="after")
    def _open_somewhen(self) -> CalendarSpec:
        if self.always_open:
            if self.hours or self.holidays or self.closed_dates:
                raise ValueError("always_open: true takes no hours, holidays or closed_dates")
        elif not any(self.hours.values()):
            raise ValueError("needs opening `hours` on at least one weekday, or always_open: true")
        return self

    def weekly_minutes(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Opening ranges per weekday (Monday first) in minutes since local midnight."""
        hours: dict[str, list[tuple[str, str]]] = {str(k): v for k, v in self.hours.items()}
        return tuple(
            tuple(sorted((_parse_hhmm(a), _parse_hhmm(b)) for a, b in hours.get(day, [])))
            for day in WEEKDAYS
        )


#: the longest plausible SLA target, in hours (ten years).
MAX_TARGET_HOURS = 10 * 365.25 * 24


class TargetSpec(_Strict):
    """One target: `hours` of business time on `calendar`, to be met by `goal` of tickets."""

    tier: str = ANY_TIER
    priority: str
    metric: Metric
    hours: float
    calendar: str
    goal: float = 0.95

    @field_validator("hours")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not (v > 0 and np.isfinite(v)):
            raise ValueError("must be > 0")
        if v > MAX_TARGET_HOURS:
            raise ValueError(f"over the plausible limit {MAX_TARGET_HOURS:,.0f} h (10 years)")
        return v

    @field_validator("goal")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if not 0 < v <= 1:
            raise ValueError("must be in (0, 1], e.g. 0.95")
        return v


class CreditBand(_Strict):
    """Credit `credit_pct` % of the monthly fee when the shortfall exceeds `shortfall_above`.

    Shortfall = goal - attainment, as a fraction (0.05 = 5 percentage points below goal).
    """

    shortfall_above: float = Field(ge=0, lt=1)
    credit_pct: float = Field(ge=0, le=100)


class Credits(_Strict):
    """Service-credit schedule: the band with the largest threshold below the shortfall wins.

    Fees are per customer and month in `currency`; `customer_fees` override `monthly_fee`.
    The credit of one customer-month is capped at `cap_pct` % of its fee.
    """

    currency: str = "EUR"
    monthly_fee: float = Field(ge=0)
    customer_fees: dict[str, float] = Field(default_factory=dict)
    bands: list[CreditBand] = Field(min_length=1)
    cap_pct: float = Field(default=100, ge=0, le=100)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, bands: list[CreditBand]) -> list[CreditBand]:
        th = [b.shortfall_above for b in bands]
        if any(b <= a for a, b in pairwise(th)):
            raise ValueError("shortfall_above must strictly increase from band to band")
        return bands

    @field_validator("customer_fees")
    @classmethod
    def _fees(cls, fees: dict[str, float]) -> dict[str, float]:
        for k, v in fees.items():
            if not v >= 0:
                raise ValueError(f"{k}: fee must be >= 0")
        return fees

    def fee_for(self, customer: str) -> float:
        """Monthly fee of `customer` (its own fee, else the default `monthly_fee`)."""
        return self.customer_fees.get(customer, self.monthly_fee)

    def credit_pct(self, shortfall: Any) -> np.ndarray:
        """Credit in % of the monthly fee for shortfall fraction(s) (goal - attainment), capped.

        Vectorised: accepts a scalar or array; returns a float array of the same shape.
        A shortfall <= 0 (goal met) or NaN earns no credit.
        """
        s = np.asarray(shortfall, dtype=float)
        th = np.array([b.shortfall_above for b in self.bands])
        pct = np.array([0.0] + [b.credit_pct for b in self.bands])
        idx = np.searchsorted(th, np.where(np.isnan(s), -1.0, s), side="left")
        return np.minimum(pct[idx], self.cap_pct)


class ExceptionScope(_Strict):
    """Which tickets an exception window covers; an empty scope covers every ticket."""

    customer: StrList = Field(default_factory=list)
    region: StrList = Field(default_factory=list)
    tier: StrList = Field(default_factory=list)
    priority: StrList = Field(default_factory=list)
    service_type: StrList = Field(default_factory=list)

    def items(self) -> list[tuple[str, list[str]]]:
        """The non-empty (field, allowed values) pairs."""
        return [(f, getattr(self, f)) for f in SCOPE_FIELDS if getattr(self, f)]


class ExceptionWindow(_Strict):
    """A registered exception: tickets created in [start, end) matching `scope` are excluded.

    Naive start/end are in the policy's timezone; they are stored timezone-aware.
    """

    id: str = Field(min_length=1)
    start: datetime
    end: datetime
    scope: ExceptionScope = Field(default_factory=ExceptionScope)
    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)


@dataclass(frozen=True)
class Target:
    """A resolved target of one (tier, priority, metric): `seconds` of business time."""

    tier: str
    priority: str
    metric: str
    hours: float
    seconds: float
    calendar: str
    goal: float


class Policy(_Strict):
    """An SLA policy (see module docstring). Build with `load_policy(path)`."""

    name: str = Field(min_length=1)
    description: str = ""
    timezone: str
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    priorities: list[str] = Field(min_length=1)
    tiers: list[str] = Field(min_length=1)
    #: tier given to tickets whose tier is missing or "unknown" (None: such tickets are errors).
    default_tier: str | None = None
    targets: list[TargetSpec] = Field(min_length=1)
    pause_statuses: list[str] = Field(default_factory=list)
    #: ticket timestamp column that stops the resolution clock: ``resolved_at`` (default), or
    #: e.g. ``closed_at`` for a tool whose SLA stops on closure (ServiceNow "stop condition").
    resolution_stop: str = "resolved_at"
    warning_thresholds: list[float] = Field(default_factory=lambda: [0.8, 0.9, 1.0])
    credits: Credits | None = None
    exceptions: list[ExceptionWindow] = Field(default_factory=list)

    _calendars: dict[str, BusinessCalendar] = PrivateAttr(default_factory=dict)
    _table: dict[tuple[str, str, str], Target] = PrivateAttr(default_factory=dict)
    _source: str | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {v!r} (e.g. Europe/London)") from None
        return v

    @field_validator("priorities", "tiers")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dupes = sorted({x for x in v if v.count(x) > 1})
        if dupes:
            raise ValueError(f"duplicate values {dupes}")
        if ANY_TIER in v:
            raise ValueError(f"{ANY_TIER!r} is reserved for the wildcard")
        return v

    @field_validator("resolution_stop")
    @classmethod
    def _column_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError(f"{v!r} is not a ticket column name (e.g. resolved_at, closed_at)")
        return v

    @field_validator("warning_thresholds")
    @classmethod
    def _thresholds(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < x <= 10 for x in v) or any(b <= a for a, b in pairwise(v)):
            raise ValueError("must be a non-empty, strictly increasing list of fractions > 0")
        return v

    @model_validator(mode="after")
    def _cross_check(self) -> Policy:
        tz = ZoneInfo(self.timezone)
        if self.default_tier is not None and self.default_tier not in self.tiers:
            raise _fail("default_tier", f"{self.default_tier!r} is not one of tiers {self.tiers}")
        table: dict[tuple[str, str, str], Target] = {}
        seen: dict[tuple[str, str, str], int] = {}
        for i, t in enumerate(self.targets):
            if t.tier != ANY_TIER and t.tier not in self.tiers:
                raise _fail(f"targets[{i}].tier", f"{t.tier!r} is not one of tiers {self.tiers}")
            if t.priority not in self.priorities:
                raise _fail(
                    f"targets[{i}].priority",
                    f"{t.priority!r} is not one of priorities {self.priorities}",
                )
            if t.calendar not in self.calendars:
                raise _fail(
                    f"targets[{i}].calendar",
                    f"{t.calendar!r} is not a calendar (have {sorted(self.calendars)})",
                )
            key = (t.tier, t.priority, t.metric)
            if key in seen:
                raise _fail(f"targets[{i}]", f"duplicates targets[{seen[key]}] for {key}")
            seen[key] = i
        for tier in self.tiers:
            for prio in self.priorities:
                for metric in METRICS:
                    i_t = seen.get((tier, prio, metric), seen.get((ANY_TIER, prio, metric)))
                    if i_t is None:
                        raise _fail(
                            "targets",
                            f"no target for tier {tier!r}, priority {prio!r}, metric {metric!r}"
                            f" (add one, or a tier: '*' wildcard)",
                        )
                    spec = self.targets[i_t]
                    table[(tier, prio, metric)] = Target(
                        tier=tier,
                        priority=prio,
                        metric=metric,
                        hours=spec.hours,
                        seconds=spec.hours * 3600.0,
                        calendar=spec.calendar,
                        goal=spec.goal,
                    )
        ids: set[str] = set()
        for i, ex in enumerate(self.exceptions):
            if ex.id in ids:
                raise _fail(f"exceptions[{i}].id", f"duplicate exception id {ex.id!r}")
            ids.add(ex.id)
            for attr in ("start", "end"):
                value: datetime = getattr(ex, attr)
                if value.tzinfo is None:  # naive: in the policy's timezone
                    object.__setattr__(ex, attr, value.replace(tzinfo=tz))
            if not ex.start < ex.end:
                raise _fail(f"exceptions[{i}].end", "must be after start")
            for f, allowed in (("tier", self.tiers), ("priority", self.priorities)):
                bad = [v for v in getattr(ex.scope, f) if v not in allowed]
                if bad:
                    raise _fail(f"exceptions[{i}].scope.{f}", f"unknown values {bad}")
        self._table = table
        return self

    # --- queries -------------------------------------------------------------------------
    def target_for(self, tier: str, priority: str, metric: str) -> Target:
        """The resolved target of (tier, priority, metric); an exact tier beats the wildcard.

        Raises InputError for an unknown tier, priority or metric.
        """
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r} (one of {list(METRICS)})", field="metric")
        if priority not in self.priorities:
            raise InputError(
                f"unknown priority {priority!r} (one of {self.priorities})", field="priority"
            )
        if tier not in self.tiers:
            if self.default_tier is not None and tier in ("", "unknown"):
                tier = self.default_tier
            else:
                raise InputError(f"unknown tier {tier!r} (one of {self.tiers})", field="tier")
        return self._table[(tier, priority, metric)]

    def business_calendar(self, name: str) -> BusinessCalendar:
        """The compiled `BusinessCalendar` named `name` (cached on the policy)."""
        if name not in self.calendars:
            raise InputError(f"unknown calendar {name!r} (have {sorted(self.calendars)})")
        if name not in self._calendars:
            self._calendars[name] = BusinessCalendar.from_spec(
                name, self.calendars[name], self.timezone
            )
        return self._calendars[name]

    @property
    def alert_levels(self) -> list[int]:
        """Alert levels in % of target, e.g. [80, 90, 100] (from `warning_thresholds`)."""
        return [round(100 * t) for t in self.warning_thresholds]

    @model_validator(mode="after")
    def _remember_source(self, info: ValidationInfo) -> Policy:
        """The file name passed as validation context ``{"source": ...}`` (see ``source``)."""
        if isinstance(info.context, dict) and "source" in info.context:
            self._source = info.context["source"]
        return self

    @property
    def source(self) -> str | None:
        """The file this policy was loaded from (None when built in memory)."""
        return self._source


# --- loading -----------------------------------------------------------------------------
def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _clean_msg(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def policy_from_dict(data: object, source: str = "<policy>") -> Policy:
    """Validate a parsed policy mapping; errors are InputError naming `source` and the field."""
    if not isinstance(data, dict):
        raise InputError("a policy must be a YAML mapping at the top level", path=source)
    try:
        policy = Policy.model_validate(data, context={"source": source})
    except ValidationError as exc:
        unknown = unknown_field_error(exc, Policy, path=source, format_loc=_loc)
        if unknown is not None:
            raise unknown from None
        errors = exc.errors()
        first = errors[0]
        where = _loc(tuple(first["loc"])) or None
        msg = _clean_msg(first["msg"])
        if first["type"] == "extra_forbidden":
            msg = "unknown field (not part of the policy format)"
        elif first["type"] == "missing":
            msg = "required field is missing"
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise InputError(msg + more, path=source, field=where) from None
    except InputError as exc:
        raise InputError(exc.detail, path=source, field=exc.field) from None
    return policy


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file. Every problem raises one `InputError`."""
    return policy_from_dict(read_yaml(path, "policy"), str(path))
