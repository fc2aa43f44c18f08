"""HTML page of a schedule: cost, coverage (required vs simulated-needed vs rostered), a Gantt
of the roster by agent, simulated attainment and the rule report (``schedule.html``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slarisk.reports import figure, img, png_base64, render, table
from slarisk.schedule.catalogue import WEEKDAYS
from slarisk.schedule.plan import hhmm
from slarisk.schedule.roster import Roster
from slarisk.schedule.verify import Verification


def _coverage_plot(
    team: str, req: np.ndarray, needed: np.ndarray | None, rost: np.ndarray, step: int
) -> object:
    hours = np.arange(req.size + 1) * step / 60.0
    with figure(11, 3.2) as (fig, ax):
        ax.stairs(rost, hours, label="rostered", color="tab:blue", fill=True, alpha=0.35)
        if needed is not None and not np.array_equal(needed, req):
            ax.stairs(needed, hours, label="simulated-needed", color="tab:red", linewidth=1.6)
        ax.stairs(req, hours, label="required", color="black", linewidth=0.9)
        ax.set_xlim(0, 168)
        ax.set_ylim(
            0,
            max(1.0, float(max(req.max(), rost.max(), 0 if needed is None else needed.max())))
            * 1.1,
        )
        ax.set_xticks(np.arange(0, 169, 24), [*WEEKDAYS, ""])
        ax.set_ylabel("agents")
        ax.set_title(f"team {team}")
        ax.legend(loc="upper right", fontsize=8)
    return img(png_base64(fig), f"coverage of team {team}")


def _gantt(roster: Roster) -> object:
    step = roster.plan.interval_minutes
    ids = sorted({a.agent_id for a in roster.assignments})
    if not ids:
        return img("", "empty roster")
    colours = {
        t: f"C{k}" for k, t in enumerate(sorted({a.template.type for a in roster.assignments}))
    }
    with figure(11, max(2.5, 0.16 * len(ids) + 1)) as (fig, ax):
        for a in roster.assignments:
            y = ids.index(a.agent_id)
            t = a.template
            off = np.ones(t.length, dtype=bool)
            for w, o in zip(t.breaks, a.breaks, strict=True):
                off[o : o + w.slots] = False
            # contiguous working runs, as (start hour of week, length hours)
            runs, k = [], 0
            while k < t.length:
                if off[k]:
                    j = k
                    while j < t.length and off[j]:
                        j += 1
                    runs.append(
                        ((a.day * 1440 + (t.start + k) * step) / 60.0, (j - k) * step / 60.0)
                    )
                    k = j
                else:
                    k += 1
            for s, length in runs:  # a Sunday-night shift runs over into Monday
                first = min(length, 168 - s)
                ax.broken_barh([(s, first)], (y - 0.4, 0.8), color=colours[t.type])
                if first < length:
                    ax.broken_barh([(0, length - first)], (y - 0.4, 0.8), color=colours[t.type])
        ax.set_yticks(range(len(ids)), ids, fontsize=6)
        ax.set_xlim(0, 168)
        ax.set_xticks(np.arange(0, 169, 24), [*WEEKDAYS, ""])
        ax.invert_yaxis()
        for typ, c in colours.items():
            ax.bar(0, 0, color=c, label=typ)
        ax.legend(loc="upper right", fontsize=7, ncol=len(colours))
        ax.set_title("shifts by agent (gaps = breaks)")
    return img(png_base64(fig), "roster Gantt chart")


def schedule_page(
    roster: Roster,
    *,
    title: str,
    verification: Verification | None = None,
    currency: str = "",
) -> str:
    """The schedule HTML page of a roster (and of its simulation rounds when given)."""
    plan = roster.plan
    step = plan.interval_minutes
    rost = roster.rostered()
    needed = verification.final.needed if verification is not None else None
    plots = [
        _coverage_plot(
            team,
            plan.required[k] if verification is None else verification.rounds[0].needed[k],
            None if needed is None else needed[k],
            rost[k],
            step,
        )
        for k, team in enumerate(plan.teams)
    ]
    cur = f" ({currency})" if currency else ""
    cost_rows = []
    if verification is not None:
        cost_rows.append(
            {
                "roster": "Erlang-only (round 0)",
                f"cost{cur}": verification.erlang_cost,
                "paid hours": sum(
                    a.template.paid_hours for a in verification.rounds[0].roster.assignments
                ),
                "meets every goal": verification.rounds[0].ok,
            }
        )
        cost_rows.append(
            {
                "roster": (
                    f"after repair (round {verification.final.round})"
                    if verification.final.round
                    else "final (no repair round)"
                ),
                f"cost{cur}": verification.final.cost,
                "paid hours": sum(a.template.paid_hours for a in roster.assignments),
                "meets every goal": verification.final.ok,
            }
        )
    else:
        cost_rows.append(
            {
                "roster": "roster",
                f"cost{cur}": roster.cost,
                "paid hours": sum(a.template.paid_hours for a in roster.assignments),
            }
        )
    cost_rows.append(
        {
            "roster": "final plan (all planned shifts)",
            f"cost{cur}": plan.shift_cost,
            "paid hours": sum(p.count * p.template.paid_hours for p in plan.shifts),
        }
    )
    rounds_table = attainment_table = missed_table = None
    if verification is not None:
        rf = rounds_frame(verification)
        rf["ok"] = pd.Series([bool(x) for x in rf["ok"]], dtype=object)
        rounds_table = table(rf, highlight="ok")
        att = verification.final.attainment.copy()
        att["met"] = [bool(x) for x in att["met"]]  # plain bools for the highlight
        att["met"] = att["met"].astype(object)
        attainment_table = table(att, highlight="met")
        missed_table = table(verification.final.missed, empty="(none)")
    viol = pd.DataFrame(
        [{"agent": v.agent_id, "rule": v.rule, "detail": v.detail} for v in roster.violations]
    )
    unfilled = pd.DataFrame(
        [
            {
                "day": WEEKDAYS[u.day],
                "type": u.template.type,
                "team": u.template.team,
                "start": hhmm(u.template.start * step),
                "count": u.count,
            }
            for u in roster.unfilled
        ]
    )
    note = (
        f"Plan: {plan.n_templates} shift templates, cost {plan.shift_cost:,.0f}{cur}, "
        f"objective (cost + {plan.shortage_hours:,.1f} short agent-hours penalised) "
        f"{plan.objective:,.0f}, LP bound {plan.lp_bound:,.0f}, gap to the LP bound "
        f"{plan.gap_to_lp:.2%}, "
        f"HiGHS status {plan.status}. Roster: {len(roster.assignments)} shifts for "
        f"{len({a.agent_id for a in roster.assignments})} agents, CP-SAT {roster.status}, "
        f"seed {roster.seed}, {roster.workers} worker(s)."
    )
    return render(
        "schedule.html",
        title=title,
        note=note,
        cost_table=table(pd.DataFrame(cost_rows)),
        rounds_table=rounds_table,
        outcome=None if verification is None else verification.status,
        coverage_plots=plots,
        attainment_table=attainment_table,
        missed_table=missed_table,
        gantt=_gantt(roster),
        n_violations=len(roster.violations),
        n_conflicts=len(roster.conflicts),
        violations_table=table(viol, empty="(no violations)"),
        unfilled_table=table(unfilled, empty="(every planned shift is staffed)"),
    )


def rounds_frame(v: Verification) -> pd.DataFrame:
    """One row per simulation round: cost, plan gap, roster status, goals missed."""
    return pd.DataFrame(
        [
            {
                "round": c.round,
                "cost": c.cost,
                "paid hours": sum(a.template.paid_hours for a in c.roster.assignments),
                "plan gap to LP": c.roster.plan.gap_to_lp,
                "roster": c.roster.status,
                "violations": len(c.roster.violations),
                "goals missed": int((~c.attainment["met"]).sum()),
                "worst lo - goal": float((c.attainment["lo"] - c.attainment["goal"]).min()),
                "ok": c.ok,
                "missed goals": ", ".join(
                    f"{r['class']} {r['metric']}"
                    for _, r in c.attainment.loc[~c.attainment["met"]].iterrows()
                ),
            }
            for c in v.rounds
        ]
    )
