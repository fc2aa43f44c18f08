"""Terminal tables at 80 and 60 columns: no line wider than the terminal, no number cut."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from slarisk.cli.terminal_tables import Col, fit_table, frame_table, markdown_blocks

ROOT = Path(__file__).resolve().parents[2]
_BORDERS = re.compile(r"[\s│┃]+")


def _render(*blocks: object, width: int) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None)
    for b in blocks:
        console.print(b)
    return buf.getvalue()


def _tokens(text: str) -> set[str]:
    return set(_BORDERS.split(text))


def _assert_fits(text: str, width: int, numbers: list[str]) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, "\n".join(lines)
    table = [ln for ln in lines if ln[:1] in "┏┃│┡└"]
    assert all(ln[-1] in "┓┃│┩┘" for ln in table), "right border cropped"
    missing = [n for n in numbers if n not in _tokens(text)]
    assert not missing, f"numbers cut: {missing[:5]}\n{text}"


def _attainment_rows(n: int) -> tuple[list[Col], list[list[str]]]:
    rng = np.random.default_rng(1)
    cols = [
        Col("week", whole=True),
        Col("metric"),
        Col("decided", True),
        Col("attained", True),
        Col("95% CI", True, drop=1),
        Col("goal", True),
        Col("below goal by", True),
    ]
    rows = []
    for k in range(n):
        att = rng.uniform(0.6, 1.0)
        rows.append(
            [
                str((pd.Timestamp("2016-02-29") + pd.Timedelta(weeks=k // 2)).date()),
                ("first_response", "resolution")[k % 2],
                f"{int(rng.integers(100, 30000)):,}",
                f"{att:.1%}",
                f"{att - 0.02:.1%}-{min(att + 0.02, 1):.1%}",
                "90%",
                f"{0.9 - att:.1%}" if att < 0.9 else "",
            ]
        )
    return cols, rows


@pytest.mark.parametrize("width", [80, 60])
def test_wide_tables_fit_without_cutting_numbers(width: int) -> None:
    cols, rows = _attainment_rows(40)
    table, gone = fit_table("Attainment by week, metric", cols, rows, width)
    text = _render(table, width=width)
    kept = [i for i, c in enumerate(cols) if c.name not in gone]
    numbers = [r[i] for r in rows for i in kept if cols[i].numeric and r[i]]
    _assert_fits(text, width, numbers + [r[0] for r in rows])
    assert "below" in text  # the last column is shown, not cropped
    # a simulator-like comparison: value and interval in one cell may wrap between them
    sim = pd.DataFrame(
        {
            "class": [f"p{k % 4 + 1}_silver_portal" for k in range(8)],
            "metric": ["first_response", "resolution"] * 4,
            "goal": ["95.0%"] * 8,
            "baseline": ["98.2% [87.1–100.0]"] * 8,
            "baseline breaches": ["1,899.5"] * 8,
            "holiday_peak": ["100.0% [100.0–100.0]"] * 8,
            "holiday_peak breaches": ["2,280.5"] * 8,
        }
    )
    drop = {c: 1 for c in sim.columns if c.endswith("breaches")}
    table, gone = frame_table("SLA attainment", sim, width, text=("class", "metric"), drop=drop)
    text = _render(table, width=width)
    numeric = [c for c in sim.columns if c not in gone and c not in ("class", "metric")]
    _assert_fits(text, width, [w for c in numeric for v in sim[c] for w in v.split()])


def test_too_many_columns_drop_from_the_right_and_say_so() -> None:
    md = "| split | model | a | b | c | d | e | f | g |\n|---|---|---|---|---|---|---|---|---|\n"
    md += "| unpurged | tuned logistic | " + " | ".join(["0.123456"] * 7) + " |\n"
    blocks = markdown_blocks("intro line\n" + md + "closing line", 50)
    text = _render(*blocks, width=50)
    _assert_fits(text, 50, ["0.123456"])
    assert blocks[0] == "intro line" and blocks[-1] == "closing line"
    assert "too narrow for:" in text


def test_sla_report_cli_at_80_columns(tmp_path: Path) -> None:
    """`slarisk sla report --by week` piped (80 columns): every table fits, whole numbers."""
    from typer.testing import CliRunner

    from slarisk.cli import app

    rng = np.random.default_rng(3)
    n = 600
    created = pd.Timestamp("2026-01-05T09:00Z") + pd.to_timedelta(
        rng.uniform(0, 24 * 7 * 20, n), unit="h"
    )
    resolved = created + pd.to_timedelta(rng.exponential(30, n), unit="h")
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i:05d}" for i in range(n)],
            "created_at": created,
            "first_response_at": created + pd.to_timedelta(rng.exponential(3, n), unit="h"),
            "resolved_at": resolved,
            "priority": rng.choice(["P1", "P2", "P3", "P4"], n),
            "tier": rng.choice(["gold", "silver", "bronze"], n),
            "source_made_sla": rng.uniform(size=n) < 0.7,
        }
    )
    path = tmp_path / "t.parquet"
    tickets.to_parquet(path)
    out = tmp_path / "r" / "x.csv"
    args = ["sla", "report", "--policy", str(ROOT / "policies" / "default.yaml")]
    args += ["--tickets", str(path), "--by", "week", "--format", "csv", "--out", str(out)]
    r = CliRunner().invoke(app, [*args, "--now", "2026-06-01T00:00Z"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    att = pd.read_csv(out)
    shown = att.head(40)
    below = (shown["goal"] - shown["attainment"])[lambda x: x > 1e-12]
    numbers = [f"{v:.1%}" for v in below] + [f"{int(v):,}" for v in shown["decided"]]
    table_text = "\n".join(ln for ln in r.output.splitlines() if ln[:1] in "┏┃│┡└")
    _assert_fits(table_text, 80, numbers)
    assert "below" in r.output and "Agreement with the source" in r.output
