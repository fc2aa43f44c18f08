"""MLflow tracking setup, model registry, champion promotion, export and loading.

- :func:`tracking_config` resolves where runs, artifacts and the Optuna study live: MLflow at
  ``MLFLOW_TRACKING_URI`` (default ``sqlite:///mlruns/mlflow.db``), artifacts and
  ``optuna.db`` in ``SLARISK_MLRUNS`` (default ``mlruns/``), relative to the working directory.
- :func:`decide_promotion` is the pure rule: the alias ``champion`` moves only when the new
  model beats the elapsed-fraction rule and the current champion on the *same* backtest, on
  ROC AUC (by more than ``min_delta``) **and** on the Brier score.
- :func:`export_model` writes the champion to ``models/`` (pickle + JSON metadata + model card).
- :func:`load_champion` loads ``models:/<name>@champion`` from the registry and falls back to
  ``models/`` when no registry is reachable (or it has no champion); the scorer and API use it.

MLflow is imported inside the functions (it takes seconds to import, and the scoring service
imports this module but touches MLflow only when it loads a champion from the registry). Every
call goes through an explicit ``MlflowClient(tracking_uri=..., registry_uri=...)`` (runs are
:class:`TrackedRun` objects from :func:`start_run`): MLflow's process-wide tracking and registry
URIs and its active run are never used or changed.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from slarisk.errors import SlariskError
from slarisk.risk.model import RiskModel, load_model, save_model
from slarisk.risk.model_card import ModelCard, render_model_card
from slarisk.tracking import (
    TrackingConfig,
    prepare_store,
    sqlite_path,
    tracking_config,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


MODEL_NAME = "slarisk-breach-risk"
CHAMPION_ALIAS = "champion"
#: metrics where a larger value is better; the others (brier, log_loss, ece) are minimised.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "precision_top10", "recall_top10"})
#: pip requirements logged with the model (explicit: inference costs ~10 s per log_model).
PIP_REQUIREMENTS = ("slarisk", "scikit-learn", "lightgbm", "pandas", "numpy")


class ChampionNotFoundError(SlariskError):
    """Neither the registry nor the export directory has a champion model."""


def tracking_client(cfg: TrackingConfig) -> MlflowClient:
    """A client of ``cfg``'s tracking store and model registry (the same URI); the local store
    directories are created. Every MLflow call of slarisk goes through such a client (or an
    explicit URI): nothing sets MLflow's process-wide tracking or registry URI."""
    from mlflow import MlflowClient

    prepare_store(cfg)
    return MlflowClient(tracking_uri=cfg.tracking_uri, registry_uri=cfg.tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, cfg: TrackingConfig) -> str:
    """Id of the experiment ``name``; created with its artifacts under ``cfg.artifact_root``."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = (cfg.artifact_root / name).as_uri()
    return str(client.create_experiment(name, artifact_location=location))


@dataclass(frozen=True)
class TrackedRun:
    """One MLflow run, written through an explicit client (see :func:`start_run`)."""

    client: MlflowClient
    run_id: str
    experiment_id: str

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(str(k), str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now_ms = int(time.time() * 1000)
        items = [Metric(str(k), float(v), now_ms, step) for k, v in metrics.items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[i : i + 1000])

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_metrics({key: value}, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(str(k), str(v)) for k, v in tags.items()])

    def set_tag(self, key: str, value: Any) -> None:
        self.client.set_tag(self.run_id, key, str(value))

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(local_path), artifact_path)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Write ``data`` as the artifact ``artifact_file`` (e.g. ``plots/x.png``)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(artifact_file).name
            path.write_bytes(data)
            parent = str(Path(artifact_file).parent)
            self.log_artifact(path, None if parent == "." else parent)

    def log_dict(self, data: Any, artifact_file: str) -> None:
        self.client.log_dict(self.run_id, data, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    @property
    def artifact_uri(self) -> str:
        return str(self.client.get_run(self.run_id).info.artifact_uri)


@contextmanager
def start_run(
    client: MlflowClient,
    experiment_id: str,
    run_name: str,
    *,
    tags: Mapping[str, str] | None = None,
    parent: TrackedRun | None = None,
) -> Iterator[TrackedRun]:
    """A new run (nested under ``parent`` when given), ended when the block ends: FINISHED,
    or FAILED when the block raises (KILLED on an interrupt)."""
    all_tags = dict(tags or {})
    if parent is not None:
        all_tags["mlflow.parentRunId"] = parent.run_id
    run = client.create_run(experiment_id, tags=all_tags, run_name=run_name)
    tracked = TrackedRun(client, run.info.run_id, experiment_id)
    status = "FAILED"
    try:
        yield tracked
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        client.set_terminated(tracked.run_id, status)


# --------------------------------------------------------------------------------------------
# Promotion rule
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromotionRule:
    """The metrics compared on the backtest, the margin required, and the calibration gate.

    ``metric`` is the primary metric (the new model must beat the champion on it by more than
    ``min_delta``); every metric of ``also`` must be strictly better too, against the champion
    and the rule baseline alike (default: AUC **and** Brier, so a model that ranks better but
    is calibrated worse than the rule or the champion is never promoted).
    """

    metric: str = "roc_auc"
    min_delta: float = 0.0
    max_ece: float | None = None
    also: tuple[str, ...] = ("brier",)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The primary metric, then the other required metrics (no duplicates)."""
        return (self.metric, *(m for m in dict.fromkeys(self.also) if m != self.metric))


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the new version becomes the champion, and why."""

    promote: bool
    reason: str
    metric: str
    new_value: float
    champion_value: float | None = None
    champion_version: str | None = None

    def as_tags(self) -> dict[str, str]:
        """MLflow tags recording the decision."""
        return {
            "promotion.decision": "promoted" if self.promote else "kept_champion",
            "promotion.reason": self.reason,
            "promotion.metric": self.metric,
            "promotion.new_value": f"{self.new_value:.6g}",
            "promotion.champion_value": (
                "" if self.champion_value is None else f"{self.champion_value:.6g}"
            ),
            "promotion.champion_version": self.champion_version or "",
        }


def _gain(metric: str, new: float, other: float) -> float:
    """How much better ``new`` is than ``other`` (positive = better) in ``metric``'s units."""
    return new - other if metric in HIGHER_IS_BETTER else other - new


