"""One replication's draws and engine output -> frames: canonical tickets, customer-wait
status events, per-interval KPIs and SLA outcomes (:class:`ReplicationRecords`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.sim.compile import CompiledScenario, utc_times
from slarisk.capacity.sim.draws import Draws
from slarisk.capacity.sim.engine import EngineOutput
from slarisk.capacity.sim.kpis import interval_kpis
from slarisk.capacity.sim.kpis import team_kpis as team_interval_kpis
from slarisk.capacity.sim.outcomes import sla_outcomes


@dataclass(frozen=True)
class ReplicationRecords:
    """Frames of one replication (small enough to send back from a worker process)."""

    replication: int
    tickets: pd.DataFrame
    events: pd.DataFrame
    kpis: pd.DataFrame
    team_kpis: pd.DataFrame
    outcomes: pd.DataFrame  # per (class, metric): n, met, breached, excluded, undecided
    credits: pd.DataFrame  # per (customer, month): credit
    counts: dict[str, int] = field(default_factory=dict)


def _cat(codes: np.ndarray, labels: list[str]) -> Any:
    """Categorical of labels[codes] (labels may repeat)."""
    uniq = list(dict.fromkeys(labels))
    remap = np.array([uniq.index(x) for x in labels], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(uniq))


def collect_replication(
    model: CompiledScenario, d: Draws, out: EngineOutput, rep: int
) -> ReplicationRecords:
    """Turn one replication's draws and engine output into frames (tickets, KPIs, SLA)."""
    sc = model.scenario
    n = len(d.t)
    end = out.end_time
    # lazy abandonment: waiting tickets whose patience ran out before the end left then
    never = np.isnan(out.first_start) & np.isnan(out.abandoned) & np.isnan(out.resolved)
    late = never & (d.abandon_at <= end) & (out.touches_done == 0)
    abandoned = out.abandoned.copy()
    abandoned[late] = d.abandon_at[late]
    is_ab = np.isfinite(abandoned)
    is_res = np.isfinite(out.resolved)
    started = np.bincount(out.seg_ticket, minlength=n)
    in_service = started > out.touches_done
    last_wait_end = np.full(n, -np.inf)
    if out.wait_ticket.size:
        np.maximum.at(last_wait_end, out.wait_ticket, out.wait_end)
    pending = ~is_res & ~is_ab & ~in_service & (last_wait_end > end)
    queued = ~is_res & ~is_ab & ~in_service & ~pending
    status_code = np.select(
        [is_res, is_ab, pending, queued & (out.touches_done == 0)], [0, 1, 2, 3], 4
    )
    status = pd.Categorical.from_codes(
        status_code, categories=pd.Index(["resolved", "abandoned", "pending", "new", "open"])
    )
    # first response: simulated, or the backlog's response before the start
    fr = np.where(np.isfinite(d.prior_first_response), d.prior_first_response, out.first_start)
    fr = np.where(is_ab, abandoned, fr)
    resolved = np.where(is_ab, abandoned, out.resolved)
    handle = np.bincount(out.seg_ticket, weights=out.seg_dur, minlength=n)
    cls = d.cls
    cdef = sc.classes
    pr = _cat(cls, [c.priority for c in cdef])
    tier = _cat(cls, [c.tier for c in cdef])
    chan = _cat(cls, [c.channel for c in cdef])
    names = _cat(cls, list(model.class_names))
    ids = f"R{rep}-" + pd.Series(np.arange(n)).astype(str)
    given = np.array([x is not None for x in d.ticket_id], dtype=bool)
    if given.any():
        ids[given] = d.ticket_id[given].astype(str)
    team_of = np.zeros(n, dtype=np.int64)  # 0 = unknown, else 1 + team of the last touch
    team_of[out.seg_ticket] = out.seg_team + 1  # later segments overwrite earlier ones
    unknown = pd.Categorical.from_codes(
        np.zeros(n, dtype=np.int64), categories=pd.Index(["unknown"])
    )
    in_window = (d.created >= model.warmup) & (d.created < model.horizon) & (d.group != 1)
    ready = out.ready if out.ready is not None else d.t  # joined the queue (after pickup)
    wait = (
        np.where(np.isfinite(out.first_start), out.first_start, np.where(is_ab, abandoned, np.nan))
        - ready
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ids.to_numpy(),
            "created_at": utc_times(model.start_ns, d.created),
            "first_response_at": utc_times(model.start_ns, fr),
            "resolved_at": utc_times(model.start_ns, resolved),
            "priority": pr,
            "tier": tier,
            "region": unknown,
            "service_type": unknown,
            "channel": chan,
            "customer": pd.Categorical(d.customer),
            "category": unknown,
            "group": _cat(team_of, ["unknown", *model.team_names]),
            "status": status,
            "class": names,
            "replication": rep,
            "wait_seconds": wait,
            "handle_seconds": handle,
            "touches": out.touches_done,
            "abandoned": is_ab,
            "in_window": in_window,
            "backlog": d.group == 1,
        }
    )
    lifecycle = np.array([c.lifecycle is not None for c in cdef], dtype=bool)
    if lifecycle.any():
        tickets["reassignment_count"] = d.handoffs if d.handoffs is not None else 0
        tickets["reopen_count"] = d.reopens if d.reopens is not None else 0
    ev_t, ev_ticket, ev_status = _wait_events(model, d, out, fr, resolved, lifecycle)
    keep = ev_t <= end
    order = np.lexsort((ev_t[keep], ev_ticket[keep]))
    events = pd.DataFrame(
        {
            "ticket_id": ids.to_numpy()[ev_ticket[keep][order]],
            "at": utc_times(model.start_ns, ev_t[keep][order]),
            "status": ev_status[keep][order],
            "replication": rep,
        }
    )
    ev_in_window = in_window[ev_ticket[keep][order]]
    outcomes, credits, met_fr = sla_outcomes(model, tickets, events[ev_in_window], end, wait, is_ab)
    kpis = interval_kpis(model, d, out, end, abandoned, in_service, met_fr, rep)
    team_kpis = team_interval_kpis(model, out, end, kpis["interval_start"], rep)
    counts = {
        "arrived": int(n),
        "served": int(is_res.sum()),
        "abandoned": int(is_ab.sum()),
        "in_system": int(n - is_res.sum() - is_ab.sum()),
    }
    return ReplicationRecords(rep, tickets, events, kpis, team_kpis, outcomes, credits, counts)


