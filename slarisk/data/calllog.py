"""Loader for call-centre logs in the "Anonymous Bank" format (17 whitespace-separated fields).

Format (Guedj & Mandelbaum, 2000): ``vru+line call_id customer_id priority type date vru_entry
vru_exit vru_time q_start q_exit q_time outcome ser_start ser_exit ser_time server``. ``date`` is
YYMMDD (the day the call entered the VRU), clock times are ``h:mm:ss`` local time of that day,
``*_time`` fields are durations in seconds. ``q_start`` is ``0:00:00`` for calls that never
queued; ``outcome`` is AGENT (served), HANG (hung up) or PHANTOM (a virtual call, ignored).

Calls that cross midnight are resolved by placing each clock time on the day that puts it
nearest to (within 12 h of) the VRU entry. Rows that are inconsistent at the source (a
duration that disagrees with its clock times or is negative, an unknown type or outcome, a
served call without service times, an abandoned call with a server, a field that does not
parse) go to the quarantine frame with the 1-based data row of the file (the header is not
counted), the field and the reason; so do PHANTOM calls (reason: ignored by the documentation).
``input rows = accepted + quarantined`` always holds.

Timestamps come back timezone-aware in UTC (the source is local time, ``tz`` defaults to
Asia/Jerusalem); durations are seconds (float).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slarisk.errors import InputError

FIELDS: tuple[str, ...] = (
    "vru_line",
    "call_id",
    "customer_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
)
CALL_TYPES: frozenset[str] = frozenset({"PS", "PE", "IN", "NE", "NW", "TT"})
OUTCOMES: frozenset[str] = frozenset({"AGENT", "HANG", "PHANTOM"})
NO_SERVER = "NO_SERVER"
DEFAULT_TZ = "Asia/Jerusalem"
_DAY = 86_400
#: Service must start within this many seconds of the queue exit (VRU exit when not queued);
#: the source records it 0-2 s early as a rule, with a tail of clock noise.
SERVICE_START_TOLERANCE = 120.0
_CLOCKS = ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit")

#: Columns of the accepted call frame, in order.
CALL_COLUMNS: tuple[str, ...] = (
    "call_key",
    "vru_line",
    "call_id",
    "customer_id",
    "priority",
    "call_type",
    "arrived_at",
    "vru_exit_at",
    "vru_seconds",
    "queued",
    "queue_start_at",
    "queue_exit_at",
    "wait_seconds",
    "outcome",
    "reached_queue",
    "served",
    "abandoned",
    "service_start_at",
    "service_end_at",
    "service_seconds",
    "server",
)


@dataclass(frozen=True)
class CallLog:
    """Accepted calls and quarantined rows of one or more call-log files."""

    calls: pd.DataFrame
    quarantine: pd.DataFrame
    input_rows: int

    def reconcile(self) -> str:
        """One-line reconciliation ``input = accepted + quarantined``."""
        return (
            f"input {self.input_rows} = accepted {len(self.calls)}"
            f" + quarantined {len(self.quarantine)}"
        )


def _clock_seconds(s: pd.Series) -> pd.Series:
    """``h:mm:ss`` strings -> seconds after midnight (float, NaN when unparseable).

    Vectorised on the bytes: each value is left-padded to ``hh:mm:ss`` and checked character
    by character.
    """
    padded = s.fillna("").astype(str).str.zfill(8).to_numpy(dtype="S8")
    b = padded.view(np.uint8).reshape(len(padded), 8).astype(np.int16) - ord("0")
    digits = b[:, [0, 1, 3, 4, 6, 7]]
    ok = (
        (digits >= 0).all(axis=1)
        & (digits <= 9).all(axis=1)
        & (b[:, 2] == ord(":") - ord("0"))
        & (b[:, 5] == ord(":") - ord("0"))
        & (s.fillna("").str.len().to_numpy() <= 8)
    )
    h = b[:, 0] * 10 + b[:, 1]
    m = b[:, 3] * 10 + b[:, 4]
    sec = b[:, 6] * 10 + b[:, 7]
    ok &= (h <= 23) & (m <= 59) & (sec <= 59)
    out = np.where(ok, h * 3600.0 + m * 60.0 + sec, np.nan)
    return pd.Series(out, index=s.index)


def _nearest(t: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Clock seconds ``t`` placed on the day nearest to ``anchor`` (both seconds of day 0)."""
    return t + np.round((anchor - t) / _DAY) * _DAY


