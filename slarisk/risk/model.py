"""The breach-risk estimator: one scikit-learn ``Pipeline`` (preprocessing + calibrated LightGBM).

- :class:`FramePreprocessor` turns a feature frame (:func:`slarisk.risk.features.build_features`)
  into a float matrix: categorical columns first, as integer codes learned at fit (rare/unknown
  -> NaN = missing for LightGBM), then the numeric columns.
- :class:`~slarisk.risk.classifier.BreachClassifier` (its own module) is the calibrated
  LightGBM step.
- :func:`make_pipeline` builds the Pipeline from a flat parameter dict (what Optuna tunes).
- Baselines: :class:`ElapsedFractionRule` (the help-desk timer rule, calibrated per metric) and
  :func:`make_logistic_baseline` (one-hot logistic regression).
- :class:`RiskModel` is the served object: the fitted Pipeline plus the precomputed history
  aggregates needed to build features at scoring time, and the range of workload its
  training saw (:func:`workload_range`; :meth:`RiskModel.out_of_range` flags rows beyond it).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline

from slarisk.data import schema as s
from slarisk.errors import InputError

# also what models pickled before the classifier had its own module look up here
from slarisk.risk.classifier import BreachClassifier
from slarisk.risk.feature_indexes import HistoryIndex, as_categorical
from slarisk.risk.features import (
    BASE_NUMERIC_FEATURES,
    CATEGORICAL_FEATURES,
    WAIT_FEATURES,
    CalendarInfo,
)

if TYPE_CHECKING:
    from slarisk.risk.landmarks import TrainingData

#: default LightGBM/calibration parameters of :class:`BreachClassifier`.
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": -1,
    "min_child_samples": 50,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "cat_smooth": 10.0,
    "max_cat_threshold": 32,
    "calibration": "blend",
    "calibration_fraction": 0.2,
}


class FramePreprocessor(BaseEstimator, TransformerMixin):
    """Feature frame -> float64 matrix (categorical codes first, then numerics).

    Parameters: ``categorical`` and ``numeric`` column names (``None`` = all known features
    present in the frame at fit), ``max_categories`` most frequent levels kept per column
    (others and unseen levels become NaN, i.e. missing).
    """

    def __init__(
        self,
        categorical: Sequence[str] | None = None,
        numeric: Sequence[str] | None = None,
        max_categories: int = 200,
    ) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame, y: Any = None) -> FramePreprocessor:
        cat = (
            list(self.categorical)
            if self.categorical is not None
            else [c for c in CATEGORICAL_FEATURES if c in X]
        )
        num = (
            list(self.numeric)
            if self.numeric is not None
            else [c for c in X.columns if c not in cat and pd.api.types.is_numeric_dtype(X[c])]
        )
        self.categorical_ = cat
        self.numeric_ = num
        self.categories_ = {}
        for c in cat:
            cc = as_categorical(X[c])
            counts = np.bincount(np.asarray(cc.codes, np.int64), minlength=len(cc.categories))
            top = np.argsort(-counts, kind="stable")[: self.max_categories]
            top = top[counts[top] > 0]
            kept = sorted(str(cc.categories[i]) for i in top)
            self.categories_[c] = pd.Index(kept, dtype=object)
        self.feature_names_in_ = np.array(cat + num, dtype=object)
        self.n_features_in_ = len(cat) + len(num)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        n = len(X)
        out = np.empty((n, len(self.categorical_) + len(self.numeric_)), dtype=np.float64)
        for j, c in enumerate(self.categorical_):
            cc = as_categorical(X[c])
            lookup = self.categories_[c].get_indexer(cc.categories.astype(object))
            lookup = np.where(lookup < 0, np.nan, lookup.astype(np.float64))
            out[:, j] = lookup[np.asarray(cc.codes, np.int64)]
        k = len(self.categorical_)
        if self.numeric_:
            out[:, k:] = X[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_in_


def make_pipeline(
    params: Mapping[str, Any] | None = None,
    *,
    categorical: Sequence[str] = CATEGORICAL_FEATURES,
    numeric: Sequence[str] | None = None,
    random_state: int = 0,
) -> Pipeline:
    """The breach-risk Pipeline from flat parameters (keys of :data:`DEFAULT_PARAMS`).

    ``numeric=None`` uses every numeric column of the training frame (base features plus the
    per-priority backlogs; monotone constraints then cannot be resolved). Tune with
    ``pipeline.set_params(clf__num_leaves=...)`` or by passing ``params``.
    """
    p = {**DEFAULT_PARAMS, **(params or {})}
    unknown = set(p) - set(BreachClassifier().get_params())
    if unknown:
        raise ValueError(f"unknown model parameters: {sorted(unknown)}")
    cat = tuple(categorical)
    names = None if numeric is None else (*cat, *numeric)
    clf = BreachClassifier(
        **p,
        categorical_feature=tuple(range(len(cat))),
        feature_names=names,
        random_state=random_state,
    )
    return Pipeline([("prep", FramePreprocessor(cat, numeric)), ("clf", clf)])


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------
class ElapsedFractionRule(ClassifierMixin, BaseEstimator):
    """The timer rule help desks use: risk grows with the elapsed fraction of the target.

    Fitted as an isotonic map elapsed fraction -> breach rate per metric (so its probabilities
    are calibrated and its Brier score comparable). Works on the feature frame.
    """

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ElapsedFractionRule:
        y = np.asarray(y, dtype=np.float64)
        self.classes_ = np.array([0, 1])
        self.base_rate_ = float(y.mean()) if len(y) else 0.5
        self.maps_ = {}
        frac = X["elapsed_fraction"].to_numpy(np.float64)
        metric = X["metric"].astype(str).to_numpy()
        for m in np.unique(metric):
            sel = (metric == m) & np.isfinite(frac)
            if sel.sum() >= 2:
                self.maps_[m] = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                    frac[sel], y[sel]
                )
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.risk(X["metric"].astype(str).to_numpy(), X["elapsed_fraction"].to_numpy())
        return np.column_stack([1.0 - p, p])

    def risk(self, metric: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Breach probability per row from arrays of metric names and elapsed fractions (the
        base rate for other metrics or a missing fraction): the isotonic maps read as the
        piecewise-linear curves they are, clipped at both ends."""
        frac = np.asarray(fraction, dtype=np.float64)
        p = np.full(len(frac), self.base_rate_)
        for m, (xs, ys) in self.curves.items():
            sel = (metric == m) & np.isfinite(frac)
            if sel.any():
                p[sel] = np.interp(frac[sel], xs, ys)
        return p

    @cached_property
    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per metric, the fitted map's breakpoints (``X_thresholds_``, ``y_thresholds_``)."""
        return {
            str(m): (np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_))
            for m, iso in self.maps_.items()
        }

    def lift(self, metric: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """What the timer alone adds: the risk at ``fraction`` less that of a fresh ticket of
        the same metric (elapsed 0): the floor of the input-range guard."""
        return self.risk(metric, fraction) - self.risk(metric, np.zeros(len(fraction)))


def make_logistic_baseline(
    categorical: Sequence[str] = CATEGORICAL_FEATURES,
    numeric: Sequence[str] = (),
    C: float = 1.0,
) -> Pipeline:
    """One-hot logistic regression (categoricals one-hot, numerics imputed and standardised)."""
    # the baseline's pieces: only needed when training
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts: list[tuple[str, Any, list[str]]] = [
        (
            "onehot",
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5),
            list(categorical),
        )
    ]
    if numeric:
        num = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        parts.append(("num", num, list(numeric)))
    return Pipeline(
        [
            ("prep", ColumnTransformer(parts)),
            ("clf", LogisticRegression(C=C, max_iter=2000)),
        ]
    )


