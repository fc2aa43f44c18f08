"""MLflow tracking setup, model registry, champion promotion, export and loading.

- :func:`tracking_config` resolves where runs, artifacts and the Optuna study live: MLflow at
  ``MLFLOW_TRACKING_URI`` (default ``sqlite:///mlruns/mlflow.db``), artifacts and
  ``optuna.db`` in ``SLARISK_MLRUNS`` (default ``mlruns/``), relative to the working directory.
- :func:`decide_promotion` is the pure rule: the alias ``champion`` moves only when the new
  model beats the current champion on the *same* backtest by more than ``min_delta``.
- :func:`export_model` writes the champion to ``models/`` (pickle + JSON metadata + model card).
- :func:`load_champion` loads ``models:/<name>@champion`` from the registry and falls back to
  ``models/`` when no registry is reachable (or it has no champion); the scorer and API use it.

MLflow is imported inside the functions (it takes seconds to import).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slarisk.errors import SlariskError

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from slarisk.risk.model import RiskModel

MODEL_NAME = "slarisk-breach-risk"
CHAMPION_ALIAS = "champion"
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
DEFAULT_MLRUNS = Path("mlruns")
#: metrics where a larger value is better; the others (brier, log_loss, ece) are minimised.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "precision_top10", "recall_top10"})
#: pip requirements logged with the model (explicit: inference costs ~10 s per log_model).
PIP_REQUIREMENTS = ("slarisk", "scikit-learn", "lightgbm", "pandas", "numpy")


class ChampionNotFoundError(SlariskError):
    """Neither the registry nor the export directory has a champion model."""


# --------------------------------------------------------------------------------------------
# Tracking locations
# --------------------------------------------------------------------------------------------
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


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def prepare_store(cfg: TrackingConfig) -> None:
    """Create the local directories of ``cfg`` (mlruns dir, SQLite file's parent)."""
    cfg.mlruns_dir.mkdir(parents=True, exist_ok=True)
    db = _sqlite_path(cfg.tracking_uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)


def configure_mlflow(cfg: TrackingConfig) -> None:
    """Point MLflow (tracking and registry) at ``cfg`` for the rest of the process."""
    import mlflow

    prepare_store(cfg)
    mlflow.set_tracking_uri(cfg.tracking_uri)
    mlflow.set_registry_uri(cfg.tracking_uri)


@contextmanager
def using_uri(uri: str) -> Iterator[None]:
    """Point MLflow tracking and registry at ``uri`` for the block, then restore the
    process-wide URIs as they were (one training or load does not redirect later MLflow use)."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved = (
        getattr(tracking_utils, "_tracking_uri", None),
        getattr(registry_utils, "_registry_uri", None),
    )
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        if hasattr(tracking_utils, "_tracking_uri"):
            tracking_utils._tracking_uri = saved[0]
        if hasattr(registry_utils, "_registry_uri"):
            registry_utils._registry_uri = saved[1]


@contextmanager
def mlflow_uris(cfg: TrackingConfig) -> Iterator[None]:
    """:func:`using_uri` for a training: also creates the local store directories."""
    prepare_store(cfg)
    with using_uri(cfg.tracking_uri):
        yield


def ensure_experiment(name: str, cfg: TrackingConfig) -> str:
    """Id of the experiment ``name``; created with its artifacts under ``cfg.artifact_root``."""
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = (cfg.artifact_root / name).as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


# --------------------------------------------------------------------------------------------
# Promotion rule
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromotionRule:
    """The metric compared on the backtest, the margin required, and the calibration gate."""

    metric: str = "roc_auc"
    min_delta: float = 0.0
    max_ece: float | None = None


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

    ``champion`` is None when there is no champion (promote, subject to the ECE gate) or when it
    could not be evaluated on this backtest (``champion_error`` says why: keep the champion).
    ``baseline`` (e.g. the elapsed-fraction rule's metrics on the same rows): a model that does
    not beat it on the promotion metric is never promoted, champion or not.
    """
    m = rule.metric
    if m not in new or not math.isfinite(float(new[m])):
        raise ValueError(f"the new model has no finite {m!r} metric")
    value = float(new[m])
    higher = m in HIGHER_IS_BETTER

    def keep(reason: str, champ: float | None = None) -> PromotionDecision:
        return PromotionDecision(False, reason, m, value, champ, champion_version)

    if rule.max_ece is not None:
        ece = float(new.get("ece", math.nan))
        if not ece <= rule.max_ece:
            return keep(f"calibration gate: ECE {ece:.4f} > max_ece {rule.max_ece:.4f}")
    if baseline is not None and m in baseline and math.isfinite(float(baseline[m])):
        base = float(baseline[m])
        if not (value > base if higher else value < base):
            return keep(
                f"{m} {value:.4f} does not beat the {baseline_name} baseline's {base:.4f} "
                "on the same backtest"
            )
    if champion is None:
        if champion_error is not None:
            return keep(
                f"champion v{champion_version} could not be evaluated on this backtest "
                f"({champion_error}); use --force-promote to replace it"
            )
        return PromotionDecision(True, "no champion yet", m, value, None, None)
    if m not in champion or not math.isfinite(float(champion[m])):
        return keep(f"champion has no finite {m!r} on this backtest")
    champ = float(champion[m])
    gain = value - champ if higher else champ - value
    word = "higher" if higher else "lower"
    if gain > rule.min_delta:
        return PromotionDecision(
            True,
            f"{m} {value:.4f} vs champion v{champion_version} {champ:.4f} on the same backtest "
            f"({word} is better; gain {gain:+.4f} > min_delta {rule.min_delta:g})",
            m,
            value,
            champ,
            champion_version,
        )
    return keep(
        f"{m} {value:.4f} does not beat champion v{champion_version} {champ:.4f} on the same "
        f"backtest ({word} is better; gain {gain:+.4f} <= min_delta {rule.min_delta:g})",
        champ,
    )


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
def log_risk_model(model: RiskModel, features_example: pd.DataFrame) -> Any:
    """Log ``model`` in the active run as ``model`` (sklearn flavour, pyfunc ``predict_proba``)
    with a signature (feature frame -> breach probability) and an input example.

    Returns MLflow's ``ModelInfo``.
    """
    from mlflow.models import infer_signature

    example = features_example.head(5).reset_index(drop=True)
    signature = infer_signature(example, model.predict_proba(example))
    sk_log = logging.getLogger("mlflow.sklearn")
    level = sk_log.level
    sk_log.setLevel(logging.ERROR)  # the pickle-format warning: expected, see below
    try:
        return _log_sklearn(model, example, signature)
    finally:
        sk_log.setLevel(level)


def _log_sklearn(model: RiskModel, example: pd.DataFrame, signature: Any) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.log_model(
        sk_model=model,
        name="model",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        pip_requirements=list(PIP_REQUIREMENTS),
        # skops cannot serialise RiskModel (it holds frames and project classes); the registry
        # is written only by our own training runs, so pickle-based loading is trusted here.
        serialization_format="cloudpickle",
    )


def register_version(model_uri: str, name: str, tags: Mapping[str, str] | None = None) -> str:
    """Register ``model_uri`` as a new version of ``name``; returns the version (str)."""
    import mlflow

    mv = mlflow.register_model(model_uri, name, tags=dict(tags or {}))
    return str(mv.version)


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
# Export and model card
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelCard:
    """What the generated model card says about an exported champion."""

    name: str
    version: str
    run_id: str
    trained_at: str
    spec_name: str
    data_source: str
    data_fingerprint: str
    n_tickets_train: int
    n_tickets_test: int
    n_rows_train: int
    n_rows_test: int
    period_train: str
    period_test: str
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    by_age: list[dict[str, Any]]
    params: dict[str, Any]
    decision: str
    seed: int
    feature_names: list[str] = field(default_factory=list)
    top_features: list[tuple[str, float]] = field(default_factory=list)


_CARD_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "precision_top10", "recall_top10")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.4f}"
    return str(v)


