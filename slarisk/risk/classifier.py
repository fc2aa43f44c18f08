"""The gradient-boosted breach classifier of the risk model: :class:`BreachClassifier`.

LightGBM on a time-ordered float matrix (categorical columns as integer codes) plus a
calibrator of the raw score fitted on a held-out slice of the rows (isotonic, sigmoid, their
blend, or a temperature): the slice is the latest rows, or ends ``calibration_offset`` of the
rows before the end so the trees see the newest ones, so the rows must be in time order
(landmark sets are built sorted by observation time ``at``). It also gives the decision-path
contributions behind the scorer's reasons (:meth:`BreachClassifier.path_contributions`).
Monotone constraints are given by feature name or pattern and resolved by
:func:`monotone_vector`. The Pipeline around it is built by
:func:`slarisk.risk.model.make_pipeline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

if TYPE_CHECKING:
    pass


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
        import lightgbm as lgb  # ~0.5 s to import: only when fitting (a loaded model has it)

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
