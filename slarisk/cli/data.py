"""CLI commands of slarisk.data: `slarisk data ...`."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slarisk.cli import generate as generate_cli
from slarisk.errors import SlariskError

if TYPE_CHECKING:
    import pandas as pd

    from slarisk.data.validate import ImportResult, ValidationResult

data_app = typer.Typer(no_args_is_help=True, help="Import, validate and generate ticket data.")

ADAPTERS = ("servicenow",)


class Kind(StrEnum):
    tickets = "tickets"
    events = "events"
    staffing = "staffing"
    shifts = "shifts"


def register(app: typer.Typer) -> None:
    """Add the data commands to the top-level app."""
    app.add_typer(data_app, name="data")
    generate_cli.add_commands(data_app)


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _parse_defaults(pairs: list[str] | None) -> dict[str, str]:
    from slarisk.data import schema as s
    from slarisk.errors import InputError

    out: dict[str, str] = {}
    allowed = (s.PRIORITY, *s.SEGMENT_COLUMNS)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not value.strip() or key not in allowed:
            raise InputError(
                f"expected COLUMN=VALUE with COLUMN one of {', '.join(allowed)}, got {pair!r}",
                field="--default",
            )
        out[key] = value.strip()
    return out


def _write_quarantine(frame: pd.DataFrame, path: Path) -> Path:
    from slarisk.data.io import write_table

    text = frame.copy()
    for col in text.columns[3:]:
        text[col] = text[col].astype("str").where(text[col].notna(), "")
    return write_table(text, path)


def _report(lines: list[str], results: list[ValidationResult], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    reasons: dict[tuple[str, str], int] = {}
    for res in results:
        for reason, n in res.reason_counts().items():
            reasons[(res.kind, reason)] = reasons.get((res.kind, reason), 0) + n
    if reasons:
        table = Table(title="quarantine reasons (top 15)")
        table.add_column("level")
        table.add_column("reason")
        table.add_column("rows", justify="right")
        for (kind, reason), n in sorted(reasons.items(), key=lambda kv: -kv[1])[:15]:
            table.add_row(kind, reason, f"{n:,}")
        console.print(table)
    console.print(f"done in {seconds:.1f} s")


@data_app.command("import")
def import_cmd(
    source: Annotated[Path, typer.Argument(help="Export to import (.csv, .csv.gz, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Canonical tickets (.parquet/.csv).")],
    adapter: Annotated[
        str | None, typer.Option(help=f"Built-in adapter: {', '.join(ADAPTERS)}.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML import mapping (see mappings/).")
    ] = None,
    events: Annotated[
        Path | None, typer.Option(help="Also write status events (ticket_id, at, status) here.")
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Quarantine CSV (default: OUT stem + .quarantine.csv).")
    ] = None,
    source_tz: Annotated[
        str | None,
        typer.Option(help="IANA timezone of naive timestamps (default: mapping's, else UTC)."),
    ] = None,
    default: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=VALUE for a segment the source lacks, e.g. tier=gold."),
    ] = None,
) -> None:
    """Import a help-desk export into canonical tickets; bad rows go to a quarantine file.

    Prints `input N = accepted A + quarantined Q` (per level for event logs).
    """
    t0 = time.perf_counter()
    try:
        result = _run_import(source, adapter, mapping, source_tz, _parse_defaults(default))
        from slarisk.data.io import quarantine_path_for, write_table

        write_table(result.tickets.accepted, out)
        qpath = _write_quarantine(result.quarantine(), quarantine or quarantine_path_for(out))
        lines = [*result.lines(), f"tickets -> {out}", f"quarantine -> {qpath}"]
        if events is not None:
            write_table(result.events, events)
            lines.append(f"status events -> {events}")
    except SlariskError as exc:
        raise _fail(str(exc)) from None
    parts = [r for r in (result.source_events, result.tickets) if r is not None]
    _report(lines, parts, time.perf_counter() - t0)


def _run_import(
    source: Path,
    adapter: str | None,
    mapping: Path | None,
    source_tz: str | None,
    defaults: dict[str, str],
) -> ImportResult:
    from slarisk.data.io import read_table
    from slarisk.errors import InputError

    if (adapter is None) == (mapping is None):
        raise InputError("give exactly one of --adapter or --mapping", field="--adapter")
    if adapter is not None and adapter not in ADAPTERS:
        raise InputError(
            f"unknown adapter {adapter!r} (known: {', '.join(ADAPTERS)})", field="--adapter"
        )
    spec = None
    if mapping is not None:
        from slarisk.data.mapping import load_mapping

        spec = load_mapping(mapping)  # before reading a possibly large input
    raw = read_table(source)
    if spec is not None and mapping is not None:
        from slarisk.data.mapping import import_with_mapping

        result = import_with_mapping(
            raw,
            spec,
            str(source),
            mapping_name=str(mapping),
            source_tz=source_tz,
            defaults=defaults,
        )
    else:
        from slarisk.data.servicenow import import_servicenow

        result = import_servicenow(
            raw, str(source), source_tz=source_tz or "UTC", defaults=defaults
        )
    return result


@data_app.command("validate")
def validate_cmd(
    source: Annotated[Path, typer.Argument(help="Canonical file (.csv, .csv.gz, .parquet).")],
    kind: Annotated[Kind, typer.Option(help="What the file holds.")] = Kind.tickets,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the accepted, typed rows here.")
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Quarantine CSV (default: beside OUT, else ./<stem>.quarantine.csv)."),
    ] = None,
    source_tz: Annotated[str, typer.Option(help="IANA timezone of naive timestamps.")] = "UTC",
    timestamp_format: Annotated[
        str | None, typer.Option(help="strftime format of timestamps (default ISO 8601).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with code 1 when any row is quarantined.")
    ] = False,
    to_intervals: Annotated[
        int | None,
        typer.Option(help="With --kind shifts: write agents per team and N-minute interval."),
    ] = None,
) -> None:
    """Check a canonical tickets/events/staffing/shifts file against the data contract."""
    from slarisk.data import io

    loaders = {
        Kind.tickets: io.load_tickets,
        Kind.events: io.load_events,
        Kind.staffing: io.load_staffing,
        Kind.shifts: io.load_shifts,
    }
    t0 = time.perf_counter()
    if to_intervals is not None and (kind != Kind.shifts or to_intervals <= 0):
        raise _fail("--to-intervals: needs --kind shifts and a positive N")
    try:
        result = loaders[kind](source, source_tz=source_tz, timestamp_format=timestamp_format)
        lines = [result.summary()]
        accepted = result.accepted
        if to_intervals is not None:
            from slarisk.data.staffing import shifts_to_intervals

            accepted = shifts_to_intervals(accepted, to_intervals)
            lines.append(f"{len(accepted):,} staffing intervals of {to_intervals} min")
        if out is not None:
            io.write_table(accepted, out)
            lines.append(f"accepted -> {out}")
        qpath = quarantine
        if qpath is None:
            qpath = io.quarantine_path_for(out if out is not None else Path.cwd() / source.name)
        if result.n_quarantined or out is not None or quarantine is not None:
            _write_quarantine(result.quarantined, qpath)
            lines.append(f"quarantine -> {qpath}")
    except SlariskError as exc:
        raise _fail(str(exc)) from None
    _report(lines, [result], time.perf_counter() - t0)
    if strict and result.n_quarantined:
        raise typer.Exit(code=1)


@data_app.command("volumes")
def volumes_cmd(
    source: Annotated[Path, typer.Argument(help="Canonical tickets (.csv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Volume table (CSV/Parquet).")],
    interval_minutes: Annotated[int, typer.Option(help="Interval length, minutes.")] = 30,
    by: Annotated[str, typer.Option(help="Ticket column that names the queue.")] = "channel",
    week: Annotated[
        bool, typer.Option("--week", help="Average the history into one typical week.")
    ] = False,
) -> None:
    """Tickets created per interval and queue (with mean handle time): staffing input."""
    from slarisk.data import io
    from slarisk.data.volumes import interval_volumes

    t0 = time.perf_counter()
    try:
        result = io.load_tickets(source)
        if by not in result.accepted.columns:
            raise _fail(f"{source}: --by: no column {by!r} in the tickets")
        if interval_minutes <= 0:
            raise _fail("--interval-minutes: must be > 0")
        table = interval_volumes(
            result.accepted, interval_minutes=interval_minutes, by=by, weeks_average=week
        )
        io.write_table(table, out)
    except SlariskError as exc:
        raise _fail(str(exc)) from None
    _report(
        [
            result.summary(),
            f"{len(table):,} intervals x queues, {table['volume'].sum():,.0f} tickets -> {out}",
        ],
        [result],
        time.perf_counter() - t0,
    )
