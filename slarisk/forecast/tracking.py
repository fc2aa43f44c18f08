"""MLflow tracking of forecast runs through ``MlflowClient`` (no global MLflow state).

The store is the project's (:func:`slarisk.tracking.tracking_config`: ``MLFLOW_TRACKING_URI``,
default ``sqlite:///mlruns/mlflow.db``; artifacts under ``SLARISK_MLRUNS``, default ``mlruns/``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from slarisk.tracking import prepare_store, tracking_config

EXPERIMENT = "slarisk-forecast"


def track_run(
    name: str,
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    artifacts: Sequence[Path] = (),
    *,
    tracking_uri: str | None = None,
    mlruns_dir: Path | None = None,
) -> str:
    """Log one run (params, finite metrics, artifact files); returns its run id."""
    import math

    from mlflow import MlflowClient  # heavy import, only when tracking

    cfg = tracking_config(tracking_uri, mlruns_dir)
    prepare_store(cfg)
    base = cfg.mlruns_dir
    client = MlflowClient(tracking_uri=cfg.tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        art = (base / "forecast-artifacts").resolve()
        art.mkdir(parents=True, exist_ok=True)
        exp_id = client.create_experiment(EXPERIMENT, artifact_location=art.as_uri())
    else:
        exp_id = exp.experiment_id
    run = client.create_run(exp_id, run_name=name)
    rid = run.info.run_id
    for k, v in params.items():
        client.log_param(rid, k, str(v)[:500])
    for k, val in metrics.items():
        if isinstance(val, (int, float)) and math.isfinite(val):
            client.log_metric(rid, k, float(val))
    for p in artifacts:
        if Path(p).exists():
            client.log_artifact(rid, str(p))
    client.set_terminated(rid)
    return str(rid)
