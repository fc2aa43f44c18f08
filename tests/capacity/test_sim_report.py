"""The simulation report page: rendered through slarisk.reports, every user text escaped."""

from __future__ import annotations

from typing import Any

from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.sim import render_report, simulate

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _scenario() -> Any:
    fixed = {"dist": "fixed", "value": 10, "unit": "minutes"}
    return scenario_from_dict(
        {
            "name": "t",
            "start": "2026-11-02T08:00:00Z",
            "horizon_hours": 4,
            "drain": True,
            "classes": [{"name": "a", "priority": "P1", "share": 1, "handle": fixed}],
            "arrivals": {"hourly_rates": [6.0] * 168},
            "staffing": {"teams": [{"name": SCRIPT}], "constant": {SCRIPT: 1}},
            "service_level_seconds": 600,
        }
    )


def test_report_escapes_labels_title_and_team_names() -> None:
    res = simulate(_scenario(), 2, seed=3)
    page = render_report([res], [SCRIPT], title=SCRIPT)
    assert "<script>" not in page
    assert f"<title>{ESCAPED}</title>" in page
    assert f"<h1>{ESCAPED}</h1>" in page
    assert page.count('<img class="plot"') == 6
    assert "<h2>Summary</h2>" in page and "<h2>Attainment</h2>" in page
    summary = page.split("<h2>Summary</h2>")[1].split("<h2>Attainment</h2>")[0]
    assert f">{ESCAPED}</td>" in summary  # the scenario label, escaped by table()
    assert f"<h2>Occupancy by team ({ESCAPED})</h2>" in page
