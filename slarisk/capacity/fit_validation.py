"""Real-data validation of a call-log fit: fit on training calls, predict a test period
(replayed arrivals, staffing estimated from the test period's service records) with the
simulator and with Erlang A, and compare abandonment and mean wait by hour of day with what
was observed (docs/realdata_fit.md). The page is rendered with :mod:`slarisk.reports`.

Times are seconds; cells are (local date, hour).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slarisk.capacity.call_log_fit import calls_to_tickets, fit_calls, kept_call_types
from slarisk.capacity.erlang import erlang_a_metrics
from slarisk.capacity.fit_scenario import FitResult
from slarisk.capacity.patience import fit_patience
from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import simulate
from slarisk.capacity.staffing_calibration import hour_of_day_factors, span_load_staffing
from slarisk.capacity.staffing_estimate import (
    availability_by_load,
    dither_staffing,
    estimate_staffing,
)
from slarisk.errors import InputError
from slarisk.reports import figure, img, png_base64, render, table


@dataclass(frozen=True)
class FitValidation:
    """Observed vs predicted abandonment and mean wait of a test period.

    ``cells``: one row per (local date, hour) with observed ``calls, abandoned, wait_sum`` and,
    per staffing method M, ``agents_M``, ``sim_abandoned_M``, ``sim_wait_sum_M`` (means over
    replications), ``ea_abandoned_M``, ``ea_wait_sum_M`` (Erlang A expectations).
    ``by_hour``: pooled per hour of day; ``errors``: one row per (method, model) with the
    pooled-by-hour MAE, the per date-hour MAE (hours with >= ``min_calls_cell`` calls, each
    hour weighted equally) beside the noise floor of the same hours and, for the simulation,
    the simulator's own scatter (:func:`replication_scatter`), and the whole-period
    ratio predicted/observed; ``monthly``: predicted/observed abandonment and mean wait per
    (method, model, month); ``provenance``: which period each input comes from;
    ``fit``: the training fit.
    """

    cells: pd.DataFrame
    by_hour: pd.DataFrame
    errors: pd.DataFrame
    fit: FitResult
    methods: tuple[str, ...]
    notes: list[str]
    monthly: pd.DataFrame
    provenance: pd.DataFrame


def _hour_cells(times: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(tz).dt.floor("h")


def validate_call_fit(
    train: pd.DataFrame,
    test: pd.DataFrame,
    workdir: Any,
    *,
    tz: str = "Asia/Jerusalem",
    methods: Sequence[str] = (
        "distinct",
        "span",
        "available",
        "span_trained",
        "span_load",
        "span_calibrated",
    ),
    replications: int = 3,
    seed: int = 0,
    gap_seconds: float = 1800.0,
    min_calls_hour: int = 200,
    min_calls_cell: int = 30,
    patience_family: str = "exponential",
    dispatch: str = "fifo",
    staffing_minutes: int = 60,
    classes_by: str = "priority_type",
    progress: Any = None,
) -> FitValidation:
    """Fit on ``train`` calls, predict ``test``: replayed test arrivals + staffing estimated
    from the test period's service records, simulated (SimPy engine) and by Erlang A.

    Staffing methods: those of :func:`estimate_staffing`, plus ``span_trained`` = the test
    period's ``span`` times the training period's ratio available/span per hour of day (uses
    no queue information of the test period). ``workdir`` receives the replay tickets and
    roster files the scenario refers to. ``patience_family``: the censored fit the simulator
    draws patience from (``exponential``, ``gamma`` or ``lognormal``; Erlang A stays
    exponential). ``dispatch``: ``fifo`` or ``priority`` (high-priority callers first).
    ``staffing_minutes``: interval of the staffing estimates (60 or a divisor of it; the
    ``span_load`` ratio is chosen per hour and applied to every interval of the hour).
    ``classes_by``: the simulator's classes, ``priority`` or ``priority_type`` (priority x
    call type, see :func:`slarisk.capacity.call_log_fit.fit_calls`).
    """
    if staffing_minutes <= 0 or 60 % staffing_minutes:
        raise InputError("must divide 60", field="staffing_minutes")
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    fitted = fit_calls(
        train,
        tz=tz,
        staffing_method="available",
        gap_seconds=gap_seconds,
        source="training calls",
        classes_by=classes_by,
    )
    want = test.loc[test["reached_queue"]].copy()
    if want.empty:
        raise InputError("no test calls asked for an agent")
    tickets = calls_to_tickets(test, kept_call_types(fitted.classes))
    tickets.to_parquet(wd / "replay_tickets.parquet", index=False)
    want["cell"] = _hour_cells(want["vru_exit_at"], tz)
    cells = want.groupby("cell").agg(
        calls=("abandoned", "size"),
        abandoned=("abandoned", "sum"),
        wait_sum=("wait_seconds", "sum"),
        wait_sq_sum=("wait_seconds", lambda x: float((x.astype(float) ** 2).sum())),
    )
    lo, hi = _day_bounds(want["vru_exit_at"], tz)
    served_all = train.loc[train["served"] & (train["server"] != "NO_SERVER"), "service_seconds"]
    aht = float(served_all.mean())
    q = train.loc[train["queued"]]
    patience = fit_patience(q["wait_seconds"], q["abandoned"], families=("exponential",)).mean
    # training availability ratio per hour of day (for span_trained)
    tr_span = estimate_staffing(train, 60, "span", gap_seconds=gap_seconds)
    tr_av = estimate_staffing(train, 60, "available", gap_seconds=gap_seconds)
    hod = tr_span["interval_start"].dt.tz_convert(tz).dt.hour
    ratio = (tr_av["agents"].groupby(hod).sum() / tr_span["agents"].groupby(hod).sum()).fillna(1.0)
    kept = kept_call_types(fitted.classes)
    base = _replay_base(fitted, lo, hi, tz, dispatch, patience_family, "replay_tickets.parquet")
    notes = [
        f"Erlang A inputs: pooled mean handle {aht:.1f} s, exponential patience {patience:.1f} s",
        f"simulation: {replications} replication(s), seed {seed}, {dispatch}, classes "
        + ", ".join(
            f"{c.name} (handle {c.handle.family} {c.handle.mean:.0f} s, patience "
            f"{patience_family} mean "
            f"{c.patience.censored[patience_family]['mean'] if c.patience else 0:.0f} s)"
            for c in fitted.classes
        ),
    ]
    load_ratio = (
        availability_by_load(train, aht, gap_seconds=gap_seconds)
        if {"span_load", "span_calibrated"} & set(methods)
        else None
    )
    if load_ratio is not None:
        notes.append(
            "span_load: training ratio available/span by load bin "
            + ", ".join(f"{k}: {v:.3f}" for k, v in load_ratio.items())
        )
    hod_factor = pd.Series(dtype=float)
    if "span_calibrated" in methods and load_ratio is not None:
        hod_factor = _train_hour_factors(
            train, fitted, load_ratio, aht, patience, wd, tz, dispatch, patience_family,
            replications, seed, gap_seconds, kept,
        )  # fmt: skip
        notes.append(
            "span_calibrated: training factor on span_load per hour of day "
            + ", ".join(f"{k}: {v:.3f}" for k, v in hod_factor.items())
        )
    sm = staffing_minutes
    scatter: dict[tuple[str, str], float] = {}
    cell_of_call = pd.Series(want["cell"].to_numpy(), index=want["call_key"].to_numpy())
    for mi, m in enumerate(methods):
        if m in ("span_load", "span_calibrated") and load_ratio is not None:
            st = span_load_staffing(test, load_ratio, aht, lo, hi, sm, gap_seconds)
            if m == "span_calibrated":
                h = st["interval_start"].dt.tz_convert(tz).dt.hour
                st["agents"] = st["agents"] * h.map(hod_factor).fillna(1.0).to_numpy()
        elif m == "span_trained":
            st = estimate_staffing(test, sm, "span", gap_seconds=gap_seconds, start=lo, end=hi)
            h = st["interval_start"].dt.tz_convert(tz).dt.hour
            st["agents"] = st["agents"] * h.map(ratio).fillna(1.0).to_numpy()
        else:
            st = estimate_staffing(
                test,
                sm,
                m,  # type: ignore[arg-type]
                gap_seconds=gap_seconds,
                start=lo,
                end=hi,
            )
        st = st[(st["interval_start"] >= lo) & (st["interval_start"] < hi)]
        per_rep = _simulate_cells(
            base, st, wd, m, cell_of_call, replications, seed, math.gcd(sm, 6)
        )
        agg = per_rep.groupby(level="cell").sum()
        scored = cells.index[cells["calls"] >= min_calls_cell]
        n_scored = cells.loc[scored, "calls"].to_numpy(dtype=float)
        for col, key in (("ab", "abandon"), ("w", "wait")):
            reps = per_rep[col].unstack("rep").reindex(scored).fillna(0.0)
            scatter[(m, key)] = replication_scatter(reps.to_numpy(dtype=float), n_scored)
        cells[f"agents_{m}"] = (
            st.groupby(st["interval_start"].dt.tz_convert(tz).dt.floor("h"))["agents"]
            .mean()
            .reindex(cells.index)
            .fillna(0.0)
            .to_numpy()
        )
        cells[f"sim_abandoned_{m}"] = (
            agg["ab"].reindex(cells.index).fillna(0).to_numpy() / replications
        )
        cells[f"sim_wait_sum_{m}"] = (
            agg["w"].reindex(cells.index).fillna(0).to_numpy() / replications
        )
        lam = cells["calls"].to_numpy(dtype=float) / 3600.0
        n = np.maximum(cells[f"agents_{m}"].to_numpy(dtype=float), 1e-3)
        ea = erlang_a_metrics(n, lam, aht, patience, served_wait=False)
        cells[f"ea_abandoned_{m}"] = ea.p_abandon * cells["calls"].to_numpy()
        cells[f"ea_wait_sum_{m}"] = ea.mean_wait * cells["calls"].to_numpy()
        if progress is not None:
            progress(mi + 1, len(methods))
    cells = cells.reset_index()
    cells["date"] = cells["cell"].dt.date.astype(str)
    cells["hour"] = cells["cell"].dt.hour
    by_hour, errors, monthly = score_validation_cells(
        cells, list(methods), min_calls_hour, min_calls_cell
    )
    sim = errors["model"] == "simulation"
    for key, unit in (("abandon", "pp"), ("wait", "s")):
        scale = 100.0 if key == "abandon" else 1.0
        col = f"{key}_sim_scatter_{unit}_date_hour"
        errors[col] = np.nan
        errors.loc[sim, col] = [scale * scatter[(m, key)] for m in errors.loc[sim, "staffing"]]
    prov = provenance_table(train, test, methods, tz)
    return FitValidation(cells, by_hour, errors, fitted, tuple(methods), notes, monthly, prov)


def _day_bounds(times: pd.Series, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local midnight before the first and after the last of ``times`` (UTC)."""
    lo = pd.Timestamp(times.min()).tz_convert(tz).normalize().tz_convert("UTC")
    hi = pd.Timestamp(times.max()).tz_convert(tz).normalize().tz_convert("UTC")
    return lo, hi + pd.Timedelta(days=1)


