"""HTML, CSV and JSON renderings of a :class:`~slarisk.sla.report.ComplianceReport`.

The HTML page (template ``sla_report.html`` of :mod:`slarisk.reports`) is self-contained:
tables plus an attainment-over-time plot (a PNG embedded as base64) with the goal line and
Wilson 95 % error bars.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from slarisk.errors import InputError
from slarisk.reports import figure, img, png_base64, render, table
from slarisk.sla.report import ComplianceReport

#: Size of the attainment plot: inches at this many dots per inch (800 x 400 pixels).
PLOT_INCHES, PLOT_DPI = (8.0, 4.0), 100


def attainment_plot_png(over_time: pd.DataFrame) -> str:
    """Base64 PNG: attainment per period per metric, Wilson error bars, dashed goal lines;
    empty when no period has a decided ticket."""
    data = over_time[over_time["decided"] > 0]
    if data.empty:
        return ""
    metrics = list(dict.fromkeys(data["metric"]))
    months = sorted(set(data["period"]))
    pos = {m: i for i, m in enumerate(months)}
    with figure(*PLOT_INCHES) as (fig, ax):
        for i, metric in enumerate(metrics):
            d = data[data["metric"] == metric].sort_values("period")
            x = d["period"].map(pos).to_numpy(float) + (i - (len(metrics) - 1) / 2) * 0.08
            y = d["attainment"].to_numpy(float)
            err = np.vstack([y - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - y])
            # Wilson bounds at 0 or 1 can miss y by a rounding error
            err = np.clip(err, 0.0, None)
            line = ax.errorbar(x, y, yerr=err, marker="o", capsize=4, label=f"{metric}")
            ax.plot(
                x,
                d["goal"].to_numpy(float),
                linestyle="--",
                color=line[0].get_color(),
                alpha=0.7,
                label=f"{metric} goal",
            )
        ax.set_xlim(-0.5, len(months) - 0.5)
        ax.set_xticks(np.arange(len(months)))
        ax.set_xticklabels(months, rotation=30, ha="right")
        low = axis_floor(data)
        ax.set_ylim(low, 1.01)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_ylabel(
            "attainment (met / decided)" + (f"\naxis starts at {low:.0%}, not 0" if low > 0 else "")
        )
        unit = "week" if len(months[0]) > 7 else "month"
        ax.set_title(f"SLA attainment per {unit} (Wilson 95% intervals; dashed: goal)")
        # outside the axes, right: the legend never hides a point or a goal line
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return png_base64(fig, dpi=PLOT_DPI, tight=True)


def axis_floor(data: pd.DataFrame) -> float:
    """Lower end of the attainment axis: 0, or (to show small differences) a multiple of 10 %
    below every lower interval bound and every goal, so goal lines stay in view."""
    lowest = min(float(np.nanmin(data["ci_low"])), float(np.nanmin(data["goal"])))
    low = np.floor((lowest - 0.05) * 10.0) / 10.0
    return float(max(0.0, low if low >= 0.3 else 0.0))


def _below_goal(df: pd.DataFrame, shortfall: pd.Series) -> pd.DataFrame:
    """``df`` with the shortfall shown as ``below goal by`` (blank where at or above goal)."""
    out = df.copy()
    out["below goal by"] = shortfall.where(shortfall > 1e-12)
    return out


def excluded_summary(excluded: pd.DataFrame) -> pd.DataFrame:
    """Excluded tickets per exception: reason, approver, count, the created_at range and the
    first three ticket ids as examples."""
    cols = [
        "exception_id",
        "reason",
        "approver",
        "tickets",
        "first created",
        "last created",
        "examples",
    ]
    if excluded.empty:
        return pd.DataFrame(columns=cols)
    g = excluded.groupby(["exception_id", "reason", "approver"], sort=True)
    out = g.agg(
        tickets=("ticket_id", "size"),
        first_created=("created_at", "min"),
        last_created=("created_at", "max"),
        examples=("ticket_id", lambda ids: ", ".join(map(str, list(ids)[:3]))),
    ).reset_index()
    out.columns = cols
    return out


def render_html(report: ComplianceReport, excluded_csv: str = "") -> str:
    """The self-contained HTML page of a report (every value from the inputs escaped);
    ``excluded_csv`` names the file with every excluded ticket (written beside the page)."""
    r = report
    plot = attainment_plot_png(r.over_time)
    return render(
        "sla_report.html",
        r=r,
        reconciliation=table(r.reconciliation),
        attainment=table(
            _below_goal(r.attainment, r.attainment["goal"] - r.attainment["attainment"]),
            highlight="meets_goal",
        ),
        plot=img(plot, "attainment over time with goal line and 95% intervals") if plot else "",
        credits=table(r.credits) if not r.credits.empty else Markup(""),
        credit_detail=table(
            _below_goal(r.credit_detail, r.credit_detail["shortfall"]).drop(columns="shortfall")
        ),
        excluded=table(excluded_summary(r.excluded)),
        excluded_csv=excluded_csv,
        source_by_priority=(
            table(r.source_by_priority) if not r.source_by_priority.empty else Markup("")
        ),
        source_agreement=table(r.source_agreement),
        source_disagreements=table(r.source_disagreements),
    )


def write_report(report: ComplianceReport, path: str | Path, fmt: str) -> list[Path]:
    """Write ``report`` as ``html`` (plus ``<stem>.excluded.csv``, every excluded ticket, when
    there are any), ``json`` or ``csv`` (the attainment table at ``path`` and
    ``<stem>.credits.csv``, ``<stem>.excluded.csv``, ``<stem>.reconciliation.csv`` beside it,
    plus ``<stem>.source_agreement.csv``, ``.source_by_priority.csv`` and
    ``.source_disagreements.csv`` when the tickets carry a source SLA flag).
    Returns the files written."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            if report.excluded.empty:
                p.write_text(render_html(report), encoding="utf-8")
                return [p]
            stem = p.name[: -len(p.suffix)] if p.suffix else p.name
            side = p.with_name(f"{stem}.excluded.csv")
            report.excluded.to_csv(side, index=False)
            p.write_text(render_html(report, excluded_csv=side.name), encoding="utf-8")
            return [p, side]
        if fmt == "json":
            p.write_text(json.dumps(report.to_json_dict(), indent=2), encoding="utf-8")
            return [p]
        if fmt == "csv":
            stem = p.name[:-4] if p.name.lower().endswith(".csv") else p.name
            files = [p]
            report.attainment.to_csv(p, index=False)
            sides = [
                ("credits", report.credits),
                ("excluded", report.excluded),
                ("reconciliation", report.reconciliation),
            ]
            if not report.source_agreement.empty:
                sides += [
                    ("source_agreement", report.source_agreement),
                    ("source_by_priority", report.source_by_priority),
                    ("source_disagreements", report.source_disagreements),
                ]
            for name, df in sides:
                side = p.with_name(f"{stem}.{name}.csv")
                df.to_csv(side, index=False)
                files.append(side)
            return files
    except OSError as exc:
        raise InputError(f"cannot write report: {exc.strerror or exc}", path=str(p)) from None
    raise InputError(f"unknown format {fmt!r} (html, csv or json)", field="format")
