"""Canonical data contract: column names, dtypes and defaults (see docs/data_contract.md).

Tickets (one row per ticket), status events (one row per status change) and staffing (interval
form or shift form). Timestamps are timezone-aware and stored in UTC with nanosecond unit:
``datetime64[ns, UTC]`` (``TIMESTAMP_DTYPE``), also under pandas 3 whose default parse unit is
microseconds. Validation lives in :mod:`slarisk.data.validate`.
"""

from __future__ import annotations

from typing import Final

#: dtype of every timestamp column after validation.
TIMESTAMP_DTYPE: Final = "datetime64[ns, UTC]"
#: value of a segment column when the source has none.
UNKNOWN: Final = "unknown"

# --- tickets -------------------------------------------------------------------------------
TICKET_ID: Final = "ticket_id"
CREATED_AT: Final = "created_at"
FIRST_RESPONSE_AT: Final = "first_response_at"
RESOLVED_AT: Final = "resolved_at"
PRIORITY: Final = "priority"
TIER: Final = "tier"
REGION: Final = "region"
SERVICE_TYPE: Final = "service_type"
CHANNEL: Final = "channel"
CUSTOMER: Final = "customer"
CATEGORY: Final = "category"
GROUP: Final = "group"
STATUS: Final = "status"

#: timestamp columns of a ticket; created_at is required, the others nullable (NaT).
TICKET_TIMESTAMP_COLUMNS: Final = (CREATED_AT, FIRST_RESPONSE_AT, RESOLVED_AT)
#: segment columns: strings, filled with UNKNOWN when absent or empty.
SEGMENT_COLUMNS: Final = (TIER, REGION, SERVICE_TYPE, CHANNEL, CUSTOMER, CATEGORY, GROUP)
#: canonical ticket columns, in output order (extra columns follow, kept as they are).
TICKET_COLUMNS: Final = (
    TICKET_ID,
    CREATED_AT,
    FIRST_RESPONSE_AT,
    RESOLVED_AT,
    PRIORITY,
    *SEGMENT_COLUMNS,
    STATUS,
)
#: columns an input must have (the others get defaults).
REQUIRED_TICKET_COLUMNS: Final = (TICKET_ID, CREATED_AT, PRIORITY)
#: status given to a ticket whose source has no status: resolved when resolved_at is set.
DEFAULT_OPEN_STATUS: Final = "open"
DEFAULT_RESOLVED_STATUS: Final = "resolved"

#: known extra columns (optional): the source system's own SLA verdict, effort, touches.
SOURCE_MADE_SLA: Final = "source_made_sla"
HANDLE_SECONDS: Final = "handle_seconds"
TOUCHES: Final = "touches"

# --- status events -------------------------------------------------------------------------
AT: Final = "at"
#: one row per status change; a clock pauses from an event whose status is a pause status
#: of the policy until the next event of the same ticket.
EVENT_COLUMNS: Final = (TICKET_ID, AT, STATUS)

# --- staffing ------------------------------------------------------------------------------
INTERVAL_START: Final = "interval_start"
INTERVAL_MINUTES: Final = "interval_minutes"
TEAM: Final = "team"
AGENTS: Final = "agents"
#: interval form: agents (float, may be fractional) on duty per team and interval.
STAFFING_COLUMNS: Final = (INTERVAL_START, INTERVAL_MINUTES, TEAM, AGENTS)

AGENT_ID: Final = "agent_id"
START: Final = "start"
END: Final = "end"
BREAK_START: Final = "break_start"
BREAK_END: Final = "break_end"
#: shift form: one row per agent shift; the break is nullable.
SHIFT_COLUMNS: Final = (AGENT_ID, TEAM, START, END, BREAK_START, BREAK_END)

# --- quarantine ----------------------------------------------------------------------------
ROW: Final = "row"
FIELD: Final = "field"
REASON: Final = "reason"
#: leading columns of a quarantine frame; the raw input values of the row follow.
#: ``row`` is the 1-based data row of the source (the header is not counted);
#: ``field`` and ``reason`` list every problem of the row, joined with "; ".
QUARANTINE_COLUMNS: Final = (ROW, FIELD, REASON)

#: strings read as missing values (case-sensitive) unless an adapter/mapping says otherwise.
DEFAULT_NA_VALUES: Final = ("", "NA", "N/A", "NaN", "nan", "NaT", "None", "null", "NULL")

__all__ = [
    "AGENTS",
    "AGENT_ID",
    "AT",
    "BREAK_END",
    "BREAK_START",
    "CATEGORY",
    "CHANNEL",
    "CREATED_AT",
    "CUSTOMER",
    "DEFAULT_NA_VALUES",
    "END",
    "EVENT_COLUMNS",
    "FIELD",
    "FIRST_RESPONSE_AT",
    "GROUP",
    "HANDLE_SECONDS",
    "INTERVAL_MINUTES",
    "INTERVAL_START",
    "PRIORITY",
    "QUARANTINE_COLUMNS",
    "REASON",
    "REGION",
    "REQUIRED_TICKET_COLUMNS",
    "RESOLVED_AT",
    "ROW",
    "SEGMENT_COLUMNS",
    "SERVICE_TYPE",
    "SHIFT_COLUMNS",
    "SOURCE_MADE_SLA",
    "STAFFING_COLUMNS",
    "START",
    "STATUS",
    "TEAM",
    "TICKET_COLUMNS",
    "TICKET_ID",
    "TICKET_TIMESTAMP_COLUMNS",
    "TIER",
    "TIMESTAMP_DTYPE",
    "TOUCHES",
    "UNKNOWN",
]
