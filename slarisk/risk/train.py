"""Training orchestration: spec -> data -> landmarks/features -> Optuna -> backtest -> registry.

:func:`train` runs one pipeline spec (:mod:`slarisk.risk.spec`):

1. load the history with the spec's importer and the SLA policy; fingerprint the data;
2. build the landmark training set and its features (:func:`slarisk.risk.landmarks.
   build_training_data`);
3. time-ordered split (:func:`slarisk.risk.evaluate.time_split`): the last ``test_fraction`` of
   tickets by creation time is the backtest, never seen while tuning;
4. Optuna study (TPE with the spec's seed, median pruning over expanding-window time folds of
   the training part; storage ``sqlite:///<mlruns>/optuna.db``), one nested MLflow run per
   trial;
5. backtest of the best parameters against the baselines (:func:`slarisk.risk.evaluate.
   backtest`), logged to the parent MLflow run with plots, importances and the fingerprint;
6. registration as ``slarisk-breach-risk``; the alias ``champion`` moves only when the new
   model beats the elapsed-fraction rule and the current champion evaluated on the same
   backtest rows on ROC AUC and Brier (``promotion.metric`` and ``promotion.also``)
   (:func:`slarisk.risk.registry.decide_promotion`); the champion is exported to ``models/``.

Same seed and data give the same metrics (seeded TPE, deterministic single-process LightGBM).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.data.io import load_events, load_staffing, load_tickets, read_table
from slarisk.data.servicenow import import_servicenow
from slarisk.errors import InputError
from slarisk.risk import registry as reg
from slarisk.risk.evaluate import (
    BacktestReport,
    backtest,
    classification_metrics,
    importance_png,
    time_split,
)
from slarisk.risk.feature_indexes import as_categorical
from slarisk.risk.features import NEEDS_STAFFING_FEATURES
from slarisk.risk.landmarks import TrainingData, build_training_data
from slarisk.risk.model_card import build_model_card
from slarisk.risk.spec import TrainSpec
from slarisk.risk.tuning import TrialEvent, model_params, trial_seed, tune
from slarisk.sla.policy import load_policy

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from slarisk.sla.policy import Policy


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class History:
    """Canonical history read by a spec's importer."""

    tickets: pd.DataFrame
    events: pd.DataFrame | None
    staffing: pd.DataFrame | None
    source: str
    lines: tuple[str, ...] = ()  # reconciliation lines (input = accepted + quarantined)
    #: quarantined rows per input (``row, field, reason`` + raw values); logged to MLflow.
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)


def _load_canonical(spec: TrainSpec) -> History:
    src = Path(spec.data.source)
    if not src.is_dir():
        raise InputError(
            "data source directory not found (run `slarisk data generate` first?)",
            path=str(src),
            field="data.source",
        )
    t = load_tickets(src / spec.data.tickets)
    results = {"tickets": t}
    events = staffing = None
    absent = []
    if spec.data.events is not None and (src / spec.data.events).is_file():
        e = load_events(src / spec.data.events, known_ticket_ids=t.accepted[s.TICKET_ID])
        events, results["events"] = e.accepted, e
    elif spec.data.events is not None:
        absent.append(
            f"no events table in {src} ({spec.data.events}): SLA clocks run without pauses "
            "(no feature uses events)"
        )
    if spec.data.staffing is not None and (src / spec.data.staffing).is_file():
        st = load_staffing(src / spec.data.staffing)
        staffing, results["staffing"] = st.accepted, st
    return History(
        t.accepted,
        events,
        staffing,
        str(src),
        (*(r.summary() for r in results.values()), *absent),
        {k: r.quarantined for k, r in results.items() if r.n_quarantined},
    )


def _load_servicenow(spec: TrainSpec) -> History:
    src = Path(spec.data.source)
    result = import_servicenow(read_table(src), str(src))
    q = result.quarantine()
    return History(
        result.tickets.accepted,
        result.events,
        None,
        str(src),
        tuple(result.lines()),
        {"servicenow": q} if len(q) else {},
    )


_IMPORTERS: dict[str, Callable[[TrainSpec], History]] = {
    "canonical": _load_canonical,
    "servicenow": _load_servicenow,
}


def load_history(spec: TrainSpec) -> History:
    """Read the spec's data source with its importer (``max_tickets`` keeps the earliest)."""
    hist = _IMPORTERS[spec.data.importer](spec)
    n = spec.data.max_tickets
    if n is not None and len(hist.tickets) > n:
        t = hist.tickets.sort_values([s.CREATED_AT, s.TICKET_ID], kind="stable").head(n)
        keep = set(t[s.TICKET_ID])
        ev = hist.events
        if ev is not None:
            ev = ev[ev[s.TICKET_ID].isin(keep)]
        hist = History(
            t.reset_index(drop=True),
            ev,
            hist.staffing,
            hist.source,
            (*hist.lines, f"kept the earliest {n:,} tickets (data.max_tickets)"),
            hist.quarantine,
        )
    if hist.tickets.empty:
        raise InputError("no usable tickets in the data source", path=hist.source)
    return hist


