"""Real-data acceptance: the breach-risk model on the ServiceNow incident log (UCI #498).

Label: the source's own verdict ``made_sla`` false (``source_made_sla`` of the importer).
Split: time-ordered, the last 30% of incidents by opening time are the test set. Two splits
are reported: ``purged`` (training rows whose outcome, the resolution, was only known after
the cutoff are dropped: what a model retrained at the cutoff could learn from) and
``unpurged`` (every training row; the labels of the last days before the cutoff leak from
the future, which favours models that lean on them).

At opening, features are only what is known then: the ticket's attributes from the *first*
event of the incident (priority, contact type, location, category, assignment group, impact,
urgency, subcategory, symptom, opened_by), the calendar, the workload at opening (open
incidents overall / by priority / in the group, arrivals), and the history known before
opening (:mod:`slarisk.risk.servicenow_history`): breach rate and resolution time per category
and group from incidents resolved before that instant, the group's last ten resolutions, the
caller's history (breach rate, resolution time, incidents still open, earlier incidents, hours
since the last one), the group's arrivals and resolutions in the last hours/days and the
quantiles of its last 20 resolution times, and the 7-day breach share of the group, category,
subcategory and symptom. The caller and the configuration item are not categorical features
(thousands of levels: the trees overfit them); the caller enters through its history.

The model's settings (leaves, rows per leaf, refit on all rows after calibration:
:data:`MODEL_GRID`) are chosen by the mean ROC AUC over expanding-window time folds of each
split's training rows (:func:`tune_model`); the test rows are never seen. On the purged split
the folds mirror the split (purged/embargoed CV): their validation windows end a
label-maturity period (:func:`label_maturity`: the 90th percentile of time to outcome of the
training incidents, fixed a priori) before the cutoff, so a window holds the slow incidents as
well as the quick ones, as the test set does; each fold's fit rows are purged of outcomes not
known at its window start. The unpurged split keeps windows up to the cutoff: its training
labels, like its test labels, are all known, so its windows are not censored.

Baselines: two *tuned* one-hot logistic regressions, their C chosen among :data:`LR_C_GRID`
by the mean ROC AUC over the same time folds (:func:`slarisk.risk.evaluate.tune_logistic`,
purged like the split): ``logistic`` on plain attributes (contact type, location, category,
subcategory, symptom, impact, urgency, priority, assignment group, opened by; hour, weekday
and open WIP standardised), and ``logistic_all``, the same plus every numeric feature of the
model (counts as ``log1p``, missing values imputed by the median, standardised).

In flight: every incident still unresolved at age a (a = 1, 4, 24, 72 hours after opening) is
observed again at that instant with the workload and history of that instant and its age;
one model is trained on all ages (purged split) and its AUC is reported per age, against the
logistic regression (the purged split's C, plus the age as a category).

CLI: ``slarisk evaluate-servicenow [PATH] [--max-tickets N] [--out report.md]``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.data.io import read_table
from slarisk.data.servicenow import import_servicenow
from slarisk.risk.evaluate import (
    LogisticChoice,
    classification_metrics,
    scorable_folds,
    time_split,
    tune_logistic,
)
from slarisk.risk.feature_indexes import METRIC
from slarisk.risk.features import (
    CATEGORICAL_FEATURES,
    NEEDS_STAFFING_FEATURES,
    CalendarInfo,
    build_context,
    build_features,
)
from slarisk.risk.model import as_strings, make_logistic_baseline, make_pipeline
from slarisk.risk.servicenow_history import (
    COUNT_FEATURES,
    HISTORY_FEATURES,
    RECENT_FEATURES,
    history_features,
    outcome_known_at,
    recent_features,
)

DEFAULT_PATH = Path("../shared/data/servicenow_incidents/incident_event_log.csv.gz")
#: attributes known at opening (importer column names), used as categorical features.
OPENING_ATTRIBUTES: tuple[str, ...] = (
    "impact",
    "urgency",
    "subcategory",
    "symptom",
    "caller",
    "opened_by",
    "cmdb_ci",
)
#: opening attributes with thousands of levels: not categorical features of the model (it
#: overfits them); the caller enters through :data:`HISTORY_FEATURES`.
HIGH_CARDINALITY: tuple[str, ...] = ("caller", "cmdb_ci")
#: the baseline's plain features: one-hot categoricals and standardised numerics.
PLAIN_LR_CATEGORICAL: tuple[str, ...] = (
    s.CHANNEL,  # contact type
    s.CUSTOMER,  # location
    s.CATEGORY,
    "subcategory",
    "symptom",
    "impact",
    "urgency",
    s.PRIORITY,
    s.GROUP,  # assignment group
    "opened_by",
)
PLAIN_LR_NUMERIC: tuple[str, ...] = ("hour", "weekday", "backlog_total")
#: inverse regularisation strengths tried for the baseline (time-fold CV on training rows).
LR_C_GRID: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
#: the two splits reported: name -> purge training rows resolved after the cutoff.
SPLITS: tuple[tuple[str, bool], ...] = (("purged", True), ("unpurged", False))
PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
DEFAULT_AGES_HOURS: tuple[float, ...] = (1.0, 4.0, 24.0, 72.0)
DEFAULT_AGES_TEXT = ",".join(f"{a:g}" for a in DEFAULT_AGES_HOURS)
#: features that are constant or undefined without an SLA target in this data.
_NO_TARGET = ("target_hours", "elapsed_fraction", "business_left_hours", "wall_left_hours")
#: staffing is unknown in this data.
_NO_STAFFING = NEEDS_STAFFING_FEATURES


def load_servicenow(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """Canonical tickets (with ``source_made_sla`` and the opening attributes) from the log."""
    return import_servicenow(read_table(path), str(path)).tickets.accepted


def _outcomes(tickets: pd.DataFrame) -> pd.DataFrame:
    """Outcome rows: breach = made_sla false, known at resolution (or closure)."""
    known = outcome_known_at(tickets)
    made = tickets[s.SOURCE_MADE_SLA]
    keep = (known.notna() & made.notna()).to_numpy()
    t = tickets.loc[keep]
    return pd.DataFrame(
        {
            METRIC: "resolution",
            s.CATEGORY: t[s.CATEGORY].to_numpy(),
            s.GROUP: t[s.GROUP].to_numpy(),
            "breached": ~t[s.SOURCE_MADE_SLA].astype(bool).to_numpy(),
            "known_at": known[keep].to_numpy(),
            s.RESOLVED_AT: known[keep].to_numpy(),
            "resolution_seconds": (known[keep] - t[s.CREATED_AT]).dt.total_seconds().to_numpy(),
        }
    )


def observations(tickets: pd.DataFrame, ages_hours: Sequence[float] = (0.0,)) -> pd.DataFrame:
    """One row per incident and age (hours after opening) while still unresolved, sorted by
    observation time; ``label`` = made_sla false, ``outcome_known_at`` = resolution time."""
    t = tickets[tickets[s.SOURCE_MADE_SLA].notna()].reset_index(drop=True)
    known = outcome_known_at(t)
    parts = []
    for age in ages_hours:  # a handful of ages
        at = t[s.CREATED_AT] + pd.Timedelta(hours=float(age))
        still = known.isna() | (known > at) if age > 0 else pd.Series(True, index=t.index)
        part = t.loc[still.to_numpy()].copy()
        part[s.AT] = at[still.to_numpy()]
        part["landmark"] = float(age)
        parts.append(part)
    obs = pd.concat(parts, ignore_index=True)
    obs[METRIC] = "resolution"
    obs["label"] = (~obs[s.SOURCE_MADE_SLA].astype(bool)).astype(np.int8)
    obs["outcome_known_at"] = (
        obs[s.RESOLVED_AT].fillna(obs["closed_at"]) if "closed_at" in obs else obs[s.RESOLVED_AT]
    )
    order = np.lexsort((obs["landmark"].to_numpy(), obs[s.AT].to_numpy()))
    return obs.iloc[order].reset_index(drop=True)


def feature_frame(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Features of the observations (generic feature set + the opening attributes + the
    caller's and the group's history, :func:`history_features`, + the recent workload and
    history of the group, the caller and the category, :func:`recent_features`)."""
    ctx = build_context(
        tickets,
        outcomes=_outcomes(tickets),
        calendar=CalendarInfo("UTC"),
        priorities=PRIORITIES,
    )
    X = build_features(obs, ctx, priorities=PRIORITIES)
    for col in OPENING_ATTRIBUTES:
        X[col] = obs[col].fillna(s.UNKNOWN).astype("category") if col in obs else s.UNKNOWN
    hist = history_features(tickets, obs)
    for col in HISTORY_FEATURES:
        X[col] = hist[col].to_numpy()
    recent = recent_features(tickets, obs)
    for col in RECENT_FEATURES:
        X[col] = recent[col].to_numpy()
    return X


