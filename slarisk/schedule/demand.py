"""Requirement tables -> agents needed per team and interval of the week.

The input is what ``slarisk capacity requirements`` writes: ``interval_start``, ``queue`` (or
``team``) and ``agents``; or a volume table turned into one by the catalogue's
``service_targets`` (:func:`requirement_from_volumes`). Queues are pooled into scheduled
teams by the catalogue's ``teams`` mapping (agents add up: a conservative pooling) and placed
on the catalogue's interval grid by their local time of the week (``timezone``, Monday 00:00
first). A coarser table is repeated into the finer grid; a finer one takes the maximum within
each grid interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slarisk.capacity.erlang import requirements_frame
from slarisk.errors import InputError
from slarisk.schedule.catalogue import Catalogue


@dataclass(frozen=True)
class Requirement:
    """Agents needed per (team, interval of the week) on the catalogue grid."""

    teams: tuple[str, ...]
    agents: np.ndarray  # shape (len(teams), intervals per week), float
    interval_minutes: int

    def of(self, team: str) -> np.ndarray:
        return self.agents[self.teams.index(team)]

    @property
    def slots(self) -> int:
        return int(self.agents.shape[1])


def requirement_from_frame(df: pd.DataFrame, cat: Catalogue) -> Requirement:
    """Pool a requirement table into the catalogue's teams and week grid."""
    key = "queue" if "queue" in df.columns else "team" if "team" in df.columns else None
    for col in ("interval_start", "agents"):
        if col not in df.columns:
            raise InputError(f"requirement table has no {col!r} column", field=col)
    step = cat.interval_minutes
    slots = 7 * 1440 // step
    ts = pd.to_datetime(df["interval_start"], utc=True).dt.tz_convert(cat.timezone)
    minute = (ts.dt.day_of_week * 1440 + ts.dt.hour * 60 + ts.dt.minute).to_numpy()
    queues: list[str] = df[key].astype(str).tolist() if key else ["agents"] * len(df)
    qarr = np.asarray(queues, dtype=object)
    agents = pd.to_numeric(df["agents"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(agents).any() or (agents < 0).any():
        raise InputError("agents must be numbers >= 0", field="agents")
    # length of each source interval (minutes), per queue: the smallest step seen
    teams = sorted({cat.team_of_queue(q) for q in queues})
    out = np.zeros((len(teams), slots))
    for q in sorted(set(queues)):
        sel = qarr == q
        m = np.sort(np.unique(minute[sel]))
        src = int(np.min(np.diff(m))) if m.size > 1 else step
        per_q = np.zeros(slots)
        for start, a in zip(minute[sel], agents[sel], strict=True):
            first = int(start) // step
            n = max(1, src // step)
            idx = (first + np.arange(n)) % slots
            per_q[idx] = np.maximum(per_q[idx], a)
        out[teams.index(cat.team_of_queue(q))] += per_q
    return Requirement(tuple(teams), out, step)


def requirement_from_volumes(
    volumes: pd.DataFrame, cat: Catalogue, *, interval_seconds: float
) -> Requirement:
    """Agents per interval from a volume table (interval_start, queue, volume, aht seconds)
    with the catalogue's service targets per queue, pooled onto the catalogue's grid."""
    if not cat.service_targets:
        raise InputError("the catalogue has no service_targets", field="service_targets")
    for col in ("interval_start", "queue", "volume"):
        if col not in volumes.columns:
            raise InputError(f"volume table has no {col!r} column", field=col)
    frames = []
    for t in cat.service_targets:
        sub = volumes.loc[volumes["queue"].astype(str).isin(t.queues)]
        if sub.empty:
            raise InputError(f"no volumes for queues {t.queues}", field="service_targets")
        try:
            frames.append(
                requirements_frame(
                    sub,
                    interval_seconds=interval_seconds,
                    method=t.method,
                    target_sl=t.target_sl if t.method != "backlog" else None,
                    within=t.within_seconds,
                    patience=t.patience_seconds,
                    shrinkage=t.shrinkage,
                    max_occupancy=t.max_occupancy,
                    target_hours=t.target_hours,
                    cyclic=t.cyclic,
                )
            )
        except ValueError as exc:
            raise InputError(str(exc), field="service_targets") from None
    return requirement_from_frame(pd.concat(frames, ignore_index=True), cat)
