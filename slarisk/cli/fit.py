"""CLI commands `slarisk capacity fit` and `slarisk capacity validate-fit`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from slarisk.errors import InputError


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def relative_to_file(path: Path, out: Path) -> str:
    """``path`` (relative to the working directory) as written into the file ``out``: relative
    to ``out``'s folder (POSIX separators), absolute when no relative path exists."""
    import os

    target, base = path.resolve(), out.resolve().parent
    try:
        return Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return target.as_posix()


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _load_calls(calls: list[Path], months: list[str] | None, tz: str) -> Any:
    """Call-log files/folders -> CallLog (months restrict the files of a folder)."""
    from slarisk.data.calllog import find_call_files, load_call_log

    files: list[Path] = []
    for p in calls:
        files += find_call_files(p, months) if p.is_dir() else [p]
    return load_call_log(list(dict.fromkeys(files)), tz=tz)


def fit_cmd(
    out: Annotated[Path, typer.Option("--out", help="Scenario YAML to write.")],
    calls: Annotated[
        list[Path] | None,
        typer.Option("--calls", help="Call-log file(s) or folder(s) (Anonymous Bank format)."),
    ] = None,
    tickets: Annotated[
        Path | None, typer.Option("--tickets", help="Canonical tickets (CSV/Parquet).")
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="Status events (pauses) for --tickets.")
    ] = None,
    staffing: Annotated[
        Path | None, typer.Option("--staffing", help="Interval staffing for --tickets.")
    ] = None,
    months: Annotated[
        str | None,
        typer.Option("--months", help="Months of a --calls folder, e.g. 1999-01,1999-02."),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Local timezone (default: Asia/Jerusalem for calls, else UTC)."),
    ] = None,
    interval_minutes: Annotated[int, typer.Option(help="Profile/staffing interval.")] = 60,
    staffing_method: Annotated[
        str, typer.Option(help="Calls: distinct | busy | span | available.")
    ] = "available",
    call_classes: Annotated[
        str,
        typer.Option(
            "--classes", help="Calls: classes by priority, or priority-type (x call type)."
        ),
    ] = "priority",
    default_handle_minutes: Annotated[
        float | None, typer.Option(help="Tickets without handle_seconds: mean handle time.")
    ] = None,
    horizon_days: Annotated[float, typer.Option(help="Horizon of the written scenario.")] = 7.0,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Policy file (relative to the working directory); written into the scenario"
            " relative to --out."
        ),
    ] = None,
    dispatch: Annotated[
        str, typer.Option(help="Dispatch rule of the scenario: fifo, priority or edf.")
    ] = "fifo",
    report: Annotated[
        Path | None, typer.Option(help="JSON report of every estimate (default: OUT.fit.json).")
    ] = None,
    lifecycle: Annotated[
        bool,
        typer.Option(
            "--lifecycle",
            help="Tickets: also fit what the event log shows outside the agent queue (pickup,"
            " team stints, hand-offs, outside waits by status, reopens) on the --policy's"
            " calendars.",
        ),
    ] = False,
    check: Annotated[
        int,
        typer.Option(
            "--check",
            help="Tickets: simulate the written scenario with N replications and print its"
            " attainment per priority next to the history's under --policy (0: off).",
            min=0,
            max=100,
        ),
    ] = 0,
    check_by: Annotated[
        str,
        typer.Option(
            "--check-by",
            help="--check per priority (attainment) or per class (attainment, abandonment,"
            " mean wait; simulated mean with its 95% interval).",
        ),
    ] = "priority",
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Write a scenario over the history's own period (daily volumes as observed,"
            " the --staffing table as roster), to check the fit against the history.",
        ),
    ] = False,
) -> None:
    """Fit arrivals, handle times, touches, pauses, patience and staffing; write a scenario."""
    import json

    from rich.console import Console

    from slarisk.capacity.call_log_fit import fit_calls
    from slarisk.capacity.fit_scenario import fit_tickets, write_scenario
    from slarisk.capacity.staffing_estimate import STAFFING_METHODS

    console = Console()
    try:
        if (calls is None) == (tickets is None):
            raise InputError("give exactly one of --calls or --tickets")
        if dispatch not in ("fifo", "priority", "edf"):
            raise InputError(
                f"unknown rule {dispatch!r}; use fifo, priority or edf", field="--dispatch"
            )
        policy_ref = None
        if (lifecycle or check) and tickets is None:
            raise InputError("needs --tickets", field="--lifecycle" if lifecycle else "--check")
        if check and policy is None:
            raise InputError("comparing attainment needs --policy", field="--check")
        if check_by not in ("priority", "class"):
            raise InputError(f"unknown {check_by!r}; use priority or class", field="--check-by")
        if lifecycle and events is None:
            raise InputError("fitting the lifecycle needs --events", field="--lifecycle")
        if policy is not None:
            if not policy.is_file():
                raise InputError("policy file not found", path=str(policy), field="--policy")
            policy_ref = relative_to_file(policy, out)
        if calls is not None:
            zone = tz or "Asia/Jerusalem"
            if staffing_method not in STAFFING_METHODS:
                raise InputError(
                    f"unknown method {staffing_method!r}; use {', '.join(STAFFING_METHODS)}",
                    field="--staffing-method",
                )
            if call_classes not in ("priority", "priority-type"):
                raise InputError(f"unknown classes {call_classes!r}", field="--classes")
            log = _load_calls(calls, _split(months), zone)
            console.print(f"calls: {log.reconcile()}")
            if len(log.quarantine):
                qpath = out.with_name(out.stem + ".quarantine.csv")
                qpath.parent.mkdir(parents=True, exist_ok=True)
                log.quarantine.to_csv(qpath, index=False)
                console.print(f"quarantined rows with reasons: {qpath}")
            result = fit_calls(
                log.calls,
                tz=zone,
                interval_minutes=interval_minutes,
                staffing_method=staffing_method,  # type: ignore[arg-type]
                source=", ".join(str(c) for c in calls),
                classes_by=call_classes.replace("-", "_"),
            )
        else:
            from slarisk.data.io import load_events, load_staffing, load_tickets
            from slarisk.sla.policy import load_policy

            zone = tz or "UTC"
            assert tickets is not None
            tres = load_tickets(tickets)
            console.print(tres.summary())
            ev = load_events(events).accepted if events is not None else None
            st = load_staffing(staffing).accepted if staffing is not None else None
            result = fit_tickets(
                tres.accepted,
                ev,
                st,
                tz=zone,
                interval_minutes=interval_minutes,
                default_handle_seconds=(
                    default_handle_minutes * 60 if default_handle_minutes is not None else None
                ),
                source=str(tickets),
                lifecycle=lifecycle,
                policy=load_policy(str(policy)) if policy is not None else None,
            )
        if backtest:
            if staffing is None:
                raise InputError("needs --tickets with --staffing", field="--backtest")
            mapping = result.backtest_dict(
                relative_to_file(staffing, out),
                name=out.stem,
                policy=policy_ref,
                dispatch=dispatch,
            )
        else:
            mapping = result.scenario_dict(
                name=out.stem, horizon_days=horizon_days, policy=policy_ref, dispatch=dispatch
            )
        write_scenario(mapping, out)
        rpath = report or out.with_name(out.stem + ".fit.json")
        rpath.write_text(json.dumps(result.report(), indent=2, default=str), encoding="utf-8")
        _print_fit(console, result)
        console.print(f"scenario: {out}\nreport: {rpath}")
        if check and check_by == "class":
            _check_classes(console, out, tres.accepted, ev, check)
        elif check:
            _check(console, out, tres.accepted, ev, check)
    except InputError as exc:
        raise _fail(str(exc)) from None


