"""HTML report of one or more simulation results: attainment by class with 95% intervals,
queue and occupancy over time, summary tables (template ``simulation.html`` of
:mod:`slarisk.reports`). Plots are matplotlib (Agg) PNGs embedded as base64, so the page is a
single self-contained file.

Compared scenarios share one time axis, days since each scenario's start, so their curves
overlay even when they start on different dates. Value axes start at 0; occupancy is busy /
agents present (at most 1, see :mod:`slarisk.capacity.sim.kpis`); the expected credit's
interval is a bootstrap interval (never below 0).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slarisk.capacity.sim.results import SimResult, bootstrap_interval, kpi_summary
from slarisk.reports import figure, img, png_base64, render, table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: resolution of the embedded plots, dots per inch.
PLOT_DPI = 110


def attainment_figure(results: list[SimResult], labels: list[str]) -> Figure:
    """Horizontal bars per (class, metric) with 95% intervals and the goal as a tick."""
    keys: list[tuple[str, str]] = []
    for r in results:
        for c, m in zip(r.attainment["class"], r.attainment["metric"], strict=True):
            if (c, m) not in keys:
                keys.append((c, m))
    height = max(2.5, 0.32 * len(keys) * max(1, len(results)) + 1)
    with figure(8.5, height) as (fig, ax):
        width = 0.8 / max(1, len(results))
        y = np.arange(len(keys))
        for j, (r, label) in enumerate(zip(results, labels, strict=True)):
            a = r.attainment.set_index(["class", "metric"])
            vals = np.array([a.loc[k, "attainment"] if k in a.index else np.nan for k in keys])
            lo = np.array([a.loc[k, "lo"] if k in a.index else np.nan for k in keys])
            hi = np.array([a.loc[k, "hi"] if k in a.index else np.nan for k in keys])
            err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
            ax.barh(y + j * width, vals, height=width, xerr=err, capsize=2, label=label, alpha=0.8)
            if j == 0:
                goals = np.array([a.loc[k, "goal"] if k in a.index else np.nan for k in keys])
                ax.scatter(
                    goals,
                    y + (len(results) - 1) * width / 2,
                    marker="|",
                    s=300,
                    c="k",
                    label="goal",
                    zorder=3,
                )
        ax.set_yticks(y + (len(results) - 1) * width / 2, [f"{c} · {m}" for c, m in keys])
        ax.invert_yaxis()
        ax.set_xlim(0.0, 1.005)
        ax.set_xlabel("attainment (mean over replications, 95% interval)")
        ax.grid(False)
        ax.grid(axis="x", alpha=0.3)
        _legend_above(ax, fontsize=8)
    return fig


def _legend_above(ax: Axes, fontsize: int, ncol: int | None = None) -> None:
    """The legend in a row above the plot area, so it never covers bars or lines."""
    _, names = ax.get_legend_handles_labels()
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncol=ncol or max(1, len(names)),
        fontsize=fontsize,
        frameon=False,
    )


def days_since_start(starts: pd.Series) -> np.ndarray:
    """Interval starts -> days since the first one (the scenario's start: KPI bins begin at
    time zero), so scenarios starting on different dates share one axis."""
    t = pd.to_datetime(starts, utc=True)
    return np.asarray((t - t.min()).dt.total_seconds(), dtype=float) / 86400.0


def timeline_figure(
    results: list[SimResult], labels: list[str], column: str, ylabel: str
) -> Figure:
    """One KPI over time (mean across replications), one line per scenario, on a common
    axis of days since each scenario's start; the value axis starts at 0."""
    with figure(9, 3.2) as (fig, ax):
        for r, label in zip(results, labels, strict=True):
            if column == "occupancy":
                k = _occupancy(r.kpis, ["interval_start"])
            else:
                k = kpi_summary(r.kpis)
            ax.plot(days_since_start(k["interval_start"]), k[column], lw=1, label=label)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("days since the scenario's start")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        if column == "occupancy":
            ax.set_ylim(0, 1.05)
        _legend_above(ax, fontsize=8)
    return fig


