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


def test_timestamps_sharing_one_zone_object() -> None:
    """pydantic gives every "Z" time the same tzinfo object: the wall-clock shortcut."""
    from slarisk.service.schemas import ScoreRequest

    body = ScoreRequest.model_validate_json(
        b'{"tickets": ['
        b'{"ticket_id":"a","priority":"P1","created_at":"2026-03-29T01:30:00Z"},'
        b'{"ticket_id":"b","priority":"P1","created_at":"1969-12-31T23:59:59.999999Z"},'
        b'{"ticket_id":"c","priority":"P1","created_at":"2026-10-25T01:30:00.5Z"}]}'
    )
    values = [t.created_at for t in body.tickets]
    assert values[0].tzinfo is values[1].tzinfo
    expected = [pd.Timestamp(v).as_unit("ns").value for v in values]
    assert _ns_list(values).tolist() == expected
    shifted = [v.astimezone(timezone(timedelta(hours=-3, minutes=-30))) for v in values]
    assert _ns_list(shifted).tolist() == expected  # three zone objects: the general way
    one = timezone(timedelta(hours=5, minutes=45))
    same = [v.astimezone(one) for v in values]
    assert _ns_list(same).tolist() == expected
