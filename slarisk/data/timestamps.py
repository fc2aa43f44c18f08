"""Parsing text columns at entry: missing-value markers and timestamps without guessing.

Timestamps become ``datetime64[ns, UTC]``; values with an explicit UTC offset are converted,
naive ones are read in the source's IANA timezone, and every value that cannot be used is
flagged (unparseable, nonexistent or ambiguous local time, out of range), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slarisk.data import schema as s

# A UTC offset after a time of day: "...10:00Z", "...10:00:00.5+02:00", "... 10:00 -0500".
_OFFSET_RE = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# Bounds of datetime64[ns].
_TS_MIN = pd.Timestamp("1677-09-22")
_TS_MAX = pd.Timestamp("2262-04-10")


def clean_strings(values: pd.Series, na_values: Iterable[str] = s.DEFAULT_NA_VALUES) -> pd.Series:
    """Strings stripped of surrounding blanks; missing markers (``na_values``) become NaN."""
    text = values.astype("str").str.strip()
    return text.mask(values.isna() | text.isin(list(na_values)))


@dataclass(frozen=True)
class ParsedTimestamps:
    """Parsed UTC timestamps with masks of the problems met (all aligned to the input)."""

    values: pd.Series
    missing: np.ndarray
    unparseable: np.ndarray
    bad_local_time: np.ndarray
    out_of_range: np.ndarray

    def problems(self, field: str, tz: str) -> list[tuple[str, str, np.ndarray]]:
        """(field, reason, mask) for every non-missing value that could not be used."""
        return [
            (field, f"unparseable {field}", self.unparseable),
            (field, f"{field} is nonexistent or ambiguous local time in {tz}", self.bad_local_time),
            (field, f"{field} out of range (years 1678-2261)", self.out_of_range),
        ]


def parse_timestamps(
    values: pd.Series,
    *,
    source_tz: str = "UTC",
    fmt: str | None = None,
    na_values: Iterable[str] = s.DEFAULT_NA_VALUES,
) -> ParsedTimestamps:
    """Parse a column to ``datetime64[ns, UTC]`` without guessing.

    Values with an explicit UTC offset are converted; naive values are read in ``source_tz``
    (an IANA name); local times that do not exist or are ambiguous there (DST changes) are
    flagged, not guessed. ``fmt`` is a strftime format, or None for ISO 8601.
    """
    n = len(values)
    index = values.index
    out = pd.Series(pd.NaT, index=index, dtype=s.TIMESTAMP_DTYPE)
    none = np.zeros(n, dtype=bool)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc = values.dt.tz_convert("UTC")
        return _finish(out, utc, ~values.isna().to_numpy(), none, none)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        present = values.notna().to_numpy()
        local = values.dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="NaT")
        bad_local = present & local.isna().to_numpy()
        return _finish(out, local.dt.tz_convert("UTC"), present & ~bad_local, none, bad_local)

    text = clean_strings(values, na_values)
    present = text.notna().to_numpy()
    fmt_ = fmt or "ISO8601"
    if fmt and ("%z" in fmt or "%Z" in fmt):
        aware = present.copy()
    elif fmt:  # a custom format without %z/%Z describes naive values
        aware = np.zeros(n, dtype=bool)
    else:
        aware = present & _has_offset(text)
    naive = present & ~aware
    parsed = pd.Series(pd.NaT, index=index, dtype=s.TIMESTAMP_DTYPE)
    unparseable = np.zeros(n, dtype=bool)
    bad_local = np.zeros(n, dtype=bool)
    in_range = np.zeros(n, dtype=bool)
    if aware.any():
        p = _to_datetime(text[aware], fmt_, utc=True)
        ok = _in_bounds(p.dt.tz_localize(None))
        unparseable[aware] = p.isna().to_numpy()
        in_range[aware] = ok
        parsed[aware] = p.where(ok).dt.as_unit("ns")
    if naive.any():
        p = _to_datetime(text[naive], fmt_, utc=False)
        if isinstance(p.dtype, pd.DatetimeTZDtype):  # a custom format may carry %z
            p = p.dt.tz_convert("UTC").dt.tz_localize(None)
        ok = _in_bounds(p)
        local = p.where(ok).dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="NaT")
        unparseable[naive] = p.isna().to_numpy()
        in_range[naive] = ok
        bad_local[naive] = ok & local.isna().to_numpy()
        parsed[naive] = local.dt.tz_convert("UTC").dt.as_unit("ns")
    out_of_range = present & ~unparseable & ~in_range
    return ParsedTimestamps(
        values=parsed,
        missing=~present,
        unparseable=unparseable,
        bad_local_time=bad_local,
        out_of_range=out_of_range,
    )


def _has_offset(text: pd.Series) -> np.ndarray:
    """Which strings end in a UTC offset (pyarrow's RE2 regex: fast, no Python loop)."""
    arr = pa.array(text, type=pa.large_string(), from_pandas=True)
    hit = pc.match_substring_regex(arr, _OFFSET_RE).fill_null(False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _to_datetime(text: pd.Series, fmt: str, *, utc: bool) -> pd.Series:
    """``pd.to_datetime`` on the distinct values only (logs repeat timestamps a lot)."""
    codes, uniques = pd.factorize(text)
    parsed = pd.to_datetime(pd.Series(uniques), format=fmt, utc=utc, errors="coerce")
    return parsed.take(codes).set_axis(text.index)


def _in_bounds(naive: pd.Series) -> np.ndarray:
    return ((naive >= _TS_MIN) & (naive <= _TS_MAX)).fillna(False).to_numpy(dtype=bool)


def _finish(
    out: pd.Series, utc: pd.Series, present: np.ndarray, unparseable: np.ndarray, bad: np.ndarray
) -> ParsedTimestamps:
    naive = utc.dt.tz_localize(None)
    ok = _in_bounds(naive)
    out[ok] = utc[ok].dt.as_unit("ns")
    return ParsedTimestamps(
        values=out,
        missing=~(present | bad),
        unparseable=unparseable,
        bad_local_time=bad,
        out_of_range=present & ~ok,
    )


__all__ = ["ParsedTimestamps", "clean_strings", "parse_timestamps"]
