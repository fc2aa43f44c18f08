"""Command-line interface: thin commands over the library, one module per command group.

Library modules are imported inside the command functions, so ``slarisk --help`` does not
load lightgbm, mlflow, simpy or fastapi.
"""

from __future__ import annotations

import typer

from slarisk.cli import capacity, data, forecast, risk, schedule, service, sla
from slarisk.errors import SlariskError

app = typer.Typer(
    no_args_is_help=True,
    help="slarisk: predictive SLA risk and capacity planning.",
    pretty_exceptions_enable=False,
)

for _module in (data, sla, capacity, forecast, schedule, risk, service):
    _module.register(app)


def main() -> None:
    """Entry point of the `slarisk` console command: user errors print one line, exit 2."""
    try:
        app()
    except SlariskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
