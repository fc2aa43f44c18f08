"""Simulator features: replay, rosters and shifts (non-preemptive), backlog, touches and
pauses, dispatch rules, common random numbers, workers, KPIs, credits; hypothesis properties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import (
    compile_scenario,
    draw_tickets,
    replication_seeds,
    simulate,
    time_shared,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "policies" / "default.yaml")
START = "2026-11-02T08:00:00Z"  # a Monday, 08:00 London (UTC in November)


def fixed(minutes: float) -> dict[str, Any]:
    return {"dist": "fixed", "value": minutes, "unit": "minutes"}


def spec(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "start": START,
        "horizon_hours": 8,
        "drain": True,
        "classes": [{"name": "a", "priority": "P1", "share": 1, "handle": fixed(10)}],
        "arrivals": {"hourly_rates": [6.0] * 168},
        "staffing": {"constant": {"agents": 1}},
    }
    base.update(over)
    return base


def replay_file(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> str:
    """Canonical tickets (ticket_id, minutes after START, priority, tier) for replay."""
    t0 = pd.Timestamp(START)
    df = pd.DataFrame(
        {
            "ticket_id": [r[0] for r in rows],
            "created_at": [(t0 + pd.Timedelta(minutes=float(r[1]))).isoformat() for r in rows],
            "priority": [r[2] for r in rows],
            "tier": [r[3] for r in rows],
            "channel": "unknown",
        }
    )
    path = tmp_path / "replay.csv"
    df.to_csv(path, index=False)
    return str(path)


def minutes_after_start(ts: pd.Series) -> np.ndarray:
    return ((ts - pd.Timestamp(START)).dt.total_seconds() / 60).to_numpy()


def test_replay_fifo_exact_times(tmp_path: Path) -> None:
    path = replay_file(
        tmp_path,
        [("x1", "0", "P1", "unknown"), ("x2", "5", "P1", "unknown"), ("x3", "30", "P1", "unknown")],
    )
    sc = scenario_from_dict(spec(arrivals={"replay": path}))
    res = simulate(sc, 1, seed=1)
    t = res.tickets.set_index("ticket_id")
    np.testing.assert_allclose(minutes_after_start(t["first_response_at"]), [0, 10, 30])
    np.testing.assert_allclose(minutes_after_start(t["resolved_at"]), [10, 20, 40])
    np.testing.assert_allclose(t["wait_seconds"], [0, 300, 0])
    assert (t["group"] == "agents").all()  # the team of the last touch


def test_shift_end_is_non_preemptive(tmp_path: Path) -> None:
    """The agent finishes the ticket in hand after its shift ends; nothing starts until the
    next shift."""
    path = replay_file(tmp_path, [("a", "50", "P1", "unknown"), ("b", "55", "P1", "unknown")])
    sc = scenario_from_dict(
        spec(
            horizon_hours=30,
            arrivals={"replay": path},
            classes=[{"name": "a", "priority": "P1", "share": 1, "handle": fixed(30)}],
            staffing={
                "teams": [{"name": "agents"}],
                "shifts": [{"team": "agents", "agents": 1, "start": "08:00", "end": "09:00"}],
            },
        )
    )
    res = simulate(sc, 1, seed=1)
    t = res.tickets.set_index("ticket_id")
    assert minutes_after_start(t["first_response_at"])[0] == pytest.approx(50)
    assert minutes_after_start(t["resolved_at"])[0] == pytest.approx(80)  # after 09:00
    # b waits for the next day's 08:00 shift (24 h after the start)
    assert minutes_after_start(t["first_response_at"])[1] == pytest.approx(24 * 60)


def test_breaks_and_weekly_roster_change_agents_on_duty() -> None:
    sc = scenario_from_dict(
        spec(
            horizon_hours=24,
            staffing={
                "teams": [{"name": "agents"}],
                "shifts": [
                    {
                        "team": "agents",
                        "agents": 3,
                        "start": "09:00",
                        "end": "17:00",
                        "break_start": "12:00",
                        "break_end": "13:00",
                    }
                ],
            },
        )
    )
    model = compile_scenario(sc)
    levels = [(t / 3600, a) for t, _, a in model.staff_changes][:5]
    assert levels == [(0.0, 0), (1.0, 3), (4.0, 0), (5.0, 3), (9.0, 0)]
    weekly = [0.0] * 168
    weekly[8] = 2  # Monday 08:00-09:00
    sc2 = scenario_from_dict(
        spec(staffing={"weekly": [{"team": "agents", "interval_minutes": 60, "agents": weekly}]})
    )
    levels2 = [(t / 3600, a) for t, _, a in compile_scenario(sc2).staff_changes][:3]
    assert levels2 == [(0.0, 2), (1.0, 0), (168.0, 2)]


def test_fractional_weekly_agents_are_time_shared_not_rounded_away() -> None:
    """0.33 agents for an hour (a fitted night) = one agent for 20 minutes of it; 2.5 agents =
    3 for 30 minutes then 2 (rounding would give 0 and 2)."""
    weekly = [0.0] * 168
    weekly[8], weekly[9] = 0.33, 2.5  # Monday 08:00-09:00, 09:00-10:00
    sc = scenario_from_dict(
        spec(staffing={"weekly": [{"team": "agents", "interval_minutes": 60, "agents": weekly}]})
    )
    levels = [(round(t / 60), a) for t, _, a in compile_scenario(sc).staff_changes][:5]
    assert levels == [(0, 1), (20, 0), (60, 3), (90, 2), (120, 0)]


@given(
    minutes=st.lists(st.sampled_from([15, 30, 60]), min_size=1, max_size=8),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_time_shared_keeps_agent_minutes_and_covers_each_interval(
    minutes: list[int], data: st.DataObject
) -> None:
    agents = np.asarray(
        data.draw(st.lists(st.floats(0, 20), min_size=len(minutes), max_size=len(minutes)))
    )
    mins = np.asarray(minutes, dtype=float)
    t0 = np.concatenate([[0.0], np.cumsum(mins)[:-1] * 60.0])
    s, e, level, row = time_shared(t0, mins, agents)
    assert (e > s).all() and (level >= 0).all()
    for i, m in enumerate(mins):
        mine = row == i
        assert s[mine].min() == t0[i] and e[mine].max() == t0[i] + m * 60.0  # covered
        np.testing.assert_array_equal(s[mine][1:], e[mine][:-1])  # contiguous, no overlap
        agent_minutes = float((level[mine] * (e[mine] - s[mine])).sum()) / 60.0
        assert abs(agent_minutes - agents[i] * m) <= 0.5 + 1e-9  # to the minute
        assert set(level[mine]) <= {int(np.floor(agents[i])), int(np.floor(agents[i])) + 1}


def test_roster_file_and_kpis(tmp_path: Path) -> None:
    t0 = pd.Timestamp(START)
    roster = pd.DataFrame(
        {
            "interval_start": [(t0 + pd.Timedelta(hours=h)).isoformat() for h in range(8)],
            "interval_minutes": 60,
            "team": "agents",
            "agents": [1, 1, 2, 2, 2, 1, 1, 1],
        }
    )
    roster.to_csv(tmp_path / "roster.csv", index=False)
    sc = scenario_from_dict(spec(staffing={"roster_file": "roster.csv"}), base_dir=str(tmp_path))
    res = simulate(sc, 2, seed=4)
    k = res.kpis[res.kpis["replication"] == 0]
    assert k["arrivals"].sum() == (res.tickets["replication"] == 0).sum()
    np.testing.assert_allclose(k["agents"].to_numpy()[:8], [1, 1, 2, 2, 2, 1, 1, 1])
    assert (k["busy"] <= k["agents"] + 1 + 1e-9).all()  # an agent may finish after leaving
    assert ((k["occupancy"].dropna() >= 0) & (k["occupancy"].dropna() <= 2)).all()
    sl = res.kpis["service_level"].dropna()
    assert ((sl >= 0) & (sl <= 1)).all()
    tk = res.team_kpis.groupby(["replication", "interval_start"])[["agents", "busy"]].sum()
    np.testing.assert_allclose(tk["agents"].to_numpy(), res.kpis["agents"].to_numpy())
    np.testing.assert_allclose(tk["busy"].to_numpy(), res.kpis["busy"].to_numpy())


def test_backlog_is_served_first_in_created_order(tmp_path: Path) -> None:
    t0 = pd.Timestamp(START)
    backlog = pd.DataFrame(
        {
            "ticket_id": ["old2", "old1", "done"],
            "created_at": [(t0 - pd.Timedelta(hours=h)).isoformat() for h in (1, 2, 3)],
            "resolved_at": ["", "", (t0 - pd.Timedelta(hours=1)).isoformat()],
            "priority": "P1",
            "tier": "unknown",
        }
    )
    backlog.to_csv(tmp_path / "backlog.csv", index=False)
    sc = scenario_from_dict(spec(backlog="backlog.csv"), base_dir=str(tmp_path))
    res = simulate(sc, 1, seed=2)
    t = res.tickets.set_index("ticket_id")
    assert "done" not in t.index
    assert minutes_after_start(t.loc[["old1", "old2"], "first_response_at"]).tolist() == [0, 10]
    assert not t.loc[["old1", "old2"], "in_window"].any()
    assert t.loc["old1", "created_at"] < pd.Timestamp(START)


def test_async_touches_emit_pause_events_that_pause_sla_clocks() -> None:
    sc = scenario_from_dict(
        spec(
            policy=POLICY,
            horizon_hours=24,
            classes=[
                {
                    "name": "mail",
                    "priority": "P3",
                    "tier": "silver",
                    "channel": "email",
                    "share": 1,
                    "mode": "async",
                    "handle": fixed(5),
                    "touches": {"dist": "fixed", "value": 3},
                    "customer_wait": {"dist": "fixed", "value": 2, "unit": "hours"},
                }
            ],
            staffing={"constant": {"agents": 3}},
        )
    )
    res = simulate(sc, 1, seed=5)
    done = res.tickets[res.tickets["status"] == "resolved"]
    assert len(done) > 20
    assert (done["touches"] == 3).all()
    ev = res.events[res.events["ticket_id"].isin(done["ticket_id"])]
    assert len(ev) == 4 * len(done)  # two waits: pending + open each
    assert set(ev["status"]) == {"pending", "open"}
    np.testing.assert_allclose(done["handle_seconds"], 900.0)
    from slarisk.sla.clock import compute_clocks
    from slarisk.sla.policy import load_policy

    clocks = compute_clocks(
        done.drop(columns=["class"]),
        load_policy(POLICY),
        events=ev,
        now=pd.Timestamp(START) + pd.Timedelta(days=3),
    )
    res_clock = clocks[clocks["metric"] == "resolution"]
    assert (res_clock["paused_seconds"] > 0).any()


def test_priority_and_edf_dispatch(tmp_path: Path) -> None:
    """One agent busy until 10 min; P4 arrives at 1 min, P2 at 2 min. Priority and EDF both
    serve P2 first (shorter target); FIFO serves P4 first."""
    path = replay_file(
        tmp_path,
        [
            ("busy", "0", "P3", "silver"),
            ("low", "1", "P4", "silver"),
            ("high", "2", "P2", "silver"),
        ],
    )
    classes = [
        {"name": n, "priority": p, "tier": "silver", "share": 1, "handle": fixed(10)}
        for n, p in (("p2", "P2"), ("p3", "P3"), ("p4", "P4"))
    ]
    order = {}
    for rule in ("fifo", "priority", "edf"):
        sc = scenario_from_dict(
            spec(arrivals={"replay": path}, classes=classes, dispatch=rule, policy=POLICY)
        )
        t = simulate(sc, 1, seed=1).tickets.set_index("ticket_id")
        order[rule] = t["first_response_at"].sort_values().index.tolist()
    assert order["fifo"] == ["busy", "low", "high"]
    assert order["priority"] == ["busy", "high", "low"]
    assert order["edf"] == ["busy", "high", "low"]


def test_common_random_numbers_across_staffing_and_added_classes() -> None:
    a = compile_scenario(scenario_from_dict(spec(staffing={"constant": {"agents": 1}})))
    b = compile_scenario(scenario_from_dict(spec(staffing={"constant": {"agents": 5}})))
    seq = replication_seeds(42, 3)[2]
    da, db = draw_tickets(a, seq), draw_tickets(b, seq)
    np.testing.assert_array_equal(da.t, db.t)
    np.testing.assert_array_equal(da.handles, db.handles)
    # adding a class leaves the first class's arrivals and handle times unchanged
    two = spec(
        classes=[
            {"name": "a", "priority": "P1", "share": 1, "handle": fixed(10)},
            {
                "name": "b",
                "priority": "P1",
                "share": 1,
                "handle": {"dist": "exponential", "mean": 3},
            },
        ],
        arrivals={"hourly_rates": [12.0] * 168},
    )
    dc = draw_tickets(compile_scenario(scenario_from_dict(two)), seq)
    np.testing.assert_array_equal(dc.t[dc.cls == 0], da.t)
    # a different seed gives different arrivals
    dd = draw_tickets(a, replication_seeds(43, 3)[2])
    assert len(dd.t) != len(da.t) or not np.array_equal(dd.t, da.t)


def test_workers_give_the_same_result_as_in_process() -> None:
    sc = scenario_from_dict(spec(staffing={"constant": {"agents": 1}}))
    one = simulate(sc, 3, seed=9, workers=1)
    two = simulate(sc, 3, seed=9, workers=2)
    pd.testing.assert_frame_equal(one.tickets, two.tickets)
    pd.testing.assert_frame_equal(one.attainment, two.attainment)


def test_spikes_and_added_customer() -> None:
    sc = scenario_from_dict(
        spec(
            horizon_hours=48,
            arrivals={
                "hourly_rates": [10.0] * 168,
                "spikes": [
                    {
                        "start": "2026-11-02T10:00:00Z",
                        "end": "2026-11-02T12:00:00Z",
                        "multiplier": 3,
                    }
                ],
                "added_customers": [
                    {"name": "acme", "tickets_per_week": 168 * 5, "start": "2026-11-03T08:00:00Z"}
                ],
            },
            staffing={"constant": {"agents": 20}},
        )
    )
    model = compile_scenario(sc)
    hours = model.grid_edges[:-1] / 3600
    spike = (hours >= 2) & (hours < 4)
    assert np.allclose(model.class_rates[0][spike] * 3600, 30)
    assert np.allclose(model.class_rates[0][~spike] * 3600, 10)
    res = simulate(model, 2, seed=1)
    acme = res.tickets[res.tickets["customer"] == "acme"]
    assert len(acme) > 100
    assert (acme["created_at"] >= pd.Timestamp("2026-11-03T08:00:00Z")).all()


def test_credits_follow_the_policy_schedule() -> None:
    classes = [
        {
            "name": "c",
            "priority": "P1",
            "tier": "gold",
            "channel": "phone",
            "share": 1,
            "handle": {"dist": "exponential", "mean": 20},
        }
    ]
    under = scenario_from_dict(
        spec(policy=POLICY, classes=classes, arrivals={"hourly_rates": [5.0] * 168})
    )
    res = simulate(under, 2, seed=1)
    fr = res.attainment.set_index(["class", "metric"]).loc[("c", "first_response")]
    assert fr["attainment"] < 0.98 - 0.10  # heavily overloaded: big shortfall
    # both targets > 10 points short (20% band each): 40% summed over targets, capped at 25%
    assert (res.credits["credit"] == 0.25 * 10000).all()
    assert res.expected_credit()[0] == pytest.approx(2500.0)
    # the same rule as `slarisk sla report` on each replication's tickets (all served here,
    # so no clock is left open at the end and no ticket abandoned)
    from slarisk.sla.clock import compute_clocks
    from slarisk.sla.policy import load_policy
    from slarisk.sla.report import classify, credits

    pol = load_policy(POLICY)
    assert res.summary["in_system"].eq(0).all() and res.summary["abandoned"].eq(0).all()
    for rep, got in res.credits.groupby("replication"):
        tk = res.tickets[(res.tickets["replication"] == rep) & res.tickets["in_window"]]
        now = tk["resolved_at"].max()
        clocks = compute_clocks(tk.drop(columns=["replication"]), pol, now=now)
        totals, _ = credits(classify(clocks, pol.timezone), pol)
        assert got["credit"].tolist() == totals["amount"].tolist()
        assert got["month"].tolist() == totals["month"].tolist()
    easy = scenario_from_dict(
        spec(
            policy=POLICY,
            classes=classes,
            staffing={"constant": {"agents": 10}},
            arrivals={"hourly_rates": [1.0] * 168},
        )
    )
    assert simulate(easy, 2, seed=1).expected_credit()[0] == 0.0


# --- hypothesis properties ---------------------------------------------------------------------
# derandomize: the same examples on every run (a simulation property must not flake in CI)
small = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@small
@given(
    agents=st.integers(1, 4),
    rate=st.floats(2.0, 40.0),
    patience=st.one_of(st.none(), st.floats(1.0, 30.0)),
    drain=st.booleans(),
    dispatch=st.sampled_from(["fifo", "priority"]),
    seed=st.integers(0, 10_000),
)
def test_conservation_and_no_negative_waits(
    agents: int, rate: float, patience: float | None, drain: bool, dispatch: str, seed: int
) -> None:
    c1: dict[str, Any] = {
        "name": "a",
        "priority": "P1",
        "share": 1,
        "handle": {"dist": "exponential", "mean": 6},
    }
    if patience is not None:
        c1["patience"] = {"dist": "exponential", "mean": patience}
    c2 = {
        "name": "b",
        "priority": "P2",
        "share": 1,
        "mode": "async",
        "handle": {"dist": "lognormal", "mean": 5, "sd": 3},
        "touches": {"dist": "geometric", "mean": 1.5},
        "customer_wait": {"dist": "exponential", "mean": 20},
    }
    sc = scenario_from_dict(
        spec(
            classes=[c1, c2],
            arrivals={"hourly_rates": [rate] * 168},
            staffing={"constant": {"agents": agents}},
            drain=drain,
            dispatch=dispatch,
        )
    )
    res = simulate(sc, 2, seed=seed)
    for _, s in res.summary.iterrows():
        assert s["arrived"] == s["served"] + s["abandoned"] + s["in_system"]
    t = res.tickets
    counts = t.groupby("replication")["status"].value_counts().unstack(fill_value=0)
    served = counts.get("resolved", 0)
    np.testing.assert_array_equal(served, res.summary["served"])
    w = t["wait_seconds"].dropna()
    assert (w >= -1e-9).all()
    assert (
        t["first_response_at"].dropna() >= t.loc[t["first_response_at"].notna(), "created_at"]
    ).all()
    both = t["resolved_at"].notna() & t["first_response_at"].notna()
    assert (t.loc[both, "resolved_at"] >= t.loc[both, "first_response_at"]).all()
    if drain:
        assert (res.summary["in_system"] == 0).all()


@small
@given(agents=st.integers(1, 5), rho=st.floats(0.5, 1.3), seed=st.integers(0, 10_000))
def test_one_more_agent_never_increases_any_fifo_wait(agents: int, rho: float, seed: int) -> None:
    """FCFS with customer-bound service times (common random numbers): pathwise monotone."""
    rate = rho * agents * 6.0  # per hour, mean handle 10 min
    waits = []
    for n in (agents, agents + 1):
        sc = scenario_from_dict(
            spec(
                classes=[
                    {
                        "name": "a",
                        "priority": "P1",
                        "share": 1,
                        "handle": {"dist": "exponential", "mean": 10},
                    }
                ],
                arrivals={"hourly_rates": [rate] * 168},
                staffing={"constant": {"agents": n}},
            )
        )
        waits.append(simulate(sc, 1, seed=seed).tickets["wait_seconds"].to_numpy())
    assert len(waits[0]) == len(waits[1])
    assert (waits[1] <= waits[0] + 1e-6).all()


@settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(agents=st.integers(2, 5), rho=st.floats(0.7, 1.3), seed=st.integers(0, 10_000))
def test_more_agents_never_worsen_attainment_in_expectation(
    agents: int, rho: float, seed: int
) -> None:
    """With priorities and abandonment, pathwise monotonicity can fail; the mean over
    replications (common random numbers) must not get worse by more than noise."""
    rate = rho * agents * 6.0
    classes = [
        {
            "name": "hi",
            "priority": "P1",
            "share": 1,
            "handle": {"dist": "exponential", "mean": 10},
            "patience": {"dist": "exponential", "mean": 5},
        },
        {
            "name": "lo",
            "priority": "P2",
            "share": 2,
            "handle": {"dist": "exponential", "mean": 10},
            "patience": {"dist": "exponential", "mean": 15},
        },
    ]
    att = []
    for n in (agents, agents + 1):
        sc = scenario_from_dict(
            spec(
                classes=classes,
                dispatch="priority",
                horizon_hours=24,
                service_level_seconds=120,
                arrivals={"hourly_rates": [rate] * 168},
                staffing={"constant": {"agents": n}},
            )
        )
        a = simulate(sc, 4, seed=seed).attainment.set_index(["class", "metric"])
        att.append(a.loc[("ALL", "first_response"), "attainment"])
    assert att[1] >= att[0] - 0.01


def test_roster_file_in_shift_form(tmp_path: Path) -> None:
    t0 = pd.Timestamp(START)
    shifts = pd.DataFrame(
        {
            "agent_id": ["ann", "bob"],
            "team": "agents",
            "start": [t0.isoformat(), (t0 + pd.Timedelta(hours=2)).isoformat()],
            "end": [
                (t0 + pd.Timedelta(hours=4)).isoformat(),
                (t0 + pd.Timedelta(hours=6)).isoformat(),
            ],
            "break_start": [(t0 + pd.Timedelta(hours=1)).isoformat(), ""],
            "break_end": [(t0 + pd.Timedelta(hours=1, minutes=30)).isoformat(), ""],
        }
    )
    shifts.to_csv(tmp_path / "shifts.csv", index=False)
    sc = scenario_from_dict(spec(staffing={"roster_file": "shifts.csv"}), base_dir=str(tmp_path))
    levels = [(t / 3600, a) for t, _, a in compile_scenario(sc).staff_changes]
    assert levels == [(0.0, 1), (1.0, 0), (1.5, 1), (2.0, 2), (4.0, 1), (6.0, 0)]
