"""Breach-risk model: features, training, registry and scoring of open tickets.

Modules: :mod:`~slarisk.risk.score` (score an open queue; :mod:`~slarisk.risk.fastscore` is
its array engine, :mod:`~slarisk.risk.score_inputs` its input columns,
:mod:`~slarisk.risk.score_tables` what it keeps per policy and model,
:mod:`~slarisk.risk.outputs` the bands, reasons and work order),
:mod:`~slarisk.risk.features` and :mod:`~slarisk.risk.feature_indexes` (point-in-time
features), :mod:`~slarisk.risk.landmarks` (training set), :mod:`~slarisk.risk.model` and
:mod:`~slarisk.risk.classifier` (the estimator), :mod:`~slarisk.risk.evaluate` (backtest),
:mod:`~slarisk.risk.tuning` and :mod:`~slarisk.risk.train` (training pipeline),
:mod:`~slarisk.risk.registry` and :mod:`~slarisk.risk.model_card` (MLflow, export, loading),
:mod:`~slarisk.risk.spec` (training spec), :mod:`~slarisk.risk.servicenow_eval` (public
ServiceNow log evaluation; :mod:`~slarisk.risk.servicenow_history` its known-before-t
features), :mod:`~slarisk.risk.treekernel` (compiled tree scoring).
"""

from slarisk.risk.classifier import BreachClassifier
from slarisk.risk.evaluate import (
    BacktestReport,
    LogisticChoice,
    backtest,
    classification_metrics,
    time_split,
    tune_logistic,
)
from slarisk.risk.features import FeatureContext, build_context, build_features, feature_names
from slarisk.risk.landmarks import TrainingData, build_landmarks, build_training_data
from slarisk.risk.model import (
    DEFAULT_PARAMS,
    RiskModel,
    fit_risk_model,
    load_model,
    make_pipeline,
    out_of_range,
    save_model,
    workload_range,
)
from slarisk.risk.model_card import ModelCard, build_model_card, render_model_card
from slarisk.risk.outputs import (
    BREACHED_BAND,
    RISK_BANDS,
    SCORE_COLUMNS,
    priority_weights,
    scores_frame,
    top_reasons,
    work_order_ranks,
)
from slarisk.risk.registry import (
    Champion,
    ChampionNotFoundError,
    ExportedModel,
    PromotionDecision,
    PromotionRule,
    decide_promotion,
    export_model,
    load_champion,
    tracking_config,
)
from slarisk.risk.score import score_open_tickets
from slarisk.risk.servicenow_eval import evaluate_servicenow
from slarisk.risk.spec import TrainSpec, load_spec, parse_spec
from slarisk.risk.train import History, TrainResult, build_data, load_history, train
from slarisk.risk.tuning import TrialEvent, model_params, tune

__all__ = [
    "BREACHED_BAND",
    "DEFAULT_PARAMS",
    "RISK_BANDS",
    "SCORE_COLUMNS",
    "BacktestReport",
    "BreachClassifier",
    "Champion",
    "ChampionNotFoundError",
    "ExportedModel",
    "FeatureContext",
    "History",
    "LogisticChoice",
    "ModelCard",
    "PromotionDecision",
    "PromotionRule",
    "RiskModel",
    "TrainResult",
    "TrainSpec",
    "TrainingData",
    "TrialEvent",
    "backtest",
    "build_context",
    "build_data",
    "build_features",
    "build_landmarks",
    "build_model_card",
    "build_training_data",
    "classification_metrics",
    "decide_promotion",
    "evaluate_servicenow",
    "export_model",
    "feature_names",
    "fit_risk_model",
    "load_champion",
    "load_history",
    "load_model",
    "load_spec",
    "make_pipeline",
    "model_params",
    "out_of_range",
    "parse_spec",
    "priority_weights",
    "render_model_card",
    "save_model",
    "score_open_tickets",
    "scores_frame",
    "time_split",
    "top_reasons",
    "tracking_config",
    "train",
    "tune",
    "tune_logistic",
    "work_order_ranks",
    "workload_range",
]