def _replay_base(
    fitted: FitResult,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    tz: str,
    dispatch: str,
    patience_family: str,
    replay: str,
) -> dict[str, Any]:
    """Scenario mapping (without staffing) replaying the ticket file ``replay`` over [lo, hi)."""
    return {
        "name": "validation",
        "start": lo.isoformat(),
        "timezone": tz,
        "horizon_hours": (hi - lo).total_seconds() / 3600.0,
        "dispatch": dispatch,
        "drain_limit_hours": 24.0,
        "classes": [_class_spec(c, patience_family) for c in fitted.classes],
        "arrivals": {"replay": replay, "replay_default_class": fitted.classes[-1].name},
    }


def _simulate_cells(
    base: dict[str, Any],
    staffing: pd.DataFrame,
    wd: Path,
    tag: str,
    cell_of_call: pd.Series,
    replications: int,
    seed: int,
    sub_minutes: int,
) -> pd.DataFrame:
    """Simulate ``base`` with ``staffing`` (dithered to ``sub_minutes``): abandoned calls
    ``ab`` and summed waits ``w`` (s) per (cell, replication); ``cell_of_call`` maps each
    replayed call key to its (local date, hour) cell."""
    roster = dither_staffing(staffing, sub_minutes)
    roster.to_parquet(wd / f"roster_{tag}.parquet", index=False)
    sc = scenario_from_dict(
        {
            **base,
            "staffing": {"teams": [{"name": "agents"}], "roster_file": f"roster_{tag}.parquet"},
        },
        path=str(wd / f"scenario_{tag}.yaml"),
        base_dir=str(wd),
    )
    simt = simulate(sc, replications=replications, seed=seed).tickets
    simt = simt[~simt["backlog"]] if "backlog" in simt else simt
    w = simt["wait_seconds"].to_numpy(dtype=float)
    return (
        pd.DataFrame(
            {
                "cell": cell_of_call.reindex(simt["ticket_id"].to_numpy()).to_numpy(),
                "rep": simt["replication"].to_numpy(),
                "ab": simt["abandoned"].to_numpy(dtype=float),
                "w": np.where(np.isfinite(w), w, 0.0),
            }
        )
        .groupby(["cell", "rep"])
        .agg(ab=("ab", "sum"), w=("w", "sum"))
    )


