"""SLA outcomes of one replication: counts per (class, metric) and service credits per
(customer, month). SLA clocks come from :func:`slarisk.sla.clock.compute_clocks` (business
hours, pauses, exceptions); nothing here re-implements a clock.

Conventions (documented, deliberate):

* Statistics cover tickets *created* in the measurement window [warm-up, horizon); backlog
  tickets and warm-up arrivals are simulated but not counted.
* first_response_at = start of the first touch; resolved_at = end of the last touch.
* An abandoned ticket (sync) gets first_response_at = resolved_at = its abandonment time and
  status ``abandoned``: its first-response clock stops when the customer leaves. It counts as
  a first-response *miss* when it waited beyond the target and is *excluded* when it left
  before the target (service level = answered within target / (answered + abandoned after
  target)); it is excluded from resolution attainment.
* A clock still open at the end of the run counts as a breach when already past due at the
  end, and is excluded otherwise (undecided).
* Expected service credits (when the policy has a credit schedule): the rule of
  ``slarisk sla report`` (:func:`slarisk.sla.report.credits`) applied to each replication's
  decided clocks: per customer, month of creation (policy timezone) and (tier, priority,
  metric) target, credit % from the bands; summed over the targets, capped, times the
  customer's monthly fee; summed over customer-months, averaged over replications.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.capacity.sim.compile import CompiledScenario
from slarisk.data.schema import TICKET_COLUMNS
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import Policy
from slarisk.sla.report import credits as credit_table

METRICS = ("first_response", "resolution")


def sla_outcomes(
    model: CompiledScenario,
    tickets: pd.DataFrame,
    events: pd.DataFrame,  # events of in-window tickets only
    end: float,
    wait: np.ndarray,
    is_ab: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Outcome counts per (class, metric), credits per (customer, month), first-response met."""
    sc = model.scenario
    win = tickets["in_window"].to_numpy()
    cols = ["class", "metric", "n", "met", "breached", "excluded", "undecided"]
    met_fr = np.full(len(tickets), np.nan)
    if model.policy is None:
        # no policy: first response against service_level_seconds only (if given)
        rows = []
        if sc.service_level_seconds is not None:
            t = sc.service_level_seconds
            answered = np.isfinite(wait) & ~is_ab
            met = answered & (wait <= t)
            miss = (is_ab & (wait > t)) | (answered & (wait > t))
            met_fr = np.where(met, 1.0, np.where(miss, 0.0, np.nan))
            for k, name in enumerate(model.class_names):
                m = win & (tickets["class"].to_numpy() == name)
                rows.append(
                    (
                        name,
                        "first_response",
                        int((m & (met | miss)).sum()),
                        int((m & met).sum()),
                        int((m & miss).sum()),
                        int((m & is_ab & ~miss).sum()),
                        int((m & ~met & ~miss & ~is_ab).sum()),
                    )
                )
                _ = k
        return (
            pd.DataFrame(rows, columns=cols),
            pd.DataFrame(columns=["customer", "month", "credit"]),
            met_fr,
        )
    sub = tickets.loc[win]
    ev = events if len(events) else None
    now = pd.Timestamp(model.start_ns + int(end * 1e9), tz="UTC")
    clocks = compute_clocks(sub[list(TICKET_COLUMNS)], model.policy, events=ev, now=now)
    nmet = len(METRICS)
    ab = np.repeat(sub["abandoned"].to_numpy(), nmet)
    metric = clocks["metric"].to_numpy()
    breached = clocks["breached"].to_numpy(dtype=bool)
    is_open = clocks["is_open"].to_numpy(dtype=bool)
    excluded = clocks["excluded_by"].notna().to_numpy()
    # abandoned: first response miss only when it waited beyond the target; no resolution
    excl = excluded | (ab & ~breached) | (ab & (metric == "resolution"))
    undecided = ~excl & is_open & ~breached
    decided = ~excl & ~undecided
    met = decided & ~breached
    miss = decided & breached
    cls = np.repeat(sub["class"].to_numpy(), nmet)
    frame = pd.DataFrame(
        {
            "class": cls,
            "metric": metric,
            "n": decided.astype(int),
            "met": met.astype(int),
            "breached": miss.astype(int),
            "excluded": excl.astype(int),
            "undecided": undecided.astype(int),
        }
    )
    outcomes = frame.groupby(["class", "metric"], sort=False, as_index=False).sum()
    fr_rows = metric == "first_response"
    vals = np.where(met, 1.0, np.where(miss, 0.0, np.nan))[fr_rows]
    met_fr[np.flatnonzero(win)] = vals
    credits = pd.DataFrame(columns=["customer", "month", "credit"])
    if model.policy.credits is not None:
        credits = _credits(model.policy, sub, clocks, nmet, excl, undecided, met)
    return outcomes, credits, met_fr


def _credits(
    policy: Policy,
    sub: pd.DataFrame,
    clocks: pd.DataFrame,
    nmet: int,
    excl: np.ndarray,
    undecided: np.ndarray,
    met: np.ndarray,
) -> pd.DataFrame:
    """Credits per (customer, month) of one replication, by the rule of ``slarisk sla report``
    (:func:`slarisk.sla.report.credits`: per customer, month of creation in the policy
    timezone and (tier, priority, metric) target, credit % from the bands, summed over the
    targets and capped) on the simulator's decided clocks (abandoned tickets as above)."""
    created = pd.to_datetime(sub["created_at"], utc=True)
    month = created.dt.tz_convert(policy.timezone).dt.tz_localize(None).dt.to_period("M")
    classified = pd.DataFrame(
        {
            "customer": np.repeat(sub["customer"].fillna("unknown").astype(str).to_numpy(), nmet),
            "month": np.repeat(month.astype(str).to_numpy(), nmet),
            "tier": clocks["tier"].to_numpy(),
            "priority": clocks["priority"].to_numpy(),
            "metric": clocks["metric"].to_numpy(),
            "status_class": np.select(
                [excl, undecided, met], ["excluded", "open_not_due", "met"], "breached"
            ),
            "goal": clocks["goal"].to_numpy(dtype=float),
        }
    )
    totals, _ = credit_table(classified, policy)
    return pd.DataFrame(
        {
            "customer": totals["customer"].astype(str).to_numpy(),
            "month": totals["month"].astype(str).to_numpy(),
            "credit": totals["amount"].to_numpy(dtype=float),
        }
    )
