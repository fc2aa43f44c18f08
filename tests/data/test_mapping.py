"""Generic YAML-mapping importer: both shipped mappings on fixtures, strict mapping errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.data import schema as s
from slarisk.data.io import read_table
from slarisk.data.mapping import import_with_mapping, load_mapping
from slarisk.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parent / "fixtures"


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_shipped_mappings_all_load() -> None:
    names = sorted(p.name for p in (ROOT / "mappings").glob("*.yaml"))
    assert {"zendesk.yaml", "jira_sm_events.yaml"} <= set(names)
    for name in names:
        load_mapping(ROOT / "mappings" / name)


def test_zendesk_tickets() -> None:
    spec = load_mapping(ROOT / "mappings" / "zendesk.yaml")
    r = import_with_mapping(read_table(FIX / "zendesk_tickets.csv"), spec, "zendesk.csv")
    t = r.tickets
    assert (t.n_input, t.n_accepted, t.n_quarantined) == (15, 6, 9)
    acc = t.accepted.set_index("ticket_id")
    # Europe/Berlin local time (CET in March) -> UTC; first reply = created + 12 minutes
    assert acc.loc["101", "created_at"] == _utc("2024-03-04 08:15:22")
    assert acc.loc["101", "first_response_at"] == _utc("2024-03-04 08:27:22")
    assert acc.loc["101", "resolved_at"] == _utc("2024-03-04 10:30:00")
    assert acc.loc["101", ["priority", "tier", "status", "service_type"]].tolist() == [
        "P1",
        "gold",
        "resolved",
        "support",
    ]
    assert acc.loc["105", "tier"] == "bronze"  # "Startup" falls to the "*" fallback
    assert acc.loc["105", "created_at"] == _utc("2024-10-27 02:30")  # after the DST overlap
    assert pd.isna(acc.loc["103", "first_response_at"])  # "-" is missing
    assert acc.loc["104", "status"] == "pending"
    assert acc.loc["101", "subject"] == "Cannot log in"  # extra column kept
    q = r.quarantine().set_index("row")
    assert set(q["level"]) == {"ticket"}
    assert q.loc[9, "reason"] == "Priority 'Critical!!' not allowed (expected P1, P2, P3, P4)"
    assert q.loc[9, "Priority"] == "Critical!!"  # the raw source row
    assert q.loc[12, "reason"] == "exact duplicate of row 11"
    assert q.loc[15, "field"] == "First reply time in minutes"
    assert len(r.events) == 0


def test_jira_event_log_rebuilds_tickets_and_events() -> None:
    spec = load_mapping(ROOT / "mappings" / "jira_sm_events.yaml")
    r = import_with_mapping(read_table(FIX / "jira_sm_events.csv"), spec, "jira.csv")
    assert r.source_events is not None
    ev = r.source_events
    assert (ev.n_input, ev.n_accepted, ev.n_quarantined) == (18, 14, 4)
    assert (r.tickets.n_input, r.tickets.n_accepted, r.tickets.n_quarantined) == (6, 5, 1)
    acc = r.tickets.accepted.set_index("ticket_id")
    sd1 = acc.loc["SD-1"]
    assert sd1["created_at"] == _utc("2024-03-04 14:15")  # 9:15 AM New York (EST)
    assert sd1["first_response_at"] == _utc("2024-03-04 14:40")  # first In Progress
    assert sd1["resolved_at"] == _utc("2024-03-04 20:00")
    assert sd1["priority"] == "P2"  # attributes: opening (later raised to Highest)
    assert sd1["status"] == "resolved" and sd1["n_events"] == 5
    assert (sd1["tier"], sd1["region"], sd1["service_type"]) == ("silver", "NA", "Get IT help")
    sd2 = acc.loc["SD-2"]
    assert sd2["created_at"] == _utc("2024-03-05 04:00")  # 11 PM the day before
    assert pd.isna(sd2["resolved_at"]) and sd2["status"] == "in_progress"
    events = r.events
    assert list(events.columns) == list(s.EVENT_COLUMNS)
    assert events.loc[events["ticket_id"] == "SD-1", "status"].tolist() == [
        "new",
        "in_progress",
        "pending",
        "in_progress",
        "resolved",
    ]
    assert "SD-4" not in set(events["ticket_id"])  # its ticket is quarantined
    q = r.quarantine().set_index("row")
    assert q.loc[9, "reason"].startswith("Changed is nonexistent or ambiguous local time")
    assert q.loc[16, "field"] == "To status"
    assert q.loc[18, "reason"] == "missing Issue key"
    assert q.loc[11, "level"] == "ticket" and q.loc[11, "reason"] == "missing priority"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


GOOD = """
name: t
columns: {ticket_id: id, created_at: created, priority: prio}
"""
EVENTS = """
name: t
mode: events
columns: {ticket_id: id, at: at, status: st, priority: prio}
events:
  resolved_statuses: [done]
