"""Shift scheduling: least-cost shift plans, named rosters under labour rules, verified by
simulation (see docs in the module docstrings of catalogue, plan, roster, rules, verify)."""

from slarisk.schedule.catalogue import (
    Catalogue,
    ServiceTarget,
    ShiftTemplate,
    catalogue_from_dict,
    expand_templates,
    load_catalogue,
)
from slarisk.schedule.demand import Requirement, requirement_from_frame, requirement_from_volumes
from slarisk.schedule.plan import Plan, PlannedShift, coverage, solve_plan
from slarisk.schedule.report import rounds_frame, schedule_page
from slarisk.schedule.roster import Roster, solve_roster
from slarisk.schedule.rules import (
    AgentsFile,
    AgentSpec,
    Assignment,
    LabourRules,
    Violation,
    agents_from_dict,
    check_roster,
    load_agents,
)
from slarisk.schedule.verify import Check, Verification, verify_and_repair

__all__ = [
    "AgentSpec",
    "AgentsFile",
    "Assignment",
    "Catalogue",
    "Check",
    "LabourRules",
    "Plan",
    "PlannedShift",
    "Requirement",
    "Roster",
    "ServiceTarget",
    "ShiftTemplate",
    "Verification",
    "Violation",
    "agents_from_dict",
    "catalogue_from_dict",
    "check_roster",
    "coverage",
    "expand_templates",
    "load_agents",
    "load_catalogue",
    "requirement_from_frame",
    "requirement_from_volumes",
    "rounds_frame",
    "schedule_page",
    "solve_plan",
    "solve_roster",
    "verify_and_repair",
]