def _occupancy(kpis: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean busy and agents present per ``keys`` across replications, occupancy their ratio
    (at most 1: busy <= present at every instant)."""
    cols = ["busy", "present"] if "present" in kpis else ["busy", "agents"]
    g = kpis.groupby(keys, as_index=False, sort=False)[cols].mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        g["occupancy"] = np.where(g[cols[1]] > 0, np.minimum(g["busy"] / g[cols[1]], 1.0), np.nan)
    return g


def team_figure(result: SimResult, label: str) -> Figure:
    """Occupancy (busy / agents present) per team over time (mean across replications) of
    one scenario."""
    with figure(9, 3.2) as (fig, ax):
        tk = result.team_kpis
        if len(tk):
            g = _occupancy(tk, ["team", "interval_start"])
            for team, sub in g.groupby("team", sort=False):
                ax.plot(days_since_start(sub["interval_start"]), sub["occupancy"], lw=1,
                        label=str(team))  # fmt: skip
        ax.set_ylabel(f"occupancy ({label})")
        ax.set_xlabel("days since the scenario's start")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 1.05)
        _legend_above(ax, fontsize=8)
    return fig


def staffing_figure(results: list[SimResult], labels: list[str]) -> Figure:
    """Per interval and scenario: agents required by the formulas for the expected demand
    (Erlang C for sync classes + backlog for async, dashed), agents rostered (solid) and
    agents the simulation kept busy (dotted), on days since each scenario's start."""
    with figure(9, 3.6) as (fig, ax):
        colours = [f"C{j}" for j in range(len(results))]
        for r, label, c in zip(results, labels, colours, strict=True):
            if len(r.required):
                req = r.required
                ax.plot(
                    days_since_start(req["interval_start"]),
                    req["required"],
                    ls="--",
                    lw=1,
                    c=c,
                    label=f"{label}: required (Erlang/backlog)",
                )
            k = kpi_summary(r.kpis)
            x = days_since_start(k["interval_start"])
            ax.plot(x, k["agents"], lw=1, c=c, label=f"{label}: rostered")
            ax.plot(x, k["busy"], ls=":", lw=1.2, c=c, label=f"{label}: busy (simulated)")
        ax.set_ylabel("agents")
        ax.set_xlabel("days since the scenario's start")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        _legend_above(ax, fontsize=7, ncol=max(1, len(results)))
    return fig


def _fmt(x: float, pct: bool = True, unit: bool = True) -> str:
    """A fraction as a percentage (NaN -> en dash)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if pct:
        return f"{100 * x:.1f}" + ("%" if unit else "")
    return f"{x:,.1f}"


def attainment_table(results: list[SimResult], labels: list[str]) -> pd.DataFrame:
    """Side-by-side attainment table (strings) for the terminal and the page."""
    frames = []
    for r, label in zip(results, labels, strict=True):
        a = r.attainment
        frames.append(
            pd.DataFrame(
                {
                    "class": a["class"],
                    "metric": a["metric"],
                    "goal": a["goal"].map(lambda v: _fmt(v)),
                    f"{label}": [
                        f"{_fmt(m)} [{_fmt(lo, unit=False)}–{_fmt(hi, unit=False)}]"
                        for m, lo, hi in zip(a["attainment"], a["lo"], a["hi"], strict=True)
                    ],
                    f"{label} breaches": a["breaches_mean"].map(lambda v: f"{v:,.1f}"),
                }
            ).set_index(["class", "metric", "goal"])
        )
    return pd.concat(frames, axis=1).reset_index().fillna("–")


def summary_table(results: list[SimResult], labels: list[str]) -> pd.DataFrame:
    """Per-scenario totals (mean over replications), expected credit with its interval,
    agent-hours present over the horizon and their cost (column only when a scenario has an
    ``agent_hour_cost``)."""
    rows = []
    for r, label in zip(results, labels, strict=True):
        s = r.summary
        m, lo, hi = bootstrap_interval(s["credit"].to_numpy(dtype=float))
        rows.append(
            {
                "scenario": label,
                "replications": r.replications,
                "arrived": f"{s['arrived'].mean():,.0f}",
                "served": f"{s['served'].mean():,.0f}",
                "abandoned": f"{s['abandoned'].mean():,.0f}",
                "in system at end": f"{s['in_system'].mean():,.0f}",
                "breaches": f"{s['breaches'].mean():,.1f}",
                "expected credit": f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}] {r.currency}".strip(),
                "agent-hours": f"{s['agent_hours'].mean():,.0f}" if "agent_hours" in s else "–",
                "cost": (
                    f"{s['cost'].mean():,.0f} {r.currency}".strip()
                    if "cost" in s and s["cost"].notna().all()
                    else "–"
                ),
                "mean occupancy": _fmt(
                    float(
                        r.kpis["busy"].sum()
                        / max(r.kpis["present" if "present" in r.kpis else "agents"].sum(), 1e-9)
                    )
                ),
            }
        )
    out = pd.DataFrame(rows)
    if (out["cost"] == "–").all():  # no scenario prices its agent-hours
        out = out.drop(columns="cost")
    return out


def render_report(results: list[SimResult], labels: list[str], title: str = "Simulation") -> str:
    """The HTML page (a string)."""

    def png(fig: Figure) -> str:
        return png_base64(fig, dpi=PLOT_DPI)

    plots = [
        ("Attainment by class and metric", png(attainment_figure(results, labels))),
        (
            "Queue length over time (tickets waiting for an agent)",
            png(timeline_figure(results, labels, "queue", "queue (mean)")),
        ),
        (
            "Occupancy over time (busy / agents present, rostered or finishing a ticket)",
            png(timeline_figure(results, labels, "occupancy", "occupancy")),
        ),
        ("Agents rostered over time", png(timeline_figure(results, labels, "agents", "agents"))),
        (
            "Agents required (Erlang C / backlog, expected demand) vs rostered vs busy",
            png(staffing_figure(results, labels)),
        ),
        (f"Occupancy by team ({labels[0]})", png(team_figure(results[0], labels[0]))),
    ]
    seeds = ", ".join(f"{lab}: seed {r.seed}" for r, lab in zip(results, labels, strict=True))
    return render(
        "simulation.html",
        title=title,
        seeds=seeds,
        summary=table(summary_table(results, labels)),
        attainment=table(attainment_table(results, labels)),
        plots=[(caption, img(data, caption)) for caption, data in plots],
    )


def write_report(
    results: list[SimResult], labels: list[str], path: str | Path, title: str = "Simulation"
) -> Path:
    """Write the HTML report to `path`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_report(results, labels, title), encoding="utf-8")
    return p
