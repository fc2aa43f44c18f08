"""File I/O of tables, in one place: CSV (optionally gzip-compressed) and Parquet by extension.

CSV is read as text (every column ``str``, nothing treated as missing) so that validation sees
the raw values and decides; Parquet keeps its types. Errors are InputError naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from slarisk.data import validate as v
from slarisk.errors import InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def table_format(path: str | Path) -> str:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from the file name, else InputError."""
    name = str(path).lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".tsv", ".tsv.gz")):
        return "tsv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(
        "unknown table format (use .csv, .csv.gz, .tsv, .tsv.gz, .parquet or .pq)",
        path=str(path),
    )


def read_table(path: str | Path, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a CSV/TSV (as text, gzip by extension) or Parquet file into a DataFrame."""
    p = Path(path)
    fmt = table_format(p)
    if not p.exists():
        raise InputError("file not found", path=str(p))
    if not p.is_file():
        raise InputError("not a file", path=str(p))
    cols = list(columns) if columns is not None else None
    try:
        if fmt == "parquet":
            return pd.read_parquet(p, columns=cols)
        _check_header(p, "\t" if fmt == "tsv" else ",")
        return pd.read_csv(
            p,
            sep="\t" if fmt == "tsv" else ",",
            dtype=str,
            keep_default_na=False,
            na_values=[],
            usecols=cols,
            compression="infer",
        )
    except InputError:
        raise
    except PermissionError:
        raise InputError("permission denied", path=str(p)) from None
    except pd.errors.EmptyDataError:
        raise InputError("file is empty (no header row)", path=str(p)) from None
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {fmt} file: {first}", path=str(p)) from None
    except Exception as exc:  # pyarrow raises its own types on corrupt Parquet
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {fmt} file: {first}", path=str(p)) from None


def _check_header(path: Path, sep: str) -> None:
    """InputError naming a column that appears twice in the header (pandas would rename it)."""
    header = pd.read_csv(
        path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False, na_values=[]
    )
    names = [str(x).strip() for x in header.iloc[0]] if len(header) else []
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise InputError(
                f"column {name!r} appears twice in the header (columns {seen[name]} and {i});"
                " rename one of them",
                path=str(path),
                field=name,
            )
        seen[name] = i


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV (gzip for .gz; timestamps ISO 8601 with offset) or Parquet."""
    p = Path(path)
    fmt = table_format(p)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, sep="\t" if fmt == "tsv" else ",", index=False, compression="infer")
    except OSError as exc:
        raise InputError(f"cannot write file: {exc.strerror or exc}", path=str(p)) from None
    return p


def quarantine_path_for(out: str | Path) -> Path:
    """Where the quarantine of ``out`` goes by default: ``<stem>.quarantine.csv`` beside it."""
    p = Path(out)
    name = p.name
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(f"{name}.quarantine.csv")


def load_tickets(path: str | Path, **options: Any) -> v.ValidationResult:
    """Read and validate a canonical ticket file (options as in ``validate_tickets``)."""
    return v.validate_tickets(read_table(path), str(path), **options)


def load_events(path: str | Path, **options: Any) -> v.ValidationResult:
    """Read and validate a status-event file (options as in ``validate_events``)."""
    return v.validate_events(read_table(path), str(path), **options)


def load_staffing(path: str | Path, **options: Any) -> v.ValidationResult:
    """Read and validate interval staffing (options as in ``validate_staffing``)."""
    return v.validate_staffing(read_table(path), str(path), **options)


def load_shifts(path: str | Path, **options: Any) -> v.ValidationResult:
    """Read and validate shift rows (options as in ``validate_shifts``)."""
    return v.validate_shifts(read_table(path), str(path), **options)


__all__ = [
    "load_events",
    "load_shifts",
    "load_staffing",
    "load_tickets",
    "quarantine_path_for",
    "read_table",
    "table_format",
    "write_table",
]
