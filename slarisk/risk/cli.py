"""CLI commands of slarisk.risk."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the top-level app."""
