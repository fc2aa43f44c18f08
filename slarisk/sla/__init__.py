"""SLA policies, business-hours calendars, clocks and the compliance report.

Public names are re-exported here; the modules hold the details.
"""

from slarisk.sla.calendar import BusinessCalendar, OpenIntervals
from slarisk.sla.clock import (
    CLOCK_COLUMNS,
    calendar_tables,
    clocks_at,
    compute_clocks,
    pause_intervals,
    status_pauses,
    target_tables,
)
from slarisk.sla.policy import METRICS, Policy, Target, load_policy, policy_from_dict
from slarisk.sla.report import (
    SEGMENTS,
    ComplianceReport,
    alert_counts,
    build_report,
    parse_segments,
    status_table,
    wilson_interval,
)
from slarisk.sla.report_html import render_html, write_report
from slarisk.sla.source_agreement import (
    DISAGREEMENT_CATEGORIES,
    agreement_by_priority,
    agreement_table,
    compare_with_source,
    largest_disagreements,
)

__all__ = [
    "CLOCK_COLUMNS",
    "DISAGREEMENT_CATEGORIES",
    "METRICS",
    "SEGMENTS",
    "BusinessCalendar",
    "ComplianceReport",
    "OpenIntervals",
    "Policy",
    "Target",
    "agreement_by_priority",
    "agreement_table",
    "alert_counts",
    "build_report",
    "calendar_tables",
    "clocks_at",
    "compare_with_source",
    "compute_clocks",
    "largest_disagreements",
    "load_policy",
    "parse_segments",
    "pause_intervals",
    "policy_from_dict",
    "render_html",
    "status_pauses",
    "status_table",
    "target_tables",
    "wilson_interval",
    "write_report",
]
