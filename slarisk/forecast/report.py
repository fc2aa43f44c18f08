"""HTML page of a backtest: actual vs forecast with bands, accuracy by horizon and model,
the worst days and why (rendered by :mod:`slarisk.reports`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from slarisk.forecast.backtest import SELECTED, BacktestResult
from slarisk.reports import figure, img, png_base64, render, table


def _busiest(result: BacktestResult) -> str:
    return str(result.forecasts.groupby("queue")["actual"].sum().idxmax())


def _daily_plot(result: BacktestResult) -> str:
    """Daily totals: actual, forecast and the 95% band of a day's total."""
    queue = _busiest(result)
    d = result.days[result.days["queue"] == queue].sort_values("day")
    with figure(10, 4) as (fig, ax):
        x = d["day"]
        ax.fill_between(
            x, d["band_lo"], d["band_hi"], color="tab:blue", alpha=0.2, label="95% band of the day"
        )
        ax.plot(x, d["forecast"], color="tab:blue", lw=1.5, label="forecast (selected)")
        ax.plot(x, d["actual"], "o", color="black", ms=3, label="actual")
        flagged = d[d["flag"]]
        ax.plot(
            flagged["day"],
            flagged["actual"],
            "o",
            mfc="none",
            mec="tab:red",
            ms=8,
            label="outside the band",
        )
        ax.set_ylim(0, float(d[["actual", "band_hi"]].to_numpy().max()) * 1.3)
        ax.set_ylabel("contacts per day")
        ax.set_title(f"queue {queue}: daily totals")
        ax.legend(loc="upper left", ncol=4, fontsize=8)
    return png_base64(fig)


def _interval_plot(result: BacktestResult) -> str:
    """The last origin's week by interval, with the 80% and 95% bands."""
    queue = _busiest(result)
    f = result.forecasts
    g = f[(f["queue"] == queue) & (f["origin"] == f["origin"].max())].sort_values("interval_start")
    with figure(10, 4) as (fig, ax):
        x = np.arange(len(g))
        ax.fill_between(x, g["lo95"], g["hi95"], color="tab:blue", alpha=0.15, label="95% band")
        ax.fill_between(x, g["lo80"], g["hi80"], color="tab:blue", alpha=0.3, label="80% band")
        ax.plot(x, g[SELECTED], color="tab:blue", lw=1.2, label="forecast (selected)")
        ax.plot(x, g["actual"], ".", color="black", ms=4, label="actual")
        days = g["interval_start"].dt.normalize().to_numpy()
        first = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ax.set_xticks(first, [pd.Timestamp(days[i]).strftime("%a %d") for i in first], fontsize=8)
        ax.set_ylim(0, float(g[["actual", "hi95"]].to_numpy().max()) * 1.3)
        ax.set_ylabel("contacts per interval")
        ax.set_xlabel("open intervals of the week (ticks: first interval of each day)")
        ax.set_title(f"queue {queue}: origin {pd.Timestamp(g['origin'].iloc[0]).date()}")
        ax.legend(loc="upper left", ncol=4, fontsize=8)
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
        plot_series=img(_daily_plot(result), "daily actual vs forecast with bands"),
        plot_intervals=img(_interval_plot(result), "interval actual vs forecast with bands"),
        plot_horizon=img(_horizon_plot(result), "WAPE by horizon and model"),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
