"""Request -> arrays and arrays -> response pieces of the scoring route, against pandas/numpy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from slarisk.service.scoring import _ns_list, iso_seconds

AWARE = st.builds(
    lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)),
    st.integers(-14 * 60, 14 * 60),
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), AWARE), max_size=30))
def test_timestamps_to_ns_as_pandas(values: list[datetime | None]) -> None:
    expected = [pd.NaT.value if v is None else pd.Timestamp(v).as_unit("ns").value for v in values]
    assert _ns_list(values).tolist() == expected


def test_timestamps_from_pydantic_match_the_offsets() -> None:
    from slarisk.service.schemas import TicketIn

    t = TicketIn.model_validate_json(
        b'{"ticket_id":"a","priority":"P1","created_at":"2026-03-29T01:30:00.123456+05:30"}'
    )
    (ns,) = _ns_list([t.created_at]).tolist()
    assert ns == pd.Timestamp("2026-03-28T20:00:00.123456Z").value


@settings(max_examples=300, deadline=None)
@given(
    ns=st.lists(
        st.one_of(
            st.integers(pd.Timestamp.min.value + 1, pd.Timestamp.max.value),
            st.integers(-(10**12), 10**12),  # around the epoch, both sides
            st.just(pd.NaT.value),
        ),
        max_size=40,
    )
)
def test_iso_seconds_as_numpy(ns: list[int]) -> None:
    arr = np.asarray(ns, dtype=np.int64)
    text = np.datetime_as_string(arr.view("datetime64[ns]"), unit="s").tolist()
    assert iso_seconds(arr) == [None if v == "NaT" else v + "Z" for v in text]


def test_iso_seconds_compiled_path() -> None:
    at = pd.date_range("1999-12-31 23:59:59", periods=500, freq="37h17min3s", tz="UTC")
    ns = at.as_unit("ns").asi8 + 999_999_999  # the last nanosecond of each second
    assert iso_seconds(ns) == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in at]
    assert iso_seconds(np.zeros(0, np.int64)) == []
    assert datetime(2000, 2, 29, tzinfo=UTC).date().isoformat() in "".join(iso_seconds(ns))


# --- the fast body reader: None, or exactly what pydantic + the policy checks give ----------
def _pydantic_reading(raw: bytes, policy: object, now: datetime) -> object | None:
    """(now, arrays) through the pydantic model and check_against_policy; None if refused."""
    from fastapi import HTTPException
    from pydantic import ValidationError

    from slarisk.service.schemas import ScoreRequest
    from slarisk.service.scoring import check_against_policy, request_arrays

    try:
        body = ScoreRequest.model_validate_json(raw)
        check_against_policy(body, policy, body.now or now)
    except (ValidationError, HTTPException):
        return None
    if body.events:
        return None
    return body.now, request_arrays(body), len(body.tickets)


TEXT = st.one_of(
    st.sampled_from(["P1", "P2", "P3", "gold", "silver", "unknown", "email", "x"]),
    st.sampled_from(["", " P1", "P1 ", "P\u00a0", "\u2003", "a" * 101, "a" * 201, "é" * 100]),
    st.text(max_size=3),
    st.integers(-2, 2),
    st.none(),
    st.booleans(),
)
TIME_TEXT = st.one_of(
    st.sampled_from(
        [
            "2026-10-26T09:00:00Z",
            "2026-10-26T09:00:00.5Z",
            "2026-10-26T09:00:00.123456+05:30",
            "2026-10-26T12:00:00-01:00",
            "2026-10-27T09:00:00Z",
            "2026-02-30T09:00:00Z",
            "2026-10-26T24:00:00Z",
            "2026-10-26T09:00:00",
            "2026-10-26 09:00:00Z",
            "2026-10-26T09:00:00.1234567Z",
            "2026-10-26T09:00:00+25:00",
            "1500-01-01T00:00:00Z",
            "2026-10-26",
            "1761469200",
        ]
    ),
    st.datetimes(min_value=datetime(2026, 10, 20), max_value=datetime(2026, 10, 26, 11)).map(
        lambda d: d.isoformat() + "Z"
    ),
    st.integers(0, 2_000_000_000),
    st.none(),
)
KEYS = ["ticket_id", "created_at", "first_response_at", "priority", "tier", "channel", "extra"]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    import json

    n = 0 if draw(st.integers(0, 20)) == 13 else draw(st.integers(1, 8))
    mutate = draw(st.booleans())  # else only valid optional fields are set
    tickets = []
    for i in range(n):
        t: dict[str, object] = {
            "ticket_id": f"T{i}",
            "created_at": f"2026-10-26T0{i % 10}:00:00Z",
            "priority": "P2",
        }
        if not mutate:
            t["tier"] = draw(st.sampled_from(["gold", "silver", "unknown"]))
            if draw(st.booleans()):
                t["first_response_at"] = f"2026-10-26T1{draw(st.integers(0, 1))}:00:00Z"
            continue
        for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
            key = draw(st.sampled_from(KEYS))
            if key in ("created_at", "first_response_at"):
                t[key] = draw(TIME_TEXT)
            elif draw(st.booleans()):
                t.pop(key, None)
            else:
                t[key] = draw(TEXT)
        tickets.append(t)
    body: dict[str, object] = {"tickets": tickets}
    if draw(st.booleans()):
        body["now"] = draw(st.sampled_from(["2026-10-26T12:00:00Z", "2026-10-26T13:00:00+01:00"]))
    elif draw(st.booleans()):
        body["now"] = draw(TIME_TEXT)
    if draw(st.booleans()):
        body["staffing"] = draw(
            st.one_of(
                st.none(),
                st.just([]),
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "interval_start": st.one_of(st.just("2026-10-26T12:00:00Z"), TIME_TEXT),
                            "interval_minutes": st.one_of(
                                st.sampled_from([60, 0, 1441, 30.0, True]), TEXT
                            ),
                            "agents": st.one_of(
                                st.sampled_from([3, 2.5, -1, 100_001, True, "3"]),
                                st.floats(0, 10),
                            ),
                        },
                        optional={"team": TEXT},
                    ),
                    max_size=3,
                ),
                st.integers(0, 1),
            )
        )
    if draw(st.integers(0, 6)) == 5:
        body["events"] = draw(st.sampled_from([None, [], {}, 0]))
    if draw(st.integers(0, 20)) == 7:
        body["unknown"] = 1
    return json.dumps(body).encode()


@settings(max_examples=400, deadline=None)
@given(raw=bodies())
def test_fast_body_reader_reads_what_pydantic_accepts(raw: bytes) -> None:
    from slarisk.service.scoring import read_score_body
    from tests.service.model_fixture import test_policy

    policy = test_policy()
    clock = datetime(2026, 10, 26, 12, tzinfo=UTC)
    fast = read_score_body(raw, policy, clock)
    slow = _pydantic_reading(raw, policy, clock)
    if fast is None:
        return  # the route takes the pydantic path: always safe
    assert slow is not None, "the fast reader took a body pydantic or the policy refuses"
    now, (tickets, staffing), n = slow  # type: ignore[misc]
    assert fast.now == now and fast.n_tickets == n
    for name in ("ticket_id", "priority"):
        assert list(getattr(fast.tickets, name)) == list(getattr(tickets, name))
    for name in ("created_ns", "first_response_ns", "resolved_ns"):
        assert getattr(fast.tickets, name).tolist() == getattr(tickets, name).tolist()
    for col, values in fast.tickets.segments.items():
        assert list(values) == list(tickets.segments[col])
    if staffing is None:
        assert fast.staffing is None
    else:
        assert fast.staffing.start_ns.tolist() == staffing.start_ns.tolist()
        assert fast.staffing.minutes.tolist() == staffing.minutes.tolist()
        assert list(fast.staffing.team) == list(staffing.team)
        assert fast.staffing.agents.tolist() == staffing.agents.tolist()


def test_fast_body_reader_takes_the_common_body() -> None:
    import json

    from slarisk.service.scoring import read_score_body
    from tests.service.model_fixture import test_policy

    body = {
        "now": "2026-10-26T12:00:00Z",
        "tickets": [
            {"ticket_id": "A", "created_at": "2026-10-26T09:00:00Z", "priority": "P1"},
            {
                "ticket_id": "B",
                "created_at": "2026-10-26T10:00:00.25+01:00",
                "first_response_at": "2026-10-26T11:00:00Z",
                "priority": "P2",
                "tier": "gold",
            },
        ],
        "staffing": [
            {"interval_start": "2026-10-26T12:00:00Z", "interval_minutes": 60, "agents": 3}
        ],
    }
    fast = read_score_body(json.dumps(body).encode(), test_policy(), datetime.now(UTC))
    assert fast is not None and fast.n_tickets == 2
    assert fast.tickets.created_ns.tolist() == [
        pd.Timestamp("2026-10-26T09:00:00Z").value,
        pd.Timestamp("2026-10-26T09:00:00.25Z").value,
    ]
    assert fast.tickets.segments["tier"] == ["unknown", "gold"]
