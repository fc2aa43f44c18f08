"""Forecast jobs: request checks (limits, span, zone, calendar and holiday country known to
the server) and the job body, which runs :func:`slarisk.forecast.fit` then
:func:`slarisk.forecast.predict` (as ``slarisk forecast fit|predict`` do) and turns the
volume table and the backtest summary into JSON."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
from fastapi import HTTPException

from slarisk.errors import InputError
from slarisk.forecast.backtest import BacktestConfig
from slarisk.forecast.events import Event, SpecialDays, special_days
from slarisk.forecast.models import BASELINES, LAG_WEEKS, GbmParams
from slarisk.forecast.pipeline import fit, predict
from slarisk.forecast.series import QUEUE_SEP, QueueSeries, build_series, tickets_to_table
from slarisk.service.deps import check_batch_limit
from slarisk.service.forecast_schemas import ForecastRequest
from slarisk.service.settings import Settings
from slarisk.sla.calendar import BusinessCalendar

#: whole days of history before the first backtest origin (4 lag weeks and one more).
MIN_LEAD_DAYS = 7 * LAG_WEEKS + 7
#: share of the job's progress taken by the fit (the backtest); predict takes the rest.
FIT_SHARE = 0.9
_ORIGIN_STEP = re.compile(r"\((\d+)/(\d+)\)")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _countries() -> frozenset[str]:
    import holidays  # heavy: loads the country tables' index on first use

    return frozenset(holidays.list_supported_countries())


def _history_field(body: ForecastRequest) -> str:
    return "tickets" if body.tickets is not None else "volumes"


def history_table(body: ForecastRequest) -> pd.DataFrame:
    """The request's history as the library's volume table (``interval_start`` UTC,
    ``queue``, ``volume``, optional ``aht``). InputError names a row's missing segment."""
    by = list(body.by)
    rows: list[Any] = list(body.tickets or body.volumes or [])
    field = _history_field(body)
    for i, row in enumerate(rows):
        for col in by:
            if getattr(row, col) is None:
                raise InputError("missing: it is a `by` column", field=f"{field}[{i}].{col}")
    segments: dict[str, list[Any]] = {col: [getattr(r, col) for r in rows] for col in by}
    if body.tickets is not None:
        tickets = pd.DataFrame(segments, index=pd.RangeIndex(len(rows)))
        tickets.insert(0, "created_at", pd.to_datetime([r.created_at for r in rows], utc=True))
        if any(r.handle_seconds is not None for r in rows):
            tickets["handle_seconds"] = [
                np.nan if r.handle_seconds is None else r.handle_seconds for r in rows
            ]
        return tickets_to_table(tickets, by)
    table = pd.DataFrame(
        {
            "interval_start": pd.to_datetime([r.interval_start for r in rows], utc=True),
            "volume": np.array([r.volume for r in rows], dtype=float),
        }
    )
    table["queue"] = pd.DataFrame(segments).astype(str).agg(QUEUE_SEP.join, axis=1) if by else "all"
    if any(r.aht_seconds is not None for r in rows):
        table["aht"] = [np.nan if r.aht_seconds is None else r.aht_seconds for r in rows]
    return table


def _zone(body: ForecastRequest, policy: Any) -> tuple[str, BusinessCalendar | None]:
    """The series' timezone and the policy calendar giving the opening hours (or None)."""
    if body.timezone is not None and body.timezone not in _zones():
        raise InputError(f"unknown IANA timezone {body.timezone!r}", field="timezone")
    if body.calendar is None:
        return body.timezone or "UTC", None
    if policy is None:
        raise InputError("the server's SLA policy is not loaded", field="calendar")
    if body.calendar not in policy.calendars:
        have = ", ".join(sorted(policy.calendars))
        raise InputError(
            f"no calendar {body.calendar!r} in the server's SLA policy (have: {have})",
            field="calendar",
        )
    spec = policy.calendars[body.calendar]
    cal = BusinessCalendar.from_spec(body.calendar, spec, policy.timezone)
    return body.timezone or policy.timezone, cal


