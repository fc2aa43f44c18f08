"""Hyper-parameter tuning of the breach-risk model: an Optuna study over time folds.

:func:`tune` runs the spec's search (TPE with the spec's seed, median pruning) on
expanding-window folds of the training rows (:func:`time_folds`); each trial is a nested MLflow
run of the training's run (``parent``). :func:`model_params` turns the tuned values plus the
spec's fixed settings into the flat parameters of :func:`slarisk.risk.model.make_pipeline`;
:func:`default_trial` is the first trial enqueued (the model's defaults). Used by
:func:`slarisk.risk.train.train`.

Optuna is imported inside :func:`tune` (about a second to import; the scoring service, which
imports ``slarisk.risk``, never tunes); trial runs go through the parent run's MLflow client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from slarisk.errors import InputError
from slarisk.risk.evaluate import classification_metrics, time_folds
from slarisk.risk.model import (
    DEFAULT_PARAMS,
    categorical_feature_columns,
    make_pipeline,
    numeric_feature_columns,
)
from slarisk.risk.registry import TrackedRun, start_run
from slarisk.risk.spec import TrainSpec

if TYPE_CHECKING:
    import optuna

    from slarisk.risk.landmarks import TrainingData

#: objectives Optuna maximises; the others are minimised.
_MAXIMISE = frozenset({"roc_auc", "pr_auc"})


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
    return float(classification_metrics(y, p)[objective])


def trial_seed(seed: int) -> tuple[int, int]:
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
    parent: TrackedRun | None = None,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> optuna.Study:
    """Optuna study over the spec's search space on time folds of the training rows.

    Each trial reports its running mean objective after every fold; the median pruner stops
    trials worse than the median of earlier trials at the same fold. With ``log_trials`` and a
    ``parent`` run (:func:`slarisk.risk.registry.start_run`), each trial is a nested MLflow run
    of it.
    """
    import optuna  # heavy: only when tuning

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    obj = spec.search.objective
    sampler_seed, model_seed = trial_seed(spec.seed)
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
        if not log_trials or parent is None:
            return _run_folds(trial, params, None)
        pruned: optuna.TrialPruned | None = None
        with start_run(
            parent.client,
            parent.experiment_id,
            f"trial-{trial.number:03d}",
            tags={"optuna.study": study_name, "optuna.trial": str(trial.number)},
            parent=parent,
        ) as run:
            run.log_params({f"model.{k}": v for k, v in params.items()})
            try:
                value = _run_folds(trial, params, run)
            except optuna.TrialPruned as exc:  # the run itself ends normally
                run.set_tag("optuna.state", "PRUNED")
                pruned = exc
            else:
                run.log_metric(f"cv_{obj}", value)
                run.set_tag("optuna.state", "COMPLETE")
        if pruned is not None:
            raise pruned
        return value

    def _run_folds(trial: optuna.Trial, params: dict[str, Any], run: TrackedRun | None) -> float:
        scores: list[float] = []
        for k, (fit, val) in enumerate(folds):
            pipe = make_pipeline(
                params,
                categorical=categorical_feature_columns(
                    spec.features.exclude, spec.features.attributes
                ),
                numeric=numeric_feature_columns(
                    data.priorities,
                    spec.features.exclude,
                    spec.features.at_opening_only,
                    spec.features.queue_wait,
                ),
                random_state=model_seed,
            )
            pipe.fit(data.X[fit], data.y[fit])
            p = pipe.predict_proba(data.X[val])[:, 1]
            scores.append(_fold_score(obj, data.y[val], p))
            running = float(np.mean(scores))
            trial.report(running, step=k)
            if run is not None:
                run.log_metric(f"fold_{obj}", scores[-1], step=k)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {k + 1}: {obj} {running:.4f}")
        return float(np.mean(scores))

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