def _check(console: Any, out: Path, tickets: Any, events: Any, replications: int) -> None:
    """Simulate the written scenario and print its attainment per priority next to the
    history's (both under the scenario's policy); writes OUT.check.csv."""
    import pandas as pd
    from rich.table import Table

    from slarisk.capacity.lifecycle_check import (
        compare_attainment,
        log_attainment,
        simulated_attainment,
    )
    from slarisk.capacity.scenario import load_scenario
    from slarisk.capacity.sim import compile_scenario, simulate

    model = compile_scenario(load_scenario(out))
    assert model.policy is not None
    res = simulate(model, replications=replications, seed=0)
    table = compare_attainment(
        log_attainment(tickets, events, model.policy), simulated_attainment(res, model)
    )
    cpath = out.with_name(out.stem + ".check.csv")
    table.to_csv(cpath, index=False)
    view = Table(title=f"attainment: history vs {replications} simulated replication(s)")
    for col in ("priority", "metric", "history (n)", "simulated (n)", "diff pp", "se pp"):
        view.add_column(col, justify="left" if col in ("priority", "metric") else "right")

    def share(p: Any, n: Any) -> str:
        return "-" if pd.isna(p) else f"{100 * float(p):.1f}% ({int(n):,})"

    def num(x: Any, fmt: str) -> str:
        return "-" if pd.isna(x) else format(float(x), fmt)

    for r in table.to_dict("records"):
        view.add_row(
            str(r["priority"]),
            str(r["metric"]),
            share(r["log"], r["log_n"]),
            share(r["simulated"], r["simulated_n"]),
            num(r["difference_pp"], "+.1f"),
            num(r["se_pp"], ".1f"),
        )
    console.print(view)
    console.print(f"check: {cpath}")