def _span_days(table: pd.DataFrame, tz: str) -> int:
    """Local days from the first to the last interval, both included."""
    local = table["interval_start"].dt.tz_convert(tz)
    return int((local.max().normalize() - local.min().normalize()) / pd.Timedelta(days=1)) + 1


def prepare(
    body: ForecastRequest, policy: Any, settings: Settings | None = None
) -> tuple[list[QueueSeries], SpecialDays, str]:
    """Series per queue, special days and timezone of a request. With ``settings``, the
    limits are checked first. InputError names the field at fault."""
    field = _history_field(body)
    table = history_table(body)
    tz, cal = _zone(body, policy)
    if body.holiday_country is not None and body.holiday_country not in _countries():
        raise InputError(
            f"{body.holiday_country!r} is not a country of the holidays package",
            field="holiday_country",
        )
    span = _span_days(table, tz)
    need = MIN_LEAD_DAYS + body.backtest_horizon_days
    if span < need:
        raise InputError(
            f"the history spans {span} days; the backtest needs at least {need}"
            f" ({MIN_LEAD_DAYS} + backtest_horizon_days)",
            field=field,
        )
    if settings is not None:
        if span > settings.max_forecast_history_days:
            raise InputError(
                f"the history spans {span} days, more than the limit of"
                f" {settings.max_forecast_history_days} (max_forecast_history_days)",
                field=field,
            )
        queues = int(table["queue"].nunique())
        if queues > settings.max_forecast_queues:
            raise InputError(
                f"{queues} queues exceed the limit of {settings.max_forecast_queues}"
                " (max_forecast_queues)",
                field="by",
            )
    if not float(table["volume"].sum()) > 0:
        raise InputError("no arrivals in the history", field=field)
    names = set(table["queue"].astype(str))
    for i, ev in enumerate(body.events):
        unknown = [q for q in ev.queues if q not in names]
        if unknown:
            raise InputError(
                f"no queue {unknown[0]!r} in the history (have: {', '.join(sorted(names))})",
                field=f"events[{i}].queues",
            )
    if settings is not None and body.sample_paths:
        values = body.sample_paths * len(names) * body.horizon_days * 24 * 60
        values //= body.interval_minutes
        if values > settings.max_forecast_path_values:
            raise InputError(
                f"{body.sample_paths} paths of up to {values // body.sample_paths} intervals"
                f" exceed the limit of {settings.max_forecast_path_values} values"
                " (max_forecast_path_values)",
                field="sample_paths",
            )
    ts = table["interval_start"].dt.tz_convert(tz)
    days = special_days(
        calendars=[cal] if cal is not None else [],
        holiday_country=body.holiday_country,
        years=range(int(ts.min().year), int(ts.max().year) + 2),
        events=[
            Event(ev.name, ev.start, ev.end, ev.multiplier, tuple(ev.queues)) for ev in body.events
        ],
    )
    series = build_series(
        table,
        interval_minutes=body.interval_minutes,
        tz=tz,
        calendar=cal,
        closed_days=days.off_days,
    )
    return series, days, tz


def check_request(body: ForecastRequest, settings: Settings, policy: Any) -> dict[str, Any]:
    """Check a forecast request against the limits and what the server knows (413 for too
    many rows, 422 naming the field otherwise). Returns the job's stored request."""
    field = _history_field(body) if (body.tickets is None) != (body.volumes is None) else None
    if field is None:
        raise HTTPException(422, detail="tickets: give exactly one of tickets or volumes")
    rows = body.tickets or body.volumes or []
    check_batch_limit(field, len(rows), settings.max_forecast_rows, "max_forecast_rows")
    if len(set(body.by)) != len(body.by):
        raise HTTPException(422, detail="by: a segment column is named twice")
    try:
        prepare(body, policy, settings)
    except InputError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    stored = json.loads(body.model_dump_json(exclude_none=True))
    if body.events:  # an event's null end (open-ended) is meaningful: keep it
        stored["events"] = [json.loads(ev.model_dump_json()) for ev in body.events]
    return {"body": stored}


