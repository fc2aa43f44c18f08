"""SLA policies, business-hours calendars, clocks and the compliance report.

Public names are re-exported here; the modules hold the details.
"""

from slarisk.sla.calendar import BusinessCalendar, OpenIntervals
from slarisk.sla.clock import CLOCK_COLUMNS, compute_clocks
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

__all__ = [
    "CLOCK_COLUMNS",
    "METRICS",
    "SEGMENTS",
    "BusinessCalendar",
    "ComplianceReport",
    "OpenIntervals",
    "Policy",
    "Target",
    "alert_counts",
    "build_report",
    "compute_clocks",
    "load_policy",
    "parse_segments",
    "policy_from_dict",
    "render_html",
    "status_table",
    "wilson_interval",
    "write_report",
]
