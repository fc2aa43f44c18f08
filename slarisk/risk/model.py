"""The breach-risk estimator: one scikit-learn ``Pipeline`` (preprocessing + calibrated LightGBM).

- :class:`FramePreprocessor` turns a feature frame (:func:`slarisk.risk.features.build_features`)
  into a float matrix: categorical columns first, as integer codes learned at fit (rare/unknown
  -> NaN = missing for LightGBM), then the numeric columns.
- :class:`BreachClassifier` holds a ``calibration_fraction`` slice of the rows out of the trees
  to fit a calibrator of the raw score on (isotonic, sigmoid, their blend, or a temperature);
  the slice is the latest rows, or ends ``calibration_offset`` of the rows before the end so
  the trees see the newest ones: the rows must be in time order (landmark sets are built
  sorted by observation time ``at``).
- :func:`make_pipeline` builds the Pipeline from a flat parameter dict (what Optuna tunes).
- Baselines: :class:`ElapsedFractionRule` (the help-desk timer rule, calibrated per metric) and
  :func:`make_logistic_baseline` (one-hot logistic regression).
- :class:`RiskModel` is the served object: the fitted Pipeline plus the precomputed history
  aggregates needed to build features at scoring time.
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
from sklearn.pipeline import Pipeline

if TYPE_CHECKING:
    from slarisk.risk.landmarks import TrainingData

from slarisk.risk.features import (
    BASE_NUMERIC_FEATURES,
    CATEGORICAL_FEATURES,
    CalendarInfo,
    HistoryIndex,
    as_categorical,
)

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


#: ways LightGBM enforces monotone constraints (``monotone_constraints_method``).
MONOTONE_METHODS: tuple[str, ...] = ("basic", "intermediate", "advanced")


def monotone_vector(names: Sequence[str], constraints: Mapping[str, int] | None) -> tuple[int, ...]:
    """LightGBM's per-column ``monotone_constraints`` (+1, -1 or 0 per column of ``names``).

    ``constraints`` maps a feature name or an ``fnmatch`` pattern (``backlog_*``) to +1 (risk
    non-decreasing in the feature) or -1 (non-increasing); a column matched by several entries
    takes its exact-name entry, else the sign of the patterns matching it (an error if they
    disagree). Unmatched columns are unconstrained (0); an entry matching no column is an error
    (a misspelt name would otherwise constrain nothing).
    """
    cons = dict(constraints or {})
    bad = {k: v for k, v in cons.items() if v not in (-1, 0, 1)}
    if bad:
        raise ValueError(f"monotone constraints must be -1, 0 or +1: {bad}")
    unused = [k for k in cons if not any(fnmatchcase(n, k) for n in names)]
    if unused:
        raise ValueError(f"monotone constraints match no feature column: {unused}")
    out = []
    for name in names:
        if name in cons:
            out.append(int(cons[name]))
            continue
        signs = {int(v) for k, v in cons.items() if fnmatchcase(name, k)}
        if len(signs) > 1:
            raise ValueError(f"feature {name!r} matches monotone patterns of both signs")
        out.append(signs.pop() if signs else 0)
    return tuple(out)


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


class BreachClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM on a time-ordered matrix + a calibrator fitted on a held-out slice of it.

    ``calibration``: ``"isotonic"``, ``"sigmoid"``, ``"blend"`` (the mean of both),
    ``"temperature"`` (a sigmoid through the origin: rescales the log-odds, keeps the trees'
    base rate, so a quiet calibration slice does not pull a busier future down) or ``"none"``;
    ``calibration_fraction``: the share of the (time-ordered) rows held out of the trees to fit
    the calibrator; ``calibration_offset``: the share of the newest rows after that slice, fitted
    by the trees (0: the slice is the latest rows); ``refit_full``: refit the trees on all rows
    afterwards (the calibrator then maps the new model's raw scores).
    ``categorical_feature`` lists the column indices holding integer category codes.
    ``monotone_constraints``: feature name or ``fnmatch`` pattern -> +1 (risk non-decreasing
    in it) or -1 (non-increasing), resolved against ``feature_names`` (the matrix's columns,
    set by :func:`make_pipeline`) with :func:`monotone_vector`; ``monotone_constraints_method``:
    LightGBM's ``basic``, ``intermediate`` or ``advanced`` enforcement.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        cat_smooth: float = 10.0,
        max_cat_threshold: int = 32,
        calibration: str = "blend",
        calibration_fraction: float = 0.2,
        calibration_offset: float = 0.0,
        refit_full: bool = False,
        monotone_constraints: Mapping[str, int] | None = None,
        monotone_constraints_method: str = "basic",
        categorical_feature: Sequence[int] = (),
        feature_names: Sequence[str] | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.cat_smooth = cat_smooth
        self.max_cat_threshold = max_cat_threshold
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.calibration_offset = calibration_offset
        self.refit_full = refit_full
        self.monotone_constraints = monotone_constraints
        self.monotone_constraints_method = monotone_constraints_method
        self.categorical_feature = categorical_feature
        self.feature_names = feature_names
        self.random_state = random_state
        self.n_jobs = n_jobs

    def monotone_columns(self, n_features: int) -> tuple[int, ...]:
        """The per-column constraint vector for a matrix of ``n_features`` columns (all 0
        without constraints)."""
        if not self.monotone_constraints:
            return (0,) * n_features
        if self.feature_names is None or len(self.feature_names) != n_features:
            raise ValueError(
                "monotone_constraints need feature_names matching the matrix's columns "
                "(make_pipeline sets them when the numeric columns are given)"
            )
        vec = monotone_vector(list(self.feature_names), self.monotone_constraints)
        if any(vec[j] for j in self.categorical_feature):
            raise ValueError("categorical features cannot be monotone-constrained")
        return vec

    def lgb_params(self, n_features: int | None = None) -> dict[str, Any]:
        """Parameters passed to ``lightgbm.train`` (also for a bare reference fit);
        ``n_features`` (the matrix's width) is needed to pass monotone constraints."""
        extra: dict[str, Any] = {}
        if self.monotone_constraints:
            if self.monotone_constraints_method not in MONOTONE_METHODS:
                raise ValueError(
                    f"monotone_constraints_method must be one of {MONOTONE_METHODS}: "
                    f"{self.monotone_constraints_method}"
                )
            if n_features is None:
                raise ValueError("monotone constraints need the number of features")
            vec = self.monotone_columns(n_features)
            if any(vec):
                extra = {
                    "monotone_constraints": list(vec),
                    "monotone_constraints_method": self.monotone_constraints_method,
                }
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "cat_smooth": self.cat_smooth,
            "max_cat_threshold": self.max_cat_threshold,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
            **extra,
        }

    def fit(self, X: np.ndarray, y: np.ndarray) -> BreachClassifier:
        import lightgbm as lgb

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(np.int64)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        n = len(y)
        if not (
            0.0 <= self.calibration_offset
            and self.calibration_fraction + self.calibration_offset < 1.0
        ):
            raise ValueError(
                "calibration_offset must be >= 0 and calibration_fraction + calibration_offset < 1"
            )
        n_cal = round(self.calibration_fraction * n) if self.calibration != "none" else 0
        n_after = round(self.calibration_offset * n) if n_cal else 0
        c0, c1 = n - n_after - n_cal, n - n_after  # calibration rows
        if n_cal and (len(np.unique(y[c0:c1])) < 2 or n - n_cal < 10):
            n_cal, c0, c1 = 0, n, n  # too little to calibrate on: the raw model
        fit_rows = np.r_[0:c0, c1:n] if c1 < n else slice(0, c0)
        data = lgb.Dataset(
            X[fit_rows],
            label=y[fit_rows],
            categorical_feature=list(self.categorical_feature),
            free_raw_data=True,
            params={"max_bin": 255, "verbosity": -1},
        )
        params = self.lgb_params(X.shape[1])
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        self.calibrator_: Any = None
        if n_cal:
            raw = self.decision_function(X[c0:c1])
            y_cal = y[c0:c1]
            if self.calibration not in ("isotonic", "sigmoid", "blend", "temperature"):
                raise ValueError(
                    "calibration must be isotonic, sigmoid, blend, temperature or none: "
                    f"{self.calibration}"
                )
            from sklearn.isotonic import IsotonicRegression
            from sklearn.linear_model import LogisticRegression

            iso = sig = None
            if self.calibration in ("isotonic", "blend"):
                iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y_cal)
            if self.calibration in ("sigmoid", "blend"):
                sig = LogisticRegression(C=1e6).fit(raw[:, None], y_cal)
            elif self.calibration == "temperature":  # a slope only: keeps the trees' base rate
                sig = LogisticRegression(C=1e6, fit_intercept=False).fit(raw[:, None], y_cal)
            self.calibrator_ = {"isotonic": iso, "sigmoid": sig}
            if self.refit_full:  # the calibrator maps raw scores; refit the trees on all rows
                full = lgb.Dataset(
                    X,
                    label=y,
                    categorical_feature=list(self.categorical_feature),
                    free_raw_data=True,
                    params={"max_bin": 255, "verbosity": -1},
                )
                self.booster_ = lgb.train(params, full, num_boost_round=self.n_estimators)
        self._build_path_table()
        return self

    def _build_path_table(self) -> None:
        """Per-leaf path contributions (Saabas): for every leaf of every tree, the change of
        the node value along its root-to-leaf path, credited to each split's feature.

        ``leaf_table_`` (sparse, total leaves x features), ``leaf_offset_`` (first row of
        each tree) and ``bias_`` (sum of the trees' root values), so that raw score = bias +
        sum of the contributions of the row's leaves, exactly.
        """
        from scipy import sparse

        trees = self.booster_.dump_model()["tree_info"]
        n_feat = self.booster_.num_feature()
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        offsets = []
        bias = 0.0
        base = 0
        for tree in trees:  # once per fit: a walk over the nodes, not over data rows
            root = tree["tree_structure"]
            offsets.append(base)
            n_leaves = int(tree["num_leaves"])
            if "leaf_value" in root:  # a single-leaf tree
                bias += float(root["leaf_value"])
            else:
                bias += float(root["internal_value"])
                stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
                while stack:
                    node, acc = stack.pop()
                    v0 = float(node["internal_value"])
                    f = int(node["split_feature"])
                    for side in ("left_child", "right_child"):
                        child = node[side]
                        v1 = float(child.get("leaf_value", child.get("internal_value", 0.0)))
                        nxt = dict(acc)
                        nxt[f] = nxt.get(f, 0.0) + (v1 - v0)
                        if "leaf_index" in child:
                            li = int(child["leaf_index"])
                            for ff, dv in nxt.items():
                                rows.append(base + li)
                                cols.append(ff)
                                vals.append(dv)
                        else:
                            stack.append((child, nxt))
            base += n_leaves
        self.leaf_table_ = sparse.csr_matrix(
            (np.asarray(vals), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
            shape=(base, n_feat),
        )
        self.leaf_offset_ = np.asarray(offsets, dtype=np.int64)
        self.bias_ = bias

    def path_contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw score, per-feature contributions (n, n_features)) from the decision paths.

        Saabas attribution: an exact additive decomposition of the raw score (bias + sum), at
        the cost of one leaf-index prediction and a sparse product (far cheaper than TreeSHAP).
        """
        from scipy import sparse

        leaves = np.asarray(
            self.booster_.predict(
                np.asarray(X, np.float64), pred_leaf=True, num_threads=self.n_jobs
            ),
            dtype=np.int64,
        ).reshape(len(X), -1)
        n, n_trees = leaves.shape
        idx = (leaves + self.leaf_offset_[:n_trees]).ravel()
        m = sparse.csr_matrix(
            (np.ones(n * n_trees), idx, np.arange(0, n * n_trees + 1, n_trees)),
            shape=(n, self.leaf_table_.shape[0]),
        )
        contrib = np.asarray((m @ self.leaf_table_).toarray())
        return self.bias_ + contrib.sum(axis=1), contrib

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Raw (log-odds) score of the uncalibrated booster."""
        return np.asarray(
            self.booster_.predict(
                np.asarray(X, np.float64), raw_score=True, num_threads=self.n_jobs
            )
        )

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Breach probability from raw scores."""
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-raw))
        parts = []
        if self.calibrator_["isotonic"] is not None:
            parts.append(np.asarray(self.calibrator_["isotonic"].predict(raw), dtype=np.float64))
        if self.calibrator_["sigmoid"] is not None:
            sig = self.calibrator_["sigmoid"].predict_proba(raw[:, None])[:, 1]
            parts.append(np.asarray(sig, dtype=np.float64))
        return parts[0] if len(parts) == 1 else 0.5 * (parts[0] + parts[1])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self.calibrate(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature TreeSHAP contributions to the raw score (last column = bias); exact
        Shapley values but slow (use :meth:`path_contributions` on hot paths)."""
        return np.asarray(
            self.booster_.predict(
                np.asarray(X, np.float64), pred_contrib=True, num_threads=self.n_jobs
            )
        )

    def feature_importances(self, importance_type: str = "gain") -> np.ndarray:
        return np.asarray(self.booster_.feature_importance(importance_type=importance_type))


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
        from sklearn.isotonic import IsotonicRegression

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
        frac = X["elapsed_fraction"].to_numpy(np.float64)
        metric = X["metric"].astype(str).to_numpy()
        p = np.full(len(X), self.base_rate_)
        for m, iso in self.maps_.items():
            sel = (metric == m) & np.isfinite(frac)
            if sel.any():
                p[sel] = iso.predict(frac[sel])
        return np.column_stack([1.0 - p, p])