#: the baselines compared with the model: the plain tuned LR of the issue, and the same LR
#: given every numeric feature of the model as well (what a careful analyst would also try).
BASELINES: tuple[str, ...] = ("logistic", "logistic_all")
#: LightGBM settings tried on the training folds (:func:`tune_model`); ``refit_full`` refits
#: the trees on all training rows after calibrating on the newest 20% (see BreachClassifier).
MODEL_GRID: tuple[dict[str, Any], ...] = (
    {"num_leaves": 31, "min_child_samples": 50, "refit_full": False},
    {"num_leaves": 31, "min_child_samples": 50, "refit_full": True},
    {"num_leaves": 15, "min_child_samples": 200, "refit_full": False},
    {"num_leaves": 15, "min_child_samples": 200, "refit_full": True},
)
#: time folds of the training rows used to tune the model and the baselines.
FOLDS, FOLD_FRACTION = 3, 0.15
#: quantile of the training incidents' time to outcome taken as the label-maturity period of
#: the purged split's folds (chosen a priori, not by test score).
MATURITY_QUANTILE = 0.9


def label_maturity(
    meta: pd.DataFrame, train: np.ndarray, quantile: float = MATURITY_QUANTILE
) -> pd.Timedelta:
    """Label-maturity period: the ``quantile`` of time to outcome (``outcome_known_at -
    created_at``, one value per training incident with a known outcome) of the training rows."""
    tick = meta.loc[train, ["ticket_id", "created_at", "outcome_known_at"]]
    tick = tick.drop_duplicates("ticket_id")
    wait = (tick["outcome_known_at"] - tick["created_at"]).dropna()
    if wait.empty:
        raise ValueError("no training incident with a known outcome")
    return pd.Timedelta(seconds=round(float(wait.dt.total_seconds().quantile(quantile))))


