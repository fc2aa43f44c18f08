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
opening: breach rate and resolution time per category and group from incidents resolved
before that instant, the group's last ten resolutions (breach share, mean log resolution
hours) and the caller's history (breach rate and mean log resolution hours of the caller's
earlier resolved incidents, the caller's incidents still open). The caller and the
configuration item are not categorical features (thousands of levels: the trees overfit
them); the caller enters through its history.

Baseline: a *tuned* one-hot logistic regression on plain attributes (contact type, location,
category, subcategory, symptom, impact, urgency, priority, assignment group, opened by;
hour, weekday and open WIP standardised), its C chosen among :data:`LR_C_GRID` by the mean
ROC AUC over expanding-window time folds of the training part
(:func:`slarisk.risk.evaluate.tune_logistic`, purged like the split).

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
from slarisk.risk.evaluate import LogisticChoice, classification_metrics, time_split, tune_logistic
from slarisk.risk.feature_indexes import METRIC
from slarisk.risk.features import (
    CATEGORICAL_FEATURES,
    NEEDS_STAFFING_FEATURES,
    CalendarInfo,
    build_context,
    build_features,
)
from slarisk.risk.model import as_strings, make_logistic_baseline, make_pipeline

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
#: known-at-opening history of the caller and the assignment group (:func:`history_features`).
HISTORY_FEATURES: tuple[str, ...] = (
    "caller_breach_rate",
    "caller_mean_log_resolution_hours",
    "caller_open_now",
    "group_recent_breach_share",
    "group_recent_log_resolution_hours",
)
#: resolutions of the group averaged by the ``group_recent_*`` features.
RECENT_RESOLUTIONS = 10
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
    known = tickets[s.RESOLVED_AT]
    if "closed_at" in tickets:
        known = known.fillna(tickets["closed_at"])
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
    known = t[s.RESOLVED_AT]
    if "closed_at" in t:
        known = known.fillna(t["closed_at"])
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


def _before(
    at: pd.Series, keys: np.ndarray, when: pd.Series, event_keys: np.ndarray, values: pd.DataFrame
) -> pd.DataFrame:
    """Per observation, the last row of ``values`` (cumulative per key, in ``when`` order)
    among the events of the same key strictly before ``at`` (NaN when there is none)."""
    ev = values.assign(_t=when.to_numpy(), _k=event_keys)
    ev = ev[ev["_t"].notna()].sort_values("_t", kind="stable")
    left = pd.DataFrame({"_t": at.to_numpy(), "_k": keys, "_i": np.arange(len(at))})
    left = left.sort_values("_t", kind="stable")
    m = pd.merge_asof(left, ev, on="_t", by="_k", allow_exact_matches=False)
    return m.sort_values("_i").drop(columns=["_t", "_k", "_i"]).reset_index(drop=True)


