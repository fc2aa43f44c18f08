"""Per-replication random draws: every ticket of a replication pre-sampled with numpy in
vectorised batches (arrival times by inverting the cumulative intensity of the piecewise-constant
rate grid; handle times, touches, customer waits and patience per class; a lifecycle class's
pickup, waits and their statuses from :func:`slarisk.capacity.lifecycle.sample_lifecycle`),
plus EDF deadlines.

Random streams: replication r of seed s uses ``SeedSequence(s).spawn(R)[r]``; each
(purpose, arrival group, class) gets its own child keyed by stable hashes of the names, so two
scenarios run with the same seed share arrivals, handle times, touches, waits and patience
where their definitions agree (common random numbers), whatever their staffing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slarisk.capacity.lifecycle import sample_lifecycle
from slarisk.capacity.scenario import TicketClass, sample_count, sample_duration
from slarisk.capacity.sim.compile import CompiledScenario, stable_key

#: stream purposes (part of the SeedSequence spawn key; never renumber).
_ARRIVALS, _HANDLE, _TOUCHES, _WAITS, _PATIENCE, _REPLAY, _LIFECYCLE = 1, 2, 3, 4, 5, 6, 7
#: arrival groups.
_BASE, _BACKLOG = 0, 1


@dataclass(frozen=True)
class Draws:
    """Pre-sampled tickets of one replication, sorted by arrival time (seconds since start)."""

    t: np.ndarray
    created: np.ndarray
    cls: np.ndarray
    group: np.ndarray  # 0 base, 1 backlog, 2 replay, 3+ added customer index + 3
    touches: np.ndarray
    hoff: np.ndarray  # offset into handles
    poff: np.ndarray  # offset into waits
    handles: np.ndarray
    waits: np.ndarray
    abandon_at: np.ndarray  # arrival + patience (inf: never)
    fr_due: np.ndarray  # first-response deadline, s (NaN without policy)
    res_due: np.ndarray  # resolution deadline, s
    ticket_id: np.ndarray  # given ids (replay/backlog), None entries for generated tickets
    customer: np.ndarray
    prior_first_response: np.ndarray  # backlog: first response before start (s) or NaN
    #: lifecycle (zeros / the class's wait_status without one): wait before the first touch
    #: (s of the class's clock), status of each wait, hand-offs and reopens per ticket
    pickup: np.ndarray | None = None
    wait_status: np.ndarray | None = None
    handoffs: np.ndarray | None = None
    reopens: np.ndarray | None = None


def nhpp_times(edges: np.ndarray, rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a Poisson process with piecewise-constant `rates` (per s)."""
    cum = np.concatenate(([0.0], np.cumsum(rates * np.diff(edges))))
    total = float(cum[-1])
    if total <= 0:
        return np.empty(0)
    n = rng.poisson(total)
    u = np.sort(rng.uniform(0.0, total, n))
    return np.interp(u, cum, edges)


def _stream(root: np.random.SeedSequence, *key: int) -> np.random.Generator:
    ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
    return np.random.default_rng(ss)


