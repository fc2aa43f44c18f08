"""Inputs beyond their plausible range: one line naming the field and the limit, exit code 2,
before any work starts (these used to hang or run out of memory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from slarisk.capacity.erlang import requirements_frame
from slarisk.capacity.limits import REQUIREMENT_LIMITS, check_range
from slarisk.capacity.scenario import (
    MAX_TEAM_AGENTS,
    MAX_TICKETS_PER_REPLICATION,
    load_scenario,
    scenario_from_dict,
)
from slarisk.errors import InputError
from tests.capacity.test_scenario import SHIPPED

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "simulations" / "tiny.yaml"


def _tiny() -> dict[str, Any]:
    data = yaml.safe_load(TINY.read_text())
    data["policy"] = str((TINY.parent / data["policy"]).resolve())
    return data


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m slarisk ARGS`; the timeout is a generous guard against a hang."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "slarisk", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in (r.stderr + r.stdout).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in lines[0]


def _agents(d: dict[str, Any]) -> None:
    d["staffing"]["shifts"][0]["agents"] = 1_000_000_000


def _volume(d: dict[str, Any]) -> None:
    d["arrivals"]["tickets_per_week"] = 1e15


def _horizon(d: dict[str, Any]) -> None:
    d["horizon_hours"] = 1e9


@pytest.mark.parametrize(
    ("edit", "field", "limit"),
    [
        (_agents, "staffing.shifts[0].agents", "10000"),
        (_volume, "arrivals.tickets_per_week", "1000000"),
        (_horizon, "horizon_hours", "87660"),
    ],
    ids=["agents", "tickets_per_week", "horizon_hours"],
)
def test_simulate_refuses_a_scenario_beyond_the_limits(
    tmp_path: Path, edit: Any, field: str, limit: str
) -> None:
    data = _tiny()
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    r = _cli(["simulate", str(path), "--replications", "1", "--out", str(tmp_path / "o")], tmp_path)
    _one_line_exit_2(r, str(path), field, limit)
    assert not (tmp_path / "o").exists()


def _volumes(path: Path, aht: float | None) -> Path:
    rows = {"interval_start": ["2026-01-05T09:00Z", "2026-01-05T09:30Z"], "volume": [40, 50]}
    if aht is not None:
        rows["aht"] = [300, aht]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_requirements_refuses_an_aht_option_beyond_the_limit(tmp_path: Path) -> None:
    vol = _volumes(tmp_path / "v.csv", None)
    out = tmp_path / "r.csv"
    r = _cli(["capacity", "requirements", str(vol), "--aht", "1e300", "--out", str(out)], tmp_path)
    _one_line_exit_2(r, "--aht", "1e+300", "(0, 86400] seconds")
    assert not out.exists()


def test_requirements_refuses_an_aht_column_beyond_the_limit(tmp_path: Path) -> None:
    vol = _volumes(tmp_path / "v.csv", 1e300)
    out = tmp_path / "r.csv"
    r = _cli(["capacity", "requirements", str(vol), "--out", str(out)], tmp_path)
    _one_line_exit_2(r, str(vol), "row 2", "aht", "(0, 86400] seconds")
    assert not out.exists()


def test_requirements_refuses_aht_option_and_column_together(tmp_path: Path) -> None:
    vol = _volumes(tmp_path / "v.csv", 240)
    out = tmp_path / "r.csv"
    r = _cli(["capacity", "requirements", str(vol), "--aht", "180", "--out", str(out)], tmp_path)
    _one_line_exit_2(r, "--aht", "aht column", "not both")
    assert not out.exists()


def test_the_limits_leave_the_shipped_scenarios_valid() -> None:
    for path in SHIPPED:
        sc = load_scenario(path)
        assert 0 <= sc.expected_arrivals() < MAX_TICKETS_PER_REPLICATION


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda d: d["staffing"].update(shifts=None, constant={"desk": MAX_TEAM_AGENTS + 1}),
         "staffing.constant.desk", "less than or equal to 10000"),
        (lambda d: d["classes"][0]["handle"].update(mean=1e300),
         "classes[0:p1_gold_phone].handle", "limit of 525600 minutes"),
        (lambda d: d["arrivals"].update(tickets_per_week=float("inf")),
         "arrivals.tickets_per_week", "finite"),
        (lambda d: d["arrivals"].update(multiplier=1e6), "arrivals.multiplier", "100"),
        (lambda d: d.update(drain_limit_hours=1e9), "drain_limit_hours", "87660"),
        (lambda d: d["classes"][1].update(touches={"dist": "geometric", "mean": 1e9}),
         "classes[1:p3_silver_email].touches.mean", "100"),
        # within every field's range, but 250 weeks of 900,000 tickets: too many in total
        (lambda d: (d.pop("horizon_hours"), d.update(horizon_days=366),
                    d["arrivals"].update(tickets_per_week=900_000)),
         "arrivals", "limit of 2,000,000"),
    ],
)  # fmt: skip
def test_scenario_limits_name_the_field_and_the_limit(edit: Any, field: str, words: str) -> None:
    data = _tiny()
    edit(data)
    with pytest.raises(InputError) as err:
        scenario_from_dict(data, path="x.yaml")
    assert err.value.field == field, str(err.value)
    assert words in str(err.value)
    assert str(err.value).startswith("x.yaml: ")


def test_a_volume_just_inside_the_limits_is_accepted() -> None:
    data = _tiny()
    data["staffing"]["shifts"][0]["agents"] = MAX_TEAM_AGENTS
    assert scenario_from_dict(data).staffing.shifts is not None


def test_requirement_ranges() -> None:
    check_range("aht", [1.0, 86_400.0])
    for name, bad in (("aht", 0.0), ("aht", 86_401.0), ("shrinkage", 1.0), ("volume", np.nan)):
        with pytest.raises(ValueError, match=rf"^{name}: .* plausible range"):
            check_range(name, bad)
    assert REQUIREMENT_LIMITS["target_sl"].text() == "(0, 1)"


def test_requirements_frame_refuses_an_absurd_load_before_searching() -> None:
    df = pd.DataFrame(
        {
            "interval_start": pd.to_datetime(["2026-01-05T09:00Z"]),
            "queue": ["q"],
            "volume": [1_000_000.0],
            "aht": [86_400.0],
        }
    )
    with pytest.raises(ValueError, match=r"^load \(volume x aht / interval\): .* Erlangs"):
        requirements_frame(df, interval_seconds=1800.0, target_sl=0.8)
