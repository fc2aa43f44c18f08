"""HTML pages escape everything that comes from a user's files: policy and tier names,
customers, regions, currencies, exception reasons. ``<script>`` never reaches a page raw."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from markupsafe import Markup

from slarisk.reports import img, render, table
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import policy_from_dict
from slarisk.sla.report import build_report
from slarisk.sla.report_html import render_html

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-04-06T12:00:00Z"
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
TIER = "<script>tier()</script>"
CUSTOMER = "<script>customer()</script>"
REGION = "<script>region()</script>"
SERVICE = "<script>service()</script>"
REASON = "<script>reason()</script> & co"
CURRENCY = "<b>GBP</b>"


def _escaped(text: str) -> str:
    return str(Markup.escape(text))


def _hostile_policy() -> Any:
    """policies/default.yaml with script tags in every name the report shows."""
    data = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text(encoding="utf-8"))
    data["name"] = SCRIPT
    data["tiers"] = [TIER if t == "gold" else t for t in data["tiers"]]
    for target in data["targets"]:
        if target.get("tier") == "gold":
            target["tier"] = TIER
    data["credits"]["currency"] = CURRENCY
    data["credits"]["customer_fees"] = {CUSTOMER: 25000}
    data["exceptions"][0]["reason"] = REASON
    return policy_from_dict(data, "hostile.yaml")


def _hostile_tickets() -> pd.DataFrame:
    """Three tickets: one excluded by the (EMEA) migration window, two decided (one breached)."""
    ts = pd.to_datetime
    return pd.DataFrame(
        {
            "ticket_id": ["<script>id()</script>", "b", "c"],
            "created_at": ts(["2026-03-02T10:00Z", "2026-03-05T10:00Z", "2026-04-02T09:00Z"]),
            "first_response_at": ts(["2026-03-02T10:10Z", "2026-03-05T10:05Z", None]),
            "resolved_at": ts(["2026-03-02T12:00Z", "2026-03-05T11:00Z", None]),
            "priority": ["P1", "P1", "P1"],
            "tier": [TIER, TIER, TIER],
            "region": ["EMEA", REGION, REGION],
            "service_type": [SERVICE, SERVICE, SERVICE],
            "customer": [CUSTOMER, CUSTOMER, CUSTOMER],
        }
    )


@pytest.fixture(scope="module")
def page() -> str:
    policy = _hostile_policy()
    clocks = compute_clocks(_hostile_tickets(), policy, now=NOW)
    report = build_report(clocks, policy, "tier,region,service_type,customer", now=NOW)
    return render_html(report)


def test_sla_report_has_no_raw_script(page: str) -> None:
    assert "<script" not in page.lower()
    assert "<b>GBP</b>" not in page


@pytest.mark.parametrize(
    "text", [SCRIPT, TIER, CUSTOMER, REGION, SERVICE, REASON, CURRENCY, "<script>id()</script>"]
)
def test_sla_report_shows_user_text_escaped(page: str, text: str) -> None:
    assert _escaped(text) in page


def test_sla_report_title_is_escaped(page: str) -> None:
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and title.group(1) == f"SLA compliance report: {ESCAPED_SCRIPT}"


def test_table_escapes_headers_and_cells() -> None:
    df = pd.DataFrame({"<th>": [SCRIPT, "a & b"], "n": [1.5, 2.0], "ok": [True, False]})
    html = str(table(df, highlight="ok"))
    assert "<script" not in html and "<th>" not in html.replace('<th class="l">', "").replace(
        '<th class="">', ""
    )
    assert ESCAPED_SCRIPT in html and "a &amp; b" in html and "&lt;th&gt;" in html
    assert html.count('<tr class="miss">') == 1  # only the row whose "ok" is False
    assert str(table(pd.DataFrame(), empty=SCRIPT)) == f"<p>{ESCAPED_SCRIPT}</p>"


def test_img_escapes_alt_text() -> None:
    tag = str(img("iVBORw0KGgo=", f'x" onerror="{SCRIPT}'))
    assert "<script" not in tag and 'onerror="' not in tag
    assert tag.startswith('<img class="plot" alt="x&#34; onerror=&#34;&lt;script&gt;')
    assert tag.endswith('src="data:image/png;base64,iVBORw0KGgo=">')


def test_render_autoescapes_context_and_keeps_helper_markup() -> None:
    page = render(
        "sla_report.html",
        r=_FakeReport(),
        reconciliation=table(pd.DataFrame({"metric": [SCRIPT]})),
        attainment=SCRIPT,  # plain text: escaped, even where a table would go
        plot="",
        credits="",
        credit_detail="",
        excluded="",
    )
    assert "<script" not in page.lower()
    assert page.count(ESCAPED_SCRIPT) == 4  # title, heading paragraph, table cell, plain text
    assert "<table>" in page  # table() markup passes through


class _FakeReport:
    """The attributes the SLA page reads, with a hostile policy name."""

    policy_name = SCRIPT
    now = pd.Timestamp(NOW)
    generated_at = pd.Timestamp(NOW)
    by = ("tier",)
    currency = "EUR"
    excluded = pd.DataFrame()