def draw_tickets(model: CompiledScenario, rep_seq: np.random.SeedSequence) -> Draws:
    """Pre-sample every ticket of one replication (vectorised, one stream per purpose/class)."""
    sc = model.scenario
    parts: list[dict[str, np.ndarray]] = []
    groups: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]] = []
    # (group id, group key, times, created, fixed-index or None, cls array)
    for k, key in enumerate(model.class_keys):
        if model.replay is None:
            t = nhpp_times(
                model.grid_edges, model.class_rates[k], _stream(rep_seq, _ARRIVALS, 0, key)
            )
            groups.append((_BASE, 0, t, t, None, np.full(len(t), k)))
        for a, (cust, rates) in enumerate(model.added):
            ck = stable_key(cust)
            t = nhpp_times(model.grid_edges, rates[k], _stream(rep_seq, _ARRIVALS, ck, key))
            groups.append((3 + a, ck, t, t, None, np.full(len(t), k)))
    for gid, fixed in ((2, model.replay), (_BACKLOG, model.backlog)):
        if fixed is None:
            continue
        for k in range(model.n_classes):
            idx = np.flatnonzero(fixed.cls == k)
            if len(idx):
                groups.append(
                    (gid, gid, fixed.t[idx], fixed.created[idx], idx, np.full(len(idx), k))
                )
    handles_all: list[np.ndarray] = []
    waits_all: list[np.ndarray] = []
    status_all: list[np.ndarray] = []
    h_base = w_base = 0
    for gid, gkey, t, created, fidx, cls in groups:
        k = int(cls[0]) if len(cls) else 0
        c: TicketClass = sc.classes[k]
        key = model.class_keys[k]
        n = len(t)
        zero = np.zeros(n, dtype=np.int64)
        if c.lifecycle is not None:
            plan = sample_lifecycle(c.lifecycle, _stream(rep_seq, _LIFECYCLE, gkey, key), n)
            touches, waits, wstatus = plan.touches, plan.gaps, plan.gap_status
            pickup, hand, reop = plan.pickup, plan.handoffs, plan.reopens
        else:
            touches = sample_count(c.touches, _stream(rep_seq, _TOUCHES, gkey, key), n)
            n_w = int(touches.sum()) - n
            waits = (
                sample_duration(c.customer_wait, _stream(rep_seq, _WAITS, gkey, key), n_w)
                if n_w and c.customer_wait is not None
                else np.zeros(n_w)
            )
            wstatus = np.full(n_w, c.wait_status, dtype=object)
            pickup, hand, reop = np.zeros(n), zero, zero
        n_h = int(touches.sum())
        n_w = n_h - n
        handles = sample_duration(c.handle, _stream(rep_seq, _HANDLE, gkey, key), n_h)
        if c.patience is not None:
            pat = sample_duration(c.patience, _stream(rep_seq, _PATIENCE, gkey, key), n)
        else:
            pat = np.full(n, np.inf)
        hoff = h_base + np.concatenate(([0], np.cumsum(touches)[:-1])) if n else np.empty(0, int)
        poff = (
            w_base + np.concatenate(([0], np.cumsum(touches - 1)[:-1])) if n else np.empty(0, int)
        )
        h_base += n_h
        w_base += n_w
        handles_all.append(handles)
        waits_all.append(waits)
        status_all.append(wstatus)
        fixed = model.replay if gid == 2 else model.backlog if gid == _BACKLOG else None
        parts.append(
            {
                "t": t,
                "created": created,
                "cls": cls,
                "group": np.full(n, gid),
                "touches": touches,
                "hoff": hoff,
                "poff": poff,
                "abandon_at": t + pat,
                "ticket_id": fixed.ticket_id[fidx] if fixed is not None else np.full(n, None),
                "customer": (
                    fixed.customer[fidx]
                    if fixed is not None
                    else np.full(
                        n, model.added[gid - 3][0] if gid >= 3 else "unknown", dtype=object
                    )
                ),
                "prior_fr": fixed.first_response[fidx] if fixed is not None else np.full(n, np.nan),
                "pickup": pickup,
                "handoffs": hand,
                "reopens": reop,
            }
        )
    cat = {
        name: np.concatenate([p[name] for p in parts]) if parts else np.empty(0)
        for name in (
            "t",
            "created",
            "cls",
            "group",
            "touches",
            "hoff",
            "poff",
            "abandon_at",
            "ticket_id",
            "customer",
            "prior_fr",
            "pickup",
            "handoffs",
            "reopens",
        )
    }
    order = np.lexsort((cat["created"], cat["t"]))
    s = {name: v[order] for name, v in cat.items()}
    cls = s["cls"].astype(np.int64)
    fr_due, res_due = deadlines(model, s["created"], cls)
    return Draws(
        t=s["t"].astype(float),
        created=s["created"].astype(float),
        cls=cls,
        group=s["group"].astype(np.int64),
        touches=s["touches"].astype(np.int64),
        hoff=s["hoff"].astype(np.int64),
        poff=s["poff"].astype(np.int64),
        handles=np.concatenate(handles_all) if handles_all else np.empty(0),
        waits=np.concatenate(waits_all) if waits_all else np.empty(0),
        abandon_at=s["abandon_at"].astype(float),
        fr_due=fr_due,
        res_due=res_due,
        ticket_id=s["ticket_id"],
        customer=s["customer"],
        prior_first_response=s["prior_fr"].astype(float),
        pickup=s["pickup"].astype(float),
        wait_status=np.concatenate(status_all) if status_all else np.empty(0, dtype=object),
        handoffs=s["handoffs"].astype(np.int64),
        reopens=s["reopens"].astype(np.int64),
    )


def deadlines(
    model: CompiledScenario, created: np.ndarray, cls: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First-response and resolution deadlines (s since start) from the policy's calendars.

    Only needed (and computed) for EDF dispatch, as its key (NaN otherwise). Pauses are not
    known in advance: the engine shifts the resolution deadline by the customer-wait time
    already spent, in wall-clock seconds.
    """
    n = len(created)
    fr = np.full(n, np.nan)
    res = np.full(n, np.nan)
    pol = model.policy
    sc = model.scenario
    if pol is None or n == 0 or sc.dispatch != "edf":
        return fr, res
    created_ns = model.start_ns + np.rint(created * 1e9).astype(np.int64)
    for k, c in enumerate(sc.classes):
        m = cls == k
        if not m.any():
            continue
        for out, metric in ((fr, "first_response"), (res, "resolution")):
            tgt = pol.target_for(c.tier, c.priority, metric)
            cal = pol.business_calendar(tgt.calendar)
            due_ns = np.asarray(
                cal.add_business_seconds(created_ns[m], np.full(m.sum(), tgt.seconds))
            )
            out[m] = (due_ns.astype(np.int64) - model.start_ns) / 1e9
    return fr, res
