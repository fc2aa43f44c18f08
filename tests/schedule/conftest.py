"""Small shift catalogues and agents for the schedule tests (hourly grid, fast to solve)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from slarisk.schedule.catalogue import Catalogue, catalogue_from_dict
from slarisk.schedule.demand import Requirement


def small_catalogue(teams: tuple[str, ...] = ("desk",)) -> Catalogue:
    """Hourly grid; a day shift with a lunch window, a late shift, a night shift, part-time."""
    data: dict[str, Any] = {
        "interval_minutes": 60,
        "shortage_cost_per_hour": 100,
        "shift_types": [
            {
                "name": "day",
                "teams": list(teams),
                "length_hours": 8,
                "earliest_start": "06:00",
                "latest_start": "10:00",
                "start_step_minutes": 120,
                "cost_per_hour": 20,
                "breaks": [
                    {"name": "lunch", "minutes": 60, "paid": False, "window": ["03:00", "05:00"]}
                ],
            },
            {
                "name": "late",
                "teams": list(teams),
                "length_hours": 8,
                "earliest_start": "14:00",
                "latest_start": "14:00",
                "cost_per_hour": 22,
                "breaks": [
                    {"name": "meal", "minutes": 60, "paid": False, "window": ["03:00", "04:00"]}
                ],
            },
            {
                "name": "night",
                "teams": list(teams),
                "length_hours": 8,
                "earliest_start": "22:00",
                "latest_start": "22:00",
                "cost_per_hour": 26,
            },
            {
                "name": "part",
                "teams": list(teams),
                "part_time": True,
                "length_hours": 4,
                "earliest_start": "08:00",
                "latest_start": "16:00",
                "start_step_minutes": 240,
                "cost_per_hour": 21,
            },
        ],
    }
    return catalogue_from_dict(data)


def day_profile(peak: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """A week (168 hourly values) of a daytime requirement peaking at `peak` agents."""
    h = np.arange(24)
    day = np.where((h >= 7) & (h < 20), peak, 0.0)
    day[(h >= 12) & (h < 15)] += 1
    day[(h >= 22) | (h < 6)] = 1
    week = np.concatenate([day * f for f in (1, 1, 1, 1, 1, 0.5, 0.5)])
    if rng is not None:
        week = np.maximum(week + rng.integers(-1, 2, size=week.size), 0)
    return np.round(week)


@pytest.fixture
def catalogue() -> Catalogue:
    return small_catalogue()


@pytest.fixture
def requirement() -> Requirement:
    return Requirement(("desk",), day_profile(3)[None, :], 60)