def decide_promotion(
    new: Mapping[str, float],
    champion: Mapping[str, float] | None,
    rule: PromotionRule,
    *,
    champion_version: str | None = None,
    champion_error: str | None = None,
    baseline: Mapping[str, float] | None = None,
    baseline_name: str = "elapsed_rule",
) -> PromotionDecision:
    """Compare the new model's backtest metrics with the champion's on the *same* backtest.

    Every metric of ``rule.metrics`` (default ROC AUC and Brier) must be better: against the
    champion by more than ``min_delta`` on the primary metric and strictly on the others.
    ``champion`` is None when there is no champion (promote, subject to the gates) or when it
    could not be evaluated on this backtest (``champion_error`` says why: keep the champion).
    ``baseline`` (e.g. the elapsed-fraction rule's metrics on the same rows): a model that does
    not strictly beat it on every metric of the rule is never promoted, champion or not.
    """
    m = rule.metric
    values: dict[str, float] = {}
    for name in rule.metrics:
        if name not in new or not math.isfinite(float(new[name])):
            raise ValueError(f"the new model has no finite {name!r} metric")
        values[name] = float(new[name])
    value = values[m]

    def keep(reason: str, champ: float | None = None) -> PromotionDecision:
        return PromotionDecision(False, reason, m, value, champ, champion_version)

    def word(name: str) -> str:
        return "higher" if name in HIGHER_IS_BETTER else "lower"

    if rule.max_ece is not None:
        ece = float(new.get("ece", math.nan))
        if not ece <= rule.max_ece:
            return keep(f"calibration gate: ECE {ece:.4f} > max_ece {rule.max_ece:.4f}")
    if baseline is not None:
        for name, v in values.items():
            if name not in baseline or not math.isfinite(float(baseline[name])):
                continue
            base = float(baseline[name])
            if not _gain(name, v, base) > 0.0:
                return keep(
                    f"{name} {v:.4f} does not beat the {baseline_name} baseline's {base:.4f} "
                    f"on the same backtest ({word(name)} is better)"
                )
    if champion is None:
        if champion_error is not None:
            return keep(
                f"champion v{champion_version} could not be evaluated on this backtest "
                f"({champion_error}); use --force-promote to replace it"
            )
        return PromotionDecision(True, "no champion yet", m, value, None, None)
    champs: dict[str, float] = {}
    for name in rule.metrics:
        if name not in champion or not math.isfinite(float(champion[name])):
            return keep(f"champion has no finite {name!r} on this backtest")
        champs[name] = float(champion[name])
    champ = champs[m]
    gain = _gain(m, value, champ)
    if not gain > rule.min_delta:
        return keep(
            f"{m} {value:.4f} does not beat champion v{champion_version} {champ:.4f} on the same "
            f"backtest ({word(m)} is better; gain {gain:+.4f} <= min_delta {rule.min_delta:g})",
            champ,
        )
    others = []
    for name in rule.metrics[1:]:
        g = _gain(name, values[name], champs[name])
        if not g > 0.0:
            return keep(
                f"{m} beats champion v{champion_version} but {name} {values[name]:.4f} does not "
                f"beat its {champs[name]:.4f} on the same backtest ({word(name)} is better)",
                champ,
            )
        others.append(f"{name} {values[name]:.4f} vs {champs[name]:.4f}")
    also = f"; also {', '.join(others)}" if others else ""
    return PromotionDecision(
        True,
        f"{m} {value:.4f} vs champion v{champion_version} {champ:.4f} on the same backtest "
        f"({word(m)} is better; gain {gain:+.4f} > min_delta {rule.min_delta:g}){also}",
        m,
        value,
        champ,
        champion_version,
    )


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
def log_risk_model(run: TrackedRun, model: RiskModel, features_example: pd.DataFrame) -> str:
    """Log ``model`` as the artifact ``model`` of ``run`` (sklearn flavour, pyfunc
    ``predict_proba``) with a signature (feature frame -> breach probability) and an input
    example. Returns the model's artifact URI (the source of a registered version)."""
    from mlflow.models import infer_signature

    example = features_example.head(5).reset_index(drop=True)
    signature = infer_signature(example, model.predict_proba(example))
    sk_log = logging.getLogger("mlflow.sklearn")
    level = sk_log.level
    sk_log.setLevel(logging.ERROR)  # the pickle-format warning: expected, see below
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "model"
            _save_sklearn(model, local, example, signature)
            run.client.log_artifacts(run.run_id, str(local), "model")
    finally:
        sk_log.setLevel(level)
    return f"{run.artifact_uri}/model"


