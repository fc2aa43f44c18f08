"""Risk scoring for the API: the champion loader, request -> columns (or canonical frames),
and the library's scores -> response rows. The scoring itself is
:func:`slarisk.risk.score.score_open_tickets` (the same function as `slarisk score`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from itertools import repeat
from operator import attrgetter, is_
from typing import Any, cast

import numpy as np
import pandas as pd
from fastapi import HTTPException
from pydantic_core import TzInfo

from slarisk.data.schema import SEGMENT_COLUMNS
from slarisk.risk.registry import load_champion
from slarisk.risk.score import score_columns
from slarisk.risk.score_inputs import EventArrays, StaffingArrays, TicketArrays
from slarisk.risk.treekernel import compiled
from slarisk.service.champion import LoadedModel
from slarisk.service.schemas import ScoreRequest
from slarisk.service.settings import Settings


def load_champion_model(settings: Settings) -> LoadedModel:
    """The champion from the registry alias, else the export in ``settings.models_dir``."""
    champ = load_champion(
        settings.mlflow_tracking_uri,
        settings.models_dir,
        name=settings.model_name,
        alias=settings.model_alias,
    )
    return LoadedModel(
        model=champ.model,
        version=str(champ.version),
        source=f"{champ.source}:{champ.uri}",
        trained_at=champ.trained_at,
        metrics={k: float(v) for k, v in champ.metrics.items()},
        details={k: v for k, v in champ.details.items() if v is not None},
    )


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=f"{field}: {message}")


def check_against_policy(body: ScoreRequest, policy: Any, now: datetime) -> None:
    """Priorities and tiers known to the policy, unique ids, consistent times (422 otherwise)."""
    priorities = set(policy.priorities)
    tiers = set(policy.tiers)
    default_tier = policy.default_tier
    seen: set[str] = set()
    for i, t in enumerate(body.tickets):
        if t.priority not in priorities:
            raise _unprocessable(
                f"tickets[{i}].priority",
                f"unknown priority {t.priority!r} (the policy has {list(policy.priorities)})",
            )
        if t.tier not in tiers and not (default_tier is not None and t.tier == "unknown"):
            raise _unprocessable(
                f"tickets[{i}].tier",
                f"unknown tier {t.tier!r} (the policy has {list(policy.tiers)})",
            )
        if t.ticket_id in seen:
            raise _unprocessable(f"tickets[{i}].ticket_id", f"duplicate ticket id {t.ticket_id!r}")
        seen.add(t.ticket_id)
        if t.created_at > now:
            raise _unprocessable(f"tickets[{i}].created_at", "is after `now`")
        if t.first_response_at is not None and not (t.created_at <= t.first_response_at <= now):
            raise _unprocessable(
                f"tickets[{i}].first_response_at", "must be between created_at and `now`"
            )
    for i, e in enumerate(body.events or ()):
        if e.ticket_id not in seen:
            raise _unprocessable(f"events[{i}].ticket_id", f"{e.ticket_id!r} is not in tickets")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAT = np.iinfo(np.int64).min


def _ns_list(values: Sequence[datetime | None]) -> np.ndarray:
    """Aware datetimes (None = NaT) -> int64 UTC ns (microsecond precision)."""
    n = len(values)
    if None not in values:  # map() over bound methods: no Python frame per value
        present = cast("Sequence[datetime]", values)
        tz = present[0].tzinfo if n else None
        if type(tz) in _FIXED_OFFSET and all(map(is_, repeat(tz), map(_TZINFO, present))):
            # one fixed-offset tzinfo object for all (pydantic shares its UTC): differences
            # from the epoch in that zone are taken on wall-clock values, no utcoffset() calls
            since = cast(Any, _EPOCH.astimezone(tz)).__rsub__
            us = np.fromiter(map(_PER_US, map(since, present)), dtype=np.int64, count=n)
            return us * 1000
        us = np.fromiter(map(_PER_US, map(_SINCE_EPOCH, present)), dtype=np.int64, count=n)
        return us * 1000
    out = np.full(n, _NAT, dtype=np.int64)
    at = [i for i, v in enumerate(values) if v is not None]
    if at:
        out[at] = _ns_list([values[i] for i in at])
    return out


_FIXED_OFFSET = (timezone, TzInfo)  # tzinfo types whose offset never changes
_TZINFO = attrgetter("tzinfo")
# bound C methods (typeshed does not list them): v -> v - epoch, a timedelta; timedelta ->
# whole microseconds (floor)
_SINCE_EPOCH: Callable[[datetime], timedelta] = cast(Any, _EPOCH).__rsub__
_PER_US: Callable[[timedelta], int] = cast(Any, _MICROSECOND).__rfloordiv__


def _utc(values: list[datetime | None]) -> pd.DatetimeIndex:
    """Aware datetimes (None = NaT) -> ``datetime64[ns, UTC]`` (microsecond precision)."""
    return pd.DatetimeIndex(_ns_list(values).view("datetime64[ns]")).tz_localize("UTC")


def request_frames(
    body: ScoreRequest,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Canonical open tickets, interval staffing and status events of a score request."""
    tk = body.tickets
    tickets = pd.DataFrame(
        {
            "ticket_id": [t.ticket_id for t in tk],
            "created_at": _utc([t.created_at for t in tk]),
            "first_response_at": _utc([t.first_response_at for t in tk]),
            "resolved_at": _utc([None] * len(tk)),
            "priority": [t.priority for t in tk],
            **{c: [getattr(t, c) for t in tk] for c in SEGMENT_COLUMNS},
            "status": [t.status for t in tk],
        }
    )
    staffing = None
    if body.staffing:
        st = body.staffing
        staffing = pd.DataFrame(
            {
                "interval_start": _utc([r.interval_start for r in st]),
                "interval_minutes": np.array([r.interval_minutes for r in st], dtype=np.int64),
                "team": [r.team for r in st],
                "agents": np.array([r.agents for r in st], dtype=np.float64),
            }
        )
    events = None
    if body.events:
        ev = body.events
        events = pd.DataFrame(
            {
                "ticket_id": [e.ticket_id for e in ev],
                "at": _utc([e.at for e in ev]),
                "status": [e.status for e in ev],
            }
        ).sort_values(["ticket_id", "at"], kind="stable", ignore_index=True)
    return tickets, staffing, events