def _wait_events(
    model: CompiledScenario,
    d: Draws,
    out: EngineOutput,
    fr: np.ndarray,
    resolved: np.ndarray,
    lifecycle: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status events (time, ticket, status) of the waits between touches: the wait's status at
    its start, ``open`` at its end. Lifecycle classes (:mod:`slarisk.capacity.lifecycle`) say
    more, like a help-desk log: ``new`` at creation, ``in_progress`` at the first response and
    at the end of each wait, the wait's own status (``in_progress`` for a team stint,
    ``resolved`` before a reopen) and ``resolved`` at the resolution."""
    cls = d.cls
    wait_status = np.array([c.wait_status for c in model.scenario.classes], dtype=object)
    if d.wait_status is not None and out.wait_index is not None:
        start_status = d.wait_status[out.wait_index]
    else:
        start_status = wait_status[cls[out.wait_ticket]]
    life_w = lifecycle[cls[out.wait_ticket]]
    end_status = np.where(life_w, "in_progress", "open").astype(object)
    ts = [out.wait_start, out.wait_end]
    ks = [out.wait_ticket, out.wait_ticket]
    ss = [start_status, end_status]
    life = np.flatnonzero(lifecycle[cls])
    for when, status in ((d.created, "new"), (fr, "in_progress"), (resolved, "resolved")):
        ok = life[np.isfinite(when[life])]
        ts.append(when[ok])
        ks.append(ok)
        ss.append(np.full(ok.size, status, dtype=object))
    return np.concatenate(ts), np.concatenate(ks), np.concatenate(ss)
