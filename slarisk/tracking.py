"""Where MLflow runs and artifacts and the Optuna studies are stored: one resolution (explicit
argument, then ``MLFLOW_TRACKING_URI`` / ``SLARISK_MLRUNS``, then ``sqlite:///mlruns/mlflow.db``
and ``mlruns/``) shared by the breach-risk registry and the forecast runs. Standard library
only: MLflow itself is imported by the code that talks to the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
DEFAULT_MLRUNS = Path("mlruns")


@dataclass(frozen=True)
class TrackingConfig:
    """Where MLflow runs and artifacts and the Optuna study are stored."""

    tracking_uri: str
    mlruns_dir: Path
    artifact_root: Path
    optuna_storage: str


def tracking_config(
    tracking_uri: str | None = None, mlruns_dir: Path | None = None
) -> TrackingConfig:
    """Resolve explicit arguments, then ``MLFLOW_TRACKING_URI`` / ``SLARISK_MLRUNS``, then the
    defaults (``sqlite:///mlruns/mlflow.db``, ``mlruns/``)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    env_dir = os.environ.get("SLARISK_MLRUNS")
    base = (
        Path(mlruns_dir) if mlruns_dir is not None else Path(env_dir) if env_dir else DEFAULT_MLRUNS
    )
    base = base.absolute()
    return TrackingConfig(
        tracking_uri=uri,
        mlruns_dir=base,
        artifact_root=base / "artifacts",
        optuna_storage=f"sqlite:///{base / 'optuna.db'}",
    )


def sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def prepare_store(cfg: TrackingConfig) -> None:
    """Create the local directories of ``cfg`` (mlruns dir, SQLite file's parent)."""
    cfg.mlruns_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite_path(cfg.tracking_uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)


__all__ = [
    "DEFAULT_MLRUNS",
    "DEFAULT_TRACKING_URI",
    "TrackingConfig",
    "prepare_store",
    "sqlite_path",
    "tracking_config",
]
