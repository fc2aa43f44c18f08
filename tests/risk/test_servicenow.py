"""Real-data acceptance on the ServiceNow incident log (skips when ../shared/data is absent).

The full evaluation (all 24,918 incidents, four in-flight ages) is
``slarisk evaluate-servicenow``; this test runs a subsample to stay fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from slarisk.risk.servicenow_eval import (
    OPENING_ATTRIBUTES,
    evaluate_servicenow,
    load_servicenow,
    observations,
    report_markdown,
)


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


def test_model_beats_one_hot_logistic_regression_on_a_time_split(incidents):
    rep = evaluate_servicenow(
        incidents,
        ages_hours=(24.0,),
        max_tickets=9000,
        params={"n_estimators": 200, "learning_rate": 0.05},
    )
    at0 = rep.at_opening.set_index("model")
    assert at0.loc["model", "roc_auc"] > 0.7
    assert rep.auc_gain() > 0.0
    assert np.isfinite(at0["brier"]).all()
    assert set(rep.in_flight["age_hours"]) == {0.0, 24.0}
    assert "| model |" in report_markdown(rep)


def test_the_command_reports_and_writes_the_markdown(incidents, shared_data, tmp_path):
    from typer.testing import CliRunner

    from slarisk.cli import app

    path = shared_data / "servicenow_incidents" / "incident_event_log.csv.gz"
    out = tmp_path / "servicenow.md"
    args = ["evaluate-servicenow", str(path), "--max-tickets", "3000", "--ages", "24"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "| model | roc_auc |" in text and "AUC gain over one-hot LR" in text


def test_the_command_names_a_bad_ages_list(tmp_path):
    from typer.testing import CliRunner

    from slarisk.cli import app
    from slarisk.errors import InputError

    r = CliRunner().invoke(app, ["evaluate-servicenow", str(tmp_path), "--ages", "1,x"])
    assert isinstance(r.exception, InputError) and "--ages" in str(r.exception)
