"""API schemas of demand forecasts (`POST /v1/forecasts`): the history (ticket rows or an
interval volume table), the options of ``slarisk forecast fit|predict``, and the job's result.

Request models are strict like the others (:class:`~slarisk.service.schemas.RequestModel`);
timestamps need a zone and must fall in 1900-2200. Durations are seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from slarisk.service.schemas import JobOut, RequestModel, ResponseModel

_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must fall between 1900-01-01 and 2200-01-01 (UTC)")
    return value


#: a timezone-aware timestamp between 1900 and 2200.
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
Segment = Annotated[str | None, Field(default=None, min_length=1, max_length=200)]
#: segment columns a request may group by (the canonical ticket segments, plus ``queue``).
SegmentName = Literal[
    "queue",
    "channel",
    "priority",
    "tier",
    "region",
    "service_type",
    "customer",
    "category",
    "group",
]
ModelName = Literal["mstl", "ets", "lgbm", "lgbm_nomonth"]


def _default_models() -> list[ModelName]:
    return ["mstl", "ets", "lgbm"]


class _Segments(RequestModel):
    """Optional segment columns; ``by`` names those forming the queues."""

    queue: Segment
    channel: Segment
    priority: Segment
    tier: Segment
    region: Segment
    service_type: Segment
    customer: Segment
    category: Segment
    group: Segment


class ForecastTicketIn(_Segments):
    """One past ticket: its creation time counts one arrival in its interval."""

    ticket_id: str = Field(min_length=1, max_length=200)
    created_at: Timestamp
    handle_seconds: float | None = Field(
        strict=True, default=None, ge=0, le=86_400 * 7, description="Handle time, seconds."
    )


class ForecastVolumeIn(_Segments):
    """Arrivals counted in one past interval (several rows in one interval add up)."""

    interval_start: Timestamp
    volume: float = Field(strict=True, ge=0, le=1_000_000, description="Arrivals counted.")
    aht_seconds: float | None = Field(
        strict=True, default=None, ge=0, le=86_400, description="Mean handle time, seconds."
    )


def _day_in_range(value: date) -> date:
    if not _EARLIEST.date() <= value < _LATEST.date():
        raise ValueError("must fall between 1900-01-01 and 2200-01-01")
    return value


Day = Annotated[date, AfterValidator(_day_in_range)]
#: the maximum number of sample paths a forecast returns.
MAX_SAMPLE_PATHS = 100


class ForecastEventIn(RequestModel):
    """A declared event on local days ``start``..``end`` (inclusive), as ``slarisk forecast
    --event NAME:START[:END][:MULTIPLIER][@QUEUE,..]``: a campaign, an outage, a new customer
    (``end`` null: from ``start`` on)."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Event name, e.g. campaign, outage, new_customer. Without a multiplier, "
        "days of the same name in the history teach LightGBM its effect.",
    )
    start: Day = Field(description="First local day.")
    end: Day | None = Field(description="Last local day (inclusive); null: open-ended.")
    multiplier: float | None = Field(
        strict=True,
        default=None,
        gt=0,
        le=100,
        description="Scales the forecast of its days (1.3 = +30%); null: learned.",
    )
    queues: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Queues concerned (the `by` values joined by '|'); empty: all queues.",
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise ValueError("must not be before start")
        return value


_FORECAST_EXAMPLE: dict[str, Any] = {
    "interval_minutes": 60,
    "horizon_days": 14,
    "by": ["channel"],
    "holiday_country": "GB",
    "seed": 0,
    "events": [
        {"name": "campaign", "start": "2026-11-30", "end": "2026-12-04", "multiplier": 1.3},
        {"name": "new_customer", "start": "2026-12-01", "end": None, "queues": ["phone"]},
    ],
    "sample_paths": 0,
    "volumes": [
        {"interval_start": "2026-10-05T09:00:00Z", "channel": "phone", "volume": 31},
        {"interval_start": "2026-10-05T10:00:00Z", "channel": "phone", "volume": 42},
        {"interval_start": "2026-10-05T09:00:00Z", "channel": "email", "volume": 12},
    ],
}


