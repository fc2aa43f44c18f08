"""HTML page of a backtest: actual vs forecast with bands, accuracy by horizon and model,
the worst days and why (rendered by :mod:`slarisk.reports`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from slarisk.forecast.backtest import SELECTED, BacktestResult
from slarisk.reports import figure, img, png_base64, render, table


def _series_plot(result: BacktestResult) -> str:
    f = result.forecasts
    queue = f.groupby("queue")["actual"].sum().idxmax()
    g = f[f["queue"] == queue].sort_values("interval_start")
    g = g.assign(day=g["interval_start"].dt.normalize())
    d = g.groupby("day")[["actual", SELECTED, "lo80", "hi80", "lo95", "hi95"]].sum()
    with figure(10, 4) as (fig, ax):
        x = d.index
        ax.fill_between(x, d["lo95"], d["hi95"], color="tab:blue", alpha=0.15, label="95% band*")
        ax.fill_between(x, d["lo80"], d["hi80"], color="tab:blue", alpha=0.3, label="80% band*")
        ax.plot(x, d[SELECTED], color="tab:blue", lw=1.5, label="forecast (selected)")
        ax.plot(x, d["actual"], "o", color="black", ms=3, label="actual")
        ax.set_ylim(bottom=0, top=float(d[["actual", "hi95"]].to_numpy().max()) * 1.25)
        ax.set_ylabel("contacts per day")
        ax.set_title(f"queue {queue}: daily totals (*sum of interval bands, wider than a day's)")
        ax.legend(loc="upper left", ncol=4, fontsize=8, frameon=True)
    return png_base64(fig)


def _horizon_plot(result: BacktestResult) -> str:
    h = result.by_horizon
    with figure(8, 3.5) as (fig, ax):
        for col in h.columns:
            ax.plot(h.index, h[col], marker="o", lw=2.5 if col == SELECTED else 1, label=col)
        ax.set_ylim(bottom=0, top=float(np.nanmax(h.to_numpy())) * 1.3)
        ax.set_xlabel("horizon (days ahead)")
        ax.set_ylabel("WAPE")
        ax.legend(loc="upper left", ncol=4, fontsize=8)
    return png_base64(fig)


def write_report(
    result: BacktestResult,
    path: str | Path,
    *,
    title: str,
    horizon: int,
    intraday: pd.DataFrame | None = None,
) -> Path:
    """Write the backtest page to ``path``."""
    worst = result.days.sort_values("abs_error", ascending=False).head(15)
    worst = worst.assign(day=worst["day"].dt.date, origin=worst["origin"].dt.date)
    worst = worst.drop(columns=["abs_error"]).round(3)
    html = render(
        "forecast.html",
        title=title,
        horizon=horizon,
        summary=result.summary,
        metrics=table(result.metrics.round(4)),
        by_horizon=table(result.by_horizon.round(4).reset_index()),
        worst=table(worst),
        intraday=table(intraday.round(4).reset_index()) if intraday is not None else "",
        plot_series=img(_series_plot(result), "actual vs forecast with bands"),
        plot_horizon=img(_horizon_plot(result), "WAPE by horizon and model"),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
