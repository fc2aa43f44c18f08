"""Promotion rule, tracking locations, model card, export and the champion fallback loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slarisk.risk import registry as reg
from slarisk.risk.model_card import ModelCard, feature_importance_table, render_model_card
from slarisk.risk.registry import PromotionRule, decide_promotion

# ------------------------------------------------------------------------------------------
# promotion rule
# ------------------------------------------------------------------------------------------
NEW = {"roc_auc": 0.80, "brier": 0.15, "ece": 0.02}


def test_no_champion_promotes() -> None:
    d = decide_promotion(NEW, None, PromotionRule())
    assert d.promote and d.reason == "no champion yet"
    assert d.champion_value is None


def test_a_model_that_does_not_beat_the_rule_is_never_promoted() -> None:
    rule = PromotionRule("roc_auc")
    lost = decide_promotion(NEW, None, rule, baseline={"roc_auc": 0.88})
    assert not lost.promote and "elapsed_rule baseline" in lost.reason
    also = decide_promotion(NEW, {"roc_auc": 0.5, "brier": 0.2}, rule, baseline={"roc_auc": 0.88})
    assert not also.promote
    won = decide_promotion(NEW, None, rule, baseline={"roc_auc": 0.70})
    assert won.promote and won.reason == "no champion yet"
    brier = decide_promotion(NEW, None, PromotionRule("brier"), baseline={"brier": 0.10})
    assert not brier.promote  # lower is better: 0.15 does not beat 0.10


def test_better_promotes_equal_and_worse_keep() -> None:
    rule = PromotionRule("roc_auc")
    better = decide_promotion(NEW, {"roc_auc": 0.79, "brier": 0.16}, rule, champion_version="3")
    assert better.promote and "v3" in better.reason and better.champion_value == 0.79
    equal = decide_promotion(NEW, {"roc_auc": 0.80, "brier": 0.16}, rule, champion_version="3")
    assert not equal.promote and "does not beat" in equal.reason
    worse = decide_promotion(NEW, {"roc_auc": 0.81, "brier": 0.16}, rule, champion_version="3")
    assert not worse.promote


def test_lower_is_better_metrics() -> None:
    rule = PromotionRule("brier")
    assert decide_promotion(NEW, {"brier": 0.16}, rule).promote
    assert not decide_promotion(NEW, {"brier": 0.14}, rule).promote


def test_min_delta_margin() -> None:
    rule = PromotionRule("roc_auc", min_delta=0.02)
    assert not decide_promotion(NEW, {"roc_auc": 0.79, "brier": 0.16}, rule).promote
    assert decide_promotion(NEW, {"roc_auc": 0.77, "brier": 0.16}, rule).promote


def test_calibration_gate_blocks_even_without_champion() -> None:
    rule = PromotionRule("roc_auc", max_ece=0.01)
    d = decide_promotion(NEW, None, rule)
    assert not d.promote and "calibration gate" in d.reason
    assert decide_promotion(NEW, None, PromotionRule("roc_auc", max_ece=0.03)).promote


def test_champion_that_cannot_score_the_backtest_is_kept() -> None:
    d = decide_promotion(
        NEW, None, PromotionRule(), champion_version="2", champion_error="KeyError: 'x'"
    )
    assert not d.promote
    assert "could not be evaluated" in d.reason and "--force-promote" in d.reason


def test_decision_tags_are_strings() -> None:
    champ = {"roc_auc": 0.7, "brier": 0.16}
    tags = decide_promotion(NEW, champ, PromotionRule(), champion_version="1").as_tags()
    assert tags["promotion.decision"] == "promoted"
    assert tags["promotion.champion_version"] == "1"
    assert all(isinstance(v, str) for v in tags.values())


def test_new_model_without_the_metric_is_an_error() -> None:
    with pytest.raises(ValueError, match="pr_auc"):
        decide_promotion(NEW, None, PromotionRule("pr_auc"))


def test_auc_alone_does_not_promote_a_worse_calibrated_model() -> None:
    """The W=8, S=2 case: better AUC than the rule, worse Brier -> never promoted."""
    rule = PromotionRule()
    assert rule.metrics == ("roc_auc", "brier")
    new = {"roc_auc": 0.95, "brier": 0.0085, "ece": 0.061}
    d = decide_promotion(new, None, rule, baseline={"roc_auc": 0.90, "brier": 0.0074})
    assert not d.promote
    assert "brier 0.0085 does not beat the elapsed_rule baseline's 0.0074" in d.reason
    ok = decide_promotion(new, None, rule, baseline={"roc_auc": 0.90, "brier": 0.0090})
    assert ok.promote


def test_the_champion_must_be_beaten_on_auc_and_brier() -> None:
    rule = PromotionRule()
    worse_brier = decide_promotion(
        NEW, {"roc_auc": 0.70, "brier": 0.14}, rule, champion_version="4"
    )
    assert not worse_brier.promote
    assert "brier 0.1500 does not beat its 0.1400" in worse_brier.reason
    equal_brier = decide_promotion(NEW, {"roc_auc": 0.70, "brier": 0.15}, rule)
    assert not equal_brier.promote  # strictly better is required
    both = decide_promotion(NEW, {"roc_auc": 0.70, "brier": 0.16}, rule, champion_version="4")
    assert both.promote and "also brier 0.1500 vs 0.1600" in both.reason
    missing = decide_promotion(NEW, {"roc_auc": 0.70}, rule)
    assert not missing.promote and "no finite 'brier'" in missing.reason


def test_a_new_model_without_brier_is_an_error_under_the_default_rule() -> None:
    with pytest.raises(ValueError, match="brier"):
        decide_promotion({"roc_auc": 0.9}, None, PromotionRule())


unit = st.floats(0.0, 1.0, allow_nan=False)


@given(a=unit, b=unit, delta=st.floats(0.0, 0.1), metric=st.sampled_from(["roc_auc", "brier"]))
def test_promotion_is_strict_and_antisymmetric(
    a: float, b: float, delta: float, metric: str
) -> None:
    """A promotes over B iff it is better by more than delta; then B never promotes over A."""
    rule = PromotionRule(metric, min_delta=delta, also=())
    ab = decide_promotion({metric: a}, {metric: b}, rule).promote
    ba = decide_promotion({metric: b}, {metric: a}, rule).promote
    gain = (a - b) if metric == "roc_auc" else (b - a)
    assert ab == (gain > delta)
    assert not (ab and ba)
    assert not decide_promotion({metric: a}, {metric: a}, rule).promote


@given(auc=st.tuples(unit, unit), brier=st.tuples(unit, unit), base=st.tuples(unit, unit))
def test_promotion_implies_better_on_every_metric(
    auc: tuple[float, float], brier: tuple[float, float], base: tuple[float, float]
) -> None:
    """Promoted => strictly better than the champion and the rule on AUC and on Brier."""
    new = {"roc_auc": auc[0], "brier": brier[0]}
    champ = {"roc_auc": auc[1], "brier": brier[1]}
    rule_base = {"roc_auc": base[0], "brier": base[1]}
    d = decide_promotion(new, champ, PromotionRule(), baseline=rule_base)
    expected = auc[0] > auc[1] and brier[0] < brier[1] and auc[0] > base[0] and brier[0] < base[1]
    assert d.promote == expected


# ------------------------------------------------------------------------------------------
# tracking locations
# ------------------------------------------------------------------------------------------
def test_tracking_config_follows_the_environment(tmp_path: Path) -> None:
    cfg = reg.tracking_config()  # the autouse fixture points both variables at tmp_path
    assert cfg.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert cfg.mlruns_dir == tmp_path / "mlruns"
    assert cfg.artifact_root == tmp_path / "mlruns" / "artifacts"
    assert cfg.optuna_storage == f"sqlite:///{tmp_path / 'mlruns' / 'optuna.db'}"


def test_tracking_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("SLARISK_MLRUNS")
    cfg = reg.tracking_config()
    assert cfg.tracking_uri == "sqlite:///mlruns/mlflow.db"
    assert cfg.mlruns_dir == Path("mlruns").absolute()
    explicit = reg.tracking_config("sqlite:////x/y.db", Path("/tmp/z"))
    assert explicit.tracking_uri == "sqlite:////x/y.db"
    assert explicit.optuna_storage == "sqlite:////tmp/z/optuna.db"


# ------------------------------------------------------------------------------------------
# model card, export, fallback loading
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():  # type: ignore[no-untyped-def]
    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import fit_risk_model
    from tests.risk.conftest import make_history

    h = make_history(seed=5, days=7, per_day=160.0)
    data = build_training_data(h.tickets, h.policy, events=h.events, staffing=h.staffing)
    model = fit_risk_model(data, {"n_estimators": 10, "n_jobs": 1}, tickets=h.tickets)
    return model, data


def _card(**kw: object) -> ModelCard:
    base: dict = dict(
        name="slarisk-breach-risk",
        version="4",
        run_id="abc123",
        trained_at="2026-11-27T15:00:00+00:00",
        spec_name="pipelines/breach_risk.yaml",
        data_source="demo_out/history",
        data_fingerprint="f" * 64,
        n_tickets_train=700,
        n_tickets_test=300,
        n_rows_train=2800,
        n_rows_test=1200,
        period_train="created 2026-01-01 .. 2026-02-01",
        period_test="created 2026-02-01 .. 2026-02-14",
        metrics={"roc_auc": 0.81, "brier": 0.12, "ece": 0.02},
        baselines={"elapsed_rule": {"roc_auc": 0.7, "brier": 0.2}, "logistic": {"roc_auc": 0.75}},
        by_age=[{"age": 0.0, "roc_auc_model": 0.8, "roc_auc_elapsed_rule": 0.6}],
        params={"learning_rate": 0.05, "num_leaves": 31},
        decision="promoted: no champion yet",
        seed=42,
        top_features=[("elapsed_fraction", 0.4), ("backlog_total", 0.2)],
    )
    base.update(kw)
    return ModelCard(**base)


def test_model_card_has_the_required_sections() -> None:
    text = render_model_card(_card())
    for needle in (
        "# Model card: slarisk-breach-risk v4",
        "## Intended use",
        "## Limitations",
        "## Metrics on the backtest",
        "## Parameters",
        "f" * 64,
        "| model | 0.8100 |",
        "| elapsed_rule | 0.7000 |",
        "| logistic | 0.7500 |",
        "| learning_rate | 0.0500 |",
        "promoted: no champion yet",
        "elapsed_fraction",
    ):
        assert needle in text, needle
    assert "| logistic | 0.7500 | n/a |" in text  # missing metrics are shown, not invented
    assert "## Workload range seen in training" not in text  # none recorded: no section


def test_model_card_states_the_training_workload_range() -> None:
    rng = {"min": 0.0, "p50": 40.0, "p99": 300.0, "max": 630.0}
    card = _card().__class__(
        **{
            **_card().__dict__,
            "workload_range": {
                "backlog_total": {**rng, "backtest_max": 747.0, "backtest_share_above": 0.14},
                "arrivals_1h": {**rng, "backtest_max": math.nan, "backtest_share_above": math.nan},
            },
        }
    )
    text = render_model_card(card)
    assert "## Workload range seen in training" in text
    assert "| backlog_total | 0 | 40 | 300 | 630 | 747.0000 | 14.0% |" in text
    assert "| arrivals_1h | 0 | 40 | 300 | 630 | n/a | n/a |" in text
    assert "extrapolates flat" in text and "out_of_range" in text


def test_export_then_fallback_load_without_registry(tmp_path: Path, tiny_model) -> None:  # type: ignore[no-untyped-def]
    model, data = tiny_model
    out = reg.export_model(model, _card(), tmp_path / "models")
    assert out.model_path.name == "slarisk-breach-risk.pkl"
    assert out.card_path.read_text().startswith("# Model card")
    missing_db = tmp_path / "nowhere" / "mlflow.db"
    champ = reg.load_champion(f"sqlite:///{missing_db}", tmp_path / "models")
    assert not missing_db.exists()  # never creates a store while looking for one
    assert champ.source == "file" and champ.version == "4"
    assert champ.metrics["roc_auc"] == pytest.approx(0.81)
    assert champ.details["data_fingerprint"] == "f" * 64
    X = data.X.head(50)
    np.testing.assert_allclose(champ.model.predict_proba(X), model.predict_proba(X))


def test_no_champion_anywhere(tmp_path: Path) -> None:
    with pytest.raises(reg.ChampionNotFoundError) as err:
        reg.load_champion(f"sqlite:///{tmp_path / 'no.db'}", tmp_path / "models")
    msg = str(err.value)
    assert "not reachable" in msg and "slarisk-breach-risk.pkl: not found" in msg
    assert "slarisk train" in msg


def test_importance_table_shares() -> None:
    tab = feature_importance_table(["a", "b", "c"], [1.0, 3.0, 0.0], top=2)
    assert tab == [("b", 0.75), ("a", 0.25)]
    assert math.isclose(sum(v for _, v in feature_importance_table(["a", "b"], [1, 1])), 1.0)
