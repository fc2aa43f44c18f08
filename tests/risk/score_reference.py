"""A from-scratch reference for scoring: clocks by :func:`compute_clocks` on frames, features
by the training builder :func:`build_features` on a :class:`FeatureContext` built for the
queue, then the model's own ``predict_with_contributions`` and the rules of
:mod:`slarisk.risk.outputs`. Slow and plain; the tests check that
:func:`slarisk.risk.score.score_open_tickets` (the one scoring path) gives the same table,
so scoring features cannot drift from training features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s
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
from slarisk.risk.model import RiskModel
from slarisk.risk.outputs import (
    BREACHED_BAND,
    SCORE_COLUMNS,
    guard_text,
    priority_weights,
    risk_band,
    top_reasons,
    work_order_ranks,
)
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import Policy

_NAT = np.iinfo(np.int64).min


def _workload(
    open_tickets: pd.DataFrame,
    recent: dict[str, Any],
    now_ns: int,
    priorities: Sequence[str],
) -> tuple[WorkloadIndex, GroupBacklogIndex, GroupBacklogIndex, GroupBacklogIndex]:
    """Open tickets (the queue at ``now``) plus recent closed tickets (arrival counts only):
    the workload, the group backlog, the first-response queue and the group arrivals."""
    created = pd.DatetimeIndex(open_tickets[s.CREATED_AT]).as_unit("ns").asi8
    resolved = np.full(len(created), _NAT, dtype=np.int64)
    # first response, or resolution without one (as build_context); the open queue's own
    # resolutions count here only (the backlog above counts every queue ticket as open)
    responded = resolved.copy()
    for col in (s.RESOLVED_AT, s.FIRST_RESPONSE_AT):
        if col in open_tickets:
            at = pd.DatetimeIndex(pd.to_datetime(open_tickets[col], utc=True)).as_unit("ns").asi8
            responded = np.where(at != _NAT, at, responded)
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
        # responded to when opened, as far as the queue at `now` can tell
        responded = np.concatenate([responded, rc[keep]])
        pri = np.concatenate([pri, recent["priority"][keep]])
        grp = np.concatenate([grp, recent["group"][keep]])
    pri = np.where(pd.isna(pri), s.UNKNOWN, pri)
    grp = np.where(pd.isna(grp), s.UNKNOWN, grp)
    return (
        WorkloadIndex.from_arrays(created, resolved, pri),
        GroupBacklogIndex.from_arrays(created, resolved, grp, pri, priorities),
        GroupBacklogIndex.from_arrays(created, responded, grp, pri, priorities),
        GroupBacklogIndex.from_arrays(
            created, np.full(len(created), _NAT, np.int64), grp, pri, priorities
        ),
    )


def reference_scores(
    model: RiskModel,
    open_tickets: pd.DataFrame,
    now: Any,
    policy: Policy,
    staffing: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """The score table of ``open_tickets`` at ``now``, computed from scratch on frames."""
    now_ts = pd.Timestamp(now)
    now_ts = now_ts.tz_localize("UTC") if now_ts.tz is None else now_ts.tz_convert("UTC")
    now_ns = int(now_ts.value)
    clocks = compute_clocks(open_tickets, policy, events=events, now=now_ts)
    run = clocks[clocks["is_open"].to_numpy(bool)].reset_index(drop=True)
    n = len(run)
    if n == 0:
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

    if history is not None:
        recent = RiskModel(model.pipeline, model.priorities, recent_tickets=history).recent_arrays
    else:
        recent = model.recent_arrays
    workload, group_backlog, response_queue, group_arrivals = _workload(
        open_tickets, recent, now_ns, model.priorities
    )
    if history is not None:
        outcomes = outcomes_from_clocks(compute_clocks(history, policy, now=now_ts), history)
        hist = HistoryIndex.build(outcomes) if len(outcomes) else None
        clip = None
    else:
        hist = model.history
        clip = hist.known_until_ns if hist is not None else None
    # overdue backlog: nominal resolution due (created + target on the calendar, no pauses)
    res = (run["metric"] == "resolution").to_numpy()
    nominal = _add_business(
        policy,
        run["calendar"].astype(str).to_numpy()[res],
        obs[s.CREATED_AT].to_numpy(np.int64)[res],
        run["target_seconds"].to_numpy(np.float64)[res],
    )
    ctx = FeatureContext(
        workload=workload,
        group_backlog=group_backlog,
        overdue=OverdueIndex.from_arrays(nominal, np.full(len(nominal), _NAT, dtype=np.int64)),
        history=hist,
        staffing=StaffingIndex.build(staffing) if staffing is not None and len(staffing) else None,
        calendar=model.calendar,
        history_clip_ns=clip,
        response_queue=response_queue,
        group_arrivals=group_arrivals,
        work_hours=model.metadata.get("work_hours", {}),
    )
    features = build_features(obs, ctx, priorities=model.priorities)
    X = model.matrix(features)
    proba, contrib = model.predict_with_contributions(features, X)
    reasons = top_reasons(model, features, contrib, n_reasons, X)
    # the input-range guard (as RiskModel.predict_guarded) and its reason first
    flags = model.out_of_range(features)
    if model.rule is not None:
        lift = model.rule.lift(
            features["metric"].astype(str).to_numpy(), features["elapsed_fraction"].to_numpy()
        )
        for i in np.flatnonzero(flags.ne("").to_numpy()):
            text = guard_text(flags.iloc[i].split(";"), bool(lift[i] > proba[i]))
            shifted = [text, *(r[i] for r in reasons[:-1])]
            for r, v in zip(reasons, shifted, strict=True):
                r[i] = v
            proba[i] = max(proba[i], lift[i])

    time_left = run["time_left_seconds"].to_numpy(np.float64)
    overdue = run["breached"].to_numpy(bool) | (time_left <= 0)
    proba = np.where(overdue, 1.0, proba)
    band = np.where(overdue, BREACHED_BAND, risk_band(proba))
    for r in reasons:
        r[overdue] = ""
    reasons[0][overdue] = "already past due"
    w = obs[s.PRIORITY].map(priority_weights(policy.priorities)).fillna(1.0).to_numpy(np.float64)
    out = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: obs[METRIC].to_numpy(),
            s.PRIORITY: obs[s.PRIORITY].to_numpy(),
            s.TIER: obs[s.TIER].to_numpy(),
            "breach_probability": proba,
            "risk_band": band,
            "expected_cost": np.where(overdue, 0.0, proba * w),
            "due_at": run["due_at"].to_numpy(),
            "time_left_seconds": time_left,
            "elapsed_fraction": run["elapsed_fraction"].to_numpy(np.float64),
            "alert_level": run["alert_level"].to_numpy(),
            "reasons": _join(reasons),
        }
    )
    for i in range(3):
        out[f"reason_{i + 1}"] = reasons[i] if i < len(reasons) else ""
    codes, uniq = pd.factorize(np.asarray(out[s.TICKET_ID], dtype=object))
    due = pd.DatetimeIndex(out["due_at"]).as_unit("ns").asi8
    cost = out["expected_cost"].to_numpy(np.float64)
    out["work_order"] = work_order_ranks(codes, len(uniq), cost, w, due, overdue)
    return (
        out[list(SCORE_COLUMNS)]
        .sort_values(["work_order", "due_at"], kind="stable")
        .reset_index(drop=True)
    )


def _join(reasons: list[np.ndarray]) -> np.ndarray:
    """Reasons joined with "; ", the empty ones left out (after the first)."""
    out = np.asarray(reasons[0], dtype=object)
    for r in reasons[1:]:
        out = np.where(r == "", out, out + "; " + r)
    return out