@dataclass
class ServiceNowReport:
    """At-opening comparison per split (and per priority), in-flight AUC per age, run info."""

    at_opening: pd.DataFrame  # split, model (model / logistic / logistic_all): roc_auc, ...
    in_flight: pd.DataFrame  # per age: model and logistic AUC
    info: dict[str, Any] = field(default_factory=dict)
    by_priority: pd.DataFrame = field(default_factory=pd.DataFrame)  # split, priority, model

    def gain(
        self, split: str = "purged", metric: str = "roc_auc", baseline: str = "logistic"
    ) -> float:
        """Model minus a tuned logistic regression (``baseline``) at opening, on ``split``."""
        a = self.at_opening[self.at_opening["split"] == split].set_index("model")[metric]
        return float(a["model"] - a[baseline])

    def auc_gain(self, split: str = "purged") -> float:
        """Model AUC minus tuned logistic-regression AUC at opening, on ``split``."""
        return self.gain(split, "roc_auc")


def _plain(X: pd.DataFrame, extra_categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The baseline's columns, categoricals as strings."""
    cats = [*PLAIN_LR_CATEGORICAL, *extra_categorical]
    return as_strings(X[[*cats, *PLAIN_LR_NUMERIC]], cats)


def _is_count(name: str) -> bool:
    """Count-like numeric features (heavy right tails): ``log1p`` for the logistic baseline."""
    if name in COUNT_FEATURES or name == "hist_n_category":
        return True
    return name.startswith(("backlog_", "arrivals_")) and not name.endswith("_ratio")


def _with_numeric(X: pd.DataFrame, numeric: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The plain baseline's columns plus ``numeric`` (counts as ``log1p``; columns without
    any value dropped): the frame and the numeric column names of the logistic regression."""
    Xs = _plain(X)
    extra = [c for c in numeric if c not in PLAIN_LR_NUMERIC and X[c].notna().any()]
    for c in extra:
        v = X[c].to_numpy(np.float64, na_value=np.nan)
        Xs[c] = np.log1p(np.clip(v, 0.0, None)) if _is_count(c) else v
    return Xs, [*PLAIN_LR_NUMERIC, *extra]


def _model_columns(X: pd.DataFrame, ages: bool) -> tuple[list[str], list[str]]:
    """(categorical, numeric) columns of the LightGBM model."""
    categorical = [
        *CATEGORICAL_FEATURES,
        *(c for c in OPENING_ATTRIBUTES if c not in HIGH_CARDINALITY),
    ]
    skip = {*_NO_TARGET, *_NO_STAFFING, *OPENING_ATTRIBUTES, *categorical}
    if not ages:
        skip.add("age_hours")
    return categorical, [c for c in X.columns if c not in skip]


def _fit_model(
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    categorical: list[str],
    numeric: list[str],
    params: Mapping[str, Any],
    seed: int,
) -> np.ndarray:
    pipe = make_pipeline(params, categorical=categorical, numeric=numeric, random_state=seed)
    pipe.fit(X.iloc[np.flatnonzero(train)], y[train])
    return np.asarray(pipe.predict_proba(X.iloc[np.flatnonzero(test)])[:, 1])


def _fit_logistic(
    Xs: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    C: float,
    categorical: Sequence[str] = PLAIN_LR_CATEGORICAL,
    numeric: Sequence[str] = PLAIN_LR_NUMERIC,
) -> np.ndarray:
    lr = make_logistic_baseline(categorical=categorical, numeric=numeric, C=C)
    lr.fit(Xs.iloc[np.flatnonzero(train)], y[train])
    return np.asarray(lr.predict_proba(Xs.iloc[np.flatnonzero(test)])[:, 1])


@dataclass(frozen=True)
class ModelChoice:
    """The LightGBM settings chosen on the training folds and the mean fold AUC of each."""

    params: dict[str, Any]
    cv_auc: dict[str, float]


def _grid_name(g: Mapping[str, Any]) -> str:
    return f"leaves={g['num_leaves']},min_leaf={g['min_child_samples']},refit={g['refit_full']}"


def tune_model(
    X: pd.DataFrame,
    y: np.ndarray,
    meta: pd.DataFrame,
    train: np.ndarray,
    *,
    purge: bool,
    categorical: list[str],
    numeric: list[str],
    params: Mapping[str, Any],
    grid: Sequence[Mapping[str, Any]] = MODEL_GRID,
    seed: int = 0,
    cutoff: pd.Timestamp | None = None,
    maturity: pd.Timedelta | None = None,
) -> ModelChoice:
    """The :data:`MODEL_GRID` entry (over ``params``) with the best mean ROC AUC over the
    expanding-window time folds of the training rows (:func:`time_folds`, purged like the
    split, validation windows ending ``maturity`` before ``cutoff`` when given: the test rows
    are never seen); the first entry wins a tie."""
    pairs = scorable_folds(
        meta, train, y, FOLDS, FOLD_FRACTION, purge, cutoff=cutoff, maturity=maturity
    )
    cv: dict[str, float] = {}
    best: tuple[float, dict[str, Any]] | None = None
    for g in grid:  # a handful of settings
        p = {**params, **g}
        aucs = [
            classification_metrics(
                y[val], _fit_model(X, y, fit, val, categorical, numeric, p, seed)
            )["roc_auc"]
            for fit, val in pairs
        ]
        cv[_grid_name(g)] = float(np.mean(aucs))
        if best is None or cv[_grid_name(g)] > best[0]:
            best = (cv[_grid_name(g)], p)
    assert best is not None
    return ModelChoice(best[1], cv)


def _by_priority(
    split: str, y: np.ndarray, preds: Mapping[str, np.ndarray], priority: pd.Series
) -> pd.DataFrame:
    """AUC/AP of every model per priority of the test rows (one-class priorities: NaN)."""
    rows = []
    for p in PRIORITIES:
        m = (priority == p).to_numpy()
        if not m.any():
            continue
        for name, pr in preds.items():
            met = classification_metrics(y[m], pr[m])
            rows.append({"split": split, "priority": p, "model": name, **met})
    return pd.DataFrame(rows)


def evaluate_servicenow(
    tickets: pd.DataFrame,
    *,
    ages_hours: Sequence[float] = DEFAULT_AGES_HOURS,
    test_fraction: float = 0.3,
    params: Mapping[str, Any] | None = None,
    max_tickets: int | None = None,
    seed: int = 0,
    grid: Sequence[Mapping[str, Any]] = MODEL_GRID,
) -> ServiceNowReport:
    """Run the at-opening comparison on both splits and the in-flight evaluation (see the
    module docstring). The model's settings (``grid`` over ``params``) and both baselines' C
    are chosen on time folds of each split's training rows.

    ``max_tickets`` keeps a random subsample of incidents (for quick tests); the workload and
    history features are still computed from all incidents.
    """
    t0 = time.perf_counter()
    params = {"n_estimators": 400, "learning_rate": 0.03, "num_leaves": 31, **(params or {})}
    pool = tickets
    if max_tickets is not None and max_tickets < len(tickets):
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(tickets), max_tickets, replace=False))
        pool = tickets.iloc[pick]

    # --- at opening, both splits --------------------------------------------------------------
    obs0 = observations(pool, (0.0,))
    X0 = feature_frame(tickets, obs0)
    cat0, num0 = _model_columns(X0, ages=False)
    frames = {"logistic": (_plain(X0), list(PLAIN_LR_NUMERIC))}
    frames["logistic_all"] = _with_numeric(X0, num0)
    y0 = obs0["label"].to_numpy(np.int64)
    rows, by_prio = [], []
    info: dict[str, Any] = {"incidents": len(tickets), "evaluated": len(pool)}
    choices: dict[str, LogisticChoice] = {}
    model_choice: dict[str, ModelChoice] = {}
    for split, purge in SPLITS:
        tr, te, cutoff = time_split(obs0, test_fraction, purge=purge)
        # purged split: folds end a label-maturity period before the cutoff (module docstring)
        maturity = label_maturity(obs0, tr) if purge else None
        fold_cut = cutoff if purge else None
        mc = tune_model(
            X0, y0, obs0, tr, purge=purge, categorical=cat0, numeric=num0, params=params,
            grid=grid, seed=seed, cutoff=fold_cut, maturity=maturity,
        )  # fmt: skip
        model_choice[split] = mc
        preds = {"model": _fit_model(X0, y0, tr, te, cat0, num0, mc.params, seed)}
        split_info: dict[str, Any] = {
            "train_rows": int(tr.sum()),
            "test_rows": int(te.sum()),
            "model_params": {k: mc.params[k] for k in grid[0]} if grid else {},
            "model_cv_auc": {k: round(v, 4) for k, v in mc.cv_auc.items()},
            "fold_maturity_days": (
                round(maturity.total_seconds() / 86400, 2) if maturity is not None else 0.0
            ),
        }
        for name in BASELINES:
            Xs, numeric = frames[name]
            choice = tune_logistic(
                Xs, y0, obs0, tr, purge=purge, categorical=PLAIN_LR_CATEGORICAL,
                numeric=numeric, grid=LR_C_GRID, folds=FOLDS, fold_fraction=FOLD_FRACTION,
                cutoff=fold_cut, maturity=maturity,
            )  # fmt: skip
            if name == "logistic":
                choices[split] = choice
            preds[name] = _fit_logistic(Xs, y0, tr, te, choice.C, PLAIN_LR_CATEGORICAL, numeric)
            key = "logistic" if name == "logistic" else name
            split_info[f"{key}_C"] = choice.C
            split_info[f"{key}_cv_auc"] = {f"{c:g}": round(v, 4) for c, v in choice.cv_auc.items()}
        for name, p in preds.items():
            rows.append({"split": split, "model": name, **classification_metrics(y0[te], p)})
        by_prio.append(_by_priority(split, y0[te], preds, obs0.loc[te, s.PRIORITY]))
        info[split] = split_info
        info["cutoff"] = str(cutoff)
        info["test_breach_rate"] = float(y0[te].mean())
    at_opening = pd.DataFrame(rows)

    # --- in flight (purged split) ---------------------------------------------------------------
    flight = []
    if ages_hours:
        obs = observations(pool, (0.0, *ages_hours))
        X = feature_frame(tickets, obs)
        cat, num = _model_columns(X, ages=True)
        X["landmark_h"] = obs["landmark"].to_numpy()
        X["age_level"] = obs["landmark"].map(lambda a: f"{a:g}h").to_numpy()
        Xs = _plain(X, ("age_level",))
        y = obs["label"].to_numpy(np.int64)
        tr_f, te_f, _ = time_split(obs, test_fraction, purge=True)
        pf = {
            "model": _fit_model(X, y, tr_f, te_f, cat, num, model_choice["purged"].params, seed),
            "logistic": _fit_logistic(
                Xs, y, tr_f, te_f, choices["purged"].C, (*PLAIN_LR_CATEGORICAL, "age_level")
            ),
        }
        age = obs["landmark"].to_numpy()[te_f]
        for a in (0.0, *ages_hours):
            m = age == a
            for k, p in pf.items():
                flight.append(
                    {"age_hours": a, "model": k, **classification_metrics(y[te_f][m], p[m])}
                )
    info["seconds"] = round(time.perf_counter() - t0, 1)
    return ServiceNowReport(
        at_opening, pd.DataFrame(flight), info, pd.concat(by_prio, ignore_index=True)
    )


_NAMES = {"logistic": "tuned logistic", "logistic_all": "tuned logistic, all features"}


def report_markdown(rep: ServiceNowReport) -> str:
    """The figures as Markdown tables (for docs/risk_model.md): both splits at opening, the
    settings chosen on the training folds, the gains, AUC/AP per priority, and the in-flight
    AUC per age."""
    cols = ["model", "roc_auc", "pr_auc", "brier", "ece", "precision_top10", "recall_top10"]
    lines = [
        "| split | " + " | ".join(cols) + " |",
        "|" + "---|" * (len(cols) + 1),
    ]
    for _, r in rep.at_opening.iterrows():
        name = _NAMES.get(str(r["model"]), str(r["model"]))
        vals = [f"{r[c]:.3f}" for c in cols[1:]]
        lines.append("| " + " | ".join([str(r["split"]), name, *vals]) + " |")
    lines += [
        "",
        "| split | fold windows end before cutoff (days) | model settings (time-fold CV) "
        "| logistic C | C, all features | AUC / AP gain vs logistic | vs logistic, all features |",
        "|---|---|---|---|---|---|---|",
    ]
    for split in dict.fromkeys(rep.at_opening["split"]):
        si = rep.info.get(split, {})
        mp = ", ".join(f"{k}={v}" for k, v in si.get("model_params", {}).items())
        gains = [
            f"{rep.gain(split, 'roc_auc', b):+.3f} / {rep.gain(split, 'pr_auc', b):+.3f}"
            for b in BASELINES
        ]
        lines.append(
            f"| {split} | {si.get('fold_maturity_days', 0.0):g} | {mp} | "
            f"{si.get('logistic_C', float('nan')):g} | "
            f"{si.get('logistic_all_C', float('nan')):g} | {gains[0]} | {gains[1]} |"
        )
    if len(rep.by_priority):
        lines += [
            "",
            "| split | priority | test rows | breach rate | AUC model / LR / LR all "
            "| AP model / LR / LR all |",
            "|---|---|---|---|---|---|",
        ]
        for (split, prio), g in rep.by_priority.groupby(["split", "priority"], sort=False):
            auc_of = g.set_index("model")["roc_auc"].astype(float)
            ap_of = g.set_index("model")["pr_auc"].astype(float)
            auc = " / ".join(f"{float(auc_of[m]):.3f}" for m in ("model", *BASELINES))
            ap = " / ".join(f"{float(ap_of[m]):.3f}" for m in ("model", *BASELINES))
            first = g.iloc[0]
            lines.append(
                f"| {split} | {prio} | {first['rows']:.0f} | {first['base_rate']:.3f} | "
                f"{auc} | {ap} |"
            )
    lines += [
        "",
        "| age (h) | rows | breach rate | model AUC | logistic AUC |",
        "|---|---|---|---|---|",
    ]
    if len(rep.in_flight):
        fl = rep.in_flight.pivot_table(index="age_hours", columns="model", values="roc_auc")
        meta = rep.in_flight.groupby("age_hours")[["rows", "base_rate"]].first()
        for a in fl.index:
            lines.append(
                f"| {a:g} | {meta.loc[a, 'rows']:.0f} | {meta.loc[a, 'base_rate']:.3f} | "
                f"{fl.loc[a, 'model']:.3f} | {fl.loc[a, 'logistic']:.3f} |"
            )
    return "\n".join(lines)
