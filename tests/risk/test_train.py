"""Training orchestration: time folds, fingerprint, and one small end-to-end run (CLI then
library, same seed) checking reproducibility, tracking, registry, promotion and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from slarisk.risk.spec import TrainSpec, parse_spec
from slarisk.risk.train import data_fingerprint
from slarisk.risk.tuning import default_trial, model_params, time_folds
from tests.risk.conftest import POLICY, make_history, open_snapshot

ROOT = Path(__file__).resolve().parents[2]
MIN = {"name": "t", "data": {"source": "x"}, "policy": "p.yaml"}


# ------------------------------------------------------------------------------------------
# units
# ------------------------------------------------------------------------------------------
def _meta(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 30 * 86400, n)), unit="s"
    )
    known = created + pd.to_timedelta(rng.exponential(2 * 86400, n), unit="s")
    reps = rng.integers(1, 4, n)  # landmarks per ticket
    return pd.DataFrame(
        {
            "ticket_id": np.repeat([f"T{i}" for i in range(n)], reps),
            "created_at": np.repeat(created, reps),
            "outcome_known_at": np.repeat(known, reps),
        }
    )


@pytest.mark.parametrize("purge", [True, False])
def test_time_folds_fit_on_the_past_only(purge: bool) -> None:
    meta = _meta()
    train = (meta["created_at"] < meta["created_at"].quantile(0.7)).to_numpy()
    folds = time_folds(meta, train, folds=3, fold_fraction=0.15, purge=purge)
    assert len(folds) == 3
    prev_end = None
    for fit, val in folds:
        assert val.any() and fit.any()
        assert not (fit & val).any()
        assert not (val & ~train).any() and not (fit & ~train).any()
        start = meta.loc[val, "created_at"].min()
        assert meta.loc[fit, "created_at"].max() < start
        if purge:
            assert (meta.loc[fit, "outcome_known_at"] < start).all()
        # a ticket's landmarks are never split between fit and validation
        assert not set(meta.loc[fit, "ticket_id"]) & set(meta.loc[val, "ticket_id"])
        if prev_end is not None:
            assert start >= prev_end  # consecutive windows, expanding fit sets
        prev_end = meta.loc[val, "created_at"].max()


def test_fingerprint_is_stable_and_sensitive() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert data_fingerprint(df, None) == data_fingerprint(df.copy(), None)
    assert data_fingerprint(df, None) != data_fingerprint(df.assign(a=[1, 2, 4]), None)
    assert data_fingerprint(df, None) != data_fingerprint(df.rename(columns={"a": "c"}), None)
    assert data_fingerprint(df, None) != data_fingerprint(df, df)
    assert len(data_fingerprint(df)) == 64


def test_model_params_merge_fixed_tuned_and_threads() -> None:
    spec = parse_spec(
        {"name": "t", "data": {"source": "x"}, "policy": "p.yaml", "model": {"num_threads": 1}}
    )
    p = model_params(spec, {"learning_rate": 0.1})
    assert p == {
        "n_estimators": 300,
        "learning_rate": 0.1,
        "calibration": "blend",
        "calibration_fraction": 0.2,
        "calibration_offset": 0.0,
        "refit_full": False,
        "n_jobs": 1,
    }
    spec = parse_spec({**MIN, "model": {"calibration": "sigmoid", "refit_full": True}})
    p = model_params(spec, {})
    assert (p["calibration"], p["refit_full"], p["n_jobs"]) == ("sigmoid", True, 1)


def test_default_trial_is_the_default_params_clipped_to_the_space() -> None:
    spec = parse_spec(
        {
            **MIN,
            "search": {
                "space": {
                    "learning_rate": {"low": 0.1, "high": 0.3, "log": True},  # default 0.05
                    "num_leaves": {"type": "int", "low": 8, "high": 128, "log": True},
                    "reg_lambda": {"low": 0.001, "high": 0.5},  # default 1.0
                }
            },
        }
    )
    assert default_trial(spec) == {"learning_rate": 0.1, "num_leaves": 31, "reg_lambda": 0.5}


def test_cli_bad_spec_is_one_line_exit_2(tmp_path: Path) -> None:
    from slarisk.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"name": "t", "data": {"source": "x"}, "policy": "p", "split": {"folds": 0}})
    )
    res = CliRunner().invoke(app, ["train", str(bad)], env={"COLUMNS": "200"})
    assert res.exit_code == 2
    assert "bad.yaml: split.folds:" in res.output
    assert "Traceback" not in res.output


def test_cli_missing_data_dir_is_one_line_exit_2(tmp_path: Path) -> None:
    from slarisk.cli import app

    spec = tmp_path / "s.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "data": {"source": str(tmp_path / "nope")},
                "policy": str(ROOT / "policies" / "default.yaml"),
            }
        )
    )
    res = CliRunner().invoke(app, ["train", str(spec)], env={"COLUMNS": "200"})
    assert res.exit_code == 2
    assert "data.source: data source directory not found" in res.output


# ------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------
def _spec_file(tmp_path: Path) -> tuple[Path, TrainSpec]:
    h = make_history(seed=3, days=14, per_day=160.0)
    data = tmp_path / "history"
    data.mkdir()
    h.tickets.to_parquet(data / "tickets.parquet")
    h.events.to_parquet(data / "events.parquet")
    h.staffing.to_parquet(data / "staffing.parquet")
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    raw = {
        "name": "tiny",
        "data": {"source": str(data)},
        "policy": str(tmp_path / "policy.yaml"),
        "split": {"folds": 2, "fold_fraction": 0.2},
        "search": {
            "n_trials": 5,
            "fixed": {"n_estimators": 30},
            "space": {
                "learning_rate": {"low": 0.05, "high": 0.3, "log": True},
                "num_leaves": {"type": "int", "low": 4, "high": 32},
            },
        },
        "seed": 11,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, parse_spec(raw, path)


def _repo_mlruns() -> set[str]:
    d = ROOT / "mlruns"
    return {str(p.relative_to(d)) for p in d.rglob("*")} if d.is_dir() else set()


def test_train_end_to_end_reproducible_tracked_registered(tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    from slarisk.cli import app
    from slarisk.risk import registry as reg
    from slarisk.risk.train import train

    before = _repo_mlruns()
    spec_path, spec = _spec_file(tmp_path)
    uri = reg.tracking_config().tracking_uri
    assert str(tmp_path) in uri  # the autouse fixture's temporary store

    # 1) CLI, 3 trials, seed 5: first model becomes the champion
    res = CliRunner().invoke(
        app,
        [
            "train",
            str(spec_path),
            "--trials",
            "3",
            "--seed",
            "5",
            "--models-dir",
            str(tmp_path / "models"),
        ],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    for needle in (
        "promoted to champion",
        "no champion yet",
        "elapsed_rule",
        "logistic",
        "By landmark age",
        "exported",
    ):
        assert needle in res.output, needle

    # 2) library, same seed and data: same metrics, same model -> the champion is kept
    global_uri = mlflow.get_tracking_uri()
    result = train(spec.with_overrides(trials=3, seed=5), models_dir=tmp_path / "models2")
    assert mlflow.get_tracking_uri() == global_uri  # process-wide MLflow state untouched
    assert result.version == "2"
    assert not result.decision.promote
    assert "does not beat champion v1" in result.decision.reason
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    first = client.search_runs(
        experiment_ids=[result.experiment_id],
        filter_string="tags.`slarisk.model_version` = '1'",
    )
    assert len(first) == 1
    logged = {
        k.removeprefix("test_"): v
        for k, v in first[0].data.metrics.items()
        if k.startswith("test_") and "_age_" not in k
    }
    assert logged and logged == {k: v for k, v in result.metrics.items() if k in logged}
    assert result.champion_metrics is not None
    assert result.champion_metrics["roc_auc"] == result.metrics["roc_auc"]  # same backtest rows
    assert result.metrics["roc_auc"] > result.baselines["elapsed_rule"]["roc_auc"]

    # tracking: one nested run per trial, params/metrics/plots/fingerprint on the parent
    children = client.search_runs(
        experiment_ids=[result.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'",
    )
    assert len(children) == result.n_trials == 3
    assert all("model.learning_rate" in c.data.params for c in children)
    parent = client.get_run(result.run_id)
    assert parent.data.tags["slarisk.data_fingerprint"] == result.data_fingerprint
    assert parent.data.tags["promotion.decision"] == "kept_champion"
    assert "test_roc_auc" in parent.data.metrics and "cv_log_loss" in parent.data.metrics
    assert parent.data.params["seed"] == "5"
    plots = {Path(a.path).name for a in client.list_artifacts(result.run_id, "plots")}
    assert plots == {"reliability.png", "feature_importance.png"}
    assert (tmp_path / "mlruns" / "optuna.db").is_file()
    assert (tmp_path / "mlruns" / "artifacts").is_dir()

    # registry: two versions, alias still on v1, decision tagged on v2
    assert str(client.get_model_version_by_alias("slarisk-breach-risk", "champion").version) == "1"
    v2 = client.get_model_version("slarisk-breach-risk", "2")
    assert v2.tags["promotion.decision"] == "kept_champion"
    mv = client.get_model_version("slarisk-breach-risk", "1")
    assert client.get_model_version_download_uri(mv.name, mv.version)

    # export: only the promoted model, with its card
    card = (tmp_path / "models" / "slarisk-breach-risk.md").read_text()
    assert result.data_fingerprint in card and "## Limitations" in card
    assert (tmp_path / "models" / "slarisk-breach-risk.pkl").is_file()
    assert not (tmp_path / "models2").exists()

    # loading: registry alias first; export when the registry lacks the alias
    champ = reg.load_champion(uri, tmp_path / "models")
    assert (champ.source, champ.version) == ("registry", "1")
    assert champ.metrics["roc_auc"] == result.metrics["roc_auc"]
    from_file = reg.load_champion(uri, tmp_path / "models", alias="challenger")
    assert (from_file.source, from_file.version) == ("file", "1")
    assert result.report is not None and result.report.model is not None
    test_rows = result.report.predictions
    assert len(test_rows) == result.metrics["rows"]
    meta = result.report.model.metadata  # the served model carries its training metadata
    assert meta["data_fingerprint"] == result.data_fingerprint and meta["run_id"] == result.run_id

    assert _repo_mlruns() == before  # the repository's mlruns/ was never touched


@pytest.mark.parametrize("with_events", [True, False])
def test_train_on_a_folder_without_staffing_then_score_without_it(
    tmp_path: Path, with_events: bool
) -> None:
    """`--data` on a folder with only tickets (and events): the staffing features are turned
    off with one line, the spec's relative paths come from its folder, and the exported model
    scores open tickets without --staffing."""
    from slarisk.cli import app
    from slarisk.risk import registry as reg
    from slarisk.risk.features import NEEDS_STAFFING_FEATURES

    h = make_history(seed=3, days=14, per_day=160.0)
    data = tmp_path / "imported"
    data.mkdir()
    h.tickets.to_parquet(data / "tickets.parquet")
    if with_events:
        h.events.to_parquet(data / "events.parquet")
    specs = tmp_path / "pipelines"
    specs.mkdir()
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    spec = specs / "tiny.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "data": {"source": "../nowhere"},  # replaced by --data
                "policy": "../policy.yaml",  # relative to the spec's folder
                "features": {"staffing": True},
                "split": {"folds": 2, "fold_fraction": 0.2},
                "search": {"n_trials": 2, "fixed": {"n_estimators": 20}},
                "seed": 2,
            }
        )
    )
    models = tmp_path / "models"
    res = CliRunner().invoke(
        app,
        ["train", str(spec), "--data", str(data), "--models-dir", str(models), "--force-promote"],
        env={"COLUMNS": "400"},
    )
    assert res.exit_code == 0, res.output
    off = [ln for ln in res.output.splitlines() if "staffing features off" in ln]
    assert len(off) == 1
    assert f"no staffing table in {data}" in off[0]
    assert all(name in off[0] for name in NEEDS_STAFFING_FEATURES)
    assert ("no events table" in res.output) is not with_events
    assert "promoted to champion" in res.output

    champ = reg.load_champion(reg.tracking_config().tracking_uri, models)
    names = set(champ.model.feature_names)
    assert not names & set(NEEDS_STAFFING_FEATURES)
    assert "backlog_total" in names

    now = h.tickets["created_at"].max() - pd.Timedelta(hours=30)
    openq = tmp_path / "open.parquet"
    open_snapshot(h.tickets, now).to_parquet(openq)
    out = tmp_path / "scored.csv"
    res = CliRunner().invoke(
        app,
        [
            "score",
            "--model",
            "champion",
            "--models-dir",
            str(models),
            str(openq),
            "--policy",
            str(tmp_path / "policy.yaml"),
            "--now",
            now.isoformat(),
            "--out",
            str(out),
        ],
        env={"COLUMNS": "400"},
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out)
    assert len(scored) > 5
    assert scored["breach_probability"].between(0, 1).all()
    assert scored["breach_probability"].nunique() > 1


def test_feature_options_reach_tuning_and_backtest() -> None:
    """features.exclude / at_opening_only select the model's columns in the folds and the fit."""
    from slarisk.risk.evaluate import backtest
    from slarisk.risk.features import WAIT_FEATURES
    from slarisk.risk.landmarks import build_training_data
    from slarisk.risk.model import AGE_FEATURES
    from slarisk.risk.train import _feature_options
    from slarisk.risk.tuning import time_folds, tune
    from slarisk.sla.policy import policy_from_dict

    spec = parse_spec(
        {
            **MIN,
            "features": {"exclude": ["customer", "hour"], "at_opening_only": True},
            "split": {"folds": 1, "fold_fraction": 0.3},
            "search": {"n_trials": 1, "fixed": {"n_estimators": 10}},
        },
        "s.yaml",
    )
    opts = _feature_options(spec)
    assert opts == {
        "exclude": ("customer", "hour"),
        "at_opening_only": True,
        "attributes": (),
        "queue_wait": False,
    }
    h = make_history(seed=2, days=10, per_day=120.0)
    data = build_training_data(h.tickets, policy_from_dict(POLICY), staffing=h.staffing)
    rep = backtest(data, {"n_estimators": 10}, baselines=False, **opts)
    assert rep.model is not None
    names = set(rep.model.feature_names)
    assert not names & {"customer", "hour", *AGE_FEATURES, *WAIT_FEATURES}  # wait: opt-in
    assert {"priority", "backlog_total"} <= names
    train = (data.meta["created_at"] < data.meta["created_at"].quantile(0.7)).to_numpy()
    assert time_folds(data.meta, train, 1, 0.3, True)
    study = tune(spec, data, train, storage=None, study_name="t", log_trials=False)
    assert len(study.trials) == 1
    assert study.trials[0].params == default_trial(spec)  # the first trial is the defaults
