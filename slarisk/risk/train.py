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
   model beats the current champion evaluated on the same backtest rows
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
from slarisk.errors import InputError
from slarisk.risk import registry as reg
from slarisk.risk.spec import TrainSpec

if TYPE_CHECKING:
    import optuna

    from slarisk.risk.evaluate import BacktestReport
    from slarisk.risk.landmarks import TrainingData
    from slarisk.sla.policy import Policy

#: objectives Optuna maximises; the others are minimised.
_MAXIMISE = frozenset({"roc_auc", "pr_auc"})


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
    from slarisk.data.io import load_events, load_staffing, load_tickets

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
    if spec.data.events is not None:
        e = load_events(src / spec.data.events, known_ticket_ids=t.accepted[s.TICKET_ID])
        events, results["events"] = e.accepted, e
    if spec.data.staffing is not None:
        st = load_staffing(src / spec.data.staffing)
        staffing, results["staffing"] = st.accepted, st
    return History(
        t.accepted,
        events,
        staffing,
        str(src),
        tuple(r.summary() for r in results.values()),
        {k: r.quarantined for k, r in results.items() if r.n_quarantined},
    )


def _load_servicenow(spec: TrainSpec) -> History:
    from slarisk.data.io import read_table
    from slarisk.data.servicenow import import_servicenow

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
    from slarisk.risk.landmarks import build_training_data

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
        from slarisk.risk.features import as_categorical

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
# Tuning
# --------------------------------------------------------------------------------------------
def time_folds(
    meta: pd.DataFrame, train_mask: np.ndarray, folds: int, fold_fraction: float, purge: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds inside the training rows: (fit mask, validation mask) pairs.

    The last ``folds x fold_fraction`` of training tickets (by creation time) are cut into
    ``folds`` consecutive validation windows; each fold fits on the tickets created before its
    window (purged of outcomes not known at the window start).
    """
    created = meta["created_at"]
    tick = meta.loc[train_mask, ["ticket_id", "created_at"]].drop_duplicates("ticket_id")
    times = tick["created_at"].sort_values(kind="stable").to_numpy()
    n = len(times)
    out = []
    for k in range(folds):
        lo = int(np.floor((1.0 - (folds - k) * fold_fraction) * n))
        hi = int(np.floor((1.0 - (folds - k - 1) * fold_fraction) * n))
        if lo <= 0 or hi <= lo:
            continue
        start = times[lo]
        val = train_mask & (created >= start).to_numpy()
        if hi < n:
            val &= (created < times[hi]).to_numpy()
        fit = train_mask & (created < start).to_numpy()
        if purge:
            known = meta["outcome_known_at"]
            fit &= (known.isna() | (known < start)).to_numpy()
        out.append((fit, val))
    return out


def _suggest(trial: optuna.Trial, spec: TrainSpec) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, r in spec.search.space.items():
        if r.type == "int":
            params[name] = trial.suggest_int(name, int(r.low), int(r.high), log=r.log)
        else:
            params[name] = trial.suggest_float(name, r.low, r.high, log=r.log)
    return params


def model_params(spec: TrainSpec, tuned: Mapping[str, Any]) -> dict[str, Any]:
    """Flat model parameters: fixed + tuned + calibration + thread count (for make_pipeline),
    plus the monotone constraints when the spec sets any."""
    mono: dict[str, Any] = {}
    if spec.model.monotone_constraints:
        mono = {
            "monotone_constraints": dict(spec.model.monotone_constraints),
            "monotone_constraints_method": spec.model.monotone_constraints_method,
        }
    return {
        **spec.search.fixed,
        **tuned,
        "calibration": spec.model.calibration,
        "calibration_fraction": spec.model.calibration_fraction,
        "calibration_offset": spec.model.calibration_offset,
        "refit_full": spec.model.refit_full,
        "n_jobs": spec.model.num_threads,
        **mono,
    }


def default_trial(spec: TrainSpec) -> dict[str, Any]:
    """The first trial: :data:`slarisk.risk.model.DEFAULT_PARAMS` over the search space (clipped
    to each range), so the study never returns parameters worse on the folds than the defaults."""
    from slarisk.risk.model import DEFAULT_PARAMS

    out: dict[str, Any] = {}
    for name, r in spec.search.space.items():
        if name not in DEFAULT_PARAMS:
            continue
        v = min(max(float(DEFAULT_PARAMS[name]), r.low), r.high)
        out[name] = round(v) if r.type == "int" else v
    return out


@dataclass(frozen=True)
class TrialEvent:
    """Progress report after each trial."""

    number: int
    n_trials: int
    state: str  # COMPLETE, PRUNED or FAIL
    value: float | None
    best_value: float | None
    seconds: float


def _fold_score(objective: str, y: np.ndarray, p: np.ndarray) -> float:
    from slarisk.risk.evaluate import classification_metrics

    return float(classification_metrics(y, p)[objective])


def _trial_seed(seed: int) -> tuple[int, int]:
    """(sampler seed, model seed) derived from the spec seed."""
    a, b = np.random.SeedSequence(seed).generate_state(2)
    return int(a), int(b) % (2**31 - 1)


def tune(
    spec: TrainSpec,
    data: TrainingData,
    train_mask: np.ndarray,
    *,
    storage: str | None,
    study_name: str,
    log_trials: bool = True,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> optuna.Study:
    """Optuna study over the spec's search space on time folds of the training rows.

    Each trial reports its running mean objective after every fold; the median pruner stops
    trials worse than the median of earlier trials at the same fold. With ``log_trials``, each
    trial is a nested MLflow run of the active run.
    """
    import optuna

    from slarisk.risk.model import (
        categorical_feature_columns,
        make_pipeline,
        numeric_feature_columns,
    )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    obj = spec.search.objective
    sampler_seed, model_seed = _trial_seed(spec.seed)
    folds = time_folds(
        data.meta, train_mask, spec.split.folds, spec.split.fold_fraction, spec.split.purge
    )
    folds = [(f, v) for f, v in folds if len(np.unique(data.y[f])) == 2 and v.any()]
    if not folds:
        raise InputError(
            "too little training data for the tuning folds (lower split.folds or "
            "split.fold_fraction, or add history)",
            path=str(spec.path),
            field="split",
        )
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
        if spec.search.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="maximize" if obj in _MAXIMISE else "minimize",
        sampler=optuna.samplers.TPESampler(
            seed=sampler_seed, n_startup_trials=min(10, max(2, spec.search.n_trials // 3))
        ),
        pruner=pruner,
    )

    def objective(trial: optuna.Trial) -> float:
        tuned = _suggest(trial, spec)
        params = model_params(spec, tuned)
        scores: list[float] = []
        run = None
        if log_trials:
            import mlflow

            parent = mlflow.active_run()
            run = mlflow.start_run(
                experiment_id=parent.info.experiment_id if parent is not None else None,
                run_name=f"trial-{trial.number:03d}",
                nested=True,
                tags={"optuna.study": study_name, "optuna.trial": str(trial.number)},
            )
            mlflow.log_params({f"model.{k}": v for k, v in params.items()})
        try:
            for k, (fit, val) in enumerate(folds):
                pipe = make_pipeline(
                    params,
                    categorical=categorical_feature_columns(
                        spec.features.exclude, spec.features.attributes
                    ),
                    numeric=numeric_feature_columns(
                        data.priorities, spec.features.exclude, spec.features.at_opening_only
                    ),
                    random_state=model_seed,
                )
                pipe.fit(data.X[fit], data.y[fit])
                p = pipe.predict_proba(data.X[val])[:, 1]
                scores.append(_fold_score(obj, data.y[val], p))
                running = float(np.mean(scores))
                trial.report(running, step=k)
                if run is not None:
                    import mlflow

                    mlflow.log_metric(f"fold_{obj}", scores[-1], step=k)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {k + 1}: {obj} {running:.4f}")
            value = float(np.mean(scores))
            if run is not None:
                import mlflow

                mlflow.log_metric(f"cv_{obj}", value)
                mlflow.set_tag("optuna.state", "COMPLETE")
            return value
        except optuna.TrialPruned:
            if run is not None:
                import mlflow

                mlflow.set_tag("optuna.state", "PRUNED")
            raise
        finally:
            if run is not None:
                import mlflow

                mlflow.end_run()

    t0 = time.perf_counter()

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if on_trial is None:
            return
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        on_trial(
            TrialEvent(
                number=trial.number,
                n_trials=spec.search.n_trials,
                state=trial.state.name,
                value=trial.value,
                best_value=study.best_value if complete else None,
                seconds=time.perf_counter() - t0,
            )
        )

    start = default_trial(spec)
    if start:
        study.enqueue_trial(start)
    study.optimize(
        objective,
        n_trials=spec.search.n_trials,
        timeout=spec.search.timeout_seconds,
        callbacks=[callback],
        n_jobs=1,
    )
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise RuntimeError("no Optuna trial completed")
    return study


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
    """``exclude`` / ``at_opening_only`` / ``attributes`` for :func:`slarisk.risk.evaluate.
    backtest` (and the tuning folds), from the spec's ``features`` section."""
    return {
        "exclude": tuple(spec.features.exclude),
        "at_opening_only": spec.features.at_opening_only,
        "attributes": tuple(spec.features.attributes),
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


def _importance_png(imp: pd.Series, top: int = 20) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    share = (imp / (imp.sum() or 1.0)).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(share) + 1.2), dpi=100)
    ax.barh([str(i) for i in share.index], share.to_numpy())
    ax.set_xlabel("share of total gain")
    ax.set_title("Feature importance (LightGBM gain)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _champion_on_backtest(
    client: Any, name: str, X_test: pd.DataFrame, y_test: np.ndarray
) -> tuple[dict[str, float] | None, str | None, str | None]:
    """(metrics, version, error) of the current champion scored on the same backtest rows."""
    import mlflow.sklearn

    from slarisk.risk.evaluate import classification_metrics

    mv = reg.champion_version(client, name)
    if mv is None:
        return None, None, None
    try:
        champ = mlflow.sklearn.load_model(f"models:/{name}@{reg.CHAMPION_ALIAS}")
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
    import mlflow
    from mlflow import MlflowClient

    from slarisk.risk.evaluate import backtest, time_split
    from slarisk.sla.policy import load_policy

    def stage(msg: str) -> None:
        if on_stage is not None:
            on_stage(msg)

    t_start = time.perf_counter()
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    feature_opts = _feature_options(spec)
    stage("loading data")
    policy = load_policy(spec.policy)
    history = load_history(spec)
    for line in history.lines:
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
    with reg.mlflow_uris(cfg):
        exp_id = reg.ensure_experiment(spec.tracking.experiment, cfg)
        client = MlflowClient(tracking_uri=cfg.tracking_uri, registry_uri=cfg.tracking_uri)
        name = spec.tracking.registered_model

        with mlflow.start_run(experiment_id=exp_id, run_name=f"{spec.name}-{trained_at}") as run:
            run_id = run.info.run_id
            mlflow.set_tags(
                {
                    "slarisk.spec": spec.name,
                    "slarisk.trained_at": trained_at,
                    "slarisk.data_fingerprint": fingerprint,
                    "slarisk.data_source": history.source,
                }
            )
            mlflow.log_params(_spec_params(spec))
            if spec.path is not None and Path(spec.path).is_file():
                mlflow.log_artifact(str(spec.path), artifact_path="spec")
            mlflow.log_dict({"lines": list(history.lines), "fingerprint": fingerprint}, "data.json")
            for kind, q in history.quarantine.items():
                mlflow.log_text(q.to_csv(index=False), f"data/quarantine_{kind}.csv")

            stage(f"tuning: {spec.search.n_trials} trials")
            study = tune(
                spec,
                data,
                train_mask,
                storage=cfg.optuna_storage,
                study_name=f"{spec.name}-{run_id}",
                on_trial=on_trial,
            )
            import optuna

            states = [t.state for t in study.trials]
            n_pruned = sum(st == optuna.trial.TrialState.PRUNED for st in states)
            best = dict(study.best_params)
            params = model_params(spec, best)
            mlflow.log_params({f"model.{k}": v for k, v in params.items()})
            mlflow.log_metrics(
                {
                    f"cv_{spec.search.objective}": float(study.best_value),
                    "trials_complete": float(
                        sum(st == optuna.trial.TrialState.COMPLETE for st in states)
                    ),
                    "trials_pruned": float(n_pruned),
                }
            )

            stage("backtest of the best parameters against the baselines")
            _, model_seed = _trial_seed(spec.seed)
            report = backtest(
                data,
                params,
                test_fraction=spec.split.test_fraction,
                purge=spec.split.purge,
                random_state=model_seed,
                tickets=history.tickets,
                **feature_opts,
            )
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
            overall = {
                str(r["model"]): _finite(r) for r in report.overall.to_dict(orient="records")
            }
            metrics = overall.pop("model")
            mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items()})
            for base, vals in overall.items():
                mlflow.log_metrics({f"baseline_{base}_{k}": v for k, v in vals.items()})
            by_age = report.by_age
            for rec in by_age.to_dict(orient="records"):
                if rec.get("model") == "model":
                    age = f"{float(rec['landmark']):g}"
                    mlflow.log_metrics(
                        {
                            f"test_age_{age}_{k}": float(rec[k])
                            for k in ("roc_auc", "brier", "ece")
                            if k in rec and math.isfinite(float(rec[k]))
                        }
                    )
            _log_png(report.reliability_png, "plots/reliability.png")
            _log_png(_importance_png(report.feature_importance), "plots/feature_importance.png")
            mlflow.log_dict(
                {str(k): float(v) for k, v in report.feature_importance.items()},
                "feature_importance.json",
            )
            mlflow.log_text(report.overall.to_csv(index=False), "backtest/overall.csv")
            mlflow.log_text(by_age.to_csv(index=False), "backtest/by_age.csv")
            if len(report.by_segment):
                mlflow.log_text(report.by_segment.to_csv(index=False), "backtest/by_segment.csv")

            stage("registering the model")
            test_data = data.subset(test_mask)
            info = reg.log_risk_model(model, test_data.X)
            champ_metrics, champ_version, champ_error = _champion_on_backtest(
                client, name, test_data.X, test_data.y
            )
            version = reg.register_version(
                info.model_uri, name, tags={"run_id": run_id, "data_fingerprint": fingerprint}
            )
            rule = reg.PromotionRule(
                spec.promotion.metric, spec.promotion.min_delta, spec.promotion.max_ece
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
            mlflow.set_tags(decision.as_tags())
            mlflow.set_tag("slarisk.model_version", version)
            if champ_metrics is not None:
                mlflow.log_metrics({f"champion_{k}": v for k, v in _finite(champ_metrics).items()})
            for key, value in decision.as_tags().items():
                client.set_model_version_tag(name, version, key, value)
            exported = None
            if decision.promote:
                reg.set_champion(client, name, version, decision)
                card = _model_card(
                    spec,
                    version,
                    run_id,
                    trained_at,
                    history,
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
                mlflow.log_artifact(str(exported.card_path), artifact_path="model_card")
            mlflow.log_metric("train_seconds", time.perf_counter() - t_start)

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


def _log_png(png: bytes, artifact_file: str) -> None:
    import tempfile

    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / Path(artifact_file).name
        p.write_bytes(png)
        mlflow.log_artifact(str(p), artifact_path=str(Path(artifact_file).parent))


def _period(meta: pd.DataFrame) -> str:
    c = meta["created_at"]
    if c.empty:
        return "no tickets"
    return f"created {c.min():%Y-%m-%d} .. {c.max():%Y-%m-%d}"


def _model_card(
    spec: TrainSpec,
    version: str,
    run_id: str,
    trained_at: str,
    history: History,
    fingerprint: str,
    data: TrainingData,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    metrics: dict[str, float],
    baselines: dict[str, dict[str, float]],
    by_age: pd.DataFrame,
    params: dict[str, Any],
    decision: reg.PromotionDecision,
    report: BacktestReport,
) -> reg.ModelCard:
    mtr, mte = data.meta[train_mask], data.meta[test_mask]
    ages = []
    if len(by_age):
        wide = by_age.pivot_table(index="landmark", columns="model", values=["roc_auc", "brier"])
        for age, row in wide.iterrows():
            ages.append(
                {
                    "age": float(str(age)),
                    **{f"{m}_{mdl}": float(row[(m, mdl)]) for m, mdl in row.index},
                }
            )
    imp = report.feature_importance
    return reg.ModelCard(
        name=spec.tracking.registered_model,
        version=version,
        run_id=run_id,
        trained_at=trained_at,
        spec_name=str(spec.path or spec.name),
        data_source=history.source,
        data_fingerprint=fingerprint,
        n_tickets_train=int(mtr["ticket_id"].nunique()),
        n_tickets_test=int(mte["ticket_id"].nunique()),
        n_rows_train=len(mtr),
        n_rows_test=len(mte),
        period_train=_period(mtr),
        period_test=_period(mte),
        metrics=metrics,
        baselines=baselines,
        by_age=ages,
        params=params,
        decision=("promoted: " if decision.promote else "kept champion: ") + decision.reason,
        seed=spec.seed,
        feature_names=list(report.model.feature_names) if report.model else [],
        top_features=reg.feature_importance_table(
            [str(i) for i in imp.index], imp.to_numpy().tolist()
        ),
    )