"""


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (GOOD + "colour: red\n", "colour", "unknown field 'colour' (did you mean 'columns'?)"),
        ("name: t\ncolumns: {created_at: c, priority: p}\n", "columns.ticket_id", "required"),
        (GOOD + "source_timezone: Mars/Base\n", "source_timezone", "unknown timezone"),
        (GOOD.replace("prio}", "prio, colour: c}"), "columns.colour", "not a canonical"),
        (GOOD + "values: {ticket_id: {a: b}}\n", "values.ticket_id", "value maps apply"),
        (GOOD + "mode: events\n", "columns.created_at", "for mode events"),
        (GOOD + "offsets: {created_at: {column: x}}\n", "offsets.created_at", "offsets apply"),
        (GOOD + "extra_columns: {status: x}\n", "extra_columns.status", "clashes"),
        ("columns: [1, 2]\nname: t\n", "columns", "valid dictionary"),
        (GOOD + "templates: {status: '{A'}\n", "templates.status", "unbalanced braces"),
        (GOOD + "templates: {status: plain}\n", "templates.status", "names no source column"),
        (GOOD + "templates: {priority: '{p}'}\n", "templates.priority", "also mapped"),
        (GOOD + "case: {ticket_id: upper}\n", "case.ticket_id", "applies to string"),
        (
            EVENTS + "  first_response_statuses: [x]\n  first_response: {column: c}\n",
            "events",
            "exactly one of first_response_statuses or first_response",
        ),
        (
            EVENTS + "  first_response: {activities: [a]}\n",
            "events.first_response",
            "activities and activity_column go together",
        ),
        (
            EVENTS + "  first_response: {statuses: [a], column: c}\n",
            "events.first_response",
            "exactly one of statuses, activities or column",
        ),
        (
            EVENTS + "  first_response: {column: c}\n  attribute_values: {status: last}\n",
            "events.attribute_values.status",
            "applies to priority",
        ),
    ],
)
def test_bad_mapping_names_file_and_field(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_mapping(path)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert message in str(info.value)


def test_bad_yaml_syntax_and_shape(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"m.yaml: invalid YAML at line 3"):
        load_mapping(_write(tmp_path, "name: t\ncolumns: {a: b\n  bad: : ]\n"))
    with pytest.raises(InputError, match="must hold a YAML mapping"):
        load_mapping(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "none.yaml")


def test_input_lacking_a_mapped_column(tmp_path: Path) -> None:
    spec = load_mapping(_write(tmp_path, GOOD))
    raw = pd.DataFrame({"id": ["1"], "created": ["2024-01-01"]})
    with pytest.raises(InputError, match=r"in.csv: prio: column 'prio' \(mapped to priority"):
        import_with_mapping(raw, spec, "in.csv", mapping_name="m.yaml")


def test_integer_value_keys_and_fallback(tmp_path: Path) -> None:
    spec = load_mapping(_write(tmp_path, GOOD + "values: {priority: {1: P1, '*': P4}}\n"))
    raw = pd.DataFrame({"id": ["a", "b"], "created": ["2024-01-01"] * 2, "prio": ["1", "7"]})
    acc = import_with_mapping(raw, spec, "in.csv").tickets.accepted
    assert acc["priority"].tolist() == ["P1", "P4"]


_cell = st.one_of(
    st.just(""),
    st.text(max_size=4),
    st.sampled_from(["04/Mar/24 9:15 AM", "10/Mar/24 2:30 AM", "31/Dec/24 11:59 PM", "x"]),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SD-1", "SD-2", "", "SD-3"]),
            _cell,
            st.sampled_from(["Open", "In Progress", "Resolved", "Teleported", ""]),
            st.sampled_from(["High", "Low", "", "Meh"]),
        ),
        max_size=20,
    )
)
def test_event_log_reconciles_on_garbage(rows: list[tuple[str, str, str, str]]) -> None:
    spec = load_mapping(ROOT / "mappings" / "jira_sm_events.yaml")
    cols = ["Issue key", "Changed", "To status", "Priority"]
    raw = pd.DataFrame(rows, columns=cols, dtype="str")
    for col in ["Request type", "Organization", "Team", "Source", "Reporter"]:
        raw[col] = "x"
    r = import_with_mapping(raw, spec, "g.csv")
    assert r.source_events is not None
    ev = r.source_events
    assert ev.n_accepted + ev.n_quarantined == len(raw)
    ids = set(ev.accepted["ticket_id"])
    assert r.tickets.n_input == len(ids)
    assert r.tickets.n_accepted + r.tickets.n_quarantined == len(ids)
    q = r.quarantine()
    assert (q["reason"].str.len() > 0).all()
    assert set(r.events["ticket_id"]) == set(r.tickets.accepted["ticket_id"])


def test_bpic2013_status_from_two_columns_and_column_markers() -> None:
    spec = load_mapping(ROOT / "mappings" / "bpic2013_incidents.yaml")
    r = import_with_mapping(read_table(FIX / "bpic2013_incidents.csv"), spec, "bpic.csv")
    assert r.source_events is not None
    assert (r.source_events.n_input, r.source_events.n_quarantined) == (13, 1)
    assert (r.tickets.n_input, r.tickets.n_accepted, r.tickets.n_quarantined) == (4, 3, 1)
    acc = r.tickets.accepted.set_index("ticket_id")
    a = acc.loc["1-364285768"]
    # Europe/Stockholm (CEST from 28 March) -> UTC; the first event is already "In Progress",
    # which is in the activity set: the response is at opening
    assert a["created_at"] == _utc("2010-03-31 13:59:42")
    assert a["first_response_at"] == a["created_at"]
    assert a["resolved_at"] == _utc("2010-04-06 13:44:07")  # Completed/Resolved
    assert (a["priority"], a["status"], a["region"]) == ("P3", "closed", "SWEDEN")
    # "Org line 3 unknown" is missing in that column only: the first value is the next one
    assert a["org_line"] == "Org line C"
    assert (a["group"], a["final_team"]) == ("V30", "V13 2nd")  # first vs last
    b = acc.loc["1-467153946"]
    assert b["first_response_at"] == _utc("2010-05-03 09:15")  # not "Assigned" at 08:30
    assert (b["region"], b["status"]) == ("SWEDEN", "resolved")  # case folded
    c = acc.loc["1-506934067"]
    assert c["region"] == "unknown"  # "-" is a missing marker of Owner Country
    assert pd.isna(c["first_response_at"])  # Wait - Vendor is not a response
    q = r.quarantine().set_index("row")
    assert q.loc[12, "field"] == "Status+Sub Status"
    assert "'Accepted/Strange' not allowed" in q.loc[12, "reason"]
    assert r.events.loc[r.events["ticket_id"] == "1-364285768", "status"].tolist() == [
        "in_progress",
        "awaiting_customer",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert (
        "taken as their last value, known only later (never risk features): final_team" in r.notes
    )


def test_helpdesk_activity_and_lifecycle() -> None:
    spec = load_mapping(ROOT / "mappings" / "helpdesk_xes_events.yaml")
    r = import_with_mapping(read_table(FIX / "helpdesk_xes_events.csv"), spec, "helpdesk.csv")
    assert (r.tickets.n_input, r.tickets.n_accepted) == (3, 3)
    acc = r.tickets.accepted.set_index("ticket_id")
    one = acc.loc["Case 1"]
    # first response = "Take in charge ticket", not the insertion of the ticket (Rome, CEST)
    assert one["first_response_at"] == _utc("2012-10-12 13:02:56")
    assert one["status"] == "closed"  # "Closed|COMPLETE" folded to lower case
    assert one["service_level"] == "Value 2"  # "Value 0" missing in that column only
    assert one["resource"] == "Value 1"  # ... but a real value in org:resource
    two = acc.loc["Case 2"]
    assert two["first_response_at"] == _utc("2012-04-03 15:00")  # "Wait" (start)
    assert (two["category"], two["group"], two["priority"]) == ("unknown", "unknown", "P1")
    assert pd.isna(acc.loc["Case 3", "first_response_at"])
    ev = r.events
    assert ev.loc[ev["ticket_id"] == "Case 2", "status"].tolist() == [
        "new",
        "pending",
        "in_progress",
        "resolved",
    ]
    q = r.quarantine()
    assert q["reason"].tolist() == [
        "concept:name+lifecycle:transition 'phone the customer|complete' not allowed"
        " (expected closed, in_progress, new, on_hold, pending, resolved)"
    ]


def test_first_response_from_a_column(tmp_path: Path) -> None:
    spec = load_mapping(
        _write(
            tmp_path,
            EVENTS + "  first_response: {column: replied}\n  attribute_values: {priority: last}\n",
        )
    )
    raw = pd.DataFrame(
        {
            "id": ["a", "a", "a", "b"],
            "at": ["2024-01-01T10:00Z", "2024-01-01T11:00Z", "2024-01-01T12:00Z", "2024-01-02"],
            "st": ["new", "work", "done", "new"],
            "prio": ["P3", "P2", "", "P4"],
            "replied": ["", "2024-01-01T10:20Z", "2024-01-01T10:05Z", "nonsense"],
        }
    )
    r = import_with_mapping(raw, spec, "x.csv")
    acc = r.tickets.accepted.set_index("ticket_id")
    assert acc.loc["a", "first_response_at"] == _utc("2024-01-01 10:05")  # earliest value
    assert acc.loc["a", "resolved_at"] == _utc("2024-01-01 12:00")
    assert acc.loc["a", "priority"] == "P2"  # last non-missing, as asked
    assert pd.isna(acc.loc["b", "first_response_at"])
    assert "unparseable replied values ignored: 1" in r.notes
    assert any(n.endswith("(never risk features): priority") for n in r.notes)
