"""CLI command ``slarisk score`` (thin layer over :func:`slarisk.risk.score.score_open_tickets`).

``slarisk score --model champion|PATH OPEN_TICKETS --policy P [--staffing S] [--history H]
[--events E] [--now ISO] --out F``: loads the model (``champion`` = the registry's champion via
``slarisk.risk.registry.load_champion``, else a path to a saved model ``.pkl``), validates the
inputs at entry (rejected rows go to ``<out>.quarantine.csv``; the counts are printed), scores
every running SLA clock and writes the table (CSV or Parquet by extension) sorted by the
suggested work order. Errors print one line and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd


def register(app: typer.Typer) -> None:
    """Add ``slarisk score`` to the top-level app."""
    app.command("score")(score_command)


def resolve_model(model: str, models_dir: Path = Path("models")) -> Any:
    """A :class:`~slarisk.risk.model.RiskModel` from ``champion`` or a path to a saved model."""
    from slarisk.risk.model import load_model

    if model == "champion":
        from slarisk.risk.registry import load_champion

        return load_champion(models_dir=models_dir).model
    return load_model(model)


def _load(kind: str, path: Path, out: Path) -> tuple[pd.DataFrame, str]:
    """Validated frame and a "input = accepted + quarantined" line (quarantine written)."""
    from slarisk.data import io

    loader = {
        "tickets": io.load_tickets,
        "events": io.load_events,
        "staffing": io.load_staffing,
    }[kind]
    res = loader(path)
    line = (
        f"{kind} {path}: {res.n_input} = {res.n_accepted} accepted"
        f" + {res.n_quarantined} quarantined"
    )
    if res.n_quarantined:
        q = out.with_name(f"{out.stem}.{kind}.quarantine.csv")
        res.quarantined.to_csv(q, index=False)
        line += f" (-> {q})"
    return res.accepted, line


def score_command(
    open_tickets: Annotated[
        Path, typer.Argument(metavar="OPEN_TICKETS", help="Open tickets (canonical CSV/Parquet).")
    ],
    policy: Annotated[Path, typer.Option("--policy", help="SLA policy YAML.")],
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    model: Annotated[
        str, typer.Option("--model", help='"champion" or the path of a saved model (.pkl).')
    ] = "champion",
    staffing: Annotated[
        Path | None, typer.Option("--staffing", help="Interval staffing around now.")
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option("--history", help="Closed tickets for arrival norms and breach rates."),
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="Status events of the open tickets (pauses).")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Scoring time, ISO 8601 (default: current time).")
    ] = None,
    models_dir: Annotated[
        Path, typer.Option("--models-dir", help="Export directory of the champion.")
    ] = Path("models"),
) -> None:
    """Score the breach risk of every running SLA clock of OPEN_TICKETS; write them ranked."""
    import pandas as pd
    from rich.console import Console

    from slarisk.errors import SlariskError

    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        from slarisk.data.io import write_table
        from slarisk.risk.score import score_open_tickets
        from slarisk.sla.policy import load_policy

        pol = load_policy(policy)
        try:
            now_ts = pd.Timestamp(now) if now else pd.Timestamp.now(tz="UTC")
        except ValueError:
            raise SlariskError(f"--now: not an ISO timestamp: {now!r}") from None
        if now_ts.tz is None:
            now_ts = now_ts.tz_localize("UTC")
        tickets, line = _load("tickets", open_tickets, out)
        console.print(line)
        extra: dict[str, Any] = {}
        for kind, path in (("staffing", staffing), ("history", history), ("events", events)):
            if path is not None:
                frame, line = _load("tickets" if kind == "history" else kind, path, out)
                console.print(line.replace("tickets", kind, 1) if kind == "history" else line)
                extra[kind] = frame
        mdl = resolve_model(model, models_dir)
        table = score_open_tickets(mdl, tickets, now_ts, pol, **extra)
        write_table(table, out)
    except SlariskError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        raise typer.Exit(code=2) from None
    bands = table["risk_band"].value_counts().to_dict() if len(table) else {}
    order = ("critical", "high", "medium", "low", "breached")
    summary = ", ".join(f"{k} {bands[k]}" for k in order if k in bands)
    console.print(
        f"scored {table['ticket_id'].nunique()} tickets / {len(table)} running clocks at "
        f"{now_ts.isoformat()} -> {out} ({summary or 'nothing open'})"
    )
