"""Compliance report: Wilson intervals, classification, exclusions, credits, renderings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from slarisk.errors import InputError
from slarisk.sla.clock import compute_clocks
from slarisk.sla.policy import Policy, load_policy
from slarisk.sla.report import (
    alert_counts,
    build_report,
    classify,
    credits,
    parse_segments,
    status_table,
    wilson_interval,
)
from slarisk.sla.report_html import render_html, write_report

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-04-06T12:00:00Z"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policies" / "default.yaml")


def golden_tickets() -> pd.DataFrame:
    """Five tickets under policies/default.yaml, judged at 2026-04-06 12:00 UTC.

    a: gold P1 in the EMEA migration window (EX-2026-001) -> excluded;
    b: silver P2, response 1 h (target 2 business h), resolved in 10 h (16 h) -> met, met;
    c: bronze P3, response after 6.5 h (8 h) -> met; resolution open, not yet due;
    d: gold P1 (24x7: 15 min / 4 h), untouched for days -> both breached while open;
    e: P4 without tier (default bronze), created 2 h before now -> open, not due.
    """
    ts = pd.to_datetime
    return pd.DataFrame(
        {
            "ticket_id": ["a", "b", "c", "d", "e"],
            "created_at": ts(
                [
                    "2026-03-02T10:00Z",
                    "2026-03-05T10:00Z",
                    "2026-04-01T09:30Z",
                    "2026-04-02T09:00Z",
                    "2026-04-06T10:00Z",
                ],
                utc=True,
            ),
            "first_response_at": ts(
                ["2026-03-02T10:10Z", "2026-03-05T11:00Z", "2026-04-01T16:00Z", None, None],
                utc=True,
            ),
            "resolved_at": ts(
                ["2026-03-02T12:00Z", "2026-03-05T20:00Z", None, None, None], utc=True
            ),
            "priority": ["P1", "P2", "P3", "P1", "P4"],
            "tier": ["gold", "silver", "bronze", "gold", "unknown"],
            "region": ["EMEA", "US", "EMEA", "US", "US"],
            "customer": ["acme", "globex", "acme", "acme", "initech"],
        }
    )


@pytest.fixture(scope="module")
def clocks(policy: Policy) -> pd.DataFrame:
    return compute_clocks(golden_tickets(), policy, now=NOW)


# ------------------------------------------------------------------ Wilson


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [  # hand values (Wilson 1927 score interval, z = 1.96)
        (0, 10, 0.0, 0.2775),
        (1, 10, 0.0179, 0.4042),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
        (95, 100, 0.8882, 0.9785),
    ],
)
def test_wilson_known_values(k: int, n: int, lo: float, hi: float) -> None:
    got_lo, got_hi = wilson_interval(k, n)
    assert float(got_lo) == pytest.approx(lo, abs=5e-5)
    assert float(got_hi) == pytest.approx(hi, abs=5e-5)


def test_wilson_empty_is_nan() -> None:
    lo, hi = wilson_interval([0, 3], [0, 4])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < 0.75 < hi[1]


@given(st.integers(1, 5000), st.data())
def test_wilson_properties(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1.0
    lo4, hi4 = wilson_interval(4 * k, 4 * n)  # more data, same proportion: narrower
    assert hi4 - lo4 <= hi - lo + 1e-12


# ------------------------------------------------------------------ golden example


def test_golden_classification_and_reconciliation(clocks: pd.DataFrame, policy: Policy) -> None:
    cls = classify(clocks, policy.timezone)
    got = dict(zip(cls["ticket_id"] + "/" + cls["metric"], cls["status_class"], strict=True))
    assert got == {
        "a/first_response": "excluded",
        "a/resolution": "excluded",
        "b/first_response": "met",
        "b/resolution": "met",
        "c/first_response": "met",
        "c/resolution": "open_not_due",
        "d/first_response": "breached",
        "d/resolution": "breached",
        "e/first_response": "open_not_due",
        "e/resolution": "open_not_due",
    }
    rep = build_report(clocks, policy, "tier,month", now=NOW)
    rec = rep.reconciliation.set_index("metric")
    assert rec.loc["first_response"].to_dict() == {
        "tickets": 5,
        "counted": 4,
        "excluded": 1,
        "met": 2,
        "breached": 1,
        "open_not_due": 1,
    }
    assert rec.loc["resolution", "open_not_due"] == 2
    assert (rec["counted"] + rec["excluded"] == rec["tickets"]).all()


def test_golden_attainment_table(clocks: pd.DataFrame, policy: Policy) -> None:
    rep = build_report(clocks, policy, ["tier", "month"], now=NOW)
    att = rep.attainment.set_index(["tier", "month", "metric"])
    gold = att.loc[("gold", "2026-04", "first_response")]
    assert (gold["met"], gold["breached"], gold["attainment"]) == (0, 1, 0.0)
    assert gold["goal"] == 0.98 and not gold["meets_goal"]
    assert gold["ci_high"] == pytest.approx(0.7935, abs=1e-4)  # Wilson 0/1
    silver = att.loc[("silver", "2026-03", "resolution")]
    assert (silver["met"], silver["decided"], silver["meets_goal"]) == (1, 1, True)
    bronze = att.loc[("bronze", "2026-04", "resolution")]
    assert bronze["decided"] == 0 and np.isnan(bronze["attainment"])
    assert pd.isna(bronze["meets_goal"])
    # bronze P3 (0.85) and P4 (0.80) resolution goals, weighted by counted tickets
    assert bronze["goal"] == pytest.approx((0.85 + 0.80) / 2)
    excluded_only = att.loc[("gold", "2026-03", "first_response")]
    assert excluded_only["excluded"] == 1 and excluded_only["counted"] == 0
    # every segment row reconciles
    assert (
        rep.attainment["counted"] + rep.attainment["excluded"] == rep.attainment["tickets"]
    ).all()
    assert rep.attainment["tickets"].sum() == 10  # 5 tickets x 2 metrics


def test_golden_exclusions_list(clocks: pd.DataFrame, policy: Policy) -> None:
    rep = build_report(clocks, policy, None, now=NOW)
    assert rep.excluded["ticket_id"].tolist() == ["a"]
    row = rep.excluded.iloc[0]
    assert row["exception_id"] == "EX-2026-001"
    assert row["reason"].startswith("Data-centre migration")
    assert row["approver"] == "Head of Service Delivery"
    assert row["region"] == "EMEA"


def test_golden_credits(clocks: pd.DataFrame, policy: Policy) -> None:
    rep = build_report(clocks, policy, "customer", now=NOW)
    tot = rep.credits.set_index(["customer", "month"])
    # acme April: gold P1 response 0/1 and resolution 0/1 (20 % each, by band) and bronze P3
    # response 1/1 (0 %): 40 % capped at 25 % of acme's 25,000 fee.
    acme = tot.loc[("acme", "2026-04")]
    assert (acme["targets"], acme["targets_missed"], acme["credit_pct"]) == (3, 2, 25.0)
    assert acme["amount"] == pytest.approx(6250.0) and acme["currency"] == "GBP"
    assert tot.loc[("globex", "2026-03"), "amount"] == 0.0
    assert "initech" not in tot.index.get_level_values(0)  # nothing decided yet


def _decided(customer: str, month: str, met: int, total: int, goal: float) -> pd.DataFrame:
    n = total
    return pd.DataFrame(
        {
            "ticket_id": [f"{customer}-{month}-{i}" for i in range(n)],
            "metric": "resolution",
            "is_open": False,
            "breached": [i >= met for i in range(n)],
            "excluded_by": None,
            "goal": goal,
            "created_at": pd.Timestamp(f"{month}-10T12:00Z"),
            "tier": "silver",
            "priority": "P2",
            "customer": customer,
        }
    )


@pytest.mark.parametrize(
    ("met", "pct"),
    [(20, 0.0), (19, 0.0), (18, 5.0), (17, 10.0), (16, 20.0), (0, 20.0)],
    # goal 0.95 of 20: shortfall -0.05, 0, 0.05, 0.10, 0.15, 0.95 -> bands >0: 5, >0.05: 10,
    # >0.10: 20 (a shortfall exactly on a threshold stays in the lower band)
)
def test_credit_bands(policy: Policy, met: int, pct: float) -> None:
    cls = classify(_decided("globex", "2026-05", met, 20, 0.95), policy.timezone)
    tot, det = credits(cls, policy)
    assert det["credit_pct"].tolist() == [pct]
    assert tot["amount"].tolist() == [pytest.approx(pct / 100 * 15000)]


def test_credit_cap_across_targets(policy: Policy) -> None:
    a = _decided("zeta", "2026-05", 0, 5, 0.9)
    b = _decided("zeta", "2026-05", 0, 5, 0.9).assign(
        metric="first_response", ticket_id=lambda d: d["ticket_id"] + "f"
    )
    cls = classify(pd.concat([a, b], ignore_index=True), policy.timezone)
    tot, det = credits(cls, policy)
    assert det["credit_pct"].tolist() == [20.0, 20.0]
    assert tot.loc[0, "credit_pct"] == 25.0  # 40 % capped at cap_pct
    assert tot.loc[0, "fee"] == 10000 and tot.loc[0, "amount"] == 2500.0


def test_month_uses_policy_timezone(policy: Policy) -> None:
    df = _decided("acme", "2026-05", 1, 1, 0.9).assign(
        created_at=pd.Timestamp("2026-04-30T23:30Z")  # 00:30 on 1 May in London (BST)
    )
    assert classify(df, policy.timezone)["month"].tolist() == ["2026-05"]
    assert classify(df, "UTC")["month"].tolist() == ["2026-04"]


def test_segments_validation() -> None:
    assert parse_segments("tier, month,tier") == ["tier", "month"]
    with pytest.raises(InputError, match="unknown segment 'colour'"):
        parse_segments("tier,colour")


# ------------------------------------------------------------------ status


def test_status_table_soonest_breach_first(clocks: pd.DataFrame, policy: Policy) -> None:
    st_ = status_table(clocks)
    assert list(zip(st_["ticket_id"], st_["metric"], strict=True)) == [
        ("d", "first_response"),
        ("d", "resolution"),
        ("e", "first_response"),
        ("c", "resolution"),
        ("e", "resolution"),
    ]
    assert st_["due_at"].is_monotonic_increasing
    assert st_.loc[0, "alert_level"] == 100 and st_.loc[0, "time_left_seconds"] < 0
    counts = alert_counts(st_, policy.alert_levels).set_index("metric")
    assert counts.loc["first_response"].to_dict() == {
        "level_0": 1,
        "level_80": 0,
        "level_90": 0,
        "level_100": 1,
        "open": 2,
    }
    assert counts["open"].sum() == len(st_)


# ------------------------------------------------------------------ renderings


def test_html_json_csv(tmp_path: Path, clocks: pd.DataFrame, policy: Policy) -> None:
    rep = build_report(clocks, policy, "tier,month", now=NOW)
    html = render_html(rep)
    assert "data:image/png;base64," in html and "EX-2026-001" in html
    assert "Attainment by segment" in html and "Service credits (GBP)" in html
    [jf] = write_report(rep, tmp_path / "r.json", "json")
    data = json.loads(jf.read_text())
    assert data["policy"] == "default" and data["by"] == ["tier", "month"]
    assert sum(r["tickets"] for r in data["attainment"]) == 10
    assert data["credits"][0]["amount"] == 6250.0
    files = write_report(rep, tmp_path / "r.csv", "csv")
    assert [f.name for f in files] == [
        "r.csv",
        "r.credits.csv",
        "r.excluded.csv",
        "r.reconciliation.csv",
    ]
    assert len(pd.read_csv(files[0])) == len(rep.attainment)
    with pytest.raises(InputError, match="format"):
        write_report(rep, tmp_path / "r.txt", "txt")


def test_over_time_is_weekly_for_short_histories_and_plots_perfect_weeks(policy: Policy) -> None:
    from slarisk.sla.report import over_time
    from slarisk.sla.report_html import attainment_plot_png

    df = pd.concat(
        [
            _decided("acme", "2026-05", 3, 3, 0.9).assign(
                created_at=pd.Timestamp("2026-05-04T10:00Z")  # a Monday
            ),
            _decided("acme", "2026-05", 1, 2, 0.9).assign(
                created_at=pd.Timestamp("2026-05-13T10:00Z")  # the Wednesday after
            ),
        ],
        ignore_index=True,
    )
    ot = over_time(classify(df, policy.timezone))
    assert sorted(ot["period"]) == ["2026-05-04", "2026-05-11"]
    assert ot.set_index("period").loc["2026-05-04", "attainment"] == 1.0
    assert attainment_plot_png(ot)  # 100% attainment: Wilson upper bound 1.0 plots fine


def test_html_page_for_a_planner(tmp_path: Path, clocks: pd.DataFrame, policy: Policy) -> None:
    """Shortfall as 'below goal by', exclusions summarised with the full list in a CSV."""
    from slarisk.sla.report_html import axis_floor

    rep = build_report(clocks, policy, "tier", now=NOW)
    files = write_report(rep, tmp_path / "r.html", "html")
    assert [f.name for f in files] == ["r.html", "r.excluded.csv"]
    page = files[0].read_text()
    assert "below goal by" in page and ">shortfall<" not in page
    assert 'href="r.excluded.csv"' in page
    assert len(pd.read_csv(files[1])) == len(rep.excluded)
    # the axis floor stays under every goal and interval (goal lines in view), or is 0
    data = pd.DataFrame({"ci_low": [0.93, 0.95], "goal": [0.8, 0.9]})
    assert axis_floor(data) == pytest.approx(0.7)
    assert axis_floor(pd.DataFrame({"ci_low": [0.2], "goal": [0.9]})) == 0.0
