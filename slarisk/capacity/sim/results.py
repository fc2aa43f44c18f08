"""Simulation results: :class:`SimResult` (flat records of all replications) and
:func:`combine`, which concatenates replications and computes SLA attainment per class and
metric with 95% t-intervals, breaches and expected service credits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slarisk.capacity.sim.compile import CompiledScenario
from slarisk.capacity.sim.records import ReplicationRecords
from slarisk.capacity.sim.required import required_by_interval


@dataclass(frozen=True)
class SimResult:
    """Flat records of all replications (every frame has a `replication` column).

    tickets: canonical tickets (group = team of the last touch; abandoned tickets have
      status "abandoned" and first_response_at = resolved_at = the abandonment time) + class,
      replication, wait_seconds (to the first touch or abandonment), handle_seconds, touches
      (done), abandoned, in_window (created in [warm-up, horizon), not backlog), backlog;
    events: customer-wait status events (ticket_id, at, status);
    kpis: per interval (and replication) arrivals, queue, agents, busy, occupancy, answered,
      abandoned, service_level; team_kpis: per interval, replication and team: agents
      (rostered), busy, occupancy; outcomes: per replication, class and metric counts;
    attainment: per class and metric, mean over replications with a 95% t-interval
      (class "ALL" = every ticket); credits: per replication, customer and month;
    summary: per replication counts (arrived, served, abandoned, in_system, breaches, credit),
      agent_hours (agents present over the horizon, drain excluded) and cost (agent_hours x
      the scenario's agent_hour_cost; NaN without one);
    required: per KPI interval of the horizon, the agents the expected demand requires by the
      formulas (:mod:`slarisk.capacity.sim.required`).
    """

    scenario_name: str
    seed: int
    replications: int
    tickets: pd.DataFrame
    events: pd.DataFrame
    kpis: pd.DataFrame
    outcomes: pd.DataFrame
    attainment: pd.DataFrame
    credits: pd.DataFrame
    summary: pd.DataFrame
    team_kpis: pd.DataFrame = field(default_factory=pd.DataFrame)
    currency: str = ""
    required: pd.DataFrame = field(default_factory=pd.DataFrame)

    def breaches(self) -> pd.DataFrame:
        """Mean breaches per replication by class and metric (with the 95% interval)."""
        return self.attainment[["class", "metric", "breaches_mean", "breaches_lo", "breaches_hi"]]

    def expected_credit(self) -> tuple[float, float, float]:
        """Expected service credit per run (mean, 95% lo, hi), in the policy's currency: a
        bootstrap interval, so it stays within the credits' range (>= 0)."""
        return bootstrap_interval(self.summary["credit"].to_numpy(dtype=float))


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi) of a t-interval over replication values (NaN-free); 1 value: lo=hi=mean."""
    from scipy.special import stdtrit  # lazy: scipy.special takes about 0.5 s to import

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2:
        return (m, m, m)
    h = float(stdtrit(x.size - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(x.size))
    return (m, m - h, m + h)


def bootstrap_interval(
    x: np.ndarray, level: float = 0.95, resamples: int = 4000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, lo, hi): percentile bootstrap interval of the mean over replication values
    (NaN-free; fixed ``seed``, so the same values give the same interval). Unlike a
    t-interval it never leaves the values' range (credits >= 0 stay >= 0); with few
    replications it is narrower than the t-interval. 1 value: lo = hi = mean."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2 or np.all(x == x[0]):
        return (m, m, m)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (m, float(lo), float(hi))


# --- combining replications ---------------------------------------------------------------------
def combine(model: CompiledScenario, reps: list[ReplicationRecords], *, seed: int) -> SimResult:
    """Concatenate replications and compute attainment with 95% t-intervals."""
    tickets = pd.concat([r.tickets for r in reps], ignore_index=True)
    events = pd.concat([r.events for r in reps], ignore_index=True)
    kpis = pd.concat([r.kpis for r in reps], ignore_index=True)
    team_kpis = pd.concat([r.team_kpis for r in reps], ignore_index=True)
    outs = []
    for r in reps:
        o = r.outcomes.copy()
        o.insert(0, "replication", r.replication)
        outs.append(o)
    outcomes = pd.concat(outs, ignore_index=True) if outs else pd.DataFrame()
    crs = []
    for r in reps:
        c = r.credits.copy()
        c.insert(0, "replication", r.replication)
        crs.append(c)
    credits = pd.concat(crs, ignore_index=True)
    R = len(reps)
    rows = []
    if len(outcomes):
        allc = outcomes.groupby(["replication", "metric"], as_index=False)[
            ["n", "met", "breached", "excluded", "undecided"]
        ].sum()
        allc.insert(1, "class", "ALL")
        full = pd.concat([outcomes, allc], ignore_index=True)
        for (cname, metric), g in full.groupby(["class", "metric"], sort=False):
            n = g["n"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                att = np.where(n > 0, g["met"].to_numpy() / np.maximum(n, 1), np.nan)
            m, lo, hi = t_interval(att)
            lo, hi = max(lo, 0.0), min(hi, 1.0)  # a proportion: clip the t-interval
            b = np.zeros(R)
            b[: len(g)] = g["breached"].to_numpy(dtype=float)
            bm, blo, bhi = t_interval(b)
            blo = max(blo, 0.0)  # counts are >= 0
            pooled = g["met"].sum() / g["n"].sum() if g["n"].sum() else math.nan
            goal = _goal(model, str(cname), str(metric))
            rows.append(
                {
                    "class": cname,
                    "metric": metric,
                    "goal": goal,
                    "attainment": m,
                    "lo": lo,
                    "hi": hi,
                    "pooled": pooled,
                    "tickets": int(g["n"].sum()),
                    "breaches_mean": bm,
                    "breaches_lo": blo,
                    "breaches_hi": bhi,
                }
            )
    attainment = pd.DataFrame(
        rows,
        columns=[
            "class",
            "metric",
            "goal",
            "attainment",
            "lo",
            "hi",
            "pooled",
            "tickets",
            "breaches_mean",
            "breaches_lo",
            "breaches_hi",
        ],
    )
    order = {name: i for i, name in enumerate([*model.class_names, "ALL"])}
    attainment = attainment.sort_values(
        ["class", "metric"], key=lambda col: col.map(order) if col.name == "class" else col
    ).reset_index(drop=True)
    rate = model.scenario.agent_hour_cost
    summary = pd.DataFrame(
        [
            {
                "replication": r.replication,
                **r.counts,
                "breaches": int(r.outcomes["breached"].sum()) if len(r.outcomes) else 0,
                "credit": float(r.credits["credit"].sum()) if len(r.credits) else 0.0,
                "agent_hours": (hours := agent_hours(model, r.kpis)),
                "cost": hours * rate if rate is not None else math.nan,
            }
            for r in reps
        ]
    )
    pol = model.policy
    return SimResult(
        scenario_name=model.scenario.name,
        seed=seed,
        replications=R,
        tickets=tickets,
        events=events,
        kpis=kpis,
        team_kpis=team_kpis,
        outcomes=outcomes,
        attainment=attainment,
        credits=credits,
        summary=summary,
        currency=pol.credits.currency if pol is not None and pol.credits is not None else "",
        required=required_by_interval(model),
    )


def agent_hours(model: CompiledScenario, kpis: pd.DataFrame) -> float:
    """Agent-hours present over the horizon (drain excluded) of one replication's KPIs."""
    if not len(kpis) or "present" not in kpis:
        return 0.0
    step = model.scenario.kpi_interval_minutes * 60.0
    t = pd.to_datetime(kpis["interval_start"], utc=True)
    rel = (t - t.min()).dt.total_seconds().to_numpy()
    # the share of each interval inside [0, horizon)
    inside = np.clip((model.horizon - rel) / step, 0.0, 1.0)
    return float((kpis["present"].to_numpy(dtype=float) * inside).sum() * step / 3600.0)


def _goal(model: CompiledScenario, cname: str, metric: str) -> float:
    pol = model.policy
    if pol is None or cname == "ALL":
        return math.nan
    c = model.scenario.classes[model.class_names.index(cname)]
    return pol.target_for(c.tier, c.priority, metric).goal


#: per-interval KPI columns (besides ``interval_start``) averaged by :func:`kpi_summary`
KPI_COLUMNS: tuple[str, ...] = (
    "arrivals",
    "queue",
    "agents",
    "busy",
    "occupancy",
    "answered",
    "abandoned",
    "service_level",
)


def kpi_summary(kpis: pd.DataFrame) -> pd.DataFrame:
    """Mean KPIs per interval across replications (for plots)."""
    return kpis.groupby("interval_start", as_index=False)[list(KPI_COLUMNS)].mean()
