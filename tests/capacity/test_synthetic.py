"""Synthetic history: canonical outputs, reproducibility, and breaches that depend on staffing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from slarisk.capacity.synthetic import Imperfections, generate_history, write_history
from slarisk.cli import app
from slarisk.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "simulations" / "baseline.yaml"
POLICY = ROOT / "policies" / "default.yaml"

#: no imperfections at all (the planned roster, the planned volume); the tests of how breaches
#: depend on staffing and workload switch the desk's recovery (overtime) off, so that only the
#: spoiled roster or the volume differs between the histories they compare. They run at the
#: scenario's own volume (the default history runs hotter, ``volume_multiplier`` 1.1)
PLANNED = 1.0
CLEAN = Imperfections(
    absence_rate=0.0,
    understaffed_days=0,
    spike_multiplier=1.0,
    growth=0.0,
    recovery_days=None,
    volume_multiplier=PLANNED,
)


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    """Two 3-week histories with the same seed: the planned roster and a spoiled one."""
    clean = generate_history(BASELINE, weeks=3, seed=11, imperfections=CLEAN)
    short = generate_history(
        BASELINE,
        weeks=3,
        seed=11,
        imperfections=Imperfections(
            absence_rate=0.05,
            understaffed_days=3,
            understaffed_cut=(0.6, 0.6),
            spike_multiplier=1.0,
            growth=0.0,
            recovery_days=None,
            volume_multiplier=PLANNED,
        ),
    )
    return clean, short


@pytest.fixture(scope="module")
def spiky():  # type: ignore[no-untyped-def]
    """The planned roster, but a 4-day holiday spike of 1.8x volume (same seed as `pair`)."""
    return generate_history(
        BASELINE,
        weeks=3,
        seed=11,
        imperfections=Imperfections(
            absence_rate=0.0,
            understaffed_days=0,
            spike_multiplier=1.8,
            spike_days=4,
            growth=0.0,
            recovery_days=None,
            volume_multiplier=PLANNED,
        ),
    )


@pytest.fixture(scope="module")
def history(pair):  # type: ignore[no-untyped-def]
    return pair[1]


def test_outputs_are_canonical(history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from slarisk.data.validate import validate_events, validate_staffing, validate_tickets

    h = history
    t = h.tickets
    assert t["ticket_id"].is_unique and len(t) > 3 * 1500
    assert (t["created_at"] < h.now).all()
    assert (
        t["first_response_at"].dropna() >= t.loc[t["first_response_at"].notna(), "created_at"]
    ).all()
    assert (t["resolved_at"].dropna() <= h.now).all()
    assert set(t["status"]) <= {"new", "open", "pending", "resolved", "abandoned"}
    # open snapshot = every ticket unresolved at the horizon, with its state
    assert set(h.open_tickets["ticket_id"]) == set(t.loc[t["resolved_at"].isna(), "ticket_id"])
    assert set(h.open_tickets["status"]) <= {"new", "open", "pending"}
    assert (h.open_tickets["snapshot_at"] == h.now).all()
    # staffing as on duty never exceeds the plan; the understaffed days are visibly short
    s = h.staffing
    assert (s["agents"] <= s["planned_agents"]).all()
    day = s["interval_start"].dt.tz_convert(h.scenario.timezone).dt.strftime("%Y-%m-%d")
    ratio = s.groupby(day)["agents"].sum() / s.groupby(day)["planned_agents"].sum()
    assert len(h.understaffed_dates) >= 1
    assert ratio[h.understaffed_dates].max() <= 0.7
    paths = write_history(h, tmp_path)
    for kind, fn in (("tickets", validate_tickets), ("events", validate_events)):
        res = fn(pd.read_parquet(paths[kind]), kind)
        assert res.n_quarantined == 0, res.quarantined.head()
    res = validate_staffing(pd.read_parquet(paths["staffing"]), "staffing")
    assert res.n_quarantined == 0
    assert (tmp_path / "manifest.json").exists()


def test_same_seed_same_history(pair) -> None:  # type: ignore[no-untyped-def]
    a = generate_history(BASELINE, weeks=1, seed=3)
    b = generate_history(BASELINE, weeks=1, seed=3)
    pd.testing.assert_frame_equal(a.tickets, b.tickets)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.staffing, b.staffing)
    # another seed, another history (seed 11, first week)
    other = pair[0].tickets
    first = other[other["created_at"] < a.now]
    assert not first["created_at"].reset_index(drop=True).equals(a.tickets["created_at"])


def _breach_by_ticket(h) -> pd.Series:  # type: ignore[no-untyped-def]
    from slarisk.sla.clock import compute_clocks
    from slarisk.sla.policy import load_policy

    clocks = compute_clocks(h.tickets, load_policy(POLICY), h.events, now=h.now)
    return clocks.groupby("ticket_id")["breached"].any()


def test_breaches_depend_on_staffing(pair) -> None:  # type: ignore[no-untyped-def]
    """Common random numbers: same seed, same arrivals and work; only the roster differs."""
    clean, short = pair
    assert len(clean.tickets) == len(short.tickets)  # same arrivals
    b_clean, b_short = _breach_by_ticket(clean), _breach_by_ticket(short)
    assert b_short.mean() > 3 * b_clean.mean()
    assert b_short.sum() - b_clean.sum() >= 50
    # tickets created on an understaffed day (or the next day) breach more than the others
    tz = short.scenario.timezone
    t = short.tickets.set_index("ticket_id")
    day = t["created_at"].dt.tz_convert(tz).dt.normalize().dt.strftime("%Y-%m-%d")
    hit = set(short.understaffed_dates) | {
        str((pd.Timestamp(d) + pd.Timedelta(days=1)).date()) for d in short.understaffed_dates
    }
    near = day.isin(hit)
    br = b_short.reindex(t.index)
    assert br[near].mean() > 3 * br[~near].mean()


def test_breaches_rise_with_workload(pair, spiky) -> None:  # type: ignore[no-untyped-def]
    """A volume spike on the same roster: more breaches, concentrated on the spike days and the
    backlog they leave behind."""
    clean = pair[0]
    assert len(spiky.tickets) > len(clean.tickets)
    b_clean, b_spiky = _breach_by_ticket(clean), _breach_by_ticket(spiky)
    assert b_spiky.mean() > 2 * b_clean.mean() + 0.01
    assert spiky.spike is not None
    t = spiky.tickets.set_index("ticket_id")
    s0, s1 = spiky.spike
    during = (t["created_at"] >= s0) & (t["created_at"] < s1 + pd.Timedelta(days=1))
    br = b_spiky.reindex(t.index)
    assert br[during].mean() > 3 * br[~during].mean()


def test_cli_generate(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "hist"
    r = runner.invoke(
        app, ["data", "generate", "--scenario", str(BASELINE), "--weeks", "1", "--seed", "2",
              "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    for name in ("tickets", "events", "staffing", "open_tickets"):
        assert (out / f"{name}.parquet").exists()
    r = runner.invoke(app, ["data", "generate", "--scenario", str(tmp_path / "no.yaml"),
                            "--out", str(out)])  # fmt: skip
    assert r.exit_code == 2 and "no.yaml" in r.output and "Traceback" not in r.output
    with pytest.raises(InputError, match="weeks"):
        generate_history(BASELINE, weeks=0)


def test_daily_volume_noise_spreads_daily_totals() -> None:
    """Busy and quiet days: daily totals vary more than Poisson noise alone allows."""
    calm = Imperfections(
        absence_rate=0.0, understaffed_days=0, spike_multiplier=1.0, daily_volume_sd=0.0
    )
    flat = generate_history(BASELINE, weeks=2, seed=5, imperfections=calm)
    noisy_imp = Imperfections(
        absence_rate=0.0, understaffed_days=0, spike_multiplier=1.0, daily_volume_sd=0.3
    )
    noisy = generate_history(BASELINE, weeks=2, seed=5, imperfections=noisy_imp)

    def weekday_cv(h) -> float:  # type: ignore[no-untyped-def]
        per_day = h.tickets.set_index("created_at").resample("D").size()
        per_day = per_day[per_day.index.day_of_week < 5]  # weekdays share one profile
        return float(per_day.std() / per_day.mean())

    assert weekday_cv(noisy) > weekday_cv(flat) + 0.1
    with pytest.raises(InputError):
        Imperfections(daily_volume_sd=-0.1)


def test_desk_recovers_from_a_spike_with_overtime(spiky) -> None:  # type: ignore[no-untyped-def]
    """Same spike, same seed, recovery on: the e-mail team books overtime and P4 first
    responses are back to about a day's wait a few days after the spike, instead of starving."""
    imp = Imperfections(
        absence_rate=0.0,
        understaffed_days=0,
        spike_multiplier=1.8,
        spike_days=4,
        growth=0.0,
        volume_multiplier=PLANNED,
    )
    rec = generate_history(BASELINE, weeks=3, seed=11, imperfections=imp)
    assert len(rec.tickets) == len(spiky.tickets)  # same arrivals
    ot = rec.overtime_agent_hours()
    assert ot["email"] > 50 and ot["voice"] == 0  # only the team with a backlog
    s = rec.staffing
    assert (s["overtime_agents"] >= 0).all() and (s["agents"] <= s["planned_agents"]).all()
    assert spiky.overtime_agent_hours().sum() == 0

    def late_p4(h) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        t = h.tickets[h.tickets["priority"] == "P4"]
        t = t[t["created_at"] >= h.spike[1] + pd.Timedelta(days=3)]
        wait = (t["first_response_at"] - t["created_at"]).dt.total_seconds() / 3600
        return float(wait.median()), float(t["first_response_at"].isna().mean())

    wait_rec, open_rec = late_p4(rec)
    wait_no, open_no = late_p4(spiky)
    assert wait_rec < 0.5 * wait_no and wait_rec < 36
    assert open_rec < 0.5 * open_no
    with pytest.raises(InputError):
        Imperfections(recovery_days=0)


