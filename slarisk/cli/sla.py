"""CLI commands of slarisk.sla: `slarisk sla report` and `slarisk sla status`.

Input tickets (and events) are validated at entry. By default any bad row (unparseable
timestamp, priority not in the policy, ...) stops the command with one line naming the file,
row and field (exit code 2): a compliance report on silently-dropped rows would mislead.
With ``--quarantine FILE`` bad rows go to FILE instead and the reconciliation
``input = accepted + quarantined`` is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd

    from slarisk.sla.policy import Policy

sla_app = typer.Typer(no_args_is_help=True, help="SLA compliance reports and live status.")

FORMATS = ("html", "csv", "json")


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the top-level app."""
    app.add_typer(sla_app, name="sla")


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {message}", markup=True
    )
    raise typer.Exit(code=2)


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in df.to_dict(orient="records")]


def _data_end(tk: pd.DataFrame, ev: pd.DataFrame | None) -> pd.Timestamp:
    """The latest timestamp in the tickets and events (the default ``--now``)."""
    import pandas as pd

    stamps = [tk[c].max() for c in ("created_at", "first_response_at", "resolved_at") if c in tk]
    if ev is not None and len(ev):
        stamps.append(ev["at"].max())
    valid = [pd.Timestamp(x) for x in stamps if not pd.isna(x)]
    return max(valid) if valid else pd.Timestamp.now(tz="UTC")


def _resolve_now(
    now_ts: pd.Timestamp | None, tk: pd.DataFrame, ev: pd.DataFrame | None, lines: list[str]
) -> pd.Timestamp:
    """``--now`` as given, else the data's end (and a line saying so)."""
    if now_ts is not None:
        return now_ts
    end = _data_end(tk, ev)
    lines.append(
        f"--now not given: open clocks judged at {end.isoformat()} (the data's last timestamp)"
    )
    return end


