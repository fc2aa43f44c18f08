"""Command-line interface: wires each domain's commands (thin layer over the library)."""

from __future__ import annotations

import typer

from slarisk.capacity import cli as capacity_cli
from slarisk.data import cli as data_cli
from slarisk.errors import SlariskError
from slarisk.risk import cli as risk_cli
from slarisk.service import cli as service_cli
from slarisk.sla import cli as sla_cli

app = typer.Typer(
    no_args_is_help=True,
    help="slarisk: predictive SLA risk and capacity planning.",
    pretty_exceptions_enable=False,
)

for _module in (data_cli, sla_cli, capacity_cli, risk_cli, service_cli):
    _module.register(app)


def main() -> None:
    """Entry point of the `slarisk` console command: user errors print one line, exit 2."""
    try:
        app()
    except SlariskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
