"""Round trip: a scenario fitted from a generated history, simulated over the same period,
reproduces that history per class (attainment of each metric, abandonment, mean wait)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from slarisk.capacity.fit_scenario import fit_tickets
from slarisk.capacity.round_trip import compare_measures, simulated_measures, ticket_measures
from slarisk.capacity.scenario import load_scenario, scenario_from_dict
from slarisk.capacity.sim import simulate
from slarisk.capacity.staffing_estimate import weekly_mean
from slarisk.capacity.synthetic import Imperfections, generate_history
from slarisk.cli import app
from slarisk.sla.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "default.yaml"
#: a stationary desk: the fitted model family (weekly profile, weekly roster) holds the truth
STEADY = {
    "absence_rate": 0.0,
    "understaffed_days": 0,
    "spike_days": 0.0,
    "daily_volume_sd": 0.0,
    "closure_volume": None,
    "recovery_days": None,
}


@pytest.mark.parametrize(
    ("scenario", "volume"),
    [("baseline.yaml", 1.0), ("tiny.yaml", 0.6)],
    ids=["baseline-3-teams", "tiny-1-team"],
)
def test_a_fitted_desk_reproduces_its_history(scenario: str, volume: float) -> None:
    sc = load_scenario(ROOT / "simulations" / scenario)
    hist = generate_history(
        sc, weeks=4, seed=3, imperfections=Imperfections(**STEADY, volume_multiplier=volume)
    )
    policy = load_policy(POLICY)
    fit = fit_tickets(hist.tickets, hist.events, hist.staffing, tz=sc.timezone)
    start = pd.Timestamp(sc.start)
    spec = fit.scenario_dict(
        start=start,
        horizon_days=(hist.now - start).total_seconds() / 86400.0,
        dispatch=sc.dispatch,
        policy=str(POLICY),
    )
    spec["drain"] = False  # like the history: what is open at the end stays open
    res = simulate(scenario_from_dict(spec), 3, 0, policy=policy)
    table = compare_measures(
        ticket_measures(hist.tickets, hist.events, policy, hist.now),
        simulated_measures(res, policy, hist.now),
    )
    classes = {c.name for c in sc.classes}
    assert len(table) == 4 * (len(classes) + 1)  # every class and ALL, four measures
    bad = table[~table["agrees"]]
    assert bad.empty, bad.to_string()


def test_a_backtest_of_a_desk_with_absences_and_spikes_reproduces_its_attainment(
    tmp_path: Path,
) -> None:
    """A history with every imperfection (absences, understaffed days, a volume spike, daily
    noise, closures, overtime): a weekly-mean fit cannot carry those days, the backtest (its
    own dates, daily volumes, the staffing worked) does: attainment and abandonment per class
    within the 95% interval or 2 pp."""
    sc = load_scenario(ROOT / "simulations" / "baseline.yaml")
    hist = generate_history(sc, weeks=4, seed=7)
    policy = load_policy(POLICY)
    roster = tmp_path / "staffing.parquet"
    hist.staffing.to_parquet(roster)
    fit = fit_tickets(hist.tickets, hist.events, hist.staffing, tz=sc.timezone)
    spec = fit.backtest_dict(str(roster), dispatch="priority", policy=str(POLICY))
    assert spec["start"] == pd.Timestamp(sc.start).isoformat() and spec["horizon_days"] == 28
    res = simulate(scenario_from_dict(spec), 3, 0, policy=policy)
    table = compare_measures(
        ticket_measures(hist.tickets, hist.events, policy, hist.now),
        simulated_measures(res, policy, hist.now),
    )
    rates = table[table["measure"] != "mean_wait_seconds"]
    assert len(rates) == 3 * (len(sc.classes) + 1)
    bad = rates[~rates["agrees"]]
    assert bad.empty, bad.to_string()


def test_weekly_mean_adds_teams_up() -> None:
    """Two teams with 3 and 5 agents every hour: 8 agents on duty (it used to divide by the
    row count, giving 4: the fitted desk got a fraction of its staff)."""
    starts = pd.date_range("2026-11-02", periods=2 * 168, freq="h", tz="UTC")
    rows = [
        {"interval_start": t, "interval_minutes": 60, "team": team, "agents": n}
        for t in starts
        for team, n in (("a", 3.0), ("b", 5.0))
    ]
    # a third team present on the first week only: 0 agents of it in the second week
    rows += [
        {"interval_start": t, "interval_minutes": 30, "team": "c", "agents": 2.0}
        for t in pd.date_range("2026-11-02", periods=2 * 168, freq="30min", tz="UTC")
    ]
    w = weekly_mean(pd.DataFrame(rows), "UTC", 60)
    assert len(w) == 168
    assert w == pytest.approx([8.0 + 2.0 / 2] * 168)


def test_fit_writes_paths_relative_to_the_output_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = load_scenario(ROOT / "simulations" / "tiny.yaml")
    hist = generate_history(sc, weeks=1, seed=1, imperfections=Imperfections(**STEADY))
    hist.tickets.to_parquet(tmp_path / "tickets.parquet")
    hist.events.to_parquet(tmp_path / "events.parquet")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(POLICY.read_text())
    out = tmp_path / "deep" / "er" / "fitted.yaml"
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(
            app,
            [
                "capacity", "fit", "--tickets", "tickets.parquet", "--events", "events.parquet",
                "--policy", "policies/p.yaml", "--dispatch", "priority",
                "--out", "deep/er/fitted.yaml",
            ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    missing = runner.invoke(
        app,
        ["capacity", "fit", "--tickets", "tickets.parquet", "--policy", "nope.yaml",
         "--out", "x.yaml"],
    )  # fmt: skip
    data = yaml.safe_load(out.read_text())
    assert data["policy"] == "../../policies/p.yaml"
    assert data["dispatch"] == "priority"
    assert load_scenario(out).resolve(data["policy"]).is_file()  # type: ignore[union-attr]
    assert missing.exit_code == 2 and "nope.yaml" in missing.output
    hist.staffing.to_parquet(tmp_path / "staffing.parquet")
    r = runner.invoke(
        app,
        [
            "capacity", "fit", "--tickets", "tickets.parquet", "--events", "events.parquet",
            "--staffing", "staffing.parquet", "--policy", "policies/p.yaml", "--backtest",
            "--out", "deep/bt.yaml",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    bt = yaml.safe_load((tmp_path / "deep" / "bt.yaml").read_text())
    assert bt["staffing"]["roster_file"] == "../staffing.parquet"
    assert bt["policy"] == "../policies/p.yaml" and bt["drain"] is False
    assert load_scenario(tmp_path / "deep" / "bt.yaml").arrivals.spikes


def test_fit_keeps_the_teams_their_skills_and_staff() -> None:
    sc = load_scenario(ROOT / "simulations" / "baseline.yaml")
    hist = generate_history(sc, weeks=1, seed=2, imperfections=Imperfections(**STEADY))
    fit = fit_tickets(hist.tickets, hist.events, hist.staffing, tz=sc.timezone)
    assert fit.teams is not None
    assert list(fit.teams) == ["voice", "email", "tier2"]  # the generalist last
    serves = {t: set(v[0]) for t, v in fit.teams.items()}
    assert serves["voice"] == {"P1-gold-phone", "P1-silver-phone", "P2-gold-chat", "P2-bronze-chat"}
    assert serves["tier2"] == {"*"}
    assert all(c.endswith(("email", "portal")) for c in serves["email"])
    # the teams' weekly means add up to the pooled weekly mean
    total = np.sum([v[1] for v in fit.teams.values()], axis=0)
    assert total == pytest.approx(fit.weekly_agents)
    spec = fit.scenario_dict()
    assert [t["name"] for t in spec["staffing"]["teams"]] == ["voice", "email", "tier2"]


def test_touches_of_open_tickets_count_as_censored() -> None:
    """Geometric touches (mean 2), a ticket's touches spread over time: an export cuts the
    tickets with many touches more often. Counting finished tickets only under-counts; the
    open tickets' touches so far (each needs one more) put the mean back."""
    from slarisk.capacity.fit_scenario import touch_distribution

    rng = np.random.default_rng(0)
    n = 20_000
    true = rng.geometric(0.5, n)  # mean 2
    # each touch takes a day; tickets arrive over 30 days, the export is taken on day 30
    age = rng.uniform(0, 30, n)
    done_so_far = np.minimum(true, np.floor(age).astype(int))
    finished = done_so_far == true
    naive = true[finished].mean()
    est = touch_distribution(pd.Series(true[finished]), pd.Series(done_so_far[~finished]))
    mean = sum(k * p for k, p in est.items())
    assert naive < 1.95  # the bias this fixes
    assert mean == pytest.approx(2.0, abs=0.03)
    assert sum(est.values()) == pytest.approx(1.0)
    assert touch_distribution(pd.Series([1, 1, 2]), pd.Series([], dtype=float)) == {
        1: pytest.approx(2 / 3),
        2: pytest.approx(1 / 3),
    }


