"""Generic importer driven by a YAML mapping (``mappings/*.yaml``): no code per help desk.

Two modes:

* ``tickets``: one source row per ticket; ``columns`` maps canonical names to source columns.
* ``events``: one source row per status change (Jira SM history, a process-mining log);
  tickets are rebuilt: created_at = first event, first_response_at = first event in
  ``events.first_response_statuses``, resolved_at = first event in ``events.resolved_statuses``,
  status = last event's status; status events are emitted for clock pauses.

Value maps (``values``) translate source values (priority, status, segments) to canonical ones;
a value missing from a map is quarantined unless the map has a ``"*"`` fallback. Naive
timestamps are read in ``source_timezone`` (default UTC). See docs/data_contract.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from slarisk.data import schema as s
from slarisk.data import validate as v
from slarisk.errors import InputError
from slarisk.specs import read_yaml, unknown_field_error

_STRING_COLUMNS = (s.PRIORITY, *s.SEGMENT_COLUMNS, s.STATUS)
_TICKET_TARGETS = set(s.TICKET_COLUMNS)
_EVENT_TARGETS = {s.TICKET_ID, s.AT, s.STATUS, s.PRIORITY, *s.SEGMENT_COLUMNS}
_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}


class Offset(BaseModel):
    """A timestamp given as a duration after created_at (e.g. "first reply time in minutes")."""

    model_config = ConfigDict(extra="forbid")
    column: str
    unit: Literal["seconds", "minutes", "hours", "days"] = "minutes"


class EventRules(BaseModel):
    """How tickets are rebuilt from status events (statuses after value mapping)."""

    model_config = ConfigDict(extra="forbid")
    first_response_statuses: list[str] = Field(min_length=1)
    resolved_statuses: list[str] = Field(min_length=1)
    #: attribute value per ticket: ``opening`` = the first event's value (known at opening),
    #: ``first`` = the earliest non-missing value, ``last`` = the latest non-missing value.
    attributes: Literal["opening", "first", "last"] = "first"


class ImportMapping(BaseModel):
    """A YAML import mapping (strict: unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    mode: Literal["tickets", "events"] = "tickets"
    source_timezone: str = "UTC"
    #: strftime format of the timestamps, or None for ISO 8601.
    timestamp_format: str | None = None
    na_values: list[str] = Field(default_factory=lambda: list(s.DEFAULT_NA_VALUES))
    #: canonical column -> source column.
    columns: dict[str, str]
    #: output column -> source column, kept as extra ticket columns.
    extra_columns: dict[str, str] = Field(default_factory=dict)
    #: canonical column -> {source value: canonical value}; key "*" = fallback for the rest.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: canonical column -> value used where the source has none.
    defaults: dict[str, str] = Field(default_factory=dict)
    #: tickets mode: timestamps given as durations after created_at.
    offsets: dict[str, Offset] = Field(default_factory=dict)
    #: events mode: how to rebuild tickets.
    events: EventRules | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: {str(a): b for a, b in m.items()} if isinstance(m, dict) else m
                for k, m in value.items()
            }
        return value

    @field_validator("source_timezone")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            v.check_timezone(value)
        except InputError:
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ImportMapping:
        targets = _TICKET_TARGETS if self.mode == "tickets" else _EVENT_TARGETS
        for key in self.columns:
            if key not in targets:
                raise ValueError(
                    f"columns.{key}: not a canonical column for mode {self.mode}"
                    f" (allowed: {', '.join(sorted(targets))})"
                )
        required = (
            [s.TICKET_ID, s.CREATED_AT] if self.mode == "tickets" else [s.TICKET_ID, s.AT, s.STATUS]
        )
        for key in [*required, s.PRIORITY]:
            if key not in self.columns and not (key == s.PRIORITY and key in self.defaults):
                raise ValueError(f"columns.{key}: required (map it to a source column)")
        for key in self.values:
            if key not in _STRING_COLUMNS:
                raise ValueError(f"values.{key}: value maps apply to {', '.join(_STRING_COLUMNS)}")
        for key in self.defaults:
            if key not in _STRING_COLUMNS:
                raise ValueError(f"defaults.{key}: defaults apply to {', '.join(_STRING_COLUMNS)}")
        for key in self.offsets:
            if self.mode != "tickets" or key not in (s.FIRST_RESPONSE_AT, s.RESOLVED_AT):
                raise ValueError(
                    f"offsets.{key}: offsets apply to first_response_at/resolved_at in tickets mode"
                )
            if key in self.columns:
                raise ValueError(f"offsets.{key}: also mapped in columns; use one of them")
        if self.mode == "events" and self.events is None:
            raise ValueError("events: required in events mode")
        if self.mode == "tickets" and self.events is not None:
            raise ValueError("events: only allowed in events mode")
        clash = set(self.extra_columns) & (set(s.TICKET_COLUMNS) | {s.AT, "n_events"})
        if clash:
            raise ValueError(f"extra_columns.{sorted(clash)[0]}: clashes with a canonical column")
        return self


