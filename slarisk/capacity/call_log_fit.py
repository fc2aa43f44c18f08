"""Call log -> canonical tickets and a fitted scenario.

Input is a call log as loaded by :func:`slarisk.data.calllog.load_call_log` (UTC timestamps,
durations in seconds). Arrivals are the calls that asked for an agent, timed at the VRU exit.

Classes are the customer priorities (``classes_by="priority"``) or priority x call type
(``"priority_type"``: the bank's call types differ far more than its priorities, e.g. new
customers ``NW`` hold 214 s on average and are served in 110 s, stock exchange ``NE`` callers
in 300 s; the mix varies from hour to hour). Call-log tickets carry the call-type group of
their class in ``tier`` (``unknown`` when classes are priorities only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.capacity.arrivals import arrival_profile, daily_totals
from slarisk.capacity.durations import fit_duration
from slarisk.capacity.fit_scenario import ClassFit, FitResult
from slarisk.capacity.patience import fit_patience
from slarisk.capacity.staffing_estimate import StaffingMethod, estimate_staffing, weekly_mean
from slarisk.errors import InputError

CLASS_KEYS: tuple[str, ...] = ("priority", "priority_type")
OTHER_TYPE = "other"


def call_priority(priority: pd.Series) -> pd.Series:
    """Call-log priority code -> class priority name (2: ``high``; 0/1: ``regular``)."""
    return pd.Series(np.where(priority.to_numpy() == 2, "high", "regular"), index=priority.index)


def call_type_groups(calls: pd.DataFrame, kept: set[tuple[str, str]] | None) -> np.ndarray:
    """Tier of each call: its call type when ``(priority name, call type)`` is in ``kept``,
    else ``other``; ``unknown`` for every call when ``kept`` is None (priority classes)."""
    if kept is None:
        return np.full(len(calls), "unknown", dtype=object)
    pr = call_priority(calls["priority"]).to_numpy()
    ty = calls["call_type"].astype(str).to_numpy()
    return np.array(
        [t if (p, t) in kept else OTHER_TYPE for p, t in zip(pr, ty, strict=True)], dtype=object
    )


def kept_call_types(classes: list[ClassFit]) -> set[tuple[str, str]] | None:
    """(priority, call type) pairs with a class of their own; None for priority-only classes."""
    if all(c.tier == "unknown" for c in classes):
        return None
    return {(c.priority, c.tier) for c in classes if c.tier not in ("unknown", OTHER_TYPE)}


def calls_to_tickets(calls: pd.DataFrame, kept: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Calls that asked for an agent -> canonical tickets (created at the VRU exit).

    ``kept``: the (priority, call type) pairs that have a class of their own (see
    :func:`kept_call_types`); ``tier`` is the call type for those, ``other`` for the rest, and
    ``unknown`` when ``kept`` is None.

    first_response_at = service start, resolved_at = service end (abandoned: NaT, status
    ``abandoned``); extra columns ``wait_seconds``, ``handle_seconds``, ``abandoned``,
    ``call_type``, ``server``. Service starts stamped before the VRU/queue exit (by 1-2 s
    in the source) are clipped to created_at.
    """
    c = calls.loc[calls["reached_queue"]]
    created = c["vru_exit_at"]
    # the source stamps service starts 0-2 s before the queue exit: clip to created_at
    fr = c["service_start_at"].where(
        c["service_start_at"].isna() | (c["service_start_at"] >= created), created
    )
    res = c["service_end_at"].where(c["service_end_at"].isna() | (c["service_end_at"] >= fr), fr)
    return pd.DataFrame(
        {
            "ticket_id": c["call_key"].to_numpy(),
            "created_at": created.to_numpy(),
            "first_response_at": fr.to_numpy(),
            "resolved_at": res.to_numpy(),
            "priority": call_priority(c["priority"]).to_numpy(),
            "tier": call_type_groups(c, kept),
            "region": "unknown",
            "service_type": c["call_type"].to_numpy(),
            "channel": "phone",
            "customer": c["customer_id"].to_numpy(),
            "category": c["call_type"].to_numpy(),
            "group": "unknown",
            "status": np.where(c["served"], "resolved", "abandoned"),
            "wait_seconds": c["wait_seconds"].to_numpy(),
            "handle_seconds": c["service_seconds"].to_numpy(),
            "abandoned": c["abandoned"].to_numpy(),
            "call_type": c["call_type"].to_numpy(),
            "server": c["server"].to_numpy(),
        }
    ).reset_index(drop=True)


