"""Generic importer driven by a YAML mapping (``mappings/*.yaml``): no code per help desk.

Two modes:

* ``tickets``: one source row per ticket; ``columns`` maps canonical names to source columns.
* ``events``: one source row per status change (Jira SM history, a process-mining log);
  tickets are rebuilt: created_at = first event, first_response_at = first event in
  ``events.first_response_statuses`` (or in an activity set, or from a timestamp column),
  resolved_at = first event in ``events.resolved_statuses``, status = last event's status;
  attributes first (default) or last per column; status events are emitted for clock pauses.

Per value: per-column missing markers (``column_na_values``), ``templates`` over several
source columns (``"{Status}/{Sub Status}"``), ``case`` folding, then value maps (``values``)
translating source values (priority, status, segments, extra columns) to canonical ones; a value
missing from a map is quarantined unless the map has a ``"*"`` fallback. Naive timestamps are
read in ``source_timezone`` (default UTC). See docs/data_contract.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from slarisk.data import schema as s
from slarisk.data import validate as v
from slarisk.data.timestamps import clean_strings, parse_timestamps
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


Pick = Literal["opening", "first", "last"]


class FirstResponse(BaseModel):
    """What counts as the first response in an event log: exactly one of

    ``statuses`` (canonical, after value maps), ``activities`` (values of the source column
    ``activity_column``, e.g. an event type) or ``column`` (a source column holding the
    response timestamp; the earliest non-missing value per ticket).
    """

    model_config = ConfigDict(extra="forbid")
    statuses: list[str] | None = Field(default=None, min_length=1)
    activity_column: str | None = None
    activities: list[str] | None = Field(default=None, min_length=1)
    column: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FirstResponse:
        kinds = [k for k in ("statuses", "activities", "column") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of statuses, activities or column")
        if (self.activities is None) != (self.activity_column is None):
            raise ValueError("activities and activity_column go together")
        return self


class EventRules(BaseModel):
    """How tickets are rebuilt from status events (statuses after value mapping)."""

    model_config = ConfigDict(extra="forbid")
    #: shorthand for ``first_response: {statuses: [...]}``.
    first_response_statuses: list[str] | None = Field(default=None, min_length=1)
    first_response: FirstResponse | None = None
    resolved_statuses: list[str] = Field(min_length=1)
    #: attribute value per ticket: ``opening`` = the first event's value (known at opening),
    #: ``first`` = the earliest non-missing value, ``last`` = the latest non-missing value
    #: (known only later: never a risk feature; the import notes list such fields).
    attributes: Pick = "first"
    #: per output column, overriding ``attributes`` (e.g. ``{group: last}``).
    attribute_values: dict[str, Pick] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _first_response(self) -> EventRules:
        if (self.first_response_statuses is None) == (self.first_response is None):
            raise ValueError("give exactly one of first_response_statuses or first_response")
        return self

    def response_rule(self) -> FirstResponse:
        """The first-response rule, whichever way it was written."""
        if self.first_response is not None:
            return self.first_response
        return FirstResponse(statuses=self.first_response_statuses)


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
    #: source column -> extra missing markers of that column only (besides ``na_values``).
    column_na_values: dict[str, list[str]] = Field(default_factory=dict)
    #: canonical column -> source column.
    columns: dict[str, str] = Field(default_factory=dict)
    #: output column -> template over source columns, e.g. ``"{Status}/{Sub Status}"``
    #: (a missing part is empty; all parts missing gives a missing value).
    templates: dict[str, str] = Field(default_factory=dict)
    #: output column -> ``lower`` or ``upper``: applied before the value map, whose keys are
    #: matched in the same case (``se`` and ``SE`` become one region).
    case: dict[str, Literal["lower", "upper"]] = Field(default_factory=dict)
    #: output column -> source column, kept as extra ticket columns.
    extra_columns: dict[str, str] = Field(default_factory=dict)
    #: output column (canonical string column or extra column) -> {source value: value};
    #: key "*" = fallback for the rest.
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
        texts = {*_STRING_COLUMNS, *self.extra_columns}
        for key, template in self.templates.items():
            if key in self.columns or key in self.extra_columns:
                raise ValueError(f"templates.{key}: also mapped in columns; use one of them")
            if key not in _STRING_COLUMNS:
                raise ValueError(f"templates.{key}: templates build {', '.join(_STRING_COLUMNS)}")
            try:
                parts = template_fields(template)
            except ValueError as exc:
                raise ValueError(f"templates.{key}: {exc}") from None
            if not parts:
                raise ValueError(f"templates.{key}: names no source column (use {{Column}})")
        mapped = {**self.columns, **self.templates}
        required = (
            [s.TICKET_ID, s.CREATED_AT] if self.mode == "tickets" else [s.TICKET_ID, s.AT, s.STATUS]
        )
        for key in [*required, s.PRIORITY]:
            if key not in mapped and not (key == s.PRIORITY and key in self.defaults):
                raise ValueError(f"columns.{key}: required (map it to a source column)")
        for key in self.values:
            if key not in texts:
                raise ValueError(
                    f"values.{key}: value maps apply to {', '.join(_STRING_COLUMNS)}"
                    " and extra columns"
                )
        for key in self.case:
            if key not in texts:
                raise ValueError(f"case.{key}: applies to string and extra columns")
        if self.events is not None:
            for key in self.events.attribute_values:
                if key not in texts or key == s.STATUS:
                    raise ValueError(
                        f"events.attribute_values.{key}: applies to priority, segment and"
                        " extra columns"
                    )
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


_FIELD = re.compile(r"\{([^{}]+)\}")


def template_fields(template: str) -> list[str]:
    """Source column names of a ``"{A}/{B}"`` template: any text in braces (``{time:stamp}``
    included); ValueError when a brace is unbalanced."""
    if _FIELD.sub("", template).count("{") or _FIELD.sub("", template).count("}"):
        raise ValueError(f"{template!r}: unbalanced braces (fields are {{Column}})")
    return _FIELD.findall(template)


def _fill_template(raw: pd.DataFrame, template: str, na: tuple[str, ...]) -> pd.Series:
    """The template filled row by row (vectorised); missing when every part is missing."""
    pieces = _FIELD.split(template)  # literal, field, literal, field, ..., literal
    out = pd.Series(pieces[0], index=raw.index, dtype="str")
    any_value = np.zeros(len(raw), dtype=bool)
    for i in range(1, len(pieces), 2):
        part = clean_strings(raw[pieces[i]], na)
        any_value |= part.notna().to_numpy()
        out = out + part.fillna("") + pieces[i + 1]
    return out.where(any_value)


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
        **{
            f"{k} (template)": c
            for k, tpl in mapping.templates.items()
            for c in template_fields(tpl)
        },
        **{f"column_na_values.{c}": c for c in mapping.column_na_values},
    }
    if mapping.events is not None:
        rule = mapping.events.response_rule()
        for col in (rule.activity_column, rule.column):
            if col is not None:
                wanted["first response"] = col
    for target, col in wanted.items():
        if col not in raw.columns:
            raise InputError(
                f"column {col!r} (mapped to {target} by {mapping_name}) is not in the input"
                f" (has: {', '.join(map(str, raw.columns[:20]))})",
                path=source,
                field=col,
            )
    src = raw
    if mapping.column_na_values:
        src = raw.copy()
        for col, markers in mapping.column_na_values.items():
            text = src[col].astype("str").str.strip()
            src[col] = src[col].mask(src[col].notna() & text.isin(markers))
    dflt = {**mapping.defaults, **(defaults or {})}
    frame = pd.DataFrame(
        {k: src[c] for k, c in {**mapping.columns, **mapping.extra_columns}.items()},
        index=src.index,
    )
    for col, template in mapping.templates.items():
        frame[col] = _fill_template(src, template, na)
    for col, fold in mapping.case.items():
        if col in frame.columns:
            text = clean_strings(frame[col], na)
            frame[col] = text.str.lower() if fold == "lower" else text.str.upper()
    allowed: dict[str, list[str]] = {}
    for col, table in mapping.values.items():
        if col not in frame.columns:
            continue
        how = mapping.case.get(col)
        keys = {
            (k.lower() if how == "lower" else k.upper() if how == "upper" else k): val
            for k, val in table.items()
            if k != "*"
        }
        text = clean_strings(frame[col], na)
        mapped = text.map(keys)
        unmapped = text.notna() & mapped.isna()
        if "*" in table:
            mapped = mapped.mask(unmapped, table["*"])
        else:
            mapped = mapped.mask(unmapped, text)  # kept as is: quarantined by `allowed`
            allowed[col] = sorted(set(table.values()))
        frame[col] = mapped
    if mapping.mode == "tickets":
        return _tickets_mode(raw, frame, mapping, source, tz, na, dflt, allowed)
    extra = {}
    if mapping.events is not None:
        rule = mapping.events.response_rule()
        if rule.activity_column is not None:
            extra["_activity"] = clean_strings(src[rule.activity_column], na)
        if rule.column is not None:
            extra["_response"] = src[rule.column]
    return _events_mode(raw, frame.assign(**extra), mapping, source, tz, na, dflt, allowed)


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
        created = parse_timestamps(
            frame[s.CREATED_AT], source_tz=tz, fmt=mapping.timestamp_format, na_values=na
        ).values
        for target, off in mapping.offsets.items():
            text = clean_strings(raw[off.column], na)
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
    names = {
        k: mapping.columns.get(k) or "+".join(template_fields(mapping.templates[k]))
        for k in (s.TICKET_ID, s.AT, s.STATUS)
    }
    source_events = v.ValidationResult(
        checked.accepted,
        v.rename_fields(v.with_source_rows(checked.quarantined, raw), names),
        source=source,
        kind="events (source rows)",
    )
    e = checked.accepted  # sorted by ticket_id, at (source order for ties)
    hidden = ("_activity", "_response")
    attrs = [c for c in frame.columns if c not in (s.TICKET_ID, s.AT, s.STATUS, *hidden)]
    for col in attrs:
        e[col] = clean_strings(e[col], na)
    g = e.groupby(s.TICKET_ID, sort=True)
    first = g.head(1).set_index(s.TICKET_ID)
    ids = first.index
    t = pd.DataFrame(index=ids)
    t[s.CREATED_AT] = first[s.AT]
    rule = rules.response_rule()
    notes: list[str] = [f"tickets rebuilt from events: {len(ids):,}"]
    if rule.column is not None:
        parsed = parse_timestamps(
            e["_response"], source_tz=tz, fmt=mapping.timestamp_format, na_values=na
        )
        bad = int(parsed.unparseable.sum())
        if bad:
            notes.append(f"unparseable {rule.column} values ignored: {bad:,}")
        response = pd.Series(parsed.values.to_numpy(), index=e.index)
        fr_at = response.groupby(e[s.TICKET_ID]).min()
    else:
        if rule.statuses is not None:
            is_response = e[s.STATUS].isin(rule.statuses)
        else:
            is_response = e["_activity"].isin(rule.activities or [])
        fr_at = e.loc[is_response.to_numpy(dtype=bool)].groupby(s.TICKET_ID)[s.AT].min()
    t[s.FIRST_RESPONSE_AT] = fr_at.reindex(ids)
    res = e.loc[e[s.STATUS].isin(rules.resolved_statuses)]
    t[s.RESOLVED_AT] = res.groupby(s.TICKET_ID)[s.AT].min().reindex(ids)
    t[s.STATUS] = g.tail(1).set_index(s.TICKET_ID)[s.STATUS]
    picks = {col: rules.attribute_values.get(col, rules.attributes) for col in attrs}
    for pick in ("opening", "first", "last"):
        cols = [c for c in attrs if picks[c] == pick]
        if not cols:
            continue
        if pick == "opening":
            values = first[cols]
        elif pick == "first":
            values = g[cols].first()
        else:
            values = g[cols].last()
        for col in cols:
            t[col] = values[col].reindex(ids)
    later = [c for c in attrs if picks[c] == "last"]
    if later:
        notes.append(
            f"taken as their last value, known only later (never risk features): {', '.join(later)}"
        )
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
    return v.ImportResult(
        tickets=tickets, events=events, source_events=source_events, notes=tuple(notes)
    )
