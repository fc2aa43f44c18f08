"""Training pipeline spec (``pipelines/*.yaml``): data, policy, landmarks, split, search, promotion.

``load_spec(path)`` validates the YAML once, at entry; any problem raises
:class:`slarisk.errors.InputError` naming the file and the dotted field (``search.space.
learning_rate.low``). Relative paths inside the spec file (``data.source``, ``policy``) are
resolved against the spec file's folder, so a spec works from any working directory; a
``--data`` override given on the command line stays relative to the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from slarisk.errors import InputError
from slarisk.specs import read_yaml, unknown_field_error

Importer = Literal["canonical", "servicenow"]
SlaMetric = Literal["first_response", "resolution"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    """Where the history comes from and how it is read."""

    #: ``canonical``: a directory of canonical parquet files (``slarisk data generate`` output);
    #: ``servicenow``: the ServiceNow incident event log (CSV, gzip allowed).
    importer: Importer = "canonical"
    source: Path
    tickets: str = "tickets.parquet"
    events: str | None = "events.parquet"
    staffing: str | None = "staffing.parquet"
    #: keep only the first N tickets by creation time (quick runs); None keeps all.
    max_tickets: int | None = Field(default=None, gt=0)


class LandmarkSpec(_Strict):
    """Ages at which each ticket is observed (see :mod:`slarisk.risk.landmarks`)."""

    scheme: Literal["fractions", "every"] = "fractions"
    #: fractions of the target elapsed (business time), 0.0 = at creation.
    fractions: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    #: for scheme ``every``: one observation every this many business hours while open.
    every_hours: float | None = Field(default=None, gt=0)
    #: cap of observations per ticket and metric for scheme ``every``.
    max_per_ticket: int = Field(default=12, gt=0)
    metrics: tuple[SlaMetric, ...] = ("first_response", "resolution")
    #: ``clock``: breach from the policy's SLA clocks; ``source_made_sla``: the source's own
    #: verdict (ServiceNow ``made_sla`` false = breach).
    label: Literal["clock", "source_made_sla"] = "clock"
    #: right censoring at the end of the history: ``due`` keeps a ticket only if its nominal
    #: due time has passed (its outcome is settled whatever it is); ``known`` keeps every
    #: outcome already known, which over-represents quickly met tickets among the newest ones.
    censoring: Literal["due", "known"] = "due"

    @model_validator(mode="after")
    def _check(self) -> LandmarkSpec:
        if any(not 0.0 <= f < 1.0 for f in self.fractions):
            raise ValueError("fractions must lie in [0, 1)")
        if self.scheme == "every" and self.every_hours is None:
            raise ValueError("scheme 'every' needs every_hours")
        if not self.metrics:
            raise ValueError("metrics must name at least one SLA metric")
        return self


class FeatureSpec(_Strict):
    """Which feature groups the model sees (columns of :func:`slarisk.risk.features`)."""

    #: feature columns to drop (e.g. ``customer`` when it is high-cardinality noise).
    exclude: tuple[str, ...] = ()
    #: extra ticket columns used as categorical features (e.g. ServiceNow's ``impact``,
    #: ``urgency``, ``subcategory``); scoring then needs these columns on the open tickets.
    attributes: tuple[str, ...] = ()
    #: use staffing features (needs the ``data.staffing`` table; turned off without it).
    staffing: bool = True
    #: use rolling history features (breach rates known before t).
    history: bool = True
    #: use the queue-wait features (:data:`slarisk.risk.features.WAIT_FEATURES`; need staffing).
    queue_wait: bool = False
    #: only what is known at opening: drops the age / elapsed / time-left features (use with
    #: ``landmarks.fractions: [0.0]``).
    at_opening_only: bool = False


class SplitSpec(_Strict):
    """Time-ordered split by ticket creation time (all landmarks of a ticket on one side)."""

    #: the last fraction of tickets by creation time is the test set (the backtest).
    test_fraction: float = Field(default=0.3, gt=0.0, lt=1.0)
    #: tuning folds: expanding-window time folds inside the training part.
    folds: int = Field(default=3, ge=1, le=10)
    #: size of each tuning validation fold, as a fraction of the training tickets.
    fold_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    #: drop training tickets whose outcome was still unknown at the test cutoff.
    purge: bool = True


class ParamRange(_Strict):
    """One hyper-parameter's search range."""

    type: Literal["float", "int"] = "float"
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        if self.log and self.low <= 0:
            raise ValueError("log ranges need low > 0")
        return self


def _default_fixed() -> dict[str, float | int | str | bool]:
    return {"n_estimators": 300}


def _default_space() -> dict[str, ParamRange]:
    return {
        "learning_rate": ParamRange(low=0.02, high=0.2, log=True),
        "num_leaves": ParamRange(type="int", low=8, high=128, log=True),
        "min_child_samples": ParamRange(type="int", low=10, high=300, log=True),
        "reg_lambda": ParamRange(low=1e-3, high=10.0, log=True),
        "colsample_bytree": ParamRange(low=0.5, high=1.0),
    }


class SearchSpec(_Strict):
    """Optuna study: budget, objective, pruning and the LightGBM search space."""

    n_trials: int = Field(default=20, ge=1)
    timeout_seconds: float | None = Field(default=None, gt=0)
    #: tuning objective on the validation folds (log_loss and brier are minimised).
    objective: Literal["log_loss", "brier", "roc_auc", "pr_auc"] = "log_loss"
    pruner: Literal["median", "none"] = "median"
    space: dict[str, ParamRange] = Field(default_factory=_default_space)
    #: fixed LightGBM parameters (not tuned), e.g. n_estimators.
    fixed: dict[str, float | int | str | bool] = Field(default_factory=_default_fixed)