def _save_sklearn(model: RiskModel, path: Path, example: pd.DataFrame, signature: Any) -> None:
    import mlflow.sklearn

    mlflow.sklearn.save_model(
        sk_model=model,
        path=str(path),
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        pip_requirements=list(PIP_REQUIREMENTS),
        # skops cannot serialise RiskModel (it holds frames and project classes); the registry
        # is written only by our own training runs, so pickle-based loading is trusted here.
        serialization_format="cloudpickle",
    )


def register_version(
    client: MlflowClient,
    source: str,
    name: str,
    *,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register the model at ``source`` (an artifact URI) as a new version of ``name`` (the
    registered model is created when missing); returns the version (str)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    mv = client.create_model_version(name, source, run_id=run_id, tags=dict(tags or {}))
    return str(mv.version)


def load_registered_model(client: MlflowClient, uri: str, name: str, version: str) -> Any:
    """The sklearn model of version ``version`` of ``name`` in the registry at ``uri`` (the
    client's tracking and registry URI)."""
    import mlflow.artifacts
    import mlflow.sklearn

    source = client.get_model_version_download_uri(name, version)
    parsed = urlparse(source)
    if parsed.scheme == "file" and Path(url2pathname(parsed.path)).is_dir():
        return mlflow.sklearn.load_model(url2pathname(parsed.path))  # a local store: no copy
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=tmp, tracking_uri=uri, registry_uri=uri
        )
        return mlflow.sklearn.load_model(local)


