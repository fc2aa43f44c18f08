"""HTML, CSV and JSON renderings of a :class:`~slarisk.sla.report.ComplianceReport`.

The HTML page is self-contained: tables plus an attainment-over-time plot (matplotlib, Agg
backend, PNG embedded as base64) with the goal line and Wilson 95 % error bars.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from slarisk.errors import InputError
from slarisk.sla.report import ComplianceReport

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>SLA compliance report: {{ r.policy_name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
tr.miss td { background: #fde8e8; }
.note { color: #666; font-size: 0.9em; }
</style></head><body>
<h1>SLA compliance report</h1>
<p>Policy <b>{{ r.policy_name }}</b>; open clocks judged at {{ r.now.isoformat() }};
generated {{ r.generated_at.strftime("%Y-%m-%d %H:%M UTC") }};
segments: {{ (r.by | join(", ")) or "overall" }} (by metric).</p>
<p class="note">Attainment = met / (met + breached); open tickets not yet due are pending.
Intervals are Wilson 95 %. Tickets inside a registered exception window are excluded and
listed below.</p>
<h2>Reconciliation</h2>
{{ recon }}
<h2>Attainment over time</h2>
{% if plot %}<img alt="attainment over time with goal line and 95% intervals"
 src="data:image/png;base64,{{ plot }}">{% else %}<p>No decided tickets to plot.</p>{% endif %}
<h2>Attainment by segment</h2>
{{ attainment }}
<h2>Service credits ({{ r.currency }})</h2>
{% if credits %}{{ credits }}<h3>Per target</h3>{{ credit_detail }}
{% else %}<p>No credit schedule in the policy, or no decided tickets.</p>{% endif %}
<h2>Excluded by exceptions ({{ n_excluded }} tickets)</h2>
{% if n_excluded %}{{ excluded }}{% else %}<p>None.</p>{% endif %}
</body></html>
"""


def _fmt_table(df: pd.DataFrame, *, miss_col: str | None = None) -> str:
    """An HTML table (escaped), numbers rounded, rows with a missed goal highlighted."""
    from html import escape

    if df.empty:
        return "<p>(none)</p>"
    text_cols = {c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])}
    head = "".join(
        f'<th class="{"l" if c in text_cols else ""}">{escape(str(c))}</th>' for c in df.columns
    )
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec, strict=True):
            if isinstance(v, float | np.floating):
                x = float(v)
                s = "" if np.isnan(x) else (f"{x:.3f}" if abs(x) < 10 else f"{x:,.2f}")
            elif isinstance(v, pd.Timestamp):
                s = v.strftime("%Y-%m-%d %H:%M")
            elif v is None or v is pd.NA:
                s = ""
            else:
                s = str(v)
            cells.append(f'<td class="{"l" if c in text_cols else ""}">{escape(s)}</td>')
        miss = miss_col is not None and getattr(rec, miss_col) is False
        rows.append(f'<tr class="{"miss" if miss else ""}">{"".join(cells)}</tr>')
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def attainment_plot_png(over_time: pd.DataFrame) -> str:
    """Base64 PNG: attainment per period per metric, Wilson error bars, dashed goal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = over_time[over_time["decided"] > 0]
    if data.empty:
        return ""
    metrics = list(dict.fromkeys(data["metric"]))
    months = sorted(set(data["period"]))
    pos = {m: i for i, m in enumerate(months)}
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for i, metric in enumerate(metrics):
        d = data[data["metric"] == metric].sort_values("period")
        x = d["period"].map(pos).to_numpy(float) + (i - (len(metrics) - 1) / 2) * 0.08
        y = d["attainment"].to_numpy(float)
        err = np.vstack([y - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - y])
        err = np.clip(err, 0.0, None)  # Wilson bounds at 0 or 1 can miss y by a rounding error
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
    ax.set_ylim(max(0.0, float(np.nanmin(data["ci_low"])) - 0.05), 1.01)
    ax.set_ylabel("attainment (met / decided)")
    unit = "week" if len(months[0]) > 7 else "month"
    ax.set_title(f"SLA attainment per {unit} (Wilson 95% intervals)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(report: ComplianceReport) -> str:
    """The self-contained HTML page of a report."""
    import jinja2

    env = jinja2.Environment(autoescape=False)  # tables are escaped by _fmt_table
    r = report
    return env.from_string(_TEMPLATE).render(
        r=r,
        recon=_fmt_table(r.reconciliation),
        attainment=_fmt_table(r.attainment, miss_col="meets_goal"),
        plot=attainment_plot_png(r.over_time),
        credits=_fmt_table(r.credits) if not r.credits.empty else "",
        credit_detail=_fmt_table(r.credit_detail),
        excluded=_fmt_table(r.excluded),
        n_excluded=len(r.excluded),
    )


def write_report(report: ComplianceReport, path: str | Path, fmt: str) -> list[Path]:
    """Write ``report`` as ``html``, ``json`` or ``csv`` (the attainment table at ``path`` and
    ``<stem>.credits.csv``, ``<stem>.excluded.csv``, ``<stem>.reconciliation.csv`` beside it).
    Returns the files written."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            p.write_text(render_html(report), encoding="utf-8")
            return [p]
        if fmt == "json":
            p.write_text(json.dumps(report.to_json_dict(), indent=2), encoding="utf-8")
            return [p]
        if fmt == "csv":
            stem = p.name[:-4] if p.name.lower().endswith(".csv") else p.name
            files = [p]
            report.attainment.to_csv(p, index=False)
            for name, df in (
                ("credits", report.credits),
                ("excluded", report.excluded),
                ("reconciliation", report.reconciliation),
            ):
                side = p.with_name(f"{stem}.{name}.csv")
                df.to_csv(side, index=False)
                files.append(side)
            return files
    except OSError as exc:
        raise InputError(f"cannot write report: {exc.strerror or exc}", path=str(p)) from None
    raise InputError(f"unknown format {fmt!r} (html, csv or json)", field="format")
