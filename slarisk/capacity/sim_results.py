"""Simulation results: per-ticket records as canonical tickets, status events, per-interval
KPIs, SLA attainment per class and metric with 95% intervals, breaches and service credits.

Everything here is vectorised over the engine's raw records (seconds since the scenario
start). SLA clocks come from :func:`slarisk.sla.clock.compute_clocks` (business hours, pauses,
exceptions); nothing here re-implements a clock.

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

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from slarisk.capacity.sim import CompiledScenario, Draws, EngineOutput

METRICS = ("first_response", "resolution")


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
    summary: per replication counts (arrived, served, abandoned, in_system, breaches, credit).
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

    def breaches(self) -> pd.DataFrame:
        """Mean breaches per replication by class and metric (with the 95% interval)."""
        return self.attainment[["class", "metric", "breaches_mean", "breaches_lo", "breaches_hi"]]

    def expected_credit(self) -> tuple[float, float, float]:
        """Expected service credit per run (mean, 95% lo, hi), in the policy's currency."""
        return t_interval(self.summary["credit"].to_numpy(dtype=float))


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi) of a t-interval over replication values (NaN-free); 1 value: lo=hi=mean."""
    from scipy.special import stdtrit

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2:
        return (m, m, m)
    h = float(stdtrit(x.size - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(x.size))
    return (m, m - h, m + h)


# --- span integrals ---------------------------------------------------------------------------
def span_average(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average number of open spans [start, end) in each bin of `edges` (vectorised)."""
    starts = np.sort(np.asarray(starts, dtype=float))
    ends = np.sort(np.asarray(ends, dtype=float))

    def integral(t: np.ndarray) -> np.ndarray:
        # integral_0^t of #spans open = sum_{a<t}(t-a) - sum_{b<t}(t-b)
        na = np.searchsorted(starts, t)
        nb = np.searchsorted(ends, t)
        ca = np.concatenate(([0.0], np.cumsum(starts)))
        cb = np.concatenate(([0.0], np.cumsum(ends)))
        return (t * na - ca[na]) - (t * nb - cb[nb])

    f = integral(np.asarray(edges, dtype=float))
    return np.diff(f) / np.diff(edges)


