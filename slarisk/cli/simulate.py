"""`slarisk simulate SCENARIO.yaml [--compare OTHER.yaml] --out DIR`: run replications of a
scenario (and optionally a second one with the same seeds = common random numbers), print
the attainment table, write DIR/report.html and the records (Parquet or CSV)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer


def add_commands(group: typer.Typer) -> None:
    """No `slarisk capacity ...` commands live here (see fit_cli)."""


def register(app: typer.Typer) -> None:
    """Add the top-level `slarisk simulate` command."""
    app.command("simulate")(simulate_command)


def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (see simulations/).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (report.html, records).")],
    replications: Annotated[int, typer.Option(min=1, help="Replications per scenario.")] = 10,
    seed: Annotated[int, typer.Option(help="Root seed (same seed = common random numbers).")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes (1 = in-process).")] = 1,
    compare: Annotated[
        Path | None, typer.Option(help="Second scenario, run with the same seeds.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Records format: parquet or csv.")
    ] = "parquet",
) -> None:
    """Simulate a support centre scenario: attainment with 95% intervals, breaches, credits.

    Writes DIR/report.html (plots), DIR/<scenario>/tickets.<fmt> (canonical tickets + class,
    wait, handle), events.<fmt> (customer-wait status events), kpis.csv, team_kpis.csv,
    attainment.csv, summary.csv, credits.csv, required.csv (agents the expected demand
    requires per interval). A bad scenario prints one line naming the file and field (exit
    code 2).
    """
    from rich.console import Console

    from slarisk.errors import SlariskError

    console = Console()
    err = Console(stderr=True)
    if fmt not in ("parquet", "csv"):
        err.print("[red]error:[/red] --format must be parquet or csv")
        raise typer.Exit(2)
    try:
        _run(console, scenario, out, replications, seed, workers, compare, fmt)
    except SlariskError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None


def _advance(progress: Any, task: Any) -> Callable[[int], None]:
    """Progress callback: k replications finished."""

    def update(k: int) -> None:
        progress.update(task, completed=k)

    return update


def _run(
    console: object,
    scenario: Path,
    out: Path,
    replications: int,
    seed: int,
    workers: int,
    compare: Path | None,
    fmt: str,
) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from slarisk.capacity.scenario import load_scenario
    from slarisk.capacity.sim import (
        attainment_table,
        compile_scenario,
        simulate,
        summary_table,
        write_report,
    )
    from slarisk.cli.terminal_tables import dropped_note, frame_table

    assert isinstance(console, Console)
    paths = [scenario] + ([compare] if compare is not None else [])
    scenarios = [load_scenario(p) for p in paths]
    models = [compile_scenario(s) for s in scenarios]
    labels: list[str] = []
    for p in paths:
        label = p.stem
        while label in labels:
            label += "_2"
        labels.append(label)
    results = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        for model, label in zip(models, labels, strict=True):
            task = progress.add_task(f"{label}: replications", total=replications)
            results.append(
                simulate(
                    model,
                    replications,
                    seed,
                    workers=workers,
                    progress=_advance(progress, task),
                )
            )
    out.mkdir(parents=True, exist_ok=True)
    for res, label in zip(results, labels, strict=True):
        folder = out / label
        folder.mkdir(parents=True, exist_ok=True)
        tickets = res.tickets.copy()
        for col in tickets.columns:
            if isinstance(tickets[col].dtype, pd.CategoricalDtype):
                tickets[col] = tickets[col].astype(str)
        if fmt == "parquet":
            tickets.to_parquet(folder / "tickets.parquet", index=False)
            res.events.to_parquet(folder / "events.parquet", index=False)
        else:
            tickets.to_csv(folder / "tickets.csv", index=False)
            res.events.to_csv(folder / "events.csv", index=False)
        res.kpis.to_csv(folder / "kpis.csv", index=False)
        res.team_kpis.to_csv(folder / "team_kpis.csv", index=False)
        res.attainment.to_csv(folder / "attainment.csv", index=False)
        res.summary.to_csv(folder / "summary.csv", index=False)
        res.credits.to_csv(folder / "credits.csv", index=False)
        res.required.to_csv(folder / "required.csv", index=False)
    title = " vs ".join(labels)
    report = write_report(results, labels, out / "report.html", title=f"Simulation: {title}")
    att = attainment_table(results, labels).astype(str)
    table, gone = frame_table(
        f"SLA attainment (mean [95% interval], {replications} replications)",
        att,
        console.width,
        text=("class", "metric"),
        drop={c: 1 for c in att.columns if str(c).endswith(" breaches")},
    )
    console.print(table)
    if gone:
        console.print(dropped_note(gone, f"{out}/<scenario>/attainment.csv"))
    # one column per scenario (a row per measure) so the totals fit a narrow terminal
    summ = summary_table(results, labels).set_index("scenario")
    totals = pd.DataFrame(
        {"": [str(m) for m in summ.columns]}
        | {str(label): [str(v) for v in summ.loc[label]] for label in summ.index}
    )
    st, _ = frame_table("Totals (mean per replication)", totals, console.width, text=("",))
    console.print(st)
    console.print(f"report: {report}  records: {out}/<scenario>/")
