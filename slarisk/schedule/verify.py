"""Verify a roster by simulation and repair it until every class meets its goal.

The roster's net agents per (team, interval) become the scenario's ``staffing.weekly`` rows
(built in code from the scenario mapping, the one scenario format), simulated for ``weeks``
weeks with common random numbers (the same seed for every round, so rounds differ only by
staffing). A (class, metric) passes when the lower end of its 95 % attainment interval is at
least the goal. Round 0 is the Erlang-only roster; costs before and after repair are reported.

Repair round n (1, 2, ...) while some goal fails and the budget (``max_rounds``) lasts: for
each team serving a failing class, the target intervals are its top ``repair_share`` by
simulated occupancy and, separately, by the hours the failing classes' tickets created in the
interval waited for a first touch (so intervals nobody staffs are found too). The plan gets a
``floor`` (:func:`slarisk.schedule.plan.solve_plan`: a shortage below it costs more than any
shift): the last roster's agents everywhere, + 2^(n-1) in the targets (1, 2, 4, ... agents),
and the requirement is raised to it; then re-plan, re-roster, re-simulate. So a round adds
agents and keeps the last roster's cover (unless the agents cannot work it all). The loop ends
with an explicit :attr:`Verification.status`: the goals met (at round 0: no repair), ``goal
not met: budget reached (n repair round(s))``, or ``goal not met: no change possible
(reason)`` when the new roster adds no agent-interval in the targets or in all (the catalogue
cannot cover more, or the agents cannot work the added shifts); that roster is not simulated
and the last simulated one stands.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.scenario import Scenario, scenario_from_dict
from slarisk.capacity.sim import SimResult, compile_scenario, simulate
from slarisk.errors import InputError
from slarisk.schedule.catalogue import WEEKDAYS, Catalogue
from slarisk.schedule.demand import Requirement
from slarisk.schedule.plan import hhmm, solve_plan
from slarisk.schedule.roster import Roster, solve_roster
from slarisk.schedule.rules import AgentsFile
from slarisk.sla.policy import Policy

#: share of a verification round's work after the plan, and after the roster (the simulation
#: takes the rest), for progress reports.
PLAN_SHARE, ROSTER_SHARE = 0.2, 0.35


@dataclass(frozen=True)
class Check:
    """One simulated roster: attainment per class/metric, missed intervals, occupancy."""

    round: int
    roster: Roster
    needed: np.ndarray  # (teams, slots): the requirement this round planned for
    attainment: pd.DataFrame  # class, metric, goal, attainment, lo, hi, met
    missed: pd.DataFrame  # intervals whose first-response service level is under the goal
    occupancy: np.ndarray  # (teams, slots) mean simulated occupancy
    sim_seconds: float
    # rows: classes; columns: week intervals; hours waited for a first touch per week by the
    # tickets created in the interval (unanswered: until the horizon's end)
    waiting: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        return bool(self.attainment["met"].all())

    @property
    def cost(self) -> float:
        return self.roster.cost


#: statuses of a verification (the "no change possible" one carries its reason in brackets)
MET_AT_ONCE = "goals met: no repair needed"
BUDGET_REACHED = "goal not met: budget reached"
NO_CHANGE = "goal not met: no change possible"


@dataclass(frozen=True)
class Verification:
    """The simulated rounds (round 0 = the requirement as given) and why the loop stopped."""

    rounds: tuple[Check, ...]
    status: str = ""

    @property
    def goals_met(self) -> bool:
        return self.final.ok

    @property
    def final(self) -> Check:
        return self.rounds[-1]

    @property
    def erlang_cost(self) -> float:
        return self.rounds[0].cost


def _staffed_mapping(
    base: dict[str, Any], teams: tuple[str, ...], step: int, rows: np.ndarray, weeks: int
) -> dict[str, Any]:
    """The base scenario mapping with `rows` (teams x week intervals) as weekly staffing."""
    d = copy.deepcopy({k: v for k, v in base.items() if k != "shift_catalogue"})
    staffing = d.get("staffing")
    known_teams = staffing.get("teams", []) if isinstance(staffing, dict) else []
    kept = [t for t in known_teams if isinstance(t, dict) and t.get("name") in teams]
    known = {t["name"] for t in kept}
    kept += [{"name": t} for t in teams if t not in known]
    d["staffing"] = {
        "teams": kept,
        "weekly": [
            {"team": team, "interval_minutes": step, "agents": [float(v) for v in rows[k]]}
            for k, team in enumerate(teams)
        ],
    }
    d.pop("horizon_hours", None)
    d["horizon_days"] = 7 * weeks
    d["kpi_interval_minutes"] = step
    return d


def scenario_mapping_for(base: dict[str, Any], roster: Roster, *, weeks: int = 2) -> dict[str, Any]:
    """The base scenario mapping with the roster as weekly staffing over `weeks` weeks."""
    plan = roster.plan
    return _staffed_mapping(base, plan.teams, plan.interval_minutes, roster.rostered(), weeks)


def check_base_scenario(
    base: dict[str, Any],
    cat: Catalogue,
    teams: tuple[str, ...],
    *,
    base_dir: str,
    weeks: int = 2,
    policy: Policy | None = None,
    path: str = "scenario",
) -> Scenario:
    """Check, before any solving, that the scenario can simulate a roster of `teams`: it
    validates with the teams as weekly staffing over `weeks` weeks, its timezone is the
    catalogue's (the roster's local times), its classes are in the policy. InputError names
    the field otherwise. Returns the scenario (with zero staffing)."""
    rows = np.zeros((len(teams), 7 * 1440 // cat.interval_minutes))
    mapping = _staffed_mapping(base, teams, cat.interval_minutes, rows, weeks)
    sc = scenario_from_dict(mapping, path=path, base_dir=base_dir)
    if sc.timezone != cat.timezone:
        raise InputError(
            f"the scenario's timezone {sc.timezone!r} differs from the catalogue's"
            f" {cat.timezone!r} (the roster's local times)",
            path=path,
            field="timezone",
        )
    compile_scenario(sc, policy)
    return sc


def check_roster_by_simulation(
    base: dict[str, Any],
    roster: Roster,
    needed: np.ndarray,
    *,
    base_dir: str,
    replications: int = 10,
    seed: int = 0,
    weeks: int = 2,
    workers: int = 1,
    round_no: int = 0,
    policy: Policy | None = None,
    on_replication: Callable[[int], None] | None = None,
) -> tuple[Check, Scenario]:
    """Simulate the roster; attainment with 95% intervals, missed intervals, occupancy.

    `policy` overrides the scenario's own (None: the scenario's `policy` file, if any);
    `on_replication(k)` is called after each of the `replications` finishes."""
    import time

    sc = scenario_from_dict(
        scenario_mapping_for(base, roster, weeks=weeks), path="<roster>", base_dir=base_dir
    )
    t0 = time.perf_counter()
    res = simulate(
        sc,
        replications=replications,
        seed=seed,
        workers=workers,
        progress=on_replication,
        policy=policy,
    )
    secs = time.perf_counter() - t0
    att = res.attainment.loc[res.attainment["class"] != "ALL"].copy()
    att = att.loc[att["goal"].notna(), ["class", "metric", "goal", "attainment", "lo", "hi"]]
    att["met"] = att["lo"] >= att["goal"] - 1e-12
    plan = roster.plan
    occ = _team_occupancy(res, sc, plan.teams, plan.interval_minutes, plan.required.shape[1])
    fr_goal = float(att.loc[att["metric"] == "first_response", "goal"].min())
    missed = _missed_intervals(res, sc, plan.interval_minutes, fr_goal)
    waiting = _class_waiting(res, sc, plan.interval_minutes, plan.required.shape[1], weeks)
    check = Check(round_no, roster, needed, att.reset_index(drop=True), missed, occ, secs, waiting)
    return check, sc


def _week_slot(ts: pd.Series, tz: str, step: int) -> np.ndarray:
    t = pd.to_datetime(ts, utc=True).dt.tz_convert(tz)
    return ((t.dt.day_of_week * 1440 + t.dt.hour * 60 + t.dt.minute) // step).to_numpy()


def _team_occupancy(
    res: SimResult, sc: Scenario, teams: tuple[str, ...], step: int, slots: int
) -> np.ndarray:
    out = np.zeros((len(teams), slots))
    tk = res.team_kpis
    if tk.empty:
        return out
    warm = pd.Timestamp(sc.start) + pd.Timedelta(seconds=sc.warmup_seconds)
    tk = tk.loc[pd.to_datetime(tk["interval_start"], utc=True) >= warm]
    slot = _week_slot(tk["interval_start"], sc.timezone, step)
    for k, team in enumerate(teams):
        sel = (tk["team"] == team).to_numpy()
        busy = np.bincount(slot[sel], tk["busy"].to_numpy(float)[sel], minlength=slots)
        # present = rostered + agents still finishing a ticket after their shift or break
        present = np.bincount(slot[sel], tk["present"].to_numpy(float)[sel], minlength=slots)
        out[k] = np.divide(busy, present, out=np.zeros(slots), where=present > 0)
    return out


def _class_waiting(res: SimResult, sc: Scenario, step: int, slots: int, weeks: int) -> pd.DataFrame:
    """Hours waited for a first touch per class and week interval of creation, per week."""
    t = res.tickets
    names = [c.name for c in sc.classes]
    if t.empty:
        return pd.DataFrame(np.zeros((len(names), slots)), index=names)
    t = t.loc[t["in_window"].to_numpy(dtype=bool)]
    end = pd.Timestamp(sc.start) + pd.Timedelta(seconds=sc.horizon_seconds)
    created = pd.to_datetime(t["created_at"], utc=True)
    still = (end - created).dt.total_seconds().to_numpy()
    wait = t["wait_seconds"].to_numpy(dtype=float)
    wait = np.where(np.isfinite(wait), wait, still) / 3600.0
    slot = _week_slot(t["created_at"], sc.timezone, step)
    cls = t["class"].astype(str).to_numpy()
    per = max(1, res.replications) * max(1, weeks)
    rows = [np.bincount(slot[cls == n], wait[cls == n], minlength=slots) / per for n in names]
    return pd.DataFrame(np.vstack(rows) if rows else np.zeros((0, slots)), index=names)


def _missed_intervals(res: SimResult, sc: Scenario, step: int, goal: float) -> pd.DataFrame:
    k = res.kpis
    cols = ["day", "time", "service_level", "arrivals"]
    if k.empty or math.isnan(goal):
        return pd.DataFrame(columns=cols)
    warm = pd.Timestamp(sc.start) + pd.Timedelta(seconds=sc.warmup_seconds)
    k = k.loc[pd.to_datetime(k["interval_start"], utc=True) >= warm].copy()
    k["slot"] = _week_slot(k["interval_start"], sc.timezone, step)
    k["sl_w"] = k["service_level"].fillna(0) * k["arrivals"]
    g = k.groupby("slot")[["sl_w", "arrivals"]].sum()
    g = g.loc[g["arrivals"] > 0]
    sl = g["sl_w"] / g["arrivals"]
    bad = sl[sl < goal]
    return pd.DataFrame(
        {
            "day": [WEEKDAYS[int(s) * step // 1440] for s in bad.index],
            "time": [hhmm(int(s) * step) for s in bad.index],
            "service_level": bad.to_numpy(),
            "arrivals": g.loc[bad.index, "arrivals"].to_numpy() / max(1, res.replications),
        },
        columns=cols,
    )


def _serves(team: Any, classes: set[str]) -> bool:
    return "*" in team.serves or bool(classes & set(team.serves))


def failing_teams(check: Check, sc: Scenario) -> list[str]:
    """Rostered teams that serve a (class, metric) that missed its goal."""
    bad = set(check.attainment.loc[~check.attainment["met"], "class"])
    out = []
    for t in sc.staffing.teams:
        if t.name in check.roster.plan.teams and _serves(t, bad):
            out.append(t.name)
    return out if bad else []


def _top(values: np.ndarray, share: float) -> np.ndarray:
    """The intervals in the top `share` of the positive `values` (ties included)."""
    pos = values[values > 0]
    if pos.size == 0:
        return np.zeros(values.size, dtype=bool)
    return (values > 0) & (values >= np.quantile(pos, 1.0 - share))


def repair_targets(check: Check, sc: Scenario, teams: list[str], share: float) -> np.ndarray:
    """Intervals to raise (bool, plan teams x intervals): per team in `teams`, the top `share`
    of its intervals by simulated occupancy and by the hours its failing classes waited."""
    plan = check.roster.plan
    bad = set(check.attainment.loc[~check.attainment["met"], "class"])
    out = np.zeros(plan.required.shape, dtype=bool)
    by_name = {t.name: t for t in sc.staffing.teams}
    for name in teams:
        k = plan.teams.index(name)
        served = [c for c in check.waiting.index if c in bad and _serves(by_name[name], {c})]
        waited = check.waiting.loc[served].to_numpy().sum(axis=0)
        out[k] = _top(check.occupancy[k], share)
        if waited.size:
            out[k] |= _top(waited, share)
    return out


def _no_change_reason(last: Check, roster: Roster, targets: np.ndarray) -> str | None:
    """Why the new roster adds no agent-interval in the targets or in all (None: it adds)."""
    gain = roster.rostered() - last.roster.rostered()
    if gain[targets].sum() > 1e-9 and gain.sum() > 1e-9:
        return None
    if (roster.plan.scheduled() - last.roster.plan.scheduled())[targets].sum() <= 1e-9:
        return (
            "no shift of the catalogue adds cover in the short intervals"
            " (shift times, days, max_heads)"
        )
    n = sum(u.count for u in roster.unfilled)
    return (
        f"the agents cannot work the added shifts ({n} planned shift(s) unfilled:"
        " hours, days, skills or labour rules)"
    )


def _sim_done(done: Callable[[int, float], None], r: int, reps: int, k: int) -> None:
    done(r, ROSTER_SHARE + (1 - ROSTER_SHARE) * k / reps)


def verify_and_repair(
    base: dict[str, Any],
    req: Requirement,
    cat: Catalogue,
    agents: AgentsFile,
    *,
    base_dir: str,
    replications: int = 10,
    seed: int = 0,
    weeks: int = 2,
    max_rounds: int = 4,
    repair_share: float = 0.15,
    plan_time: float = 20.0,
    roster_time: float = 20.0,
    roster_workers: int = 1,
    sim_workers: int = 1,
    policy: Policy | None = None,
    progress: Callable[[str], None] | None = None,
    fraction: Callable[[float], None] | None = None,
    scenario_path: str = "scenario",
) -> Verification:
    """Plan, roster and simulate; while a goal fails, raise the requirement to a floor the
    plan must cover where the failing teams are busiest or their classes wait, re-plan and
    repeat (module docstring); `Verification.status` says why it stopped.

    `policy` overrides the scenario's own; `progress` gets a line per round, `fraction` the
    share of the budget done (0..1; rounds left unused when the loop stops early are skipped).
    """
    check_base_scenario(
        base, cat, req.teams, base_dir=base_dir, weeks=weeks, policy=policy, path=scenario_path
    )
    needed = req.agents.copy()
    floor: np.ndarray | None = None
    targets: np.ndarray | None = None
    rounds: list[Check] = []
    n_rounds = max_rounds + 1
    status = ""

    def done(r: int, share: float) -> None:
        if fraction:
            fraction(min(1.0, (r + share) / n_rounds))

    def say(message: str) -> None:
        if progress:
            progress(message)

    for r in range(n_rounds):
        plan = solve_plan(
            Requirement(req.teams, needed, req.interval_minutes),
            cat,
            time_limit=plan_time,
            floor=floor,
        )
        done(r, PLAN_SHARE)
        roster = solve_roster(
            plan, agents, seed=seed, workers=roster_workers, time_limit=roster_time
        )
        done(r, ROSTER_SHARE)
        if targets is not None:
            why = _no_change_reason(rounds[-1], roster, targets)
            if why is not None:
                status = f"{NO_CHANGE} ({why})"
                say(f"round {r}: {status}; the roster of round {r - 1} stands")
                break
        check, sc = check_roster_by_simulation(
            base,
            roster,
            needed.copy(),
            base_dir=base_dir,
            replications=replications,
            seed=seed,
            weeks=weeks,
            workers=sim_workers,
            round_no=r,
            policy=policy,
            on_replication=partial(_sim_done, done, r, replications),
        )
        rounds.append(check)
        short = check.attainment.loc[~check.attainment["met"]]
        unfilled = sum(u.count for u in roster.unfilled)
        capped = " (plan stopped at the time cap: may differ on a rerun)"
        say(
            f"round {r}: cost {check.cost:,.0f}, plan gap {plan.gap_to_lp:.2%}"
            f"{capped if plan.time_capped else ''}, "
            f"roster {roster.status} ({len(roster.violations)} violations"
            f"{f', {unfilled} planned shift(s) unfilled' if unfilled else ''}), "
            f"{len(short)} class/metric goal(s) missed"
        )
        if check.ok:
            status = MET_AT_ONCE if r == 0 else f"goals met after {r} repair round(s)"
            break
        if r == max_rounds:
            status = f"{BUDGET_REACHED} ({max_rounds} repair round(s))"
            break
        teams = failing_teams(check, sc)
        grow = 2.0**r  # repair round r + 1 raises by 1, 2, 4, ... agents
        targets = repair_targets(check, sc, teams, repair_share)
        if not targets.any():
            classes = ", ".join(sorted(set(short["class"])))
            why = (
                f"no rostered team serves {classes}"
                if not teams
                else "no interval to raise: the failing teams are never busy and"
                f" {classes} never wait"
            )
            status = f"{NO_CHANGE} ({why})"
            say(status)
            break
        # never below what the last roster had (repairs add, they do not trade cover away);
        # in the targets grow more than it had
        rost = check.roster.rostered()
        raised = np.where(targets, rost + grow, rost)
        floor = raised if floor is None else np.maximum(floor, raised)
        needed = np.maximum(needed, floor)
    return Verification(tuple(rounds), status)
