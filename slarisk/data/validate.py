"""Validation at entry: typed canonical frames out, bad rows to a quarantine frame with reasons.

Every function here is vectorised (masks over whole columns, no per-row Python loop) and
reconciles exactly: ``len(input) == len(accepted) + len(quarantined)``. A quarantined row keeps
its raw input values after the ``row, field, reason`` columns (see docs/data_contract.md).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from slarisk.data import plausible
from slarisk.data import schema as s
from slarisk.data.timestamps import clean_strings, parse_timestamps
from slarisk.errors import InputError


@dataclass(frozen=True)
class ValidationResult:
    """Accepted rows (typed, canonical) and quarantined rows (``row, field, reason`` + raw)."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    source: str
    kind: str = "tickets"

    @property
    def n_input(self) -> int:
        """Number of input rows (= accepted + quarantined)."""
        return self.n_accepted + self.n_quarantined

    @property
    def n_accepted(self) -> int:
        return len(self.accepted)

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantined)

    def reason_counts(self) -> dict[str, int]:
        """Number of quarantined rows per reason (a row with two reasons counts in both)."""
        if self.quarantined.empty:
            return {}
        counts: Counter[str] = Counter()
        for reasons, n in self.quarantined[s.REASON].value_counts().items():
            for reason in str(reasons).split("; "):
                counts[reason] += int(n)
        return dict(counts.most_common())

    def summary(self) -> str:
        """One line: ``<source> <kind>: input N = accepted A + quarantined Q``."""
        return (
            f"{self.source} {self.kind}: input {self.n_input:,} = accepted {self.n_accepted:,}"
            f" + quarantined {self.n_quarantined:,}"
        )


@dataclass(frozen=True)
class ImportResult:
    """Outcome of an importer: tickets, status events and the reconciliation at each level.

    ``source_events`` is the validation of the source's event rows (event logs only): its
    quarantine holds the raw source rows that could not be used.
    """

    tickets: ValidationResult
    events: pd.DataFrame
    source_events: ValidationResult | None = None
    notes: tuple[str, ...] = ()

    def quarantine(self) -> pd.DataFrame:
        """All quarantined rows, with a ``level`` column (``event`` or ``ticket``)."""
        parts = []
        if self.source_events is not None and self.source_events.n_quarantined:
            parts.append(self.source_events.quarantined.assign(level="event"))
        if self.tickets.n_quarantined or not parts:
            parts.append(self.tickets.quarantined.assign(level="ticket"))
        out = pd.concat(parts, ignore_index=True)
        cols = [s.ROW, "level", s.FIELD, s.REASON]
        return out[cols + [c for c in out.columns if c not in cols]]

    def lines(self) -> list[str]:
        """Reconciliation lines for people: event level (if any), ticket level, notes."""
        out = []
        if self.source_events is not None:
            out.append(self.source_events.summary())
        out.append(self.tickets.summary())
        out.append(f"status events out: {len(self.events):,}")
        return out + list(self.notes)