def history_features(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """:data:`HISTORY_FEATURES` of each observation from what was known strictly before its
    instant ``at``: outcomes of incidents resolved before it, incidents opened before it.

    ``caller_breach_rate``: breaches / resolved incidents of the caller, shrunk towards the
    overall 37% with the weight of 5 incidents; ``caller_mean_log_resolution_hours``: mean
    ``log1p`` resolution hours of those; ``caller_open_now``: the caller's incidents opened
    but not resolved before ``at``; ``group_recent_*``: breach share and mean ``log1p``
    resolution hours of the assignment group's last :data:`RECENT_RESOLUTIONS` resolutions.
    """
    known = tickets[s.RESOLVED_AT]
    if "closed_at" in tickets:
        known = known.fillna(tickets["closed_at"])
    made = tickets[s.SOURCE_MADE_SLA]
    breached = (~made.astype("boolean")).astype("Float64").to_numpy(np.float64, na_value=np.nan)
    hours = (known - tickets[s.CREATED_AT]).dt.total_seconds().to_numpy() / 3600.0
    log_res = np.log1p(np.clip(hours, 0.0, None))
    at = obs[s.AT].reset_index(drop=True)
    out = pd.DataFrame(index=range(len(obs)))

    def keys(frame: pd.DataFrame, col: str) -> np.ndarray:
        return frame[col].astype(object).where(frame[col].notna(), s.UNKNOWN).astype(str).to_numpy()

    # caller: cumulative outcomes and openings per caller
    ck, ock = keys(tickets, "caller"), keys(obs, "caller")
    order = np.argsort(known.to_numpy(), kind="stable")
    verdict = np.isfinite(breached)
    res = pd.DataFrame(
        {"b": np.nan_to_num(breached), "v": verdict.astype(float), "lr": log_res, "k": ck}
    ).iloc[order]
    g = res.groupby("k", sort=False)
    res_cum = pd.DataFrame(
        {
            "n": g.cumcount() + 1.0,
            "v": g["v"].cumsum(),
            "b": g["b"].cumsum(),
            "lr": g["lr"].cumsum(),
        }
    )
    r = _before(at, ock, known.iloc[order], ck[order], res_cum)
    prior, weight = 0.37, 5.0
    n_res = r["n"].fillna(0.0).to_numpy()
    n_verdict = r["v"].fillna(0.0).to_numpy()
    out["caller_breach_rate"] = (r["b"].fillna(0.0).to_numpy() + prior * weight) / (
        n_verdict + weight
    )
    out["caller_mean_log_resolution_hours"] = r["lr"].to_numpy() / np.where(
        n_res > 0, n_res, np.nan
    )
    o_order = np.argsort(tickets[s.CREATED_AT].to_numpy(), kind="stable")
    opened = pd.DataFrame({"k": ck[o_order]})
    opened_cum = pd.DataFrame({"n": opened.groupby("k", sort=False).cumcount() + 1.0})
    o = _before(at, ock, tickets[s.CREATED_AT].iloc[o_order], ck[o_order], opened_cum)
    out["caller_open_now"] = o["n"].fillna(0.0).to_numpy() - n_res
    # group: rolling mean of its last resolutions
    gk, ogk = keys(tickets, s.GROUP), keys(obs, s.GROUP)
    res_g = pd.DataFrame({"b": breached, "lr": log_res, "k": gk}).iloc[order]
    roll = res_g.groupby("k", sort=False)[["b", "lr"]].rolling(RECENT_RESOLUTIONS, min_periods=1)
    recent = roll.mean().reset_index(level=0, drop=True).reindex(res_g.index)
    rg = _before(at, ogk, known.iloc[order], gk[order], recent.reset_index(drop=True))
    out["group_recent_breach_share"] = rg["b"].to_numpy()
    out["group_recent_log_resolution_hours"] = rg["lr"].to_numpy()
    for col in ("caller_breach_rate", "caller_mean_log_resolution_hours", "caller_open_now"):
        out.loc[obs["caller"].isna().to_numpy(), col] = np.nan
    return out


def feature_frame(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Features of the observations (generic feature set + the opening attributes + the
    caller's and the group's history, :func:`history_features`)."""
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
    return X


@dataclass
class ServiceNowReport:
    """At-opening comparison per split, in-flight AUC per age, and run information."""

    at_opening: pd.DataFrame  # split, model (model / logistic): roc_auc, pr_auc, brier, ...
    in_flight: pd.DataFrame  # per age: model and logistic AUC
    info: dict[str, Any] = field(default_factory=dict)

    def gain(self, split: str = "purged", metric: str = "roc_auc") -> float:
        """Model minus tuned logistic regression at opening, on ``split``."""
        a = self.at_opening[self.at_opening["split"] == split].set_index("model")[metric]
        return float(a["model"] - a["logistic"])

    def auc_gain(self, split: str = "purged") -> float:
        """Model AUC minus tuned logistic-regression AUC at opening, on ``split``."""
        return self.gain(split, "roc_auc")


def _plain(X: pd.DataFrame, extra_categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The baseline's columns, categoricals as strings."""
    cats = [*PLAIN_LR_CATEGORICAL, *extra_categorical]
    return as_strings(X[[*cats, *PLAIN_LR_NUMERIC]], cats)


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
) -> np.ndarray:
    lr = make_logistic_baseline(categorical=categorical, numeric=PLAIN_LR_NUMERIC, C=C)
    lr.fit(Xs.iloc[np.flatnonzero(train)], y[train])
    return np.asarray(lr.predict_proba(Xs.iloc[np.flatnonzero(test)])[:, 1])


def evaluate_servicenow(
    tickets: pd.DataFrame,
    *,
    ages_hours: Sequence[float] = DEFAULT_AGES_HOURS,
    test_fraction: float = 0.3,
    params: Mapping[str, Any] | None = None,
    max_tickets: int | None = None,
    seed: int = 0,
) -> ServiceNowReport:
    """Run the at-opening comparison on both splits and the in-flight evaluation (see the
    module docstring).

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
    Xs0 = _plain(X0)
    y0 = obs0["label"].to_numpy(np.int64)
    rows = []
    info: dict[str, Any] = {"incidents": len(tickets), "evaluated": len(pool)}
    choices: dict[str, LogisticChoice] = {}
    for split, purge in SPLITS:
        tr, te, cutoff = time_split(obs0, test_fraction, purge=purge)
        choice = tune_logistic(
            Xs0,
            y0,
            obs0,
            tr,
            purge=purge,
            categorical=PLAIN_LR_CATEGORICAL,
            numeric=PLAIN_LR_NUMERIC,
            grid=LR_C_GRID,
        )
        choices[split] = choice
        preds = {
            "model": _fit_model(X0, y0, tr, te, cat0, num0, params, seed),
            "logistic": _fit_logistic(Xs0, y0, tr, te, choice.C),
        }
        for name, p in preds.items():
            rows.append({"split": split, "model": name, **classification_metrics(y0[te], p)})
        info[split] = {
            "train_rows": int(tr.sum()),
            "test_rows": int(te.sum()),
            "logistic_C": choice.C,
            "logistic_cv_auc": {f"{c:g}": round(v, 4) for c, v in choice.cv_auc.items()},
        }
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
            "model": _fit_model(X, y, tr_f, te_f, cat, num, params, seed),
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
    return ServiceNowReport(at_opening, pd.DataFrame(flight), info)


def report_markdown(rep: ServiceNowReport) -> str:
    """The figures as Markdown tables (for docs/risk_model.md): both splits at opening, the
    baseline's C per split, the gains, and the in-flight AUC per age."""
    cols = ["model", "roc_auc", "pr_auc", "brier", "ece", "precision_top10", "recall_top10"]
    lines = [
        "| split | " + " | ".join(cols) + " |",
        "|" + "---|" * (len(cols) + 1),
    ]
    for _, r in rep.at_opening.iterrows():
        name = "tuned logistic" if r["model"] == "logistic" else str(r["model"])
        vals = [f"{r[c]:.3f}" for c in cols[1:]]
        lines.append("| " + " | ".join([str(r["split"]), name, *vals]) + " |")
    lines += ["", "| split | logistic C (time-fold CV) | AUC gain | AP gain |", "|---|---|---|---|"]
    for split in dict.fromkeys(rep.at_opening["split"]):
        c = rep.info.get(split, {}).get("logistic_C", float("nan"))
        lines.append(
            f"| {split} | {c:g} | {rep.gain(split, 'roc_auc'):+.3f} | "
            f"{rep.gain(split, 'pr_auc'):+.3f} |"
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
