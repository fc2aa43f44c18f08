"""`slarisk sla report` and `slarisk sla status`: outputs, summaries and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.cli import app

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "policies" / "default.yaml")
NOW = "2026-04-06T12:00:00Z"

TICKETS = """ticket_id,created_at,first_response_at,resolved_at,priority,tier,region,customer
a,2026-03-02T10:00Z,2026-03-02T10:10Z,2026-03-02T12:00Z,P1,gold,EMEA,acme
b,2026-03-05T10:00Z,2026-03-05T11:00Z,2026-03-05T20:00Z,P2,silver,US,globex
c,2026-04-01T09:30Z,2026-04-01T16:00Z,,P3,bronze,EMEA,acme
d,2026-04-02T09:00Z,,,P1,gold,US,acme
e,2026-04-06T10:00Z,,,P4,,US,initech
"""


@pytest.fixture
def tickets(tmp_path: Path) -> Path:
    p = tmp_path / "tickets.csv"
    p.write_text(TICKETS)
    return p


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("fmt", ["html", "json", "csv"])
def test_report_formats(tmp_path: Path, tickets: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    r = invoke(
        "sla",
        "report",
        "--policy",
        POLICY,
        "--tickets",
        str(tickets),
        "--by",
        "tier,month",
        "--format",
        fmt,
        "--now",
        NOW,
        "--out",
        str(out),
    )
    assert r.exit_code == 0, r.output
    assert out.exists()
    assert "SLA compliance: default" in r.output
    assert "service credits owed: 6,250.00 GBP" in r.output
    assert "excluded by exceptions: 1 ticket(s)" in r.output
    if fmt == "json":
        data = json.loads(out.read_text())
        assert {row["metric"] for row in data["reconciliation"]} == {"first_response", "resolution"}
    if fmt == "html":
        assert "data:image/png;base64," in out.read_text()


def test_events_pause_the_clock(tmp_path: Path, tickets: Path) -> None:
    """Ticket d (P1, 24x7) pending for 23 h 55 min: its time left grows by exactly that."""
    events = tmp_path / "events.csv"
    events.write_text(
        "ticket_id,at,status\nd,2026-04-02T09:05Z,pending\nd,2026-04-03T09:00Z,open\n"
    )
    left = {}
    for name, extra in (("plain", []), ("paused", ["--events", str(events)])):
        out = tmp_path / f"{name}.csv"
        r = invoke(
            "sla",
            "status",
            "--policy",
            POLICY,
            "--tickets",
            str(tickets),
            "--now",
            NOW,
            "--out",
            str(out),
            *extra,
        )
        assert r.exit_code == 0, r.output
        st = pd.read_csv(out).set_index(["ticket_id", "metric"])
        left[name] = st.loc[("d", "resolution"), "time_left_seconds"]
    assert left["paused"] - left["plain"] == pytest.approx(23 * 3600 + 55 * 60)
    r = invoke(
        "sla",
        "report",
        "--policy",
        POLICY,
        "--tickets",
        str(tickets),
        "--events",
        str(events),
        "--format",
        "json",
        "--now",
        NOW,
        "--out",
        str(tmp_path / "r.json"),
    )
    assert r.exit_code == 0, r.output


def test_warns_when_no_event_status_pauses(tmp_path: Path, tickets: Path) -> None:
    """Source status names the policy does not pause on: paused time 0, and a warning says so."""
    events = tmp_path / "events.csv"
    events.write_text(
        "ticket_id,at,status\nd,2026-04-02T09:05Z,Awaiting User Info\nd,2026-04-03T09:00Z,Active\n"
    )
    args = ["--policy", POLICY, "--tickets", str(tickets), "--now", NOW, "--events", str(events)]
    r = invoke("sla", "status", *args)
    assert r.exit_code == 0, r.output
    assert "warning: no event status is one of the policy's pause_statuses" in r.output
    assert "Awaiting User Info" in r.output
    events.write_text("ticket_id,at,status\nd,2026-04-02T09:05Z,pending\n")
    r = invoke("sla", "status", *args)
    assert r.exit_code == 0 and "warning" not in r.output


def test_status_table_and_csv(tmp_path: Path, tickets: Path) -> None:
    out = tmp_path / "status.csv"
    r = invoke(
        "sla",
        "status",
        "--policy",
        POLICY,
        "--tickets",
        str(tickets),
        "--now",
        NOW,
        "--out",
        str(out),
        "--top",
        "3",
    )
    assert r.exit_code == 0, r.output
    assert "Soonest breach first (top 3 of 5)" in r.output
    st = pd.read_csv(out)
    assert st["ticket_id"].tolist() == ["d", "d", "e", "c", "e"]
    assert st["alert_level"].tolist()[:2] == [100, 100]


def test_quarantine_option_reports_on_valid_rows(tmp_path: Path, tickets: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(TICKETS + "f,not-a-date,,,P2,gold,US,acme\n")
    q = tmp_path / "q.csv"
    r = invoke(
        "sla",
        "report",
        "--policy",
        POLICY,
        "--tickets",
        str(bad),
        "--format",
        "json",
        "--now",
        NOW,
        "--out",
        str(tmp_path / "r.json"),
        "--quarantine",
        str(q),
    )
    assert r.exit_code == 0, r.output
    assert "input 6 = accepted 5 + quarantined 1" in r.output
    quarantined = pd.read_csv(q)
    assert quarantined["row"].tolist() == [6] and quarantined["field"].tolist() == ["created_at"]


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing_tickets", "file not found"),
        ("missing_policy", "policy file not found"),
        ("bad_timestamp", "row 2: created_at"),
        ("unknown_priority", "row 3: priority"),
        ("bad_now", "--now"),
        ("bad_by", "unknown segment 'colour'"),
        ("bad_format", "--format"),
        ("missing_column", "priority"),
    ],
)
@pytest.mark.parametrize("command", ["report", "status"])
def test_errors_are_one_line_exit_2(tmp_path: Path, case: str, needle: str, command: str) -> None:
    if command == "status" and case in ("bad_by", "bad_format"):
        pytest.skip("report-only option")
    tickets = tmp_path / "tickets.csv"
    lines = TICKETS.splitlines()
    if case == "bad_timestamp":
        lines[2] = lines[2].replace("2026-03-05T10:00Z", "05/03/2026 25:00")
    if case == "unknown_priority":
        lines[3] = lines[3].replace(",P3,", ",P9,")
    if case == "missing_column":
        lines = [",".join(x.split(",")[:4] + x.split(",")[5:]) for x in lines]
    if case != "missing_tickets":
        tickets.write_text("\n".join(lines) + "\n")
    policy = str(tmp_path / "nope.yaml") if case == "missing_policy" else POLICY
    now = "yesterday-ish" if case == "bad_now" else NOW
    args = ["sla", command, "--policy", policy, "--tickets", str(tickets), "--now", now]
    if command == "report":
        args += ["--out", str(tmp_path / "r.html")]
        if case == "bad_by":
            args += ["--by", "tier,colour"]
        if case == "bad_format":
            args += ["--format", "pdf"]
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) <= 3  # one message
    if case in ("bad_timestamp", "unknown_priority", "missing_column", "missing_tickets"):
        assert str(tickets) in r.output.replace("\n", "")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", ["report", "status"])
def test_tables_fit_80_columns_and_now_defaults_to_data_end(
    tmp_path: Path, tickets: Path, command: str
) -> None:
    """At 80 columns no table line is wider and no number is cut (no ellipsis)."""
    long_name = TICKETS.replace(",initech", ",initech-international-holdings-group")
    tickets.write_text(long_name)
    args = ["sla", command, "--policy", POLICY, "--tickets", str(tickets)]
    if command == "report":
        args += ["--by", "customer,tier,month", "--format", "json"]
    args += ["--out", str(tmp_path / "out.json" if command == "report" else tmp_path / "o.csv")]
    r = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "…" not in r.output
    boxes = [line for line in r.output.splitlines() if line[:1] in "┏┃┡│└"]
    assert boxes and max(len(line) for line in boxes) <= 80
    assert (
        "--now not given: open clocks judged at 2026-04-06T10:00:00+00:00 (the data's last"
        in r.output
    )
