"""ServiceNow incident event log (one row per update of an incident) -> canonical tickets.

Shaped on the UCI "Incident management process enriched event log" export (36 columns,
timestamps ``d/m/Y H:M`` day first, ``?`` = missing). Everything is vectorised with pandas
(sort + groupby); see docs/data_contract.md for the column-by-column derivation and which
columns are known at opening (safe as risk features) and which only later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.data import validate as v
from slarisk.data.timestamps import clean_strings, parse_timestamps
from slarisk.errors import InputError

TIMESTAMP_FORMAT: Final = "%d/%m/%Y %H:%M"
NA_VALUES: Final = ("?", *s.DEFAULT_NA_VALUES)
PRIORITY_MAP: Final = {
    "1 - Critical": "P1",
    "2 - High": "P2",
    "3 - Moderate": "P3",
    "4 - Low": "P4",
}
#: incident states of ServiceNow; other values (e.g. "-100" in the UCI log) are quarantined.
STATES: Final = (
    "New",
    "In Progress",
    "Active",
    "On Hold",
    "Awaiting User Info",
    "Awaiting Evidence",
    "Awaiting Problem",
    "Awaiting Vendor",
    "Awaiting Change",
    "Resolved",
    "Closed",
    "Canceled",
)
#: states during which a ServiceNow SLA is usually paused (source names).
PAUSE_STATES: Final = (
    "On Hold",
    "Awaiting User Info",
    "Awaiting Evidence",
    "Awaiting Problem",
    "Awaiting Vendor",
    "Awaiting Change",
)
#: source state -> canonical status (the names the example policies use): waiting on the
#: caller is ``awaiting_customer``, waiting on a vendor, problem or change is ``on_hold``, so
#: the default policy's ``pause_statuses`` apply without editing.
STATE_MAP: Final = {
    "New": "new",
    "In Progress": "in_progress",
    "Active": "in_progress",
    "On Hold": "on_hold",
    "Awaiting User Info": "awaiting_customer",
    "Awaiting Evidence": "awaiting_customer",
    "Awaiting Problem": "on_hold",
    "Awaiting Vendor": "on_hold",
    "Awaiting Change": "on_hold",
    "Resolved": "resolved",
    "Closed": "closed",
    "Canceled": "canceled",
}
#: canonical statuses of PAUSE_STATES (what a policy lists as pause_statuses).
PAUSE_STATUSES: Final = ("awaiting_customer", "on_hold")
#: terminal source states: an incident in one of them with no resolved_at resolves at closed_at.
CLOSED_STATES: Final = ("Closed", "Canceled")
#: the state whose first occurrence is the first-response proxy.
FIRST_RESPONSE_STATE: Final = "Active"
REQUIRED_COLUMNS: Final = (
    "number",
    "incident_state",
    "sys_mod_count",
    "sys_updated_at",
    "opened_at",
    "priority",
)

#: extra ticket columns taken from the first logged event: known when the ticket opens.
KNOWN_AT_OPEN: Final = {
    "impact": "impact",
    "urgency": "urgency",
    "subcategory": "subcategory",
    "symptom": "u_symptom",
    "location": "location",
    "caller": "caller_id",
    "opened_by": "opened_by",
    "cmdb_ci": "cmdb_ci",
}
#: extra ticket columns from the last event: only known later; never use as risk features.
KNOWN_LATER: Final = {
    "priority_final": "priority",
    "group_final": "assignment_group",
    "category_final": "category",
    "assigned_to": "assigned_to",
    "reassignment_count": "reassignment_count",
    "reopen_count": "reopen_count",
    "update_count": "sys_mod_count",
    "knowledge": "knowledge",
    "priority_confirmation": "u_priority_confirmation",
    "problem_id": "problem_id",
    "rfc": "rfc",
    "vendor": "vendor",
    "caused_by": "caused_by",
    "closed_code": "closed_code",
    "resolved_by": "resolved_by",
    "closed_at": "closed_at",
}
#: derived columns only known later (besides KNOWN_LATER).
DERIVED_LATER: Final = (
    "n_events",
    s.SOURCE_MADE_SLA,
    s.STATUS,
    "source_status",
    s.RESOLVED_AT,
    "resolved_from_closed",
    s.FIRST_RESPONSE_AT,
)
_COUNTS = ("reassignment_count", "reopen_count", "update_count")


def import_servicenow(
    raw: pd.DataFrame,
    source: str,
    *,
    source_tz: str = "UTC",
    defaults: dict[str, str] | None = None,
    map_states: bool = True,
) -> v.ImportResult:
    """Build tickets and status events from a ServiceNow incident event log.

    ``raw`` is the export read as text (``read_table``). Naive timestamps are read in
    ``source_tz``. ``defaults`` sets segment columns the export lacks (tier, region;
    service_type defaults to "incident"). Rows are quarantined at the event level (missing
    number, bad ``sys_updated_at``, unknown state) and the ticket level (contract checks).
    A closed incident without ``resolved_at`` resolves at its ``closed_at`` (flagged in
    ``resolved_from_closed``). With ``map_states`` (default) statuses are canonical
    (``STATE_MAP``); the source state stays in ``source_status``.
    """
    v.check_timezone(source_tz, source=source)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"not a ServiceNow incident event log: lacks column(s) {', '.join(missing)}",
            path=source,
            field=missing[0],
        )
    n = len(raw)
    rows = np.arange(1, n + 1, dtype=np.int64)

    # -- event level: validate (ticket_id, at, status); the raw rows stay in `raw`
    ev = pd.DataFrame(
        {
            s.TICKET_ID: raw["number"],
            s.AT: raw["sys_updated_at"],
            s.STATUS: raw["incident_state"],
            "_mod": pd.to_numeric(raw["sys_mod_count"], errors="coerce"),
            "_hash": pd.util.hash_pandas_object(raw, index=False),  # exact repeats of rows
            "_row": rows,
        }
    )
    checked = v.validate_events(
        ev,
        source,
        source_tz=source_tz,
        timestamp_format=TIMESTAMP_FORMAT,
        na_values=NA_VALUES,
        allowed={s.STATUS: STATES},
        carry=("_row",),
    )
    names = {s.TICKET_ID: "number", s.AT: "sys_updated_at", s.STATUS: "incident_state"}
    q = v.rename_fields(v.with_source_rows(checked.quarantined, raw), names)
    source_events = v.ValidationResult(
        checked.accepted, q, source=source, kind="events (source rows)"
    )

    # -- ticket level: order each incident's events by (sys_mod_count, time, row)
    e = checked.accepted.sort_values([s.TICKET_ID, "_mod", s.AT, "_row"], kind="stable")
    g = e.groupby(s.TICKET_ID, sort=True)
    first_ev = g.head(1).set_index(s.TICKET_ID)
    last_ev = g.tail(1).set_index(s.TICKET_ID)
    ids = first_ev.index
    first = raw.iloc[first_ev["_row"].to_numpy() - 1].set_axis(ids)
    last = raw.iloc[last_ev["_row"].to_numpy() - 1].set_axis(ids)

    def first_text(col: str) -> pd.Series:
        return clean_strings(first[col], NA_VALUES) if col in first.columns else _nan(ids)

    def last_text(col: str) -> pd.Series:
        return clean_strings(last[col], NA_VALUES) if col in last.columns else _nan(ids)

    defaults = {"service_type": "incident", **(defaults or {})}
    active = e.loc[e[s.STATUS] == FIRST_RESPONSE_STATE]
    t = pd.DataFrame(index=ids)
    t[s.CREATED_AT] = first["opened_at"]
    first_active = active.groupby(s.TICKET_ID)[s.AT].min().reindex(ids)
    opened = parse_timestamps(
        first["opened_at"], source_tz=source_tz, fmt=TIMESTAMP_FORMAT, na_values=NA_VALUES
    ).values
    # The log sometimes records the move to "Active" minutes before the (edited) opened_at:
    # the response then happened at opening, so the proxy is clamped to opened_at and counted.
    early = (first_active < opened).fillna(False).to_numpy(dtype=bool)
    t[s.FIRST_RESPONSE_AT] = first_active.where(~early, opened)
    resolved = last_text("resolved_at")
    closed_text = last_text("closed_at")
    from_closed = (
        resolved.isna() & closed_text.notna() & last_ev[s.STATUS].isin(CLOSED_STATES)
    ).to_numpy(dtype=bool)
    t[s.RESOLVED_AT] = resolved.mask(from_closed, closed_text)
    t["resolved_from_closed"] = from_closed
    t[s.PRIORITY] = first_text("priority").replace(PRIORITY_MAP)
    for col in s.SEGMENT_COLUMNS:
        t[col] = defaults.get(col, np.nan)
    t[s.CHANNEL] = first_text("contact_type")
    t[s.CUSTOMER] = first_text("location")
    t[s.CATEGORY] = first_text("category")
    t[s.GROUP] = first_text("assignment_group")
    t["source_status"] = last_ev[s.STATUS]
    t[s.STATUS] = last_ev[s.STATUS].map(STATE_MAP) if map_states else last_ev[s.STATUS]
    made = (
        raw["made_sla"].str.strip().str.lower().ne("false").groupby(raw["number"]).all()
        if "made_sla" in raw.columns
        else pd.Series(np.nan, index=ids)
    )
    t[s.SOURCE_MADE_SLA] = made.reindex(ids)
    for name, col in KNOWN_AT_OPEN.items():
        t[name] = first_text(col)
    for name, col in KNOWN_LATER.items():
        t[name] = last_text(col)
    t["priority_final"] = t["priority_final"].replace(PRIORITY_MAP)
    for name in _COUNTS:
        t[name] = pd.to_numeric(t[name], errors="coerce").astype("Int64")
    t["closed_at"] = parse_timestamps(
        t["closed_at"], source_tz=source_tz, fmt=TIMESTAMP_FORMAT, na_values=NA_VALUES
    ).values
    t["n_events"] = g.size().reindex(ids).astype("int64")
    t = t.reset_index()
    ticket_rows = first_ev["_row"].to_numpy()
    tickets = v.validate_tickets(
        t,
        source,
        source_tz=source_tz,
        timestamp_format=TIMESTAMP_FORMAT,
        na_values=NA_VALUES,
        rows=ticket_rows,
        defaults=defaults,
        allowed={s.PRIORITY: sorted(set(PRIORITY_MAP.values()))},
    )

    # -- status events of the accepted tickets: one row per change of state
    out = e.loc[
        v.isin(e[s.TICKET_ID], tickets.accepted[s.TICKET_ID]), [s.TICKET_ID, s.AT, s.STATUS]
    ]
    out = out.sort_values([s.TICKET_ID, s.AT], kind="stable", ignore_index=True)
    same = (out[s.TICKET_ID] == out[s.TICKET_ID].shift()) & (out[s.STATUS] == out[s.STATUS].shift())
    events = out.loc[~same.to_numpy()].reset_index(drop=True)
    if map_states:
        mapped = events[s.STATUS].map(STATE_MAP)
        keep = (mapped != mapped.shift()) | (events[s.TICKET_ID] != events[s.TICKET_ID].shift())
        events = events.assign(status=mapped).loc[keep.to_numpy()].reset_index(drop=True)
    pause = PAUSE_STATUSES if map_states else PAUSE_STATES
    n_paused = paused_tickets(events, pause)
    acc = tickets.accepted
    n_from_closed = int(acc["resolved_from_closed"].sum())
    no_active = int(tickets.accepted[s.FIRST_RESPONSE_AT].isna().sum())
    notes = (
        f"incidents in the log: {clean_strings(raw['number'], NA_VALUES).nunique():,}",
        f"tickets without an '{FIRST_RESPONSE_STATE}' event (first_response_at NaT): {no_active:,}",
        f"tickets whose '{FIRST_RESPONSE_STATE}' event precedes opened_at "
        f"(first response clamped to opening): {int(early.sum()):,}",
        f"tickets with source made_sla false: "
        f"{int((~acc[s.SOURCE_MADE_SLA].astype(bool)).sum()):,}",
        f"closed tickets without resolved_at (resolved at closed_at): {n_from_closed:,}",
        f"tickets with paused time (in {'/'.join(pause)} before a later event): {n_paused:,}"
        + (" (canonical statuses; a policy pausing on these applies)" if map_states else ""),
    )
    return v.ImportResult(tickets=tickets, events=events, source_events=source_events, notes=notes)


def paused_tickets(events: pd.DataFrame, pause_statuses: Sequence[str]) -> int:
    """Tickets that spend time > 0 in a pause status before a later event of theirs."""
    if events.empty:
        return 0
    ids = events[s.TICKET_ID]
    same_next = (ids.shift(-1) == ids).to_numpy(dtype=bool)
    longer = (events[s.AT].shift(-1) > events[s.AT]).to_numpy(dtype=bool)
    paused = events[s.STATUS].isin(pause_statuses).to_numpy(dtype=bool) & same_next & longer
    return int(ids[paused].nunique())


def _nan(index: pd.Index) -> pd.Series:
    return pd.Series(np.nan, index=index, dtype="object")
