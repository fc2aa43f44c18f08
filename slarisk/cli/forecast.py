"""CLI commands of slarisk.forecast: `slarisk forecast fit|predict|backtest`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from slarisk.forecast.events import SpecialDays
    from slarisk.forecast.series import QueueSeries

forecast_app = typer.Typer(no_args_is_help=True, help="Demand forecasts with calibrated bands.")

InputArg = Annotated[
    Path, typer.Argument(help="Canonical tickets or a volume table (CSV/Parquet).")
]
IntervalOpt = Annotated[int, typer.Option("--interval", help="Interval, minutes (15, 30, 60).")]
ValueOpt = Annotated[
    str | None, typer.Option("--value-column", help="Count column (default: volume).")
]
ByOpt = Annotated[
    list[str] | None, typer.Option("--by", help="Segment column(s) forming queues (repeatable).")
]
TzOpt = Annotated[str, typer.Option(help="Local timezone of the series (naive = local).")]
HolOpt = Annotated[
    str | None, typer.Option("--holidays", help="`holidays` country code, e.g. IL or GB.")
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Policy YAML: calendars give hours/holidays.")
]
CalOpt = Annotated[
    str | None, typer.Option("--calendar", help="Policy calendar of the opening hours.")
]
EventOpt = Annotated[
    list[str] | None,
    typer.Option("--event", help="NAME:START[:END][:MULTIPLIER][@QUEUE,..] (repeatable)."),
]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Days ahead.")]
ModelsOpt = Annotated[
    str,
    typer.Option(
        "--models", help="Comma-separated: mstl, ets, lgbm, lgbm_nomonth (naive, avg4 always)."
    ),
]
TrackOpt = Annotated[bool, typer.Option("--track/--no-track", help="Log the run to MLflow.")]


def register(app: typer.Typer) -> None:
    """Add the forecast commands to the top-level app."""
    app.add_typer(forecast_app, name="forecast")


def _load(
    path: Path,
    interval: int,
    value_column: str | None,
    by: list[str] | None,
    tz: str,
    holidays: str | None,
    policy: Path | None,
    calendar: str | None,
    events: list[str] | None,
) -> tuple[list[QueueSeries], SpecialDays]:
    from slarisk.errors import InputError
    from slarisk.forecast.events import parse_event, special_days
    from slarisk.forecast.pipeline import read_input
    from slarisk.forecast.series import build_series
    from slarisk.sla.calendar import BusinessCalendar
    from slarisk.sla.policy import load_policy

    table = read_input(path, value_column=value_column, by=by or ())
    cals: list[BusinessCalendar] = []
    if policy is not None:
        pol = load_policy(policy)
        names = [calendar] if calendar else list(pol.calendars)
        for name in names:
            if name not in pol.calendars:
                raise InputError(f"--calendar: no calendar {name!r} in {policy}")
            cals.append(BusinessCalendar.from_spec(name, pol.calendars[name], pol.timezone))
        tz = pol.timezone if tz == "UTC" else tz
    ts = table["interval_start"]
    years = range(int(ts.min().year), int(ts.max().year) + 2)
    days = special_days(
        calendars=cals,
        holiday_country=holidays,
        years=years,
        events=[parse_event(e) for e in events or ()],
    )
    hours = cals[0] if (cals and calendar) else None
    series = build_series(
        table, interval_minutes=interval, tz=tz, calendar=hours, closed_days=days.off_days
    )
    return series, days


def _config(horizon: int, models: str):  # type: ignore[no-untyped-def]
    from slarisk.errors import InputError
    from slarisk.forecast.backtest import BacktestConfig
    from slarisk.forecast.models import BASELINES, MODELS

    names = tuple(dict.fromkeys([*BASELINES, *(m.strip() for m in models.split(",") if m)]))
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise InputError(f"--models: unknown {', '.join(unknown)} (known: {', '.join(MODELS)})")
    return BacktestConfig(horizon_days=horizon, models=names)


def _print_backtest(result, intraday) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    t = Table(title="Backtest: accuracy by model (evaluated origins)")
    for col in result.metrics.columns:
        t.add_column(col, justify="left" if col == "model" else "right")
    for row in result.metrics.itertuples(index=False):
        t.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(t)
    s = result.summary
    console.print(
        f"coverage 80%: {s['coverage80']:.3f}  95%: {s['coverage95']:.3f}  "
        f"Poisson floor WAPE: {s['poisson_floor']:.4f}  selected/floor: {s['floor_ratio']:.2f}x"
    )
    console.print(f"choices per origin: {s['choices']}; final choice: {s['final_choice']}")
    h = Table(title="WAPE by horizon day")
    h.add_column("day", justify="right")
    for col in result.by_horizon.columns:
        h.add_column(col, justify="right")
    for day, row in result.by_horizon.iterrows():
        h.add_row(str(day), *(f"{v:.3f}" for v in row))
    console.print(h)
    if intraday is not None:
        i = Table(title="Intraday reforecast at 25% of the day (rest-of-day WAPE)")
        for col in ("off by >10%", "days", "morning", "reforecast", "change"):
            i.add_column(col, justify="right")
        for off, row in intraday.iterrows():
            i.add_row(
                str(bool(off)),
                str(int(row["days"])),
                f"{row['wape_morning']:.4f}",
                f"{row['wape_reforecast']:.4f}",
                f"{row['change']:+.1%}",
            )
        console.print(i)


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())


@forecast_app.command("backtest")
def backtest_cmd(
    data: InputArg,
    origins_from: Annotated[str, typer.Option("--origins-from", help="First origin (date).")],
    origins_to: Annotated[str, typer.Option("--origins-to", help="Last origin at most.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("forecast_backtest"),
    interval: IntervalOpt = 30,
    value_column: ValueOpt = None,
    by: ByOpt = None,
    tz: TzOpt = "UTC",
    holidays: HolOpt = None,
    policy: PolicyOpt = None,
    calendar: CalOpt = None,
    event: EventOpt = None,
    horizon: HorizonOpt = 7,
    step: Annotated[int, typer.Option("--step", help="Days between origins.")] = 7,
    warmup: Annotated[
        int, typer.Option("--warmup", help="Earlier origins for selection/calibration only.")
    ] = 4,
    models: ModelsOpt = "mstl,ets,lgbm",
    track: TrackOpt = True,
) -> None:
    """Rolling-origin backtest: WAPE/bias per model and horizon, bands, Poisson floor, page."""
    from dataclasses import replace

    import pandas as pd

    from slarisk.data.io import write_table
    from slarisk.forecast.backtest import origins_between, run_backtest
    from slarisk.forecast.reforecast import intraday_evaluation
    from slarisk.forecast.report import write_report
    from slarisk.forecast.tracking import track_run

    series, days = _load(data, interval, value_column, by, tz, holidays, policy, calendar, event)
    cfg = replace(_config(horizon, models), step_days=step, warmup=warmup)
    origins = origins_between(series, pd.Timestamp(origins_from), pd.Timestamp(origins_to), cfg)
    if not origins:
        from slarisk.errors import InputError

        raise InputError("no origin between --origins-from and --origins-to with a full horizon")
    with _progress() as prog:
        task = prog.add_task("backtest", total=None)
        result = run_backtest(
            series, origins, days, cfg, lambda m: prog.update(task, description=m)
        )
    intraday = intraday_evaluation(result.forecasts, series, days.off_days, warmup=result.warmup)
    _print_backtest(result, intraday)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        write_table(result.metrics, out / "metrics.csv"),
        write_table(result.by_horizon.reset_index(), out / "by_horizon.csv"),
        write_table(result.days, out / "days.csv"),
        write_table(result.forecasts, out / "forecasts.parquet"),
        write_report(
            result, out / "report.html", title=data.name, horizon=horizon, intraday=intraday
        ),
    ]
    if track:
        s = result.summary
        sel = result.metrics.set_index("model")
        metrics = {f"wape_{m}": float(v) for m, v in sel["wape"].items()}
        metrics |= {f"bias_{m}": float(v) for m, v in sel["bias"].items()}
        metrics |= {
            k: float(s[k]) for k in ("coverage80", "coverage95", "poisson_floor", "floor_ratio")
        }
        params = {
            "input": data,
            "interval": interval,
            "horizon": horizon,
            "origins": len(origins),
            "models": ",".join(cfg.models),
            "final_choice": s["final_choice"],
        }
        rid = track_run("backtest", params, metrics, files)
        typer.echo(f"MLflow run {rid}")
    typer.echo(f"backtest -> {out}/ (report.html, metrics.csv, days.csv, forecasts.parquet)")


@forecast_app.command("fit")
def fit_cmd(
    data: InputArg,
    out: Annotated[Path, typer.Option("--out", help="Fitted forecast (JSON).")],
    interval: IntervalOpt = 30,
    value_column: ValueOpt = None,
    by: ByOpt = None,
    tz: TzOpt = "UTC",
    holidays: HolOpt = None,
    policy: PolicyOpt = None,
    calendar: CalOpt = None,
    event: EventOpt = None,
    horizon: HorizonOpt = 7,
    origins: Annotated[
        int | None,
        typer.Option("--origins", help="Latest weekly origins (default 6; 3 from 4 queues on)."),
    ] = None,
    models: ModelsOpt = "mstl,ets,lgbm",
    track: TrackOpt = True,
) -> None:
    """Choose the model/combination and calibrate bands on a backtest of recent weeks."""
    from slarisk.forecast.pipeline import fit
    from slarisk.forecast.tracking import track_run

    series, days = _load(data, interval, value_column, by, tz, holidays, policy, calendar, event)
    cfg = _config(horizon, models)
    with _progress() as prog:
        task = prog.add_task("fit", total=None)
        fitted, result = fit(
            series,
            days,
            config=cfg,
            origins=origins,
            progress=lambda m: prog.update(task, description=m),
        )
    _print_backtest(result, None)
    path = fitted.save(out)
    if track:
        rid = track_run("fit", {"input": data, "choice": fitted.choice}, fitted.metrics, [path])
        typer.echo(f"MLflow run {rid}")
    typer.echo(f"chose {fitted.choice}; intraday weight {fitted.intraday_weight:.2f} -> {path}")


@forecast_app.command("predict")
def predict_cmd(
    data: InputArg,
    model: Annotated[Path, typer.Option("--model", help="Fitted forecast from `fit`.")],
    out: Annotated[Path, typer.Option("--out", help="Volume table (CSV/Parquet).")],
    interval: IntervalOpt = 30,
    value_column: ValueOpt = None,
    by: ByOpt = None,
    tz: TzOpt = "UTC",
    holidays: HolOpt = None,
    policy: PolicyOpt = None,
    calendar: CalOpt = None,
    event: EventOpt = None,
    horizon: HorizonOpt = 14,
    paths: Annotated[int, typer.Option("--paths", help="Simulated sample paths (0 = none).")] = 0,
    paths_out: Annotated[
        Path | None, typer.Option("--paths-out", help="Sample paths table.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample paths.")] = 0,
    staff_to: Annotated[
        str,
        typer.Option(
            "--staff-to", help="Column put in `volume`: mean, hi80 or hi95 (mean kept as mean)."
        ),
    ] = "mean",
) -> None:
    """Forecast the next days: the volume table `capacity requirements` reads, with bands."""
    from slarisk.data.io import write_table
    from slarisk.errors import InputError
    from slarisk.forecast.pipeline import FittedForecast, predict

    if staff_to not in ("mean", "hi80", "hi95"):
        raise InputError(f"--staff-to: {staff_to!r} is not mean, hi80 or hi95")
    fitted = FittedForecast.load(model)
    series, days = _load(data, interval, value_column, by, tz, holidays, policy, calendar, event)
    with _progress() as prog:
        prog.add_task(f"predict {horizon} days with {fitted.choice}", total=None)
        table, sims = predict(series, days, fitted, horizon_days=horizon, paths=paths, seed=seed)
    table.insert(3, "mean", table["volume"])
    if staff_to != "mean":
        table["volume"] = table[staff_to]
    write_table(table, out)
    if sims is not None:
        write_table(sims, paths_out or out.with_name(out.stem + "_paths.parquet"))
    per_queue = table.groupby("queue")["volume"].sum().round(0).to_dict()
    typer.echo(f"{len(table)} intervals, totals {per_queue} ({fitted.choice}) -> {out}")


@forecast_app.command("reforecast")
def reforecast_cmd(
    data: InputArg,
    forecast: Annotated[Path, typer.Option("--forecast", help="Table from `forecast predict`.")],
    model: Annotated[Path, typer.Option("--model", help="Fitted forecast from `fit`.")],
    now: Annotated[str, typer.Option("--now", help="Current time (ISO; naive = --tz).")],
    out: Annotated[Path, typer.Option("--out", help="Updated rows of today (CSV/Parquet).")],
    value_column: ValueOpt = None,
    by: ByOpt = None,
    tz: TzOpt = "UTC",
) -> None:
    """Update the rest of today from today's arrivals so far; say how the day runs."""
    import pandas as pd
    from rich.console import Console

    from slarisk.data.io import read_table, write_table
    from slarisk.forecast.pipeline import FittedForecast, read_input
    from slarisk.forecast.reforecast import reforecast_table

    fitted = FittedForecast.load(model)
    arrivals = read_input(data, value_column=value_column, by=by or ())
    table, summary = reforecast_table(
        read_table(forecast),
        arrivals,
        pd.Timestamp(now),
        fitted.intraday,
        tz=tz,
        interval_minutes=fitted.interval_minutes,
    )
    write_table(table, out)
    console = Console(highlight=False)
    for rec in summary.to_dict("records"):
        console.print(
            f"{rec['queue']}: arrived {rec['arrived']:.0f} vs {rec['expected_so_far']:.0f} "
            f"expected so far ({float(rec['running']) - 1:+.0%}); rest of day "
            f"x{rec['rest_factor']:.2f}; day {rec['day_morning']:.0f} -> {rec['day_updated']:.0f}"
        )
    typer.echo(f"-> {out}")
