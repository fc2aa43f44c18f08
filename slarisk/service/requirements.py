"""Staffing requirements: a request -> the volume table of
:func:`slarisk.capacity.erlang.requirements_frame` -> the response rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from fastapi import HTTPException

from slarisk.capacity.erlang import requirements_frame
from slarisk.service.schemas import StaffingRequest


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=f"{field}: {message}")


#: the library's parameter names (as its messages start) -> the request's field names.
_LIBRARY_FIELDS = {
    "max_occupancy": "max_occupancy",
    "erlang-a needs patience": "patience_seconds",
    "target_sl": "target_service_level",
    "max_abandon": "max_abandon",
    "load": "intervals",
}


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def compute_requirements(body: StaffingRequest) -> list[dict[str, Any]]:
    """Agents per interval (rows in the request's order). 422 names the field at fault."""
    if body.aht_seconds is None:
        missing = [i for i, r in enumerate(body.intervals) if r.aht_seconds is None]
        if missing:
            raise _unprocessable(
                f"intervals[{missing[0]}].aht_seconds",
                "required when the request has no aht_seconds",
            )
    if body.method == "backlog" and body.target_hours is None:
        raise _unprocessable("target_hours", "required by method 'backlog'")
    if (
        body.method != "backlog"
        and body.target_service_level is None
        and (body.target_asa_seconds is None and body.max_abandon is None)
    ):
        raise _unprocessable(
            "target_service_level",
            "give a target: target_service_level, target_asa_seconds or max_abandon",
        )
    if body.method == "erlang-a" and body.patience_seconds is None:
        raise _unprocessable("patience_seconds", "required by method 'erlang-a'")
    if body.method != "erlang-a" and body.max_abandon is not None:
        raise _unprocessable("max_abandon", "needs method 'erlang-a'")
    n = len(body.intervals)
    frame = pd.DataFrame(
        {
            "interval_start": pd.to_datetime([r.interval_start for r in body.intervals], utc=True),
            "queue": [r.queue for r in body.intervals],
            "volume": np.array([r.volume for r in body.intervals], dtype=float),
            "aht": np.array(
                [
                    r.aht_seconds if r.aht_seconds is not None else body.aht_seconds
                    for r in body.intervals
                ],
                dtype=float,
            ),
            "row": np.arange(n),
        }
    )
    dup = frame.duplicated(["queue", "interval_start"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise _unprocessable(f"intervals[{i}]", "duplicate queue and interval_start")
    try:
        out = requirements_frame(
            frame,
            interval_seconds=body.interval_minutes * 60.0,
            method=body.method,
            target_sl=body.target_service_level,
            within=body.answer_within_seconds,
            target_asa=body.target_asa_seconds,
            max_abandon=body.max_abandon,
            patience=body.patience_seconds,
            shrinkage=body.shrinkage,
            max_occupancy=body.max_occupancy,
            target_hours=body.target_hours,
            cyclic=body.cyclic,
        )
    except ValueError as exc:
        message = str(exc)
        field = next((f for k, f in _LIBRARY_FIELDS.items() if message.startswith(k)), "body")
        raise _unprocessable(field, message) from None
    out = out.sort_values("row", kind="stable")
    cols = {c: out[c].to_numpy() for c in out.columns}
    rows: list[dict[str, Any]] = []
    for k in range(len(out)):
        row: dict[str, Any] = {
            "interval_start": cols["interval_start"][k].isoformat()
            if hasattr(cols["interval_start"][k], "isoformat")
            else pd.Timestamp(cols["interval_start"][k], tz="UTC").isoformat(),
            "queue": str(cols["queue"][k]),
            "volume": float(cols["volume"][k]),
            "aht_seconds": float(cols["aht"][k]),
            "load_erlangs": float(cols["load"][k]),
            "agents_raw": int(cols["agents_raw"][k]),
            "agents": int(cols["agents"][k]),
        }
        for src, dst in (
            ("service_level", "service_level"),
            ("asa", "asa_seconds"),
            ("p_wait", "p_wait"),
            ("p_abandon", "p_abandon"),
            ("occupancy", "occupancy"),
            ("backlog_hours", "backlog_hours"),
            ("max_delay_hours", "max_delay_hours"),
        ):
            if src in cols:
                row[dst] = _num(cols[src][k])
        if "binding" in cols:
            row["binding"] = str(cols["binding"][k])
        rows.append(row)
    return rows