def champion_version(client: MlflowClient, name: str = MODEL_NAME) -> ModelVersion | None:
    """The version holding the ``champion`` alias, or None (no model or no alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None


def set_champion(
    client: MlflowClient, name: str, version: str, decision: PromotionDecision
) -> None:
    """Move the ``champion`` alias to ``version`` and tag the version with the decision."""
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    for key, value in decision.as_tags().items():
        client.set_model_version_tag(name, version, key, value)


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportedModel:
    """Files written by :func:`export_model`."""

    model_path: Path
    metadata_path: Path
    card_path: Path


def export_model(
    model: RiskModel, card: ModelCard, models_dir: Path = Path("models")
) -> ExportedModel:
    """Write ``<name>.pkl``, ``<name>.json`` (card data) and ``<name>.md`` to ``models_dir``."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    model_path = save_model(model, models_dir / f"{card.name}.pkl")
    meta_path = models_dir / f"{card.name}.json"
    meta_path.write_text(json.dumps(asdict(card), indent=2, default=str), encoding="utf-8")
    card_path = models_dir / f"{card.name}.md"
    card_path.write_text(render_model_card(card), encoding="utf-8")
    return ExportedModel(model_path, meta_path, card_path)


# --------------------------------------------------------------------------------------------
# Loading the champion
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Champion:
    """A loaded champion model and where it came from."""

    model: RiskModel
    version: str
    source: str  # "registry" or "file"
    uri: str
    trained_at: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def registry_reachable(tracking_uri: str) -> bool:
    """Cheap check before importing MLflow: a local SQLite store must exist (never create one)."""
    db = sqlite_path(tracking_uri)
    if db is not None:
        return db.is_file()
    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        return Path(tracking_uri.removeprefix("file://")).is_dir()
    return True  # remote server: try it


def _load_from_registry(uri: str, name: str, alias: str) -> Champion | None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except Exception:
        return None
    model_uri = f"models:/{name}@{alias}"
    model = load_registered_model(client, uri, name, str(mv.version))
    metrics: dict[str, float] = {}
    trained_at = None
    if mv.run_id:
        run = client.get_run(mv.run_id)
        metrics = {
            k.removeprefix("test_"): float(v)
            for k, v in run.data.metrics.items()
            if k.startswith("test_")
        }
        trained_at = run.data.tags.get("slarisk.trained_at")
    return Champion(
        model=model,
        version=str(mv.version),
        source="registry",
        uri=model_uri,
        trained_at=trained_at,
        metrics=metrics,
        details={"run_id": mv.run_id, "tags": dict(mv.tags or {})},
    )


def _load_from_dir(models_dir: Path, name: str) -> Champion | None:
    path = Path(models_dir) / f"{name}.pkl"
    if not path.is_file():
        return None
    meta_path = path.with_suffix(".json")
    meta: dict[str, Any] = {}
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return Champion(
        model=load_model(path),
        version=str(meta.get("version", "unknown")),
        source="file",
        uri=str(path),
        trained_at=meta.get("trained_at"),
        metrics={k: float(v) for k, v in meta.get("metrics", {}).items()},
        details={"run_id": meta.get("run_id"), "data_fingerprint": meta.get("data_fingerprint")},
    )


def load_champion(
    tracking_uri: str | None = None,
    models_dir: Path = Path("models"),
    *,
    name: str = MODEL_NAME,
    alias: str = CHAMPION_ALIAS,
) -> Champion:
    """Load ``models:/<name>@<alias>`` from the registry; fall back to ``models_dir`` when no
    registry is reachable or it has no such alias. Raises :class:`ChampionNotFoundError`."""
    uri = tracking_config(tracking_uri).tracking_uri
    tried: list[str] = []
    if registry_reachable(uri):
        try:
            found = _load_from_registry(uri, name, alias)
        except Exception as exc:  # unreachable server, corrupt store: use the export
            tried.append(f"registry {uri}: {type(exc).__name__}: {exc}".splitlines()[0])
        else:
            if found is not None:
                return found
            tried.append(f"registry {uri}: no {name}@{alias}")
    else:
        tried.append(f"registry {uri}: not reachable")
    found = _load_from_dir(models_dir, name)
    if found is not None:
        return found
    tried.append(f"{Path(models_dir) / (name + '.pkl')}: not found")
    raise ChampionNotFoundError(
        "no champion model ("
        + "; ".join(tried)
        + "); run `slarisk train pipelines/breach_risk.yaml`"
    )