class ModelSpec(_Strict):
    """Final model options."""

    #: calibrator of the raw LightGBM score, fitted on a ``calibration_fraction`` slice of the
    #: time-ordered training rows held out of the trees: ``blend`` (mean of isotonic and
    #: sigmoid), ``isotonic``, ``sigmoid``, ``temperature`` (a slope on the log-odds only: keeps
    #: the trees' base rate; the shipped pipeline's choice, see docs/risk_model.md) or ``none``.
    calibration: Literal["blend", "isotonic", "sigmoid", "temperature", "none"] = "blend"
    calibration_fraction: float = Field(default=0.2, gt=0.0, lt=0.5)
    #: share of the newest training rows after the calibration slice, fitted by the trees
    #: (0: the slice is the latest rows).
    calibration_offset: float = Field(default=0.0, ge=0.0, lt=0.5)
    #: refit the trees on all training rows after fitting the calibrator (the calibrator then
    #: maps the refitted model's scores): the trees see the newest rows too.
    refit_full: bool = False
    #: monotone constraints on the trees: feature name or ``fnmatch`` pattern -> 1 (risk never
    #: decreases as the feature grows) or -1 (never increases), e.g. ``{"backlog_*": 1,
    #: "agents_*": -1}``; empty = unconstrained (see docs/risk_model.md for what they do).
    monotone_constraints: dict[str, Literal[-1, 1]] = Field(default_factory=dict)
    #: how LightGBM enforces them: ``basic`` (fastest, most conservative), ``intermediate``
    #: or ``advanced``.
    monotone_constraints_method: Literal["basic", "intermediate", "advanced"] = "basic"
    #: LightGBM threads (1 is fastest on small data and on a busy machine; fixed for
    #: reproducibility).
    num_threads: int = Field(default=1, ge=1)


class PromotionSpec(_Strict):
    """When the alias ``champion`` moves to the new version."""

    metric: Literal["roc_auc", "pr_auc", "brier", "log_loss", "ece"] = "roc_auc"
    #: the new model must beat the champion by more than this (in the metric's units).
    min_delta: float = Field(default=0.0, ge=0.0)
    #: metrics the new model must also strictly beat, against the elapsed-fraction rule and the
    #: champion on the same backtest (AUC alone let a worse-calibrated model through).
    also: tuple[Literal["roc_auc", "pr_auc", "brier", "log_loss", "ece"], ...] = ("brier",)
    #: gate: never promote a model whose expected calibration error exceeds this.
    max_ece: float | None = Field(default=None, gt=0.0)


class TrackingSpec(_Strict):
    """MLflow experiment and registered model names."""

    experiment: str = "slarisk-breach-risk"
    registered_model: str = "slarisk-breach-risk"


class TrainSpec(_Strict):
    """A whole training pipeline (one YAML file)."""

    name: str
    description: str = ""
    data: DataSpec
    #: SLA policy YAML (``slarisk.sla.policy.load_policy``).
    policy: Path
    landmarks: LandmarkSpec = LandmarkSpec()
    features: FeatureSpec = FeatureSpec()
    split: SplitSpec = SplitSpec()
    search: SearchSpec = SearchSpec()
    model: ModelSpec = ModelSpec()
    promotion: PromotionSpec = PromotionSpec()
    tracking: TrackingSpec = TrackingSpec()
    seed: int = 42
    #: where the spec was loaded from (set by :func:`load_spec`).
    path: Path | None = None

    def with_overrides(
        self,
        *,
        trials: int | None = None,
        seed: int | None = None,
        data_source: Path | str | None = None,
    ) -> TrainSpec:
        """Copy with the CLI overrides (trial budget, seed, data directory/file) applied."""
        update: dict[str, Any] = {}
        if trials is not None:
            if trials < 1:
                raise InputError("must be at least 1", path=str(self.path), field="search.n_trials")
            update["search"] = self.search.model_copy(update={"n_trials": trials})
        if seed is not None:
            update["seed"] = seed
        if data_source is not None:
            update["data"] = self.data.model_copy(update={"source": Path(data_source)})
        return self.model_copy(update=update) if update else self


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_spec(raw: Any, path: str | Path = "<spec>") -> TrainSpec:
    """Validate an already-parsed YAML mapping; errors name ``path`` and the dotted field."""
    if not isinstance(raw, dict):
        raise InputError("the spec must be a YAML mapping", path=str(path))
    try:
        spec = TrainSpec.model_validate({**raw, "path": Path(path)})
    except ValidationError as exc:
        unknown = unknown_field_error(exc, TrainSpec, path=str(path), format_loc=_field_name)
        if unknown is not None:
            raise unknown from None
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of the training spec format)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        raise InputError(msg + more, path=str(path), field=_field_name(err["loc"])) from None
    return spec


def _from_folder(folder: Path, value: Path) -> Path:
    return value if value.is_absolute() else Path(os.path.normpath(folder / value))


def load_spec(path: str | Path) -> TrainSpec:
    """Read and validate ``pipelines/<name>.yaml``; its relative ``data.source`` and ``policy``
    are resolved against the spec file's folder."""
    p = Path(path)
    spec = parse_spec(read_yaml(p, "training spec"), p)
    folder = p.parent
    data = spec.data.model_copy(update={"source": _from_folder(folder, spec.data.source)})
    return spec.model_copy(update={"data": data, "policy": _from_folder(folder, spec.policy)})
