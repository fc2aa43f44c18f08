"""CLI command `slarisk data generate` (synthetic history)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slarisk.errors import InputError


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario YAML to run.")] = Path(
        "simulations/baseline.yaml"
    ),
    weeks: Annotated[int, typer.Option(help="Weeks of history.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed (reproduces the whole history).")] = 0,
    absence_rate: Annotated[
        float, typer.Option(help="Probability an agent is absent on a given day.")
    ] = 0.07,
    understaffed_days: Annotated[
        int | None, typer.Option(help="Understaffed weekdays (default: one per fortnight).")
    ] = None,
    spike_multiplier: Annotated[
        float, typer.Option(help="Holiday spike volume multiplier (1 = no spike).")
    ] = 1.6,
    spike_days: Annotated[float, typer.Option(help="Length of the holiday spike, days.")] = 4.0,
    daily_volume_sd: Annotated[
        float, typer.Option(help="Day-to-day volume noise (sd of a mean-1 lognormal factor).")
    ] = 0.15,
    growth: Annotated[
        float, typer.Option(help="Volume growth over the history (0.05 = 5%).")
    ] = 0.0,
    volume: Annotated[
        float, typer.Option(help="Volume multiplier on the scenario's arrivals.")
    ] = 1.1,
    closure_volume: Annotated[
        float,
        typer.Option(
            help="Arrivals multiplier on the dates the policy's calendars close (holidays); "
            "those dates are staffed like a Sunday. Negative: closures not modelled."
        ),
    ] = 0.2,
    recovery_days: Annotated[
        float,
        typer.Option(
            help="Overtime drains a backlog above normal in about this many days (0: no overtime)."
        ),
    ] = 3.0,
    max_overtime: Annotated[
        float, typer.Option(help="Most overtime per team and day, share of planned agents.")
    ] = 0.3,
    backlog_normal_days: Annotated[
        float,
        typer.Option(help="Backlog the desk tolerates, in days of planned capacity."),
    ] = 0.5,
) -> None:
    """Generate a synthetic ticket history (tickets, events, staffing, open-ticket snapshot)
    by simulating SCENARIO with absences, understaffed days and a holiday spike, closures on
    the policy's holidays and overtime while a backlog is above normal."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.capacity.synthetic import Imperfections, generate_history, write_history

    console = Console()
    try:
        imp = Imperfections(
            absence_rate=absence_rate,
            understaffed_days=understaffed_days,
            spike_multiplier=spike_multiplier,
            spike_days=spike_days,
            daily_volume_sd=daily_volume_sd,
            growth=growth,
            volume_multiplier=volume,
            closure_volume=closure_volume if closure_volume >= 0 else None,
            recovery_days=recovery_days if recovery_days > 0 else None,
            max_overtime=max_overtime,
            backlog_normal_days=backlog_normal_days,
        )
        with console.status(f"simulating {weeks} weeks of {scenario} ..."):
            hist = generate_history(scenario, weeks=weeks, seed=seed, imperfections=imp)
            paths = write_history(hist, out)
    except InputError as exc:
        raise _fail(str(exc)) from None
    m = hist.manifest()
    table = Table(title=f"synthetic history: {scenario.name}, {weeks} weeks, seed {seed}")
    table.add_column("item")
    table.add_column("value", justify="right")
    for k in ("tickets", "events", "staffing_rows", "open_tickets", "abandoned"):
        table.add_row(k, f"{m[k]:,}")
    table.add_row("understaffed days", ", ".join(m["understaffed_dates"]) or "-")
    table.add_row("holiday spike", " .. ".join(m["spike"]) if m["spike"] else "-")
    table.add_row("closures", ", ".join(m["closure_dates"]) or "-")
    overtime = ", ".join(f"{k} {v:,.0f}" for k, v in m["overtime_agent_hours"].items() if v)
    table.add_row("overtime (agent-hours)", overtime or "-")
    table.add_row("snapshot (now)", str(hist.now))
    table.add_row("seconds", f"{hist.seconds['total']:.1f}")
    console.print(table)
    for k, p in paths.items():
        console.print(f"{k}: {p}")


def add_commands(group: typer.Typer) -> None:
    """Add the generate command to the `data` group."""
    group.command("generate")(generate_cmd)
