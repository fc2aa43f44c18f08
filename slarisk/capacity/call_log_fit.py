"""Call log -> canonical tickets and a fitted scenario.

Input is a call log as loaded by :func:`slarisk.data.calllog.load_call_log` (UTC timestamps,
durations in seconds). Arrivals are the calls that asked for an agent, timed at the VRU exit.
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


def call_priority(priority: pd.Series) -> pd.Series:
    """Call-log priority code -> class priority name (2: ``high``; 0/1: ``regular``)."""
    return pd.Series(np.where(priority.to_numpy() == 2, "high", "regular"), index=priority.index)


def calls_to_tickets(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls that asked for an agent -> canonical tickets (created at the VRU exit).

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
            "tier": "unknown",
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
) -> FitResult:
    """Fit a scenario from a call log (see :func:`slarisk.data.calllog.load_call_log`).

    Arrivals are calls that asked for an agent (queued or served), timed at the VRU exit.
    Classes are the customer priorities (``high`` = code 2, ``regular`` = 0/1), each with its
    handle time (served calls with a named agent) and patience (queued calls, censored).
    """
    if calls.empty:
        raise InputError("no calls to fit")
    want = calls.loc[calls["reached_queue"]]
    if want.empty:
        raise InputError("no call asked for an agent (no queued or served calls)")
    prio = call_priority(want["priority"])
    classes: list[ClassFit] = []
    notes: list[str] = []
    all_handle = want.loc[want["served"] & (want["server"] != "NO_SERVER"), "service_seconds"]
    for pname in ("high", "regular"):
        sub = want.loc[prio == pname]
        if sub.empty:
            continue
        h = sub.loc[sub["served"] & (sub["server"] != "NO_SERVER"), "service_seconds"]
        q = sub.loc[sub["queued"]]
        if len(h) < min_class_size or q["abandoned"].sum() == 0:
            notes.append(f"class {pname}: {len(h)} services; pooled handle/patience used")
            h = all_handle
            q = want.loc[want["queued"]]
        classes.append(
            ClassFit(
                name=pname,
                priority=pname,
                tier="unknown",
                channel="phone",
                n=len(sub),
                share=len(sub) / len(want),
                handle=fit_duration(h, what=f"handle times of class {pname}"),
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
