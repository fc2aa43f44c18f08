"""Score an open queue: per ticket and running SLA clock, the calibrated breach probability,
due time, time left, alert level, risk band, top reasons and a suggested work order.

:func:`score_open_tickets` backs ``slarisk score`` and ``POST /v1/risk/score``.

Rules of the general path (the band, reason and work-order rules are in
:mod:`slarisk.risk.outputs`):

- only running clocks are scored (``first_response`` disappears once answered);
- a clock already past due at ``now`` has probability 1 and band ``breached`` (nothing left to
  predict) with the reason "already past due";
- with no ``history``, ``events`` or precomputed ``clocks``, the array path of
  :mod:`slarisk.risk.fastscore` scores the queue (same results); otherwise the clocks come from
  :func:`slarisk.sla.clock.compute_clocks` and the features from
  :func:`slarisk.risk.features.build_features` on frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.risk import fastscore
from slarisk.risk.feature_indexes import (
    METRIC,
    GroupBacklogIndex,
    HistoryIndex,
    OverdueIndex,
    StaffingIndex,
    WorkloadIndex,
    outcomes_from_clocks,
)
from slarisk.risk.features import FeatureContext, build_features
from slarisk.risk.landmarks import _add_business
from slarisk.risk.outputs import (
    BREACHED_BAND,
    SCORE_COLUMNS,
    frame_work_order,
    priority_weights,
    risk_band,
    scores_frame,
    top_reasons,
)
from slarisk.sla.clock import compute_clocks

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy

_NAT = np.iinfo(np.int64).min


def _recent_arrays(recent: pd.DataFrame) -> dict[str, Any]:
    n = len(recent)
    return {
        "created": pd.DatetimeIndex(recent[s.CREATED_AT]).as_unit("ns").asi8,
        "priority": np.asarray(recent[s.PRIORITY], dtype=object),
        "group": np.asarray(recent[s.GROUP], dtype=object)
        if s.GROUP in recent
        else np.full(n, s.UNKNOWN, dtype=object),
        "ids": pd.Index(np.asarray(recent[s.TICKET_ID], dtype=object)),
    }


def _workload(
    open_tickets: pd.DataFrame,
    recent: dict[str, Any],
    now_ns: int,
    priorities: Sequence[str],
) -> tuple[WorkloadIndex, GroupBacklogIndex]:
    """Open tickets (the queue at ``now``) plus recent closed tickets (arrival counts only).

    ``recent``: arrays of :func:`_recent_arrays` (or ``RiskModel.recent_arrays``).
    """
    created = pd.DatetimeIndex(open_tickets[s.CREATED_AT]).as_unit("ns").asi8
    resolved = np.full(len(created), _NAT, dtype=np.int64)
    pri = np.asarray(open_tickets[s.PRIORITY], dtype=object)
    grp = (
        np.asarray(open_tickets[s.GROUP], dtype=object)
        if s.GROUP in open_tickets
        else np.full(len(created), s.UNKNOWN, dtype=object)
    )
    if recent:
        rc = recent["created"]
        keep = (rc <= now_ns) & (rc > now_ns - 29 * 86_400 * 10**9)
        # tickets of the open queue are counted once, from the queue
        pos = recent["ids"].get_indexer(np.asarray(open_tickets[s.TICKET_ID], dtype=object))
        keep[pos[pos >= 0]] = False
        # not in the open queue: closed by now (whatever the history says)
        created = np.concatenate([created, rc[keep]])
        resolved = np.concatenate([resolved, np.full(int(keep.sum()), now_ns - 1, np.int64)])
        pri = np.concatenate([pri, recent["priority"][keep]])
        grp = np.concatenate([grp, recent["group"][keep]])
    pri = np.where(pd.isna(pri), s.UNKNOWN, pri)
    grp = np.where(pd.isna(grp), s.UNKNOWN, grp)
    return (
        WorkloadIndex.from_arrays(created, resolved, pri),
        GroupBacklogIndex.from_arrays(created, resolved, grp, pri, priorities),
    )


def _overdue(run: pd.DataFrame, obs: pd.DataFrame, policy: Policy) -> OverdueIndex:
    """Overdue index of the open queue: nominal resolution due of its running clocks."""
    res = (run["metric"] == "resolution").to_numpy()
    due = _add_business(
        policy,
        run["calendar"].astype(str).to_numpy()[res],
        obs[s.CREATED_AT].to_numpy(np.int64)[res],
        run["target_seconds"].to_numpy(np.float64)[res],
    )
    return OverdueIndex.from_arrays(due, np.full(len(due), _NAT, dtype=np.int64))


def score_open_tickets(
    model: RiskModel,
    open_tickets: pd.DataFrame,
    now: Any,
    policy: Policy,
    staffing: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    clocks: pd.DataFrame | None = None,
    n_reasons: int = 3,
    fast: bool = True,
) -> pd.DataFrame:
    """Risk of every running SLA clock of the open tickets at ``now`` (columns
    :data:`SCORE_COLUMNS`, sorted by work order).

    ``staffing``: interval-form roster covering ``now`` and the next hours; ``history``: closed
    tickets (canonical) for arrival norms and rolling breach rates (default: the aggregates
    carried by the model, as of the end of its training data); ``events``: status events of the
    open tickets (pauses). ``clocks`` may be passed when already computed.

    ``fast``: use the array path of :mod:`slarisk.risk.fastscore` when it applies (no
    ``history``, ``events`` or ``clocks``; same results); ``False`` forces the general path.
    """
    now_ts = pd.Timestamp(now)
    now_ts = now_ts.tz_localize("UTC") if now_ts.tz is None else now_ts.tz_convert("UTC")
    now_ns = int(now_ts.value)
    if (
        fast
        and history is None
        and clocks is None
        and (events is None or len(events) == 0)
        and len(open_tickets)
    ):
        try:
            arrays = fastscore.score_arrays(
                model,
                fastscore.tickets_from_frame(open_tickets),
                now_ns,
                policy,
                staffing=fastscore.staffing_index_of_frame(staffing)
                if staffing is not None and len(staffing)
                else None,
                n_reasons=n_reasons,
            )
        except fastscore.Fallback:
            pass
        else:
            return scores_frame(arrays)
    return _score_general(
        model, open_tickets, now_ts, policy, staffing, history, events, clocks, n_reasons
    )


def _score_general(
    model: RiskModel,
    open_tickets: pd.DataFrame,
    now_ts: pd.Timestamp,
    policy: Policy,
    staffing: pd.DataFrame | None,
    history: pd.DataFrame | None,
    events: pd.DataFrame | None,
    clocks: pd.DataFrame | None,
    n_reasons: int,
) -> pd.DataFrame:
    """The general path: clocks by :func:`compute_clocks`, features by
    :func:`build_features` on frames (any history, events, precomputed clocks)."""
    now_ns = int(now_ts.value)
    if clocks is None:
        clocks = compute_clocks(open_tickets, policy, events=events, now=now_ts)
    run = clocks[clocks["is_open"].to_numpy(bool)]
    run = run.reset_index(drop=True)
    n = len(run)
    if n == 0:  # nothing running: an empty table with the documented columns
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
    t = open_tickets.set_index(s.TICKET_ID)
    ids = run[s.TICKET_ID]

    obs = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: run["metric"].to_numpy(),
            s.AT: np.full(n, now_ns, dtype=np.int64),
            s.CREATED_AT: pd.DatetimeIndex(t[s.CREATED_AT].reindex(ids)).as_unit("ns").asi8,
            "target_seconds": run["target_seconds"].to_numpy(np.float64),
            "elapsed_seconds": run["elapsed_seconds"].to_numpy(np.float64),
            "due_at": pd.DatetimeIndex(run["due_at"]).as_unit("ns").asi8,
        }
    )
    for col in (s.PRIORITY, *s.SEGMENT_COLUMNS):
        src = run[col] if col in run else (t[col].reindex(ids) if col in t else None)
        obs[col] = s.UNKNOWN if src is None else src.to_numpy()

    recent = _recent_arrays(history) if history is not None else model.recent_arrays
    workload, group_backlog = _workload(open_tickets, recent, now_ns, model.priorities)
    if history is not None:
        hist_clocks = compute_clocks(history, policy, now=now_ts)
        outcomes = outcomes_from_clocks(hist_clocks, history)
        hist = HistoryIndex.build(outcomes) if len(outcomes) else None
        clip = None
    else:
        hist = model.history
        clip = hist.known_until_ns if hist is not None else None
    ctx = FeatureContext(
        workload=workload,
        group_backlog=group_backlog,
        overdue=_overdue(run, obs, policy),
        history=hist,
        staffing=StaffingIndex.build(staffing) if staffing is not None and len(staffing) else None,
        calendar=model.calendar,
        history_clip_ns=clip,
    )
    features = build_features(obs, ctx, priorities=model.priorities)
    X = model.matrix(features)
    proba, contrib = model.predict_with_contributions(features, X)
    reasons = top_reasons(model, features, contrib, n_reasons, X)

    time_left = run["time_left_seconds"].to_numpy(np.float64)
    overdue = run["breached"].to_numpy(bool) | (time_left <= 0)
    proba = np.where(overdue, 1.0, proba)
    band = np.where(overdue, BREACHED_BAND, risk_band(proba))
    for r in reasons:
        r[overdue] = ""
    if n:
        reasons[0][overdue] = "already past due"

    weights = priority_weights(policy.priorities)
    w = obs[s.PRIORITY].map(weights).fillna(1.0).to_numpy(np.float64)
    cost = np.where(overdue, 0.0, proba * w)
    out = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: obs[METRIC].to_numpy(),
            s.PRIORITY: obs[s.PRIORITY].to_numpy(),
            s.TIER: obs[s.TIER].to_numpy(),
            "breach_probability": proba,
            "risk_band": band,
            "expected_cost": cost,
            "due_at": run["due_at"].to_numpy(),
            "time_left_seconds": time_left,
            "elapsed_fraction": run["elapsed_fraction"].to_numpy(np.float64),
            "alert_level": run["alert_level"].to_numpy(),
            "reasons": _join(reasons),
        }
    )
    for i in range(3):
        out[f"reason_{i + 1}"] = reasons[i] if i < len(reasons) else ""
    out["work_order"] = frame_work_order(out, w, overdue)
    return (
        out[list(SCORE_COLUMNS)]
        .sort_values(["work_order", "due_at"], kind="stable")
        .reset_index(drop=True)
    )


def _join(reasons: list[np.ndarray]) -> np.ndarray:
    if not reasons:
        return np.array([], dtype=object)
    out = pd.Series(reasons[0], dtype=object)
    for r in reasons[1:]:
        nxt = pd.Series(r, dtype=object)
        out = out.where(nxt == "", out + "; " + nxt)
    return out.to_numpy(dtype=object)
