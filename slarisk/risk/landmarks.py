"""Landmark training set: each ticket observed at several ages, with only what was known then.

For every (ticket, metric) whose outcome is known, observations are taken

- scheme ``fractions``: when the business time elapsed reaches each fraction of the target
  (0 = at creation; e.g. 0, 0.25, 0.5, 0.75), or
- scheme ``every``: every ``every_hours`` business hours from creation (at most
  ``max_per_ticket`` observations, all before the target is reached),

and only while the clock is still running (not yet stopped: no first response / resolution
yet). The label is the ticket's final outcome for that metric (``breached``), or, with
``label="source_made_sla"``, ``not source_made_sla`` (ServiceNow's own verdict; resolution only).

Observation times are computed on the target's business calendar from ``created_at``; pauses
are not replayed (the elapsed time at a landmark is the nominal ``fraction x target``), and the
due time carried by an observation is the nominal one (``created_at`` + target on the calendar),
never the final due time, which already contains future pauses. Features are joined by
:func:`build_training_data` (:mod:`slarisk.risk.features`).

Right censoring (``censoring="due"``, the default): a (ticket, metric) enters the set only if its
nominal due time is at or before ``now`` (and its outcome is known then). Keeping every outcome
known at ``now`` instead (``censoring="known"``) keeps the recent tickets that already met
their target but leaves out those still running towards a breach, so the newest rows
under-state the breach rate (demo history, seed 7: backtest breach rate 0.35 with ``known``
vs 0.46 with ``due``, resolution breaches of the last ten days all but invisible). The rule
depends only on what is fixed at creation (the nominal due time), never on the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.risk.feature_indexes import METRIC, outcomes_from_clocks
from slarisk.risk.features import CalendarInfo, FeatureContext, build_context, build_features
from slarisk.sla.clock import compute_clocks

if TYPE_CHECKING:
    from slarisk.sla.policy import Policy

DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
DEFAULT_METRICS: tuple[str, ...] = ("first_response", "resolution")
#: ticket attribute columns carried by every observation.
ATTRIBUTE_COLUMNS: tuple[str, ...] = (s.PRIORITY, *s.SEGMENT_COLUMNS)
#: columns of the landmark frame, in order.
LANDMARK_COLUMNS: tuple[str, ...] = (
    s.TICKET_ID,
    METRIC,
    "landmark",
    s.AT,
    s.CREATED_AT,
    "target_seconds",
    "elapsed_seconds",
    "due_at",
    "outcome_known_at",
    "label",
    *ATTRIBUTE_COLUMNS,
)


def _add_business(
    policy: Policy, calendars: np.ndarray, start_ns: np.ndarray, secs: np.ndarray
) -> np.ndarray:
    """start + secs business seconds, per row on its own calendar (loop over calendar names)."""
    out = np.empty(len(start_ns), dtype=np.int64)
    for name in pd.unique(calendars):
        m = calendars == name
        cal = policy.business_calendar(str(name))
        out[m] = np.asarray(cal.add_business_seconds(start_ns[m], secs[m]), dtype=np.int64)
    return out


def _ns(values: Any) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8.copy()


def build_landmarks(
    tickets: pd.DataFrame,
    policy: Policy,
    *,
    clocks: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    scheme: Literal["fractions", "every"] = "fractions",
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    every_hours: float | None = None,
    max_per_ticket: int = 12,
    metrics: Sequence[str] = DEFAULT_METRICS,
    label: Literal["clock", "source_made_sla"] = "clock",
    censoring: Literal["due", "known"] = "due",
) -> pd.DataFrame:
    """Landmark observations (columns :data:`LANDMARK_COLUMNS`), sorted by observation time.

    ``clocks`` (from :func:`slarisk.sla.clock.compute_clocks`) is computed when not given.
    ``landmark`` is the elapsed fraction (scheme ``fractions``) or the business hours since
    creation (scheme ``every``). Observations whose outcome is unknown (still open and not past
    due at ``now``) are left out; with ``censoring="due"`` also those whose nominal due time is
    after ``now`` (see the module docstring). ``now`` defaults to the end of the history.
    """
    if now is None:
        now = history_end(tickets, events)
    if clocks is None:
        clocks = compute_clocks(tickets, policy, events=events, now=now)
    c = clocks[clocks["metric"].isin(list(metrics))]
    if label == "source_made_sla":
        c = c[c["metric"] == "resolution"]
    t = tickets.set_index(s.TICKET_ID)
    ids = c[s.TICKET_ID].to_numpy()
    target = c["target_seconds"].to_numpy(np.float64)
    created = _ns(t[s.CREATED_AT].reindex(ids))
    stopped = _ns(c["stopped_at"])
    breached = c["breached"].astype(bool).to_numpy()
    due_final = _ns(c["due_at"])
    nat = np.iinfo(np.int64).min
    known_at = np.where(breached, due_final, stopped)
    known_at = np.where(stopped == nat, np.where(breached, due_final, nat), known_at)
    if label == "source_made_sla":
        made = t[s.SOURCE_MADE_SLA].reindex(ids)
        ok = made.notna().to_numpy()
        y = (~made.fillna(True).astype(bool)).to_numpy()
        known_at = np.where(stopped == nat, due_final, stopped)
    else:
        ok = known_at != nat
        y = breached
    ok = ok & np.isfinite(target) & (target > 0)
    cal_names = c["calendar"].astype(str).to_numpy()
    due_all = np.full(len(c), nat, dtype=np.int64)
    due_all[ok] = _add_business(policy, cal_names[ok], created[ok], target[ok])
    if censoring == "due":
        ok &= due_all <= pd.Timestamp(now).value
    elif censoring != "known":
        raise ValueError(f"censoring must be 'due' or 'known': {censoring}")
    base = np.flatnonzero(ok)

    if scheme == "fractions":
        offsets = np.asarray(sorted(fractions), dtype=np.float64)
        rep = np.repeat(base, len(offsets))
        off = np.tile(offsets, len(base))
        elapsed = off * target[rep]
        landmark = off
    else:
        if every_hours is None:
            raise ValueError("scheme 'every' needs every_hours")
        k = np.arange(max_per_ticket, dtype=np.float64)
        rep = np.repeat(base, len(k))
        elapsed = np.tile(k * every_hours * 3600.0, len(base))
        keep = elapsed < target[rep]
        rep, elapsed = rep[keep], elapsed[keep]
        landmark = elapsed / 3600.0

    at = _add_business(policy, cal_names[rep], created[rep], elapsed)
    at = np.where(elapsed == 0, created[rep], at)
    due_rep = due_all[rep]
    open_at = (stopped[rep] == nat) | (stopped[rep] > at)
    sel = open_at & (at < due_rep)

    rows = rep[sel]
    out = pd.DataFrame(
        {
            s.TICKET_ID: ids[rows],
            METRIC: c["metric"].to_numpy()[rows],
            "landmark": landmark[sel],
            s.AT: pd.to_datetime(at[sel], utc=True),
            s.CREATED_AT: pd.to_datetime(created[rows], utc=True),
            "target_seconds": target[rows],
            "elapsed_seconds": elapsed[sel],
            "due_at": pd.to_datetime(due_rep[sel], utc=True),
            "outcome_known_at": pd.to_datetime(known_at[rows], utc=True),
            "label": y[rows].astype(np.int8),
        }
    )
    for col in ATTRIBUTE_COLUMNS:
        vals = (
            t[col].reindex(out[s.TICKET_ID]) if col in t else pd.Series(s.UNKNOWN, index=out.index)
        )
        out[col] = pd.Series(np.asarray(vals, dtype=object)).fillna(s.UNKNOWN).to_numpy(object)
    for col in (s.AT, s.CREATED_AT, "due_at", "outcome_known_at"):
        out[col] = out[col].astype(s.TIMESTAMP_DTYPE)
    order = np.lexsort((out["landmark"].to_numpy(), out[s.AT].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


@dataclass(frozen=True)
class TrainingData:
    """A landmark set with its features.

    ``X``: feature frame (:func:`slarisk.risk.features.build_features`); ``y``: 0/1 labels;
    ``meta``: the landmark frame (ids, metric, landmark, times, attributes), same row order,
    sorted by observation time; ``context``: the indexes the features were computed from.
    """

    X: pd.DataFrame
    y: np.ndarray
    meta: pd.DataFrame
    priorities: tuple[str, ...]
    calendar: CalendarInfo
    context: FeatureContext

    def subset(self, mask: np.ndarray) -> TrainingData:
        """Rows where ``mask`` is true (order kept)."""
        idx = np.flatnonzero(mask)
        return TrainingData(
            self.X.iloc[idx].reset_index(drop=True),
            self.y[idx],
            self.meta.iloc[idx].reset_index(drop=True),
            self.priorities,
            self.calendar,
            self.context,
        )


def calendar_info(policy: Policy, years: Sequence[int] | None = None) -> CalendarInfo:
    """Timezone and holidays (public + closed dates of every business calendar) of a policy."""
    import holidays as hol  # large (every country's calendar): only for training sets

    yrs = list(years) if years is not None else list(range(2010, 2036))
    days: set[Any] = set()
    for spec in policy.calendars.values():
        if spec.always_open:
            continue
        days.update(spec.closed_dates)
        if spec.holidays is not None:
            days.update(
                hol.country_holidays(
                    spec.holidays.country, subdiv=spec.holidays.subdivision, years=yrs
                ).keys()
            )
    return CalendarInfo(timezone=policy.timezone, holidays=frozenset(days))


def resolution_due(tickets: pd.DataFrame, clocks: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Nominal resolution due time per ticket (created + target on its calendar, no pauses),
    int64 ns aligned with ``tickets`` (NaT = int64 min when the ticket has no target)."""
    c = clocks[clocks["metric"] == "resolution"]
    created = _ns(tickets[s.CREATED_AT])
    out = np.full(len(tickets), np.iinfo(np.int64).min, dtype=np.int64)
    pos = pd.Index(tickets[s.TICKET_ID]).get_indexer(c[s.TICKET_ID])
    target = c["target_seconds"].to_numpy(np.float64)
    ok = (pos >= 0) & np.isfinite(target)
    out[pos[ok]] = _add_business(
        policy, c["calendar"].astype(str).to_numpy()[ok], created[pos[ok]], target[ok]
    )
    return out