def load_mapping(path: str | Path) -> ImportMapping:
    """Read and validate a mapping YAML; errors name the file and the field."""
    p = Path(path)
    data = read_yaml(p, "mapping")
    if not isinstance(data, dict):
        raise InputError("a mapping file must hold a YAML mapping (key: value)", path=str(p))
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as exc:
        unknown = unknown_field_error(exc, ImportMapping, path=str(p))
        if unknown is not None:
            raise unknown from None
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not loc and ": " in msg and msg.split(": ", 1)[0].replace(".", "").isidentifier():
            loc, msg = msg.split(": ", 1)
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise InputError(msg + more, path=str(p), field=loc or None) from None


def import_with_mapping(
    raw: pd.DataFrame,
    mapping: ImportMapping,
    source: str,
    *,
    mapping_name: str = "mapping",
    source_tz: str | None = None,
    defaults: dict[str, str] | None = None,
) -> v.ImportResult:
    """Import ``raw`` (read as text) with ``mapping``; ``source_tz``/``defaults`` override it."""
    tz = v.check_timezone(source_tz or mapping.source_timezone, source=source)
    na = tuple(mapping.na_values)
    wanted = {
        **{k: c for k, c in mapping.columns.items()},
        **{k: c for k, c in mapping.extra_columns.items()},
        **{k: o.column for k, o in mapping.offsets.items()},
    }
    for target, col in wanted.items():
        if col not in raw.columns:
            raise InputError(
                f"column {col!r} (mapped to {target} by {mapping_name}) is not in the input"
                f" (has: {', '.join(map(str, raw.columns[:20]))})",
                path=source,
                field=col,
            )
    dflt = {**mapping.defaults, **(defaults or {})}
    frame = pd.DataFrame(
        {k: raw[c] for k, c in {**mapping.columns, **mapping.extra_columns}.items()}
    )
    allowed: dict[str, list[str]] = {}
    for col, table in mapping.values.items():
        if col not in frame.columns:
            continue
        text = v.clean_strings(frame[col], na)
        mapped = text.map({k: val for k, val in table.items() if k != "*"})
        unmapped = text.notna() & mapped.isna()
        if "*" in table:
            mapped = mapped.mask(unmapped, table["*"])
        else:
            mapped = mapped.mask(unmapped, text)  # kept as is: quarantined by `allowed`
            allowed[col] = sorted(set(table.values()))
        frame[col] = mapped
    if mapping.mode == "tickets":
        return _tickets_mode(raw, frame, mapping, source, tz, na, dflt, allowed)
    return _events_mode(raw, frame, mapping, source, tz, na, dflt, allowed)


