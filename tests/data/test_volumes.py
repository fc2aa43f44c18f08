"""Per-interval volumes from tickets, and the `data volumes` -> `capacity requirements` path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from slarisk.cli import app
from slarisk.data.volumes import interval_volumes


def _tickets(minutes: list[int], channels: list[str]) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-05 08:00", tz="UTC")  # a Monday
    return pd.DataFrame(
        {
            "created_at": [t0 + pd.Timedelta(minutes=m) for m in minutes],
            "channel": channels,
            "handle_seconds": [60.0 * (i + 1) for i in range(len(minutes))],
        }
    )


def test_counts_gaps_and_aht() -> None:
    t = _tickets([0, 10, 95, 5], ["chat", "chat", "chat", "email"])
    v = interval_volumes(t, interval_minutes=30)
    chat = v[v["queue"] == "chat"].reset_index(drop=True)
    assert chat["volume"].tolist() == [2, 0, 0, 1]  # 08:00, 08:30 (empty), 09:00, 09:30
    assert chat.loc[0, "aht"] == 90.0  # mean of 60 and 120 s
    assert chat.loc[1, "aht"] == 135.0  # empty interval: the queue's mean of (90, 180)
    assert v["volume"].sum() == len(t)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 60 * 24 * 21), min_size=1, max_size=60),
    st.sampled_from([15, 30, 60]),
)
def test_volume_is_conserved(minutes: list[int], step: int) -> None:
    t = _tickets(minutes, ["a" if m % 2 else "b" for m in minutes])
    v = interval_volumes(t, interval_minutes=step)
    assert v["volume"].sum() == len(minutes)
    assert (v["volume"] >= 0).all()


def test_typical_week_averages_over_weeks() -> None:
    day = 24 * 60
    minutes = [0, 30, day, 7 * day, 7 * day + 30, 14 * day - 30]  # two weeks of history
    week = interval_volumes(
        _tickets(minutes, ["chat"] * 6), interval_minutes=30, weeks_average=True
    )
    assert week["volume"].sum() == 3.0
    assert len(week) == 7 * 48
    first = week.set_index("interval_start")["volume"]
    assert first.iloc[16] == 1.0  # Monday 08:00 (interval 16) seen in both weeks


def test_cli_volumes_feed_requirements(tmp_path: Path) -> None:
    t = _tickets(list(range(0, 600, 3)), ["chat"] * 200)
    src = tmp_path / "t.csv"
    t.assign(ticket_id=[f"T{i}" for i in range(200)], priority="P3", status="open").to_csv(
        src, index=False
    )
    runner = CliRunner()
    vol = tmp_path / "v.csv"
    r = runner.invoke(app, ["data", "volumes", str(src), "--out", str(vol)])
    assert r.exit_code == 0, r.output
    assert pd.read_csv(vol)["volume"].sum() == 200
    req = tmp_path / "r.csv"
    args = ["capacity", "requirements", str(vol), "--queue", "chat", "--out", str(req)]
    r = runner.invoke(app, [*args, "--target-sl", "0.8", "--within", "20"])
    assert r.exit_code == 0, r.output
    assert (pd.read_csv(req)["agents"] >= 1).all()
    r = runner.invoke(app, ["capacity", "requirements", str(vol), "--queue", "nope", "--out", "x"])
    assert r.exit_code == 2 and "unknown queue" in r.output