def history_end(tickets: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.Timestamp:
    """The latest timestamp of a history (created/first response/resolved, event times)."""
    cols = [c for c in (s.CREATED_AT, s.FIRST_RESPONSE_AT, s.RESOLVED_AT) if c in tickets]
    ends = [pd.Timestamp(tickets[c].max()) for c in cols]
    if events is not None and len(events):
        ends.append(pd.Timestamp(events[s.AT].max()))
    ends = [e for e in ends if not pd.isna(e)]
    return max(ends)


def build_training_data(
    tickets: pd.DataFrame,
    policy: Policy,
    *,
    events: pd.DataFrame | None = None,
    staffing: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    use_history: bool = True,
    use_staffing: bool = True,
    **landmark_options: Any,
) -> TrainingData:
    """Landmarks + features in one call (``landmark_options`` go to :func:`build_landmarks`).

    ``now`` (the end of the history, when outcomes are judged) defaults to the latest
    timestamp in the tickets and events, not the wall clock.
    """
    if now is None:
        now = history_end(tickets, events)

    clocks = compute_clocks(tickets, policy, events=events, now=now)
    lm = build_landmarks(tickets, policy, clocks=clocks, now=now, **landmark_options)
    outcomes = outcomes_from_clocks(clocks, tickets) if use_history else None
    due = resolution_due(tickets, clocks, policy)
    cal = calendar_info(policy)
    ctx = build_context(
        tickets,
        outcomes=outcomes,
        staffing=staffing if use_staffing else None,
        calendar=cal,
        priorities=policy.priorities,
        resolution_due=due,
    )
    priorities = tuple(policy.priorities)
    X = build_features(lm, ctx, priorities=priorities)
    return TrainingData(X, lm["label"].to_numpy(np.int64), lm, priorities, cal, ctx)
