"""`slarisk evaluate-servicenow`: the breach-risk model on the ServiceNow log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slarisk.errors import InputError

# The defaults are spelled here so that `slarisk --help` does not import the risk package;
# tests/risk/test_servicenow.py checks they equal slarisk.risk.servicenow_eval's.
DEFAULT_PATH = Path("../shared/data/servicenow_incidents/incident_event_log.csv.gz")
DEFAULT_AGES_TEXT = "1,4,24,72"


def evaluate_servicenow_command(
    path: Annotated[
        Path, typer.Argument(help="ServiceNow incident event log (CSV, may be gzipped).")
    ] = DEFAULT_PATH,
    max_tickets: Annotated[
        int | None, typer.Option(help="Evaluate a time-ordered subsample of this many.")
    ] = None,
    ages: Annotated[
        str, typer.Option(help="In-flight ages in hours, comma-separated.")
    ] = DEFAULT_AGES_TEXT,
    seed: Annotated[int, typer.Option(help="Random seed of the models.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Also write the report (Markdown) to this file.")
    ] = None,
) -> None:
    """Breach-risk model (settings chosen on time folds of the training rows) vs two tuned
    one-hot logistic regressions (C by time-fold CV on the training rows; plain attributes,
    and those plus every numeric feature of the model) on the ServiceNow incident log
    (made_sla false as the label, last 30% by opening time as test, training rows resolved
    after the cutoff purged or not: both splits reported): ROC AUC, PR AUC, Brier, ECE at
    opening, AUC/AP per priority, and AUC in flight at several ages."""
    from rich.console import Console

    from slarisk.cli.terminal_tables import markdown_blocks
    from slarisk.risk.servicenow_eval import (
        SPLITS,
        evaluate_servicenow,
        load_servicenow,
        report_markdown,
    )

    console = Console(highlight=False)
    try:
        age_list = tuple(float(a) for a in ages.split(",") if a.strip())
    except ValueError:
        raise InputError(f"--ages: {ages!r} is not a comma-separated list of hours") from None
    with console.status("importing the ServiceNow log"):
        tickets = load_servicenow(path)
    with console.status(f"evaluating {len(tickets):,} incidents"):
        rep = evaluate_servicenow(tickets, ages_hours=age_list, max_tickets=max_tickets, seed=seed)
    text = report_markdown(rep)
    for split, _purge in SPLITS:
        for baseline, label in (
            ("logistic", "tuned LR"),
            ("logistic_all", "tuned LR, all features"),
        ):
            gain, ap = rep.gain(split, "roc_auc", baseline), rep.gain(split, "pr_auc", baseline)
            verdict = "met" if gain >= 0.02 and ap >= 0.0 else "NOT met"
            text += (
                f"\n{split}: AUC gain over the {label} at opening {gain:+.3f}, average "
                f"precision {ap:+.3f} (goal +0.02 AUC, AP not worse: {verdict})"
            )
    text += "\n"
    for block in markdown_blocks(text, console.width):  # tables fitted to the terminal
        console.print(block)
    console.print(f"info: {rep.info}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.print(f"report -> {out}")


def register(app: typer.Typer) -> None:
    """Add ``slarisk evaluate-servicenow`` to the top-level app."""
    app.command("evaluate-servicenow")(evaluate_servicenow_command)
