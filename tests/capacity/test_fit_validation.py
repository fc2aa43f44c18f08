"""Real-data validation of a call-log fit (CLI and a slice of the Anonymous Bank log)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.capacity.fit_validation import validate_call_fit, validation_html
from slarisk.cli import app
from tests.capacity.call_log_samples import synthetic_log

runner = CliRunner()


def test_cli_validate_fit(tmp_path: Path) -> None:
    synthetic_log(tmp_path / "calls_1999_january.txt.gz", days=3)
    out = tmp_path / "v"
    r = runner.invoke(
        app,
        [
            "capacity", "validate-fit", "--calls-dir", str(tmp_path), "--train", "1999-01",
            "--test", "1999-01", "--replications", "1", "--methods",
            "span,available,span_load,span_calibrated",
            "--patience", "gamma", "--dispatch", "priority", "--staffing-minutes", "15",
            "--out", str(out),
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    for name in ("cells.csv", "by_hour.csv", "errors.csv", "summary.json", "report.html"):
        assert (out / name).exists()
    prov = pd.read_csv(out / "provenance.csv").set_index("input")
    assert prov.loc["patience", "months"] == "1999-01"
    assert "log-in spans" in prov.loc["staffing (span)", "source"]
    assert "noise floor" in r.output and "per month" in r.output
    err = pd.read_csv(out / "errors.csv")
    assert set(err["model"]) == {"simulation", "erlang_a"} and len(err) == 8
    assert prov.loc["staffing (span_calibrated)", "months"] == "1999-01 (x 1999-01)"
    assert "hour of day" in prov.loc["staffing (span_calibrated)", "source"]
    assert "call type" in prov.loc["call classes", "source"]
    r = runner.invoke(
        app, ["capacity", "validate-fit", "--calls-dir", str(tmp_path), "--methods", "magic",
              "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 2 and "magic" in r.output
    r = runner.invoke(
        app, ["capacity", "validate-fit", "--calls-dir", str(tmp_path), "--train", "1999-01",
              "--test", "1999-01", "--staffing-minutes", "7", "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 2 and "divide 60" in r.output


def test_validate_fit_real_slice(shared_data: Path, tmp_path: Path) -> None:
    """Fit on two weeks of January, predict three later days: staffing estimation matters."""
    from slarisk.data.calllog import find_call_files, load_call_log

    calls = load_call_log(find_call_files(shared_data / "callcenter_bank", ["1999-01"])).calls
    local = calls["arrived_at"].dt.tz_convert("Asia/Jerusalem")
    train = calls[local < pd.Timestamp("1999-01-17", tz="Asia/Jerusalem")]
    test = calls[
        (local >= pd.Timestamp("1999-01-17", tz="Asia/Jerusalem"))
        & (local < pd.Timestamp("1999-01-20", tz="Asia/Jerusalem"))
    ]
    v = validate_call_fit(train, test, tmp_path, methods=("distinct", "available"), replications=1)
    ratio = v.errors.set_index(["staffing", "model"])["abandon_overall_ratio"]
    # distinct agents per hour under-predict abandonment badly; the availability estimate not
    assert ratio[("distinct", "erlang_a")] < 0.6
    assert abs(1 - ratio[("available", "simulation")]) < abs(1 - ratio[("distinct", "simulation")])
    assert abs(1 - ratio[("available", "erlang_a")]) < abs(1 - ratio[("distinct", "erlang_a")])
    assert "base64" in validation_html(v)


def test_binomial_and_wait_floors() -> None:
    import math

    import numpy as np

    from slarisk.capacity.fit_validation import binomial_floor, wait_floor

    # n = 1: E|X - p| = 2 p (1 - p); p in {0, 1} has no noise
    got1 = binomial_floor(np.array([1, 5, 5]), np.array([0.3, 0.0, 1.0]))
    assert np.allclose(got1, [2 * 0.3 * 0.7, 0.0, 0.0])
    # large n: close to the normal approximation sqrt(p(1-p)/n) sqrt(2/pi)
    f = binomial_floor(np.array([400]), np.array([0.25]))[0]
    approx = math.sqrt(0.25 * 0.75 / 400) * math.sqrt(2 / math.pi)
    assert abs(f - approx) / approx < 0.03
    rng = np.random.default_rng(0)
    sim = np.abs(rng.binomial(60, 0.2, 200_000) / 60 - 0.2).mean()
    assert abs(binomial_floor(np.array([60]), np.array([0.2]))[0] - sim) < 1e-3
    # waits 0, 10, 20, 30 s: sample sd 12.91, n = 4
    w = np.array([0.0, 10.0, 20.0, 30.0])
    got = wait_floor(np.array([4.0]), np.array([w.sum()]), np.array([(w**2).sum()]))[0]
    assert abs(got - math.sqrt(2 / math.pi) * w.std(ddof=1) / 2) < 1e-9


def test_replication_scatter() -> None:
    """One replication against the mean of the others; binomial replications give about the
    binomial floor (independent calls), and fewer than 2 replications give NaN."""
    import math

    import numpy as np

    from slarisk.capacity.fit_validation import binomial_floor, replication_scatter

    # 2 replications of one 10-call hour: 2 and 4 abandoned -> |0.2 - 0.4| for both
    assert replication_scatter(np.array([[2.0, 4.0]]), np.array([10.0])) == 0.2
    assert math.isnan(replication_scatter(np.array([[2.0]]), np.array([10.0])))
    rng = np.random.default_rng(1)
    n = np.full(300, 80.0)
    sums = rng.binomial(80, 0.3, (300, 40)).astype(float)
    k = 40
    want = binomial_floor(n, np.full(300, 0.3)).mean() * math.sqrt(1 + 1 / (k - 1))
    assert replication_scatter(sums, n) == pytest.approx(want, rel=0.05)


def test_per_date_hour_and_monthly_scores() -> None:
    """Per date-hour MAE weights hours equally and drops small ones; pooled hours cancel."""
    from slarisk.capacity.fit_validation import score_validation_cells

    cell = pd.to_datetime(
        ["1999-01-04 10:00", "1999-01-05 10:00", "1999-02-01 10:00", "1999-02-02 11:00"]
    ).tz_localize("Asia/Jerusalem")
    cells = pd.DataFrame(
        {
            "cell": cell,
            "calls": [100, 100, 100, 20],
            "abandoned": [20, 20, 10, 5],
            "wait_sum": [6000.0, 6000.0, 3000.0, 500.0],
            "wait_sq_sum": [720000.0, 720000.0, 180000.0, 25000.0],
            "agents_x": [3.0, 3.0, 3.0, 3.0],
            # day 1 over-predicted by 10 calls, day 2 under-predicted by 10: cancels pooled
            "sim_abandoned_x": [30.0, 10.0, 5.0, 0.0],
            "sim_wait_sum_x": [9000.0, 3000.0, 3000.0, 500.0],
            "ea_abandoned_x": [20.0, 20.0, 10.0, 5.0],
            "ea_wait_sum_x": [6000.0, 6000.0, 3000.0, 500.0],
        }
    )
    cells["date"] = cells["cell"].dt.date.astype(str)
    cells["hour"] = cells["cell"].dt.hour
    _, err, monthly = score_validation_cells(cells, ["x"], min_calls_hour=1)
    e = err.set_index("model")
    assert e.loc["simulation", "date_hours"] == 3  # the 20-call hour is left out
    assert (
        abs(e.loc["simulation", "abandon_mae_pp_date_hour"] - 100 * (0.1 + 0.1 + 0.05) / 3) < 1e-9
    )
    assert abs(e.loc["simulation", "wait_mae_s_date_hour"] - (30 + 30 + 0) / 3) < 1e-9
    assert e.loc["erlang_a", "abandon_mae_pp_date_hour"] == 0.0
    floor = e.loc["simulation", "abandon_floor_pp_date_hour"]
    assert 2.0 < floor < 4.0 and floor == e.loc["erlang_a", "abandon_floor_pp_date_hour"]
    ratio = e.loc["simulation", "abandon_mae_over_floor"]
    assert abs(ratio - e.loc["simulation", "abandon_mae_pp_date_hour"] / floor) < 1e-12
    m = monthly[monthly["model"] == "simulation"].set_index("month")
    assert abs(m.loc["1999-01", "abandon_ratio"] - 1.0) < 1e-12  # 40 vs 40
    assert abs(m.loc["1999-02", "abandon_ratio"] - 5.0 / 15.0) < 1e-12
    assert abs(m.loc["1999-01", "wait_ratio"] - 1.0) < 1e-12
