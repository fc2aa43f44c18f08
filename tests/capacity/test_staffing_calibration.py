"""Hour-of-day staffing factors: recover the factor by which a simulation's staffing was off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.capacity.erlang import erlang_a_metrics
from slarisk.capacity.staffing_calibration import hour_of_day_factors

AHT, PATIENCE = 180.0, 300.0


def _cells(true_factor: dict[int, float]) -> pd.DataFrame:
    """Per (day, hour): 'observed' abandonment of Erlang A with true_factor x agents, the
    'simulation' with the agents as given (the model that over/under-states staffing)."""
    rows = []
    g = np.random.default_rng(2)
    for day in range(20):
        for hour, k in true_factor.items():
            calls = float(g.integers(80, 160)) if hour != 23 else 5.0
            agents = float(g.uniform(4, 7))
            lam = calls / 3600.0
            obs = erlang_a_metrics(k * agents, lam, AHT, PATIENCE, served_wait=False).p_abandon
            sim = erlang_a_metrics(agents, lam, AHT, PATIENCE, served_wait=False).p_abandon
            rows.append(
                {
                    "day": day,
                    "hour": hour,
                    "calls": calls,
                    "agents": agents,
                    "abandoned": float(obs) * calls,
                    "sim_abandoned": float(sim) * calls,
                }
            )
    return pd.DataFrame(rows)


def test_factors_recover_the_staffing_error_per_hour() -> None:
    truth = {8: 1.3, 12: 0.85, 16: 1.0, 23: 0.7}
    f = hour_of_day_factors(_cells(truth), AHT, PATIENCE)
    assert f[8] == pytest.approx(1.3, abs=0.01)  # too few agents simulated: more needed
    assert f[12] == pytest.approx(0.85, abs=0.01)  # agents logged in but not serving
    assert f[16] == pytest.approx(1.0, abs=0.002)
    assert f[23] == 1.0  # 100 calls over the period: below min_calls, left alone
    # bounded: an hour the simulation cannot reach within the bounds gets the bound
    g = hour_of_day_factors(_cells({9: 3.0}), AHT, PATIENCE, bounds=(0.5, 2.0))
    assert g[9] == 2.0
