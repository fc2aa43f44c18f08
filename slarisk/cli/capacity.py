"""CLI commands of slarisk.capacity: `slarisk capacity ...` and `slarisk simulate`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import pandas as pd

from slarisk.cli import fit as fit_cli
from slarisk.cli import simulate as sim_cli

capacity_app = typer.Typer(no_args_is_help=True, help="Queueing analytics, staffing and fitting.")


def register(app: typer.Typer) -> None:
    """Add the capacity commands to the top-level app."""
    app.add_typer(capacity_app, name="capacity")
    fit_cli.add_commands(capacity_app)
    sim_cli.register(app)


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {message}", markup=True
    )
    raise typer.Exit(code=2)


def load_volumes(path: Path, *, tz: str = "UTC") -> pd.DataFrame:
    """Read and validate a per-interval volume table (CSV/Parquet).

    Columns: ``interval_start`` (ISO timestamps; naive ones are read in ``tz``), ``volume``
    (contacts, 0..1,000,000), optional ``queue`` or ``team`` (str) and ``aht`` (seconds,
    (0, 86400]). Raises InputError naming the file, first bad row (1-based data row), field
    and the plausible range (:data:`slarisk.capacity.limits.REQUIREMENT_LIMITS`).
    """
    import numpy as np
    import pandas as pd

    from slarisk.capacity.limits import REQUIREMENT_LIMITS
    from slarisk.data.io import read_table
    from slarisk.data.timestamps import parse_timestamps
    from slarisk.errors import InputError

    df = read_table(path)
    missing = [c for c in ("interval_start", "volume") if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns))})",
            path=str(path),
        )
    if df.empty:
        raise InputError("no data rows", path=str(path))
    ts = parse_timestamps(df["interval_start"], source_tz=tz)
    bad = ts.missing | ts.unparseable | ts.bad_local_time | ts.out_of_range
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        value = df["interval_start"].iloc[row - 1]
        raise InputError(
            f"bad timestamp {value!r}", path=str(path), row=row, field="interval_start"
        )
    out = pd.DataFrame({"interval_start": ts.values})
    queue_col = "queue" if "queue" in df.columns else ("team" if "team" in df.columns else None)
    out["queue"] = df[queue_col].astype(str).to_numpy() if queue_col else "all"
    for col in ("volume", "aht"):
        if col not in df.columns:
            continue
        num = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        rng = REQUIREMENT_LIMITS[col]
        ok = rng.contains(num)
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0]) + 1
            raise InputError(
                f"{df[col].iloc[row - 1]!r} is outside the plausible range {rng.text()}",
                path=str(path),
                row=row,
                field=col,
            )
        out[col] = num
    dup = out.duplicated(["queue", "interval_start"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise InputError(
            "duplicate (queue, interval_start)", path=str(path), row=row, field="interval_start"
        )
    return out


def _infer_interval_seconds(df: pd.DataFrame) -> float:
    import numpy as np

    diffs = (
        df.sort_values(["queue", "interval_start"])
        .groupby("queue")["interval_start"]
        .diff()
        .dropna()
        .dt.total_seconds()
        .to_numpy()
    )
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return 1800.0
    return float(np.min(diffs))


@capacity_app.command("requirements")
def requirements_cmd(
    volumes: Annotated[Path, typer.Argument(help="Per-interval volume table (CSV/Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output table (CSV/Parquet).")],
    aht: Annotated[
        float | None,
        typer.Option(help="Average handle time, seconds, for a table without an aht column."),
    ] = None,
    target_sl: Annotated[
        float | None, typer.Option("--target-sl", help="Service-level goal, e.g. 0.8.")
    ] = None,
    within: Annotated[float, typer.Option(help="Answer-time threshold, seconds.")] = 20.0,
    asa: Annotated[float | None, typer.Option(help="Target mean answer delay, seconds.")] = None,
    max_abandon: Annotated[
        float | None, typer.Option("--max-abandon", help="Max P(abandon) (erlang-a).")
    ] = None,
    patience: Annotated[
        float | None, typer.Option(help="Mean patience, seconds (erlang-a).")
    ] = None,
    shrinkage: Annotated[float, typer.Option(help="Fraction of paid time off the queue.")] = 0.0,
    max_occupancy: Annotated[float, typer.Option("--max-occupancy")] = 1.0,
    method: Annotated[
        str, typer.Option(help="erlang-c, erlang-a or backlog (async tickets).")
    ] = "erlang-c",
    target_hours: Annotated[
        float | None, typer.Option("--target-hours", help="Backlog: resolve within H hours.")
    ] = None,
    interval_minutes: Annotated[
        float | None, typer.Option("--interval-minutes", help="Default: smallest step seen.")
    ] = None,
    cyclic: Annotated[
        bool, typer.Option(help="Backlog: table is one period of a repeating pattern.")
    ] = False,
    tz: Annotated[str, typer.Option(help="Timezone of naive timestamps.")] = "UTC",
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="Only these queues (repeatable).")
    ] = None,
) -> None:
    """Required agents per interval (Erlang C/A, or backlog-aware for hours-long targets)."""
    import numpy as np
    from rich.console import Console

    from slarisk.capacity.erlang import requirements_frame
    from slarisk.capacity.limits import check_range
    from slarisk.cli.terminal_tables import Col, fit_table
    from slarisk.data.io import write_table
    from slarisk.errors import SlariskError

    for name, option, value in (
        ("aht", "--aht", aht),
        ("target_sl", "--target-sl", target_sl),
        ("within", "--within", within),
        ("target_asa", "--asa", asa),
        ("max_abandon", "--max-abandon", max_abandon),
        ("patience", "--patience", patience),
        ("shrinkage", "--shrinkage", shrinkage),
        ("max_occupancy", "--max-occupancy", max_occupancy),
        ("target_hours", "--target-hours", target_hours),
    ):
        try:
            check_range(name, value, label=option)
        except ValueError as exc:
            _fail(str(exc))
    if interval_minutes is not None and not 1 <= interval_minutes <= 1440:
        _fail(f"--interval-minutes: {interval_minutes:g} is outside the plausible range [1, 1440]")
    if method not in ("erlang-c", "erlang-a", "backlog"):
        _fail(f"--method: unknown method {method!r} (erlang-c, erlang-a or backlog)")
    if method == "erlang-a" and patience is None:
        _fail("--patience is required with --method erlang-a")
    if method == "backlog" and target_hours is None:
        _fail("--target-hours is required with --method backlog")
    if method != "backlog" and target_sl is None and asa is None and max_abandon is None:
        target_sl = 0.8
    try:
        df = load_volumes(volumes, tz=tz)
        if queue:
            unknown = sorted(set(queue) - set(df["queue"]))
            if unknown:
                _fail(f"{volumes}: --queue: unknown queue(s) {unknown}")
            df = df.loc[df["queue"].isin(queue)].reset_index(drop=True)
        if aht is None and "aht" not in df.columns:
            _fail(f"{volumes}: no aht column; give --aht SECONDS")
        if aht is not None and "aht" in df.columns:
            _fail(f"--aht: {volumes} has an aht column; give one or the other, not both")
        step = interval_minutes * 60.0 if interval_minutes else _infer_interval_seconds(df)
        res = requirements_frame(
            df,
            interval_seconds=step,
            method=method,  # type: ignore[arg-type]
            aht=aht,
            target_sl=target_sl,
            within=within,
            target_asa=asa,
            max_abandon=max_abandon,
            patience=patience,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            target_hours=target_hours,
            cyclic=cyclic,
        )
        write_table(res, out)
    except SlariskError as exc:
        _fail(str(exc))
        return
    except ValueError as exc:
        _fail(str(exc))
        return

    console = Console()
    heads = ["queue", "intervals", "volume", "peak agents", "agent-hours"]
    heads += ["mean SL"] if method != "backlog" else ["max delay h (done)", "end backlog h"]
    rows = []
    for q, g in res.groupby("queue", sort=True):
        hours = float(g["agents"].sum()) * step / 3600.0
        if method != "backlog":
            vol = g["volume"].to_numpy(float)
            sl = g["service_level"].to_numpy(float)
            val = float(np.average(sl, weights=vol)) if vol.sum() > 0 else 1.0
            last = [f"{val:.3f}"]
        else:
            delay = g["max_delay_hours"].to_numpy(float)
            done = delay[np.isfinite(delay)]
            last = [
                f"{done.max():.2f}" if done.size else "-",
                f"{float(g['backlog_hours'].iloc[-1]):.1f}",
            ]
        rows.append(
            [
                str(q),
                str(len(g)),
                f"{g['volume'].sum():.0f}",
                str(int(g["agents"].max())),
                f"{hours:.1f}",
                *last,
            ]
        )
    table, _ = fit_table(
        f"Requirements ({method}, {step / 60:g}-minute intervals)",
        [Col(heads[0]), *(Col(h, True, drop=int(h == "intervals")) for h in heads[1:])],
        rows,
        console.width,
    )
    console.print(table)
    console.print(f"wrote {len(res)} rows to {out}")