class ForecastRequest(RequestModel):
    """A demand forecast: the history, then ``fit`` (backtest, model choice, bands) and
    ``predict`` (the next ``horizon_days``), as ``slarisk forecast fit|predict`` do.

    Give either ``tickets`` or ``volumes``. The history must span at least 35 days plus
    ``backtest_horizon_days``. Opening hours and holidays come from ``calendar`` (a calendar
    of the server's SLA policy) and/or ``holiday_country``; without a calendar the hours are
    inferred from the data.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_FORECAST_EXAMPLE]})

    tickets: list[ForecastTicketIn] | None = Field(
        default=None, min_length=1, description="Past tickets (one arrival each)."
    )
    volumes: list[ForecastVolumeIn] | None = Field(
        default=None, min_length=1, description="Past interval volumes."
    )
    by: list[SegmentName] = Field(
        default_factory=list,
        max_length=4,
        description="Segment columns forming the queues (values joined by '|'); none: one "
        "queue 'all'.",
    )
    interval_minutes: Literal[15, 30, 60] = Field(default=30, description="Interval, minutes.")
    horizon_days: int = Field(strict=True, default=14, ge=1, le=56, description="Days ahead.")
    backtest_horizon_days: int = Field(
        strict=True, default=7, ge=1, le=28, description="Days ahead scored by the backtest."
    )
    backtest_origins: int | None = Field(
        strict=True,
        default=None,
        ge=1,
        le=13,
        description="Latest weekly backtest origins (default 6; 3 from 4 queues on).",
    )
    models: list[ModelName] = Field(
        default_factory=_default_models,
        min_length=1,
        max_length=4,
        description="Candidate models (the baselines naive and avg4 always run).",
    )
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$",
        description="IANA zone of the days and hours (default: the calendar's policy zone, "
        "else UTC).",
    )
    calendar: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Name of a calendar of the server's SLA policy: opening hours, holidays.",
    )
    holiday_country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2,3}$",
        description="Country code of the `holidays` package, e.g. GB or IL.",
    )
    seed: int = Field(
        strict=True,
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Seed of the LightGBM model and of the sample paths.",
    )
    events: list[ForecastEventIn] = Field(
        default_factory=list, max_length=50, description="Declared events (campaigns, ...)."
    )
    sample_paths: int = Field(
        strict=True,
        default=0,
        ge=0,
        le=MAX_SAMPLE_PATHS,
        description="Simulated sample paths to return (0: none); paths x rows is also capped "
        "by the server's max_forecast_path_values.",
    )


# --- results ---------------------------------------------------------------------------------
class ForecastRowOut(ResponseModel):
    """The forecast of one open interval of one queue (the volume table of `predict`)."""

    interval_start: datetime
    queue: str = Field(description="The `by` values joined by '|' ('all' without `by`).")
    volume: float | None = Field(description="Expected arrivals (null: not a number).")
    lo80: float | None
    hi80: float | None
    lo95: float | None
    hi95: float | None
    aht_seconds: float | None = Field(default=None, description="Expected mean handle time.")
    horizon_day: int = Field(description="1 = the first forecast day.")


class ModelAccuracyOut(ResponseModel):
    """Backtest accuracy of one model (``selected`` = the per-origin choice)."""

    model: str
    wape: float | None
    bias: float | None
    vs_naive: float | None = Field(default=None, description="WAPE / the naive baseline's.")
    vs_avg4: float | None = Field(default=None, description="WAPE / the avg4 baseline's.")


class AccuracyOut(ResponseModel):
    """The backtest summary: accuracy per model, the chosen model and the bands' coverage."""

    chosen_model: str = Field(description="Model or '+'-combination used for the forecast.")
    models: list[ModelAccuracyOut]
    coverage80: float | None
    coverage95: float | None
    poisson_floor: float | None = Field(description="WAPE of a perfect Poisson rate.")
    floor_ratio: float | None
    origins: int
    choices: dict[str, int] = Field(description="How often each candidate was selected.")
    intraday_weight: float = Field(
        description="Weight (0..1) of the morning's ratio to forecast in the intraday update "
        "(its most common weekday group)."
    )


class ForecastResultOut(ResponseModel):
    """Results of a finished forecast."""

    interval_minutes: int
    horizon_days: int
    timezone: str
    queues: list[str]
    rows: list[ForecastRowOut]
    paths: list[list[float]] | None = Field(
        default=None,
        description="With sample_paths: paths[k][i] is the k-th simulated count of rows[i] "
        "(Gamma-Poisson with a shared day factor, as `forecast predict --paths`).",
    )
    accuracy: AccuracyOut


class ForecastJobOut(JobOut):
    """A forecast job: status, progress (0..1) and, when it succeeded, its results."""

    result: ForecastResultOut | None
