"""Real-data acceptance: the breach-risk model on the ServiceNow incident log (UCI #498).

Label: the source's own verdict ``made_sla`` false (``source_made_sla`` of the importer).
Split: time-ordered, the last 30% of incidents by opening time are the test set; training rows
whose outcome (resolution) was only known after the cutoff are purged.

At opening, features are only what is known then: the ticket's attributes from the *first*
event of the incident (priority, contact type, location, category, assignment group, impact,
urgency, subcategory, symptom, caller, opened_by, configuration item), the calendar, the
workload at opening (open incidents overall / by priority / in the group, arrivals), and the
history known before opening (breach rate and resolution time per category and group from
incidents resolved before that instant). The comparison is the calibrated LightGBM Pipeline
against a one-hot logistic regression on the same attributes and the same split.

In flight: every incident still unresolved at age a (a = 1, 4, 24, 72 hours after opening) is
observed again at that instant with the workload and history of that instant and its age;
one model is trained on all ages (time split as above) and its AUC is reported per age.

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
from slarisk.risk.evaluate import classification_metrics, time_split
from slarisk.risk.feature_indexes import METRIC
from slarisk.risk.features import CATEGORICAL_FEATURES, CalendarInfo, build_context, build_features
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
PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
DEFAULT_AGES_HOURS: tuple[float, ...] = (1.0, 4.0, 24.0, 72.0)
DEFAULT_AGES_TEXT = ",".join(f"{a:g}" for a in DEFAULT_AGES_HOURS)
#: features that are constant or undefined without an SLA target in this data.
_NO_TARGET = ("target_hours", "elapsed_fraction", "business_left_hours", "wall_left_hours")
#: staffing is unknown in this data.
_NO_STAFFING = (
    "agents_now",
    "agents_next_4h",
    "agents_team_now",
    "agents_team_next_4h",
    "backlog_per_agent",
    "ahead_per_team_agent",
)


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


def feature_frame(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Features of the observations (generic feature set + the opening attributes)."""
    ctx = build_context(
        tickets,
        outcomes=_outcomes(tickets),
        calendar=CalendarInfo("UTC"),
        priorities=PRIORITIES,
    )
    X = build_features(obs, ctx, priorities=PRIORITIES)
    for col in OPENING_ATTRIBUTES:
        X[col] = obs[col].fillna(s.UNKNOWN).astype("category") if col in obs else s.UNKNOWN
    return X


@dataclass
class ServiceNowReport:
    """At-opening comparison, in-flight AUC per age, and run information."""

    at_opening: pd.DataFrame  # model vs logistic: roc_auc, pr_auc, brier, ...
    in_flight: pd.DataFrame  # per age: model and logistic AUC
    info: dict[str, Any] = field(default_factory=dict)

    def auc_gain(self) -> float:
        """Model AUC minus logistic-regression AUC at opening."""
        a = self.at_opening.set_index("model")["roc_auc"]
        return float(a["model"] - a["logistic"])


def _fit_predict(
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    categorical: list[str],
    numeric: list[str],
    params: Mapping[str, Any] | None,
    seed: int,
) -> dict[str, np.ndarray]:
    pipe = make_pipeline(params, categorical=categorical, numeric=numeric, random_state=seed)
    pipe.fit(X.iloc[np.flatnonzero(train)], y[train])
    p_model = pipe.predict_proba(X.iloc[np.flatnonzero(test)])[:, 1]
    lr_cols = [c for c in categorical if c != METRIC]
    Xs = as_strings(X[lr_cols], lr_cols)
    lr = make_logistic_baseline(categorical=lr_cols)
    lr.fit(Xs.iloc[np.flatnonzero(train)], y[train])
    p_lr = lr.predict_proba(Xs.iloc[np.flatnonzero(test)])[:, 1]
    return {"model": p_model, "logistic": p_lr}


def evaluate_servicenow(
    tickets: pd.DataFrame,
    *,
    ages_hours: Sequence[float] = DEFAULT_AGES_HOURS,
    test_fraction: float = 0.3,
    params: Mapping[str, Any] | None = None,
    max_tickets: int | None = None,
    seed: int = 0,
) -> ServiceNowReport:
    """Run the at-opening comparison and the in-flight evaluation (see module docstring).

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
    categorical = [*CATEGORICAL_FEATURES, *OPENING_ATTRIBUTES]
    drop = set(_NO_TARGET) | set(_NO_STAFFING)

    # --- at opening --------------------------------------------------------------------------
    obs0 = observations(pool, (0.0,))
    X0 = feature_frame(tickets, obs0)
    num0 = [c for c in X0.columns if c not in categorical and c not in drop and c != "age_hours"]
    y0 = obs0["label"].to_numpy(np.int64)
    tr, te, cutoff = time_split(obs0, test_fraction, purge=True)
    preds = _fit_predict(X0, y0, tr, te, categorical, num0, params, seed)
    at_opening = pd.DataFrame(
        [{"model": k, **classification_metrics(y0[te], p)} for k, p in preds.items()]
    )

    # --- in flight ---------------------------------------------------------------------------
    rows = []
    if ages_hours:
        obs = observations(pool, (0.0, *ages_hours))
        X = feature_frame(tickets, obs)
        num = [c for c in X.columns if c not in categorical and c not in drop]
        X["landmark_h"] = obs["landmark"].to_numpy()
        y = obs["label"].to_numpy(np.int64)
        tr_f, te_f, _ = time_split(obs, test_fraction, purge=True)
        pf = _fit_predict(X, y, tr_f, te_f, [*categorical], num, params, seed)
        age = obs["landmark"].to_numpy()[te_f]
        for a in (0.0, *ages_hours):
            m = age == a
            for k, p in pf.items():
                rows.append(
                    {"age_hours": a, "model": k, **classification_metrics(y[te_f][m], p[m])}
                )
    info = {
        "incidents": len(tickets),
        "evaluated": len(pool),
        "train_rows": int(tr.sum()),
        "test_rows": int(te.sum()),
        "cutoff": str(cutoff),
        "test_breach_rate": float(y0[te].mean()),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return ServiceNowReport(at_opening, pd.DataFrame(rows), info)


def report_markdown(rep: ServiceNowReport) -> str:
    """The figures as Markdown tables (for docs/risk_model.md)."""
    cols = ["model", "roc_auc", "pr_auc", "brier", "ece", "precision_top10", "recall_top10"]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for _, r in rep.at_opening.iterrows():
        lines.append("| " + " | ".join([r["model"], *[f"{r[c]:.3f}" for c in cols[1:]]]) + " |")
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
