"""CLI commands of slarisk.capacity: `slarisk capacity ...` and `slarisk simulate`."""

from __future__ import annotations

import typer

from slarisk.capacity import fit_cli, sim_cli

capacity_app = typer.Typer(no_args_is_help=True, help="Queueing analytics, staffing and fitting.")


def register(app: typer.Typer) -> None:
    """Add the capacity commands to the top-level app."""
    app.add_typer(capacity_app, name="capacity")
    fit_cli.add_commands(capacity_app)
    sim_cli.register(app)
