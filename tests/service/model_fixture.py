"""A tiny breach-risk model for the service tests, trained through the modeller's functions
(landmarks + features + the Pipeline) on a small random history; never the repo's models/."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import yaml

from slarisk.service.champion import LoadedModel
from slarisk.sla.policy import Policy, policy_from_dict
from tests.service.conftest import POLICY_YAML


def test_policy() -> Policy:
    return policy_from_dict(yaml.safe_load(POLICY_YAML), "test-policy")


def random_history(seed: int = 0, days: int = 21, per_day: int = 40) -> pd.DataFrame:
    """Canonical tickets: Poisson arrivals; response/resolution times grow with the day's load,
    so breaches depend on workload and priority."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-10-05", tz="UTC")
    n_day = rng.poisson(per_day * rng.uniform(0.5, 1.5, days))
    day = np.repeat(np.arange(days), n_day)
    n = len(day)
    created = start + pd.to_timedelta(day * 86400 + rng.uniform(0, 86400, n), unit="s")
    prio = rng.choice(["P1", "P2", "P3"], n, p=[0.2, 0.3, 0.5])
    load = n_day[day] / per_day
    first = rng.exponential(1800 * load * np.where(prio == "P1", 0.5, 2.0))
    resolve = first + rng.exponential(3600 * 6 * load)
    created_s = pd.Series(created)
    end = start + pd.Timedelta(days=days)
    fr = created_s + pd.to_timedelta(first, unit="s")
    rs = created_s + pd.to_timedelta(resolve, unit="s")
    return pd.DataFrame(
        {
            "ticket_id": [f"H{i:05d}" for i in range(n)],
            "created_at": created_s,
            "first_response_at": fr.where(fr < end),
            "resolved_at": rs.where(rs < end),
            "priority": prio,
            "tier": rng.choice(["gold", "silver"], n),
            "region": "emea",
            "service_type": "it",
            "channel": rng.choice(["email", "portal"], n),
            "customer": rng.choice(["acme", "globex"], n),
            "category": rng.choice(["network", "access"], n),
            "group": "desk",
            "status": np.where(rs < end, "resolved", "open"),
        }
    )


@functools.cache
def tiny_loaded_model() -> LoadedModel:
    """Train once per process (about a second)."""
    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import RiskModel, make_pipeline

    policy = test_policy()
    tickets = random_history()
    data = build_training_data(tickets, policy, now=tickets["created_at"].max())
    pipeline = make_pipeline({"n_estimators": 20, "min_child_samples": 5, "num_leaves": 7})
    pipeline.fit(data.X, data.y)
    model = RiskModel(
        pipeline=pipeline,
        priorities=tuple(policy.priorities),
        calendar=data.calendar,
        history=data.context.history,
        recent_tickets=tickets[["ticket_id", "created_at", "resolved_at", "priority"]],
        metadata={"version": "test-1"},
    )
    return LoadedModel(
        model=model,
        version="test-1",
        source="test:tiny",
        trained_at="2026-10-26T00:00:00+00:00",
        metrics={"roc_auc": 0.5},
    )
