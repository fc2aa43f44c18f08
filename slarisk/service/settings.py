"""Service settings, read from the environment (prefix ``SLARISK_``) or passed explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of the HTTP service; every field can be set as ``SLARISK_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SLARISK_", extra="ignore", frozen=True)

    host: str = Field(
        default="127.0.0.1", description="Interface `slarisk serve` binds (loopback)."
    )
    port: int = Field(default=8000, ge=1, le=65535)
    db_path: Path = Field(
        default=Path("slarisk_service.db"),
        description="SQLite file holding API keys (hashed), simulation jobs and the audit trail.",
    )
    policy_path: Path = Field(
        default=Path("policies/default.yaml"), description="SLA policy YAML used to score tickets."
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow registry (default: $MLFLOW_TRACKING_URI, mlruns/)."
    )
    model_name: str = Field(
        default="slarisk-breach-risk", description="Registered MLflow model name."
    )
    model_alias: str = Field(default="champion", description="Registry alias of the model served.")
    models_dir: Path = Field(
        default=Path("models"), description="Exported champion used when no registry is reachable."
    )
    load_model: bool = Field(
        default=True, description="Load the champion at startup (off: degraded)."
    )
    max_batch_size: int = Field(
        default=5000, ge=1, description="Most tickets in one score request."
    )
    max_body_bytes: int = Field(
        default=5_000_000, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_horizon_days: float = Field(
        default=92.0, gt=0, description="Longest simulation horizon (warm-up included), in days."
    )
    max_drain_hours: float = Field(
        default=336.0, gt=0, description="Longest drain after the horizon, in hours."
    )
    max_replications: int = Field(
        default=50, ge=1, description="Most replications in one simulation."
    )
    max_expected_arrivals: int = Field(
        default=2_000_000, ge=1, description="Most tickets expected in one simulation replication."
    )
    max_staffing_intervals: int = Field(
        default=20_000, ge=1, description="Most intervals in one staffing request."
    )
    max_forecast_rows: int = Field(
        default=100_000, ge=1, description="Most history rows (tickets or volumes) per forecast."
    )
    max_forecast_queues: int = Field(default=20, ge=1, description="Most queues in one forecast.")
    max_forecast_history_days: int = Field(
        default=800, ge=42, description="Longest history span of a forecast, in days."
    )
    max_forecast_path_values: int = Field(
        default=500_000,
        ge=1,
        description="Most sample-path values (paths x queues x days x intervals) per forecast.",
    )
    max_schedule_rows: int = Field(
        default=20_000, ge=1, description="Most requirement rows in one schedule request."
    )
    max_schedule_agents: int = Field(
        default=500, ge=1, description="Most agents in one schedule request."
    )
    max_schedule_templates: int = Field(
        default=2000, ge=1, description="Most shift templates a schedule's catalogue expands to."
    )
    scenario_dir: Path = Field(
        default=Path("simulations"),
        description="Folder of the scenario YAML files a schedule verification may name.",
    )
    max_verify_replication_weeks: int = Field(
        default=40,
        ge=1,
        description="Most replications x weeks simulated per round of a schedule verification.",
    )
    max_verify_agents: int = Field(
        default=200, ge=1, description="Most agents in one schedule verification."
    )
    job_workers: int = Field(
        default=1, ge=1, le=8, description="Simulation jobs run at once (threads)."
    )
    audit_store_inputs: bool = Field(
        default=False, description="Also keep the (compressed) request body in the audit trail."
    )