def step_average(times: np.ndarray, levels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of a right-continuous step function (level[i] from times[i]) per bin."""
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if times.size == 0:
        return np.zeros(len(edges) - 1)
    knots = np.concatenate((times, [max(edges[-1], times[-1])]))
    cum = np.concatenate(([0.0], np.cumsum(levels * np.diff(knots))))
    f = np.interp(edges, knots, cum, left=0.0)
    return np.diff(f) / np.diff(edges)


def total_staffing(model: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    """Change times (s) and total agents rostered across teams after each change."""
    level = [0] * len(model.team_names)
    times: list[float] = []
    totals: list[int] = []
    for t, team, a in model.staff_changes:
        level[team] = a
        if times and times[-1] == t:
            totals[-1] = sum(level)
        else:
            times.append(t)
            totals.append(sum(level))
    return np.asarray(times), np.asarray(totals)


def _cat(codes: np.ndarray, labels: list[str]) -> Any:
    """Categorical of labels[codes] (labels may repeat)."""
    uniq = list(dict.fromkeys(labels))
    remap = np.array([uniq.index(x) for x in labels], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(uniq))


# --- one replication ----------------------------------------------------------------------------
def _ns(start_ns: int, secs: np.ndarray) -> pd.DatetimeIndex:
    ok = np.isfinite(secs)
    vals = np.where(ok, start_ns + np.rint(np.where(ok, secs, 0) * 1e9), 0).astype(np.int64)
    arr = vals.astype("datetime64[ns]")
    arr[~ok] = np.datetime64("NaT")
    return pd.DatetimeIndex(arr).tz_localize("UTC")


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
    wait = (
        np.where(np.isfinite(out.first_start), out.first_start, np.where(is_ab, abandoned, np.nan))
        - d.t
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ids.to_numpy(),
            "created_at": _ns(model.start_ns, d.created),
            "first_response_at": _ns(model.start_ns, fr),
            "resolved_at": _ns(model.start_ns, resolved),
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
    ev_t = np.concatenate((out.wait_start, out.wait_end))
    ev_ticket = np.concatenate((out.wait_ticket, out.wait_ticket))
    wait_status = np.array([c.wait_status for c in cdef], dtype=object)
    ev_status = np.concatenate(
        (wait_status[cls[out.wait_ticket]], np.full(out.wait_ticket.size, "open", dtype=object))
    )
    keep = ev_t <= end
    order = np.lexsort((ev_t[keep], ev_ticket[keep]))
    events = pd.DataFrame(
        {
            "ticket_id": ids.to_numpy()[ev_ticket[keep][order]],
            "at": _ns(model.start_ns, ev_t[keep][order]),
            "status": ev_status[keep][order],
            "replication": rep,
        }
    )
    ev_in_window = in_window[ev_ticket[keep][order]]
    outcomes, credits, met_fr = _sla(model, tickets, events[ev_in_window], end, wait, is_ab)
    kpis = _kpis(model, d, out, end, abandoned, in_service, met_fr, rep)
    team_kpis = _team_kpis(model, out, end, kpis["interval_start"], rep)
    counts = {
        "arrived": int(n),
        "served": int(is_res.sum()),
        "abandoned": int(is_ab.sum()),
        "in_system": int(n - is_res.sum() - is_ab.sum()),
    }
    return ReplicationRecords(rep, tickets, events, kpis, team_kpis, outcomes, credits, counts)


def _sla(
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
    from slarisk.sla.clock import compute_clocks

    sub = tickets.loc[win]
    ev = events if len(events) else None
    now = pd.Timestamp(model.start_ns + int(end * 1e9), tz="UTC")
    base_cols = [
        "ticket_id",
        "created_at",
        "first_response_at",
        "resolved_at",
        "priority",
        "tier",
        "region",
        "service_type",
        "channel",
        "customer",
        "category",
        "group",
        "status",
    ]
    clocks = compute_clocks(sub[base_cols], model.policy, events=ev, now=now)
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
    policy: Any,
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
    from slarisk.sla.report import credits as credit_table

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


def _team_kpis(
    model: CompiledScenario, out: EngineOutput, end: float, starts: pd.Series, rep: int
) -> pd.DataFrame:
    """Per team and interval: rostered agents, busy agents (time averages), occupancy."""
    step = model.scenario.kpi_interval_minutes * 60.0
    edges = np.arange(len(starts) + 1) * step
    frames = []
    for ti, team in enumerate(model.team_names):
        m = out.seg_team == ti
        busy = span_average(
            out.seg_start[m], np.minimum(out.seg_start[m] + out.seg_dur[m], end), edges
        )
        ch = [(t, a) for t, k, a in model.staff_changes if k == ti]
        agents = step_average(np.array([c[0] for c in ch]), np.array([c[1] for c in ch]), edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            occ = np.where(agents > 0, busy / agents, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "replication": rep,
                    "interval_start": starts.to_numpy(),
                    "team": team,
                    "agents": agents,
                    "busy": busy,
                    "occupancy": occ,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _kpis(
    model: CompiledScenario,
    d: Draws,
    out: EngineOutput,
    end: float,
    abandoned: np.ndarray,
    in_service: np.ndarray,
    met_fr: np.ndarray,
    rep: int,
) -> pd.DataFrame:
    """Per-interval KPIs over [0, max(horizon, end)) in kpi_interval_minutes bins."""
    step = model.scenario.kpi_interval_minutes * 60.0
    top = max(model.horizon, end)
    edges = np.arange(0.0, top + step, step)
    edges = edges[edges <= top + step - 1e-9]
    if edges[-1] < top:
        edges = np.append(edges, edges[-1] + step)
    nb = len(edges) - 1
    n = len(d.t)
    # waiting spans: first touch from arrival, later touches from the end of the customer wait
    seg_order = np.lexsort((out.seg_start, out.seg_ticket))
    st, ss = out.seg_ticket[seg_order], out.seg_start[seg_order]
    first_seg = np.ones(st.size, dtype=bool)
    first_seg[1:] = st[1:] != st[:-1]
    w_order = np.lexsort((out.wait_start, out.wait_ticket))
    wt, we = out.wait_ticket[w_order], out.wait_end[w_order]
    w_first = np.full(n, -1, dtype=np.int64)
    if wt.size:
        uniq, idx = np.unique(wt, return_index=True)
        w_first[uniq] = idx
    touch_ix = np.arange(st.size) - np.maximum.accumulate(
        np.where(first_seg, np.arange(st.size), 0)
    )
    entry = np.where(
        first_seg,
        d.t[st],
        we[np.clip(w_first[st] + touch_ix - 1, 0, max(wt.size - 1, 0))] if wt.size else d.t[st],
    )
    q_start = [entry]
    q_end = [ss]
    ab = np.isfinite(abandoned)
    q_start.append(d.t[ab])
    q_end.append(abandoned[ab])
    done = np.bincount(out.seg_ticket, minlength=n)
    waiting = ~np.isfinite(out.resolved) & ~ab & ~in_service
    last_we = np.full(n, -np.inf)
    if out.wait_ticket.size:
        np.maximum.at(last_we, out.wait_ticket, out.wait_end)
    wq = waiting & ((done == 0) | (last_we <= end))
    q_start.append(np.where(done[wq] == 0, d.t[wq], last_we[wq]))
    q_end.append(np.full(int(wq.sum()), end))
    queue = span_average(np.concatenate(q_start), np.concatenate(q_end), edges)
    busy = span_average(out.seg_start, np.minimum(out.seg_start + out.seg_dur, end), edges)
    ct, cl = total_staffing(model)
    agents = step_average(ct, cl, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        occ = np.where(agents > 0, busy / agents, np.nan)
    arr_bin = np.clip(np.searchsorted(edges, d.t, side="right") - 1, 0, nb - 1)
    arrivals = np.bincount(arr_bin, minlength=nb)[:nb]
    fs = out.first_start[np.isfinite(out.first_start)]
    answered = np.bincount(
        np.clip(np.searchsorted(edges, fs, side="right") - 1, 0, nb - 1), minlength=nb
    )[:nb]
    abd = abandoned[ab]
    abandons = np.bincount(
        np.clip(np.searchsorted(edges, abd, side="right") - 1, 0, nb - 1), minlength=nb
    )[:nb]
    ok = np.isfinite(met_fr)
    sl_n = np.bincount(arr_bin[ok], minlength=nb)[:nb]
    sl_met = np.bincount(arr_bin[ok], weights=met_fr[ok], minlength=nb)[:nb]
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(sl_n > 0, sl_met / np.maximum(sl_n, 1), np.nan)
    return pd.DataFrame(
        {
            "replication": rep,
            "interval_start": _ns(model.start_ns, edges[:-1]),
            "arrivals": arrivals,
            "queue": queue,
            "agents": agents,
            "busy": busy,
            "occupancy": occ,
            "answered": answered,
            "abandoned": abandons,
            "service_level": sl,
        }
    )


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
    summary = pd.DataFrame(
        [
            {
                "replication": r.replication,
                **r.counts,
                "breaches": int(r.outcomes["breached"].sum()) if len(r.outcomes) else 0,
                "credit": float(r.credits["credit"].sum()) if len(r.credits) else 0.0,
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
    )


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
