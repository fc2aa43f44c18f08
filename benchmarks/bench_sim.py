"""Simulator speed (issue 3): customers per second on an M/M/50 at utilisation 0.85.

Contenders, in one run:
- Ciw (``simulate_until_max_customers``; its own record keeping, records not fetched);
- a bare SimPy model of the same queue (a process per customer on a ``simpy.Resource``,
  variates pre-sampled with numpy, waits recorded in a list);
- slarisk's engine on the same queue (vectorised draws + SimPy run: ``draw_tickets`` +
  ``run_engine``), and the full ``simulate()`` (records, KPIs) for information;
- slarisk's ``simulate()`` on a full-featured scenario (three priorities, strict priority
  dispatch, shifts with breaks, abandonment, SLA clocks on business-hours calendars).

Goals: engine >= 2x Ciw and >= 0.6x bare SimPy; full-featured >= 1x Ciw (plain M/M/50).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

C = 50
AHT = 300.0  # seconds
RHO = 0.85
LAM = RHO * C / AHT  # per second


def _mm50_scenario(customers: int) -> Any:
    from slarisk.capacity.scenario import scenario_from_dict

    hours = customers / (LAM * 3600.0)
    return scenario_from_dict(
        {
            "name": "mm50",
            "start": "2026-01-05T00:00:00Z",
            "horizon_hours": hours,
            "drain": False,
            "classes": [
                {
                    "name": "calls",
                    "priority": "P1",
                    "share": 1,
                    "handle": {"dist": "exponential", "mean": AHT, "unit": "seconds"},
                }
            ],
            "arrivals": {"hourly_rates": [LAM * 3600.0] * 168},
            "staffing": {"constant": {"agents": C}},
        }
    )


def full_featured_scenario(customers: int, policy_path: str) -> Any:
    """Three priorities, abandonment, 24x7 shifts with breaks, business-hours SLA calendars."""
    from slarisk.capacity.scenario import scenario_from_dict

    hours = customers / (LAM * 3600.0)

    def cls(name: str, prio: str, tier: str, share: float, patience_min: float) -> dict[str, Any]:
        return {
            "name": name,
            "priority": prio,
            "tier": tier,
            "channel": "phone",
            "share": share,
            "handle": {"dist": "exponential", "mean": AHT, "unit": "seconds"},
            "patience": {"dist": "exponential", "mean": patience_min, "unit": "minutes"},
        }

    everyday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    shifts = []
    for start, end, b1, b2 in (
        ("00:00", "08:00", "03:00", "03:30"),
        ("08:00", "16:00", "12:00", "12:30"),
        ("16:00", "24:00", "19:30", "20:00"),
    ):
        shifts.append(
            {
                "team": "desk",
                "agents": 28,
                "days": everyday,
                "start": start,
                "end": end,
                "break_start": b1,
                "break_end": b2,
            }
        )
        shifts.append({"team": "desk", "agents": 27, "days": everyday, "start": start, "end": end})
    return scenario_from_dict(
        {
            "name": "full_featured",
            "start": "2026-01-05T00:00:00Z",
            "timezone": "Europe/London",
            "horizon_hours": hours,
            "warmup_hours": 1,
            "drain": True,
            "dispatch": "priority",
            "policy": policy_path,
            "classes": [
                cls("p2_gold", "P2", "gold", 0.2, 10),
                cls("p3_silver", "P3", "silver", 0.3, 6),
                cls("p4_bronze", "P4", "bronze", 0.5, 4),
            ],
            "arrivals": {"hourly_rates": [LAM * 3600.0] * 168},
            "staffing": {"teams": [{"name": "desk"}], "shifts": shifts},
        }
    )


def run_ciw(customers: int, seed: int = 1) -> tuple[int, float]:
    import ciw

    ciw.seed(seed)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(LAM)],
        service_distributions=[ciw.dists.Exponential(1 / AHT)],
        number_of_servers=[C],
    )
    q = ciw.Simulation(net)
    t0 = time.perf_counter()
    q.simulate_until_max_customers(customers, method="Finish")
    return customers, time.perf_counter() - t0


def bare_simpy(env: Any, customers: int, seed: int) -> Any:
    """Bare SimPy M/M/50: a source process and one process per customer on a Resource."""
    rng = np.random.default_rng(seed)
    inter = rng.exponential(1 / LAM, customers).tolist()
    service = rng.exponential(AHT, customers).tolist()
    import simpy

    agents = simpy.Resource(env, capacity=C)
    waits: list[float] = []

    def customer(env: Any, i: int) -> Any:
        arrived = env.now
        with agents.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service[i])

    def source(env: Any) -> Any:
        for i in range(customers):
            yield env.timeout(inter[i])
            env.process(customer(env, i))

    env.process(source(env))
    return waits


def run_bare_simpy(customers: int, seed: int = 1) -> tuple[int, float]:
    import simpy

    t0 = time.perf_counter()
    env = simpy.Environment()
    waits = bare_simpy(env, customers, seed)
    env.run()
    return len(waits), time.perf_counter() - t0


def run_engine_only(customers: int, seed: int = 1) -> tuple[int, float]:
    from slarisk.capacity.sim import compile_scenario, draw_tickets, replication_seeds, run_engine

    model = compile_scenario(_mm50_scenario(customers))
    seq = replication_seeds(seed, 1)[0]
    t0 = time.perf_counter()
    draws = draw_tickets(model, seq)
    run_engine(model, draws)
    return len(draws.t), time.perf_counter() - t0


def run_simulate(scenario: Any, seed: int = 1) -> tuple[int, float]:
    from slarisk.capacity.sim import compile_scenario, simulate

    model = compile_scenario(scenario)  # once per scenario (policy, roster): not timed
    t0 = time.perf_counter()
    res = simulate(model, replications=1, seed=seed)
    return int(res.summary["arrived"].sum()), time.perf_counter() - t0


def run(quick: bool = False) -> dict[str, Any]:
    """Run every contender once on the same queue; print and return customers/s and ratios."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    customers = 20_000 if quick else 200_000
    policy = str(Path(__file__).resolve().parents[1] / "policies" / "default.yaml")
    # warm imports (simpy, ciw, pandas, policy/holidays) outside the timings
    run_engine_only(2000)
    run_bare_simpy(2000)
    run_ciw(2000)
    run_simulate(full_featured_scenario(2000, policy))
    timings = {
        "ciw": run_ciw(customers),
        "bare_simpy": run_bare_simpy(customers),
        "slarisk_engine": run_engine_only(customers),
        "slarisk_simulate": run_simulate(_mm50_scenario(customers)),
        "slarisk_full_featured": run_simulate(full_featured_scenario(customers, policy)),
    }
    rate = {k: n / dt for k, (n, dt) in timings.items()}
    ratios = {
        "engine / ciw": (rate["slarisk_engine"] / rate["ciw"], 2.0),
        "engine / bare simpy": (rate["slarisk_engine"] / rate["bare_simpy"], 0.6),
        "full-featured / ciw (plain M/M/50)": (rate["slarisk_full_featured"] / rate["ciw"], 1.0),
    }
    console = Console()
    t = Table(title=f"Simulator: M/M/{C} at utilisation {RHO}, {customers:,} customers")
    t.add_column("contender")
    t.add_column("customers", justify="right")
    t.add_column("seconds", justify="right")
    t.add_column("customers/s", justify="right")
    for k, (n, dt) in timings.items():
        t.add_row(k, f"{n:,}", f"{dt:.2f}", f"{n / dt:,.0f}")
    console.print(t)
    r = Table(title="Ratios vs goals")
    r.add_column("ratio")
    r.add_column("measured", justify="right")
    r.add_column("goal", justify="right")
    r.add_column("met")
    for k, (v, goal) in ratios.items():
        r.add_row(k, f"{v:.2f}x", f">= {goal:g}x", "yes" if v >= goal else "NO")
    console.print(r)
    return {
        "customers": customers,
        "customers_per_second": rate,
        "ratios": {k: v for k, (v, _) in ratios.items()},
        "goals_met": {k: v >= g for k, (v, g) in ratios.items()},
    }


if __name__ == "__main__":
    run()
