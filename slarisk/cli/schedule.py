"""`slarisk schedule plan|roster|verify`: shift plans, named rosters, simulation check.

All three read requirement tables (as `slarisk capacity requirements` writes) and a shift
catalogue YAML; `roster` and `verify` also an agents YAML; `verify` a scenario YAML.
Outputs go to --out DIR: CSVs of shifts and assignments and DIR/schedule.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

schedule_app = typer.Typer(
    no_args_is_help=True, help="Shift plans and named rosters, verified by simulation."
)

Reqs = Annotated[
    list[Path] | None,
    typer.Argument(help="Requirement tables (CSV/Parquet: interval_start, queue, agents)."),
]
VolOpt = Annotated[
    Path | None,
    typer.Option(
        "--volumes",
        help="Volume table instead of requirement tables (the catalogue's service_targets).",
    ),
]
CatOpt = Annotated[Path, typer.Option("--catalogue", help="Shift catalogue YAML.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder.")]
AgentsOpt = Annotated[Path, typer.Option("--agents", help="Agents YAML (rules + people).")]
PlanTime = Annotated[
    float,
    typer.Option(
        "--plan-time",
        help="Safety cap on the plan's seconds (it stops on deterministic limits; a plan"
        " stopped by the cap says so and may differ on a rerun).",
    ),
]
RosterTime = Annotated[
    float, typer.Option("--roster-time", help="Roster CP-SAT deterministic time limit.")
]
SeedOpt = Annotated[int, typer.Option(help="CP-SAT seed and simulation root seed.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="CP-SAT workers (fixed: reproducible).")]


def register(app: typer.Typer) -> None:
    """Add `slarisk schedule ...` to the top-level app."""
    app.add_typer(schedule_app, name="schedule")


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {message}", markup=True
    )
    raise typer.Exit(code=2)


def _inputs(reqs: list[Path] | None, volumes: Path | None, catalogue: Path) -> tuple[Any, Any]:
    import pandas as pd

    from slarisk.cli.capacity import load_volumes
    from slarisk.data.io import read_table
    from slarisk.errors import InputError
    from slarisk.schedule.catalogue import load_catalogue
    from slarisk.schedule.demand import requirement_from_frame, requirement_from_volumes

    cat = load_catalogue(catalogue)
    if volumes is not None:
        if reqs:
            raise InputError("give requirement tables or --volumes, not both")
        vol = load_volumes(volumes, tz=cat.timezone)
        starts = pd.to_datetime(vol["interval_start"], utc=True).sort_values().unique()
        step = float(pd.Series(starts).diff().dt.total_seconds().dropna().min())
        return cat, requirement_from_volumes(vol, cat, interval_seconds=step)
    if not reqs:
        raise InputError("give requirement tables or --volumes")
    frames = [read_table(p) for p in reqs]
    return cat, requirement_from_frame(pd.concat(frames, ignore_index=True), cat)


def _plan_table(console: Console, plan: Any, currency: str) -> None:
    from slarisk.cli.terminal_tables import Col, fit_table

    heads = ("team", "shifts", "paid hours", "cost", "short agent-h")
    rows = []
    sched = plan.scheduled()
    for k, team in enumerate(plan.teams):
        mine = [p for p in plan.shifts if p.template.team == team]
        short = float((plan.required[k] - sched[k]).clip(min=0).sum()) * plan.interval_minutes / 60
        rows.append(
            [
                team,
                str(sum(p.count for p in mine)),
                f"{sum(p.count * p.template.paid_hours for p in mine):,.1f}",
                f"{sum(p.count * p.template.cost for p in mine):,.0f}",
                f"{short:,.2f}",
            ]
        )
    cols = [Col(heads[0]), *(Col(h, True) for h in heads[1:])]
    t, _ = fit_table("Shift plan (least cost, HiGHS)", cols, rows, console.width)
    console.print(t)
    console.print(
        f"cost {plan.shift_cost:,.0f} {currency}  objective {plan.objective:,.1f}  "
        f"LP bound {plan.lp_bound:,.1f}  gap to LP {plan.gap_to_lp:.2%}  "
        f"MIP gap {plan.mip_gap:.2%}  ({plan.status}, {plan.seconds:.1f} s, "
        f"{plan.n_templates} templates)"
    )


def _roster_summary(console: Console, roster: Any) -> None:
    console.print(
        f"roster: {len(roster.assignments)} shifts to "
        f"{len({a.agent_id for a in roster.assignments})} agents, "
        f"{sum(u.count for u in roster.unfilled)} unfilled, cost {roster.cost:,.0f}, "
        f"{len(roster.violations)} hard-rule violations, CP-SAT {roster.status} "
        f"({roster.seconds:.1f} s, seed {roster.seed}, {roster.workers} worker(s))"
    )
    if roster.conflicts:
        console.print(f"conflicting rules: {', '.join(roster.conflicts)}", highlight=False)


def _write_roster(out: Path, roster: Any, page: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    roster.plan.shifts_frame().to_csv(out / "plan_shifts.csv", index=False)
    roster.assignments_frame().to_csv(out / "assignments.csv", index=False)
    roster.unmet_frame().to_csv(out / "coverage.csv", index=False)
    import pandas as pd

    pd.DataFrame(
        [{"agent_id": v.agent_id, "rule": v.rule, "detail": v.detail} for v in roster.violations],
        columns=["agent_id", "rule", "detail"],
    ).to_csv(out / "violations.csv", index=False)
    (out / "schedule.html").write_text(page, encoding="utf-8")


@schedule_app.command("plan")
def plan_cmd(
    catalogue: CatOpt,
    out: OutOpt,
    requirements: Reqs = None,
    volumes: VolOpt = None,
    plan_time: PlanTime = 30.0,
) -> None:
    """How many of each shift to run each day at least cost (breaks inside their windows)."""
    from rich.console import Console

    from slarisk.errors import SlariskError
    from slarisk.schedule.plan import solve_plan

    console = Console()
    try:
        cat, req = _inputs(requirements, volumes, catalogue)
        with console.status("solving the shift plan") as status:
            plan = solve_plan(req, cat, time_limit=plan_time, progress=status.update)
    except SlariskError as exc:
        _fail(str(exc))
        return
    out.mkdir(parents=True, exist_ok=True)
    plan.shifts_frame().to_csv(out / "plan_shifts.csv", index=False)
    _plan_table(console, plan, cat.currency)
    console.print(f"wrote {out / 'plan_shifts.csv'}")


@schedule_app.command("roster")
def roster_cmd(
    catalogue: CatOpt,
    agents: AgentsOpt,
    out: OutOpt,
    requirements: Reqs = None,
    volumes: VolOpt = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    plan_time: PlanTime = 30.0,
    roster_time: RosterTime = 20.0,
) -> None:
    """Plan, then assign the shifts to named agents under the labour rules (CP-SAT)."""
    from rich.console import Console

    from slarisk.errors import SlariskError
    from slarisk.schedule.plan import solve_plan
    from slarisk.schedule.report import schedule_page
    from slarisk.schedule.roster import solve_roster
    from slarisk.schedule.rules import load_agents

    console = Console()
    try:
        cat, req = _inputs(requirements, volumes, catalogue)
        people = load_agents(agents)
        with console.status("solving") as status:
            plan = solve_plan(req, cat, time_limit=plan_time, progress=status.update)
            roster = solve_roster(
                plan,
                people,
                seed=seed,
                workers=workers,
                time_limit=roster_time,
                progress=status.update,
            )
    except SlariskError as exc:
        _fail(str(exc))
        return
    _plan_table(console, plan, cat.currency)
    _roster_summary(console, roster)
    _write_roster(out, roster, schedule_page(roster, title=str(agents), currency=cat.currency))
    console.print(f"wrote {out}/assignments.csv, coverage.csv, violations.csv, schedule.html")


@schedule_app.command("verify")
def verify_cmd(
    catalogue: CatOpt,
    agents: AgentsOpt,
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario YAML (demand, policy).")],
    out: OutOpt,
    requirements: Reqs = None,
    volumes: VolOpt = None,
    replications: Annotated[int, typer.Option(min=2, help="Replications per round.")] = 10,
    weeks: Annotated[int, typer.Option(min=1, help="Weeks simulated per replication.")] = 2,
    max_rounds: Annotated[int, typer.Option("--max-rounds", min=0, help="Repair budget.")] = 4,
    multiplier: Annotated[
        float | None, typer.Option(help="Scale the scenario's arrivals (e.g. 1.1 = +10%).")
    ] = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    sim_workers: Annotated[int, typer.Option("--sim-workers", min=1)] = 1,
    plan_time: PlanTime = 30.0,
    roster_time: RosterTime = 20.0,
) -> None:
    """Plan, roster and simulate; repair until every class meets its goal (95%) or budget."""
    from rich.console import Console

    from slarisk.cli.terminal_tables import Col, dropped_note, fit_table
    from slarisk.errors import SlariskError
    from slarisk.schedule.report import rounds_frame, schedule_page
    from slarisk.schedule.rules import load_agents
    from slarisk.schedule.verify import verify_and_repair
    from slarisk.specs import read_yaml

    console = Console()
    try:
        cat, req = _inputs(requirements, volumes, catalogue)
        people = load_agents(agents)
        base = read_yaml(scenario, "scenario")
        if multiplier is not None:
            base.setdefault("arrivals", {})["multiplier"] = multiplier
        with console.status("round 0") as status:

            def progress(message: str) -> None:
                console.print(message)
                status.update(message)

            v = verify_and_repair(
                base,
                req,
                cat,
                people,
                base_dir=str(scenario.parent),
                replications=replications,
                seed=seed,
                weeks=weeks,
                max_rounds=max_rounds,
                plan_time=plan_time,
                roster_time=roster_time,
                roster_workers=workers,
                sim_workers=sim_workers,
                progress=progress,
                scenario_path=str(scenario),
            )
    except SlariskError as exc:
        _fail(str(exc))
        return
    rounds = rounds_frame(v)
    width = console.width
    round_cols = [
        Col("round", True),
        Col("cost", True),
        Col("paid h", True, drop=2),
        Col("plan gap", True, drop=1),
        Col("roster", drop=3),
        Col("violations", True),
        Col("missed", True),
        Col("ok"),
    ]
    round_rows = [
        [
            str(r[0]),
            f"{r[1]:,.0f}",
            f"{r[2]:,.1f}",
            f"{r[3]:.2%}",
            str(r[4]),
            str(r[5]),
            str(r[6]),
            "yes" if r[8] else "no",
        ]
        for r in rounds.itertuples(index=False)
    ]
    t, gone = fit_table(
        f"Verification of {agents} against {scenario} (95% intervals)",
        round_cols,
        round_rows,
        width,
        styles=[None if r[8] else "red" for r in rounds.itertuples(index=False)],
    )
    console.print(t)
    if gone:
        console.print(dropped_note(gone, str(out / "rounds.csv")))
    final = v.final
    att_cols = [
        Col("class"),
        Col("metric"),
        Col("goal", True),
        Col("attainment", True),
        Col("95% lo", True),
        Col("95% hi", True, drop=1),
        Col("met"),
    ]
    att_rows = [
        [
            str(r[0]),
            str(r[1]),
            f"{r[2]:.3f}",
            f"{r[3]:.4f}",
            f"{r[4]:.4f}",
            f"{r[5]:.4f}",
            "yes" if r[6] else "no",
        ]
        for r in final.attainment.itertuples(index=False)
    ]
    att, gone = fit_table(
        f"Round {final.round}: attainment by class and metric",
        att_cols,
        att_rows,
        width,
        styles=[None if r[6] else "red" for r in final.attainment.itertuples(index=False)],
    )
    console.print(att)
    if gone:
        console.print(dropped_note(gone, str(out / "attainment.csv")))
    _roster_summary(console, final.roster)
    console.print(
        f"cost: Erlang-only roster {v.erlang_cost:,.0f} {cat.currency}, "
        f"final roster {final.cost:,.0f} {cat.currency}; "
        f"every goal met with 95% confidence: {'yes' if final.ok else 'NO'}"
    )
    console.print(f"repair: {v.status}")
    _write_roster(
        out,
        final.roster,
        schedule_page(final.roster, title=str(scenario), verification=v, currency=cat.currency),
    )
    rounds.to_csv(out / "rounds.csv", index=False)
    final.attainment.to_csv(out / "attainment.csv", index=False)
    console.print(f"wrote {out}/assignments.csv, attainment.csv, rounds.csv, schedule.html")
    if not final.ok:
        raise typer.Exit(code=1)
