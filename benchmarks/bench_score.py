"""Scoring speed: 10,000 open tickets end to end (clocks, features, calibrated probability,
reasons, work order) and the median latency of scoring one ticket; with status events
(pauses), on the demo desk: a realistic 100-ticket request and 10,000 tickets.

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
#: with status events (issue 9): a 100-ticket request from the demo desk, in-process
GOAL_EVENTS_BODY_MS = 8.0
GOAL_EVENTS_BATCH_PER_S = 30_000.0


def _setup(quick: bool) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests" / "risk"))
    from conftest import make_history  # the tests' simulated desk

    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import fit_risk_model

    h = make_history(seed=7, days=21 if quick else 42, per_day=135.0)
    end = h.tickets["created_at"].max()
    data = build_training_data(h.tickets, h.policy, events=h.events, staffing=h.staffing, now=end)
    model = fit_risk_model(data, {"n_estimators": 300}, tickets=h.tickets, queue_wait=True)
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


def _demo_desk(quick: bool) -> dict[str, Any]:
    """The demo desk (``make demo``: baseline scenario, seed 7), a model trained on it, a
    realistic 100-ticket request (the oldest open tickets with their status events, the
    roster rows within six hours of ``now``: the generated roster ends at ``now``, so 3 teams x
    12 half-hours) and 10,000 open tickets drawn
    from those 100, with their events (new ids)."""
    root = Path(__file__).resolve().parents[1]
    from slarisk.capacity.synthetic import generate_history
    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import fit_risk_model
    from slarisk.service.schemas import ScoreRequest
    from slarisk.sla.policy import load_policy

    h = generate_history(root / "simulations" / "baseline.yaml", weeks=4 if quick else 8, seed=7)
    policy = load_policy(root / "policies" / "default.yaml")
    data = build_training_data(h.tickets, policy, events=h.events, staffing=h.staffing, now=h.now)
    model = fit_risk_model(data, {"n_estimators": 300}, tickets=h.tickets, queue_wait=True)
    now = h.now
    openq = h.open_tickets.sort_values("created_at", kind="stable").head(100)
    ev = h.events[h.events["ticket_id"].isin(openq["ticket_id"])]
    st = h.staffing
    st = st[
        (st["interval_start"] >= now - pd.Timedelta(hours=6))
        & (st["interval_start"] < now + pd.Timedelta(hours=6))
    ]
    fields = ("ticket_id", "priority", "tier", "region", "service_type", "channel", "customer")
    fields += ("category", "group", "status")

    def iso(v: Any) -> str | None:
        return None if pd.isna(v) else pd.Timestamp(v).isoformat()

    def body(with_events: bool) -> Any:
        return ScoreRequest.model_validate(
            {
                "now": iso(now),
                "tickets": [
                    {
                        **{f: str(r[f]) for f in fields if f in r and pd.notna(r[f])},
                        "created_at": iso(r["created_at"]),
                        "first_response_at": iso(r["first_response_at"]),
                    }
                    for r in openq.to_dict("records")
                ],
                "staffing": [
                    {
                        "interval_start": iso(r["interval_start"]),
                        "interval_minutes": int(r["interval_minutes"]),
                        "team": str(r["team"]),
                        "agents": float(r["agents"]),
                    }
                    for r in st.to_dict("records")
                ],
                "events": [
                    {"ticket_id": r["ticket_id"], "at": iso(r["at"]), "status": r["status"]}
                    for r in ev.to_dict("records")
                ]
                if with_events
                else None,
            }
        )

    rng = np.random.default_rng(2)
    pick = rng.integers(0, len(openq), 10_000)
    big = openq.iloc[pick].reset_index(drop=True)
    new_ids = np.asarray([f"E{i:06d}" for i in range(len(big))], dtype=object)
    old_ids = big["ticket_id"].to_numpy(dtype=object)
    big["ticket_id"] = new_ids
    by_ticket = {tid: g for tid, g in ev.groupby("ticket_id", sort=False)}
    parts = [by_ticket[o].assign(ticket_id=n) for o, n in zip(old_ids, new_ids, strict=True)
             if o in by_ticket]  # fmt: skip
    big_ev = pd.concat(parts, ignore_index=True)
    return {
        "model": model,
        "policy": policy,
        "now": now,
        "body": body(True),
        "body_plain": body(False),
        "n_events": len(ev),
        "n_staffing": len(st),
        "big": big,
        "big_events": big_ev,
        "staffing": st.reset_index(drop=True),
    }


def _median_ms(fn: Any, n: int) -> float:
    for _ in range(5):  # warm-up (compilation, per-model and per-policy tables)
        fn()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    return float(np.median(lat) * 1000)


def run_events(quick: bool = False) -> tuple[dict[str, float], list[tuple[str, ...]]]:
    """With status events, on the demo desk: the 100-ticket request through the service's
    scoring (request -> columns -> items, in-process), the same without its events, and the
    10,000-ticket batch with events through ``score_open_tickets`` on frames."""
    from slarisk.risk.score import score_open_tickets
    from slarisk.service.scoring import score_request

    d = _demo_desk(quick)
    model, policy, now = d["model"], d["policy"], d["now"]
    n = 30 if quick else 100
    body, plain = d["body"], d["body_plain"]
    ev_ms = _median_ms(lambda: score_request(model, body, policy, body.now), n)
    plain_ms = _median_ms(lambda: score_request(model, plain, policy, plain.now), n)
    big, big_ev, st = d["big"], d["big_events"], d["staffing"]
    score_open_tickets(model, big.head(100), now, policy, staffing=st, events=big_ev)  # warm-up
    best = np.inf
    for _ in range(2 if quick else 3):
        t0 = time.perf_counter()
        out = score_open_tickets(model, big, now, policy, staffing=st, events=big_ev)
        best = min(best, time.perf_counter() - t0)
    rate = len(big) / best
    rows = [
        (
            "100-ticket request WITH events (median)",
            f"{len(body.tickets)} tickets, {d['n_events']} events, {d['n_staffing']} staffing",
            f"{1000 / ev_ms:,.0f}",
            f"<= {GOAL_EVENTS_BODY_MS} ms (is {ev_ms:.2f} ms)",
            f"{GOAL_EVENTS_BODY_MS / ev_ms:.2f}",
        ),
        (
            "the same request without events",
            f"{len(plain.tickets)} tickets",
            f"{1000 / plain_ms:,.0f}",
            f"is {plain_ms:.2f} ms",
            "-",
        ),
        (
            "score_open_tickets, 10k tickets WITH events",
            f"{len(big):,} tickets / {len(big_ev):,} events / {len(out):,} clocks",
            f"{rate:,.0f}",
            f">= {GOAL_EVENTS_BATCH_PER_S:,.0f}/s",
            f"{rate / GOAL_EVENTS_BATCH_PER_S:.2f}",
        ),
    ]
    return {
        "events_body_ms_median": ev_ms,
        "events_body_goal_ratio": GOAL_EVENTS_BODY_MS / ev_ms,
        "plain_body_ms_median": plain_ms,
        "events_batch_tickets_per_s": rate,
        "events_batch_goal_ratio": rate / GOAL_EVENTS_BATCH_PER_S,
    }, rows


def run(quick: bool = False) -> dict[str, float]:
    """Time the batch and the one-ticket path; print a rich table; return the figures."""
    from rich.console import Console
    from rich.table import Table

    from slarisk.risk import score_tables
    from slarisk.risk.score import score_open_tickets

    s = _setup(quick)
    from score_reference import reference_scores  # tests/risk (on the path after _setup)

    h, model, openq, now = s["h"], s["model"], s["open"], s["now"]
    t0 = time.perf_counter()
    score_tables._build_fast_model(model)
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
    events, rows = run_events(quick)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    return {
        **events,
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