def _tickets_mode(
    raw: pd.DataFrame,
    frame: pd.DataFrame,
    mapping: ImportMapping,
    source: str,
    tz: str,
    na: tuple[str, ...],
    dflt: dict[str, str],
    allowed: dict[str, list[str]],
) -> v.ImportResult:
    problems: list[v.Problem] = []
    if mapping.offsets:
        created = v.parse_timestamps(
            frame[s.CREATED_AT], source_tz=tz, fmt=mapping.timestamp_format, na_values=na
        ).values
        for target, off in mapping.offsets.items():
            text = v.clean_strings(raw[off.column], na)
            num = pd.to_numeric(text, errors="coerce")
            bad = (text.notna() & (num.isna() | (num < 0))).to_numpy(dtype=bool)
            problems.append((target, f"{off.column} not a duration >= 0 ({off.unit})", bad))
            secs = (num.where(num >= 0) * _UNITS[off.unit]).round(3)
            frame[target] = created + pd.to_timedelta(secs, unit="s")
    tickets = v.validate_tickets(
        frame,
        source,
        source_tz=tz,
        timestamp_format=mapping.timestamp_format,
        na_values=na,
        defaults=dflt,
        allowed=allowed,
        extra_problems=problems,
    )
    tickets = v.ValidationResult(
        tickets.accepted,
        v.rename_fields(
            v.with_source_rows(tickets.quarantined, raw),
            {**mapping.columns, **{k: o.column for k, o in mapping.offsets.items()}},
        ),
        source=source,
        kind=tickets.kind,
    )
    events = pd.DataFrame(
        {
            s.TICKET_ID: pd.Series(dtype="str"),
            s.AT: pd.Series(dtype=s.TIMESTAMP_DTYPE),
            s.STATUS: pd.Series(dtype="str"),
        }
    )
    return v.ImportResult(tickets=tickets, events=events)


def _events_mode(
    raw: pd.DataFrame,
    frame: pd.DataFrame,
    mapping: ImportMapping,
    source: str,
    tz: str,
    na: tuple[str, ...],
    dflt: dict[str, str],
    allowed: dict[str, list[str]],
) -> v.ImportResult:
    assert mapping.events is not None
    rules = mapping.events
    n = len(frame)
    rows = np.arange(1, n + 1, dtype=np.int64)
    ev = frame.assign(_row=rows)
    checked = v.validate_events(
        ev,
        source,
        source_tz=tz,
        timestamp_format=mapping.timestamp_format,
        na_values=na,
        allowed={k: val for k, val in allowed.items() if k == s.STATUS},
    )
    names = {k: mapping.columns[k] for k in (s.TICKET_ID, s.AT, s.STATUS)}
    source_events = v.ValidationResult(
        checked.accepted,
        v.rename_fields(v.with_source_rows(checked.quarantined, raw), names),
        source=source,
        kind="events (source rows)",
    )
    e = checked.accepted  # sorted by ticket_id, at (source order for ties)
    attrs = [c for c in frame.columns if c not in (s.TICKET_ID, s.AT, s.STATUS)]
    for col in attrs:
        e[col] = v.clean_strings(e[col], na)
    g = e.groupby(s.TICKET_ID, sort=True)
    first = g.head(1).set_index(s.TICKET_ID)
    ids = first.index
    t = pd.DataFrame(index=ids)
    t[s.CREATED_AT] = first[s.AT]
    fr = e.loc[e[s.STATUS].isin(rules.first_response_statuses)]
    t[s.FIRST_RESPONSE_AT] = fr.groupby(s.TICKET_ID)[s.AT].min().reindex(ids)
    res = e.loc[e[s.STATUS].isin(rules.resolved_statuses)]
    t[s.RESOLVED_AT] = res.groupby(s.TICKET_ID)[s.AT].min().reindex(ids)
    t[s.STATUS] = g.tail(1).set_index(s.TICKET_ID)[s.STATUS]
    if attrs:
        if rules.attributes == "opening":
            values = first[attrs]
        elif rules.attributes == "first":
            values = g[attrs].first()
        else:
            values = g[attrs].last()
        for col in attrs:
            t[col] = values[col].reindex(ids)
    if s.PRIORITY not in t.columns:
        t[s.PRIORITY] = np.nan
    t["n_events"] = g.size().reindex(ids).astype("int64")
    t = t.reset_index()
    tickets = v.validate_tickets(
        t,
        source,
        source_tz=tz,
        na_values=na,
        rows=first["_row"].to_numpy(),
        defaults=dflt,
        allowed={k: val for k, val in allowed.items() if k != s.STATUS},
    )
    out = e.loc[
        v.isin(e[s.TICKET_ID], tickets.accepted[s.TICKET_ID]), [s.TICKET_ID, s.AT, s.STATUS]
    ]
    same = (out[s.TICKET_ID] == out[s.TICKET_ID].shift()) & (out[s.STATUS] == out[s.STATUS].shift())
    events = out.loc[~same.to_numpy()].reset_index(drop=True)
    notes = (f"tickets rebuilt from events: {len(ids):,}",)
    return v.ImportResult(tickets=tickets, events=events, source_events=source_events, notes=notes)