def _iso(values: pd.Series) -> list[str | None]:
    """UTC timestamps as ``YYYY-MM-DDTHH:MM:SSZ``, NaT as None (see :func:`iso_seconds`)."""
    return iso_seconds(pd.DatetimeIndex(values).as_unit("ns").asi8)


def score_items(scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of :func:`slarisk.risk.score.score_open_tickets` -> response items (vectorised)."""
    if len(scored) == 0:
        return []
    r1, r2, r3 = (scored[f"reason_{k}"].tolist() for k in (1, 2, 3))
    cols: dict[str, list[Any]] = {
        "work_order": scored["work_order"].tolist(),
        "ticket_id": scored["ticket_id"].tolist(),
        "metric": scored["metric"].tolist(),
        "priority": scored["priority"].tolist(),
        "tier": scored["tier"].tolist(),
        "breach_probability": _float_list(scored["breach_probability"]),
        "risk_band": scored["risk_band"].tolist(),
        "expected_cost": _float_list(scored["expected_cost"]),
        "due_at": _iso(scored["due_at"]),
        "time_left_seconds": _float_list(scored["time_left_seconds"]),
        "elapsed_fraction": _float_list(scored["elapsed_fraction"]),
        "alert_level": scored["alert_level"].tolist(),
        "reasons": _reason_lists(r1, r2, r3),
    }
    names = list(cols)
    return [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]


#: The ticket fields scoring reads, in one ``attrgetter`` (one C call per ticket).
_TICKET_FIELDS = attrgetter(
    "ticket_id", "created_at", "first_response_at", "priority", *SEGMENT_COLUMNS
)


def request_arrays(body: ScoreRequest) -> tuple[Any, Any]:
    """Open tickets and staffing of a request as the scoring columns (no DataFrames)."""
    tk = body.tickets
    columns = list(zip(*map(_TICKET_FIELDS, tk), strict=True)) or [()] * (4 + len(SEGMENT_COLUMNS))
    ids, created, first_response, priority, *segments = columns
    tickets = TicketArrays(
        ticket_id=list(ids),
        created_ns=_ns_list(created),
        first_response_ns=_ns_list(first_response),
        resolved_ns=np.full(len(tk), _NAT, dtype=np.int64),
        priority=list(priority),
        segments={c: list(v) for c, v in zip(SEGMENT_COLUMNS, segments, strict=True)},
    )
    staffing = None
    if body.staffing:
        st = body.staffing
        staffing = StaffingArrays(
            start_ns=_ns_list([r.interval_start for r in st]),
            minutes=np.array([r.interval_minutes for r in st], dtype=np.int64),
            team=[r.team for r in st],
            agents=np.array([r.agents for r in st], dtype=np.float64),
        )
    return tickets, staffing


def _float_list(arr: np.ndarray | pd.Series) -> list[float | None]:
    """Floats as a list for JSON, non-finite values as None."""
    arr = np.asarray(arr, dtype=np.float64)
    values: list[float] = arr.tolist()
    if np.isfinite(arr).all():
        return cast("list[float | None]", values)
    return [v if math.isfinite(v) else None for v in values]


_ISO_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00Z\n", dtype=np.uint8)
#: (first byte, digits) of year, month, day, hour, minute, second in the template
_ISO_FIELDS = np.array([[0, 4], [5, 2], [8, 2], [11, 2], [14, 2], [17, 2]], dtype=np.int64)


def _iso_rows_py(ns: np.ndarray, out: np.ndarray) -> bool:
    """UTC ns -> ``YYYY-MM-DDTHH:MM:SSZ`` + newline, 21 ASCII bytes per value in ``out``
    (seconds, rounded down, proleptic Gregorian). False when a value is NaT or outside the
    years 1-9999 (then ``out`` is incomplete). Compiled with numba."""
    for i in range(ns.shape[0]):
        v = ns[i]
        if v == _NAT:
            return False
        secs = v // 1_000_000_000
        days = secs // 86400
        sod = secs - days * 86400
        z = days + 719468  # days since 0000-03-01 (civil-from-days, Hinnant)
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        d = doy - (153 * mp + 2) // 5 + 1
        m = mp + 3 if mp < 10 else mp - 9
        y = yoe + era * 400 + (1 if m <= 2 else 0)
        if y < 1 or y > 9999:
            return False
        o = i * 21
        out[o : o + 21] = _ISO_TEMPLATE
        fields = (y, m, d, sod // 3600, (sod // 60) % 60, sod % 60)
        for f in range(6):  # digits right to left into the template
            v = fields[f]
            for k in range(_ISO_FIELDS[f, 0] + _ISO_FIELDS[f, 1] - 1, _ISO_FIELDS[f, 0] - 1, -1):
                out[o + k] = 48 + v % 10
                v //= 10
    return True


_ISO_ROWS: list[Any] = []


def iso_seconds(ns: np.ndarray) -> list[str | None]:
    """UTC ns -> ``YYYY-MM-DDTHH:MM:SSZ`` (seconds, rounded down), NaT -> None."""
    ns = np.ascontiguousarray(ns, dtype=np.int64)
    if len(ns):
        if not _ISO_ROWS:
            _ISO_ROWS.append(compiled(_iso_rows_py))
        out = np.empty(21 * len(ns), dtype=np.uint8)
        if _ISO_ROWS[0](ns, out):
            return out[:-1].tobytes().decode("ascii").split("\n")  # type: ignore[return-value]
    text = np.datetime_as_string(ns.view("datetime64[ns]"), unit="s").tolist()
    return [None if v == "NaT" else v + "Z" for v in text]


def _reason_lists(r1: list[str], r2: list[str], r3: list[str]) -> list[list[str]]:
    """The non-empty reasons of each row, in order."""
    return [list(filter(None, trio)) for trio in zip(r1, r2, r3, strict=True)]


def array_items(cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Columns of :func:`slarisk.risk.score.score_columns` -> response items."""
    reasons = _reason_lists(*(cols[f"reason_{k}"].tolist() for k in (1, 2, 3)))
    return [
        {
            "work_order": wo,
            "ticket_id": tid,
            "metric": met,
            "priority": pri,
            "tier": tier,
            "breach_probability": p,
            "risk_band": band,
            "expected_cost": cost,
            "due_at": d,
            "time_left_seconds": left,
            "elapsed_fraction": frac,
            "alert_level": lvl,
            "reasons": rs,
        }
        for wo, tid, met, pri, tier, p, band, cost, d, left, frac, lvl, rs in zip(
            cols["work_order"].tolist(),
            cols["ticket_id"].tolist(),
            cols["metric"].tolist(),
            cols["priority"].tolist(),
            cols["tier"].tolist(),
            _float_list(cols["breach_probability"]),
            cols["risk_band"].tolist(),
            _float_list(cols["expected_cost"]),
            iso_seconds(cols["due_at"]),
            _float_list(cols["time_left_seconds"]),
            _float_list(cols["elapsed_fraction"]),
            cols["alert_level"].tolist(),
            reasons,
            strict=True,
        )
    ]


def score_request(
    model: Any, body: ScoreRequest, policy: Any, now: datetime
) -> list[dict[str, Any]]:
    """Score a request with :func:`slarisk.risk.score.score_open_tickets` (in its column form,
    :func:`~slarisk.risk.score.score_columns`: no frame is built); returns the response items.
    """
    tickets, staffing = request_arrays(body)
    events = None
    if body.events:
        ev = body.events
        events = EventArrays(
            ticket_id=[e.ticket_id for e in ev],
            at_ns=_ns_list([e.at for e in ev]),
            status=[e.status for e in ev],
        )
    now_ns = int(((now - _EPOCH) // _MICROSECOND) * 1000)
    cols = score_columns(
        model, tickets, pd.Timestamp(now_ns, tz="UTC"), policy, staffing=staffing, events=events,
        joined_reasons=False,
    )  # fmt: skip
    return array_items(cols)
