"""CLI commands of slarisk.risk: `slarisk train`, `slarisk score`, `slarisk evaluate-servicenow`."""

from __future__ import annotations

import typer

from slarisk.risk import score_cli, servicenow_eval, train_cli


def register(app: typer.Typer) -> None:
    """Add the risk commands to the top-level app."""
    train_cli.register(app)
    score_cli.register(app)
    servicenow_eval.register(app)
