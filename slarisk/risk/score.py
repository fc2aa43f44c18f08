"""Score an open queue: per ticket and running SLA clock, the calibrated breach probability,
due time, time left, alert level, risk band, top reasons and a suggested work order.

:func:`score_open_tickets` backs ``slarisk score`` and ``POST /v1/risk/score``; there is one
scoring path, the array path of :mod:`slarisk.risk.fastscore` (clocks from the engine of
:mod:`slarisk.sla.clock`, status events as pauses; bands, reasons and work order from
:mod:`slarisk.risk.outputs`). Rules:

- only running clocks are scored (``first_response`` disappears once answered);
- a clock already past due at ``now`` has probability 1 and band ``breached`` (nothing left to
  predict) with the reason "already past due";
- input the array path does not take is an :class:`~slarisk.errors.InputError` naming the
  field and rows (missing columns, bad timestamps, duplicate ids, unknown priorities or
  tiers, as :func:`~slarisk.sla.clock.compute_clocks` reports them); a model with features
  the array path does not build is a :class:`~slarisk.errors.SlariskError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.errors import SlariskError
from slarisk.risk import fastscore, score_inputs, score_tables
from slarisk.risk.feature_indexes import HistoryIndex, StaffingIndex, outcomes_from_clocks
from slarisk.risk.outputs import scores_frame
from slarisk.risk.score_inputs import EventArrays, NotScorable, StaffingArrays, TicketArrays
from slarisk.sla.clock import compute_clocks, status_pauses

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy

_TIME_COLUMNS = (s.CREATED_AT, s.FIRST_RESPONSE_AT, s.RESOLVED_AT)


def score_open_tickets(
    model: RiskModel,
    open_tickets: pd.DataFrame | TicketArrays,
    now: Any,
    policy: Policy,
    staffing: pd.DataFrame | StaffingArrays | None = None,
    history: pd.DataFrame | None = None,
    events: pd.DataFrame | EventArrays | None = None,
    *,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Risk of every running SLA clock of the open tickets at ``now`` (columns
    :data:`~slarisk.risk.outputs.SCORE_COLUMNS`, sorted by work order).

    ``open_tickets``: canonical open tickets (a frame, or the same columns as
    :class:`~slarisk.risk.score_inputs.TicketArrays`); ``staffing``: interval-form roster covering
    ``now`` and the next hours; ``history``: closed tickets (canonical) for arrival norms and
    rolling breach rates (default: the aggregates carried by the model, as of the end of its
    training data); ``events``: status events of the open tickets (pauses).
    """
    return scores_frame(
        score_columns(
            model, open_tickets, now, policy, staffing, history, events, n_reasons=n_reasons
        )
    )


def score_columns(
    model: RiskModel,
    open_tickets: pd.DataFrame | TicketArrays,
    now: Any,
    policy: Policy,
    staffing: pd.DataFrame | StaffingArrays | None = None,
    history: pd.DataFrame | None = None,
    events: pd.DataFrame | EventArrays | None = None,
    *,
    n_reasons: int = 3,
    joined_reasons: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`score_open_tickets` as columns (``due_at`` as int64 UTC ns), without building
    the frame; ``joined_reasons=False`` leaves out ``reasons`` (``reason_1..3`` hold them)."""
    now_ns = _utc_ns(now)
    frame = open_tickets if isinstance(open_tickets, pd.DataFrame) else None
    ev_frame = events if isinstance(events, pd.DataFrame) else None
    try:
        tickets = (
            _ticket_arrays(frame, policy, ev_frame, now_ns)
            if frame is not None
            else cast(TicketArrays, open_tickets)
        )
        pauses = _pauses(tickets, frame, events, policy)
        fm = None
        if history is not None:
            hist_clocks = compute_clocks(history, policy, now=pd.Timestamp(now_ns, tz="UTC"))
            outcomes = outcomes_from_clocks(hist_clocks, history)
            index = HistoryIndex.build(outcomes) if len(outcomes) else None
            fm = score_tables.with_history(model, history, index)
        return fastscore.score_arrays(
            model,
            tickets,
            now_ns,
            policy,
            staffing=_staffing(staffing),
            n_reasons=n_reasons,
            joined_reasons=joined_reasons,
            pauses=pauses,
            fm=fm,
        )
    except NotScorable as exc:
        if frame is not None:  # the clock engine names the field and rows of bad input
            compute_clocks(frame, policy, events=ev_frame, now=pd.Timestamp(now_ns, tz="UTC"))
        raise SlariskError(f"cannot score these tickets: {exc}") from None


def _utc_ns(now: Any) -> int:
    ts = pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value)


def _ticket_arrays(
    frame: pd.DataFrame, policy: Policy, events: pd.DataFrame | None, now_ns: int
) -> TicketArrays:
    """The columns of a ticket frame; timestamps given as text are checked by the clock
    engine (an InputError naming the rows) and parsed."""
    try:
        return score_inputs.tickets_from_frame(frame)
    except NotScorable:
        pass
    compute_clocks(frame, policy, events=events, now=pd.Timestamp(now_ns, tz="UTC"))
    parsed = frame.assign(
        **{
            c: pd.to_datetime(frame[c], utc=True, format="ISO8601")
            for c in _TIME_COLUMNS
            if c in frame.columns
        }
    )
    return score_inputs.tickets_from_frame(parsed)


def _pauses(
    tickets: TicketArrays,
    frame: pd.DataFrame | None,
    events: pd.DataFrame | EventArrays | None,
    policy: Policy,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pause intervals (ticket index, start, end) of the status events, None without any."""
    if events is None or len(events) == 0 or not policy.pause_statuses:
        return None
    if isinstance(events, EventArrays):
        return score_inputs.event_pauses(tickets, events, policy.pause_statuses)
    ids = frame[s.TICKET_ID] if frame is not None else pd.Series(list(tickets.ticket_id))
    return status_pauses(ids, events, policy.pause_statuses)


def _staffing(
    staffing: pd.DataFrame | StaffingArrays | None,
) -> StaffingArrays | StaffingIndex | None:
    if isinstance(staffing, StaffingArrays):
        return staffing if len(staffing.agents) else None
    if staffing is None or len(staffing) == 0:
        return None
    try:
        return score_inputs.staffing_index_of_frame(staffing)
    except NotScorable:  # text instants etc.: the frame builder parses them
        return StaffingIndex.build(staffing)
