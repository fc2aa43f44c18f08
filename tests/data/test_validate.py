"""Validation at entry: typed output, every quarantine reason, reconciliation (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.data import schema as s
from slarisk.data.validate import (
    parse_timestamps,
    validate_events,
    validate_staffing,
    validate_tickets,
)
from slarisk.errors import InputError


def _tickets(**cols: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "ticket_id": ["t1"],
        "created_at": ["2024-01-01 10:00"],
        "priority": ["P1"],
    }
    base.update(cols)
    return pd.DataFrame(base)


def _reasons(result) -> list[str]:  # type: ignore[no-untyped-def]
    return list(result.quarantined[s.REASON])


def test_schema_ticket_columns() -> None:
    assert s.TICKET_COLUMNS[:4] == ("ticket_id", "created_at", "first_response_at", "resolved_at")


def test_accepted_frame_is_typed_with_defaults() -> None:
    df = _tickets(
        ticket_id=["a", "b"],
        created_at=["2024-01-01 10:00", "2024-01-02T10:00:00+02:00"],
        resolved_at=["2024-01-01 12:00", ""],
        priority=["P1", "P2"],
        tier=["gold", ""],
        handle_seconds=["30", "40"],
    )
    r = validate_tickets(df, "in.csv", defaults={"region": "EU"})
    acc = r.accepted
    assert r.n_quarantined == 0 and r.n_accepted == 2
    assert list(acc.columns[: len(s.TICKET_COLUMNS)]) == list(s.TICKET_COLUMNS)
    assert "handle_seconds" in acc.columns
    for col in s.TICKET_TIMESTAMP_COLUMNS:
        assert str(acc[col].dtype) == s.TIMESTAMP_DTYPE
    assert acc.loc[1, "created_at"] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert list(acc["tier"]) == ["gold", s.UNKNOWN]
    assert list(acc["region"]) == ["EU", "EU"]
    assert list(acc["status"]) == ["resolved", "open"]  # derived when the source has none
    assert r.summary() == "in.csv tickets: input 2 = accepted 2 + quarantined 0"


def test_naive_timestamps_use_declared_zone_not_a_guess() -> None:
    df = _tickets(created_at=["2024-07-01 09:00"])
    utc = validate_tickets(df, "x").accepted["created_at"].iloc[0]
    paris = validate_tickets(df, "x", source_tz="Europe/Paris").accepted["created_at"].iloc[0]
    assert utc == pd.Timestamp("2024-07-01 09:00", tz="UTC")
    assert paris == pd.Timestamp("2024-07-01 07:00", tz="UTC")


def test_dst_gap_and_overlap_are_quarantined() -> None:
    df = _tickets(
        ticket_id=["gap", "overlap", "fine"],
        created_at=["2024-03-31 02:30", "2024-10-27 02:30", "2024-10-27 03:30"],
        priority=["P1"] * 3,
    )
    r = validate_tickets(df, "x", source_tz="Europe/Berlin")
    assert list(r.accepted["ticket_id"]) == ["fine"]
    assert list(r.quarantined["row"]) == [1, 2]
    assert all("nonexistent or ambiguous" in x for x in _reasons(r))


def test_each_problem_has_its_reason_field_and_row() -> None:
    df = pd.DataFrame(
        {
            "ticket_id": ["ok", "", "c", "d", "e", "f", "g", "g", "h", "h", "i"],
            "created_at": [
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "yesterday",
                "",
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-01 11:00",
                "3000-01-01",
            ],
            "first_response_at": ["", "", "", "", "2023-12-31", "", "", "", "", "", ""],
            "resolved_at": ["", "", "", "", "", "2023-01-01", "", "", "", "", ""],
            "priority": ["P1", "P1", "P1", "P1", "P1", "P1", "P2", "P2", "P1", "P1", " "],
        }
    )
    r = validate_tickets(df, "t.csv")
    assert r.n_input == 11 and list(r.accepted["ticket_id"]) == ["ok", "g"]
    q = r.quarantined.set_index("row")
    assert q.loc[2, "reason"] == "missing ticket_id"
    assert q.loc[3, "reason"] == "unparseable created_at" and q.loc[3, "field"] == "created_at"
    assert q.loc[4, "reason"] == "missing created_at"
    assert q.loc[5, "field"] == "first_response_at"
    assert q.loc[5, "reason"] == "first_response_at earlier than created_at"
    assert q.loc[6, "reason"] == "resolved_at earlier than created_at"
    assert q.loc[8, "reason"] == "exact duplicate of row 7"
    assert (
        q.loc[9, "reason"] == q.loc[10, "reason"] == "duplicate ticket_id with conflicting values"
    )
    assert q.loc[11, "reason"] == "created_at out of range (years 1678-2261); missing priority"
    assert q.loc[11, "field"] == "created_at; priority"
    assert q.loc[3, "created_at"] == "yesterday"  # raw values kept
    assert r.reason_counts()["missing priority"] == 1


def test_allowed_values_and_custom_rows() -> None:
    df = _tickets(ticket_id=["a", "b"], created_at=["2024-01-01"] * 2, priority=["P1", "P9"])
    r = validate_tickets(df, "x", allowed={"priority": ["P1", "P2"]}, rows=[10, 20])
    assert list(r.quarantined["row"]) == [20]
    assert r.quarantined["reason"].iloc[0] == "priority 'P9' not allowed (expected P1, P2)"


def test_missing_required_column_is_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"x.csv: created_at: .*lacks required column"):
        validate_tickets(pd.DataFrame({"ticket_id": ["a"], "priority": ["P1"]}), "x.csv")
    with pytest.raises(InputError, match="unknown timezone"):
        validate_tickets(_tickets(), "x.csv", source_tz="Mars/Olympus")


def test_typed_input_passes_through() -> None:
    df = pd.DataFrame(
        {
            "ticket_id": [1, 2],
            "created_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00"]).tz_localize(
                "America/New_York"
            ),
            "resolved_at": pd.to_datetime(["2024-01-01 12:00", None]),  # naive: source_tz
            "priority": ["P1", "P2"],
        }
    )
    acc = validate_tickets(df, "x", source_tz="America/New_York").accepted
    assert list(acc["ticket_id"]) == ["1", "2"]
    assert acc["created_at"].iloc[0] == pd.Timestamp("2024-01-01 15:00", tz="UTC")
    assert acc["resolved_at"].iloc[0] == pd.Timestamp("2024-01-01 17:00", tz="UTC")
    assert str(acc["created_at"].dtype) == s.TIMESTAMP_DTYPE


def test_parse_timestamps_custom_format_and_offsets() -> None:
    p = parse_timestamps(
        pd.Series(["31/12/2016 23:59", "?", "1/1/2017 00:00", "bad"]),
        fmt="%d/%m/%Y %H:%M",
        na_values=["?"],
    )
    assert list(p.missing) == [False, True, False, False]
    assert list(p.unparseable) == [False, False, False, True]
    assert p.values.iloc[0] == pd.Timestamp("2016-12-31 23:59", tz="UTC")
    mixed = parse_timestamps(pd.Series(["2024-01-01T00:00:00Z", "2024-01-01 01:00", "2024-01-01"]))
    assert list(mixed.values.dt.hour) == [0, 1, 0]


# --- events and staffing ---------------------------------------------------------------------


def test_events_sorted_and_checked() -> None:
    df = pd.DataFrame(
        {
            "ticket_id": ["b", "a", "a", "a", "z", ""],
            "at": ["2024-01-01 10:00", "2024-01-01 12:00", *["2024-01-01 11:00"] * 4],
            "status": ["open", "pending", "open", "open", "open", "open"],
        }
    )
    r = validate_events(df, "e.csv", known_ticket_ids=["a", "b"])
    assert r.n_input == 6
    assert list(r.accepted["ticket_id"]) == ["a", "a", "b"]
    assert list(r.accepted["status"]) == ["open", "pending", "open"]
    q = r.quarantined.set_index("row")["reason"].to_dict()
    assert q == {
        4: "exact duplicate of row 3",
        5: "ticket_id not among the tickets",
        6: "missing ticket_id",
    }


def test_staffing_checks() -> None:
    df = pd.DataFrame(
        {
            "interval_start": ["2024-01-01 09:00"] * 3 + ["2024-01-01 09:15", "x", "2024-01-01"],
            "interval_minutes": ["15", "15", "15", "0", "15", "7.5"],
            "team": ["a", "b", "b", "a", "a", "a"],
            "agents": ["2.5", "3", "4", "1", "-1", "1"],
        }
    )
    r = validate_staffing(df, "s.csv")
    assert r.n_accepted == 1 and r.accepted["agents"].iloc[0] == 2.5
    reasons = r.quarantined.set_index("row")["reason"].to_dict()
    assert reasons[2] == reasons[3] == "duplicate team and interval_start with conflicting values"
    assert reasons[4] == "interval_minutes not a positive whole number"
    assert reasons[5] == "unparseable interval_start; agents negative or infinite"
    assert reasons[6] == "interval_minutes not a positive whole number"
    assert r.accepted["interval_minutes"].dtype == np.int64


# --- reconciliation property -----------------------------------------------------------------

_garbage = st.one_of(
    st.just(""),
    st.just("?"),
    st.text(max_size=6),
    st.sampled_from(["2024-01-01 10:00", "2024-03-31 02:30", "2023-12-31", "31/12/2024", "NaT"]),
    st.datetimes(
        min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
    ).map(lambda d: d.isoformat(sep=" ")),
)
_ids = st.one_of(st.sampled_from(["a", "b", "c", "", " "]), st.text(max_size=3))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(_ids, _garbage, _garbage, _garbage, st.sampled_from(["P1", "", "x"])),
        max_size=25,
    ),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)
def test_reconciliation_on_garbage(rows: list[tuple[str, ...]], tz: str) -> None:
    df = pd.DataFrame(
        rows, columns=["ticket_id", "created_at", "first_response_at", "resolved_at", "priority"]
    )
    r = validate_tickets(df, "g.csv", source_tz=tz)
    assert r.n_accepted + r.n_quarantined == len(df)
    q = r.quarantined
    assert q["reason"].str.len().gt(0).all() and q["field"].str.len().gt(0).all()
    assert q["row"].is_unique and q["row"].between(1, len(df)).all()
    acc = r.accepted
    assert acc["ticket_id"].is_unique and acc["created_at"].notna().all()
    assert (acc["priority"].str.strip() != "").all()
    for col in ("first_response_at", "resolved_at"):
        assert not (acc[col] < acc["created_at"]).any()
    # accepted rows come back in input order and none is both accepted and quarantined
    kept = sorted(set(range(1, len(df) + 1)) - set(q["row"]))
    assert list(acc["ticket_id"]) == [str(df["ticket_id"].iloc[i - 1]).strip() for i in kept]


def test_implausible_numbers_are_quarantined_with_the_limit() -> None:
    df = pd.DataFrame(
        {
            "ticket_id": ["a", "b", "c", "d", "e"],
            "created_at": ["2024-01-01 10:00"] * 5,
            "resolved_at": ["2024-01-02", "2064-01-02", "", "", ""],
            "priority": ["P1"] * 5,
            "handle_seconds": ["600", "600", "1e300", "-5", "inf"],
            "touches": ["3", "", "2", "1", "2e9"],
        }
    )
    r = validate_tickets(df, "t.csv")
    assert list(r.accepted["ticket_id"]) == ["a"]
    q = r.quarantined.set_index("ticket_id")
    assert (
        q.loc["b", "reason"] == "resolved_at more than 10 years after created_at (plausible limit)"
    )
    assert q.loc["c", "reason"] == (
        "handle_seconds over the plausible limit 315,576,000 (10 years in seconds)"
    )
    assert q.loc["d", "reason"] == "handle_seconds below the plausible minimum 0"
    assert q.loc["e", "field"] == "handle_seconds; touches"
    assert "touches over the plausible limit 1,000,000,000 (a count)" in q.loc["e", "reason"]


def test_implausible_staffing_is_quarantined() -> None:
    df = pd.DataFrame(
        {
            "interval_start": ["2024-01-01 10:00", "2024-01-01 10:30", "2024-01-01 11:00"],
            "interval_minutes": ["30", "30", "20160"],
            "agents": ["3", "1e12", "2"],
        }
    )
    r = validate_staffing(df, "s.csv")
    assert r.n_accepted == 1
    reasons = list(r.quarantined["reason"])
    assert reasons == [
        "agents over the plausible limit 1,000,000 (agents on duty at once)",
        "interval_minutes over the plausible limit 10,080 (one week in minutes)",
    ]
