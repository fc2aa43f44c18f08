"""Shift scheduling: least-cost shift plans, named rosters under labour rules, verified by
simulation (see docs in the module docstrings of catalogue, plan, roster, rules, verify)."""

from slarisk.schedule.catalogue import (
    Catalogue,
    ShiftTemplate,
    catalogue_from_dict,
    expand_templates,
    load_catalogue,
)
from slarisk.schedule.demand import Requirement, requirement_from_frame
from slarisk.schedule.plan import Plan, PlannedShift, coverage, solve_plan

__all__ = [
    "Catalogue",
    "Plan",
    "PlannedShift",
    "Requirement",
    "ShiftTemplate",
    "catalogue_from_dict",
    "coverage",
    "expand_templates",
    "load_catalogue",
    "requirement_from_frame",
    "solve_plan",
]
