"""File I/O: formats by extension, round trips, one clear error per bad file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from slarisk.data.io import (
    load_tickets,
    quarantine_path_for,
    read_table,
    table_format,
    write_table,
)
from slarisk.data.validate import validate_tickets
from slarisk.errors import InputError


@pytest.fixture
def tickets() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "ticket_id": ["a", "b"],
            "created_at": ["2024-01-01 10:00:00+01:00", "2024-01-02 10:00"],
            "resolved_at": ["2024-01-01 12:00:00+01:00", ""],
            "priority": ["P1", "P2"],
        }
    )
    return validate_tickets(df, "mem").accepted


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.tsv"])
def test_round_trip_keeps_the_contract(tmp_path: Path, tickets: pd.DataFrame, name: str) -> None:
    path = write_table(tickets, tmp_path / "sub" / name)
    back = load_tickets(path)
    assert back.n_quarantined == 0
    pd.testing.assert_frame_equal(back.accepted, tickets)
    if name.endswith(".gz"):
        assert gzip.open(path).read(10)  # really compressed


def test_csv_is_read_as_text(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("id,n,when\n007,NA,\n")
    df = read_table(p)
    assert df.iloc[0].tolist() == ["007", "NA", ""]


def test_formats_and_quarantine_names() -> None:
    assert table_format("A.CSV.GZ") == "csv" and table_format("x.pq") == "parquet"
    assert quarantine_path_for("out/tickets.parquet") == Path("out/tickets.quarantine.csv")
    assert quarantine_path_for("t.csv.gz") == Path("t.quarantine.csv")
    with pytest.raises(InputError, match=r"x\.xlsx: unknown table format"):
        table_format("x.xlsx")


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")
    bad_gz = tmp_path / "bad.csv.gz"
    bad_gz.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"bad\.csv\.gz: cannot read csv file"):
        read_table(bad_gz)
    bad_pq = tmp_path / "bad.parquet"
    bad_pq.write_text("nope")
    with pytest.raises(InputError, match=r"bad\.parquet: cannot read parquet file"):
        read_table(bad_pq)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: file is empty"):
        read_table(empty)
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match=r"dir\.csv: not a file"):
        read_table(tmp_path / "dir.csv")


def test_duplicated_header_is_an_error_naming_the_column(tmp_path: Path) -> None:
    p = tmp_path / "dup.csv"
    p.write_text("id,Status,created,Status\n1,a,2024-01-01,b\n")
    with pytest.raises(InputError) as info:
        read_table(p)
    assert info.value.field == "Status"
    assert "column 'Status' appears twice in the header (columns 2 and 4)" in str(info.value)
