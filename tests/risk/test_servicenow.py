"""Real-data acceptance on the ServiceNow incident log (skips when ../shared/data is absent).

The full evaluation (all 24,918 incidents, four in-flight ages) is
``slarisk evaluate-servicenow``; this test runs a subsample to stay fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slarisk.risk.servicenow_eval import (
    HISTORY_FEATURES,
    LR_C_GRID,
    MODEL_GRID,
    OPENING_ATTRIBUTES,
    evaluate_servicenow,
    history_features,
    load_servicenow,
    observations,
    report_markdown,
)


def _ts(hours: float) -> pd.Timestamp:
    return pd.Timestamp("2016-03-01", tz="UTC") + pd.Timedelta(hours=hours)


def test_history_features_use_only_what_was_known_before_the_instant():
    """Caller A: incident 1 (breached, resolved at 10 h), incident 2 (met, resolved at 30 h)
    and incident 3 opened at 20 h: at its opening only incident 1's outcome is known and
    incident 2 is still open. Group g's recent resolutions likewise."""
    nat = pd.NaT
    tickets = pd.DataFrame(
        {
            "ticket_id": ["1", "2", "3", "4"],
            "created_at": [_ts(0), _ts(5), _ts(20), _ts(1)],
            "resolved_at": [_ts(10), _ts(30), nat, _ts(20)],
            "closed_at": pd.Series([nat] * 4, dtype="datetime64[ns, UTC]"),
            "source_made_sla": [False, True, True, True],
            "caller": ["A", "A", "A", None],
            "group": ["g", "g", "g", "g"],
        }
    )
    obs = tickets.assign(at=tickets["created_at"])
    h = history_features(tickets, obs)
    assert list(h.columns) == list(HISTORY_FEATURES)
    third = h.iloc[2]
    # one resolved incident of caller A before 20 h (breached), shrunk: (1 + 0.37*5) / (1 + 5)
    assert third["caller_breach_rate"] == pytest.approx((1 + 0.37 * 5) / 6)
    assert third["caller_mean_log_resolution_hours"] == pytest.approx(np.log1p(10.0))
    assert third["caller_open_now"] == 1.0  # incident 2, resolved only at 30 h
    # group: incident 1 resolved at 10 h; incident 4 resolves exactly at 20 h: not before
    assert third["group_recent_breach_share"] == 1.0
    assert third["group_recent_log_resolution_hours"] == pytest.approx(np.log1p(10.0))
    first = h.iloc[0]
    assert first["caller_breach_rate"] == pytest.approx(0.37)  # nothing known: the prior
    assert np.isnan(first["caller_mean_log_resolution_hours"])
    assert first["caller_open_now"] == 0.0
    assert np.isnan(first["group_recent_breach_share"])
    assert h.iloc[3][["caller_breach_rate", "caller_open_now"]].isna().all()  # no caller


@pytest.fixture(scope="module")
def incidents(shared_data):
    path = shared_data / "servicenow_incidents" / "incident_event_log.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return load_servicenow(path)


def test_opening_observations_use_only_what_is_known_at_opening(incidents):
    obs = observations(incidents, (0.0, 24.0))
    assert set(OPENING_ATTRIBUTES) <= set(obs.columns)
    o0 = obs[obs["landmark"] == 0]
    assert (o0["at"] == o0["created_at"]).all()
    late = obs[obs["landmark"] == 24]
    known = late["resolved_at"].fillna(late["closed_at"])
    assert (known.isna() | (known > late["at"])).all()  # still unresolved at that age
    assert 0.2 < o0["label"].mean() < 0.5  # ~37% made_sla false


def test_model_against_the_tuned_logistic_regression_on_both_splits(incidents):
    rep = evaluate_servicenow(
        incidents,
        ages_hours=(24.0,),
        max_tickets=9000,
        params={"n_estimators": 200, "learning_rate": 0.05},
        grid=MODEL_GRID[:2],
    )
    at0 = rep.at_opening.set_index(["split", "model"])
    models = ("model", "logistic", "logistic_all")
    assert set(at0.index) == {(sp, m) for sp in ("purged", "unpurged") for m in models}
    for split in ("purged", "unpurged"):
        for m in models:
            assert at0.loc[(split, m), "roc_auc"] > 0.7
        assert rep.info[split]["logistic_C"] in LR_C_GRID
        assert rep.info[split]["logistic_all_C"] in LR_C_GRID
        assert len(rep.info[split]["logistic_cv_auc"]) == len(LR_C_GRID)
        assert rep.info[split]["model_params"] in MODEL_GRID[:2]  # chosen on training folds
        assert len(rep.info[split]["model_cv_auc"]) == 2
    prio = rep.by_priority
    assert set(prio["model"]) == set(models) and set(prio["split"]) == {"purged", "unpurged"}
    p3 = prio[(prio["priority"] == "P3") & (prio["model"] == "model")]
    assert (p3["roc_auc"] > 0.6).all()  # most incidents are P3
    assert rep.info["purged"]["train_rows"] < rep.info["unpurged"]["train_rows"]
    assert rep.info["purged"]["test_rows"] == rep.info["unpurged"]["test_rows"]
    assert np.isfinite(rep.at_opening["brier"]).all()
    assert set(rep.in_flight["age_hours"]) == {0.0, 24.0}
    text = report_markdown(rep)
    assert "| purged | tuned logistic |" in text and "| unpurged | model |" in text
    assert "| unpurged | P3 |" in text


def test_the_command_reports_and_writes_the_markdown(incidents, shared_data, tmp_path):
    from typer.testing import CliRunner

    from slarisk.cli import app

    path = shared_data / "servicenow_incidents" / "incident_event_log.csv.gz"
    out = tmp_path / "servicenow.md"
    args = ["evaluate-servicenow", str(path), "--max-tickets", "3000", "--ages", "24"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "| split | model | roc_auc |" in text
    assert "purged: AUC gain over the tuned LR" in text
    assert "unpurged: AUC gain over the tuned LR" in text


def test_the_command_names_a_bad_ages_list(tmp_path):
    from typer.testing import CliRunner

    from slarisk.cli import app
    from slarisk.errors import InputError

    r = CliRunner().invoke(app, ["evaluate-servicenow", str(tmp_path), "--ages", "1,x"])
    assert isinstance(r.exception, InputError) and "--ages" in str(r.exception)


def test_the_command_defaults_are_the_library_defaults():
    from slarisk.cli import servicenow as cli
    from slarisk.risk import servicenow_eval as lib

    assert cli.DEFAULT_PATH == lib.DEFAULT_PATH
    assert cli.DEFAULT_AGES_TEXT == lib.DEFAULT_AGES_TEXT