def _read_raw(path: Path) -> pd.DataFrame:
    """Raw string fields of one file, one row per data line, plus ``line`` and ``n_fields``."""
    if not path.is_file():
        raise InputError("file not found", path=str(path))
    try:
        lines = pd.read_csv(
            path,
            sep="\x01",
            header=None,
            names=["raw"],
            dtype=str,
            skip_blank_lines=False,
            keep_default_na=False,
            compression="infer",
            quoting=csv.QUOTE_NONE,
            engine="c",
        )["raw"]
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read call log: {exc}", path=str(path)) from exc
    if lines.empty:
        raise InputError("empty file", path=str(path))
    header = lines.iloc[0].split()
    if len(header) != len(FIELDS) or header[0].lower() not in {"vru+line", "vru_line"}:
        raise InputError(
            f"expected a header of {len(FIELDS)} fields starting with 'vru+line', "
            f"got {header[:3]}...",
            path=str(path),
            row=1,
        )
    body = lines.iloc[1:]
    body = body[body.str.strip() != ""]
    # Split on whitespace with Arrow (vectorised); rows with the wrong field count keep
    # empty fields and are quarantined by _validate.
    parts = pc.utf8_split_whitespace(pa.array(body.to_numpy(dtype=object), type=pa.string()))
    n_fields = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    good = n_fields == len(FIELDS)
    table = np.full((len(body), len(FIELDS)), "", dtype=object)
    if good.any():
        flat = pc.list_flatten(parts.filter(pa.array(good))).to_numpy(zero_copy_only=False)
        table[good] = flat.reshape(-1, len(FIELDS))
    split = pd.DataFrame(table, columns=list(FIELDS), dtype=str)
    split["line"] = body.index.to_numpy() + 1  # pandas row 0 is the header = line 1
    split["n_fields"] = n_fields
    split["file"] = str(path)
    return split.reset_index(drop=True)