def _check_classes(console: Any, out: Path, tickets: Any, events: Any, replications: int) -> None:
    """Simulate the written scenario and print per class its attainment, abandonment and
    mean wait next to the history's (:func:`slarisk.capacity.round_trip.check_round_trip`);
    writes OUT.check.csv."""
    import pandas as pd
    from rich.table import Table

    from slarisk.capacity.round_trip import check_round_trip
    from slarisk.capacity.scenario import load_scenario
    from slarisk.capacity.sim import compile_scenario

    model = compile_scenario(load_scenario(out))
    try:
        table = check_round_trip(model, tickets, events, replications)
    except ValueError as exc:
        raise InputError(str(exc), field="--check") from None
    cpath = out.with_name(out.stem + ".check.csv")
    table.to_csv(cpath, index=False)
    view = Table(
        title=f"history vs {replications} simulated replication(s), per class",
        box=None,
        pad_edge=False,
    )
    for col in ("class", "measure", "history", "simulated", "95% interval", "diff", "ok"):
        left = col in ("class", "measure")
        view.add_column(col, justify="left" if left else "right", no_wrap=True)
    labels = {
        "first_response": "FR %",
        "resolution": "res %",
        "abandonment": "aband %",
        "mean_wait_seconds": "wait s",
    }

    def num(x: Any, wait: bool) -> str:
        if pd.isna(x):
            return "-"
        return f"{float(x):,.0f}" if wait else f"{100 * float(x):.1f}"

    for r in table.to_dict("records"):
        wait = r["measure"] == "mean_wait_seconds"
        d = r["difference"]
        diff = "-" if pd.isna(d) else (f"{float(d):+,.0f}" if wait else f"{100 * d:+.1f}")
        view.add_row(
            str(r["class"]),
            labels.get(str(r["measure"]), str(r["measure"])),
            num(r["history"], wait),
            num(r["simulated"], wait),
            f"[{num(r['lo'], wait)}, {num(r['hi'], wait)}]",
            diff,
            "yes" if r["agrees"] else "NO",
        )
    console.print(view)
    console.print(
        "diff in pp (wait: s); ok: the history inside the 95% interval or within 2 pp"
        f" (wait: 10%); counts and replication range in {cpath}"
    )


