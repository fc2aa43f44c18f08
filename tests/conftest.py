"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]


# CI runs a fixed, reproducible set of hypothesis examples (a red build must be replayable);
# local runs keep exploring new random examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _shared_dir() -> Path:
    env = os.environ.get("SLARISK_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (real data); skips when it is absent."""
    path = _shared_dir()
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is absent (set SLARISK_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write to the repository's mlruns/: point MLflow at tmp_path."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SLARISK_MLRUNS", str(tmp_path / "mlruns"))
