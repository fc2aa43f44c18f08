"""CLI commands (filled in by the owning module)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add top-level commands."""
