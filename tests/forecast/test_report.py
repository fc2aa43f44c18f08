"""The backtest page: plots embedded, user text (queue names) escaped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from slarisk.forecast.backtest import BacktestConfig, origins_between, run_backtest
from slarisk.forecast.events import SpecialDays
from slarisk.forecast.reforecast import intraday_evaluation
from slarisk.forecast.report import write_report
from slarisk.forecast.series import build_series
from tests.forecast.synthetic import START, poisson_table


def test_page_has_plots_tables_and_escapes_queue_names(tmp_path: Path) -> None:
    table, _ = poisson_table(weeks=9, interval_minutes=60, seed=2)
    table["queue"] = "<script>q&</script>"
    series = build_series(table, interval_minutes=60)
    cfg = BacktestConfig(warmup=1, models=("naive", "avg4", "ets"))
    origins = origins_between(
        series, START + pd.Timedelta(weeks=7), START + pd.Timedelta(weeks=8), cfg
    )
    res = run_backtest(series, origins, SpecialDays(), cfg)
    out = write_report(
        res,
        tmp_path / "page.html",
        title="<i>t</i>",
        horizon=7,
        intraday=intraday_evaluation(res.forecasts),
    )
    html = out.read_text(encoding="utf-8")
    assert html.count("<img") == 3
    assert "<script>q&" not in html and "&lt;script&gt;q&amp;" in html
    assert "<i>t</i>" not in html
    for heading in ("Accuracy by model", "Accuracy by horizon", "Worst days and why"):
        assert heading in html
