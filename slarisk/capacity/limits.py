"""Plausible ranges of the staffing-requirement inputs (Erlang and backlog methods).

A value outside its range is a mistake in the inputs (an AHT of 1e300 seconds, a volume of a
billion contacts in half an hour), not a plan: :func:`check_range` refuses it with one line
naming the input and the range, before any search starts (the searches step through agent
counts, so an absurd load would run for minutes). Documented in docs/cli.md
("slarisk capacity requirements"); the HTTP API's schema uses the same bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Range:
    """``low``..``high`` in ``unit``; each end included or not."""

    low: float
    high: float
    unit: str = ""
    low_included: bool = True
    high_included: bool = True

    def text(self) -> str:
        """'(0, 86400] seconds'."""
        left = "[" if self.low_included else "("
        right = "]" if self.high_included else ")"
        unit = f" {self.unit}" if self.unit else ""
        return f"{left}{self.low:g}, {self.high:g}{right}{unit}"

    def contains(self, values: ArrayLike) -> np.ndarray:
        """Element-wise: inside the range (NaN and infinities are not)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            lo = v >= self.low if self.low_included else v > self.low
            hi = v <= self.high if self.high_included else v < self.high
        return np.asarray(np.isfinite(v) & lo & hi)


#: longest handle time, patience, answer threshold or ASA target: one day, in seconds.
MAX_SECONDS = 86_400.0
#: contacts of one queue in one interval.
MAX_VOLUME = 1_000_000.0
#: offered load of one queue in one interval (volume x AHT / interval), Erlangs.
MAX_LOAD = 100_000.0

REQUIREMENT_LIMITS: dict[str, Range] = {
    "aht": Range(0.0, MAX_SECONDS, "seconds", low_included=False),
    "volume": Range(0.0, MAX_VOLUME, "contacts per interval"),
    "interval_seconds": Range(60.0, 86_400.0, "seconds"),
    "target_sl": Range(0.0, 1.0, low_included=False, high_included=False),
    "within": Range(0.0, MAX_SECONDS, "seconds"),
    "target_asa": Range(0.0, MAX_SECONDS, "seconds", low_included=False),
    "max_abandon": Range(0.0, 1.0, low_included=False, high_included=False),
    "patience": Range(0.0, MAX_SECONDS, "seconds", low_included=False),
    "shrinkage": Range(0.0, 1.0, high_included=False),
    "max_occupancy": Range(0.0, 1.0, low_included=False),
    "target_hours": Range(0.0, 8760.0, "hours", low_included=False),
    "load": Range(0.0, MAX_LOAD, "Erlangs"),
}


def check_range(name: str, value: ArrayLike | None, *, label: str | None = None) -> None:
    """ValueError '<label>: <value> is outside the plausible range <range>' unless every
    element of ``value`` is in ``REQUIREMENT_LIMITS[name]`` (None passes: not given)."""
    if value is None:
        return
    rng = REQUIREMENT_LIMITS[name]
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    ok = rng.contains(arr)
    if not ok.all():
        bad = float(arr[np.flatnonzero(~ok)[0]])
        raise ValueError(f"{label or name}: {bad:g} is outside the plausible range {rng.text()}")