def make_logistic_baseline(
    categorical: Sequence[str] = CATEGORICAL_FEATURES,
    numeric: Sequence[str] = (),
    C: float = 1.0,
) -> Pipeline:
    """One-hot logistic regression (categoricals one-hot, numerics imputed and standardised)."""
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

    @cached_property
    def recent_arrays(self) -> dict[str, Any]:
        """``recent_tickets`` as arrays for the scoring path (computed once per model):
        ``created`` (ns), ``priority``/``group`` (object), ``ids`` (an index of ticket ids)."""
        from slarisk.data import schema as s

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

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated breach probability per row of a feature frame."""
        return np.asarray(self.pipeline.predict_proba(features)[:, 1])

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
    priorities: Sequence[str], exclude: Sequence[str] = (), at_opening_only: bool = False
) -> list[str]:
    """Numeric feature columns of the breach model for these priorities."""
    drop = set(exclude) | (set(AGE_FEATURES) if at_opening_only else set())
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
        numeric=numeric_feature_columns(data.priorities, exclude, at_opening_only),
        random_state=random_state,
    )
    pipe.fit(data.X, data.y)
    from slarisk.data import schema as s

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
    return RiskModel(
        pipeline=pipe,
        priorities=tuple(data.priorities),
        calendar=data.calendar,
        history=data.context.history,
        recent_tickets=recent,
        metadata={"train_rows": len(data.y), "train_base_rate": float(np.mean(data.y))},
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
    from slarisk.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", path=str(path))
    with path.open("rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, RiskModel):
        raise InputError(f"not a slarisk RiskModel (got {type(obj).__name__})", path=str(path))
    return obj
