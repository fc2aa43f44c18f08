"""CLI commands (filled in by the owning module)."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer) -> None:
    """Add commands to the given group."""


def register(app: typer.Typer) -> None:
    """Add top-level commands."""
