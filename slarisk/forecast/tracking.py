"""MLflow tracking of forecast runs through ``MlflowClient`` (no global MLflow state).

The store follows the project layout: ``MLFLOW_TRACKING_URI`` (default
``sqlite:///mlruns/mlflow.db``), artifacts under ``SLARISK_MLRUNS`` (default ``mlruns/``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

EXPERIMENT = "slarisk-forecast"
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"


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

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    base = mlruns_dir or Path(os.environ.get("SLARISK_MLRUNS", "mlruns"))
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///").split("?", 1)[0]).parent.mkdir(
            parents=True, exist_ok=True
        )
    client = MlflowClient(tracking_uri=uri)
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