def _print_fit(console: Any, result: Any) -> None:
    from rich.table import Table

    table = Table(title=f"fit: {result.n:,} arrivals, {len(result.daily)} days")
    for col in ("class", "share", "handle", "mean (s)", "patience mean (s)", "touches"):
        table.add_column(col)
    for c in result.classes:
        table.add_row(
            c.name,
            f"{c.share:.3f}",
            c.handle.family,
            f"{c.handle.mean:.1f}",
            f"{c.patience.mean:.1f}" if c.patience else "-",
            f"{c.mean_touches():.2f} (mean)"
            if c.lifecycle is not None
            else ", ".join(f"{k}:{v:.2f}" for k, v in (c.touches or {}).items()) or "-",
        )
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")


def validate_fit_cmd(
    calls_dir: Annotated[Path, typer.Option("--calls-dir", help="Folder of call-log files.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    train: Annotated[str, typer.Option(help="Training months, e.g. 1999-01,1999-02.")] = (
        "1999-01,1999-02"
    ),
    test: Annotated[str, typer.Option(help="Test month(s), e.g. 1999-03.")] = "1999-03",
    tz: Annotated[str, typer.Option(help="Timezone of the call log.")] = "Asia/Jerusalem",
    methods: Annotated[
        str, typer.Option(help="Staffing methods to compare (comma-separated).")
    ] = "distinct,span,available,span_trained,span_load,span_calibrated",
    replications: Annotated[int, typer.Option(help="Simulation replications.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    patience: Annotated[
        str,
        typer.Option(
            "--patience",
            help="Patience distribution of the simulation: censored exponential, gamma or "
            "lognormal fit on the training months.",
        ),
    ] = "exponential",
    dispatch: Annotated[
        str, typer.Option(help="Queue discipline of the simulation: fifo or priority.")
    ] = "fifo",
    staffing_minutes: Annotated[
        int, typer.Option(help="Interval of the staffing estimates (minutes, divides 60).")
    ] = 60,
    days: Annotated[
        int | None, typer.Option(help="Use only the first N days of the test period.")
    ] = None,
    classes: Annotated[
        str,
        typer.Option(
            "--classes",
            help="Simulated classes: priority, or priority-type (priority x call type).",
        ),
    ] = "priority-type",
) -> None:
    """Fit on the training months, simulate the test month (replayed arrivals, estimated
    staffing) and compare hourly abandonment and mean wait with what was observed, next to
    Erlang A with the same inputs. Writes CSVs, summary.json and report.html to OUT."""
    import json

    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress

    from slarisk.capacity.fit_scenario import write_scenario
    from slarisk.capacity.fit_validation import validate_call_fit, validation_html
    from slarisk.capacity.staffing_estimate import STAFFING_METHODS
    from slarisk.data.calllog import restrict_months

    console = Console()
    try:
        tr_m, te_m = _split(train) or [], _split(test) or []
        meth = _split(methods) or []
        bad = [
            m
            for m in meth
            if m not in (*STAFFING_METHODS, "span_trained", "span_load", "span_calibrated")
        ]
        if bad:
            raise InputError(f"unknown staffing method(s) {bad}", field="--methods")
        if replications < 1:
            raise InputError("must be >= 1", field="--replications")
        if patience not in ("exponential", "gamma", "lognormal"):
            raise InputError(f"unknown patience distribution {patience!r}", field="--patience")
        if dispatch not in ("fifo", "priority"):
            raise InputError(f"unknown dispatch rule {dispatch!r}", field="--dispatch")
        if classes not in ("priority", "priority-type"):
            raise InputError(f"unknown classes {classes!r}", field="--classes")
        log = _load_calls([calls_dir], tr_m + te_m, tz)
        console.print(f"calls: {log.reconcile()}")
        tr = restrict_months(log.calls, tr_m, tz)
        te = restrict_months(log.calls, te_m, tz)
        if days is not None:
            first = te["arrived_at"].min().tz_convert(tz).normalize()
            te = te[te["arrived_at"] < (first + pd.Timedelta(days=days)).tz_convert("UTC")]
        if tr.empty or te.empty:
            raise InputError("no calls in the training or the test months", path=str(calls_dir))
        out.mkdir(parents=True, exist_ok=True)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("simulating staffing methods", total=len(meth))
            v = validate_call_fit(
                tr,
                te,
                out / "work",
                tz=tz,
                methods=meth,
                replications=replications,
                seed=seed,
                patience_family=patience,
                dispatch=dispatch,
                staffing_minutes=staffing_minutes,
                classes_by=classes.replace("-", "_"),
                progress=lambda k, n: bar.update(task, completed=k),
            )
    except InputError as exc:
        raise _fail(str(exc)) from None
    v.cells.to_csv(out / "cells.csv", index=False)
    v.by_hour.to_csv(out / "by_hour.csv", index=False)
    v.errors.to_csv(out / "errors.csv", index=False)
    v.monthly.to_csv(out / "monthly.csv", index=False)
    v.provenance.to_csv(out / "provenance.csv", index=False)
    write_scenario(v.fit.scenario_dict(name="fitted_train"), out / "fitted_scenario.yaml")
    summary = {
        "train": tr_m,
        "test": te_m,
        "calls": log.reconcile(),
        "errors": v.errors.to_dict(orient="records"),
        "monthly": v.monthly.to_dict(orient="records"),
        "provenance": v.provenance.to_dict(orient="records"),
        "notes": v.notes,
        "fit": v.fit.report(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    (out / "report.html").write_text(validation_html(v), encoding="utf-8")
    _print_provenance(console, v.provenance)
    _print_errors(console, v.errors)
    _print_monthly(console, v.monthly)
    console.print(
        f"written: {out}/report.html, by_hour.csv, cells.csv, errors.csv, monthly.csv, "
        "provenance.csv, summary.json"
    )


def _print_table(console: Any, title: str, df: Any, cols: list[tuple[str, str]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for _, label in cols:
        table.add_column(label)
    for _, r in df.iterrows():
        table.add_row(*(f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c, _ in cols))
    console.print(table)


def _print_provenance(console: Any, prov: Any) -> None:
    cols = [("input", "input"), ("months", "months"), ("source", "source")]
    _print_table(console, "where each input comes from", prov, cols)


def _print_errors(console: Any, errors: Any) -> None:
    cols = [
        ("staffing", "staffing"),
        ("model", "model"),
        ("abandon_mae_pp_date_hour", "aband. MAE pp"),
        ("abandon_floor_pp_date_hour", "floor pp"),
        ("abandon_mae_over_floor", "x floor"),
        ("wait_mae_s_date_hour", "wait MAE s"),
        ("wait_floor_s_date_hour", "floor s"),
        ("wait_mae_over_floor", "x floor"),
        ("abandon_sim_scatter_pp_date_hour", "sim. own pp"),
        ("wait_sim_scatter_s_date_hour", "sim. own s"),
    ]
    title = "per date-hour error (hours with >= 30 calls, weighted equally) vs noise floor"
    _print_table(console, title, errors, cols)
    cols = [
        ("staffing", "staffing"),
        ("model", "model"),
        ("abandon_mae_pp_by_hour", "aband. MAE pp"),
        ("wait_mae_s_by_hour", "wait MAE s"),
        ("abandon_overall_ratio", "aband. pred/obs"),
        ("wait_overall_ratio", "wait pred/obs"),
    ]
    title = "pooled per hour of day (cancels day-to-day errors); whole test period"
    _print_table(console, title, errors, cols)


def _print_monthly(console: Any, monthly: Any) -> None:
    cols = [
        ("staffing", "staffing"),
        ("model", "model"),
        ("month", "month"),
        ("abandon_ratio", "aband. pred/obs"),
        ("wait_ratio", "wait pred/obs"),
    ]
    _print_table(console, "per month: predicted / observed (monthly.csv has both)", monthly, cols)


def add_commands(group: typer.Typer) -> None:
    """Add `fit` and `validate-fit` to the `capacity` group."""
    group.command("fit")(fit_cmd)
    group.command("validate-fit")(validate_fit_cmd)


def register(app: typer.Typer) -> None:
    """No top-level commands."""