def as_strings(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """Copy of X with the categorical columns as plain ``object`` strings (for OneHotEncoder)."""
    X = X.copy()
    for c in categorical:
        X[c] = X[c].astype(str).astype(object)
    return X


# --------------------------------------------------------------------------------------------
# Workload range seen in training
# --------------------------------------------------------------------------------------------
#: workload features (``fnmatch`` patterns) whose training range the model records.
WORKLOAD_PATTERNS: tuple[str, ...] = (
    "backlog_*",
    "overdue_share",
    "ahead_per_team_agent",
    "arrivals_*",
    "agents_*",
)


def workload_columns(columns: Sequence[str]) -> list[str]:
    """The columns matching :data:`WORKLOAD_PATTERNS`, in frame order."""
    return [str(c) for c in columns if any(fnmatchcase(str(c), p) for p in WORKLOAD_PATTERNS)]


def workload_range(X: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per numeric workload column of a training frame: ``min``, ``p50``, ``p99``, ``max``
    over its finite values (columns with none are left out)."""
    out: dict[str, dict[str, float]] = {}
    for col in workload_columns(list(X.columns)):
        if not pd.api.types.is_numeric_dtype(X[col]):
            continue
        v = X[col].to_numpy(np.float64)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        q50, q99 = np.quantile(v, [0.5, 0.99])
        out[col] = {
            "min": float(v.min()),
            "p50": float(q50),
            "p99": float(q99),
            "max": float(v.max()),
        }
    return out


def out_of_range(features: pd.DataFrame, ranges: Mapping[str, Mapping[str, float]]) -> pd.Series:
    """Per row, the workload features outside their training ``[min, max]`` (``;``-joined,
    ``name>max`` or ``name<min``; empty string when all are inside or missing)."""
    flags = np.full(len(features), "", dtype=object)
    for col, r in ranges.items():
        if col not in features:
            continue
        v = features[col].to_numpy(np.float64)
        for mask, text in ((v > r["max"], f"{col}>max"), (v < r["min"], f"{col}<min")):
            if mask.any():
                flags[mask] = [f"{f};{text}" if f else text for f in flags[mask]]
    return pd.Series(flags, index=features.index, name="out_of_range")


# --------------------------------------------------------------------------------------------
# The served object
# --------------------------------------------------------------------------------------------
@dataclass
class RiskModel:
    """A fitted breach-risk Pipeline with what scoring needs to build features.

    ``recent_tickets``: the last 29 days of the training tickets (``ticket_id, created_at,
    resolved_at, priority``) for arrival norms when scoring without a history; ``history``: the
    outcome aggregates (breach rates, resolution times) as of the end of training data.
    """

    pipeline: Pipeline
    priorities: tuple[str, ...]
    calendar: CalendarInfo = field(default_factory=CalendarInfo)
    history: HistoryIndex | None = None
    recent_tickets: pd.DataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the elapsed-fraction rule fitted on the same training rows (the guard's fallback).
    rule: ElapsedFractionRule | None = None

    @cached_property
    def recent_arrays(self) -> dict[str, Any]:
        """``recent_tickets`` as arrays for the scoring path (computed once per model):
        ``created`` (ns), ``priority``/``group`` (object), ``ids`` (an index of ticket ids)."""
        r = self.recent_tickets
        if r is None or not len(r):
            return {}
        n = len(r)
        return {
            "created": pd.DatetimeIndex(r[s.CREATED_AT]).as_unit("ns").asi8,
            "priority": np.asarray(r[s.PRIORITY], dtype=object),
            "group": np.asarray(r[s.GROUP], dtype=object)
            if s.GROUP in r
            else np.full(n, s.UNKNOWN, dtype=object),
            "ids": pd.Index(np.asarray(r[s.TICKET_ID], dtype=object)),
        }

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.pipeline.named_steps["prep"].feature_names_in_]

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Preprocessed float matrix of a feature frame."""
        return np.asarray(self.pipeline.named_steps["prep"].transform(features))

    @property
    def workload_range(self) -> dict[str, dict[str, float]]:
        """The training range of the workload features (empty for models trained before it
        was recorded)."""
        return dict(self.metadata.get("workload_range", {}))

    def out_of_range(self, features: pd.DataFrame) -> pd.Series:
        """Per row, the workload features beyond what training saw (:func:`out_of_range`).
        The trees are flat beyond their last split: there the risk no longer follows the
        load, so a scorer should say so (or lean on the elapsed-fraction rule)."""
        return out_of_range(features, self.workload_range)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated breach probability per row of a feature frame."""
        return np.asarray(self.pipeline.predict_proba(features)[:, 1])

    def predict_guarded(self, features: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
        """(probability, out-of-range flags): on rows whose workload lies outside the training
        range (:meth:`out_of_range`; the flags say which features, for the reasons) the risk
        is widened towards the elapsed-fraction rule: ``max(model, rule - rule at 0)``, the
        rule's risk above that of a fresh ticket of the same metric. The trees cannot see
        load they never saw; the rule's timer still runs. Taking the rule itself (or
        ``max(model, rule)``) destroys the ranking where the rule has no signal (ServiceNow at
        opening, elapsed 0 everywhere: AUC 0.783 -> 0.578) or where the model was right
        about the overload (desk W=6, S=5: 0.997 -> 0.816). Without a fitted rule (older
        models) the probabilities are the model's."""
        p = self.predict_proba(features)
        flags = self.out_of_range(features)
        outside = flags.ne("").to_numpy()
        if self.rule is not None and outside.any():
            rows = features[outside]
            lift = self.rule.lift(
                rows["metric"].astype(str).to_numpy(), rows["elapsed_fraction"].to_numpy()
            )
            p = p.copy()
            p[outside] = np.maximum(p[outside], lift)
        return p, flags

    def predict_with_contributions(
        self, features: pd.DataFrame, X: np.ndarray | None = None, method: str = "path"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(probability, contributions (n, n_features) in log-odds) with one preprocessing.

        ``method``: ``"path"`` (Saabas decision-path attribution, fast) or ``"shap"``
        (LightGBM ``pred_contrib``, TreeSHAP, slow). Both add up to the raw score.
        """
        X = self.matrix(features) if X is None else X
        clf: BreachClassifier = self.pipeline.named_steps["clf"]
        if method == "shap":
            full = clf.contributions(X)
            return clf.calibrate(full.sum(axis=1)), full[:, :-1]
        raw, contrib = clf.path_contributions(X)
        return clf.calibrate(raw), contrib


#: features describing the ticket's age (dropped with ``at_opening_only``).
AGE_FEATURES: tuple[str, ...] = (
    "age_hours",
    "elapsed_fraction",
    "business_left_hours",
    "wall_left_hours",
)


def numeric_feature_columns(
    priorities: Sequence[str],
    exclude: Sequence[str] = (),
    at_opening_only: bool = False,
    queue_wait: bool = False,
) -> list[str]:
    """Numeric feature columns of the breach model for these priorities (the queue-wait
    features only with ``queue_wait``: opt-in, see docs/risk_model.md)."""
    drop = set(exclude) | (set(AGE_FEATURES) if at_opening_only else set())
    if not queue_wait:
        drop |= set(WAIT_FEATURES)
    cols = [*BASE_NUMERIC_FEATURES, *[f"backlog_p_{p}" for p in priorities]]
    return [c for c in cols if c not in drop]


def categorical_feature_columns(
    exclude: Sequence[str] = (), attributes: Sequence[str] = ()
) -> list[str]:
    """Categorical feature columns of the breach model (minus ``exclude``), plus the extra
    ticket ``attributes`` (source columns such as ServiceNow's impact or urgency)."""
    base = [c for c in CATEGORICAL_FEATURES if c not in set(exclude)]
    return base + [c for c in attributes if c not in base and c not in set(exclude)]


def fit_risk_model(
    data: TrainingData,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int = 0,
    tickets: pd.DataFrame | None = None,
    exclude: Sequence[str] = (),
    at_opening_only: bool = False,
    attributes: Sequence[str] = (),
    pipeline: Pipeline | None = None,
    queue_wait: bool = False,
) -> RiskModel:
    """Fit the Pipeline on a (time-ordered) training set and wrap it as a :class:`RiskModel`.

    ``pipeline`` (unfitted, e.g. from :func:`make_pipeline` with tuned parameters) overrides
    ``params``/``exclude``/``attributes`` (``attributes``: extra categorical columns already in
    ``data.X``). ``tickets`` (the ticket universe) supplies the recent arrivals used when
    scoring without a history; by default the landmark set's tickets are used.
    """
    pipe = pipeline or make_pipeline(
        params,
        categorical=categorical_feature_columns(exclude, attributes),
        numeric=numeric_feature_columns(data.priorities, exclude, at_opening_only, queue_wait),
        random_state=random_state,
    )
    pipe.fit(data.X, data.y)
    if tickets is not None:
        cols = [c for c in (s.TICKET_ID, s.CREATED_AT, s.RESOLVED_AT, s.PRIORITY) if c in tickets]
        base = tickets[cols]
    else:
        base = data.meta.drop_duplicates(s.TICKET_ID)[[s.TICKET_ID, s.CREATED_AT, s.PRIORITY]]
    if len(base):
        end = base[s.CREATED_AT].max()
        recent = base[base[s.CREATED_AT] > end - pd.Timedelta(days=29)].reset_index(drop=True)
    else:
        recent = base
    rule = None
    if "elapsed_fraction" in data.X and "metric" in data.X:
        rule = ElapsedFractionRule().fit(data.X, data.y)
    return RiskModel(
        pipeline=pipe,
        priorities=tuple(data.priorities),
        calendar=data.calendar,
        history=data.context.history,
        recent_tickets=recent,
        metadata={
            "train_rows": len(data.y),
            "train_base_rate": float(np.mean(data.y)),
            "workload_range": workload_range(data.X),
            "work_hours": dict(data.context.work_hours_at_end),
        },
        rule=rule,
    )


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Pickle a :class:`RiskModel` to ``path`` (parent directories created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_model(path: str | Path) -> RiskModel:
    """Load a model saved by :func:`save_model` (a pickled RiskModel, or an MLflow-free Pipeline
    wrapped without history)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=str(path))
    with path.open("rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, RiskModel):
        raise InputError(f"not a slarisk RiskModel (got {type(obj).__name__})", path=str(path))
    return obj
