"""Erlang B/C/A formulas and staffing: published values, brute-force oracles, properties, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from typer.testing import CliRunner

from slarisk.capacity.erlang import (
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    offered_load,
    required_agents,
)
from slarisk.cli import app

# ---------------------------------------------------------- oracles (kept deliberately plain)


def erlang_b_recursion(n: int, a: float) -> float:
    """Textbook recursion B(0)=1, B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_a_ctmc(n: int, lam: float, aht: float, patience: float, t: float) -> dict[str, float]:
    """M/M/n+M by its truncated birth-death chain (states 0..n+J) and PASTA."""
    mu, theta = 1.0 / aht, 1.0 / patience
    x = n * mu / theta
    size = n + 4000
    logp = np.zeros(size)
    for k in range(1, size):
        death = min(k, n) * mu + max(k - n, 0) * theta
        logp[k] = logp[k - 1] + math.log(lam / death)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    queue = np.maximum(np.arange(size) - n, 0)
    p_wait = float(p[n:].sum())
    p_ab = float(theta * (queue * p).sum() / lam)
    j = np.arange(size - n)
    served_given_j = x / (x + j + 1)
    z = 1.0 - math.exp(-theta * t)
    sl = (1.0 - p_wait) + float(np.sum(p[n:] * served_given_j * special.betainc(j + 1, x + 1, z)))
    # E[W; served]: stages Exp(n mu + i theta), i = 1..j+1, conditional on being served
    hsum = np.cumsum(1.0 / (n * mu + (j + 1) * theta))
    w_served = float(np.sum(p[n:] * served_given_j * hsum))
    return {
        "p_wait": p_wait,
        "p_abandon": p_ab,
        "mean_wait": p_ab / theta,
        "service_level": sl,
        "asa": w_served / (1.0 - p_ab),
    }


# ------------------------------------------------------------------ published reference values


def test_classic_example_14_agents() -> None:
    """100 contacts / 30 min, AHT 180 s, 80 % within 20 s -> 14 agents, SL 0.888, occ 0.714."""
    res = required_agents(100, 180, 1800, target_sl=0.8, within=20)
    assert int(res.agents_raw) == 14
    assert round(float(res.metrics.service_level), 3) == 0.888
    assert round(float(res.metrics.occupancy), 3) == 0.714
    assert offered_load(100, 180, 1800) == pytest.approx(10.0)
    # with 30 % shrinkage: 14 / 0.7 = 20 scheduled agents (no float-noise 21)
    assert (
        int(required_agents(100, 180, 1800, target_sl=0.8, within=20, shrinkage=0.3).agents) == 20
    )


def test_classic_example_table() -> None:
    """The worked example's table (N = 11..14): P(wait) 68.21 %, SL 39.6 %, ASA 122.8 s at
    N = 11; SL 64.0 %, 79.6 %, 88.8 % at 12, 13, 14."""
    m = erlang_c_metrics(np.arange(11, 15), 10.0, 180.0, 20.0)
    assert np.round(m.p_wait[0], 4) == 0.6821
    assert np.allclose(np.round(m.service_level, 3), [0.390, 0.640, 0.796, 0.888])
    assert np.round(m.asa[0], 1) == 122.8
    assert np.allclose(np.round(m.occupancy, 3), [0.909, 0.833, 0.769, 0.714])


@pytest.mark.parametrize(
    ("n", "load"),
    # Erlang B table: load (Erlangs) offered to n trunks at 1 % blocking
    [(1, 0.0101), (5, 1.361), (10, 4.461), (20, 12.031), (30, 20.337), (50, 37.901), (100, 84.064)],
)
def test_erlang_b_table_one_percent(n: int, load: float) -> None:
    assert erlang_b(n, load) == pytest.approx(0.01, abs=5e-5)


def test_erlang_b_matches_recursion_and_extremes() -> None:
    ns = np.array([1, 2, 7, 15, 40, 120, 500, 10, 3])
    loads = np.array([0.5, 3.0, 7.0, 9.5, 45.0, 100.0, 480.0, 5000.0, 1e-3])
    expected = [erlang_b_recursion(int(n), float(a)) for n, a in zip(ns, loads, strict=True)]
    assert np.allclose(erlang_b(ns, loads), expected, rtol=1e-10, atol=1e-300)
    assert erlang_b(0, 5.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0
    # textbook example: 30 lines offered 25 Erlangs lose about 5 % (table: 0.0526)
    assert round(float(erlang_b(30, 25.0)), 4) == 0.0526
    big = erlang_b(2000, 1800.0)  # no overflow at large n
    assert np.isfinite(big) and 0 < big < 0.01


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.floats(0.01, 400.0))
def test_erlang_b_property_recursion(n: int, load: float) -> None:
    assert erlang_b(n, load) == pytest.approx(erlang_b_recursion(n, load), rel=1e-9)


