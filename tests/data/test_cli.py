"""`slarisk data import` / `slarisk data validate` through the real CLI app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.cli import app
from slarisk.data.io import read_table

ROOT = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def _run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_import_with_mapping_writes_tickets_and_quarantine(tmp_path: Path) -> None:
    out = tmp_path / "tickets.parquet"
    code, text = _run(
        "data",
        "import",
        FIX / "zendesk_tickets.csv",
        "--mapping",
        ROOT / "mappings/zendesk.yaml",
        "--out",
        out,
    )
    assert code == 0, text
    assert "tickets: input 15 = accepted 6 + quarantined 9" in text
    assert len(pd.read_parquet(out)) == 6
    q = read_table(tmp_path / "tickets.quarantine.csv")
    assert len(q) == 9 and (q["reason"] != "").all()


def test_import_event_log_with_events_and_quarantine_path(tmp_path: Path) -> None:
    code, text = _run(
        "data",
        "import",
        FIX / "jira_sm_events.csv",
        "--mapping",
        ROOT / "mappings/jira_sm_events.yaml",
        "--out",
        tmp_path / "t.csv",
        "--events",
        tmp_path / "ev.parquet",
        "--quarantine",
        tmp_path / "q" / "bad.csv",
        "--default",
        "tier=gold",
    )
    assert code == 0, text
    assert "events (source rows): input 18 = accepted 14 + quarantined 4" in text
    assert "tickets: input 6 = accepted 5 + quarantined 1" in text
    assert len(read_table(tmp_path / "q" / "bad.csv")) == 5
    assert set(read_table(tmp_path / "t.csv")["tier"]) == {"gold"}
    assert len(pd.read_parquet(tmp_path / "ev.parquet")) == 13


def test_import_servicenow_adapter_and_validate_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "sn.csv.gz"
    code, text = _run(
        "data",
        "import",
        "--adapter",
        "servicenow",
        FIX / "servicenow_small.csv",
        "--out",
        out,
        "--events",
        tmp_path / "ev.csv",
    )
    assert code == 0, text
    assert "tickets: input 4 = accepted 4 + quarantined 0" in text
    assert (tmp_path / "sn.quarantine.csv").is_file()
    code, text = _run("data", "validate", out, "--out", tmp_path / "clean.parquet")
    assert code == 0, text
    assert "input 4 = accepted 4 + quarantined 0" in text
    code, text = _run("data", "validate", tmp_path / "ev.csv", "--kind", "events")
    assert code == 0 and "events: input 12 = accepted 12 + quarantined 0" in text


def test_validate_strict_and_default_quarantine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in" / "t.csv"
    src.parent.mkdir()
    src.write_text("ticket_id,created_at,priority\na,2024-01-01,P1\nb,never,P1\n")
    monkeypatch.chdir(tmp_path)
    code, text = _run("data", "validate", src, "--strict")
    assert code == 1
    assert "input 2 = accepted 1 + quarantined 1" in text
    assert "unparseable created_at" in text
    assert len(read_table(tmp_path / "t.quarantine.csv")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["import", "{tmp}/nope.csv", "--adapter", "servicenow", "--out", "{tmp}/o.csv"],
            "nope.csv: file not found",
        ),
        (
            ["import", "{fix}/zendesk_tickets.csv", "--adapter", "jira", "--out", "{tmp}/o.csv"],
            "unknown adapter 'jira'",
        ),
        (
            ["import", "{fix}/zendesk_tickets.csv", "--out", "{tmp}/o.csv"],
            "give exactly one of --adapter or --mapping",
        ),
        (
            [
                "import",
                "{fix}/zendesk_tickets.csv",
                "--mapping",
                "{tmp}/bad.yaml",
                "--out",
                "{tmp}/o.csv",
            ],
            "bad.yaml: columns.ticket_id: required",
        ),
        (
            ["import", "{tmp}/garbage.parquet", "--adapter", "servicenow", "--out", "{tmp}/o.csv"],
            "garbage.parquet: cannot read parquet file",
        ),
        (
            [
                "import",
                "{fix}/zendesk_tickets.csv",
                "--adapter",
                "servicenow",
                "--out",
                "{tmp}/o.csv",
            ],
            "not a ServiceNow incident event log",
        ),
        (
            [
                "import",
                "{fix}/zendesk_tickets.csv",
                "--mapping",
                "{root}/mappings/zendesk.yaml",
                "--out",
                "{tmp}/o.xlsx",
            ],
            "o.xlsx: unknown table format",
        ),
        (
            [
                "import",
                "{fix}/zendesk_tickets.csv",
                "--mapping",
                "{root}/mappings/zendesk.yaml",
                "--out",
                "{tmp}/o.csv",
                "--default",
                "colour=red",
            ],
            "--default: expected COLUMN=VALUE",
        ),
        (
            [
                "import",
                "{fix}/zendesk_tickets.csv",
                "--mapping",
                "{root}/mappings/zendesk.yaml",
                "--out",
                "{tmp}/o.csv",
                "--source-tz",
                "Nowhere/City",
            ],
            "unknown timezone",
        ),
        (["validate", "{fix}/jira_sm_events.csv"], "lacks required column(s) ticket_id"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.yaml").write_text("name: x\ncolumns: {created_at: a, priority: b}\n")
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 not really")
    fmt = {"tmp": tmp_path, "fix": FIX, "root": ROOT}
    result = runner.invoke(app, ["data", *[a.format(**fmt) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_shifts_to_intervals(tmp_path: Path) -> None:
    src = tmp_path / "shifts.csv"
    src.write_text(
        "agent_id,team,start,end,break_start,break_end\n"
        "a,desk,2024-03-04 09:00,2024-03-04 10:00,2024-03-04 09:30,2024-03-04 09:45\n"
        "b,desk,2024-03-04 09:00,2024-03-04 09:30,,\n"
    )
    out = tmp_path / "staffing.csv"
    code, text = _run(
        "data", "validate", src, "--kind", "shifts", "--to-intervals", "30", "--out", out
    )
    assert code == 0, text
    assert "input 2 = accepted 2 + quarantined 0" in text
    back = read_table(out)
    assert back["agents"].astype(float).tolist() == [2.0, 0.5]
    code, text = _run("data", "validate", src, "--to-intervals", "30")
    assert code == 2 and "--to-intervals: needs --kind shifts" in text
