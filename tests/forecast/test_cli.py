"""`slarisk forecast backtest|fit|predict|reforecast` through the real CLI app; the
predicted table feeds `capacity requirements`; runs are tracked in MLflow (tmp store)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.cli import app
from slarisk.cli.capacity import load_volumes
from slarisk.data.io import read_table
from tests.forecast.synthetic import poisson_table

runner = CliRunner()


def _run(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table, _ = poisson_table(weeks=10, interval_minutes=60, seed=9)
    table["aht"] = 180.0
    path = tmp_path_factory.mktemp("fc") / "volumes.csv"
    table.to_csv(path, index=False)
    return path


def test_backtest_writes_page_tables_and_an_mlflow_run(volumes: Path, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    out = tmp_path / "bt"
    text = _run(
        "forecast",
        "backtest",
        volumes,
        "--interval",
        60,
        "--origins-from",
        "2026-02-23",
        "--origins-to",
        "2026-03-02",
        "--warmup",
        2,
        "--models",
        "ets,lgbm",
        "--out",
        out,
    )
    assert "Poisson floor" in text and "selected" in text and "MLflow run" in text
    metrics = read_table(out / "metrics.csv")
    assert set(metrics["model"]) == {"naive", "avg4", "ets", "lgbm", "selected"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img" in html and "Worst days" in html
    # the autouse fixture points MLFLOW_TRACKING_URI at tmp_path
    client = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name("slarisk-forecast")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    assert runs and "wape_selected" in runs[0].data.metrics


def test_fit_predict_feed_capacity_and_reforecast(volumes: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    _run(
        "forecast",
        "fit",
        volumes,
        "--interval",
        60,
        "--models",
        "ets,lgbm",
        "--origins",
        3,
        "--no-track",
        "--out",
        model,
    )
    out = tmp_path / "forecast.csv"
    text = _run(
        "forecast",
        "predict",
        volumes,
        "--interval",
        60,
        "--model",
        model,
        "--horizon",
        14,
        "--paths",
        5,
        "--out",
        out,
    )
    assert "intervals" in text
    table = load_volumes(out)  # the staffing step's own reader accepts it
    assert table["interval_start"].min() == pd.Timestamp("2026-03-16", tz="UTC")
    assert (table["interval_start"].max() - table["interval_start"].min()).days == 13
    assert {"lo80", "hi95"} <= set(read_table(out).columns)
    assert (table["aht"] == 180.0).all()
    paths = read_table(tmp_path / "forecast_paths.parquet")
    assert paths["path"].nunique() == 5
    text = _run("capacity", "requirements", out, "--out", tmp_path / "req.csv")
    assert "peak agents" in text
    arrivals = tmp_path / "today.csv"
    today = read_table(out)
    today = today[
        pd.to_datetime(today["interval_start"]).dt.date == pd.Timestamp("2026-03-16").date()
    ]
    pd.DataFrame(
        {
            "interval_start": today["interval_start"].iloc[:4],
            "volume": (pd.to_numeric(today["volume"]).iloc[:4] * 1.5).round(),
        }
    ).to_csv(arrivals, index=False)
    text = _run(
        "forecast",
        "reforecast",
        arrivals,
        "--forecast",
        out,
        "--model",
        model,
        "--now",
        "2026-03-16T12:00",
        "--out",
        tmp_path / "updated.csv",
    )
    assert "rest of day" in text
    updated = read_table(tmp_path / "updated.csv")
    assert len(updated) == 24
    # with the history in DATA, the rule's weekday profile and earlier days are available
    history = read_table(volumes)[["interval_start", "queue", "volume"]]
    history["interval_start"] = pd.to_datetime(history["interval_start"]).dt.tz_localize("UTC")
    now = read_table(arrivals).assign(queue="q")
    now["interval_start"] = pd.to_datetime(now["interval_start"], utc=True)
    both = tmp_path / "history_and_today.csv"
    pd.concat([history, now]).to_csv(both, index=False)
    text = _run(
        "forecast",
        "reforecast",
        both,
        "--forecast",
        out,
        "--model",
        model,
        "--now",
        "2026-03-16T12:00",
        "--out",
        tmp_path / "updated2.csv",
    )
    assert "q: arrived" in text
    again = read_table(tmp_path / "updated2.csv")
    assert len(again) == 24 and (pd.to_numeric(again["volume"]) >= 0).all()


def test_bad_model_name_is_a_user_error(volumes: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["forecast", "fit", str(volumes), "--models", "prophet", "--out", str(tmp_path / "m.json")],
    )
    assert result.exit_code != 0
    assert "prophet" in str(result.exception) + result.output