def _validate(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Return (reason, field) per row; empty reason means accepted. Vectorised checks."""
    n = len(raw)
    reason = pd.Series([""] * n, index=raw.index, dtype=object)
    field = pd.Series([""] * n, index=raw.index, dtype=object)

    def flag(mask: pd.Series, fld: str, why: str) -> None:
        m = mask.fillna(True) & (reason == "")
        reason[m] = why
        field[m] = fld

    flag(raw["n_fields"] != len(FIELDS), "row", f"expected {len(FIELDS)} fields")
    date = pd.to_datetime(raw["date"], format="%y%m%d", errors="coerce")
    flag(date.isna(), "date", "date is not YYMMDD")
    for c in _CLOCKS:
        flag(_clock_seconds(raw[c].fillna("")).isna(), c, "time is not h:mm:ss")
    for c in ("vru_time", "q_time", "ser_time", "priority"):
        flag(pd.to_numeric(raw[c], errors="coerce").isna(), c, "not an integer")
    flag(~raw["type"].isin(CALL_TYPES), "type", "unknown call type")
    flag(~raw["outcome"].isin(OUTCOMES), "outcome", "unknown outcome")
    if (reason == "").any():
        ok = reason == ""
        sec = {c: _clock_seconds(raw.loc[ok, c]) for c in _CLOCKS}
        dur = {c: pd.to_numeric(raw.loc[ok, c]) for c in ("vru_time", "q_time", "ser_time")}
        queued = raw.loc[ok, "q_start"] != "0:00:00"
        outcome = raw.loc[ok, "outcome"]
        served = outcome == "AGENT"

        def diff(a: str, b: str) -> pd.Series:
            return (sec[b] - sec[a]) % _DAY

        sub = pd.Series(False, index=raw.index)

        def flag_ok(mask: pd.Series, fld: str, why: str) -> None:
            flag(sub | mask.reindex(raw.index, fill_value=False), fld, why)

        prio = pd.to_numeric(raw.loc[ok, "priority"])
        flag_ok(~prio.isin([0, 1, 2]), "priority", "priority is not 0, 1 or 2")
        flag_ok(dur["vru_time"] < 0, "vru_exit", "vru_exit before vru_entry (negative vru_time)")
        flag_ok(
            diff("vru_entry", "vru_exit") != dur["vru_time"] % _DAY,
            "vru_time",
            "vru_time disagrees with vru_exit - vru_entry",
        )
        flag_ok(
            queued & (diff("q_start", "q_exit") != dur["q_time"]),
            "q_time",
            "q_time disagrees with q_exit - q_start",
        )
        flag_ok(~queued & (dur["q_time"] != 0), "q_time", "q_time > 0 for a call never queued")
        flag_ok(dur["q_time"] < 0, "q_time", "negative q_time")
        flag_ok(
            served & (diff("ser_start", "ser_exit") != dur["ser_time"]),
            "ser_time",
            "ser_time disagrees with ser_exit - ser_start",
        )
        flag_ok(dur["ser_time"] < 0, "ser_time", "negative ser_time")
        flag_ok(
            served & (raw.loc[ok, "ser_start"] == "0:00:00") & (dur["ser_time"] == 0),
            "ser_start",
            "served call without service times",
        )
        handoff = sec["q_exit"].where(queued, sec["vru_exit"])
        gap = (sec["ser_start"] - handoff + _DAY / 2) % _DAY - _DAY / 2
        flag_ok(
            served & (gap.abs() > SERVICE_START_TOLERANCE),
            "ser_start",
            f"ser_start more than {SERVICE_START_TOLERANCE:.0f} s from the queue/VRU exit",
        )
        flag_ok(
            (outcome == "HANG") & (raw.loc[ok, "server"] != NO_SERVER),
            "server",
            "hung-up call has a server",
        )
        flag_ok(outcome == "PHANTOM", "outcome", "PHANTOM call (virtual, ignored per the docs)")
    return reason, field


def _to_calls(raw: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Accepted raw rows -> the call frame (see CALL_COLUMNS)."""
    day = pd.to_datetime(raw["date"], format="%y%m%d")
    sec = {c: _clock_seconds(raw[c]).to_numpy() for c in _CLOCKS}
    entry = sec["vru_entry"]
    local = {c: _nearest(sec[c], entry) for c in _CLOCKS}
    # The UTC offset at VRU entry is applied to every clock time of the call, so durations
    # stay exact across DST changes.
    entry_local = day + pd.to_timedelta(entry, unit="s")
    entry_utc = entry_local.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    entry_utc = entry_utc.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")

    def at(c: str) -> pd.Series:
        return entry_utc + pd.to_timedelta(local[c] - entry, unit="s")

    queued = (raw["q_start"] != "0:00:00").to_numpy()
    outcome = raw["outcome"].to_numpy()
    served = outcome == "AGENT"
    abandoned = (outcome == "HANG") & queued
    out = pd.DataFrame(
        {
            "call_key": raw["date"] + "-" + raw["vru_line"] + "-" + raw["call_id"],
            "vru_line": raw["vru_line"],
            "call_id": raw["call_id"],
            "customer_id": raw["customer_id"],
            "priority": pd.to_numeric(raw["priority"]).astype("int8"),
            "call_type": raw["type"],
            "arrived_at": entry_utc,
            "vru_exit_at": at("vru_exit"),
            "vru_seconds": pd.to_numeric(raw["vru_time"]).astype(float),
            "queued": queued,
            "queue_start_at": at("q_start").where(queued),
            "queue_exit_at": at("q_exit").where(queued),
            "wait_seconds": pd.to_numeric(raw["q_time"]).astype(float),
            "outcome": outcome,
            "reached_queue": queued | served,
            "served": served,
            "abandoned": abandoned,
            "service_start_at": at("ser_start").where(served),
            "service_end_at": at("ser_exit").where(served),
            "service_seconds": np.where(served, pd.to_numeric(raw["ser_time"]), np.nan),
            "server": raw["server"],
        },
        index=raw.index,
    )
    return out


def load_call_log(paths: Path | str | Sequence[Path | str], tz: str = DEFAULT_TZ) -> CallLog:
    """Load one or more call-log files (plain or .gz) into accepted calls and a quarantine.

    ``tz`` is the timezone of the source's clock times. Calls are sorted by ``arrived_at``.
    Quarantine columns (the data contract's layout): ``row`` (1-based data row of its file, the
    header not counted), ``field``, ``reason``, ``file``, then the 17 raw fields.
    """
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown timezone {tz!r}", field="tz") from exc
    plist = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not plist:
        raise InputError("no call-log files given")
    raws = [_read_raw(p) for p in plist]
    raw = pd.concat(raws, ignore_index=True)
    reason, field = _validate(raw)
    bad = reason != ""
    quarantine = pd.concat(
        [
            pd.DataFrame(
                {
                    "row": raw.loc[bad, "line"].astype("int64") - 1,
                    "field": field[bad],
                    "reason": reason[bad],
                    "file": raw.loc[bad, "file"],
                }
            ),
            raw.loc[bad, list(FIELDS)],
        ],
        axis=1,
    ).reset_index(drop=True)
    calls = _to_calls(raw.loc[~bad].reset_index(drop=True), tz)
    calls = calls.sort_values("arrived_at", kind="stable").reset_index(drop=True)
    return CallLog(calls=calls, quarantine=quarantine, input_rows=len(raw))


def find_call_files(directory: Path | str, months: Iterable[str] | None = None) -> list[Path]:
    """Call-log files ``calls_*.txt[.gz]`` in ``directory``, optionally only the given months.

    ``months`` are ``YYYY-MM`` strings (e.g. ``1999-01``) or month names as in the file names
    (``january``). Raises InputError when nothing matches.
    """
    d = Path(directory)
    if not d.is_dir():
        raise InputError("directory not found", path=str(d))
    files = sorted(d.glob("calls_*.txt*"))
    if months is not None:
        names = [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
        wanted: list[Path] = []
        for m in months:
            m = m.strip().lower()
            key = m
            if len(m) == 7 and m[4] == "-" and m[:4].isdigit() and m[5:].isdigit():
                if not 1 <= int(m[5:]) <= 12:
                    raise InputError(f"month {m!r} is not YYYY-MM", field="months")
                key = f"{m[:4]}_{names[int(m[5:]) - 1]}"
            hit = [f for f in files if key in f.name.lower()]
            if not hit:
                raise InputError(f"no call-log file for month {m!r}", path=str(d))
            wanted.extend(hit)
        files = wanted
    if not files:
        raise InputError("no calls_*.txt[.gz] files", path=str(d))
    return files


def restrict_months(
    calls: pd.DataFrame, months: Iterable[str], tz: str = DEFAULT_TZ
) -> pd.DataFrame:
    """Calls whose local arrival month (``YYYY-MM``) is among ``months``."""
    local = calls["arrived_at"].dt.tz_convert(tz)
    ym = local.dt.year * 100 + local.dt.month
    wanted: set[int] = set()
    for m in months:
        m = m.strip()
        if not (len(m) == 7 and m[4] == "-" and m[:4].isdigit() and m[5:].isdigit()):
            raise InputError(f"month {m!r} is not YYYY-MM", field="months")
        wanted.add(int(m[:4]) * 100 + int(m[5:7]))
    return calls[ym.isin(wanted)].reset_index(drop=True)
