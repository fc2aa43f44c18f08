"""ServiceNow incident event log importer: a small fixture and the real UCI log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from slarisk.data import schema as s
from slarisk.data.io import read_table
from slarisk.data.servicenow import KNOWN_AT_OPEN, KNOWN_LATER, import_servicenow
from slarisk.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "servicenow_small.csv"


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_small_log() -> None:
    r = import_servicenow(read_table(FIX), "sn.csv")
    assert r.source_events is not None
    assert (r.source_events.n_input, r.source_events.n_quarantined) == (15, 3)
    assert (r.tickets.n_input, r.tickets.n_accepted, r.tickets.n_quarantined) == (4, 4, 0)
    acc = r.tickets.accepted.set_index("ticket_id")
    inc1 = acc.loc["INC1"]
    assert inc1["created_at"] == _utc("2016-03-01 09:00")
    assert inc1["first_response_at"] == _utc("2016-03-01 09:30")  # first "Active"
    assert inc1["resolved_at"] == _utc("2016-03-01 15:00")
    assert (inc1["priority"], inc1["priority_final"]) == ("P2", "P1")
    assert (inc1["group"], inc1["group_final"]) == ("unknown", "Group 8")  # "?" at opening
    assert not bool(inc1["source_made_sla"])  # false once, false for the incident
    assert (inc1["status"], inc1["reassignment_count"], inc1["n_events"]) == ("closed", 1, 6)
    assert inc1["source_status"] == "Closed" and not inc1["resolved_from_closed"]
    inc2 = acc.loc["INC2"]
    assert inc2["created_at"] == _utc("2016-03-13 08:00")  # day first
    assert pd.isna(inc2["first_response_at"]) and bool(inc2["source_made_sla"])
    assert inc2["channel"] == "Email" and inc2["service_type"] == "incident"
    assert acc.loc["INC3", "first_response_at"] == _utc("2016-04-02 11:00")
    # Active logged before the (edited) opened_at: response clamped to opening, not dropped
    assert acc.loc["INC4", "first_response_at"] == acc.loc["INC4", "created_at"]
    q = r.quarantine().set_index("row")
    assert q.loc[10, "field"] == "incident_state" and q.loc[10, "level"] == "event"
    assert q.loc[11, "reason"] == "unparseable sys_updated_at"
    assert q.loc[15, "reason"] == "missing number"
    ev = r.events
    assert ev.loc[ev["ticket_id"] == "INC1", "status"].tolist() == [
        "new",
        "in_progress",
        "awaiting_customer",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert ev.loc[ev["ticket_id"] == "INC4", "status"].tolist() == ["in_progress", "closed"]
    # INC2 is Closed with no resolved_at: it resolves at closed_at, not open forever
    assert inc2["resolved_from_closed"] and inc2["resolved_at"] == _utc("2016-03-18 09:00")
    assert not acc.loc["INC4", "resolved_from_closed"]
    assert set(KNOWN_AT_OPEN) | set(KNOWN_LATER) <= set(acc.columns)
    assert "closed tickets without resolved_at (resolved at closed_at): 1" in r.notes
    paused = [n for n in r.notes if n.startswith("tickets with paused time")]
    assert paused == [
        "tickets with paused time (in awaiting_customer/on_hold before a later event): 1"
        " (canonical statuses; a policy pausing on these applies)"
    ]


def test_source_states_kept_on_request() -> None:
    r = import_servicenow(read_table(FIX), "sn.csv", map_states=False)
    ev = r.events
    assert ev.loc[ev["ticket_id"] == "INC4", "status"].tolist() == ["Active", "Closed"]
    assert r.tickets.accepted.set_index("ticket_id").loc["INC1", "status"] == "Closed"


def test_timezone_and_defaults() -> None:
    r = import_servicenow(
        read_table(FIX), "sn.csv", source_tz="America/Sao_Paulo", defaults={"tier": "gold"}
    )
    acc = r.tickets.accepted.set_index("ticket_id")
    assert acc.loc["INC1", "created_at"] == _utc("2016-03-01 12:00")
    assert acc.loc["INC1", "tier"] == "gold"


def test_not_a_servicenow_log() -> None:
    with pytest.raises(InputError, match=r"x\.csv: number: not a ServiceNow incident event log"):
        import_servicenow(pd.DataFrame({"a": ["1"]}), "x.csv")


def test_uci_event_log(shared_data: Path) -> None:
    path = shared_data / "servicenow_incidents" / "incident_event_log.csv.gz"
    r = import_servicenow(read_table(path), str(path))
    assert r.source_events is not None
    assert r.source_events.n_input == 141_712
    assert r.tickets.n_input == 24_918  # every incident becomes a ticket or a quarantined row
    assert r.tickets.n_accepted + r.tickets.n_quarantined == 24_918
    assert r.tickets.n_accepted == 24_918  # the acceptance: 24,918 tickets
    q = r.quarantine()
    assert q["reason"].str.len().gt(0).all()
    acc = r.tickets.accepted
    assert acc["ticket_id"].is_unique
    assert set(acc["priority"]) == {"P1", "P2", "P3", "P4"}
    assert str(acc["created_at"].dtype) == s.TIMESTAMP_DTYPE
    assert 0.36 < 1 - acc["source_made_sla"].mean() < 0.37  # README: 36.6% end made_sla=false
    assert acc["created_at"].min() >= _utc("2016-02-29")
    assert set(r.events["status"]) == {
        "new",
        "in_progress",
        "awaiting_customer",
        "on_hold",
        "resolved",
        "closed",
    }
    # the 1,556 Closed incidents without resolved_at resolve at closed_at: none stays open
    assert int(acc["resolved_from_closed"].sum()) == 1_556
    assert acc["resolved_at"].notna().all()
    assert any("tickets with paused time" in n and "5,818" in n for n in r.notes)