def rename_fields(quarantined: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Quarantine with canonical column names in ``field``/``reason`` replaced by source ones."""
    if quarantined.empty or not names:
        return quarantined
    pattern = r"\b(" + "|".join(re.escape(k) for k in names) + r")\b"
    out = quarantined.copy()
    for col in (s.FIELD, s.REASON):
        out[col] = out[col].str.replace(pattern, lambda m: names[m.group(1)], regex=True)
    return out


def with_source_rows(quarantined: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Quarantine whose raw values are replaced by the source rows (``row`` is 1-based)."""
    head = quarantined[list(s.QUARANTINE_COLUMNS)].reset_index(drop=True)
    body = raw.iloc[head[s.ROW].to_numpy() - 1].reset_index(drop=True)
    body.columns = [f"raw_{c}" if c in (*s.QUARANTINE_COLUMNS, "level") else c for c in body]
    return pd.concat([head, body], axis=1)


# --- building blocks ------------------------------------------------------------------------


def check_timezone(tz: str, *, source: str = "", field: str = "source_timezone") -> str:
    """Return ``tz`` if it is a known IANA timezone name, else raise InputError."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"unknown timezone {tz!r}", path=source or None, field=field) from None
    return tz


def isin(values: pd.Series, members: Iterable[Any]) -> np.ndarray:
    """``values.isin(members)`` as a bool array, fast for many members (hash-table lookup)."""
    if isinstance(members, pd.Series | pd.Index):
        pool = pd.Series(members.astype("str"))
    else:
        pool = pd.Series([str(m) for m in members], dtype="str")
    index = pd.Index(pd.unique(pool))
    return np.asarray(index.get_indexer(pd.Index(values)) >= 0)


def _require(df: pd.DataFrame, columns: Sequence[str], source: str, kind: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{kind} input lacks required column(s) {', '.join(missing)}"
            f" (has: {', '.join(map(str, df.columns)) or 'none'})",
            path=source,
            field=missing[0],
        )


def _row_numbers(df: pd.DataFrame, rows: Sequence[int] | np.ndarray | None) -> np.ndarray:
    if rows is None:
        return np.arange(1, len(df) + 1, dtype=np.int64)
    out = np.asarray(rows, dtype=np.int64)
    if len(out) != len(df):
        raise ValueError(f"rows has {len(out)} entries for {len(df)} input rows")
    return out


Problem = tuple[str, Any, np.ndarray]  # (field, reason str or per-row array, mask)


def split_rows(
    raw: pd.DataFrame,
    clean: pd.DataFrame,
    problems: Sequence[Problem],
    *,
    rows: np.ndarray,
    source: str,
    kind: str,
) -> ValidationResult:
    """Split ``clean`` into accepted rows and quarantined raw rows with joined reasons.

    ``problems`` are (field, reason, mask) where reason is a string or an array aligned to the
    input (for per-row messages); a row is quarantined when any mask is true.
    """
    n = len(raw)
    bad = np.zeros(n, dtype=bool)
    for _, _, mask in problems:
        bad |= mask
    idx = np.flatnonzero(bad)
    fields = np.full(len(idx), "", dtype=object)
    reasons = np.full(len(idx), "", dtype=object)
    for field, reason, mask in problems:
        sub = mask[idx]
        if not sub.any():
            continue
        why = np.asarray(reason, dtype=object)[idx][sub] if not isinstance(reason, str) else reason
        fields[sub] = np.where(fields[sub] == "", field, fields[sub] + "; " + field)
        reasons[sub] = np.where(reasons[sub] == "", why, reasons[sub] + "; " + why)
    raw_bad = raw.iloc[idx].reset_index(drop=True)
    raw_bad.columns = [
        f"raw_{c}" if c in (*s.QUARANTINE_COLUMNS, "level") else c for c in raw_bad.columns
    ]
    head = pd.DataFrame(
        {s.ROW: rows[idx], s.FIELD: fields.astype(str), s.REASON: reasons.astype(str)}
    )
    quarantined = pd.concat([head, raw_bad], axis=1)
    accepted = clean.loc[~bad].reset_index(drop=True)
    return ValidationResult(accepted=accepted, quarantined=quarantined, source=source, kind=kind)


def _duplicate_problems(
    clean: pd.DataFrame, key: Sequence[str], usable: np.ndarray, rows: np.ndarray, label: str
) -> list[Problem]:
    """Exact repeats of an earlier row (all values equal) and conflicting rows sharing a key.

    The first of a set of exact repeats is kept; rows that share the key but differ are all
    quarantined (which one is right cannot be told).
    """
    sub = clean.loc[usable]
    if sub.empty:
        return []
    hashes = pd.util.hash_pandas_object(sub, index=False)
    exact = hashes.duplicated(keep="first").to_numpy()
    first_row = pd.Series(rows[usable]).groupby(hashes.to_numpy()).transform("first").to_numpy()
    distinct = sub.loc[~exact]
    conflict_sub = distinct.duplicated(subset=list(key), keep=False).to_numpy()
    n = len(clean)
    exact_mask = np.zeros(n, dtype=bool)
    exact_mask[np.flatnonzero(usable)[exact]] = True
    conflict = np.zeros(n, dtype=bool)
    conflict[np.flatnonzero(usable)[~exact][conflict_sub]] = True
    # a repeat of a row that is itself in conflict is a conflict too
    keys_in_conflict = distinct.loc[conflict_sub, list(key)].drop_duplicates()
    if not keys_in_conflict.empty and exact.any():
        rep = sub.loc[exact, list(key)]
        hit = rep.merge(keys_in_conflict, how="left", indicator=True)["_merge"].eq("both")
        conflict[np.flatnonzero(usable)[exact][hit.to_numpy()]] = True
    exact_reason = np.full(n, "", dtype=object)
    exact_reason[usable] = ("exact duplicate of row " + pd.Series(first_row).astype(str)).to_numpy()
    exact_mask &= ~conflict
    return [
        (key[0], exact_reason, exact_mask),
        (key[0], f"duplicate {label} with conflicting values", conflict),
    ]


def _allowed_problems(
    clean: pd.DataFrame, allowed: Mapping[str, Collection[str]] | None
) -> list[Problem]:
    out: list[Problem] = []
    for col, values in (allowed or {}).items():
        if col not in clean.columns:
            continue
        vals = clean[col]
        bad = (vals.notna() & ~vals.isin(list(values))).to_numpy(dtype=bool)
        if bad.any():
            names = sorted(map(str, values))
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            reason = np.full(len(vals), "", dtype=object)
            reason[bad] = (
                f"{col} " + vals[bad].astype("str").map(repr) + f" not allowed (expected {shown})"
            ).to_numpy()
            out.append((col, reason, bad))
    return out


# --- tickets ----------------------------------------------------------------------------------


def validate_tickets(
    df: pd.DataFrame,
    source: str,
    *,
    source_tz: str = "UTC",
    timestamp_format: str | None = None,
    na_values: Iterable[str] = s.DEFAULT_NA_VALUES,
    rows: Sequence[int] | np.ndarray | None = None,
    defaults: Mapping[str, str] | None = None,
    allowed: Mapping[str, Collection[str]] | None = None,
    extra_problems: Sequence[Problem] = (),
) -> ValidationResult:
    """Validate a ticket frame against the canonical contract (docs/data_contract.md).

    ``source`` names the input in messages; naive timestamps are read in ``source_tz``;
    ``rows`` gives the 1-based source row of each input row (default 1..n); ``defaults``
    overrides "unknown" for absent or empty segment columns; ``allowed`` restricts the values
    of string columns (e.g. ``{"priority": ["P1", "P2"]}``); ``extra_problems`` are an
    importer's own (field, reason, mask) findings. Raises InputError when a required
    column is absent; row-level problems go to ``quarantined``.
    """
    check_timezone(source_tz, source=source)
    _require(df, s.REQUIRED_TICKET_COLUMNS, source, "ticket")
    defaults = defaults or {}
    na = tuple(na_values)
    rown = _row_numbers(df, rows)
    problems: list[Problem] = []
    clean = pd.DataFrame(index=df.index)

    ids = clean_strings(df[s.TICKET_ID], na)
    clean[s.TICKET_ID] = ids
    problems.append((s.TICKET_ID, "missing ticket_id", ids.isna().to_numpy()))

    for col in s.TICKET_TIMESTAMP_COLUMNS:
        if col not in df.columns:
            clean[col] = pd.Series(pd.NaT, index=df.index, dtype=s.TIMESTAMP_DTYPE)
            continue
        parsed = parse_timestamps(df[col], source_tz=source_tz, fmt=timestamp_format, na_values=na)
        clean[col] = parsed.values
        problems += parsed.problems(col, source_tz)
        if col == s.CREATED_AT:
            problems.append((col, "missing created_at", parsed.missing))
    created = clean[s.CREATED_AT]
    for col in (s.FIRST_RESPONSE_AT, s.RESOLVED_AT):
        early = (clean[col] < created).fillna(False).to_numpy(dtype=bool)
        problems.append((col, f"{col} earlier than created_at", early))

    prio = clean_strings(df[s.PRIORITY], na)
    if s.PRIORITY in defaults:
        prio = prio.fillna(defaults[s.PRIORITY])
    clean[s.PRIORITY] = prio
    problems.append((s.PRIORITY, "missing priority", prio.isna().to_numpy()))

    for col in s.SEGMENT_COLUMNS:
        fill = defaults.get(col, s.UNKNOWN)
        if col in df.columns:
            clean[col] = clean_strings(df[col], na).fillna(fill)
        else:
            clean[col] = fill
    status = clean_strings(df[s.STATUS], na) if s.STATUS in df.columns else None
    derived = pd.Series(
        np.where(clean[s.RESOLVED_AT].notna(), s.DEFAULT_RESOLVED_STATUS, s.DEFAULT_OPEN_STATUS),
        index=df.index,
    )
    clean[s.STATUS] = derived if status is None else status.fillna(derived)

    extras = [c for c in df.columns if c not in s.TICKET_COLUMNS]
    for col in extras:
        clean[col] = df[col]
    problems += _allowed_problems(clean, allowed)
    problems += plausible.range_problems(clean, plausible.TICKET_LIMITS, na)
    problems += plausible.duration_problems(clean)
    problems += list(extra_problems)
    usable = ~ids.isna().to_numpy()
    problems += _duplicate_problems(clean, [s.TICKET_ID], usable, rown, "ticket_id")
    result = split_rows(df, clean, problems, rows=rown, source=source, kind="tickets")
    acc = result.accepted
    for col in (s.TICKET_ID, s.PRIORITY, *s.SEGMENT_COLUMNS, s.STATUS):
        acc[col] = acc[col].astype("str")
    return result


# --- status events ----------------------------------------------------------------------------


def validate_events(
    df: pd.DataFrame,
    source: str,
    *,
    source_tz: str = "UTC",
    timestamp_format: str | None = None,
    na_values: Iterable[str] = s.DEFAULT_NA_VALUES,
    rows: Sequence[int] | np.ndarray | None = None,
    known_ticket_ids: Iterable[str] | None = None,
    allowed: Mapping[str, Collection[str]] | None = None,
    carry: Sequence[str] = (),
) -> ValidationResult:
    """Validate status events (``ticket_id, at, status``); accepted sorted by ticket_id, at.

    With ``known_ticket_ids``, events of other tickets are quarantined; ``allowed`` restricts
    the values of string columns (e.g. ``status``). Exact repeats of an
    earlier event are quarantined (as such); extra columns are kept; ``carry`` names extra
    columns ignored when looking for repeats (e.g. a source row number).
    """
    check_timezone(source_tz, source=source)
    _require(df, s.EVENT_COLUMNS, source, "status event")
    na = tuple(na_values)
    rown = _row_numbers(df, rows)
    clean = pd.DataFrame(index=df.index)
    ids = clean_strings(df[s.TICKET_ID], na)
    clean[s.TICKET_ID] = ids
    parsed = parse_timestamps(df[s.AT], source_tz=source_tz, fmt=timestamp_format, na_values=na)
    clean[s.AT] = parsed.values
    status = clean_strings(df[s.STATUS], na)
    clean[s.STATUS] = status
    for col in df.columns:
        if col not in s.EVENT_COLUMNS:
            clean[col] = df[col]
    problems: list[Problem] = [
        (s.TICKET_ID, "missing ticket_id", ids.isna().to_numpy()),
        (s.AT, "missing at", parsed.missing),
        *parsed.problems(s.AT, source_tz),
        (s.STATUS, "missing status", status.isna().to_numpy()),
    ]
    if known_ticket_ids is not None:
        unknown = ids.notna().to_numpy() & ~isin(ids, known_ticket_ids)
        problems.append((s.TICKET_ID, "ticket_id not among the tickets", unknown))
    problems += _allowed_problems(clean, allowed)
    usable = ids.notna().to_numpy()
    # exact repeats only: distinct events may share (ticket_id, at)
    compared = [c for c in clean.columns if c not in carry]
    problems += _duplicate_problems(clean[compared], compared, usable, rown, "event")[:1]
    result = split_rows(df, clean, problems, rows=rown, source=source, kind="events")
    acc = result.accepted
    acc[s.TICKET_ID] = acc[s.TICKET_ID].astype("str")
    acc[s.STATUS] = acc[s.STATUS].astype("str")
    acc = acc.sort_values([s.TICKET_ID, s.AT], kind="stable", ignore_index=True)
    return ValidationResult(acc, result.quarantined, source=source, kind="events")


# --- staffing ---------------------------------------------------------------------------------


def _numbers(values: pd.Series, na: Sequence[str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(numeric values, missing mask, non-numeric mask)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        num = values.astype("float64")
        return num, num.isna().to_numpy(), np.zeros(len(values), dtype=bool)
    text = clean_strings(values, na)
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    missing = text.isna().to_numpy()
    return num, missing, ~missing & num.isna().to_numpy()


def validate_staffing(
    df: pd.DataFrame,
    source: str,
    *,
    source_tz: str = "UTC",
    timestamp_format: str | None = None,
    na_values: Iterable[str] = s.DEFAULT_NA_VALUES,
    rows: Sequence[int] | np.ndarray | None = None,
    default_team: str = "all",
) -> ValidationResult:
    """Validate interval staffing: ``interval_start, interval_minutes, team, agents``.

    ``interval_minutes`` must be a positive whole number, ``agents`` finite and >= 0;
    a (team, interval_start) pair may appear once. An absent ``team`` column means one team,
    ``default_team``.
    """
    check_timezone(source_tz, source=source)
    _require(df, (s.INTERVAL_START, s.INTERVAL_MINUTES, s.AGENTS), source, "staffing")
    na = tuple(na_values)
    rown = _row_numbers(df, rows)
    clean = pd.DataFrame(index=df.index)
    parsed = parse_timestamps(
        df[s.INTERVAL_START], source_tz=source_tz, fmt=timestamp_format, na_values=na
    )
    clean[s.INTERVAL_START] = parsed.values
    minutes, m_missing, m_bad = _numbers(df[s.INTERVAL_MINUTES], na)
    agents, a_missing, a_bad = _numbers(df[s.AGENTS], na)
    m_ok = (minutes > 0) & (minutes == np.floor(minutes)) & np.isfinite(minutes)
    a_ok = (agents >= 0) & np.isfinite(agents)
    if s.TEAM in df.columns:
        team = clean_strings(df[s.TEAM], na)
    else:
        team = pd.Series(default_team, index=df.index, dtype="str")
    clean[s.INTERVAL_MINUTES] = minutes.where(m_ok, 0).astype("int64")
    clean[s.TEAM] = team
    clean[s.AGENTS] = agents
    for col in df.columns:
        if col not in s.STAFFING_COLUMNS:
            clean[col] = df[col]
    problems: list[Problem] = [
        (s.INTERVAL_START, "missing interval_start", parsed.missing),
        *parsed.problems(s.INTERVAL_START, source_tz),
        (s.INTERVAL_MINUTES, "missing interval_minutes", m_missing),
        (s.INTERVAL_MINUTES, "interval_minutes not a number", m_bad),
        (
            s.INTERVAL_MINUTES,
            "interval_minutes not a positive whole number",
            ~m_missing & ~m_bad & ~m_ok.to_numpy(),
        ),
        (s.TEAM, "missing team", team.isna().to_numpy()),
        (s.AGENTS, "missing agents", a_missing),
        (s.AGENTS, "agents not a number", a_bad),
        (s.AGENTS, "agents negative or infinite", ~a_missing & ~a_bad & ~a_ok.to_numpy()),
        *plausible.range_problems(
            clean.assign(agents=agents.where(a_ok)), plausible.STAFFING_LIMITS, na
        ),
    ]
    usable = ~team.isna().to_numpy() & ~parsed.missing
    problems += _duplicate_problems(
        clean, [s.TEAM, s.INTERVAL_START], usable, rown, "team and interval_start"
    )
    result = split_rows(df, clean, problems, rows=rown, source=source, kind="staffing")
    result.accepted[s.TEAM] = result.accepted[s.TEAM].astype("str")
    acc = result.accepted.sort_values([s.TEAM, s.INTERVAL_START], ignore_index=True)
    return ValidationResult(acc, result.quarantined, source=source, kind="staffing")


def validate_shifts(
    df: pd.DataFrame,
    source: str,
    *,
    source_tz: str = "UTC",
    timestamp_format: str | None = None,
    na_values: Iterable[str] = s.DEFAULT_NA_VALUES,
    rows: Sequence[int] | np.ndarray | None = None,
    default_team: str = "all",
) -> ValidationResult:
    """Validate shift rows: ``agent_id, team, start, end, break_start, break_end``.

    ``end`` must follow ``start``; a break is both ends or neither, lies within the shift and
    ends after it starts. Absent break columns mean no breaks; absent ``team``, ``default_team``.
    """
    check_timezone(source_tz, source=source)
    _require(df, (s.AGENT_ID, s.START, s.END), source, "shift")
    na = tuple(na_values)
    rown = _row_numbers(df, rows)
    clean = pd.DataFrame(index=df.index)
    agent = clean_strings(df[s.AGENT_ID], na)
    clean[s.AGENT_ID] = agent
    if s.TEAM in df.columns:
        team = clean_strings(df[s.TEAM], na)
    else:
        team = pd.Series(default_team, index=df.index, dtype="str")
    clean[s.TEAM] = team
    problems: list[Problem] = [
        (s.AGENT_ID, "missing agent_id", agent.isna().to_numpy()),
        (s.TEAM, "missing team", team.isna().to_numpy()),
    ]
    for col in (s.START, s.END, s.BREAK_START, s.BREAK_END):
        if col not in df.columns:
            clean[col] = pd.Series(pd.NaT, index=df.index, dtype=s.TIMESTAMP_DTYPE)
            continue
        parsed = parse_timestamps(df[col], source_tz=source_tz, fmt=timestamp_format, na_values=na)
        clean[col] = parsed.values
        problems += parsed.problems(col, source_tz)
        if col in (s.START, s.END):
            problems.append((col, f"missing {col}", parsed.missing))
    start, end = clean[s.START], clean[s.END]
    bs, be = clean[s.BREAK_START], clean[s.BREAK_END]

    def _np(x: pd.Series) -> np.ndarray:
        return x.fillna(False).to_numpy(dtype=bool)

    has_b = bs.notna().to_numpy()
    has_e = be.notna().to_numpy()
    problems += [
        (s.END, "end not after start", _np(end <= start)),
        (s.BREAK_END, "break has only one end", has_b ^ has_e),
        (s.BREAK_END, "break_end not after break_start", _np(be <= bs)),
        (s.BREAK_START, "break outside the shift", _np((bs < start) | (be > end))),
    ]
    for col in df.columns:
        if col not in s.SHIFT_COLUMNS:
            clean[col] = df[col]
    result = split_rows(df, clean, problems, rows=rown, source=source, kind="shifts")
    for col in (s.AGENT_ID, s.TEAM):
        result.accepted[col] = result.accepted[col].astype("str")
    return result
