"""Small hand-made histories for the risk tests: a multi-server queue whose breaches genuinely
depend on workload, staffing (understaffed days) and ticket attributes."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from slarisk.sla.policy import Policy, policy_from_dict

POLICY = {
    "name": "risk-test",
    "timezone": "Europe/London",
    "calendars": {
        "24x7": {"always_open": True},
        "business": {
            "hours": {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "GB", "subdivision": "ENG"},
        },
    },
    "priorities": ["P1", "P2", "P3"],
    "tiers": ["gold", "silver"],
    "targets": [
        {"priority": "P1", "metric": "first_response", "hours": 0.5, "calendar": "24x7"},
        {"priority": "P1", "metric": "resolution", "hours": 3, "calendar": "24x7"},
        {"priority": "P2", "metric": "first_response", "hours": 1.5, "calendar": "24x7"},
        {"priority": "P2", "metric": "resolution", "hours": 6, "calendar": "24x7"},
        {"priority": "P3", "metric": "first_response", "hours": 2, "calendar": "business"},
        {"priority": "P3", "metric": "resolution", "hours": 8, "calendar": "business"},
    ],
    "pause_statuses": ["pending"],
}


@dataclass(frozen=True)
class History:
    tickets: pd.DataFrame
    events: pd.DataFrame
    staffing: pd.DataFrame
    policy: Policy


def make_history(seed: int = 0, days: int = 42, per_day: float = 160.0) -> History:
    """Simulated desk: Poisson arrivals with a daily profile, agents per hour with random
    understaffed days, strict-priority dispatch, handle time by category; a few pauses."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-03-03", tz="UTC")
    hours = days * 24
    hod = np.arange(hours) % 24
    profile = np.where((hod >= 8) & (hod < 19), 1.8, 0.35)
    profile = profile / profile.mean()
    lam = per_day / 24 * profile
    counts = rng.poisson(lam)
    created_h = np.repeat(np.arange(hours), counts) + rng.random(counts.sum())
    created_h.sort()
    n = len(created_h)
    pri = rng.choice(["P1", "P2", "P3"], n, p=[0.15, 0.35, 0.5])
    cat = rng.choice(["network", "access", "hardware", "software", "billing"], n)
    tier = rng.choice(["gold", "silver"], n, p=[0.3, 0.7])
    grp = np.where(np.isin(cat, ["network", "hardware"]), "infra", "apps")
    mean_handle = {"network": 1.4, "access": 0.35, "hardware": 1.0, "software": 0.7, "billing": 0.4}
    handle_h = rng.gamma(2.0, np.vectorize(mean_handle.get)(cat) / 2.0)
    # staffing per hour: day shift 6 agents, night 2; understaffed days at 60%
    day = np.arange(hours) // 24
    short = rng.random(days) < 0.25
    agents = np.where((hod >= 8) & (hod < 20), 8.0, 3.0) * np.where(short[day], 0.55, 1.0)
    agents = np.round(agents)
    # strict-priority multi-server queue, servers on duty per hour (ticket loop: test fixture)
    rank = {"P1": 0, "P2": 1, "P3": 2}
    first = np.full(n, np.nan)
    done = np.full(n, np.nan)
    queue: list[tuple[int, float, int]] = []
    busy_until: list[float] = []  # heap of agents' finishing times
    i = 0
    t = 0.0
    step = 0.05
    while t < hours + 48:
        while i < n and created_h[i] <= t:
            heapq.heappush(queue, (rank[pri[i]], created_h[i], i))
            i += 1
        cap = agents[int(t)] if t < hours else 6.0
        busy_until = [b for b in busy_until if b > t]
        free = int(cap) - len(busy_until)
        while free > 0 and queue:
            _, _, j = heapq.heappop(queue)
            first[j] = t
            done[j] = t + handle_h[j]
            busy_until.append(done[j])
            free -= 1
        t += step
        if i >= n and not queue:
            break
    to_ts = lambda h: start + pd.to_timedelta(h, unit="h")  # noqa: E731
    end_h = hours + 0.0
    first = np.where(first > end_h, np.nan, first)
    done = np.where(done > end_h, np.nan, done)
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{k:06d}" for k in range(n)],
            "created_at": to_ts(created_h),
            "first_response_at": to_ts(first),
            "resolved_at": to_ts(done),
            "priority": pri,
            "tier": tier,
            "region": rng.choice(["EMEA", "AMER"], n),
            "service_type": "it",
            "channel": rng.choice(["email", "portal", "phone"], n),
            "customer": rng.choice(["acme", "globex", "initech", "umbrella"], n),
            "category": cat,
            "group": grp,
            "status": np.where(np.isnan(done), "open", "resolved"),
        }
    )
    # a few pauses: 10% of tickets wait on the customer for 20 minutes after first response
    paused = np.flatnonzero((rng.random(n) < 0.1) & np.isfinite(first) & np.isfinite(done))
    ev_at = np.concatenate([first[paused] + 0.01, first[paused] + 0.34])
    ev_st = np.array(["pending"] * len(paused) + ["open"] * len(paused), dtype=object)
    events = pd.DataFrame(
        {
            "ticket_id": tickets["ticket_id"].to_numpy()[np.concatenate([paused, paused])],
            "at": to_ts(ev_at),
            "status": ev_st,
        }
    ).sort_values(["ticket_id", "at"], ignore_index=True)
    staffing = pd.DataFrame(
        {
            "interval_start": to_ts(np.arange(hours, dtype=float)),
            "interval_minutes": 60,
            "team": "infra",
            "agents": agents / 2,
        }
    )
    staffing = pd.concat([staffing, staffing.assign(team="apps")], ignore_index=True)
    return History(tickets, events, staffing, policy_from_dict(POLICY))


@pytest.fixture(scope="session")
def small_history() -> History:
    return make_history(seed=1, days=42, per_day=135.0)


@dataclass(frozen=True)
class Trained:
    history: History
    data: object  # TrainingData
    model: object  # RiskModel
    now: pd.Timestamp
    open_tickets: pd.DataFrame
    closed: pd.DataFrame


FAST_PARAMS = {"n_estimators": 120, "learning_rate": 0.08, "min_child_samples": 30}


def open_snapshot(tickets: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """The open queue at ``now`` as it was known then (later timestamps unknown)."""
    q = tickets[(tickets["created_at"] <= now) & ~(tickets["resolved_at"] <= now)].copy()
    q.loc[q["first_response_at"] > now, "first_response_at"] = pd.NaT
    q["resolved_at"] = pd.NaT
    q["status"] = "open"
    return q.reset_index(drop=True)


@pytest.fixture(scope="session")
def trained(small_history: History) -> Trained:
    """A model trained on the history up to a week before its end (with the opt-in queue-wait
    features, so scoring tests cover them); the queue at a busy time."""
    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import fit_risk_model

    h = small_history
    end = h.tickets["created_at"].max()
    cut = end - pd.Timedelta(days=7)
    closed = h.tickets[h.tickets["created_at"] <= cut]
    data = build_training_data(closed, h.policy, events=h.events, staffing=h.staffing, now=cut)
    model = fit_risk_model(data, FAST_PARAMS, tickets=closed, queue_wait=True)
    now = (cut + pd.Timedelta(days=2)).normalize() + pd.Timedelta(hours=15)
    return Trained(h, data, model, now, open_snapshot(h.tickets, now), closed)
