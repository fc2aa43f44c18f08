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
    ] = 0.05,
    understaffed_days: Annotated[
        int | None, typer.Option(help="Understaffed weekdays (default: one per fortnight).")
    ] = None,
    spike_multiplier: Annotated[
        float, typer.Option(help="Holiday spike volume multiplier (1 = no spike).")
    ] = 1.5,
    spike_days: Annotated[float, typer.Option(help="Length of the holiday spike, days.")] = 4.0,
    daily_volume_sd: Annotated[
        float, typer.Option(help="Day-to-day volume noise (sd of a mean-1 lognormal factor).")
    ] = 0.15,
    growth: Annotated[
        float, typer.Option(help="Volume growth over the history (0.05 = 5%).")
    ] = 0.0,
    volume: Annotated[
        float, typer.Option(help="Volume multiplier on the scenario's arrivals.")
    ] = 1.0,
) -> None:
    """Generate a synthetic ticket history (tickets, events, staffing, open-ticket snapshot)
    by simulating SCENARIO with absences, understaffed days and a holiday spike."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.data.synthetic import Imperfections, generate_history, write_history

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
    table.add_row("snapshot (now)", str(hist.now))
    table.add_row("seconds", f"{hist.seconds['total']:.1f}")
    console.print(table)
    for k, p in paths.items():
        console.print(f"{k}: {p}")


def add_commands(group: typer.Typer) -> None:
    """Add the generate command to the `data` group."""
    group.command("generate")(generate_cmd)