def _parse_now(now: str | None) -> pd.Timestamp | None:
    import pandas as pd

    from slarisk.errors import InputError

    if now is None:
        return None
    try:
        ts = pd.Timestamp(now)
    except (ValueError, TypeError):
        raise InputError(f"not an ISO timestamp: {now!r}", field="--now") from None
    if pd.isna(ts):
        raise InputError(f"not an ISO timestamp: {now!r}", field="--now")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _load_inputs(
    policy_path: Path,
    tickets_path: Path,
    events_path: Path | None,
    quarantine: Path | None,
    tz: str,
) -> tuple[Policy, pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Policy, accepted tickets and events; strict unless a quarantine file is given."""
    import pandas as pd

    from slarisk.data.io import load_events, load_tickets
    from slarisk.errors import InputError
    from slarisk.sla.policy import load_policy

    policy = load_policy(policy_path)
    tiers = list(policy.tiers) + (["unknown", ""] if policy.default_tier else [])
    allowed = {"priority": policy.priorities, "tier": tiers}
    tickets = load_tickets(tickets_path, source_tz=tz, allowed=allowed)
    results = [tickets]
    events = None
    if events_path is not None:
        ev = load_events(events_path, source_tz=tz)
        results.append(ev)
        events = ev.accepted
    lines = []
    if events is not None and len(events) and policy.pause_statuses:  # [] = never pauses
        seen = set(events["status"].dropna().astype(str))
        if not seen & set(policy.pause_statuses):
            lines.append(
                f"warning: no event status is one of the policy's pause_statuses "
                f"({', '.join(policy.pause_statuses) or 'none'}): paused time is 0 "
                f"(event statuses: {', '.join(sorted(seen)[:8])}{', ...' if len(seen) > 8 else ''})"
            )
    bad = [r for r in results if r.n_quarantined]
    if bad and quarantine is None:
        r = bad[0]
        q = r.quarantined.iloc[0]
        more = f" (and {r.n_quarantined - 1} more bad rows)" if r.n_quarantined > 1 else ""
        raise InputError(
            f"{q['reason']}{more}; fix the file or pass --quarantine FILE to report on the "
            f"valid rows",
            path=r.source,
            row=int(q["row"]),
            field=str(q["field"]),
        )
    if quarantine is not None:
        from slarisk.data.io import write_table

        parts = [r.quarantined.assign(source=r.source) for r in results if r.n_quarantined]
        qdf = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["row", "field", "reason", "source"])
        )
        write_table(qdf, quarantine)
        lines = [r.summary() for r in results] + [f"quarantine: {quarantine}"] + lines
    return policy, tickets.accepted, events, lines


def _clocks(
    tk: pd.DataFrame,
    pol: Policy,
    ev: pd.DataFrame | None,
    now_ts: pd.Timestamp,
    tickets_path: Path,
) -> pd.DataFrame:
    """compute_clocks with its errors attributed to the tickets file."""
    from slarisk.errors import InputError
    from slarisk.sla.clock import compute_clocks

    try:
        return compute_clocks(tk, pol, events=ev, now=now_ts)
    except InputError as exc:
        raise InputError(exc.detail, path=exc.path or str(tickets_path), field=exc.field) from None


@sla_app.command("report")
def report_cmd(
    policy: Annotated[Path, typer.Option("--policy", help="SLA policy YAML.")],
    tickets: Annotated[Path, typer.Option("--tickets", help="Canonical tickets (CSV/Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Report file.")],
    events: Annotated[
        Path | None, typer.Option("--events", help="Status events (pause/resume).")
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Segments: tier,region,service_type,priority,customer,"
            "month,metric (comma-separated).",
        ),
    ] = "tier,month",
    fmt: Annotated[str, typer.Option("--format", help="html, csv or json.")] = "html",
    now: Annotated[
        str | None,
        typer.Option("--now", help="ISO time judging open tickets (default: the data's end)."),
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option("--quarantine", help="Write bad rows here and go on.")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="Timezone of naive timestamps.")] = "UTC",
) -> None:
    """Attainment per segment (Wilson 95 %), breaches, exclusions and service credits."""
    from rich.console import Console

    from slarisk.errors import SlariskError
    from slarisk.sla.report import build_report, parse_segments
    from slarisk.sla.report_html import write_report

    if fmt not in FORMATS:
        _fail(f"--format: unknown format {fmt!r} (html, csv or json)")
    try:
        segs = parse_segments(by)
        given = _parse_now(now)
        pol, tk, ev, lines = _load_inputs(policy, tickets, events, quarantine, tz)
        now_ts = _resolve_now(given, tk, ev, lines)
        clocks = _clocks(tk, pol, ev, now_ts, tickets)
        rep = build_report(clocks, pol, segs, now=now_ts)
        files = write_report(rep, out, fmt)
    except SlariskError as exc:
        _fail(str(exc))
        return

    console = Console()
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)
    width = console.width
    from slarisk.cli.terminal_tables import Col, dropped_note, fit_table
    from slarisk.sla.report import wilson_interval

    rows = []
    for row in _rows(rep.reconciliation):
        met, br = int(row["met"]), int(row["breached"])
        lo, hi = wilson_interval(met, met + br)
        rows.append(
            [
                str(row["metric"]),
                *(f"{int(row[k]):,}" for k in ("tickets", "met", "breached", "open_not_due")),
                f"{int(row['excluded']):,}",
                f"{met / (met + br):.1%}" if met + br else "-",
                f"{float(lo):.1%}-{float(hi):.1%}" if met + br else "-",
            ]
        )
    cols = [
        Col("metric"),
        Col("tickets", True),
        Col("met", True),
        Col("breached", True),
        Col("open", True, drop=2),
        Col("excluded", True, drop=1),
        Col("attained", True),
        Col("95% CI", True, drop=3),
    ]
    rec, gone = fit_table(f"SLA compliance: {rep.policy_name}", cols, rows, width)
    console.print(rec)
    if gone:
        console.print(dropped_note(gone, str(out)))
    keys = [*rep.by, "metric"] if "metric" not in rep.by else list(rep.by)
    shown = rep.attainment.head(40)
    rows, styles = [], []
    for d in _rows(shown):
        decided = int(d["decided"])
        goal = d["goal"] if d["goal"] == d["goal"] else None
        below = goal - d["attainment"] if decided and goal is not None else None
        rows.append(
            [
                *(str(d[k]) for k in keys),
                f"{decided:,}",
                "-" if decided == 0 else f"{d['attainment']:.1%}",
                "-" if decided == 0 else f"{d['ci_low']:.1%}-{d['ci_high']:.1%}",
                f"{goal:.0%}" if goal is not None else "-",
                f"{below:.1%}" if below is not None and below > 1e-12 else "",
            ]
        )
        styles.append("red" if d["meets_goal"] is False else None)
    cols = [
        *(Col(k, whole=k in ("month", "week")) for k in keys),
        Col("decided", True),
        Col("attained", True),
        Col("95% CI", True, drop=1),
        Col("goal", True),
        Col("below goal by", True),
    ]
    seg, gone = fit_table(f"Attainment by {', '.join(keys)}", cols, rows, width, styles)
    console.print(seg)
    if gone:
        console.print(dropped_note(gone, str(out)))
    if len(rep.attainment) > len(shown):
        console.print(f"... {len(rep.attainment) - len(shown)} more segment rows in {out}")
    if not rep.credits.empty:
        owed = rep.credits[rep.credits["amount"] > 0]
        console.print(
            f"service credits owed: {owed['amount'].sum():,.2f} {rep.currency} over "
            f"{len(owed)} customer-month(s)"
        )
    console.print(f"excluded by exceptions: {len(rep.excluded)} ticket(s)")
    if not rep.source_by_priority.empty:
        _print_source_agreement(console, rep.source_by_priority, str(out))
    console.print("wrote " + ", ".join(str(f) for f in files))


def _print_source_agreement(console: Any, table: pd.DataFrame, where: str) -> None:
    """Agreement with the source's SLA flag per priority and metric, and the overall line."""
    from slarisk.cli.terminal_tables import Col, dropped_note, fit_table

    rows, styles = [], []
    for d in _rows(table):
        rows.append(
            [
                str(d["priority"]),
                str(d["metric"]),
                f"{int(d['compared']):,}",
                f"{d['agreement']:.1%}",
                *(
                    f"{int(d[k]):,}"
                    for k in (
                        "policy_met_source_breached",
                        "policy_breached_source_met",
                        "missing_timestamps",
                        "pause_rule",
                        "different_target",
                    )
                ),
            ]
        )
        styles.append("bold" if d["priority"] == "all" else None)
    cols = [
        Col("prio"),
        Col("metric"),
        Col("clocks", True),
        Col("agree", True),
        Col("met, src no", True, drop=2),
        Col("breach, src yes", True, drop=1),
        Col("no stop", True),
        Col("pause", True),
        Col("target", True),
    ]
    tab, gone = fit_table(
        "Agreement with the source's SLA verdict (source_made_sla)",
        cols,
        rows,
        console.width,
        styles,
    )
    console.print(tab)
    if gone:
        console.print(dropped_note(gone, where))
    console.print(
        "disagreements by cause: no stop = stop not recorded (no response, resolved at "
        "closing, open); pause = met only thanks to a policy pause; target = the source's "
        "target differs",
        soft_wrap=True,
    )


@sla_app.command("status")
def status_cmd(
    policy: Annotated[Path, typer.Option("--policy", help="SLA policy YAML.")],
    tickets: Annotated[Path, typer.Option("--tickets", help="Tickets (open ones are shown).")],
    now: Annotated[
        str | None, typer.Option("--now", help="ISO time (default: the data's last timestamp).")
    ] = None,
    events: Annotated[Path | None, typer.Option("--events", help="Status events.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Optional CSV of all open.")] = None,
    top: Annotated[int, typer.Option("--top", help="Rows shown in the terminal.")] = 20,
    quarantine: Annotated[
        Path | None, typer.Option("--quarantine", help="Write bad rows here and go on.")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="Timezone of naive timestamps.")] = "UTC",
) -> None:
    """Open tickets with alert levels and time left, soonest breach first."""
    import pandas as pd
    from rich.console import Console

    from slarisk.data.io import write_table
    from slarisk.errors import SlariskError
    from slarisk.sla.report import alert_counts, status_table

    try:
        given = _parse_now(now)
        pol, tk, ev, lines = _load_inputs(policy, tickets, events, quarantine, tz)
        now_ts = _resolve_now(given, tk, ev, lines)
        clocks = _clocks(tk, pol, ev, now_ts, tickets)
        st = status_table(clocks)
        if out is not None:
            write_table(st, out)
    except SlariskError as exc:
        _fail(str(exc))
        return

    console = Console()
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)
    levels = pol.alert_levels
    counts = alert_counts(st, levels)
    from slarisk.cli.terminal_tables import Col, dropped_note, fit_table

    heads = [
        c.replace("level_", "alert ") if c.startswith("level_") else c
        for c in map(str, counts.columns)
    ]
    ct, _ = fit_table(
        f"Open SLA clocks at {now_ts.isoformat()} (alert = % of target used)",
        [Col(heads[0]), *(Col(h, True) for h in heads[1:])],
        [[str(crow[0]), *(f"{int(v):,}" for v in crow[1:])] for crow in counts.to_numpy()],
        console.width,
    )
    console.print(ct)
    colour = {levels[-1]: "red", **({levels[-2]: "yellow"} if len(levels) > 1 else {})}
    rows, styles = [], []
    for r in _rows(st.head(top)):
        rows.append(
            [
                *(str(r[k]) for k in ("ticket_id", "metric", "priority", "tier", "customer")),
                str(r["alert_level"]),
                pd.Timestamp(r["due_at"]).strftime("%Y-%m-%d %H:%M"),
                f"{float(r['time_left_seconds']) / 3600:.1f}",
            ]
        )
        styles.append(colour.get(int(r["alert_level"])))
    cols = [
        Col("ticket", whole=True),
        Col("metric"),
        Col("prio"),
        Col("tier", drop=2),
        Col("customer", drop=1),
        Col("alert", True),
        Col("due (UTC)", True),
        Col("left h", True),
    ]
    tab, gone = fit_table(
        f"Soonest breach first (top {min(top, len(st))} of {len(st)})",
        cols,
        rows,
        console.width,
        styles,
    )
    console.print(tab)
    if gone:
        console.print(dropped_note(gone, "--out"))
    console.print("left h = business hours left before breach (negative: overdue)")
    if out is not None:
        console.print(f"wrote {len(st)} open clocks to {out}")
