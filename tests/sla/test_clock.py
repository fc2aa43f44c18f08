"""SLA clocks: hand-computed examples, input errors, and properties vs the reference."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slarisk.errors import InputError
from slarisk.sla.clock import (
    CLOCK_COLUMNS,
    calendar_tables,
    clocks_at,
    compute_clocks,
    pause_intervals,
)
from slarisk.sla.policy import METRICS, Policy, load_policy, policy_from_dict
from tests.sla import reference as ref
from tests.sla.strategies import (
    PAUSE_STATUSES,
    STATUSES,
    TIMEZONES,
    base_instants,
    calendar_specs,
    ref_calendar,
    weekly_open_minutes,
)

#: property-test examples (raise it for a deeper local run, e.g. 2000).
EXAMPLES = int(os.environ.get("SLARISK_SLA_EXAMPLES", "40"))
ROOT = Path(__file__).resolve().parents[2]
UTC = "UTC"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policies" / "default.yaml")


def ts(s: str | None) -> pd.Timestamp:
    return pd.Timestamp(s, tz="Europe/London").tz_convert(UTC) if s else pd.NaT


def tickets(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"first_response_at": None, "resolved_at": None, "tier": "bronze", "region": "US"}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("created_at", "first_response_at", "resolved_at"):
        df[col] = pd.to_datetime(df[col].map(ts), utc=True)
    return df


def clock_of(out: pd.DataFrame, ticket: str, metric: str) -> pd.Series:
    return out[(out.ticket_id == ticket) & (out.metric == metric)].iloc[0]


def test_columns_order_and_extra_columns(policy: Policy) -> None:
    df = tickets(
        {"ticket_id": "a", "created_at": "2026-11-24 10:00", "priority": "P3", "source": "x"},
        {"ticket_id": "b", "created_at": "2026-11-24 11:00", "priority": "P4", "tier": "unknown"},
    )
    out = compute_clocks(df, policy, now="2026-11-24T12:00:00Z")
    assert list(out.columns[: len(CLOCK_COLUMNS)]) == list(CLOCK_COLUMNS)
    assert {"created_at", "priority", "region", "source", "tier"} <= set(out.columns)
    assert out.ticket_id.tolist() == ["a", "a", "b", "b"]
    assert out.metric.tolist() == ["first_response", "resolution"] * 2
    assert out.tier.tolist() == ["bronze"] * 4  # default_tier applied
    assert str(out.due_at.dtype) == "datetime64[ns, UTC]"
    assert out.alert_level.dtype == np.int64


def test_hand_computed_business_hours_clock(policy: Policy) -> None:
    # silver P2: first response 2 business hours, resolution 16, Mon-Fri 9-17 London
    df = tickets(
        {
            "ticket_id": "t",
            "created_at": "2026-11-27 16:00",  # Friday
            "first_response_at": "2026-11-30 10:30",  # Monday
            "priority": "P2",
            "tier": "silver",
        }
    )
    out = compute_clocks(df, policy, now=ts("2026-11-30 12:00"))
    fr, res = clock_of(out, "t", "first_response"), clock_of(out, "t", "resolution")
    assert fr.due_at == ts("2026-11-30 10:00")
    assert fr.elapsed_seconds == 2.5 * 3600 and fr.breached and not fr.is_open
    assert fr.time_left_seconds == -1800 and fr.alert_level == 0
    assert fr.stopped_at == ts("2026-11-30 10:30")
    assert res.is_open and res.elapsed_seconds == 4 * 3600 and not res.breached
    assert res.due_at == ts("2026-12-01 16:00")  # 1 h Fri + 8 h Mon + 7 h Tue
    assert res.elapsed_fraction == 0.25 and res.calendar == "business"


def test_pauses_and_projection_of_a_running_pause(policy: Policy) -> None:
    df = tickets(
        {"ticket_id": "p", "created_at": "2026-11-24 09:00", "priority": "P3"},  # Tuesday
        {"ticket_id": "q", "created_at": "2026-11-24 09:00", "priority": "P3"},
    )
    ev = pd.DataFrame(
        {
            "ticket_id": ["p", "p", "q", "zzz"],
            "at": [
                ts("2026-11-24 10:00"),
                ts("2026-11-24 12:00"),
                ts("2026-11-24 11:00"),
                ts("2026-11-24 09:30"),  # of an unknown ticket: ignored
            ],
            "status": ["pending", "open", "on_hold", "pending"],
        }
    )
    out = compute_clocks(df, policy, ev, now=ts("2026-11-24 13:00"))
    p, q = clock_of(out, "p", "first_response"), clock_of(out, "q", "first_response")
    # bronze P3 first response: 8 business hours
    assert p.paused_seconds == 2 * 3600 and p.elapsed_seconds == 2 * 3600
    assert p.due_at == ts("2026-11-25 11:00")  # 8 h + 2 h paused
    # q paused since 11:00 and still paused at 13:00: due as if it resumed at 13:00
    assert q.paused_seconds == 2 * 3600 and q.elapsed_seconds == 2 * 3600
    assert q.due_at == ts("2026-11-25 11:00")


def test_alert_levels_for_open_tickets_only(policy: Policy) -> None:
    # P1 first response is 30 minutes on the 24x7 calendar for bronze
    rows = [
        {"ticket_id": f"m{i}", "created_at": "2026-11-24 12:00", "priority": "P1"} for i in range(5)
    ]
    df = tickets(*rows)
    now = ts("2026-11-24 12:30")
    df["created_at"] = now - pd.to_timedelta([10, 24, 27, 30, 31], unit="min")
    df.loc[4, "first_response_at"] = now
    out = compute_clocks(df, policy, now=now)
    fr = out[out.metric == "first_response"]
    assert fr.alert_level.tolist() == [0, 80, 90, 100, 0]
    assert fr.breached.tolist() == [False, False, False, False, True]
    assert fr.calendar.unique().tolist() == ["24x7"]


def test_first_response_falls_back_to_resolution(policy: Policy) -> None:
    df = tickets(
        {
            "ticket_id": "r",
            "created_at": "2026-11-24 09:00",
            "resolved_at": "2026-11-24 09:20",
            "priority": "P1",
        }
    )
    out = compute_clocks(df, policy, now=ts("2026-11-25 00:00"))
    fr = clock_of(out, "r", "first_response")
    assert (
        not fr.is_open and fr.elapsed_seconds == 20 * 60 and fr.stopped_at == ts("2026-11-24 09:20")
    )


def test_exception_windows(policy: Policy) -> None:
    df = tickets(
        # EX-2026-002: P3/P4 silver/bronze created 23-30 Nov 2026 (UTC)
        {"ticket_id": "in", "created_at": "2026-11-25 10:00", "priority": "P3"},
        {"ticket_id": "gold", "created_at": "2026-11-25 10:00", "priority": "P3", "tier": "gold"},
        {"ticket_id": "p1", "created_at": "2026-11-25 10:00", "priority": "P1"},
        {"ticket_id": "late", "created_at": "2026-11-30 10:00", "priority": "P3"},
        # EX-2026-001: region EMEA, 2-4 Mar 2026 London time
        {"ticket_id": "emea", "created_at": "2026-03-03 10:00", "priority": "P1", "region": "EMEA"},
    )
    out = compute_clocks(df, policy, now=ts("2026-12-01 10:00"))
    by = out.groupby("ticket_id").excluded_by.first()
    assert by["in"] == "EX-2026-002" and by["emea"] == "EX-2026-001"
    assert by[["gold", "p1", "late"]].isna().all()


def test_unknown_priority_names_field_and_rows(policy: Policy) -> None:
    df = tickets(
        {"ticket_id": "ok", "created_at": "2026-11-24 09:00", "priority": "P1"},
        {"ticket_id": "bad", "created_at": "2026-11-24 09:00", "priority": "P9"},
    )
    with pytest.raises(InputError, match=r"^priority: unknown value 'P9'.*row 2 \(ticket bad\)"):
        compute_clocks(df, policy, now=ts("2026-11-25 00:00"))
    df.loc[1, "priority"], df.loc[0, "tier"] = "P1", "platinum"
    with pytest.raises(InputError, match=r"^tier: .*'platinum'.*row 1 \(ticket ok\)"):
        compute_clocks(df, policy, now=ts("2026-11-25 00:00"))


def test_bad_inputs_raise_input_error(policy: Policy) -> None:
    df = tickets({"ticket_id": "a", "created_at": "2026-11-24 09:00", "priority": "P1"})
    with pytest.raises(InputError, match="created_at"):
        compute_clocks(df.drop(columns="created_at"), policy)
    bad = df.astype({"created_at": object})
    bad.loc[0, "created_at"] = "yesterday-ish"
    with pytest.raises(InputError, match=r"created_at: not a timestamp.*row 1"):
        compute_clocks(bad, policy)
    with pytest.raises(InputError, match="duplicate ticket ids"):
        compute_clocks(pd.concat([df, df]), policy)


def test_string_timestamps_and_empty_frame(policy: Policy) -> None:
    df = pd.DataFrame(
        {"ticket_id": ["s"], "created_at": ["2026-11-24T09:00:00Z"], "priority": ["P1"]}
    )
    out = compute_clocks(df, policy, now="2026-11-24T09:06:00Z")
    assert out.elapsed_seconds.tolist() == [360.0, 360.0]
    empty = compute_clocks(df.iloc[:0], policy, now="2026-11-24T09:06:00Z")
    assert len(empty) == 0 and list(empty.columns[:3]) == list(CLOCK_COLUMNS[:3])


# --- property: compute_clocks == the per-ticket, per-minute reference ------------------------
@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    tz = draw(st.sampled_from(TIMEZONES), label="tz")
    specs = {"c1": draw(calendar_specs(), label="c1"), "c2": draw(calendar_specs(), label="c2")}
    targets = []
    for prio, cal in (("P1", "c1"), ("P2", "c2")):
        cap = max(30, min(2 * weekly_open_minutes(specs[cal]), 16 * 60))
        for metric in ("first_response", "resolution"):
            minutes = draw(st.integers(1, cap), label=f"{prio} {metric} minutes")
            targets.append(
                {"priority": prio, "metric": metric, "hours": minutes / 60, "calendar": cal}
            )
    thresholds = draw(st.sampled_from([[0.8, 0.9, 1.0], [0.5, 1.0], [0.75]]))
    base = draw(base_instants(tz), label="base")
    n = draw(st.integers(1, 4), label="n tickets")
    rows, events = [], []
    for i in range(n):
        created = base + draw(st.integers(0, 86400))
        fr = draw(st.none() | st.integers(0, 3 * 86400).map(lambda d, c=created: c + d))
        res = draw(st.none() | st.integers(0, 4 * 86400).map(lambda d, c=created: c + d))
        rows.append(
            {
                "ticket_id": f"T{i}",
                "created_at": created,
                "first_response_at": fr,
                "resolved_at": res,
                "priority": draw(st.sampled_from(["P1", "P2"])),
            }
        )
        for _ in range(draw(st.integers(0, 4))):
            at = created + draw(st.integers(-3600, 3 * 86400))
            events.append((f"T{i}", at, draw(st.sampled_from(STATUSES))))
    now = base + draw(st.integers(0, 4 * 86400), label="now - base")
    return {
        "tz": tz,
        "specs": specs,
        "targets": targets,
        "thresholds": thresholds,
        "rows": rows,
        "events": events,
        "now": now,
    }


def _prop_policy(sc: dict[str, Any]) -> Policy:
    return policy_from_dict(
        {
            "name": "prop",
            "timezone": sc["tz"],
            "calendars": sc["specs"],
            "priorities": ["P1", "P2"],
            "tiers": ["t"],
            "default_tier": "t",
            "targets": sc["targets"],
            "pause_statuses": PAUSE_STATUSES,
            "warning_thresholds": sc["thresholds"],
        }
    )


def _to_utc(seconds: list[int | None]) -> pd.Series:
    return pd.Series(
        pd.to_datetime([s * 10**9 if s is not None else None for s in seconds], utc=True)
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sc=scenarios())
def test_matches_reference(sc: dict[str, Any]) -> None:
    pol = _prop_policy(sc)
    rows = sc["rows"]
    df = pd.DataFrame(
        {
            "ticket_id": [r["ticket_id"] for r in rows],
            "created_at": _to_utc([r["created_at"] for r in rows]),
            "first_response_at": _to_utc([r["first_response_at"] for r in rows]),
            "resolved_at": _to_utc([r["resolved_at"] for r in rows]),
            "priority": [r["priority"] for r in rows],
        }
    )
    ev = pd.DataFrame(sc["events"], columns=["ticket_id", "at", "status"])
    ev["at"] = _to_utc(ev["at"].tolist())
    out = compute_clocks(df, pol, ev, now=pd.Timestamp(sc["now"] * 10**9, tz=UTC))

    cals = {name: ref_calendar(spec, sc["tz"]) for name, spec in sc["specs"].items()}
    for r in rows:
        evs = [(at, status) for tid, at, status in sc["events"] if tid == r["ticket_id"]]
        pauses = ref.pause_intervals(evs, set(PAUSE_STATUSES))
        for metric in ("first_response", "resolution"):
            target = pol.target_for("t", r["priority"], metric)
            stop = r["resolved_at"] if metric == "resolution" else r["first_response_at"]
            if metric == "first_response" and stop is None:
                stop = r["resolved_at"]
            want = ref.reference_clock(
                cals[target.calendar],
                round(target.seconds),
                r["created_at"],
                stop,
                sc["now"],
                pauses,
                sc["thresholds"],
            )
            got = clock_of(out, r["ticket_id"], metric)
            where = f"{r['ticket_id']} {metric}: {want} in {sc}"
            assert got.elapsed_seconds == want["elapsed_seconds"], where
            assert got.paused_seconds == want["paused_seconds"], where
            assert got.due_at.value == round(want["due_at"] * 10**9), where
            assert got.is_open == want["is_open"], where
            assert got.breached == want["breached"], where
            assert got.time_left_seconds == want["time_left_seconds"], where
            assert got.alert_level == want["alert_level"], where


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sc=scenarios(), before=st.integers(0, 400 * 86400), after=st.integers(0, 400 * 86400))
def test_array_clocks_at_now_match_reference(sc: dict[str, Any], before: int, after: int) -> None:
    """The array API scoring uses (pause_intervals, calendar_tables, clocks_at) on the
    running clocks at ``now``, with tables reaching further either side than needed (as
    scoring's cached tables do), equals the per-minute reference."""
    pol = _prop_policy(sc)
    rows, now = sc["rows"], sc["now"]
    index = {r["ticket_id"]: i for i, r in enumerate(rows)}
    ev_tix = np.asarray([index[tid] for tid, _, _ in sc["events"]], dtype=np.intp)
    ev_at = np.asarray([at * 10**9 for _, at, _ in sc["events"]], dtype=np.int64)
    is_pause = np.asarray([st in PAUSE_STATUSES for _, _, st in sc["events"]], dtype=bool)
    pauses = pause_intervals(ev_tix, ev_at, is_pause)
    created = np.asarray([r["created_at"] * 10**9 for r in rows], dtype=np.int64)
    end = np.broadcast_to(np.maximum(now * 10**9, created)[:, None], (len(rows), 2))
    names = sorted(pol.calendars)
    targets = [[pol.target_for("t", r["priority"], m) for m in METRICS] for r in rows]
    budget = np.asarray([[round(x.seconds * 10**9) for x in tr] for tr in targets], np.int64)
    cal = np.asarray([[names.index(x.calendar) for x in tr] for tr in targets], np.intp)
    lo, hi = int(created.min()) - before * 10**9, int(end.max()) + after * 10**9
    tables = calendar_tables(pol, lo, hi)
    elapsed, paused, due, nominal = clocks_at(tables, cal, created, end, budget, pauses, True)
    no_pause = clocks_at(
        tables,
        cal,
        created,
        end,
        budget,
        pause_intervals(ev_tix, ev_at, np.zeros_like(is_pause)),
        True,
    )
    np.testing.assert_array_equal(nominal, no_pause[2])
    np.testing.assert_array_equal(no_pause[2], no_pause[3])

    cals = {name: ref_calendar(spec, sc["tz"]) for name, spec in sc["specs"].items()}
    for i, r in enumerate(rows):
        evs = [(at, status) for tid, at, status in sc["events"] if tid == r["ticket_id"]]
        ref_pauses = ref.pause_intervals(evs, set(PAUSE_STATUSES))
        for k, x in enumerate(targets[i]):
            want = ref.reference_clock(
                cals[x.calendar], round(x.seconds), r["created_at"], None, now, ref_pauses,
                sc["thresholds"],
            )  # fmt: skip
            where = f"{r['ticket_id']} {METRICS[k]}: {want} in {sc}"
            assert elapsed[i, k] == want["elapsed_seconds"] * 10**9, where
            assert paused[i, k] == want["paused_seconds"] * 10**9, where
            assert due[i, k] == round(want["due_at"] * 10**9), where


def test_bad_now_and_missing_tier_column(policy: Policy) -> None:
    df = pd.DataFrame(
        {"ticket_id": ["a"], "created_at": [ts("2026-11-24 09:00")], "priority": ["P3"]}
    )
    with pytest.raises(InputError, match=r"^now: not a timestamp"):
        compute_clocks(df, policy, now="half past never")
    out = compute_clocks(df, policy, now=ts("2026-11-24 10:00"))
    assert out.tier.tolist() == ["bronze", "bronze"]  # no tier column: policy.default_tier
    strict = policy.model_copy(update={"default_tier": None})
    with pytest.raises(InputError, match=r"^tier: unknown value None"):
        compute_clocks(df, strict, now=ts("2026-11-24 10:00"))


def test_events_need_their_columns(policy: Policy) -> None:
    df = tickets({"ticket_id": "a", "created_at": "2026-11-24 09:00", "priority": "P3"})
    ev = pd.DataFrame({"ticket_id": ["a"], "when": [ts("2026-11-24 10:00")], "status": ["x"]})
    with pytest.raises(InputError, match=r"^at: required column of status events"):
        compute_clocks(df, policy, ev, now=ts("2026-11-24 12:00"))
