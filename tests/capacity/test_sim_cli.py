"""`slarisk simulate`: progress, terminal table, report.html with plots, records on disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from slarisk.cli import app

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "simulations" / "tiny.yaml")


def test_simulate_with_compare_writes_report_and_records(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            TINY,
            "--replications",
            "2",
            "--seed",
            "3",
            "--compare",
            TINY,
            "--format",
            "csv",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SLA attainment" in result.output
    assert "p1_gold_phone" in result.output
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6
    assert "tiny_2" in page
    for label in ("tiny", "tiny_2"):
        tickets = pd.read_csv(out / label / "tickets.csv")
        assert {
            "ticket_id",
            "created_at",
            "first_response_at",
            "resolved_at",
            "priority",
            "tier",
            "channel",
            "customer",
            "status",
            "class",
        } <= set(tickets.columns)
        assert set(tickets["replication"]) == {0, 1}
        assert (out / label / "kpis.csv").exists()
        assert (out / label / "team_kpis.csv").exists()
        assert (out / label / "required.csv").exists()
        att = pd.read_csv(out / label / "attainment.csv")
        assert {"class", "metric", "attainment", "lo", "hi", "breaches_mean"} <= set(att.columns)
    # same seed, same scenario: common random numbers give identical records
    a = pd.read_csv(out / "tiny" / "tickets.csv")
    b = pd.read_csv(out / "tiny_2" / "tickets.csv")
    pd.testing.assert_frame_equal(a, b)


def test_simulate_parquet_records(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", TINY, "--replications", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    t = pd.read_parquet(tmp_path / "tiny" / "tickets.parquet")
    assert str(t["created_at"].dtype).startswith("datetime64")
    ev = pd.read_parquet(tmp_path / "tiny" / "events.parquet")
    assert set(ev["status"]) <= {"pending", "open"}


def test_unknown_format_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", TINY, "--format", "xlsx", "--out", str(tmp_path)])
    assert result.exit_code == 2
