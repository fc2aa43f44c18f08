"""The data contract: canonical tickets, events and staffing; readers, importers, validation.

Public names are re-exported here; the modules hold the details (:mod:`slarisk.data.schema`
has the canonical column names).
"""

from slarisk.data.calllog import CallLog, find_call_files, load_call_log, restrict_months
from slarisk.data.io import (
    load_events,
    load_shifts,
    load_staffing,
    load_tickets,
    quarantine_path_for,
    read_table,
    table_format,
    write_table,
)
from slarisk.data.mapping import ImportMapping, import_with_mapping, load_mapping
from slarisk.data.plausible import STAFFING_LIMITS, TICKET_LIMITS
from slarisk.data.servicenow import import_servicenow
from slarisk.data.staffing import load_shift_intervals, shifts_to_intervals
from slarisk.data.validate import (
    ImportResult,
    ValidationResult,
    validate_events,
    validate_shifts,
    validate_staffing,
    validate_tickets,
)
from slarisk.data.volumes import interval_volumes

__all__ = [
    "STAFFING_LIMITS",
    "TICKET_LIMITS",
    "CallLog",
    "ImportMapping",
    "ImportResult",
    "ValidationResult",
    "find_call_files",
    "import_servicenow",
    "import_with_mapping",
    "interval_volumes",
    "load_call_log",
    "load_events",
    "load_mapping",
    "load_shift_intervals",
    "load_shifts",
    "load_staffing",
    "load_tickets",
    "quarantine_path_for",
    "read_table",
    "restrict_months",
    "shifts_to_intervals",
    "table_format",
    "validate_events",
    "validate_shifts",
    "validate_staffing",
    "validate_tickets",
    "write_table",
]