def available_features(spec: TrainSpec, history: History) -> tuple[TrainSpec, tuple[str, ...]]:
    """``spec`` with the features the history cannot feed turned off, and one line per group.

    Without a staffing table (or with ``features.staffing: false``) the staffing features
    (:data:`slarisk.risk.features.NEEDS_STAFFING_FEATURES`) would be constant: they join
    ``features.exclude``, so the model does not have them and scores without a roster.
    """
    if spec.features.staffing and history.staffing is not None:
        return spec, ()
    off = [c for c in NEEDS_STAFFING_FEATURES if c not in spec.features.exclude]
    if not off:
        return spec, ()
    why = (
        "features.staffing is false"
        if not spec.features.staffing
        else f"no staffing table in {history.source}"
    )
    features = spec.features.model_copy(update={"exclude": (*spec.features.exclude, *off)})
    return (
        spec.model_copy(update={"features": features}),
        (f"{why}: staffing features off ({', '.join(off)})",),
    )


def data_fingerprint(*frames: pd.DataFrame | None) -> str:
    """sha256 over the column names and row hashes of the frames (order-sensitive)."""
    h = hashlib.sha256()
    for df in frames:
        if df is None:
            h.update(b"<none>")
            continue
        h.update(json.dumps([str(c) for c in df.columns]).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def build_data(spec: TrainSpec, history: History, policy: Policy) -> TrainingData:
    """Landmark set + features of the spec."""
    lm = spec.landmarks
    data = build_training_data(
        history.tickets,
        policy,
        events=history.events,
        staffing=history.staffing,
        use_history=spec.features.history,
        use_staffing=spec.features.staffing and history.staffing is not None,
        scheme=lm.scheme,
        fractions=lm.fractions,
        every_hours=lm.every_hours,
        max_per_ticket=lm.max_per_ticket,
        metrics=lm.metrics,
        label=lm.label,
        censoring=lm.censoring,
    )
    if spec.features.attributes:
        missing = [c for c in spec.features.attributes if c not in history.tickets]
        if missing:
            raise InputError(
                f"ticket column(s) not in the data: {missing}",
                path=history.source,
                field="features.attributes",
            )
        t = history.tickets.set_index(s.TICKET_ID)
        ids = data.meta[s.TICKET_ID]
        for col in spec.features.attributes:  # a handful of columns
            vals = t[col].reindex(ids).astype(object).where(lambda v: v.notna(), s.UNKNOWN)
            data.X[col] = as_categorical(vals.astype(str).to_numpy())
    if len(data.y) == 0 or len(np.unique(data.y)) < 2:
        raise InputError(
            f"the landmark set has {len(data.y)} rows and needs both breached and met outcomes",
            path=history.source,
        )
    return data


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainResult:
    """What one training produced (metrics on the backtest; baselines on the same rows)."""

    run_id: str
    experiment_id: str
    version: str | None
    decision: reg.PromotionDecision
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    champion_metrics: dict[str, float] | None
    by_age: pd.DataFrame
    best_params: dict[str, Any]
    best_cv: float
    n_trials: int
    n_pruned: int
    data_fingerprint: str
    n_rows: int
    cutoff: pd.Timestamp
    seconds: float
    exported: reg.ExportedModel | None = None
    report: BacktestReport | None = field(default=None, repr=False)


def _feature_options(spec: TrainSpec) -> dict[str, Any]:
    """``exclude`` / ``at_opening_only`` / ``attributes`` / ``queue_wait`` for
    :func:`slarisk.risk.evaluate.backtest` (and the tuning folds), from the spec's
    ``features`` section."""
    return {
        "exclude": tuple(spec.features.exclude),
        "at_opening_only": spec.features.at_opening_only,
        "attributes": tuple(spec.features.attributes),
        "queue_wait": spec.features.queue_wait,
    }


def _finite(d: Mapping[Any, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[str(k)] = f
    return out


def _champion_on_backtest(
    client: MlflowClient, uri: str, name: str, X_test: pd.DataFrame, y_test: np.ndarray
) -> tuple[dict[str, float] | None, str | None, str | None]:
    """(metrics, version, error) of the current champion scored on the same backtest rows."""
    mv = reg.champion_version(client, name)
    if mv is None:
        return None, None, None
    try:
        champ = reg.load_registered_model(client, uri, name, str(mv.version))
        p = np.asarray(champ.predict_proba(X_test), dtype=np.float64)
        if p.ndim == 2:
            p = p[:, 1]
        return classification_metrics(y_test, p), str(mv.version), None
    except Exception as exc:  # a champion with other features cannot score these rows
        return None, str(mv.version), f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def _spec_params(spec: TrainSpec) -> dict[str, Any]:
    return {
        "spec.name": spec.name,
        "data.importer": spec.data.importer,
        "data.source": str(spec.data.source),
        "data.max_tickets": spec.data.max_tickets,
        "policy": str(spec.policy),
        "landmarks.scheme": spec.landmarks.scheme,
        "landmarks.fractions": ",".join(f"{f:g}" for f in spec.landmarks.fractions),
        "landmarks.every_hours": spec.landmarks.every_hours,
        "landmarks.metrics": ",".join(spec.landmarks.metrics),
        "landmarks.label": spec.landmarks.label,
        "landmarks.censoring": spec.landmarks.censoring,
        "features.history": spec.features.history,
        "features.staffing": spec.features.staffing,
        "features.exclude": ",".join(spec.features.exclude),
        "features.attributes": ",".join(spec.features.attributes),
        "features.at_opening_only": spec.features.at_opening_only,
        "split.test_fraction": spec.split.test_fraction,
        "split.folds": spec.split.folds,
        "split.fold_fraction": spec.split.fold_fraction,
        "split.purge": spec.split.purge,
        "search.n_trials": spec.search.n_trials,
        "search.objective": spec.search.objective,
        "search.pruner": spec.search.pruner,
        "promotion.metric": spec.promotion.metric,
        "promotion.min_delta": spec.promotion.min_delta,
        "promotion.also": ",".join(spec.promotion.also),
        "promotion.max_ece": spec.promotion.max_ece,
        "seed": spec.seed,
    }


def train(
    spec: TrainSpec,
    *,
    tracking_uri: str | None = None,
    mlruns_dir: Path | None = None,
    models_dir: Path = Path("models"),
    force_promote: bool = False,
    on_stage: Callable[[str], None] | None = None,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> TrainResult:
    """Run the whole training pipeline of ``spec`` (see the module docstring)."""

    def stage(msg: str) -> None:
        if on_stage is not None:
            on_stage(msg)

    t_start = time.perf_counter()
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    stage("loading data")
    policy = load_policy(spec.policy)
    history = load_history(spec)
    for line in history.lines:
        stage(line)
    spec, off_lines = available_features(spec, history)
    feature_opts = _feature_options(spec)
    for line in off_lines:
        stage(line)
    fingerprint = data_fingerprint(history.tickets, history.events, history.staffing)
    stage("building landmarks and features")
    data = build_data(spec, history, policy)
    train_mask, test_mask, cutoff = time_split(
        data.meta, spec.split.test_fraction, spec.split.purge
    )
    if len(np.unique(data.y[train_mask])) < 2 or len(np.unique(data.y[test_mask])) < 2:
        raise InputError(
            "the time-ordered split leaves one side without both outcomes (more data or another "
            "split.test_fraction)",
            path=str(spec.path),
            field="split.test_fraction",
        )
    stage(
        f"{len(data.y):,} landmark rows: train {int(train_mask.sum()):,}, backtest "
        f"{int(test_mask.sum()):,} (cutoff {cutoff:%Y-%m-%d %H:%M} UTC)"
    )

    cfg = reg.tracking_config(tracking_uri, mlruns_dir)
    stage(f"tracking at {cfg.tracking_uri}")
    client = reg.tracking_client(cfg)
    exp_id = reg.ensure_experiment(client, spec.tracking.experiment, cfg)
    name = spec.tracking.registered_model

    with reg.start_run(client, exp_id, f"{spec.name}-{trained_at}") as run:
        run_id = run.run_id
        run.set_tags(
            {
                "slarisk.spec": spec.name,
                "slarisk.trained_at": trained_at,
                "slarisk.data_fingerprint": fingerprint,
                "slarisk.data_source": history.source,
            }
        )
        run.log_params(_spec_params(spec))
        if spec.path is not None and Path(spec.path).is_file():
            run.log_artifact(str(spec.path), artifact_path="spec")
        run.log_dict({"lines": list(history.lines), "fingerprint": fingerprint}, "data.json")
        for kind, q in history.quarantine.items():
            run.log_text(q.to_csv(index=False), f"data/quarantine_{kind}.csv")

        stage(f"tuning: {spec.search.n_trials} trials")
        study = tune(
            spec,
            data,
            train_mask,
            storage=cfg.optuna_storage,
            study_name=f"{spec.name}-{run_id}",
            parent=run,
            on_trial=on_trial,
        )
        import optuna  # ~1 s to import: as in tuning, only when training

        states = [t.state for t in study.trials]
        n_pruned = sum(st == optuna.trial.TrialState.PRUNED for st in states)
        best = dict(study.best_params)
        params = model_params(spec, best)
        run.log_params({f"model.{k}": v for k, v in params.items()})
        run.log_metrics(
            {
                f"cv_{spec.search.objective}": float(study.best_value),
                "trials_complete": float(
                    sum(st == optuna.trial.TrialState.COMPLETE for st in states)
                ),
                "trials_pruned": float(n_pruned),
            }
        )

        stage("backtest of the best parameters against the baselines")
        _, model_seed = trial_seed(spec.seed)
        report = backtest(
            data,
            params,
            test_fraction=spec.split.test_fraction,
            purge=spec.split.purge,
            random_state=model_seed,
            tickets=history.tickets,
            folds=spec.split.folds,
            fold_fraction=spec.split.fold_fraction,
            **feature_opts,
        )
        if "logistic_C" in report.info:
            run.log_params({"baseline.logistic_C": report.info["logistic_C"]})
        model = report.model
        assert model is not None
        model.metadata.update(
            {
                "spec": spec.name,
                "run_id": run_id,
                "trained_at": trained_at,
                "data_fingerprint": fingerprint,
                "params": params,
            }
        )
        overall = {str(r["model"]): _finite(r) for r in report.overall.to_dict(orient="records")}
        metrics = overall.pop("model")
        run.log_metrics({f"test_{k}": v for k, v in metrics.items()})
        for base, vals in overall.items():
            run.log_metrics({f"baseline_{base}_{k}": v for k, v in vals.items()})
        by_age = report.by_age
        for rec in by_age.to_dict(orient="records"):
            if rec.get("model") == "model":
                age = f"{float(rec['landmark']):g}"
                run.log_metrics(
                    {
                        f"test_age_{age}_{k}": float(rec[k])
                        for k in ("roc_auc", "brier", "ece")
                        if k in rec and math.isfinite(float(rec[k]))
                    }
                )
        run.log_bytes(report.reliability_png, "plots/reliability.png")
        run.log_bytes(importance_png(report.feature_importance), "plots/feature_importance.png")
        run.log_dict(
            {str(k): float(v) for k, v in report.feature_importance.items()},
            "feature_importance.json",
        )
        run.log_text(report.overall.to_csv(index=False), "backtest/overall.csv")
        run.log_text(by_age.to_csv(index=False), "backtest/by_age.csv")
        if len(report.by_segment):
            run.log_text(report.by_segment.to_csv(index=False), "backtest/by_segment.csv")

        stage("registering the model")
        test_data = data.subset(test_mask)
        model_source = reg.log_risk_model(run, model, test_data.X)
        champ_metrics, champ_version, champ_error = _champion_on_backtest(
            client, cfg.tracking_uri, name, test_data.X, test_data.y
        )
        version = reg.register_version(
            client,
            model_source,
            name,
            run_id=run_id,
            tags={"run_id": run_id, "data_fingerprint": fingerprint},
        )
        rule = reg.PromotionRule(
            spec.promotion.metric,
            spec.promotion.min_delta,
            spec.promotion.max_ece,
            tuple(spec.promotion.also),
        )
        decision = reg.decide_promotion(
            metrics,
            champ_metrics,
            rule,
            champion_version=champ_version,
            champion_error=champ_error,
            baseline=overall.get("elapsed_rule"),
        )
        if force_promote and not decision.promote:
            decision = reg.PromotionDecision(
                True,
                f"forced (--force-promote); rule said: {decision.reason}",
                decision.metric,
                decision.new_value,
                decision.champion_value,
                decision.champion_version,
            )
        run.set_tags(decision.as_tags())
        run.set_tag("slarisk.model_version", version)
        if champ_metrics is not None:
            run.log_metrics({f"champion_{k}": v for k, v in _finite(champ_metrics).items()})
        for key, value in decision.as_tags().items():
            client.set_model_version_tag(name, version, key, value)
        exported = None
        if decision.promote:
            reg.set_champion(client, name, version, decision)
            card = build_model_card(
                spec,
                version,
                run_id,
                trained_at,
                history.source,
                fingerprint,
                data,
                train_mask,
                test_mask,
                metrics,
                overall,
                by_age,
                params,
                decision,
                report,
            )
            exported = reg.export_model(model, card, models_dir)
            run.log_artifact(str(exported.card_path), artifact_path="model_card")
        run.log_metric("train_seconds", time.perf_counter() - t_start)

    return TrainResult(
        run_id=run_id,
        experiment_id=exp_id,
        version=version,
        decision=decision,
        metrics=metrics,
        baselines=overall,
        champion_metrics=None if champ_metrics is None else _finite(champ_metrics),
        by_age=by_age,
        best_params=best,
        best_cv=float(study.best_value),
        n_trials=len(study.trials),
        n_pruned=n_pruned,
        data_fingerprint=fingerprint,
        n_rows=len(data.y),
        cutoff=cutoff,
        seconds=time.perf_counter() - t_start,
        exported=exported,
        report=report,
    )
