"""Synthetic ticket history: a scenario run through the simulator with realistic imperfections.

Over 600 lines on purpose: one pipeline (roster, imperfections, simulation, canonical tables,
open snapshot), each step used only here; split it when a step gets a second user.

`generate_history(scenario, weeks, seed)` takes the scenario's planned staffing (shifts, weekly
rosters or a roster file), turns it into a per-interval roster and spoils it the way real
desks are spoiled:

- random absences: each team and day, every rostered agent is absent with probability
  ``absence_rate`` (the day's roster is thinned by the absent fraction);
- a few understaffed days (default one per fortnight, weekdays only): every team loses a
  fraction drawn from ``understaffed_cut``;
- day-to-day demand noise: each day's arrivals x a lognormal factor with mean 1 and
  standard deviation ``daily_volume_sd`` (busy days happen, as they do);
- a holiday volume spike: arrivals x ``spike_multiplier`` for ``spike_days`` days;
- volume growth: arrivals grow linearly by ``growth`` over the history (weekly steps), on top
  of the scenario's volume times ``volume_multiplier`` (default 1.1: more work than the roster
  was planned for, so the demo history runs near its SLA goals, some weeks below).

Two things real desks do are modelled as well, so the history stays a plausible baseline:

- closures: on the local dates every business-hours calendar of the scenario's SLA policy is
  closed (public holidays, ``closed_dates``), arrivals are x ``closure_volume`` and every team works
  its Sunday roster at the same local time of day (the weekend skeleton crew: here the voice
  team alone, which keeps the 24x7 P1 clocks served);
- recovery: at the start of each local day the desk books overtime and temporary staff while
  a team's backlog of unfinished work is above normal. The backlog is a daily fluid estimate in
  agent-hours: B(d+1) = max(0, B(d) + work arrived on day d - capacity on duty on day d), the
  work being the handle time of the tickets of the classes the team is first to serve (at
  least the class's mean work for a ticket the run left unfinished), the
  capacity its own agent-hours plus a share of every team serving those classes too (in
  proportion to the work). Day d gets ``planned x (1 + f)`` agents with
  f = clip((B(d) - normal) / (recovery_days x planned agent-hours of the day), 0, max_overtime)
  and normal = ``backlog_normal_days`` x the team's mean planned agent-hours per day, so an
  excess drains in about ``recovery_days`` working days. Overtime is planned (it raises
  ``planned_agents``) and then thinned by the day's absences like the rest of the roster.

The simulator then runs once (one replication, no drain) on the spoiled roster, so breaches
come from queueing on the actual workload and staffing, not from labels drawn at random.
(With recovery on, a first run on the roster without overtime gives the work per team and
day the fluid estimate uses; arrivals and work are common random numbers, so the second run
sees the same tickets, served by the roster with overtime.)
Outputs (canonical formats, see docs/architecture.md): tickets (with extra columns ``class``,
``wait_seconds``, ``handle_seconds``, ``touches``, ``abandoned``), status events (``new`` at
creation, ``open`` at first response, the simulator's ``pending``/``open`` customer waits,
``resolved``/``abandoned`` at the end), staffing as actually on duty (with
``planned_agents``), and the snapshot of tickets still open at the horizon.
Randomness: ``SeedSequence(seed)`` spawns one stream for the imperfections and one seed for
the simulator, so a seed reproduces the whole history.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import (
    Scenario,
    count_mean,
    duration_mean_seconds,
    load_scenario,
    scenario_from_dict,
)
from slarisk.capacity.sim import compile_scenario, simulate
from slarisk.errors import InputError
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import load_policy

#: customers, their regions and weights used to fill ``customer``/``region`` when the
#: scenario leaves them unknown (the policy's example credit schedule knows acme and globex).
CUSTOMERS: tuple[tuple[str, str, float], ...] = (
    ("acme", "EMEA", 0.30),
    ("globex", "AMER", 0.25),
    ("initech", "AMER", 0.15),
    ("umbrella", "EMEA", 0.15),
    ("hooli", "APAC", 0.15),
)
CATEGORIES: tuple[str, ...] = ("access", "software", "hardware", "network", "billing")


@dataclass(frozen=True)
class Imperfections:
    """How the planned staffing and demand are spoiled (see module docstring)."""

    absence_rate: float = 0.07
    understaffed_days: int | None = None  # None: one per fortnight (at least one)
    understaffed_cut: tuple[float, float] = (0.35, 0.55)
    spike_days: float = 4.0
    spike_multiplier: float = 1.6
    spike_at: float = 0.25  # spike start as a fraction of the horizon
    daily_volume_sd: float = 0.15
    growth: float = 0.0
    volume_multiplier: float = 1.1  # demand above what the roster was planned for
    interval_minutes: int = 30
    closure_volume: float | None = 0.2  # None: closures not modelled
    recovery_days: float | None = 3.0  # None: no overtime, a backlog drains on its own
    max_overtime: float = 0.3  # at most +30% of the day's planned agents
    backlog_normal_days: float = 0.5  # normal backlog, in days of planned capacity

    def __post_init__(self) -> None:
        if not 0 <= self.absence_rate < 1:
            raise InputError("absence_rate must be in [0, 1)", field="absence_rate")
        lo, hi = self.understaffed_cut
        if not 0 <= lo <= hi < 1:
            raise InputError(
                "understaffed_cut must satisfy 0 <= lo <= hi < 1", field="understaffed_cut"
            )
        if self.daily_volume_sd < 0:
            raise InputError("daily_volume_sd must be >= 0", field="daily_volume_sd")
        if self.spike_multiplier < 0 or self.spike_days < 0:
            raise InputError("spike_multiplier and spike_days must be >= 0", field="spike")
        if 1440 % self.interval_minutes:
            raise InputError("interval_minutes must divide a day", field="interval_minutes")
        if self.closure_volume is not None and self.closure_volume < 0:
            raise InputError("closure_volume must be >= 0", field="closure_volume")
        if self.recovery_days is not None and self.recovery_days <= 0:
            raise InputError("recovery_days must be > 0", field="recovery_days")
        if self.max_overtime < 0 or self.backlog_normal_days < 0:
            raise InputError(
                "max_overtime and backlog_normal_days must be >= 0", field="max_overtime"
            )


@dataclass(frozen=True)
class SyntheticHistory:
    """A generated history (canonical frames) and what was done to produce it."""

    tickets: pd.DataFrame
    events: pd.DataFrame
    staffing: pd.DataFrame
    open_tickets: pd.DataFrame
    now: pd.Timestamp
    scenario: Scenario
    understaffed_dates: list[str]
    spike: tuple[pd.Timestamp, pd.Timestamp] | None
    seed: int
    weeks: int
    imperfections: Imperfections
    seconds: dict[str, float] = field(default_factory=dict)
    closure_dates: list[str] = field(default_factory=list)

    def overtime_agent_hours(self) -> pd.Series:
        """Planned overtime per team, agent-hours (0 when recovery is off)."""
        s = self.staffing
        if "overtime_agents" not in s:
            return pd.Series(dtype=float)
        hours = s["overtime_agents"] * s["interval_minutes"] / 60.0
        return hours.groupby(s["team"].astype(str)).sum()

    def manifest(self) -> dict[str, Any]:
        """JSON-able description of the run."""
        t = self.tickets
        return {
            "scenario": self.scenario.name,
            "weeks": self.weeks,
            "seed": self.seed,
            "start": str(self.scenario.start),
            "now": str(self.now),
            "tickets": len(t),
            "events": len(self.events),
            "staffing_rows": len(self.staffing),
            "open_tickets": len(self.open_tickets),
            "abandoned": int(t["abandoned"].sum()) if "abandoned" in t else 0,
            "understaffed_dates": self.understaffed_dates,
            "spike": [str(x) for x in self.spike] if self.spike else None,
            "closure_dates": self.closure_dates,
            "overtime_agent_hours": {
                str(k): round(float(v), 1) for k, v in self.overtime_agent_hours().items()
            },
            "imperfections": asdict(self.imperfections),
            "seconds": self.seconds,
        }


def _roster_levels(
    sc: Scenario, start: pd.Timestamp, days: int, interval_minutes: int
) -> pd.DataFrame:
    """Planned agents per team at each interval start (from the compiled staffing)."""
    model = compile_scenario(sc)
    edges = np.arange(days * 1440 // interval_minutes) * interval_minutes * 60.0
    frames = []
    for ti, team in enumerate(model.team_names):
        ch = [(t, a) for t, k, a in model.staff_changes if k == ti]
        if ch:
            times = np.array([c[0] for c in ch])
            lev = np.array([c[1] for c in ch], dtype=float)
            idx = np.searchsorted(times, edges, side="right") - 1
            level = np.where(idx >= 0, lev[np.maximum(idx, 0)], 0.0)
        else:
            level = np.zeros(len(edges))
        frames.append(
            pd.DataFrame(
                {
                    "interval_start": start + pd.to_timedelta(edges, unit="s"),
                    "interval_minutes": interval_minutes,
                    "team": team,
                    "planned_agents": level,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def spoil_staffing(
    planned: pd.DataFrame,
    tz: str,
    imp: Imperfections,
    rng: np.random.Generator,
    exclude_dates: set[str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Apply absences and understaffed days to a planned roster; returns (roster, dates).

    The roster gets ``agents`` (on duty) and ``keep`` (the share of the plan on duty) beside
    ``planned_agents``; dates are local ISO dates of the understaffed days.
    """
    out = planned.copy()
    local = out["interval_start"].dt.tz_convert(tz)
    day = local.dt.strftime("%Y-%m-%d")
    key = day + "|" + out["team"].astype(str)
    keys = key.unique()
    peak = out.groupby(key)["planned_agents"].max().reindex(keys).to_numpy()
    absent = rng.binomial(peak.astype(np.int64), imp.absence_rate)
    frac = pd.Series(np.where(peak > 0, absent / np.maximum(peak, 1), 0.0), index=keys)
    keep = 1.0 - key.map(frac).to_numpy()
    days = sorted(day.unique())
    weekdays = [
        d for d in days if pd.Timestamp(d).day_of_week < 5 and d not in (exclude_dates or set())
    ]
    n_under = imp.understaffed_days
    if n_under is None:
        n_under = max(1, len(days) // 14)
    n_under = min(n_under, len(weekdays))
    chosen = sorted(rng.choice(weekdays, n_under, replace=False).tolist()) if n_under else []
    cut = pd.Series(rng.uniform(*imp.understaffed_cut, n_under) if n_under else [], index=chosen)
    keep = keep * (1.0 - day.map(cut).fillna(0.0).to_numpy())
    out["agents"] = np.floor(out["planned_agents"].to_numpy() * keep + 0.5)
    out["keep"] = keep
    return out, [str(d) for d in chosen]


def closure_dates(policy: Any, start: pd.Timestamp, days: int, tz: str) -> list[str]:
    """Local ISO dates of [start, start + days) on which every business-hours calendar of the
    policy is closed (holidays and ``closed_dates``; 24x7 calendars are ignored). A date only
    some calendars close (e.g. one still open for gold customers) is a working day."""
    day0 = start.tz_convert(tz).normalize()
    local = [(day0 + pd.Timedelta(days=d)).date() for d in range(days)]
    closed: set[Any] | None = None
    for name, spec in policy.calendars.items():
        if not spec.always_open:
            cal = policy.business_calendar(name)
            days_off = cal.closed_days(local[0].year, local[-1].year)
            closed = days_off if closed is None else closed & days_off
    return [str(d) for d in local if d in (closed or set())]


def close_roster(planned: pd.DataFrame, tz: str, dates: list[str]) -> pd.DataFrame:
    """The planned roster with each closure date staffed like a Sunday (the latest Sunday on or
    before it in the roster, else the first one): each team's agents at the same local time."""
    if not dates:
        return planned
    out = planned.copy()
    local = out["interval_start"].dt.tz_convert(tz)
    day = local.dt.strftime("%Y-%m-%d").to_numpy()
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    sundays = np.array(sorted(set(day[local.dt.day_of_week.to_numpy() == 6])))
    sunday_level = pd.Series(
        out["planned_agents"].to_numpy(),
        index=pd.MultiIndex.from_arrays([day, out["team"].astype(str).to_numpy(), minute]),
    )
    sunday_level = sunday_level[~sunday_level.index.duplicated()]
    level = out["planned_agents"].to_numpy(dtype=float).copy()
    for d in dates:
        rows = np.flatnonzero(day == d)
        if not len(rows):
            continue
        if len(sundays):
            k = int(np.searchsorted(sundays, d, side="right")) - 1
            ref = sundays[max(k, 0)]
            keys = pd.MultiIndex.from_arrays(
                [np.full(len(rows), ref), out["team"].astype(str).to_numpy()[rows], minute[rows]]
            )
            level[rows] = sunday_level.reindex(keys).fillna(0.0).to_numpy()
        else:
            level[rows] = 0.0
    out["planned_agents"] = level
    return out


def _served_primaries(sc: Scenario) -> dict[str, list[str]]:
    """Team -> the primary teams (see `_team_of_class`) of the classes it serves."""
    primary = _team_of_class(sc)
    out: dict[str, list[str]] = {}
    for t in sc.staffing.teams:
        names = [c.name for c in sc.classes] if "*" in t.serves else list(t.serves)
        out[t.name] = sorted({primary[c] for c in names if c in primary})
    return out


def _on_duty(planned: np.ndarray, keep: np.ndarray, factor: float) -> np.ndarray:
    """Agents on duty when the planned roster is raised by ``factor`` and thinned by ``keep``."""
    raised = np.floor(planned * factor + 0.5)
    return np.floor(raised * keep + 0.5)


def book_overtime(
    roster: pd.DataFrame,
    work: pd.DataFrame,
    serves: dict[str, list[str]],
    tz: str,
    imp: Imperfections,
) -> pd.DataFrame:
    """Raise each primary team's day roster while its fluid backlog is above normal.

    ``roster``: interval_start, interval_minutes, team, planned_agents, agents, keep (the share
    of the plan on duty); ``work``: agent-hours of work arrived per local day (index, ISO) and
    primary team (columns); ``serves``: team -> primary teams it works for. Returns the roster
    with raised ``planned_agents``/``agents`` and ``overtime_agents`` (see module docstring).
    """
    out = roster.copy()
    out["overtime_agents"] = 0.0
    if imp.recovery_days is None or work.empty:
        return out
    day = out["interval_start"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d").to_numpy()
    team = out["team"].astype(str).to_numpy()
    hours = out["interval_minutes"].to_numpy(dtype=float) / 60.0
    plan = out["planned_agents"].to_numpy(dtype=float)
    keep = out["keep"].to_numpy(dtype=float)
    primaries = [t for t in work.columns if t in serves.get(t, [])]
    days = sorted(set(day))
    rows = {(d, t): np.flatnonzero((day == d) & (team == t)) for d in days for t in serves}
    plan_hours = {k: float((plan[r] * hours[r]).sum()) for k, r in rows.items()}
    normal = {
        t: imp.backlog_normal_days * np.mean([plan_hours[(d, t)] for d in days]) for t in primaries
    }
    backlog = dict.fromkeys(primaries, 0.0)
    new_plan, new_agents = plan.copy(), np.floor(plan * keep + 0.5)
    for d in days:
        arrived = {t: float(work[t].get(d, 0.0)) for t in primaries}
        capacity = dict.fromkeys(primaries, 0.0)
        for s, served in serves.items():
            r = rows[(d, s)]
            factor = 1.0
            if s in primaries and plan_hours[(d, s)] > 0:
                excess = backlog[s] - normal[s]
                f = excess / (imp.recovery_days * plan_hours[(d, s)])
                factor = 1.0 + float(np.clip(f, 0.0, imp.max_overtime))
            new_plan[r] = np.floor(plan[r] * factor + 0.5)
            new_agents[r] = _on_duty(plan[r], keep[r], factor)
            cap = float((new_agents[r] * hours[r]).sum())
            mine = [t for t in served if t in capacity]
            need = np.array([backlog[t] + arrived[t] for t in mine])
            share = need / need.sum() if need.sum() > 0 else np.full(len(mine), 1 / len(mine))
            for t, w in zip(mine, share, strict=True):
                capacity[t] += cap * float(w)
        for t in primaries:
            backlog[t] = max(0.0, backlog[t] + arrived[t] - capacity[t])
    out["overtime_agents"] = new_plan - plan
    out["planned_agents"] = new_plan
    out["agents"] = new_agents
    return out


def _work_by_team_day(sim_tickets: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """Work (agent-hours) of the tickets created per local day, by primary team: the handle
    time of a finished ticket, at least its class's mean work (handle x touches) for one left
    unfinished (none done while it starves in a queue: the backlog still shows)."""
    t = sim_tickets[~sim_tickets["backlog"]]
    cls = t["class"].astype(str)
    team = cls.map(_team_of_class(sc))
    day = t["created_at"].dt.tz_convert(sc.timezone).dt.strftime("%Y-%m-%d")
    done = t["handle_seconds"].astype(float)
    finished = t["resolved_at"].notna() | t["abandoned"].astype(bool)
    full = {c.name: duration_mean_seconds(c.handle) * count_mean(c.touches) for c in sc.classes}
    expected = cls.map(full).fillna(0.0).to_numpy()
    work = np.where(finished, done, np.maximum(done, expected))
    hours = pd.Series(work / 3600.0, index=t.index)
    return hours.groupby([day.to_numpy(), team.to_numpy()]).sum().unstack(fill_value=0)


def _customers(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    names = np.array([c[0] for c in CUSTOMERS], dtype=object)
    regions = np.array([c[1] for c in CUSTOMERS], dtype=object)
    w = np.array([c[2] for c in CUSTOMERS])
    idx = rng.choice(len(CUSTOMERS), n, p=w / w.sum())
    return names[idx], regions[idx]


def _team_of_class(sc: Scenario) -> dict[str, str]:
    """Class name -> the first team that names it explicitly (else the first '*' team)."""
    out: dict[str, str] = {}
    for c in sc.classes:
        explicit = [t.name for t in sc.staffing.teams if c.name in t.serves]
        wild = [t.name for t in sc.staffing.teams if "*" in t.serves]
        out[c.name] = (explicit or wild or ["unknown"])[0]
    return out


def generate_history(
    scenario: Scenario | str | Path,
    weeks: int = 8,
    seed: int = 0,
    imperfections: Imperfections | None = None,
    workdir: str | Path | None = None,
) -> SyntheticHistory:
    """Simulate ``weeks`` weeks of a scenario with staffing imperfections (see module doc).

    ``workdir`` receives the spoiled roster file the simulated scenario reads (a temporary
    folder when None).
    """
    import tempfile
    import time

    t0 = time.perf_counter()
    sc = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    imp = imperfections or Imperfections()
    if weeks < 1:
        raise InputError("weeks must be >= 1", field="weeks")
    if sc.arrivals.replay is not None:
        raise InputError(
            "a replay scenario cannot be stretched to N weeks", field="arrivals.replay"
        )
    seq = np.random.SeedSequence(seed)
    imp_seq, sim_seq, attr_seq = seq.spawn(3)
    rng = np.random.default_rng(imp_seq)
    days = weeks * 7
    start = pd.Timestamp(sc.start).tz_convert("UTC")
    base = sc.model_dump(mode="python", exclude={"base_dir"})
    base.update(horizon_days=float(days), horizon_hours=None, warmup_hours=0.0, drain=False)
    planned_sc = scenario_from_dict(base, path=sc.name, base_dir=sc.base_dir)
    planned = _roster_levels(planned_sc, start, days, imp.interval_minutes)
    spike = None
    spikes = list(base["arrivals"].get("spikes") or [])
    exclude: set[str] = set()
    if imp.spike_days > 0 and imp.spike_multiplier != 1.0:
        s0 = (start + pd.Timedelta(days=days * imp.spike_at)).tz_convert(sc.timezone).normalize()
        s1 = s0 + pd.Timedelta(days=imp.spike_days)
        spike = (s0.tz_convert("UTC"), s1.tz_convert("UTC"))
        spikes.append(
            {
                "name": "holiday_spike",
                "start": spike[0].to_pydatetime(),
                "end": spike[1].to_pydatetime(),
                "multiplier": imp.spike_multiplier,
            }
        )
        exclude = {str(d.date()) for d in pd.date_range(s0, s1, freq="D")}
    if imp.daily_volume_sd > 0:
        sigma2 = math.log1p(imp.daily_volume_sd**2)  # lognormal with mean 1 and that sd
        factors = rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size=days)
        day0 = start.tz_convert(sc.timezone).normalize()
        for d, factor in enumerate(factors):
            spikes.append(
                {
                    "name": f"daily_noise_d{d + 1}",
                    "start": (day0 + pd.Timedelta(days=d)).tz_convert("UTC").to_pydatetime(),
                    "end": (day0 + pd.Timedelta(days=d + 1)).tz_convert("UTC").to_pydatetime(),
                    "multiplier": float(factor),
                }
            )
    if imp.growth and weeks > 1:
        for w in range(weeks):
            spikes.append(
                {
                    "name": f"growth_w{w + 1}",
                    "start": (start + pd.Timedelta(weeks=w)).to_pydatetime(),
                    "end": (start + pd.Timedelta(weeks=w + 1)).to_pydatetime(),
                    "multiplier": 1.0 + imp.growth * w / (weeks - 1),
                }
            )
    closed: list[str] = []
    if imp.closure_volume is not None and sc.policy is not None:
        policy = load_policy(str(sc.resolve(sc.policy)))
        closed = closure_dates(policy, start, days, sc.timezone)
        planned = close_roster(planned, sc.timezone, closed)
        for iso in closed:
            d0 = pd.Timestamp(iso).tz_localize(sc.timezone)
            d1 = (d0 + pd.Timedelta(days=1)).normalize()
            spikes.append(
                {
                    "name": f"closure_{iso}",
                    "start": d0.tz_convert("UTC").to_pydatetime(),
                    "end": d1.tz_convert("UTC").to_pydatetime(),
                    "multiplier": imp.closure_volume,
                }
            )
    roster, under = spoil_staffing(planned, sc.timezone, imp, rng, exclude | set(closed))
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="slarisk-gen-")
        wd = Path(tmp.name)
    else:
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
    roster_path = (wd / "roster_on_duty.parquet").resolve()
    teams = base["staffing"]["teams"]
    base["staffing"] = {"teams": teams, "roster_file": str(roster_path)}
    base["arrivals"]["spikes"] = spikes
    base["arrivals"]["multiplier"] = (
        float(base["arrivals"].get("multiplier", 1.0)) * imp.volume_multiplier
    )
    sim_seed = int(sim_seq.generate_state(1)[0])

    def run(r: pd.DataFrame) -> tuple[Scenario, Any]:
        r[["interval_start", "interval_minutes", "team", "agents"]].to_parquet(
            roster_path, index=False
        )
        s = scenario_from_dict(base, path=f"{sc.name} (generated)", base_dir=sc.base_dir)
        return s, simulate(s, replications=1, seed=sim_seed)

    t1 = time.perf_counter()
    run_sc, res = run(roster)
    if imp.recovery_days is not None:
        work = _work_by_team_day(res.tickets, run_sc)
        roster = book_overtime(roster, work, _served_primaries(run_sc), sc.timezone, imp)
        run_sc, res = run(roster)
    else:
        roster["overtime_agents"] = 0.0
    t2 = time.perf_counter()
    if tmp is not None:
        tmp.cleanup()
    now = start + pd.Timedelta(days=days)
    tickets, events = _canonical(
        res.tickets, res.events, run_sc, now, np.random.default_rng(attr_seq)
    )
    open_t = tickets[tickets["resolved_at"].isna()].copy()
    open_t["snapshot_at"] = now
    cols = ["interval_start", "interval_minutes", "team", "agents", "planned_agents"]
    staffing = roster[[*cols, "overtime_agents"]]
    t3 = time.perf_counter()
    return SyntheticHistory(
        tickets=tickets,
        events=events,
        staffing=staffing.reset_index(drop=True),
        open_tickets=open_t.reset_index(drop=True),
        now=now,
        scenario=run_sc,
        understaffed_dates=under,
        spike=spike,
        seed=seed,
        weeks=weeks,
        imperfections=imp,
        seconds={"prepare": t1 - t0, "simulate": t2 - t1, "collect": t3 - t2, "total": t3 - t0},
        closure_dates=closed,
    )


def _canonical(
    sim_tickets: pd.DataFrame,
    sim_events: pd.DataFrame,
    sc: Scenario,
    now: pd.Timestamp,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulator records -> canonical tickets and status events with fresh ids."""
    t = sim_tickets[~sim_tickets["backlog"]].sort_values("created_at", kind="stable")
    t = t.reset_index(drop=True)
    n = len(t)
    width = max(6, len(str(n)))
    new_ids = np.array([f"SYN-{i + 1:0{width}d}" for i in range(n)], dtype=object)
    id_map = pd.Series(new_ids, index=t["ticket_id"].to_numpy())
    cust, region = _customers(n, rng)
    given = t["customer"].astype(str).to_numpy() != "unknown"
    cust = np.where(given, t["customer"].astype(str).to_numpy(), cust)
    team = _team_of_class(sc)
    category = np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)]
    fr = t["first_response_at"].where(t["first_response_at"] <= now)
    res = t["resolved_at"].where(t["resolved_at"] <= now)
    status = t["status"].astype(str).to_numpy()
    out = pd.DataFrame(
        {
            "ticket_id": new_ids,
            "created_at": t["created_at"].astype("datetime64[ns, UTC]"),
            "first_response_at": fr.astype("datetime64[ns, UTC]"),
            "resolved_at": res.astype("datetime64[ns, UTC]"),
            "priority": t["priority"].astype(str),
            "tier": t["tier"].astype(str),
            "region": region,
            "service_type": t["channel"]
            .map({"phone": "voice", "chat": "voice"})
            .fillna("request")
            .astype(str),
            "channel": t["channel"].astype(str),
            "customer": cust,
            "category": category,
            "group": t["class"].map(team).astype(str),
            "status": status,
            "class": t["class"].astype(str),
            "wait_seconds": t["wait_seconds"].astype(float),
            "handle_seconds": t["handle_seconds"].astype(float),
            "touches": t["touches"].astype(np.int64),
            "abandoned": t["abandoned"].astype(bool),
        }
    )
    ev = sim_events[sim_events["ticket_id"].isin(id_map.index)]
    sim_ev = pd.DataFrame(
        {
            "ticket_id": id_map.reindex(ev["ticket_id"].to_numpy()).to_numpy(),
            "at": ev["at"].astype("datetime64[ns, UTC]").to_numpy(),
            "status": ev["status"].astype(str).to_numpy(),
            "order": 1,
        }
    )
    created = pd.DataFrame(
        {"ticket_id": new_ids, "at": out["created_at"].to_numpy(), "status": "new", "order": 0}
    )
    resp = out[out["first_response_at"].notna() & ~out["abandoned"]]
    responded = pd.DataFrame(
        {
            "ticket_id": resp["ticket_id"].to_numpy(),
            "at": resp["first_response_at"].to_numpy(),
            "status": "open",
            "order": 0,
        }
    )
    fin = out[out["resolved_at"].notna()]
    final = pd.DataFrame(
        {
            "ticket_id": fin["ticket_id"].to_numpy(),
            "at": fin["resolved_at"].to_numpy(),
            "status": np.where(fin["abandoned"], "abandoned", "resolved"),
            "order": 2,
        }
    )
    events = pd.concat([created, responded, sim_ev, final], ignore_index=True)
    events = events[events["at"] <= now]
    events = events.sort_values(["ticket_id", "at", "order"], kind="stable")
    events = events.drop(columns="order").reset_index(drop=True)
    events["at"] = events["at"].astype("datetime64[ns, UTC]")
    return out, events


def write_history(hist: SyntheticHistory, out_dir: str | Path) -> dict[str, Path]:
    """Write tickets, events, staffing, open tickets (Parquet) and manifest.json to a folder."""
    d = Path(out_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder: {exc.strerror}", path=str(d)) from None
    paths = {
        "tickets": d / "tickets.parquet",
        "events": d / "events.parquet",
        "staffing": d / "staffing.parquet",
        "open_tickets": d / "open_tickets.parquet",
        "manifest": d / "manifest.json",
    }
    hist.tickets.to_parquet(paths["tickets"], index=False)
    hist.events.to_parquet(paths["events"], index=False)
    hist.staffing.to_parquet(paths["staffing"], index=False)
    hist.open_tickets.to_parquet(paths["open_tickets"], index=False)
    paths["manifest"].write_text(
        json.dumps(hist.manifest(), indent=2, default=str), encoding="utf-8"
    )
    return paths


def daily_breach_table(
    tickets: pd.DataFrame,
    staffing: pd.DataFrame,
    policy: Any,
    events: pd.DataFrame | None = None,
    now: Any = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Per local creation date: tickets, breach rate (any metric), agents on duty / planned.

    A diagnostic of how breaches depend on staffing (used by tests and the demo).
    """
    closed = tickets
    clocks = compute_clocks(closed, policy, events, now=now)
    br = clocks.groupby("ticket_id")["breached"].any()
    t = closed.set_index("ticket_id")
    day = t["created_at"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d")
    per = pd.DataFrame({"day": day, "breached": br.reindex(t.index).fillna(False).astype(bool)})
    out = per.groupby("day").agg(tickets=("breached", "size"), breach_rate=("breached", "mean"))
    sday = staffing["interval_start"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d")
    st = staffing.groupby(sday)[["agents", "planned_agents"]].sum()
    out = out.join(st, how="left")
    out["staffed_ratio"] = out["agents"] / out["planned_agents"].where(out["planned_agents"] > 0)
    out["weekday"] = pd.to_datetime(out.index).day_of_week
    return out
