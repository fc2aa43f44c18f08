"""A ticket's life outside the agent queue, in the scenario format (``lifecycle:`` of a class)
and its sampling.

In a real desk most of a ticket's time is not spent queueing for an agent: it waits to be
picked up, a team holds it while it works on it, it is handed to another group, it waits on
the caller or a vendor, it is reopened. A class's ``lifecycle`` describes these phases; every
phase but an agent touch is a timed wait with a status (the SLA clock pauses during it when
the policy lists that status, as for any status event). The ticket's path:

1. ``pickup`` (status ``new``): time before it joins the agent queue; its first touch starts
   the first response;
2. then, in random order, one stint per team that holds it after the first touch (``work``:
   status ``in_progress``; the first team's with probability ``first_stint`` -- a ticket
   without one is resolved by its first touch when nothing else follows -- and one per
   hand-off, ``handoffs`` per ticket) and the ``outside_waits`` (per status: spells per ticket
   and their duration); each of them is followed by an agent touch (at the receiving team's
   queue);
3. ``reopens`` per ticket, each ``reopen_delay`` after the last resolution (status
   ``resolved``, the clock runs) and followed by a touch.

Durations count open time of the policy calendar ``calendar`` (e.g. ``business``: a wait of 2
hours begun on Friday 16:00 ends on Monday 10:00 on a 9-to-5 calendar); without it, wall-clock
time. Counts are frequencies (``{0: 0.9, 1: 0.1}``: 10% of tickets have one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator, model_validator

from slarisk.capacity.distributions import Duration, SpecModel, sample_duration

#: spells of one kind per ticket (hand-offs, waits of one status, reopens).
MAX_LIFECYCLE_COUNT = 100
#: statuses of the phases the lifecycle itself names.
PICKUP_STATUS, WORK_STATUS, REOPEN_STATUS = "new", "in_progress", "resolved"

Frequencies = dict[
    Annotated[int, Field(ge=0, le=MAX_LIFECYCLE_COUNT)], Annotated[float, Field(ge=0, le=1e6)]
]


def _check_frequencies(v: dict[int, float]) -> dict[int, float]:
    if not v or sum(v.values()) <= 0:
        raise ValueError("needs at least one count with a frequency > 0")
    return v


class OutsideWait(SpecModel):
    """Spells in ``status`` outside the desk (awaiting the caller, a vendor, a problem):
    ``counts`` (spells per ticket -> frequency) and the ``duration`` of each spell."""

    status: str = Field(min_length=1)
    counts: Frequencies
    duration: Duration

    _freq = field_validator("counts")(_check_frequencies)


class Lifecycle(SpecModel):
    """A class's phases outside the agent queue (see the module docstring)."""

    calendar: str | None = None
    pickup: Duration | None = None
    work: Duration | None = None
    first_stint: float = Field(1.0, ge=0, le=1)
    handoffs: Frequencies = Field(default_factory=lambda: {0: 1.0})
    outside_waits: list[OutsideWait] = Field(default_factory=list)
    reopens: Frequencies = Field(default_factory=lambda: {0: 1.0})
    reopen_delay: Duration | None = None

    _freq = field_validator("handoffs", "reopens")(_check_frequencies)

    @model_validator(mode="after")
    def _consistent(self) -> Lifecycle:
        statuses = [w.status for w in self.outside_waits]
        if len(set(statuses)) != len(statuses):
            raise ValueError("outside_waits: one entry per status")
        if max(k for k, p in self.reopens.items() if p > 0) > 0 and self.reopen_delay is None:
            raise ValueError("reopens > 0 need reopen_delay")
        return self

    def max_touches(self) -> int:
        """Most agent touches a ticket can have."""
        stints = max(self.handoffs) + (1 if self.work is not None and self.first_stint else 0)
        return 1 + stints + sum(max(w.counts) for w in self.outside_waits) + max(self.reopens)

    def mean_touches(self) -> float:
        """Expected agent touches per ticket."""
        stints = _mean(self.handoffs) + (self.first_stint if self.work is not None else 0.0)
        waits = sum(_mean(w.counts) for w in self.outside_waits)
        return 1.0 + stints + waits + _mean(self.reopens)


def _mean(freq: dict[int, float]) -> float:
    tot = sum(freq.values())
    return sum(k * p for k, p in freq.items()) / tot


def _counts(freq: dict[int, float], rng: np.random.Generator, n: int) -> np.ndarray:
    keys = np.array(sorted(freq), dtype=np.int64)
    p = np.array([freq[int(k)] for k in keys], dtype=float)
    return rng.choice(keys, size=n, p=p / p.sum()).astype(np.int64)


@dataclass(frozen=True)
class LifecyclePlan:
    """Sampled lifecycles of ``n`` tickets (durations in seconds of the lifecycle's clock).

    ``gaps``/``gap_status`` hold each ticket's waits between consecutive touches, tickets
    one after another (``touches - 1`` per ticket).
    """

    pickup: np.ndarray
    touches: np.ndarray
    gaps: np.ndarray
    gap_status: np.ndarray  # object (str)
    handoffs: np.ndarray
    reopens: np.ndarray


def sample_lifecycle(lc: Lifecycle, rng: np.random.Generator, n: int) -> LifecyclePlan:
    """Sample ``n`` tickets' lifecycles (vectorised; one generator for every draw)."""
    pickup = sample_duration(lc.pickup, rng, n) if lc.pickup is not None else np.zeros(n)
    hand = _counts(lc.handoffs, rng, n)
    first = rng.uniform(size=n) < (lc.first_stint if lc.work is not None else 0.0)
    stints = hand + first.astype(np.int64)
    reopen = _counts(lc.reopens, rng, n)
    owner: list[np.ndarray] = []  # ticket of each gap
    dur: list[np.ndarray] = []
    status: list[np.ndarray] = []
    key: list[np.ndarray] = []  # order within a ticket: random, reopens last
    total = stints.copy()

    def add(counts: np.ndarray, d: Duration | None, name: str, last: bool) -> None:
        m = int(counts.sum())
        owner.append(np.repeat(np.arange(n), counts))
        dur.append(sample_duration(d, rng, m) if d is not None and m else np.zeros(m))
        status.append(np.full(m, name, dtype=object))
        key.append(rng.uniform(size=m) + (1.0 if last else 0.0))

    add(stints, lc.work, WORK_STATUS, False)
    for w in lc.outside_waits:
        c = _counts(w.counts, rng, n)
        total += c
        add(c, w.duration, w.status, False)
    total += reopen
    add(reopen, lc.reopen_delay, REOPEN_STATUS, True)
    own = np.concatenate(owner)
    order = np.lexsort((np.concatenate(key), own))
    return LifecyclePlan(
        pickup=np.asarray(pickup, dtype=float),
        touches=1 + total,
        gaps=np.concatenate(dur)[order],
        gap_status=np.concatenate(status)[order],
        handoffs=hand,
        reopens=reopen,
    )