def render_model_card(card: ModelCard) -> str:
    """Markdown model card: metrics vs baselines, data fingerprint, params, use, limitations."""
    rows = {"model": card.metrics, **card.baselines}
    cols = [m for m in _CARD_METRICS if any(m in r for r in rows.values())]
    lines = [
        f"# Model card: {card.name} v{card.version}",
        "",
        "Generated by `slarisk train`; do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| version | {card.version} |",
        f"| MLflow run | `{card.run_id}` |",
        f"| trained at (UTC) | {card.trained_at} |",
        f"| training spec | `{card.spec_name}` |",
        f"| data source | `{card.data_source}` |",
        f"| data fingerprint (sha256) | `{card.data_fingerprint}` |",
        f"| seed | {card.seed} |",
        f"| promotion | {card.decision} |",
        "",
        "## Intended use",
        "",
        "Ranks open support tickets by their probability of breaching an SLA target "
        "(first response or resolution), given the ticket, the queue, the staffing and the "
        "recent history known at the time of scoring. It supports triage and work ordering by "
        "team leads; it does not replace the SLA clock itself, and breach decisions (credits, "
        "penalties) must come from the clock, not from this model.",
        "",
        "## Data and backtest",
        "",
        "Time-ordered split by ticket creation time: the model is trained on the past and "
        "evaluated on the future (all observations of a ticket fall on one side).",
        "",
        f"- training: {card.n_tickets_train:,} tickets, {card.n_rows_train:,} landmark rows, "
        f"{card.period_train}",
        f"- backtest: {card.n_tickets_test:,} tickets, {card.n_rows_test:,} landmark rows, "
        f"{card.period_test}",
        "",
        "## Metrics on the backtest",
        "",
        "| model | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for label, r in rows.items():
        lines.append(f"| {label} | " + " | ".join(_fmt(r.get(c, math.nan)) for c in cols) + " |")
    if card.by_age:
        keys = [k for k in card.by_age[0] if k != "age"]
        lines += [
            "",
            "### By landmark age (fraction of the target elapsed)",
            "",
            "| age | " + " | ".join(keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for row in card.by_age:
            lines.append(
                f"| {float(row['age']):g} | " + " | ".join(_fmt(row.get(k)) for k in keys) + " |"
            )
    lines += ["", "## Parameters", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(card.params.items())]
    if card.top_features:
        lines += ["", "## Most important features (gain share)", "", "| feature | share |"]
        lines += ["|---|---|"] + [f"| {n} | {v:.3f} |" for n, v in card.top_features]
    lines += [
        "",
        "## Limitations",
        "",
        "- Trained on one desk's history: re-train and re-check calibration before using it on "
        "another desk, a changed SLA policy or changed priorities.",
        "- Probabilities are calibrated on a held-out slice near the end of the training "
        "period; drift in volumes, staffing or breach rates beyond what the training period "
        "saw degrades calibration (watch the reliability plot of each training run).",
        "- Features only use what was known at the observation time; labels of training "
        "tickets whose outcome was unknown at the backtest cutoff are purged when the spec says "
        "so (`split.purge`).",
        "- Segments with few tickets (rare categories, groups) get noisy estimates; "
        "per-segment metrics are in the MLflow run.",
        "",
    ]
    return "\n".join(lines)


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
    from slarisk.risk.model import save_model

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
    db = _sqlite_path(tracking_uri)
    if db is not None:
        return db.is_file()
    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        return Path(tracking_uri.removeprefix("file://")).is_dir()
    return True  # remote server: try it


def _load_from_registry(uri: str, name: str, alias: str) -> Champion | None:
    import mlflow.sklearn
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except Exception:
        return None
    model_uri = f"models:/{name}@{alias}"
    with using_uri(uri):
        model = mlflow.sklearn.load_model(model_uri)
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
    from slarisk.risk.model import load_model

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
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
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


def feature_importance_table(
    names: Sequence[str], importances: Sequence[float], top: int = 15
) -> list[tuple[str, float]]:
    """(feature, share of total importance) for the ``top`` features, largest first."""
    total = float(sum(importances)) or 1.0
    pairs = sorted(zip(names, importances, strict=True), key=lambda p: -float(p[1]))
    return [(str(n), float(v) / total) for n, v in pairs[:top]]