def test_erlang_c_against_pyworkforce() -> None:
    from pyworkforce.queuing import ErlangC

    for volume, aht_min in [(100, 3), (250, 4.5), (37, 6)]:
        ref = ErlangC(transactions=volume, aht=aht_min, asa=20 / 60, interval=30)
        a = volume * aht_min / 30
        for n in range(math.floor(a) + 1, math.floor(a) + 8):
            assert erlang_c(n, a) == pytest.approx(ref.waiting_probability(n), rel=1e-9)
            assert erlang_c_metrics(n, a, aht_min * 60, 20).service_level == pytest.approx(
                ref.service_level(n), rel=1e-9
            )


def test_erlang_c_unstable_and_zero_load() -> None:
    m = erlang_c_metrics([5, 10, 3], [5.0, 12.0, 0.0], 180.0, 20.0)
    assert list(m.p_wait) == [1.0, 1.0, 0.0]
    assert list(m.service_level) == [0.0, 0.0, 1.0]
    assert np.isinf(m.asa[:2]).all() and m.asa[2] == 0.0


# ------------------------------------------------------------------ Erlang A


@pytest.mark.parametrize(
    ("n", "volume", "aht", "patience", "t"),
    [
        (14, 100, 180, 120, 20),  # the classic example with impatient callers
        (8, 100, 180, 60, 30),  # understaffed: many abandon
        (3, 10, 300, 600, 60),
        (40, 800, 200, 300, 15),
        (1, 30, 100, 50, 10),
    ],
)
def test_erlang_a_against_ctmc(
    n: int, volume: float, aht: float, patience: float, t: float
) -> None:
    lam = volume / 1800.0
    got = erlang_a_metrics(n, lam, aht, patience, t)
    ref = erlang_a_ctmc(n, lam, aht, patience, t)
    for key, value in ref.items():
        assert float(getattr(got, key)) == pytest.approx(value, rel=1e-8, abs=1e-12), key


def test_erlang_a_served_wait_by_integration() -> None:
    """E[W | served] = integral of P(served, W > t) dt / P(served), from the closed-form SL."""
    n, lam, aht, pat = 12, 100 / 1800, 180.0, 240.0
    m = erlang_a_metrics(n, lam, aht, pat, 0.0)
    p_served = 1.0 - float(m.p_abandon)

    def tail(t: float) -> float:
        return p_served - float(
            erlang_a_metrics(n, lam, aht, pat, t, served_wait=False).service_level
        )

    area, _ = integrate.quad(tail, 0, np.inf, limit=200)
    assert float(m.asa) == pytest.approx(area / p_served, rel=1e-6)


def test_erlang_a_limits() -> None:
    """Patience -> infinity gives Erlang C; patience -> 0 gives Erlang B (M/M/n/n)."""
    c = erlang_c_metrics(14, 10.0, 180.0, 20.0)
    a = erlang_a_metrics(14, 100 / 1800, 180.0, 1e9, 20.0)
    assert float(a.p_wait) == pytest.approx(float(c.p_wait), rel=1e-6)
    assert float(a.service_level) == pytest.approx(float(c.service_level), rel=1e-6)
    assert float(a.asa) == pytest.approx(float(c.asa), rel=1e-5)
    assert float(a.p_abandon) < 1e-7
    quick = erlang_a_metrics(14, 100 / 1800, 180.0, 1e-6, 20.0)
    assert float(quick.p_abandon) == pytest.approx(float(erlang_b(14, 10.0)), rel=1e-5)


def test_erlang_a_extremes_are_finite() -> None:
    """Heavy overload, huge centres and very long patience stay finite and in [0, 1]."""
    m = erlang_a_metrics(
        [5, 1000, 1000, 200, 50],
        [2.0, 900 / 180, 1100 / 180, 190 / 180, 0.0],
        [180, 180, 180, 180, 180],
        [60, 600, 36000, 1e5, 60],
        20.0,
    )
    for field in ("p_wait", "service_level", "p_abandon", "occupancy"):
        values = getattr(m, field)
        assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1)), field
    assert np.all(np.isfinite(m.asa))
    # heavy overload: throughput bound, P(ab) >= 1 - n / a
    assert m.p_abandon[0] >= 1 - 5 / 360
    assert m.p_abandon[4] == 0 and m.service_level[4] == 1


