"""The simulation report tells the truth about ranges: occupancy <= 1 (busy / agents present,
leavers finishing their ticket included), expected credits' intervals >= 0, attainment axis
from 0, and compared scenarios on one time axis (days since each start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import (
    attainment_figure,
    bootstrap_interval,
    simulate,
    staffing_figure,
    summary_table,
    t_interval,
    team_figure,
    timeline_figure,
    write_report,
)
from tests.reports.browser import CHROMIUM, page_problems

ROOT = Path(__file__).resolve().parents[2]


def _tiny(**changes: Any) -> Any:
    data = yaml.safe_load((ROOT / "simulations" / "tiny.yaml").read_text())
    data.update(changes)
    return scenario_from_dict(data, path="tiny.yaml", base_dir=str(ROOT / "simulations"))


@pytest.fixture(scope="module")
def pair() -> tuple[Any, Any]:
    """tiny.yaml and a copy starting five weeks later with 30% more volume."""
    a = simulate(_tiny(), 2, seed=1)
    later = _tiny(start="2026-12-07T06:00:00Z", name="later")
    data = later.model_dump(mode="json", exclude={"base_dir"})
    data["arrivals"]["multiplier"] = 1.3
    b = simulate(scenario_from_dict(data, base_dir=str(ROOT / "simulations")), 2, seed=1)
    return a, b


def test_occupancy_never_exceeds_one(pair: tuple[Any, Any]) -> None:
    for res in pair:
        for frame in (res.kpis, res.team_kpis):
            occ = frame["occupancy"].dropna().to_numpy()
            assert occ.size and (occ <= 1.0).all() and (occ >= 0).all()
            assert (frame["busy"] <= frame["present"] + 1e-9).all()
            assert (frame["present"] >= frame["agents"] - 1e-9).all()
    # the case that used to exceed 100%: agents busy beyond the roster after shift ends
    tk = pair[1].team_kpis
    assert (tk["busy"] > tk["agents"] + 1e-6).any()


def test_credit_intervals_stay_at_or_above_zero(pair: tuple[Any, Any]) -> None:
    skewed = np.array([0.0, 0.0, 0.0, 1200.0])
    assert t_interval(skewed)[1] < 0  # the t-interval leaves the range
    m, lo, hi = bootstrap_interval(skewed)
    assert m == 300.0 and 0.0 <= lo <= m <= hi <= 1200.0
    assert bootstrap_interval(skewed) == (m, lo, hi)  # deterministic
    for res in pair:
        m, lo, hi = res.expected_credit()
        assert 0.0 <= lo <= m <= hi
    text = summary_table(list(pair), ["a", "b"])["expected credit"]
    assert not text.str.contains(r"\[-").any(), text.tolist()


def test_timelines_overlay_on_days_since_start(pair: tuple[Any, Any]) -> None:
    fig = timeline_figure(list(pair), ["a", "b"], "queue", "queue")
    ax = fig.axes[0]
    xs = [np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()]
    assert len(xs) == 2
    for x in xs:
        assert x[0] == 0.0 and 1.5 < x[-1] < 30  # days, not dates five weeks apart
    assert ax.get_xlim()[0] == 0 and ax.get_ylim()[0] == 0
    occ = timeline_figure(list(pair), ["a", "b"], "occupancy", "occupancy").axes[0]
    for line in occ.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.nanmax(y) <= 1.0
    team = team_figure(pair[1], "b").axes[0]
    assert all(np.nanmax(np.asarray(ln.get_ydata(), float)) <= 1.0 for ln in team.get_lines())


def test_attainment_axis_starts_at_zero(pair: tuple[Any, Any]) -> None:
    ax = attainment_figure(list(pair), ["a", "b"]).axes[0]
    assert ax.get_xlim()[0] == 0.0


def test_required_agents_and_cost_per_scenario() -> None:
    """The formulas' required agents per interval sit next to rostered and busy agents; the
    cost of a scenario is its agent-hours present over the horizon x agent_hour_cost."""
    res = simulate(_tiny(agent_hour_cost=20.0), 2, seed=1)
    req = res.required
    assert len(req) == 48 and (req["required"] >= 0).all()
    assert req["required"].max() > 0 and (req["required"] == 0).any()  # night vs day
    k = res.kpis[res.kpis["replication"] == 0]
    horizon = k.head(48)
    hours = float(horizon["present"].sum())  # 60-minute intervals: agents x 1 hour
    s = res.summary
    assert s["agent_hours"].iloc[0] == pytest.approx(hours)
    assert (s["cost"] == s["agent_hours"] * 20.0).all()
    row = summary_table([res], ["a"]).iloc[0]
    assert row["cost"].endswith("GBP") and row["agent-hours"] != "–"
    unpriced = simulate(_tiny(), 1, seed=1)
    assert "cost" not in summary_table([unpriced], ["b"]).columns
    assert summary_table([res, unpriced], ["a", "b"])["cost"].iloc[1] == "–"
    fig = staffing_figure([res], ["a"])
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert labels == ["a: required (Erlang/backlog)", "a: rostered", "a: busy (simulated)"]


@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is absent")
def test_compared_report_loads_in_a_headless_browser(pair: tuple[Any, Any], tmp_path: Path) -> None:
    """The page comparing two scenarios five weeks apart loads in Chromium with every plot
    decoded; the overlay itself is checked on the figures above."""
    page = write_report(list(pair), ["tiny", "later"], tmp_path / "report.html")
    assert page_problems(page) == []
    html = page.read_text()
    assert html.count('<img class="plot"') == 6
