"""CLI commands of slarisk.data: `slarisk data ...`."""

from __future__ import annotations

import typer

from slarisk.data import generate_cli

data_app = typer.Typer(no_args_is_help=True, help="Import, validate and generate ticket data.")


def register(app: typer.Typer) -> None:
    """Add the data commands to the top-level app."""
    app.add_typer(data_app, name="data")
    generate_cli.add_commands(data_app)
