"""CLI commands of slarisk.risk: `slarisk train`, `slarisk score`, `slarisk evaluate-servicenow`."""

from __future__ import annotations

import typer

from slarisk.cli import score as score_cli
from slarisk.cli import servicenow as servicenow_cli
from slarisk.cli import train as train_cli


def register(app: typer.Typer) -> None:
    """Add the risk commands to the top-level app."""
    train_cli.register(app)
    score_cli.register(app)
    servicenow_cli.register(app)
