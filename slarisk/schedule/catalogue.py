"""Shift catalogue YAML (pydantic) and its expansion into shift templates with break windows.

A catalogue lists shift *types* (length, allowed start times, days, breaks with windows, cost
per paid hour, min/max heads per day); :func:`expand_templates` turns each type into one
template per (team, length, start time). Times are local wall-clock times of ``timezone``; the
week is Monday 00:00 first and is treated as cyclic (a Sunday night shift runs into Monday).
Break windows are offsets from the shift start: a break may *start* anywhere in
``[window[0], window[1]]`` (in steps of ``interval_minutes``). The YAML may be a file of its
own or the ``shift_catalogue:`` section of a scenario file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from slarisk.errors import InputError
from slarisk.specs import read_yaml, spec_error

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hhmm_minutes(value: str) -> int:
    """'HH:MM' -> minutes (00:00..48:00 allowed, so offsets may exceed a day)."""
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[1]) >= 60:
        raise ValueError(f"time {value!r} is not HH:MM")
    minutes = int(parts[0]) * 60 + int(parts[1])
    if minutes > 48 * 60:
        raise ValueError(f"time {value!r} is after 48:00")
    return minutes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakSpec(_Strict):
    """A break (or lunch) of `minutes`; it starts `window[0]`..`window[1]` after the shift start."""

    name: str = Field(min_length=1)
    minutes: int = Field(gt=0)
    paid: bool = True
    window: tuple[str, str]

    @field_validator("window")
    @classmethod
    def _window(cls, v: tuple[str, str]) -> tuple[str, str]:
        if hhmm_minutes(v[0]) > hhmm_minutes(v[1]):
            raise ValueError("break window ends before it starts")
        return v


class ShiftType(_Strict):
    """One kind of shift: lengths (hours), allowed starts, days, breaks, cost and head limits."""

    name: str = Field(min_length=1)
    teams: list[str] = Field(min_length=1)
    length_hours: list[float] = Field(min_length=1)
    earliest_start: str
    latest_start: str
    start_step_minutes: int = Field(default=60, gt=0)
    days: list[Weekday] = Field(default_factory=lambda: list(ALL_DAYS))
    breaks: list[BreakSpec] = Field(default_factory=list)
    cost_per_hour: float = Field(gt=0)
    part_time: bool = False
    min_heads: int = Field(default=0, ge=0)
    max_heads: int | None = Field(default=None, ge=0)

    @field_validator("length_hours", mode="before")
    @classmethod
    def _lengths(cls, v: Any) -> Any:
        return [v] if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _check(self) -> ShiftType:
        if hhmm_minutes(self.earliest_start) > hhmm_minutes(self.latest_start):
            raise ValueError("latest_start is before earliest_start")
        if hhmm_minutes(self.latest_start) >= 24 * 60:
            raise ValueError("latest_start must be before 24:00")
        if self.max_heads is not None and self.max_heads < self.min_heads:
            raise ValueError("max_heads < min_heads")
        if any(h <= 0 or h > 16 for h in self.length_hours):
            raise ValueError("length_hours must be in (0, 16]")
        prev_end = 0
        for b in self.breaks:
            lo, hi = (hhmm_minutes(t) for t in b.window)
            if lo < prev_end:
                raise ValueError(f"break {b.name!r}: window overlaps the previous break's")
            prev_end = hi + b.minutes
        if prev_end > min(self.length_hours) * 60:
            raise ValueError("breaks do not fit inside the shortest length")
        return self


class ServiceTarget(_Strict):
    """How `queues` turn volumes into agents (``slarisk capacity requirements`` options)."""

    queues: list[str] = Field(min_length=1)
    method: Literal["erlang-c", "erlang-a", "backlog"] = "erlang-c"
    target_sl: float | None = Field(default=0.8, gt=0, lt=1)
    within_seconds: float = Field(default=20.0, gt=0)
    patience_seconds: float | None = Field(default=None, gt=0)
    target_hours: float | None = Field(default=None, gt=0)
    shrinkage: float = Field(default=0.0, ge=0, lt=1)
    max_occupancy: float = Field(default=1.0, gt=0, le=1)
    cyclic: bool = True

    @model_validator(mode="after")
    def _method(self) -> ServiceTarget:
        if self.method == "erlang-a" and self.patience_seconds is None:
            raise ValueError("erlang-a needs patience_seconds")
        if self.method == "backlog" and self.target_hours is None:
            raise ValueError("backlog needs target_hours")
        return self


class Catalogue(_Strict):
    """The shift catalogue: interval grid, queue -> team pooling and the shift types.

    `max_break_share` (optional): per team and interval, at most 1 + share x (agents on shift
    - 1) are on a break (one always may), so breaks do not all fall at once.
    `service_targets` (optional) turn a volume table into the requirement (Erlang C/A or
    backlog-aware per queue, as ``slarisk capacity requirements`` does).
    """

    interval_minutes: int = Field(default=15, gt=0)
    timezone: str = "UTC"
    currency: str = ""
    teams: dict[str, list[str]] = Field(default_factory=dict)
    shortage_cost_per_hour: float = Field(default=200.0, gt=0)
    max_break_share: float | None = Field(default=None, gt=0, le=1)
    shift_types: list[ShiftType] = Field(min_length=1)
    service_targets: list[ServiceTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Catalogue:
        if 1440 % self.interval_minutes:
            raise ValueError("interval_minutes must divide a day (1440)")
        names = [s.name for s in self.shift_types]
        if len(set(names)) != len(names):
            raise ValueError("shift type names must be unique")
        for s in self.shift_types:
            for m in (s.start_step_minutes, *(b.minutes for b in s.breaks)):
                if m % self.interval_minutes:
                    raise ValueError(f"{s.name}: {m} minutes is not a multiple of the interval")
            for t in (s.earliest_start, *(w for b in s.breaks for w in b.window)):
                if hhmm_minutes(t) % self.interval_minutes:
                    raise ValueError(f"{s.name}: {t} is off the {self.interval_minutes}-min grid")
            for h in s.length_hours:
                if round(h * 60) % self.interval_minutes:
                    raise ValueError(f"{s.name}: length {h} h is not on the interval grid")
        return self

    @property
    def slots_per_day(self) -> int:
        return 1440 // self.interval_minutes

    def team_of_queue(self, queue: str) -> str:
        """The scheduled team pooling `queue` (a queue not listed is its own team)."""
        for team, queues in self.teams.items():
            if queue in queues:
                return team
        return queue


@dataclass(frozen=True)
class BreakWindow:
    """A break of `slots` intervals starting `first`..`last` intervals after the shift start."""

    name: str
    slots: int
    paid: bool
    first: int
    last: int


@dataclass(frozen=True)
class ShiftTemplate:
    """One shift the plan can run on a day: type, team, start (interval of day), length."""

    index: int
    type: str
    team: str
    start: int
    length: int
    breaks: tuple[BreakWindow, ...]
    paid_hours: float
    cost: float
    part_time: bool
    days: tuple[int, ...]

    @property
    def end(self) -> int:
        """End interval (exclusive, from the start of the day; may exceed a day)."""
        return self.start + self.length


def expand_templates(cat: Catalogue) -> list[ShiftTemplate]:
    """Every (type, team, length, start) combination as a template, in catalogue order."""
    step = cat.interval_minutes
    out: list[ShiftTemplate] = []
    for st in cat.shift_types:
        lo, hi = hhmm_minutes(st.earliest_start), hhmm_minutes(st.latest_start)
        wins = tuple(
            BreakWindow(
                b.name,
                b.minutes // step,
                b.paid,
                hhmm_minutes(b.window[0]) // step,
                hhmm_minutes(b.window[1]) // step,
            )
            for b in st.breaks
        )
        unpaid_h = sum(b.minutes for b in st.breaks if not b.paid) / 60.0
        days = tuple(WEEKDAYS.index(d) for d in st.days)
        for team in st.teams:
            for hours in st.length_hours:
                length = round(hours * 60) // step
                if any(w.last + w.slots > length for w in wins):
                    raise InputError(
                        f"shift type {st.name!r}: a break window runs past the {hours:g}-h end",
                        field="shift_types",
                    )
                paid = hours - unpaid_h
                for m in range(lo, hi + 1, st.start_step_minutes):
                    out.append(
                        ShiftTemplate(
                            index=len(out),
                            type=st.name,
                            team=team,
                            start=m // step,
                            length=length,
                            breaks=wins,
                            paid_hours=paid,
                            cost=paid * st.cost_per_hour,
                            part_time=st.part_time,
                            days=days,
                        )
                    )
    return out


def catalogue_from_dict(data: Any, *, path: str = "<catalogue>") -> Catalogue:
    """Validate a mapping (or a scenario mapping with a ``shift_catalogue`` section)."""
    if isinstance(data, dict) and "shift_catalogue" in data:
        data = data["shift_catalogue"]
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        fmt = lambda loc: ".".join(str(p) for p in loc) or "catalogue"  # noqa: E731
        raise spec_error(exc, Catalogue, path=path, format_loc=fmt) from None


def load_catalogue(path: str | Path) -> Catalogue:
    """Read a shift catalogue YAML file (or a scenario file with a ``shift_catalogue`` section)."""
    p = Path(path)
    return catalogue_from_dict(read_yaml(p, "shift catalogue"), path=str(p))
