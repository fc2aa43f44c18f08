"""Anonymous shift plan: how many of each shift template to run each day, at least cost.

A mixed-integer programme solved with HiGHS (highspy), after Aykin's implicit break model
(Aykin 1996, *Optimal shift scheduling with multiple break windows*): shift variables
``x[d, j]`` (shifts of template j started on day d) and, per break k of the template, integer
break-start variables ``w[d, j, k, o]`` (how many of those shifts start break k at offset o
inside its window) with ``sum_o w[d, j, k, o] = x[d, j]``. The model never enumerates a
shift x break-placement combination, so it stays small. Coverage per (team, interval) is the
shifts on duty minus those on a break; a continuous shortage ``u[team, t]`` is penalised per
agent-hour (``shortage_cost_per_hour``), so a plan always exists. The week is cyclic. Below
an optional ``floor`` of agents per (team, interval) (the verification's repair) a second
shortage costs more than any one shift, so the plan reaches the floor whenever a shift can.

Solving: the LP relaxation (its value is the reported LP bound); LP dives that round the
shift counts (breaks continuous) and keep the cheapest; the integer break placement for those
counts; then, unless that plan is already within ``mip_rel_gap`` of the LP bound or the model
has more than ``full_mip_max_integers`` integer variables (HiGHS's root alone then takes
minutes), the full MIP seeded with that plan (HiGHS's own primal heuristics find poor plans on
this model, so the dive matters). Reported: the plan's cost, objective, LP bound, the MIP
dual bound and both gaps.

Determinism: every stage stops on deterministic limits only (all dives; HiGHS with one
thread, a fixed ``random_seed``, ``mip_max_nodes`` and ``mip_rel_gap``; HiGHS itself is
deterministic), so the same input and options give the same plan on any machine load.
``time_limit`` is a safety cap on wall-clock time: when it stops a stage the plan says so
(``time_capped``) and a rerun may give another plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slarisk.schedule.catalogue import WEEKDAYS, Catalogue, ShiftTemplate, expand_templates
from slarisk.schedule.demand import Requirement


@dataclass(frozen=True)
class PlannedShift:
    """`count` shifts of `template` on `day`; `breaks[k]` = ((offset, count), ...) of break k."""

    day: int
    template: ShiftTemplate
    count: int
    breaks: tuple[tuple[tuple[int, int], ...], ...]


@dataclass(frozen=True)
class Plan:
    """A solved plan with its coverage and solver figures (costs in catalogue currency)."""

    interval_minutes: int
    teams: tuple[str, ...]
    required: np.ndarray  # (teams, slots)
    shifts: tuple[PlannedShift, ...]
    shift_cost: float
    shortage_hours: float
    objective: float
    lp_bound: float
    mip_dual_bound: float
    status: str
    seconds: float
    n_templates: int
    n_variables: int
    stats: dict[str, float] = field(default_factory=dict)
    time_capped: bool = False  # a stage stopped at the wall-clock cap: a rerun may differ

    @property
    def gap_to_lp(self) -> float:
        """(objective - LP bound) / objective."""
        return (self.objective - self.lp_bound) / self.objective if self.objective > 0 else 0.0

    @property
    def mip_gap(self) -> float:
        d = self.mip_dual_bound
        return (self.objective - d) / self.objective if self.objective > 0 else 0.0

    def scheduled(self) -> np.ndarray:
        """Agents on duty and not on a break per (team, interval)."""
        return coverage(self.shifts, self.teams, self.required.shape[1], self.interval_minutes)

    def shifts_frame(self) -> pd.DataFrame:
        """One row per (day, template) with its count, times and cost."""
        step = self.interval_minutes
        rows = []
        for p in self.shifts:
            t = p.template
            rows.append(
                {
                    "day": WEEKDAYS[p.day],
                    "type": t.type,
                    "team": t.team,
                    "start": hhmm(t.start * step),
                    "end": hhmm(t.end * step),
                    "count": p.count,
                    "paid_hours": t.paid_hours,
                    "cost": t.cost * p.count,
                    "breaks": "; ".join(
                        f"{w.name} {hhmm((t.start + o) * step)} x{n}"
                        for w, places in zip(t.breaks, p.breaks, strict=True)
                        for o, n in places
                    ),
                }
            )
        return pd.DataFrame(rows)


def hhmm(minutes: int) -> str:
    """Minutes (of a day or more) as local "HH:MM" of the day."""
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def on_duty_slots(day: int, t: ShiftTemplate, offsets: tuple[int, ...], slots: int) -> np.ndarray:
    """Week intervals worked by one shift whose breaks start at `offsets` (cyclic week)."""
    spd = slots // 7
    mask = np.ones(t.length, dtype=bool)
    for w, o in zip(t.breaks, offsets, strict=True):
        mask[o : o + w.slots] = False
    return (day * spd + t.start + np.flatnonzero(mask)) % slots


def coverage(
    shifts: tuple[PlannedShift, ...], teams: tuple[str, ...], slots: int, step: int
) -> np.ndarray:
    """Net agents per (team, interval) of planned shifts (on a break = not covering)."""
    spd = 1440 // step
    out = np.zeros((len(teams), slots))
    for p in shifts:
        t = p.template
        row = out[teams.index(t.team)]
        idx = (p.day * spd + t.start + np.arange(t.length)) % slots
        np.add.at(row, idx, p.count)
        for w, places in zip(t.breaks, p.breaks, strict=True):
            for o, n in places:
                np.add.at(row, (p.day * spd + t.start + o + np.arange(w.slots)) % slots, -n)
    return out


#: rounding dives (round up at or above, down at or below this fractional part)
DIVES: tuple[tuple[float, float], ...] = ((0.6, 0.1), (0.8, 0.2), (0.95, 0.05), (0.5, 0.3))


def _optimal(h: Any) -> bool:
    import highspy  # already loaded by solve_plan

    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)


def _timed_out(h: Any) -> bool:
    import highspy  # already loaded by solve_plan

    return bool(h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit)


def _dive(
    h: Any, cols: np.ndarray, ub: np.ndarray, up_at: float, down_at: float, max_rounds: int = 80
) -> np.ndarray:
    """LP diving with bulk rounding: fix near-integral shift counts, re-solve, repeat.

    Returns the shift counts of the last feasible LP of the dive (integral unless the dive
    stopped at a rounding that made the LP infeasible, e.g. against max_heads).
    """
    lo = np.zeros(cols.size)
    hi = ub[cols].copy()
    x = np.asarray(h.getSolution().col_value)[cols]
    for _ in range(max_rounds):
        frac = x - np.floor(x + 1e-7)
        free = lo < hi
        fracs = free & (frac > 1e-6)
        if not fracs.any():
            break
        prev = lo.copy(), hi.copy()
        up = fracs & (frac >= up_at)
        down = fracs & (frac <= down_at)
        if not up.any():
            up = np.zeros_like(fracs)
            up[np.flatnonzero(fracs)[np.argmax(frac[fracs])]] = True
        lo[up] = np.ceil(x[up] - 1e-7)
        hi[down] = np.floor(x[down] + 1e-7)
        # integral values stay as they are from now on only at their lower bound
        lo[free & ~fracs] = np.round(x[free & ~fracs])
        h.changeColsBounds(cols.size, cols.astype(np.int32), lo, np.maximum(hi, lo))
        h.run()
        if not _optimal(h):  # this rounding went too far: back to the previous LP and stop
            lo, hi = prev
            h.changeColsBounds(cols.size, cols.astype(np.int32), lo, np.maximum(hi, lo))
            h.run()
            break
        x = np.asarray(h.getSolution().col_value)[cols]
    return x


def _complete(h: Any, cols: np.ndarray, counts: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """A full solution with the shift counts fixed to `counts` (breaks, shortage by LP)."""
    h.changeColsBounds(cols.size, cols.astype(np.int32), counts, counts)
    h.run()
    return np.asarray(h.getSolution().col_value)


def solve_plan(
    req: Requirement,
    cat: Catalogue,
    *,
    time_limit: float = 30.0,
    mip_rel_gap: float = 0.005,
    max_nodes: int = 500,
    full_mip_max_integers: int = 12_000,
    threads: int = 1,
    floor: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Least-cost plan covering `req` with the catalogue's shifts (HiGHS MIP).

    Deterministic for the same input and options (`max_nodes` branch-and-bound nodes per MIP,
    `mip_rel_gap`, `full_mip_max_integers`: see the module docstring); `time_limit` (seconds)
    is only a safety cap, and `Plan.time_capped` tells when it stopped a stage. `floor`
    (agents, teams x intervals; the requirement is raised to it): each agent-interval short
    of it costs the dearest shift + 1 on top of the catalogue's penalty, so any shift that
    covers it is cheaper than the shortage.
    """
    import highspy  # heavy optional solver: imported only when a plan is solved

    t0 = time.perf_counter()
    if req.interval_minutes != cat.interval_minutes:
        raise ValueError("requirement and catalogue use different interval grids")
    templates = [t for t in expand_templates(cat) if t.team in req.teams]
    if floor is not None:
        if floor.shape != req.agents.shape:
            raise ValueError("the floor has not the requirement's shape (teams x intervals)")
        req = Requirement(req.teams, np.maximum(req.agents, floor), req.interval_minutes)
    slots, spd = req.slots, cat.slots_per_day
    teams = req.teams
    cols_cost: list[float] = []
    cols_ub: list[float] = []
    is_int: list[bool] = []
    ri: list[int] = []
    ci: list[int] = []
    vals: list[float] = []
    n_cov = len(teams) * slots
    row_lo = list(req.agents.reshape(-1).astype(float))
    row_hi = [math.inf] * n_cov
    xcols: list[tuple[int, ShiftTemplate, int]] = []  # (day, template, column)
    wcols: list[tuple[int, int, int, int]] = []  # (x column, break k, offset, column)
    heads: dict[tuple[str, int], list[int]] = {}
    max_heads = {s.name: s.max_heads for s in cat.shift_types}
    min_heads = {s.name: s.min_heads for s in cat.shift_types}
    for t in templates:
        base = teams.index(t.team) * slots
        for d in t.days:
            c = len(cols_cost)
            mh = max_heads[t.type]
            cols_cost.append(t.cost)
            cols_ub.append(math.inf if mh is None else float(mh))
            is_int.append(True)
            xcols.append((d, t, c))
            heads.setdefault((t.type, d), []).append(c)
            for s in (d * spd + t.start + np.arange(t.length)) % slots:
                ri.append(base + int(s))
                ci.append(c)
                vals.append(1.0)
            for k, w in enumerate(t.breaks):
                link = len(row_lo)
                row_lo.append(0.0)
                row_hi.append(0.0)
                ri.append(link)
                ci.append(c)
                vals.append(-1.0)
                for o in range(w.first, w.last + 1):
                    wc = len(cols_cost)
                    cols_cost.append(0.0)
                    cols_ub.append(math.inf)
                    is_int.append(True)
                    wcols.append((c, k, o, wc))
                    ri.append(link)
                    ci.append(wc)
                    vals.append(1.0)
                    for s in (d * spd + t.start + o + np.arange(w.slots)) % slots:
                        ri.append(base + int(s))
                        ci.append(wc)
                        vals.append(-1.0)
    for (typ, _d), cs in heads.items():
        h_lo, h_hi = min_heads[typ], max_heads[typ]
        if h_lo > 0 or h_hi is not None:
            r = len(row_lo)
            row_lo.append(float(h_lo))
            row_hi.append(math.inf if h_hi is None else float(h_hi))
            for c in cs:
                ri.append(r)
                ci.append(c)
                vals.append(1.0)
    if cat.max_break_share is not None:
        # breaks spread out: per (team, interval) at most 1 + share x (agents on shift - 1)
        # are on a break; mirrors the coverage entries (+1 on shift, -1 on a break)
        xset = {c for _d, _t, c in xcols}
        share = float(cat.max_break_share)
        spread0 = len(row_lo)
        row_lo.extend([-math.inf] * n_cov)
        row_hi.extend([1.0 - share] * n_cov)
        for r, c in [(r, c) for r, c in zip(ri, ci, strict=True) if r < n_cov]:
            ri.append(spread0 + r)
            ci.append(c)
            vals.append(-share if c in xset else 1.0)
    pen = cat.shortage_cost_per_hour * cat.interval_minutes / 60.0
    # below the floor: a second shortage column dearer than any shift (the first one is
    # bounded by requirement - floor, so the LP uses it first)
    hard = pen + max((t.cost for t in templates), default=0.0) + 1.0
    flat_floor = None if floor is None else floor.reshape(-1).astype(float)
    ucol0 = len(cols_cost)
    for r in range(n_cov):
        shortages = [(pen, math.inf)]
        if flat_floor is not None:
            shortages = [(pen, max(0.0, row_lo[r] - flat_floor[r]))]
            if flat_floor[r] > 0:
                shortages.append((hard, math.inf))
        for cost, ub in shortages:
            c = len(cols_cost)
            cols_cost.append(cost)
            cols_ub.append(ub)
            is_int.append(False)
            ri.append(r)
            ci.append(c)
            vals.append(1.0)

    from scipy.sparse import csc_matrix  # only needed to lay out the column-wise matrix

    n_col, n_row = len(cols_cost), len(row_lo)
    a = csc_matrix((vals, (ri, ci)), shape=(n_row, n_col))
    a.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.asarray(cols_cost)
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.asarray(cols_ub)
    lp.row_lower_ = np.asarray(row_lo)
    lp.row_upper_ = np.asarray(row_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_max_nodes", int(max_nodes))
    h.passModel(lp)
    capped = False

    def left() -> float:
        return time_limit - (time.perf_counter() - t0)

    if progress:
        progress(f"plan: {len(templates)} templates, {n_col} variables, {n_row} rows; LP")
    h.run()
    lp_bound = float(h.getInfo().objective_function_value)
    shift_cols = np.asarray([c for _d, _t, c in xcols], dtype=int)
    ub_all = np.asarray(cols_ub, dtype=float)
    # primal heuristic: LP dives with a few rounding thresholds (breaks stay continuous);
    # the cheapest rounding is kept. Every dive runs (a fixed amount of work) unless the
    # wall-clock cap is reached.
    best: tuple[float, np.ndarray] | None = None
    for up_at, down_at in DIVES:
        if best is not None and left() <= 0:
            capped = True
            break
        if progress:
            progress(f"plan: LP bound {lp_bound:,.1f}; rounding dive {up_at}/{down_at}")
        h.changeColsBounds(n_col, np.arange(n_col, dtype=np.int32), np.zeros(n_col), ub_all)
        h.run()
        x = _dive(h, shift_cols, ub_all, up_at, down_at)
        for counts in (np.ceil(x - 1e-6), np.floor(x + 1e-6)):  # floor keeps max_heads
            _complete(h, shift_cols, counts, ub_all)
            if _optimal(h):
                value = float(h.getInfo().objective_function_value)
                if best is None or value < best[0] - 1e-9:
                    best = (value, counts)
                break
    if best is None:
        raise RuntimeError("no rounding of the LP plan respects the head limits (min_heads?)")
    fixed = best[1]
    # break placement: shifts fixed to the dive's counts, breaks integer
    kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lo = np.zeros(n_col)
    hi = ub_all.copy()
    lo[shift_cols] = fixed
    hi[shift_cols] = fixed
    lp.col_lower_, lp.col_upper_ = lo, hi
    lp.integrality_ = [kint if i else kcont for i in is_int]
    h.passModel(lp)
    h.setOptionValue("time_limit", float(max(1.0, left())))
    h.setOptionValue("mip_rel_gap", 1e-4)
    if progress:
        progress("plan: break placement MIP")
    h.run()
    capped |= _timed_out(h)
    bound = lp_bound
    placed_ok = bool(h.getInfo().primal_solution_status)
    placed_obj = float(h.getInfo().objective_function_value) if placed_ok else math.inf
    near = placed_obj - lp_bound <= mip_rel_gap * abs(placed_obj)
    n_int = sum(is_int)
    full = placed_ok and not near and n_int <= full_mip_max_integers and not capped
    if not placed_ok:
        status = "no plan"
    elif capped:
        status = "break placement"
    elif near:
        status = "break placement, within the gap of the LP bound"
    else:
        status = f"break placement (full MIP skipped: {n_int} integer variables)"
    if full:
        # the full MIP seeded with the placement (proves optimality on small instances)
        placed = h.getSolution()
        lp.col_lower_, lp.col_upper_ = np.zeros(n_col), np.asarray(cols_ub, dtype=float)
        h.passModel(lp)
        h.setSolution(placed)
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("time_limit", float(max(1.0, left())))
        if progress:
            progress("plan: full MIP")
        h.run()
        capped |= _timed_out(h)
        bound = max(bound, float(h.getInfo().mip_dual_bound))
        status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if capped:
        status += "; stopped at the time cap: the plan may differ on a rerun"
    if info.primal_solution_status == 0:
        raise RuntimeError(f"HiGHS found no plan ({status})")
    xval = np.round(np.asarray(h.getSolution().col_value)).astype(int)
    breaks: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for c, k, o, wc in wcols:
        if xval[wc] > 0:
            breaks.setdefault((c, k), []).append((o, int(xval[wc])))
    shifts = tuple(
        PlannedShift(
            d,
            t,
            int(xval[c]),
            tuple(tuple(breaks.get((c, k), [])) for k in range(len(t.breaks))),
        )
        for d, t, c in sorted(xcols, key=lambda e: (e[0], e[1].index))
        if xval[c] > 0
    )
    cost = float(sum(p.template.cost * p.count for p in shifts))
    sched = coverage(shifts, teams, slots, cat.interval_minutes)
    short = np.maximum(req.agents - sched, 0.0)
    short_h = float(short.sum()) * cat.interval_minutes / 60.0
    objective = cost + short_h * cat.shortage_cost_per_hour
    if floor is not None:
        objective += float(np.maximum(floor - sched, 0.0).sum()) * (hard - pen)
    return Plan(
        interval_minutes=cat.interval_minutes,
        teams=teams,
        required=req.agents,
        shifts=shifts,
        shift_cost=cost,
        shortage_hours=short_h,
        objective=objective,
        lp_bound=lp_bound,
        mip_dual_bound=min(bound, objective),
        status=status,
        seconds=time.perf_counter() - t0,
        n_templates=len(templates),
        n_variables=n_col - ucol0 + ucol0,
        stats={"mip_nodes": float(info.mip_node_count), "rows": float(n_row)},
        time_capped=capped,
    )
