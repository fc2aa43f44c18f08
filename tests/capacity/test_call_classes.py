"""Call-log classes by priority x call type: simulate a queue whose call types differ in
patience and handle time, turn its tickets into a call log, fit it back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.capacity.call_log_fit import calls_to_tickets, fit_calls, kept_call_types
from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import simulate
from slarisk.errors import InputError

#: call type -> (share, mean handle s, mean patience s): new customers are quick and impatient
TRUTH = {"NW": (0.3, 100.0, 120.0), "PS": (0.67, 200.0, 400.0), "IN": (0.03, 250.0, 300.0)}


def _simulated_calls() -> pd.DataFrame:
    """One replication of 4 days, 3 agents 08-18 h, ~1,050 calls a day (load about 0.95)."""
    spec = {
        "name": "types",
        "start": "1999-03-01T06:00:00Z",
        "timezone": "UTC",
        "horizon_hours": 96,
        "dispatch": "fifo",
        "classes": [
            {
                "name": t,
                "priority": "regular",
                "tier": t,
                "channel": "phone",
                "share": share,
                "handle": {"dist": "exponential", "mean": handle, "unit": "seconds"},
                "patience": {"dist": "exponential", "mean": pat, "unit": "seconds"},
            }
            for t, (share, handle, pat) in TRUTH.items()
        ],
        "arrivals": {
            "tickets_per_week": 7 * 1050,
            "hour_weights": [0] * 8 + [1] * 10 + [0] * 6,
        },
        "staffing": {
            "teams": [{"name": "desk", "serves": ["*"]}],
            "shifts": [{"team": "desk", "agents": 3, "start": "08:00", "end": "18:00"}],
        },
    }
    t = simulate(scenario_from_dict(spec), replications=1, seed=4).tickets
    created = pd.to_datetime(t["created_at"], utc=True)
    wait = pd.to_timedelta(t["wait_seconds"].to_numpy(dtype=float), unit="s")
    served = ~t["abandoned"].to_numpy(dtype=bool)
    start = pd.to_datetime(t["first_response_at"], utc=True)
    return pd.DataFrame(
        {
            "call_key": t["ticket_id"].astype(str).to_numpy(),
            "customer_id": np.arange(len(t)),
            "priority": 1,
            "call_type": t["class"].astype(str).to_numpy(),
            "arrived_at": created,
            "vru_exit_at": created,
            "reached_queue": True,
            "queued": (t["wait_seconds"].to_numpy(dtype=float) > 0) | ~served,
            "queue_start_at": created,
            "queue_exit_at": created + wait,
            "wait_seconds": t["wait_seconds"].to_numpy(dtype=float),
            "served": served,
            "abandoned": ~served,
            "service_start_at": start.where(served),
            "service_end_at": pd.to_datetime(t["resolved_at"], utc=True).where(served),
            "service_seconds": np.where(served, t["handle_seconds"].to_numpy(dtype=float), np.nan),
            "server": np.where(served, "AGENT", "NO_SERVER"),
        }
    )


def test_patience_and_handle_by_call_type_round_trip() -> None:
    calls = _simulated_calls()
    assert 0.1 < calls["abandoned"].mean() < 0.5  # a queue that sheds calls
    fit = fit_calls(calls, tz="UTC", classes_by="priority_type", min_class_size=200)
    by = {c.name: c for c in fit.classes}
    # IN has about 120 calls: below min_class_size, pooled into regular-other
    assert set(by) == {"regular-NW", "regular-PS", "regular-other"}
    for t in ("NW", "PS"):
        c = by[f"regular-{t}"]
        _, handle, pat = TRUTH[t]
        assert c.tier == t
        assert c.handle.mean == pytest.approx(handle, rel=0.1)
        assert c.patience is not None
        assert c.patience.mean == pytest.approx(pat, rel=0.2)
    # the pooled fit (priority classes) sits in between and cannot tell the types apart
    pooled = fit_calls(calls, tz="UTC").classes
    assert [c.name for c in pooled] == ["regular"]
    assert pooled[0].patience is not None
    assert 120 * 1.2 < pooled[0].patience.mean < 400 / 1.2
    # replayed tickets carry the class's call type (or "other") in tier
    kept = kept_call_types(fit.classes)
    assert kept == {("regular", "NW"), ("regular", "PS")}
    tiers = calls_to_tickets(calls, kept)["tier"]
    assert set(tiers) == {"NW", "PS", "other"}
    assert (tiers == "other").sum() == (calls["call_type"] == "IN").sum()
    assert set(calls_to_tickets(calls)["tier"]) == {"unknown"}
    assert kept_call_types(pooled) is None


def test_unknown_class_key() -> None:
    with pytest.raises(InputError, match="class key"):
        fit_calls(_simulated_calls().head(50), classes_by="hour")
