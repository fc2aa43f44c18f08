"""`slarisk schedule plan|roster` on a small hourly instance: files written, exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

from slarisk.cli import app
from tests.schedule.conftest import day_profile, small_catalogue


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    req = tmp_path / "req.csv"
    starts = pd.date_range("2024-01-01", periods=168, freq="h", tz="UTC")
    pd.DataFrame({"interval_start": starts, "queue": "desk", "agents": day_profile(2)}).to_csv(
        req, index=False
    )
    cat = tmp_path / "shifts.yaml"
    cat.write_text(yaml.safe_dump(small_catalogue().model_dump(mode="json")))
    agents = tmp_path / "agents.yaml"
    agents.write_text(
        yaml.safe_dump(
            {"agents": [{"id": f"P{i}", "teams": ["desk"], "max_hours": 40} for i in range(12)]}
        )
    )
    return req, cat, agents


def test_plan_and_roster_commands_write_their_files(tmp_path: Path) -> None:
    req, cat, agents = _files(tmp_path)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "schedule",
            "plan",
            str(req),
            "--catalogue",
            str(cat),
            "--out",
            str(tmp_path / "p"),
            "--plan-time",
            "5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "LP bound" in res.output
    shifts = pd.read_csv(tmp_path / "p" / "plan_shifts.csv")
    assert shifts["count"].sum() > 0
    res = runner.invoke(
        app,
        [
            "schedule",
            "roster",
            str(req),
            "--catalogue",
            str(cat),
            "--agents",
            str(agents),
            "--out",
            str(tmp_path / "r"),
            "--plan-time",
            "5",
            "--roster-time",
            "3",
            "--seed",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    a = pd.read_csv(tmp_path / "r" / "assignments.csv")
    assert set(a["agent_id"]) <= {f"P{i}" for i in range(12)}
    assert (tmp_path / "r" / "schedule.html").read_text().startswith("<!doctype html>")
    assert pd.read_csv(tmp_path / "r" / "violations.csv").empty


def test_bad_catalogue_is_one_line_and_exit_2(tmp_path: Path) -> None:
    req, cat, _ = _files(tmp_path)
    cat.write_text("interval_minutes: 7\nshift_types: []\n")
    res = CliRunner().invoke(
        app, ["schedule", "plan", str(req), "--catalogue", str(cat), "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "shifts.yaml" in res.output