# ------------------------------------------------------------------ staffing


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0.0, 600.0), min_size=1, max_size=20),
    st.floats(60.0, 900.0),
    st.floats(0.5, 0.95),
    st.floats(5.0, 60.0),
)
def test_erlang_c_staffing_is_minimal(
    volumes: list[float], aht: float, target: float, within: float
) -> None:
    res = required_agents(np.array(volumes), aht, 1800, target_sl=target, within=within)
    a = np.array(volumes) * aht / 1800
    n = res.agents_raw
    ok = erlang_c_metrics(n, a, aht, within).service_level >= target - 1e-12
    assert ok.all()
    fewer = erlang_c_metrics(np.maximum(n - 1, 0), a, aht, within).service_level
    assert np.all((fewer < target) | (a == 0))
    assert np.all(n[a == 0] == 0)


def test_staffing_asa_and_occupancy_and_shape() -> None:
    vol = np.array([[100, 400], [20, 0]])
    res = required_agents(vol, 180, 1800, target_asa=15, max_occupancy=0.85, shrinkage=0.25)
    assert res.agents_raw.shape == (2, 2)
    a = vol * 180 / 1800
    m = erlang_c_metrics(res.agents_raw, a, 180, 20)
    assert np.all(m.asa <= 15 + 1e-9)
    assert np.all(m.occupancy <= 0.85 + 1e-12)
    assert res.agents_raw[1, 1] == 0 and res.binding[1, 1] == "none"
    assert np.all(res.agents == np.ceil(res.agents_raw / 0.75 - 1e-9))
    occ = required_agents(1000, 180, 1800, target_sl=0.5, within=5, max_occupancy=0.8)
    assert int(occ.agents_raw) == 125 and str(occ.binding) == "occupancy"


@pytest.mark.parametrize("kind", ["sl", "abandon", "asa"])
def test_erlang_a_staffing_is_minimal(kind: str) -> None:
    vol = np.array([5.0, 60.0, 100.0, 350.0, 900.0])
    kw: dict[str, float] = {
        "sl": {"target_sl": 0.8, "within": 20.0},
        "abandon": {"max_abandon": 0.03},
        "asa": {"target_asa": 10.0},
    }[kind]
    res = required_agents(vol, 180, 1800, method="erlang-a", patience=150, **kw)
    lam = vol / 1800

    def meets(n: np.ndarray) -> np.ndarray:
        m = erlang_a_metrics(n, lam, 180, 150, kw.get("within", 20.0))
        if kind == "sl":
            return m.service_level >= 0.8 - 1e-12
        if kind == "abandon":
            return m.p_abandon <= 0.03
        return m.asa <= 10.0

    assert meets(res.agents_raw).all()
    assert not meets(res.agents_raw - 1).any()
    # abandonment lets Erlang A staff no more than Erlang C for the same SL
    if kind == "sl":
        c = required_agents(vol, 180, 1800, target_sl=0.8, within=20.0)
        assert np.all(res.agents_raw <= c.agents_raw)


def test_staffing_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match="target"):
        required_agents(100, 180, 1800)
    with pytest.raises(ValueError, match="patience"):
        required_agents(100, 180, 1800, target_sl=0.8, within=20, method="erlang-a")
    with pytest.raises(ValueError, match="erlang-a"):
        required_agents(100, 180, 1800, max_abandon=0.05)
    with pytest.raises(ValueError, match="shrinkage"):
        required_agents(100, 180, 1800, target_sl=0.8, within=20, shrinkage=1.0)


# ------------------------------------------------------------------ CLI


