"""Time-ordered backtest and metrics of breach-risk models.

Metrics (:func:`classification_metrics`): ROC AUC, PR AUC (average precision), Brier score,
log loss, expected calibration error (10 equal-width bins, weighted by count), and precision /
recall among the top 10% of rows by predicted risk. :func:`backtest` trains on the past and
tests on the future (split by ticket creation time, so all landmarks of a ticket fall on one
side) and compares the model with the elapsed-fraction rule and a one-hot logistic regression
(its C tuned on time folds of the training rows, :func:`tune_logistic`),
overall, per landmark age and per segment, with a reliability plot.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slarisk.reports import figure, png_base64
from slarisk.risk.model import (
    ElapsedFractionRule,
    RiskModel,
    as_strings,
    fit_risk_model,
    make_logistic_baseline,
)

if TYPE_CHECKING:
    from slarisk.risk.landmarks import TrainingData

#: segments reported by default in a backtest.
DEFAULT_SEGMENTS: tuple[str, ...] = ("metric", "priority", "tier")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE: sum over equal-width probability bins of (bin share) x |mean p - breach rate|."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return float("nan")
    b = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    sp = np.bincount(b, weights=p, minlength=n_bins)
    sy = np.bincount(b, weights=y, minlength=n_bins)
    return float(np.abs(sp - sy).sum() / len(y))


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin: mean predicted probability, observed breach rate and row count."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    b = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    cnt = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "bin_low": np.arange(n_bins) / n_bins,
                "bin_high": (np.arange(n_bins) + 1) / n_bins,
                "mean_predicted": np.bincount(b, weights=p, minlength=n_bins) / cnt,
                "observed_rate": np.bincount(b, weights=y, minlength=n_bins) / cnt,
                "count": cnt,
            }
        )


def precision_recall_at_top(
    y: np.ndarray, p: np.ndarray, fraction: float = 0.1
) -> tuple[float, float]:
    """Precision and recall of breaches among the ``fraction`` of rows with the highest risk."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    k = max(1, int(np.ceil(fraction * n))) if n else 0
    if k == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    top = np.argsort(-np.asarray(p), kind="stable")[:k]
    hits = y[top].sum()
    return float(hits / k), float(hits / y.sum())


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier, log loss, ECE, precision/recall at top 10%, rows, base rate."""
    from sklearn.metrics import (  # ~0.3 s to import: only when metrics are computed
        average_precision_score,
        brier_score_loss,
        log_loss,
        roc_auc_score,
    )

    y = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    both = len(np.unique(y)) == 2
    prec, rec = precision_recall_at_top(y, p, 0.1)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]))
        if len(y)
        else float("nan"),
        "ece": expected_calibration_error(y, p),
        "precision_top10": prec,
        "recall_top10": rec,
        "rows": float(len(y)),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
    }


def metrics_by(
    y: np.ndarray,
    preds: Mapping[str, np.ndarray],
    groups: pd.Series,
    min_rows: int = 30,
) -> pd.DataFrame:
    """Metrics of each model per value of ``groups`` (groups with < ``min_rows`` rows skipped).

    Long format: ``<group name>, model, roc_auc, pr_auc, brier, ...``.
    """
    name = str(groups.name or "group")
    g = groups.to_numpy()
    rows = []
    for value in pd.unique(g):  # a handful of segments; each evaluation is vectorised
        m = g == value
        if m.sum() < min_rows:
            continue
        for model, p in preds.items():
            rows.append({name: value, "model": model, **classification_metrics(y[m], p[m])})
    out = pd.DataFrame(rows)
    return out.sort_values([name, "model"]).reset_index(drop=True) if len(out) else out


def reliability_png(y: np.ndarray, preds: Mapping[str, np.ndarray], n_bins: int = 10) -> bytes:
    """Reliability diagram (PNG bytes): observed breach rate vs mean predicted, per model."""
    with figure(5, 5) as (fig, ax):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        for name, p in preds.items():
            tab = reliability_table(y, p, n_bins)
            tab = tab[tab["count"] > 0]
            ece = expected_calibration_error(y, p, n_bins)
            ax.plot(
                tab["mean_predicted"],
                tab["observed_rate"],
                marker="o",
                label=f"{name} (ECE {ece:.3f})",
            )
        ax.set_xlabel("mean predicted breach probability")
        ax.set_ylabel("observed breach rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title("Reliability (test period)")
    return base64.b64decode(png_base64(fig))


def importance_png(importance: pd.Series, top: int = 20) -> bytes:
    """Bar chart (PNG bytes) of the ``top`` features' share of the total importance."""
    share = (importance / (importance.sum() or 1.0)).head(top)[::-1]
    with figure(6, 0.3 * len(share) + 1.2) as (fig, ax):
        ax.barh([str(i) for i in share.index], share.to_numpy())
        ax.set_xlabel("share of total gain")
        ax.set_title("Feature importance (LightGBM gain)")
    return base64.b64decode(png_base64(fig))


