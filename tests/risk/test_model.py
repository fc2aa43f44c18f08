"""The breach-risk estimator: sklearn conventions, calibration, baselines, determinism,
persistence, and the synthetic acceptance (beats the elapsed-fraction rule at every age)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from slarisk.risk.classifier import BreachClassifier
from slarisk.risk.evaluate import (
    backtest,
    classification_metrics,
    expected_calibration_error,
    precision_recall_at_top,
    reliability_table,
    time_split,
)
from slarisk.risk.model import (
    DEFAULT_PARAMS,
    ElapsedFractionRule,
    FramePreprocessor,
    RiskModel,
    load_model,
    make_logistic_baseline,
    make_pipeline,
    out_of_range,
    save_model,
    workload_range,
)

from .conftest import FAST_PARAMS, Trained


def test_estimators_follow_sklearn_conventions():
    pipe = make_pipeline({"num_leaves": 7})
    assert pipe.get_params()["clf__num_leaves"] == 7
    c = clone(pipe)
    assert c.get_params()["clf__num_leaves"] == 7
    assert not hasattr(c.named_steps["clf"], "booster_")
    pipe.set_params(clf__learning_rate=0.2)
    assert pipe.named_steps["clf"].learning_rate == 0.2
    assert set(DEFAULT_PARAMS) <= set(BreachClassifier().get_params())
    with pytest.raises(ValueError, match="unknown model parameters"):
        make_pipeline({"n_trees": 3})


def test_preprocessor_codes_categories_and_unknowns():
    X = pd.DataFrame({"metric": ["a", "b", "a", None], "x": [1.0, 2.0, np.nan, 4.0]})
    prep = FramePreprocessor(["metric"], ["x"]).fit(X)
    m = prep.transform(pd.DataFrame({"metric": ["b", "zzz", "unknown"], "x": [0.5, 1.0, 2.0]}))
    cats = list(prep.categories_["metric"])
    assert m[0, 0] == cats.index("b")
    assert np.isnan(m[1, 0])  # unseen level -> missing
    assert m[2, 0] == cats.index("unknown")
    assert np.array_equal(m[:, 1], [0.5, 1.0, 2.0])


def test_metrics_against_hand_computed_values():
    y = np.array([0, 0, 1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([0.05, 0.15, 0.95, 0.85, 0.55, 0.45, 0.05, 0.15, 0.25, 0.35])
    # bins: 0.0-0.1 {0.05,0.05}: |0.05-0|*2; 0.1-0.2 {0.15,0.15}: 0.15*2; 0.2-0.3 {.25}: .25;
    # 0.3-0.4 {.35 (1)}: .65; 0.4-0.5 {.45}: .45; 0.5-0.6 {.55 (1)}: .45; 0.8 {.85}: .15; 0.9 .05
    ece = (0.1 + 0.3 + 0.25 + 0.65 + 0.45 + 0.45 + 0.15 + 0.05) / 10
    assert expected_calibration_error(y, p) == pytest.approx(ece)
    assert reliability_table(y, p)["count"].sum() == 10
    prec, rec = precision_recall_at_top(y, p, 0.2)  # top 2: 0.95, 0.85 -> both breaches
    assert (prec, rec) == (1.0, 0.5)
    m = classification_metrics(y, p)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert 0.5 < m["roc_auc"] <= 1.0


def test_time_split_keeps_tickets_whole_and_purges(trained: Trained):
    meta = trained.data.meta
    tr, te, cutoff = time_split(meta, 0.3)
    assert not (tr & te).any()
    assert (meta.loc[te, "created_at"] >= cutoff).all()
    assert (meta.loc[tr, "outcome_known_at"] < cutoff).all()
    ids_tr = set(meta.loc[tr, "ticket_id"])
    assert ids_tr.isdisjoint(set(meta.loc[te, "ticket_id"]))
    share = meta.loc[te, "ticket_id"].nunique() / meta["ticket_id"].nunique()
    assert 0.25 < share < 0.35


def test_calibrated_probabilities_and_determinism(trained: Trained):
    d = trained.data
    X, y = d.X, d.y
    p1 = make_pipeline(FAST_PARAMS).fit(X, y).predict_proba(X)[:, 1]
    p2 = make_pipeline(FAST_PARAMS).fit(X, y).predict_proba(X)[:, 1]
    assert np.array_equal(p1, p2)
    assert ((p1 >= 0) & (p1 <= 1)).all()
    # calibrators fitted on the held-out latest 20% (isotonic and the logistic map both match
    # the breach rate there, so their mean, "blend", does too)
    n_cal = round(0.2 * len(y))
    assert abs(p1[-n_cal:].mean() - y[-n_cal:].mean()) < 0.01
    preds = {}
    for cal in ("isotonic", "sigmoid"):
        pipe = make_pipeline({**FAST_PARAMS, "calibration": cal}).fit(X, y)
        preds[cal] = pipe.predict_proba(X)[:, 1]
        assert abs(preds[cal][-n_cal:].mean() - y[-n_cal:].mean()) < 0.01
    assert np.allclose(p1, 0.5 * (preds["isotonic"] + preds["sigmoid"]))
    with pytest.raises(ValueError, match="calibration must be"):
        make_pipeline({**FAST_PARAMS, "calibration": "platt"}).fit(X.head(200), y[:200])


def test_baselines(trained: Trained):
    d = trained.data
    rule = ElapsedFractionRule().fit(d.X, d.y)
    p = rule.predict_proba(d.X)[:, 1]
    for metric in ("first_response", "resolution"):
        m = (d.X["metric"] == metric).to_numpy()
        frac = d.X["elapsed_fraction"].to_numpy()[m]
        order = np.argsort(frac, kind="stable")
        assert np.all(np.diff(p[m][order]) >= -1e-12)  # monotone in the elapsed fraction
    cols = ["metric", "priority", "tier", "category"]
    lr = make_logistic_baseline(categorical=cols).fit(d.X[cols].astype(str), d.y)
    assert lr.predict_proba(d.X[cols].astype(str).head(3)).shape == (3, 2)


def test_the_model_records_its_training_workload_range(trained: Trained):
    X = trained.data.X
    ranges = trained.model.workload_range
    assert "backlog_total" in ranges and "ahead_per_team_agent" in ranges
    assert "elapsed_fraction" not in ranges and "hist_breach_rate_group" not in ranges
    r = ranges["backlog_total"]
    assert r["min"] == X["backlog_total"].min() and r["max"] == X["backlog_total"].max()
    assert r["min"] <= r["p50"] <= r["p99"] <= r["max"]
    assert trained.model.out_of_range(X).eq("").all()  # the training rows are all inside
    busier = X.head(3).copy()
    busier["backlog_total"] = [r["max"], r["max"] + 1.0, np.nan]
    busier["backlog_group"] = [0.0, 2.0 * ranges["backlog_group"]["max"] + 1.0, 0.0]
    flags = trained.model.out_of_range(busier)
    assert flags.iloc[0] == ""  # the maximum itself was seen
    assert flags.iloc[1] == "backlog_total>max;backlog_group>max"
    assert flags.iloc[2] == ""  # missing is not out of range


def test_the_guard_falls_back_on_the_rule_outside_the_training_range(trained: Trained):
    model = trained.model
    assert model.rule is not None
    X = trained.data.X.head(4).copy()
    inside, flags = model.predict_guarded(X)
    assert flags.eq("").all() and np.array_equal(inside, model.predict_proba(X))
    X.loc[X.index[[1, 3]], "backlog_total"] = 10.0 * model.workload_range["backlog_total"]["max"]
    p, flags = model.predict_guarded(X)
    rule = model.rule.predict_proba(X)[:, 1]
    fresh = model.rule.predict_proba(X.assign(elapsed_fraction=0.0))[:, 1]
    plain = model.predict_proba(X)
    assert list(flags.ne("")) == [False, True, False, True]
    # outside: widened by the rule's risk above a fresh ticket's; inside: the model's
    assert np.array_equal(p[[1, 3]], np.maximum(plain, rule - fresh)[[1, 3]])
    assert np.array_equal(p[[0, 2]], plain[[0, 2]])
    late = X.assign(elapsed_fraction=5.0)  # long overdue: the rule's timer lifts the risk
    p_late, _ = model.predict_guarded(late)
    lift = model.rule.predict_proba(late)[:, 1] - fresh
    assert np.all(p_late[[1, 3]] >= lift[[1, 3]] - 1e-12)


def test_workload_range_and_out_of_range_on_a_small_frame():
    X = pd.DataFrame({"backlog_total": [1.0, 5.0, np.nan], "priority": ["P1", "P2", "P3"]})
    X["arrivals_1h"] = [0.0, 2.0, 4.0]
    X["age_hours"] = [100.0, 0.0, 1.0]
    ranges = workload_range(X)
    assert set(ranges) == {"backlog_total", "arrivals_1h"}
    assert ranges["backlog_total"]["max"] == 5.0 and ranges["arrivals_1h"]["min"] == 0.0
    new = pd.DataFrame({"backlog_total": [0.5, 6.0], "arrivals_1h": [1.0, 5.0]}, index=[7, 8])
    flags = out_of_range(new, ranges)
    assert flags.to_dict() == {7: "backlog_total<min", 8: "backlog_total>max;arrivals_1h>max"}


def test_save_and_load_round_trip(trained: Trained, tmp_path):
    path = save_model(trained.model, tmp_path / "sub" / "model.pkl")
    back = load_model(path)
    assert isinstance(back, RiskModel)
    X = trained.data.X.head(50)
    assert np.array_equal(back.predict_proba(X), trained.model.predict_proba(X))
    p, contrib = back.predict_with_contributions(X)
    assert np.allclose(p, trained.model.predict_proba(X))
    assert contrib.shape == (50, len(back.feature_names))


def test_synthetic_acceptance_beats_the_elapsed_rule_at_every_age(small_history):
    """On the test desk's history: time-ordered backtest, model vs the elapsed-fraction rule."""
    from slarisk.risk.landmarks import build_training_data

    h = small_history
    d = build_training_data(
        h.tickets, h.policy, events=h.events, staffing=h.staffing, now=h.tickets["created_at"].max()
    )
    rep = backtest(d, FAST_PARAMS, baselines=True)
    ages = rep.by_age.pivot_table(index="landmark", columns="model", values=["roc_auc", "brier"])
    assert len(ages) == 4
    assert (ages["roc_auc"]["model"] > ages["roc_auc"]["elapsed_rule"]).all()
    assert (ages["brier"]["model"] < ages["brier"]["elapsed_rule"]).all()
    assert rep.metric("model", "roc_auc") > rep.metric("logistic", "roc_auc")
    assert rep.metric("model", "ece") <= 0.03  # 0.026 on this desk (censoring="due")
    assert rep.reliability_png.startswith(b"\x89PNG")
    assert {"metric", "priority", "tier"} <= set(rep.by_segment["segment"])