def _train_hour_factors(
    train: pd.DataFrame,
    fitted: FitResult,
    load_ratio: pd.Series,
    aht: float,
    patience: float,
    wd: Path,
    tz: str,
    dispatch: str,
    patience_family: str,
    replications: int,
    seed: int,
    gap_seconds: float,
    kept: set[tuple[str, str]] | None,
) -> pd.Series:
    """Replay the training months with their own ``span_load`` staffing and return
    :func:`hour_of_day_factors` of that simulation (training data only)."""
    tw = train.loc[train["reached_queue"]].copy()
    tw["cell"] = _hour_cells(tw["vru_exit_at"], tz)
    lo, hi = _day_bounds(tw["vru_exit_at"], tz)
    calls_to_tickets(train, kept).to_parquet(wd / "train_replay_tickets.parquet", index=False)
    base = _replay_base(
        fitted, lo, hi, tz, dispatch, patience_family, "train_replay_tickets.parquet"
    )
    st = span_load_staffing(train, load_ratio, aht, lo, hi, 60, gap_seconds)
    st = st[(st["interval_start"] >= lo) & (st["interval_start"] < hi)]
    cell_of_call = pd.Series(tw["cell"].to_numpy(), index=tw["call_key"].to_numpy())
    per_rep = _simulate_cells(base, st, wd, "train_span_load", cell_of_call, replications, seed, 6)
    cells = tw.groupby("cell").agg(calls=("abandoned", "size"), abandoned=("abandoned", "sum"))
    sim = per_rep["ab"].groupby(level="cell").sum() / replications
    cells["sim_abandoned"] = sim.reindex(cells.index).fillna(0.0).to_numpy()
    agents = pd.Series(
        st["agents"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(st["interval_start"]).tz_convert(tz),
    )
    cells["agents"] = agents.reindex(cells.index).fillna(0.0).to_numpy()
    cells["hour"] = pd.DatetimeIndex(cells.index).hour
    return hour_of_day_factors(cells, aht, patience)


def _class_spec(c: Any, patience_family: str) -> dict[str, Any]:
    spec: dict[str, Any] = c.spec("seconds")
    if c.patience is not None:
        if patience_family not in c.patience.censored:
            raise InputError(f"no censored {patience_family} patience fit", field="patience_family")
        spec["patience"] = c.patience.spec("seconds", patience_family)
    return spec


_STAFFING_SOURCE = {
    "distinct": "test: distinct agents serving in each hour (service records)",
    "busy": "test: agent busy time per hour (service records)",
    "span": "test: agents' log-in spans (first to last call of a session; the roster)",
    "available": "test: log-in spans minus idle time while callers waited (test queue states)",
    "span_trained": "test: log-in spans (the roster) x training ratio available/span per hour",
    "span_load": "test: log-in spans (the roster) x training ratio available/span by the "
    "hour's offered load per agent (test arrivals x training handle time)",
    "span_calibrated": "test: span_load x training factor per hour of day (the effective "
    "servers that make the simulator reproduce the training months' abandonment by hour)",
}


def _months(calls: pd.DataFrame, tz: str) -> str:
    local = pd.to_datetime(calls["arrived_at"], utc=True).dt.tz_convert(tz)
    ms = sorted(set(local.dt.strftime("%Y-%m")))
    return ",".join(ms) if ms else "-"


def provenance_table(
    train: pd.DataFrame, test: pd.DataFrame, methods: Sequence[str], tz: str
) -> pd.DataFrame:
    """Which period (months) each input of the prediction comes from."""
    tr, te = _months(train, tz), _months(test, tz)
    rows = [
        ("arrivals", te, "test: observed calls replayed (created at the VRU exit)"),
        ("handle times", tr, "training: per-class fit (simulation), pooled mean (Erlang A)"),
        ("call classes", te, "test: each replayed call's priority and call type"),
        ("patience", tr, "training: censored per-class fit (simulation), exponential (Erlang A)"),
    ]
    for m in methods:
        src = _STAFFING_SOURCE.get(m, "test")
        months = f"{te} (x {tr})" if m in ("span_trained", "span_load", "span_calibrated") else te
        rows.append((f"staffing ({m})", months, src))
    return pd.DataFrame(rows, columns=["input", "months", "source"])


def replication_scatter(sums: np.ndarray, calls: np.ndarray) -> float:
    """The simulator's own per date-hour scatter: mean over hours and replications of
    |one replication's rate - the mean of the other replications|, where ``sums`` holds each
    hour's abandoned calls (or summed waits) per replication (hours x replications) and
    ``calls`` the hour's calls. What a model that were exactly right would still miss by when
    scored on one realisation (the observed month is one); NaN with fewer than 2 replications.
    Unlike :func:`binomial_floor` it keeps the queue's own correlation: calls of one hour
    share its queue, so hourly abandonment varies more than binomially."""
    k = sums.shape[1] if sums.ndim == 2 else 0
    if k < 2 or len(calls) == 0:
        return math.nan
    rate = sums / np.asarray(calls, dtype=float)[:, None]
    others = (rate.sum(axis=1, keepdims=True) - rate) / (k - 1)
    return float(np.abs(rate - others).mean())


def binomial_floor(calls: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Exact E|X/n - p| for X ~ Binomial(n, p), per hour: the abandonment error (fraction) a
    model that knew each hour's true probability ``p`` (here: the observed rate) still makes."""
    from scipy.stats import binom  # heavy import, only when scoring

    out = np.zeros(len(calls))
    for i, (n, p) in enumerate(zip(calls, rate, strict=True)):
        n = int(n)
        if n <= 0 or p <= 0.0 or p >= 1.0:
            continue
        k = np.arange(n + 1)
        out[i] = float(np.sum(binom.pmf(k, n, p) * np.abs(k / n - p)))
    return out


def wait_floor(calls: np.ndarray, wait_sum: np.ndarray, wait_sq_sum: np.ndarray) -> np.ndarray:
    """sqrt(2/pi) * sd / sqrt(n) per hour (s): E|mean - mu| of n independent waits with the
    hour's sample standard deviation (normal approximation). Waits in one hour are positively
    correlated (shared queue), so the true floor is higher: this one is a lower bound."""
    n = np.asarray(calls, dtype=float)
    mean = wait_sum / n
    var = np.maximum(wait_sq_sum / n - mean**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
    return np.sqrt(2.0 / math.pi) * np.sqrt(var / n)


def score_validation_cells(
    cells: pd.DataFrame, methods: list[str], min_calls_hour: int, min_calls_cell: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score (date, hour) ``cells`` (see :class:`FitValidation`): ``(by_hour, errors, monthly)``.

    Pooled per hour of day over hours of day with >= ``min_calls_hour`` calls; per date-hour
    over cells with >= ``min_calls_cell`` calls, each weighted equally, beside the noise floors
    of the same cells (:func:`binomial_floor`, :func:`wait_floor`).
    """
    sums = [
        c
        for c in cells.columns
        if c.startswith(("sim_", "ea_")) or c in ("calls", "abandoned", "wait_sum")
    ]
    agents = [c for c in cells.columns if c.startswith("agents_")]
    g = cells.groupby("hour")
    by_hour = g[sums].sum().join(g[agents].mean())
    by_hour = by_hour[by_hour["calls"] >= min_calls_hour]
    out = pd.DataFrame(index=by_hour.index)
    out["calls"] = by_hour["calls"]
    out["obs_abandon"] = by_hour["abandoned"] / by_hour["calls"]
    out["obs_wait"] = by_hour["wait_sum"] / by_hour["calls"]
    rows = []
    monthly = []
    tot_calls = cells["calls"].sum()
    obs_ab_all = cells["abandoned"].sum() / tot_calls
    obs_w_all = cells["wait_sum"].sum() / tot_calls
    big = cells["calls"] >= 10
    # per date-hour scoring: hours with >= min_calls_cell calls, each hour weighted equally
    h = cells[cells["calls"] >= min_calls_cell]
    hn = h["calls"].to_numpy(dtype=float)
    h_ab = h["abandoned"].to_numpy(dtype=float) / hn
    h_w = h["wait_sum"].to_numpy(dtype=float) / hn
    ab_floor = 100 * float(binomial_floor(hn, h_ab).mean()) if len(h) else math.nan
    w_floor = (
        float(
            wait_floor(hn, h["wait_sum"].to_numpy(float), h["wait_sq_sum"].to_numpy(float)).mean()
        )
        if len(h) and "wait_sq_sum" in h
        else math.nan
    )
    month = cells["cell"].dt.strftime("%Y-%m")
    mg = cells.groupby(month)
    for m in methods:
        out[f"agents_{m}"] = by_hour[f"agents_{m}"]
        for model in ("sim", "ea"):
            ab = by_hour[f"{model}_abandoned_{m}"] / by_hour["calls"]
            wt = by_hour[f"{model}_wait_sum_{m}"] / by_hour["calls"]
            out[f"{model}_abandon_{m}"] = ab
            out[f"{model}_wait_{m}"] = wt
            c = cells[big]
            cell_ab_err = (c[f"{model}_abandoned_{m}"] - c["abandoned"]).abs() / c["calls"]
            cell_w_err = (c[f"{model}_wait_sum_{m}"] - c["wait_sum"]).abs() / c["calls"]
            h_ab_mae = 100 * float(
                np.abs(h[f"{model}_abandoned_{m}"].to_numpy(float) / hn - h_ab).mean()
            )
            h_w_mae = float(np.abs(h[f"{model}_wait_sum_{m}"].to_numpy(float) / hn - h_w).mean())
            pred_ab_all = cells[f"{model}_abandoned_{m}"].sum() / tot_calls
            pred_w_all = cells[f"{model}_wait_sum_{m}"].sum() / tot_calls
            name = "simulation" if model == "sim" else "erlang_a"
            rows.append(
                {
                    "staffing": m,
                    "model": name,
                    "abandon_mae_pp_by_hour": 100 * float((ab - out["obs_abandon"]).abs().mean()),
                    "abandon_rel_err_by_hour": float(
                        ((ab - out["obs_abandon"]).abs() / out["obs_abandon"]).mean()
                    ),
                    "wait_mae_s_by_hour": float((wt - out["obs_wait"]).abs().mean()),
                    "wait_rel_err_by_hour": float(
                        ((wt - out["obs_wait"]).abs() / out["obs_wait"]).mean()
                    ),
                    "abandon_mae_pp_cells": 100
                    * float(np.average(cell_ab_err, weights=c["calls"])),
                    "wait_mae_s_cells": float(np.average(cell_w_err, weights=c["calls"])),
                    "date_hours": len(h),
                    "abandon_mae_pp_date_hour": h_ab_mae,
                    "abandon_floor_pp_date_hour": ab_floor,
                    "abandon_mae_over_floor": h_ab_mae / ab_floor if ab_floor else math.nan,
                    "wait_mae_s_date_hour": h_w_mae,
                    "wait_floor_s_date_hour": w_floor,
                    "wait_mae_over_floor": h_w_mae / w_floor if w_floor else math.nan,
                    "abandon_overall_obs": float(obs_ab_all),
                    "abandon_overall_pred": float(pred_ab_all),
                    "abandon_overall_ratio": float(pred_ab_all / obs_ab_all)
                    if obs_ab_all
                    else math.nan,
                    "wait_overall_obs": float(obs_w_all),
                    "wait_overall_pred": float(pred_w_all),
                    "wait_overall_ratio": float(pred_w_all / obs_w_all) if obs_w_all else math.nan,
                }
            )
            s = mg[["calls", "abandoned", "wait_sum", f"{model}_abandoned_{m}",
                    f"{model}_wait_sum_{m}"]].sum()  # fmt: skip
            for mo, r in s.iterrows():
                monthly.append(
                    {
                        "staffing": m,
                        "model": name,
                        "month": mo,
                        "calls": int(r["calls"]),
                        "abandon_obs": r["abandoned"] / r["calls"],
                        "abandon_pred": r[f"{model}_abandoned_{m}"] / r["calls"],
                        "abandon_ratio": r[f"{model}_abandoned_{m}"] / r["abandoned"]
                        if r["abandoned"]
                        else math.nan,
                        "wait_obs": r["wait_sum"] / r["calls"],
                        "wait_pred": r[f"{model}_wait_sum_{m}"] / r["calls"],
                        "wait_ratio": r[f"{model}_wait_sum_{m}"] / r["wait_sum"]
                        if r["wait_sum"]
                        else math.nan,
                    }
                )
    return out.reset_index(), pd.DataFrame(rows), pd.DataFrame(monthly)


def validation_plot_base64(v: FitValidation) -> str:
    """Base64 PNG: observed vs predicted abandonment (%) and mean wait (s) by hour of day."""
    h = v.by_hour
    with figure(12, 4.2) as (fig, ax):
        grid = fig.add_gridspec(1, 2)
        ax.set_subplotspec(grid[0, 0])
        axes = (ax, fig.add_subplot(grid[0, 1]))
        for a, what, scale, label in (
            (axes[0], "abandon", 100.0, "abandonment (% of calls)"),
            (axes[1], "wait", 1.0, "mean wait (s, all calls)"),
        ):
            a.plot(h["hour"], h[f"obs_{what}"] * scale, "ko-", lw=2, label="observed")
            for m in v.methods:
                for model, ls in (("sim", "-"), ("ea", "--")):
                    a.plot(
                        h["hour"],
                        h[f"{model}_{what}_{m}"] * scale,
                        ls,
                        label=f"{'simulation' if model == 'sim' else 'Erlang A'} / {m}",
                    )
            a.set_xlabel("hour of day (local)")
            a.set_ylabel(label)
            a.set_ylim(bottom=0)  # rates and waits read against zero
            a.grid(alpha=0.3)
        # outside the axes: the legend never hides a curve
        axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return png_base64(fig, dpi=110)


def validation_html(v: FitValidation) -> str:
    """Self-contained HTML page (plot embedded as base64, error and hourly tables)."""
    plot = img(validation_plot_base64(v), "observed vs predicted abandonment and mean wait by hour")
    return render(
        "fit_validation.html",
        notes=v.notes,
        plot=plot,
        errors=table(v.errors),
        monthly=table(v.monthly),
        provenance=table(v.provenance),
        by_hour=table(v.by_hour),
    )
