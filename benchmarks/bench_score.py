"""Scoring speed: 10,000 open tickets end to end (clocks, features, calibrated probability,
reasons, work order) and the median latency of scoring one ticket.

Goals (issue 4): >= 50,000 tickets/s for the batch, <= 2 ms median for one ticket. The model is
trained on a small generated history (the tests' queue fixture); the open queue is 10,000
tickets spread over the last days before ``now`` with the history's attribute mix.
References in the same run: the bare LightGBM ``predict`` on the same feature matrix (the part
of the work no scoring path can avoid), so the ratio shows the overhead of everything else, and
the from-scratch computation of the tests (``tests/risk/score_reference.py``: clocks by
``compute_clocks``, features by the training builder) that scoring must agree with. The
one-time set-up per model (contribution table, calibrator check) is timed separately and
happens in the warm-up.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GOAL_BATCH_PER_S = 50_000.0
GOAL_ONE_MS = 2.0


def _setup(quick: bool) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests" / "risk"))
    from conftest import make_history  # the tests' simulated desk

    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import fit_risk_model

    h = make_history(seed=7, days=21 if quick else 42, per_day=135.0)
    end = h.tickets["created_at"].max()
    data = build_training_data(h.tickets, h.policy, events=h.events, staffing=h.staffing, now=end)
    model = fit_risk_model(data, {"n_estimators": 300}, tickets=h.tickets)
    rng = np.random.default_rng(0)
    n = 10_000
    src = h.tickets.sample(n, replace=True, random_state=1).reset_index(drop=True)
    now = end - pd.Timedelta(days=1)
    openq = src.assign(
        ticket_id=[f"O{i:06d}" for i in range(n)],
        created_at=now - pd.to_timedelta(rng.exponential(6 * 3600, n), unit="s"),
        first_response_at=pd.NaT,
        resolved_at=pd.NaT,
        status="open",
    )
    answered = rng.random(n) < 0.5
    fr = openq["created_at"] + (now - openq["created_at"]) * rng.random(n)
    openq["first_response_at"] = fr.where(answered, pd.NaT)
    return {"h": h, "model": model, "open": openq, "now": now}


def run(quick: bool = False) -> dict[str, float]:
    """Time the batch and the one-ticket path; print a rich table; return the figures."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.risk import fastscore
    from slarisk.risk.score import score_open_tickets

    s = _setup(quick)
    from score_reference import reference_scores  # tests/risk (on the path after _setup)

    h, model, openq, now = s["h"], s["model"], s["open"], s["now"]
    t0 = time.perf_counter()
    fastscore._build_fast_model(model)
    setup_ms = (time.perf_counter() - t0) * 1000
    score_open_tickets(model, openq.head(100), now, h.policy, staffing=h.staffing)  # warm-up

    reps = 2 if quick else 3
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        out = score_open_tickets(model, openq, now, h.policy, staffing=h.staffing)
        best = min(best, time.perf_counter() - t0)
    batch_rate = len(openq) / best

    # reference: the bare booster on the same feature matrix (probability only, no reasons)
    from slarisk.risk.feature_indexes import WorkloadIndex
    from slarisk.risk.features import FeatureContext, build_features

    obs = openq.assign(
        metric="resolution", at=now, target_seconds=8 * 3600.0, elapsed_seconds=3600.0
    )
    ctx = FeatureContext(WorkloadIndex.build(openq), history=model.history)
    X = model.matrix(build_features(obs, ctx, priorities=model.priorities))
    booster = model.pipeline.named_steps["clf"].booster_
    t0 = time.perf_counter()
    booster.predict(X, raw_score=True, num_threads=1)
    bare_rate = len(X) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    ref = reference_scores(model, openq, now, h.policy, staffing=h.staffing)
    ref_rate = len(openq) / (time.perf_counter() - t0)
    same = len(ref) == len(out) and bool(
        np.allclose(ref["breach_probability"], out["breach_probability"], atol=1e-12)
        and (ref["reasons"] == out["reasons"]).all()
        and (ref["work_order"] == out["work_order"]).all()
    )

    n_one = 30 if quick else 100
    lat = []
    for i in range(n_one):
        one = openq.iloc[[i]]
        t0 = time.perf_counter()
        score_open_tickets(model, one, now, h.policy, staffing=h.staffing)
        lat.append(time.perf_counter() - t0)
    one_ms = float(np.median(lat) * 1000)
    lat_ref = []
    for i in range(10 if quick else 30):
        one = openq.iloc[[i]]
        t0 = time.perf_counter()
        reference_scores(model, one, now, h.policy, staffing=h.staffing)
        lat_ref.append(time.perf_counter() - t0)
    one_ref_ms = float(np.median(lat_ref) * 1000)

    table = Table(title="breach-risk scoring (end to end)")
    for col in ("contender", "items", "items/s", "goal", "ratio vs goal"):
        table.add_column(col)
    table.add_row(
        "score_open_tickets, 10k tickets",
        f"{len(openq):,} tickets / {len(out):,} clocks",
        f"{batch_rate:,.0f}",
        f">= {GOAL_BATCH_PER_S:,.0f}/s",
        f"{batch_rate / GOAL_BATCH_PER_S:.2f}",
    )
    table.add_row(
        "one ticket (median)",
        f"{n_one} calls",
        f"{1000 / one_ms:,.0f}",
        f"<= {GOAL_ONE_MS} ms (is {one_ms:.2f} ms)",
        f"{GOAL_ONE_MS / one_ms:.2f}",
    )
    table.add_row(
        "reference: bare LightGBM predict",
        f"{len(X):,} rows",
        f"{bare_rate:,.0f}",
        "-",
        f"end-to-end / bare = {batch_rate / bare_rate:.2f}",
    )
    table.add_row(
        "reference: from scratch (tests), 10k",
        "same results" if same else "RESULTS DIFFER",
        f"{ref_rate:,.0f}",
        "-",
        f"scoring / reference = {batch_rate / ref_rate:.1f}x",
    )
    table.add_row(
        "reference: from scratch, one ticket",
        f"{len(lat_ref)} calls",
        f"{1000 / one_ref_ms:,.0f}",
        f"is {one_ref_ms:.2f} ms",
        f"reference / scoring = {one_ref_ms / one_ms:.1f}x",
    )
    table.add_row("set-up per model (once)", "-", "-", f"{setup_ms:.0f} ms", "-")
    Console().print(table)
    return {
        "reference_tickets_per_s": ref_rate,
        "reference_one_ticket_ms_median": one_ref_ms,
        "equals_reference": float(same),
        "setup_ms": setup_ms,
        "batch_tickets_per_s": batch_rate,
        "batch_goal_ratio": batch_rate / GOAL_BATCH_PER_S,
        "one_ticket_ms_median": one_ms,
        "one_ticket_goal_ratio": GOAL_ONE_MS / one_ms,
        "bare_predict_rows_per_s": bare_rate,
    }


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