def test_closures_follow_the_policy_calendars() -> None:
    """Dates every business calendar closes (Christmas, Boxing Day) are closures, staffed like
    a Sunday (here the first Sunday of the roster); 24 December, closed for business hours but
    open on gold's extended calendar, is not."""
    from slarisk.capacity.scenario import load_scenario
    from slarisk.capacity.synthetic import _roster_levels, close_roster, closure_dates
    from slarisk.sla.policy import load_policy

    start = pd.Timestamp("2026-12-21T00:00:00Z")
    dates = closure_dates(load_policy(POLICY), start, 14, "Europe/London")
    assert dates == ["2026-12-25", "2026-12-26", "2026-12-28", "2027-01-01"]
    planned = _roster_levels(load_scenario(BASELINE), start, 14, 30)
    closed = close_roster(planned, "Europe/London", dates)
    day = closed["interval_start"].dt.tz_convert("Europe/London").dt.strftime("%Y-%m-%d")
    per_day = closed.groupby([day, closed["team"]])["planned_agents"].sum().unstack()
    pd.testing.assert_series_equal(
        per_day.loc["2026-12-25"], per_day.loc["2026-12-27"], check_names=False
    )
    assert per_day.loc["2026-12-28", "email"] == 0 and per_day.loc["2026-12-24", "email"] > 0
    assert per_day.loc["2026-12-24"].equals(
        planned.groupby([day, planned["team"]])["planned_agents"].sum().unstack().loc["2026-12-24"]
    )