def _volumes(path: Path, *, aht: bool = False) -> Path:
    t = pd.date_range("2026-03-02 08:00", periods=6, freq="30min", tz="UTC")
    frames = []
    for q, scale in (("email", 1.0), ("phone", 2.0)):
        df = pd.DataFrame(
            {
                "interval_start": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "volume": (np.array([50, 100, 80, 0, 120, 60]) * scale).astype(int),
                "queue": q,
            }
        )
        if aht:
            df["aht"] = 180.0
        frames.append(df)
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_cli_requirements_erlang_c(tmp_path: Path) -> None:
    vol = _volumes(tmp_path / "vol.csv")
    out = tmp_path / "req.csv"
    r = CliRunner().invoke(
        app,
        [
            "capacity",
            "requirements",
            str(vol),
            "--aht",
            "180",
            "--target-sl",
            "0.8",
            "--within",
            "20",
            "--shrinkage",
            "0.3",
            "--max-occupancy",
            "0.85",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "phone" in r.output and "peak agents" in r.output
    req = pd.read_csv(out)
    assert len(req) == 12
    row = req[(req["queue"] == "email") & (req["volume"] == 100)].iloc[0]
    assert row["agents_raw"] == 14 and row["agents"] == 20
    assert req.loc[req["volume"] == 0, "agents"].eq(0).all()


def test_cli_requirements_erlang_a_and_backlog(tmp_path: Path) -> None:
    vol = _volumes(tmp_path / "vol.csv", aht=True)
    out = tmp_path / "req.csv"
    r = CliRunner().invoke(
        app,
        [
            "capacity",
            "requirements",
            str(vol),
            "--method",
            "erlang-a",
            "--patience",
            "120",
            "--max-abandon",
            "0.05",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (pd.read_csv(out)["p_abandon"] <= 0.05).all()
    r = CliRunner().invoke(
        app,
        [
            "capacity",
            "requirements",
            str(vol),
            "--method",
            "backlog",
            "--target-hours",
            "1",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    req = pd.read_csv(out)
    assert {"backlog_hours", "max_delay_hours"} <= set(req.columns)
    done = req["max_delay_hours"].replace(np.inf, np.nan).dropna()
    assert (done <= 1.0 + 1e-9).all()


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        (None, ["--aht", "180"], "file not found"),
        ("when,volume\n2026-01-01T00:00Z,3\n", ["--aht", "180"], "interval_start"),
        ("interval_start,volume\nyesterday,3\n", ["--aht", "180"], "row 1"),
        ("interval_start,volume\n2026-01-01T00:00Z,-3\n", ["--aht", "180"], "volume"),
        ("interval_start,volume\n2026-01-01T00:00Z,3\n", [], "--aht"),
        (
            "interval_start,volume\n2026-01-01T00:00Z,3\n",
            ["--aht", "180", "--method", "x"],
            "--method",
        ),
        (
            "interval_start,volume\n2026-01-01T00:00Z,3\n",
            ["--aht", "180", "--method", "erlang-a"],
            "--patience",
        ),
    ],
)
def test_cli_requirements_errors(
    tmp_path: Path, content: str | None, args: list[str], needle: str
) -> None:
    path = tmp_path / "vol.csv"
    if content is not None:
        path.write_text(content)
    r = CliRunner().invoke(
        app, ["capacity", "requirements", str(path), *args, "--out", str(tmp_path / "o.csv")]
    )
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "o.csv").exists()


def test_erlang_a_occupancy_cap_is_served_occupancy() -> None:
    vol = np.array([60.0, 900.0])
    res = required_agents(
        vol, 180, 1800, method="erlang-a", patience=150, max_abandon=0.2, max_occupancy=0.85
    )
    lam = vol / 1800
    m = erlang_a_metrics(res.agents_raw, lam, 180, 150)
    assert np.all(m.occupancy <= 0.85 + 1e-12)
    fewer = erlang_a_metrics(res.agents_raw - 1, lam, 180, 150)
    assert np.all((fewer.occupancy > 0.85) | (fewer.p_abandon > 0.2))


@pytest.mark.parametrize("method", ["erlang-c", "erlang-a"])
def test_an_occupancy_cap_needing_absurd_staffing_is_an_error(method: str) -> None:
    """max_occupancy near 0 asks for more than MAX_AGENTS agents: a ValueError naming it
    (Erlang C used to overflow int64 into a wrong answer, Erlang A to search forever)."""
    from slarisk.capacity.erlang import MAX_AGENTS

    with pytest.raises(ValueError, match=r"max_occupancy .* more than 1,000,000 agents"):
        required_agents(
            [100.0], [300.0], 1800, target_sl=0.8, within=20.0, max_occupancy=1e-320,
            method=method, patience=600.0 if method == "erlang-a" else None,
        )  # fmt: skip
    ok = required_agents([100.0], [300.0], 1800, target_sl=0.8, within=20.0, max_occupancy=1e-4)
    assert ok.agents[0] <= MAX_AGENTS and ok.metrics.occupancy[0] <= 1e-4 * (1 + 1e-9)