def fit_calls(
    calls: pd.DataFrame,
    *,
    tz: str = "Asia/Jerusalem",
    interval_minutes: int = 60,
    staffing_method: StaffingMethod = "available",
    gap_seconds: float = 1800.0,
    source: str = "call log",
    min_class_size: int = 200,
    classes_by: str = "priority",
) -> FitResult:
    """Fit a scenario from a call log (see :func:`slarisk.data.calllog.load_call_log`).

    Arrivals are calls that asked for an agent (queued or served), timed at the VRU exit.
    Classes are the customer priorities (``high`` = code 2, ``regular`` = 0/1) or, with
    ``classes_by="priority_type"``, priority x call type: a call type with at least
    ``min_class_size`` calls asking for an agent within a priority is a class of its own
    (``high-PS``, tier ``PS``), the rest of the priority is pooled (``high-other``). Each class
    gets its handle time (served calls with a named agent) and patience (queued calls,
    censored); a class with fewer than ``min_class_size`` services or no abandonment uses the
    pooled fits of its priority (or of all calls).
    """
    if classes_by not in CLASS_KEYS:
        raise InputError(f"unknown class key {classes_by!r}; use {CLASS_KEYS}", field="classes_by")
    if calls.empty:
        raise InputError("no calls to fit")
    want = calls.loc[calls["reached_queue"]]
    if want.empty:
        raise InputError("no call asked for an agent (no queued or served calls)")
    prio = call_priority(want["priority"])
    kept: set[tuple[str, str]] | None = None
    if classes_by == "priority_type":
        pairs = pd.DataFrame({"p": prio.to_numpy(), "t": want["call_type"].astype(str).to_numpy()})
        size = pairs.value_counts()
        big = size[size >= min_class_size].index
        kept = {(str(p), str(t)) for p, t in big.to_list()}
    tier = pd.Series(call_type_groups(want, kept), index=want.index)
    classes: list[ClassFit] = []
    notes: list[str] = []
    is_served = want["served"] & (want["server"] != "NO_SERVER")
    all_handle = want.loc[is_served, "service_seconds"]
    for pname in ("high", "regular"):
        in_p = prio == pname
        tiers = sorted(set(tier[in_p]), key=lambda t: (t == OTHER_TYPE, t))
        for tname in tiers:
            sub = want.loc[in_p & (tier == tname)]
            name = pname if kept is None else f"{pname}-{tname}"
            h = sub.loc[is_served[sub.index], "service_seconds"]
            q = sub.loc[sub["queued"]]
            if len(h) < min_class_size or q["abandoned"].sum() == 0:
                pooled = want.loc[in_p]
                ph = pooled.loc[is_served[pooled.index], "service_seconds"]
                pq = pooled.loc[pooled["queued"]]
                if len(ph) >= min_class_size and pq["abandoned"].sum() > 0:
                    notes.append(f"class {name}: {len(h)} services; {pname} handle/patience used")
                    h, q = ph, pq
                else:
                    notes.append(f"class {name}: {len(h)} services; pooled handle/patience used")
                    h, q = all_handle, want.loc[want["queued"]]
            classes.append(
                ClassFit(
                    name=name,
                    priority=pname,
                    tier=tname,
                    channel="phone",
                    n=len(sub),
                    share=len(sub) / len(want),
                    handle=fit_duration(h, what=f"handle times of class {name}"),
                    patience=fit_patience(q["wait_seconds"], q["abandoned"]),
                )
            )
    staffing = estimate_staffing(calls, interval_minutes, staffing_method, gap_seconds=gap_seconds)
    by_type = {
        t: fit_duration(g, what=f"handle times of {t}").summary()
        for t, g in all_handle.groupby(want.loc[all_handle.index, "call_type"])
        if len(g) >= 30
    }
    return FitResult(
        source=source,
        timezone=tz,
        interval_minutes=interval_minutes,
        start=want["vru_exit_at"].min(),
        end=want["vru_exit_at"].max(),
        n=len(want),
        profile=arrival_profile(want["vru_exit_at"], tz, interval_minutes),
        daily=daily_totals(want["vru_exit_at"], tz),
        classes=classes,
        staffing=staffing,
        weekly_agents=weekly_mean(staffing, tz, interval_minutes),
        staffing_method=staffing_method,
        notes=notes,
        extra={
            "handle_by_call_type": by_type,
            "abandonment_of_queued": float(want.loc[want["queued"], "abandoned"].mean()),
            "abandonment_of_arrivals": float(want["abandoned"].mean()),
            "quarantine_note": "see the loader's quarantine for rejected rows",
        },
    )