def _num(value: Any) -> float | None:
    """A finite float, else None (NaN/inf are not JSON)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    has_aht = "aht" in table.columns
    out = []
    for rec in table.to_dict(orient="records"):
        row = {
            "interval_start": pd.Timestamp(rec["interval_start"]).isoformat(),
            "queue": str(rec["queue"]),
            "volume": _num(rec["volume"]),
            **{k: _num(rec[k]) for k in ("lo80", "hi80", "lo95", "hi95")},
            "horizon_day": int(rec["horizon_day"]),
        }
        if has_aht:
            row["aht_seconds"] = _num(rec["aht"])
        out.append(row)
    return out


def _paths(sims: pd.DataFrame | None, n_rows: int) -> list[list[float]] | None:
    """Sample paths as one list per path aligned with the rows (``predict`` keeps the rows'
    queue and interval order within each path); None without paths."""
    if sims is None:
        return None
    out = []
    for _, g in sims.groupby("path", sort=True):
        values = g["volume"].to_numpy(float)
        if len(values) != n_rows:  # predict's contract; a mismatch is a bug, not user input
            raise RuntimeError(f"sample path of {len(values)} values for {n_rows} rows")
        out.append([float(v) for v in values])
    return out


def _accuracy(result: Any, choice: str, intraday_weight: float) -> dict[str, Any]:
    metrics = [
        {
            "model": str(rec["model"]),
            **{k: _num(rec[k]) for k in ("wape", "bias")},
            **{f"vs_{b}": _num(rec[f"vs_{b}"]) for b in BASELINES if f"vs_{b}" in rec},
        }
        for rec in result.metrics.to_dict(orient="records")
    ]
    s = result.summary
    return {
        "chosen_model": choice,
        "models": metrics,
        **{k: _num(s[k]) for k in ("coverage80", "coverage95", "poisson_floor", "floor_ratio")},
        "origins": int(s["origins"]),
        "choices": {str(k): int(v) for k, v in s["choices"].items()},
        "intraday_weight": float(intraday_weight),
    }


def _model_errors(models: Sequence[str]) -> tuple[type[Exception], ...]:
    """Errors of the model libraries that mean "this history does not suit the model" (e.g.
    LightGBM's "sum of labels is zero" on a history with no arrivals before an origin)."""
    if not any(m.startswith("lgbm") for m in models):
        return ()
    from lightgbm.basic import LightGBMError  # heavy: only when a LightGBM model ran

    return (LightGBMError,)


def run_forecast_job(
    request: dict[str, Any], progress: Callable[[float], None], policy: Any
) -> dict[str, Any]:
    """Job body: fit (backtest, choice, bands) and predict with the server's policy; JSON."""
    body = ForecastRequest.model_validate_json(json.dumps(request["body"]))
    progress(0.0)
    series, days, tz = prepare(body, policy)
    config = BacktestConfig(
        horizon_days=body.backtest_horizon_days,
        models=tuple(dict.fromkeys([*BASELINES, *body.models])),
        gbm=GbmParams(seed=body.seed),
    )

    def on_step(message: str) -> None:
        step = _ORIGIN_STEP.search(message)  # "origin 2026-03-02 (3/8)"
        if step is not None:
            progress(FIT_SHARE * (int(step.group(1)) - 1) / max(int(step.group(2)), 1))

    try:
        fitted, result = fit(
            series, days, config=config, origins=body.backtest_origins, progress=on_step
        )
        progress(FIT_SHARE)
        table, sims = predict(
            series,
            days,
            fitted,
            horizon_days=body.horizon_days,
            config=config,
            paths=body.sample_paths,
            seed=body.seed,
        )
    except _model_errors(body.models) as exc:
        raise InputError(
            f"a model could not be fitted on this history ({exc}); try other models"
            " or a longer, denser history",
            field="models",
        ) from exc
    return {
        "interval_minutes": body.interval_minutes,
        "horizon_days": body.horizon_days,
        "timezone": tz,
        "queues": [q.queue for q in series],
        "rows": _rows(table),
        "paths": _paths(sims, len(table)),
        "accuracy": _accuracy(result, fitted.choice, fitted.intraday_weight),
    }
