"""Plausible ranges of numeric ticket and staffing fields: values outside are quarantined.

A value can parse and still be nonsense (``handle_seconds: 1e300``, a ticket resolved 40
years after it opened, 10^12 agents): such rows are quarantined with the limit named in the
reason, e.g. ``handle_seconds over the plausible limit 315,576,000 (10 years in seconds)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from slarisk.data import schema as s

#: ten years, in seconds: the longest plausible duration of anything about one ticket.
TEN_YEARS_SECONDS: Final = 10 * 365.25 * 86400
#: the largest plausible count (touches, reopenings, events of one ticket, ...).
MAX_COUNT: Final = 1e9


@dataclass(frozen=True)
class Limit:
    """Inclusive range [low, high] of a numeric column; ``unit`` words the limit."""

    low: float
    high: float
    unit: str


#: numeric ticket columns (canonical extras and importer counts) and their plausible range.
TICKET_LIMITS: Final = {
    s.HANDLE_SECONDS: Limit(0.0, TEN_YEARS_SECONDS, "10 years in seconds"),
    s.TOUCHES: Limit(0.0, MAX_COUNT, "a count"),
    "reassignment_count": Limit(0.0, MAX_COUNT, "a count"),
    "reopen_count": Limit(0.0, MAX_COUNT, "a count"),
    "update_count": Limit(0.0, MAX_COUNT, "a count"),
    "n_events": Limit(0.0, MAX_COUNT, "a count"),
}
#: staffing columns: agents on duty in one interval, and the interval length (one week).
STAFFING_LIMITS: Final = {
    s.AGENTS: Limit(0.0, 1e6, "agents on duty at once"),
    s.INTERVAL_MINUTES: Limit(0.0, 7 * 24 * 60, "one week in minutes"),
}

Problem = tuple[str, Any, np.ndarray]


def _numeric(values: pd.Series, na: Sequence[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(np.nan, index=values.index)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("str").str.strip().where(values.notna())
    text = text.where(~text.isin(na))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def range_problems(
    frame: pd.DataFrame, limits: dict[str, Limit], na: Sequence[str] = s.DEFAULT_NA_VALUES
) -> list[Problem]:
    """(field, reason, mask) for values of ``limits``' columns outside their range.

    Non-numeric text is left to the column's own checks; infinite values count as over.
    """
    out: list[Problem] = []
    for col, lim in limits.items():
        if col not in frame.columns:
            continue
        num = _numeric(frame[col], na).to_numpy()
        with np.errstate(invalid="ignore"):
            high = ~np.isnan(num) & (num > lim.high)
            low = ~np.isnan(num) & (num < lim.low)
        out.append((col, f"{col} over the plausible limit {lim.high:,.0f} ({lim.unit})", high))
        out.append((col, f"{col} below the plausible minimum {lim.low:,.0f}", low))
    return out


def duration_problems(frame: pd.DataFrame) -> list[Problem]:
    """Response or resolution more than ten years after creation (timestamps already typed)."""
    out: list[Problem] = []
    created = frame[s.CREATED_AT]
    limit = pd.Timedelta(seconds=TEN_YEARS_SECONDS)
    for col in (s.FIRST_RESPONSE_AT, s.RESOLVED_AT):
        late = ((frame[col] - created) > limit).fillna(False).to_numpy(dtype=bool)
        out.append((col, f"{col} more than 10 years after created_at (plausible limit)", late))
    return out


__all__ = [
    "MAX_COUNT",
    "STAFFING_LIMITS",
    "TEN_YEARS_SECONDS",
    "TICKET_LIMITS",
    "Limit",
    "duration_problems",
    "range_problems",
]