def time_split(
    meta: pd.DataFrame,
    test_fraction: float = 0.3,
    purge: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.Timestamp]:
    """(train mask, test mask, cutoff): the last ``test_fraction`` of tickets by creation time
    are the test set. With ``purge``, training rows whose outcome only became known after the
    cutoff (``outcome_known_at``) are dropped: at the cutoff their label was not yet known."""
    created = meta.drop_duplicates("ticket_id")["created_at"].sort_values()
    cutoff = created.iloc[int(np.floor((1.0 - test_fraction) * len(created)))]
    test = (meta["created_at"] >= cutoff).to_numpy()
    train = ~test
    if purge and "outcome_known_at" in meta:
        known = meta["outcome_known_at"]
        train &= (known.isna() | (known < cutoff)).to_numpy()
    return train, test, pd.Timestamp(cutoff)


def time_folds(
    meta: pd.DataFrame,
    train_mask: np.ndarray,
    folds: int,
    fold_fraction: float,
    purge: bool,
    *,
    cutoff: pd.Timestamp | None = None,
    maturity: pd.Timedelta | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds inside the training rows: (fit mask, validation mask) pairs.

    The last ``folds x fold_fraction`` of training tickets (by creation time) are cut into
    ``folds`` consecutive validation windows; each fold fits on the tickets created before its
    window (purged of outcomes not known at the window start).

    With ``cutoff`` and ``maturity`` (purged/embargoed CV mirroring a purged outer split), only
    training tickets created before ``cutoff - maturity`` take part in the windows, so the last
    window ends a label-maturity period before the outer cutoff: its rows' outcomes are mostly
    known at the cutoff, not only the quickly resolved ones.
    """
    if (cutoff is None) != (maturity is None):
        raise ValueError("time_folds: give both cutoff and maturity, or neither")
    created = meta["created_at"]
    eligible = np.asarray(train_mask, dtype=bool)
    if cutoff is not None and maturity is not None:
        eligible = eligible & (created < cutoff - maturity).to_numpy()
    tick = meta.loc[eligible, ["ticket_id", "created_at"]].drop_duplicates("ticket_id")
    times = tick["created_at"].sort_values(kind="stable").to_numpy()
    n = len(times)
    out = []
    for k in range(folds):
        lo = int(np.floor((1.0 - (folds - k) * fold_fraction) * n))
        hi = int(np.floor((1.0 - (folds - k - 1) * fold_fraction) * n))
        if lo <= 0 or hi <= lo:
            continue
        start = times[lo]
        val = eligible & (created >= start).to_numpy()
        if hi < n:
            val &= (created < times[hi]).to_numpy()
        fit = train_mask & (created < start).to_numpy()
        if purge:
            known = meta["outcome_known_at"]
            fit &= (known.isna() | (known < start)).to_numpy()
        out.append((fit, val))
    return out


def scorable_folds(
    meta: pd.DataFrame,
    train_mask: np.ndarray,
    y: np.ndarray,
    folds: int,
    fold_fraction: float,
    purge: bool,
    *,
    cutoff: pd.Timestamp | None = None,
    maturity: pd.Timedelta | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The :func:`time_folds` whose fit and validation rows both hold both outcomes (an AUC
    can be computed); ValueError when none does."""
    pairs = [
        (fit, val)
        for fit, val in time_folds(
            meta, train_mask, folds, fold_fraction, purge, cutoff=cutoff, maturity=maturity
        )
        if len(np.unique(y[fit])) == 2 and len(np.unique(y[val])) == 2
    ]
    if not pairs:
        raise ValueError("no time fold with both outcomes in the training rows")
    return pairs


#: inverse regularisation strengths tried for the backtest's logistic regression.
LOGISTIC_C_GRID: tuple[float, ...] = (0.03, 0.3, 3.0)


@dataclass(frozen=True)
class LogisticChoice:
    """A tuned logistic baseline's C and the mean time-fold ROC AUC of every C tried."""

    C: float
    cv_auc: dict[float, float]


def tune_logistic(
    X: pd.DataFrame,
    y: np.ndarray,
    meta: pd.DataFrame,
    train: np.ndarray,
    *,
    purge: bool,
    categorical: Sequence[str],
    numeric: Sequence[str] = (),
    grid: Sequence[float] = LOGISTIC_C_GRID,
    folds: int = 3,
    fold_fraction: float = 0.15,
    cutoff: pd.Timestamp | None = None,
    maturity: pd.Timedelta | None = None,
) -> LogisticChoice:
    """C of :func:`slarisk.risk.model.make_logistic_baseline` with the best mean ROC AUC over
    the expanding-window time folds (:func:`time_folds`) of the training rows; ``X`` has the
    categorical columns as strings, ``meta`` has ``ticket_id``, ``created_at`` and
    ``outcome_known_at``; ``cutoff``/``maturity`` as in :func:`time_folds`. The smaller C
    wins a tie."""
    pairs = scorable_folds(
        meta, train, y, folds, fold_fraction, purge, cutoff=cutoff, maturity=maturity
    )
    cv: dict[float, float] = {}
    for C in grid:  # a handful of values
        aucs = []
        for fit, val in pairs:
            lr = make_logistic_baseline(categorical=categorical, numeric=numeric, C=C)
            lr.fit(X.iloc[np.flatnonzero(fit)], y[fit])
            p = lr.predict_proba(X.iloc[np.flatnonzero(val)])[:, 1]
            aucs.append(classification_metrics(y[val], p)["roc_auc"])
        cv[float(C)] = float(np.mean(aucs))
    best = max(cv.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return LogisticChoice(best, cv)


@dataclass
class BacktestReport:
    """Results of :func:`backtest`; ``overall``/``by_age``/``by_segment`` are long-format
    tables with a ``model`` column; ``predictions`` has the test rows with each model's
    probability."""

    overall: pd.DataFrame
    by_age: pd.DataFrame
    by_segment: pd.DataFrame
    reliability_png: bytes
    predictions: pd.DataFrame
    cutoff: pd.Timestamp
    model: RiskModel | None = None
    feature_importance: pd.Series = field(default_factory=pd.Series)
    info: dict[str, Any] = field(default_factory=dict)

    def metric(self, model: str, name: str) -> float:
        """One overall metric of one model, e.g. ``report.metric("model", "roc_auc")``."""
        row = self.overall[self.overall["model"] == model]
        return float(row[name].iloc[0])


def backtest(
    data: TrainingData,
    params: Mapping[str, Any] | None = None,
    *,
    test_fraction: float = 0.3,
    purge: bool = True,
    segments: Sequence[str] = DEFAULT_SEGMENTS,
    random_state: int = 0,
    baselines: bool = True,
    tickets: pd.DataFrame | None = None,
    exclude: Sequence[str] = (),
    at_opening_only: bool = False,
    attributes: Sequence[str] = (),
    queue_wait: bool = False,
    logistic_grid: Sequence[float] = LOGISTIC_C_GRID,
    folds: int = 3,
    fold_fraction: float = 0.15,
) -> BacktestReport:
    """Train on the past, test on the future; compare the model with the baselines.

    Models: ``model`` (the calibrated LightGBM Pipeline), ``model_guarded`` (the same with the
    input-range guard, :meth:`slarisk.risk.model.RiskModel.predict_guarded`: what scoring
    serves; the share of rows outside the training range is ``info["out_of_range_share"]``),
    ``elapsed_rule`` and ``logistic``
    (one-hot LR on ticket attributes + metric + landmark age, standardised numerics excluded;
    its C chosen among ``logistic_grid`` by :func:`tune_logistic` on ``folds`` time folds of
    the training rows, recorded in ``info["logistic_C"]``).
    ``exclude`` / ``at_opening_only`` / ``attributes`` / ``queue_wait`` select the model's
    features (see
    :func:`slarisk.risk.model.fit_risk_model`); the logistic baseline gets the same categorical
    columns.
    """
    train, test, cutoff = time_split(data.meta, test_fraction, purge)
    tr, te = data.subset(train), data.subset(test)
    model = fit_risk_model(
        tr,
        params,
        random_state=random_state,
        tickets=tickets,
        exclude=exclude,
        at_opening_only=at_opening_only,
        attributes=attributes,
        queue_wait=queue_wait,
    )
    preds: dict[str, np.ndarray] = {"model": model.predict_proba(te.X)}
    info: dict[str, Any] = {"train_rows": int(train.sum()), "test_rows": int(test.sum())}
    if model.rule is not None and model.workload_range:
        # what the scorer serves: the input-range guard widens towards the rule where the
        # load was never seen
        preds["model_guarded"], flags = model.predict_guarded(te.X)
        info["out_of_range_share"] = float(flags.ne("").mean())
    if baselines:
        rule = ElapsedFractionRule().fit(tr.X, tr.y)
        preds["elapsed_rule"] = rule.predict_proba(te.X)[:, 1]
        cats = [c for c in model.pipeline.named_steps["prep"].categorical_]
        lr_cols = [*cats, "landmark"]
        Xtr = as_strings(tr.meta.assign(**{c: tr.X[c] for c in cats})[lr_cols], lr_cols)
        Xte = as_strings(te.meta.assign(**{c: te.X[c] for c in cats})[lr_cols], lr_cols)
        Xall = as_strings(data.meta.assign(**{c: data.X[c] for c in cats})[lr_cols], lr_cols)
        choice = tune_logistic(
            Xall,
            data.y,
            data.meta,
            train,
            purge=purge,
            categorical=lr_cols,
            grid=logistic_grid,
            folds=folds,
            fold_fraction=fold_fraction,
        )
        info["logistic_C"] = choice.C
        info["logistic_cv_auc"] = choice.cv_auc
        lr = make_logistic_baseline(categorical=lr_cols, C=choice.C).fit(Xtr, tr.y)
        preds["logistic"] = lr.predict_proba(Xte)[:, 1]
    y = te.y
    overall = pd.DataFrame([{"model": k, **classification_metrics(y, p)} for k, p in preds.items()])
    by_age = metrics_by(y, preds, te.meta["landmark"].rename("landmark"))
    seg_tables = []
    for sname in segments:
        if sname in te.X:
            tab = metrics_by(y, preds, te.X[sname].rename("value"))
            tab.insert(0, "segment", sname)
            seg_tables.append(tab)
    by_segment = pd.concat(seg_tables, ignore_index=True) if seg_tables else pd.DataFrame()
    pred_frame = te.meta[["ticket_id", "metric", "landmark", "at"]].copy()
    pred_frame["label"] = y
    for k, p in preds.items():
        pred_frame[f"p_{k}"] = p
    imp = pd.Series(
        model.pipeline.named_steps["clf"].feature_importances("gain"),
        index=model.feature_names,
    ).sort_values(ascending=False)
    return BacktestReport(
        overall=overall,
        by_age=by_age,
        by_segment=by_segment,
        reliability_png=reliability_png(y, preds),
        predictions=pred_frame,
        cutoff=cutoff,
        model=model,
        feature_importance=imp,
        info=info,
    )