def test_fit_check_by_class_prints_the_round_trip(tmp_path: Path) -> None:
    """`capacity fit --backtest --check N --check-by class`: the per-class comparison of the
    history with the simulated backtest, printed and written to OUT.check.csv."""
    sc = load_scenario(ROOT / "simulations" / "tiny.yaml")
    hist = generate_history(sc, weeks=1, seed=1, imperfections=Imperfections(**STEADY))
    for name in ("tickets", "events", "staffing"):
        getattr(hist, name).to_parquet(tmp_path / f"{name}.parquet")
    args = [
        "capacity", "fit", "--tickets", str(tmp_path / "tickets.parquet"),
        "--events", str(tmp_path / "events.parquet"),
        "--staffing", str(tmp_path / "staffing.parquet"), "--tz", sc.timezone,
        "--policy", str(POLICY), "--backtest", "--check", "2",
    ]  # fmt: skip
    runner = CliRunner()
    r = runner.invoke(app, [*args, "--check-by", "class", "--out", str(tmp_path / "bt.yaml")])
    assert r.exit_code == 0, r.output
    assert "per class" in r.output and "FR %" in r.output and "aband %" in r.output
    table = pd.read_csv(tmp_path / "bt.check.csv")
    n_classes = len(load_scenario(tmp_path / "bt.yaml").classes)
    assert len(table) == 4 * (n_classes + 1)
    assert {"history", "history_n", "simulated", "lo", "hi", "rep_min", "rep_max"} <= set(table)
    first = table[(table["class"] == "ALL") & (table["measure"] == "first_response")].iloc[0]
    assert first["history_n"] > 0 and first["rep_min"] <= first["simulated"] <= first["rep_max"]
    bad = runner.invoke(app, [*args, "--check-by", "team", "--out", str(tmp_path / "x.yaml")])
    assert bad.exit_code == 2 and "--check-by" in bad.output
