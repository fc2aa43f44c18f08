"""CLI command `slarisk data generate` (synthetic history)."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer) -> None:
    """Add the generate command to the `data` group."""
