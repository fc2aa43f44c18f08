"""Fitting simulator inputs from history: arrivals, handle times, touches, pauses, patience,
staffing; and writing them as a scenario YAML (:mod:`slarisk.capacity.scenario` format).

All durations are seconds. Inputs are canonical tickets (+ status events) or a call log as
loaded by :func:`slarisk.data.calllog.load_call_log`.

Estimators:
- arrival profile: mean arrivals per interval of the week (local time), averaged over the days
  of that weekday present in the data (a day with no arrival at all counts as missing data);
- durations (handle time, customer-wait pauses): maximum likelihood for exponential, lognormal
  and gamma; the family with the lowest AIC wins; empirical quantiles are kept beside it;
- patience, from queued calls: an abandoned call is an observed patience (its wait), a served
  call a right-censored one (patience > wait). Exponential MLE ``rate = abandons / total wait``,
  censored lognormal/gamma MLE for comparison, and the Kaplan-Meier survival curve;
- staffing (effective agents on duty per interval), three methods compared in
  docs/realdata_fit.md: ``distinct`` (agents that served in the interval), ``busy`` (agent
  busy seconds / interval / occupancy) and ``span`` (each agent is on duty from the start of
  the first to the end of the last call of a session; calls more than ``gap`` apart split
  sessions) and ``available`` (``span`` minus the agent time between calls while callers
  were waiting).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from slarisk.errors import InputError

FAMILIES: tuple[str, ...] = ("exponential", "lognormal", "gamma")
QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: durations recorded in whole seconds: a 0 means "under a second"; fitted as this value.
MIN_DURATION_SECONDS = 0.5
WEEK_MINUTES = 7 * 24 * 60
StaffingMethod = Literal["distinct", "busy", "span", "available"]
STAFFING_METHODS: tuple[str, ...] = ("distinct", "busy", "span", "available")


# --- durations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DurationFit:
    """A fitted duration distribution (seconds).

    ``family`` is the AIC winner; ``params`` hold ``mean`` and (lognormal) ``sd`` or (gamma)
    ``shape``; ``aic`` has every family tried; ``quantiles`` are empirical, in seconds.
    """

    family: str
    mean: float
    params: dict[str, float]
    n: int
    aic: dict[str, float]
    quantiles: dict[str, float]
    all_params: dict[str, dict[str, float]] = field(default_factory=dict)

    def spec(self, unit: str = "seconds", family: str | None = None) -> dict[str, Any]:
        """The scenario YAML mapping of this (or another fitted) family, in ``unit``."""
        fam = family or self.family
        p = self.all_params.get(fam, self.params) if family else self.params
        f = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}[unit]
        out: dict[str, Any] = {"dist": fam, "mean": _r(p["mean"] / f)}
        if fam == "lognormal":
            out["sd"] = _r(p["sd"] / f)
        elif fam == "gamma":
            out["shape"] = _r(p["shape"])
        out["unit"] = unit
        return out

    def summary(self) -> dict[str, Any]:
        """Plain dict for JSON reports."""
        return {
            "family": self.family,
            "mean_seconds": self.mean,
            "params": self.params,
            "n": self.n,
            "aic": self.aic,
            "quantiles_seconds": self.quantiles,
        }


def _r(x: float) -> float:
    """Round to 6 significant digits for YAML."""
    return float(f"{x:.6g}")


def _clean_durations(values: Any, what: str) -> np.ndarray:
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    x = x[np.isfinite(x)]
    if (x < 0).any():
        raise InputError(f"{what}: {int((x < 0).sum())} negative durations")
    if len(x) < 2:
        raise InputError(f"{what}: need at least 2 durations, got {len(x)}")
    return np.maximum(x, MIN_DURATION_SECONDS)


def fit_duration(
    values: Any, families: Sequence[str] = FAMILIES, what: str = "durations"
) -> DurationFit:
    """Fit exponential / lognormal / gamma by maximum likelihood (seconds); pick the best AIC.

    Zeros (sub-second durations in whole-second data) are fitted as 0.5 s.
    """
    x = _clean_durations(values, what)
    n = len(x)
    mean = float(x.mean())
    lx = np.log(x)
    aic: dict[str, float] = {}
    params: dict[str, dict[str, float]] = {}
    for fam in families:
        if fam == "exponential":
            ll = -n * math.log(mean) - n
            aic[fam] = 2 * 1 - 2 * ll
            params[fam] = {"mean": mean}
        elif fam == "lognormal":
            mu, sigma = float(lx.mean()), float(lx.std())
            sigma = max(sigma, 1e-9)
            ll = float(stats.norm.logpdf(lx, mu, sigma).sum() - lx.sum())
            aic[fam] = 2 * 2 - 2 * ll
            m = math.exp(mu + sigma**2 / 2)
            params[fam] = {
                "mean": m,
                "sd": m * math.sqrt(math.expm1(sigma**2)),
                "mu": mu,
                "sigma": sigma,
            }
        elif fam == "gamma":
            shape = _gamma_shape_mle(mean, float(lx.mean()))
            ll = float(stats.gamma.logpdf(x, shape, scale=mean / shape).sum())
            aic[fam] = 2 * 2 - 2 * ll
            params[fam] = {"mean": mean, "shape": shape}
        else:
            raise InputError(f"unknown distribution family {fam!r}; use one of {FAMILIES}")
    best = min(aic, key=lambda k: aic[k])
    qs = np.quantile(x, QUANTILES)
    return DurationFit(
        family=best,
        mean=params[best]["mean"],
        params=params[best],
        n=n,
        aic=aic,
        quantiles={f"p{round(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
        all_params=params,
    )


def _gamma_shape_mle(mean: float, mean_log: float) -> float:
    """Gamma shape MLE from mean and mean log (Minka's Newton iteration)."""
    s = math.log(mean) - mean_log
    if s <= 1e-12:
        return 1e6
    k = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(50):
        num = math.log(k) - float(special.digamma(k)) - s
        den = 1 / k - float(special.polygamma(1, k))
        step = num / den
        k_new = k - step
        if k_new <= 0:
            k_new = k / 2
        if abs(k_new - k) < 1e-10 * k:
            k = k_new
            break
        k = k_new
    return k


# --- patience (censored) -----------------------------------------------------------------------
@dataclass(frozen=True)
class PatienceFit:
    """Patience estimated from waits of queued calls (seconds).

    ``rate`` is the exponential MLE (abandons / total waiting time), ``mean = 1 / rate``.
    ``censored`` holds censored MLEs of other families and their AIC; ``km`` the Kaplan-Meier
    survival curve (time_seconds, survival) at the distinct abandonment times.
    """

    rate: float
    n_queued: int
    n_abandoned: int
    total_wait_seconds: float
    censored: dict[str, dict[str, float]]
    km: pd.DataFrame

    @property
    def mean(self) -> float:
        """Mean patience of the exponential fit, seconds."""
        return 1.0 / self.rate if self.rate > 0 else math.inf

    @property
    def best_family(self) -> str:
        return min(self.censored, key=lambda k: self.censored[k]["aic"])

    def km_quantile(self, q: float) -> float:
        """Time (s) by which a fraction ``q`` has run out of patience; inf if not reached."""
        hit = self.km.loc[self.km["survival"] <= 1 - q, "time_seconds"]
        return float(hit.iloc[0]) if len(hit) else math.inf

    def spec(self, unit: str = "seconds", family: str = "exponential") -> dict[str, Any]:
        """Scenario YAML mapping of the patience distribution."""
        f = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}[unit]
        p = self.censored[family]
        out: dict[str, Any] = {"dist": family, "mean": _r(p["mean"] / f)}
        if family == "lognormal":
            out["sd"] = _r(p["sd"] / f)
        elif family == "gamma":
            out["shape"] = _r(p["shape"])
        out["unit"] = unit
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "exponential_mean_seconds": self.mean,
            "rate_per_second": self.rate,
            "n_queued": self.n_queued,
            "n_abandoned": self.n_abandoned,
            "total_wait_seconds": self.total_wait_seconds,
            "censored_fits": self.censored,
            "best_family": self.best_family,
            "km_median_seconds": self.km_quantile(0.5),
            "km_p25_seconds": self.km_quantile(0.25),
        }


def kaplan_meier(times: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival at each distinct event time (vectorised).

    ``times`` (seconds), ``events`` True where the event (abandonment) was observed, False for a
    right-censored observation. Ties: events before censorings at the same time.
    """
    t = np.asarray(times, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(t) == 0:
        return pd.DataFrame({"time_seconds": [], "at_risk": [], "events": [], "survival": []})
    uniq, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(uniq))
    d_at = np.bincount(inv, weights=e.astype(float), minlength=len(uniq))
    at_risk = len(t) - np.concatenate([[0], np.cumsum(n_at)[:-1]])
    keep = d_at > 0
    surv = np.cumprod(1 - d_at[keep] / at_risk[keep])
    return pd.DataFrame(
        {
            "time_seconds": uniq[keep],
            "at_risk": at_risk[keep],
            "events": d_at[keep].astype(int),
            "survival": surv,
        }
    )


def _censored_mle(t: np.ndarray, e: np.ndarray, fam: str) -> dict[str, float]:
    """Censored MLE of lognormal or gamma patience; returns mean, sd/shape, loglik, aic."""
    t = np.maximum(t, MIN_DURATION_SECONDS)
    lt = np.log(t)
    lt_e, lt_c, t_e, t_c = lt[e], lt[~e], t[e], t[~e]
    if fam == "lognormal":

        def nll(th: np.ndarray) -> float:
            mu, sig = th[0], math.exp(th[1])
            ze, zc = (lt_e - mu) / sig, (lt_c - mu) / sig
            ll = (-0.5 * ze**2 - 0.5 * math.log(2 * math.pi) - math.log(sig) - lt_e).sum()
            ll += special.log_ndtr(-zc).sum()
            return -float(ll)

        x0 = np.array([float(lt_e.mean()) + 1.0 if e.any() else float(lt.mean()), 0.0])
    else:

        def nll(th: np.ndarray) -> float:
            k, sc = math.exp(th[0]), math.exp(th[1])
            ll = ((k - 1) * lt_e - t_e / sc).sum() - len(t_e) * (special.gammaln(k) + k * th[1])
            with np.errstate(divide="ignore"):
                ll += np.log(special.gammaincc(k, t_c / sc)).sum()
            return -float(ll) if np.isfinite(ll) else 1e300

        x0 = np.array([0.0, math.log(max(t.sum() / max(e.sum(), 1), 1.0))])
    res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6})
    ll = -float(res.fun)
    if fam == "lognormal":
        mu, sig = float(res.x[0]), math.exp(float(res.x[1]))
        mean = math.exp(mu + sig**2 / 2)
        return {
            "mean": mean,
            "sd": mean * math.sqrt(math.expm1(sig**2)),
            "mu": mu,
            "sigma": sig,
            "loglik": ll,
            "aic": 4 - 2 * ll,
        }
    k, sc = math.exp(float(res.x[0])), math.exp(float(res.x[1]))
    return {"mean": k * sc, "shape": k, "loglik": ll, "aic": 4 - 2 * ll}


def fit_patience(
    wait_seconds: Any,
    abandoned: Any,
    families: Sequence[str] = FAMILIES,
    max_fit_sample: int = 20_000,
    rng: np.random.Generator | None = None,
) -> PatienceFit:
    """Estimate patience from the waits of queued calls (seconds) and their abandonment flags.

    Abandoned calls are observed patience times; the others (served) are censored at their wait.
    Lognormal/gamma censored fits use at most ``max_fit_sample`` calls (a random subsample).
    """
    t = np.asarray(wait_seconds, dtype=float)
    e = np.asarray(abandoned, dtype=bool)
    if t.shape != e.shape:
        raise InputError("patience: waits and abandonment flags differ in length")
    ok = np.isfinite(t) & (t >= 0)
    t, e = t[ok], e[ok]
    if len(t) == 0 or e.sum() == 0:
        raise InputError("patience: need queued calls with at least one abandonment")
    total = float(t.sum())
    rate = float(e.sum()) / total
    ll_exp = float(e.sum()) * math.log(rate) - rate * total
    censored: dict[str, dict[str, float]] = {}
    for fam in families:
        if fam == "exponential":
            censored[fam] = {"mean": 1 / rate, "loglik": ll_exp, "aic": 2 - 2 * ll_exp}
        else:
            tt, ee = t, e
            scale = 1.0
            if len(t) > max_fit_sample:
                g = rng if rng is not None else np.random.default_rng(0)
                idx = g.choice(len(t), max_fit_sample, replace=False)
                tt, ee = t[idx], e[idx]
                scale = len(t) / max_fit_sample
            fit = _censored_mle(tt, ee, fam)
            fit["loglik"] *= scale
            fit["aic"] = 4 - 2 * fit["loglik"]
            censored[fam] = fit
    return PatienceFit(
        rate=rate,
        n_queued=len(t),
        n_abandoned=int(e.sum()),
        total_wait_seconds=total,
        censored=censored,
        km=kaplan_meier(t, e),
    )


# --- arrivals ----------------------------------------------------------------------------------
def _ns(ts: pd.Series) -> np.ndarray:
    """Timestamps -> int64 nanoseconds since the epoch (whatever the stored unit)."""
    return np.asarray(
        pd.to_datetime(ts, utc=True).astype("datetime64[ns, UTC]").astype("int64"), dtype=np.int64
    )


def _local(ts: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(ts, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None)


def arrival_profile(
    arrived_at: pd.Series, tz: str = "UTC", interval_minutes: int = 60
) -> pd.DataFrame:
    """Mean arrivals per interval of the week (local time, Monday 00:00 first).

    A weekday's denominator is the number of its dates with at least one arrival. Columns:
    ``slot, weekday (0=Mon), minute_of_day, arrivals (total), days (dates observed),
    mean_arrivals (per interval), rate_per_hour``.
    """
    if WEEK_MINUTES % interval_minutes or 1440 % interval_minutes:
        raise InputError("interval_minutes must divide a day (1440 minutes)")
    loc = _local(arrived_at, tz)
    if loc.empty:
        raise InputError("arrival profile: no arrivals")
    dates = loc.dt.normalize()
    minute = loc.dt.hour * 60 + loc.dt.minute
    wd = loc.dt.day_of_week
    slot = (wd * 1440 + minute) // interval_minutes
    n_slots = WEEK_MINUTES // interval_minutes
    counts = np.bincount(slot.to_numpy(), minlength=n_slots)
    obs_days = pd.Series(dates.unique())
    days_per_wd = np.bincount(obs_days.dt.day_of_week.to_numpy(), minlength=7)
    slots = np.arange(n_slots)
    slot_wd = slots * interval_minutes // 1440
    days = days_per_wd[slot_wd]
    mean = np.where(days > 0, counts / np.maximum(days, 1), 0.0)
    return pd.DataFrame(
        {
            "slot": slots,
            "weekday": slot_wd,
            "minute_of_day": (slots * interval_minutes) % 1440,
            "arrivals": counts,
            "days": days,
            "mean_arrivals": mean,
            "rate_per_hour": mean * 60.0 / interval_minutes,
        }
    )


def daily_totals(arrived_at: pd.Series, tz: str = "UTC") -> pd.DataFrame:
    """Arrivals per local date: ``date, weekday, arrivals`` (dates without arrivals omitted)."""
    loc = _local(arrived_at, tz)
    out = loc.dt.normalize().value_counts().sort_index()
    return pd.DataFrame(
        {"date": out.index, "weekday": out.index.day_of_week, "arrivals": out.to_numpy()}
    ).reset_index(drop=True)


# --- staffing ----------------------------------------------------------------------------------
def _interval_edges(
    start: pd.Timestamp, end: pd.Timestamp, interval_minutes: int
) -> pd.DatetimeIndex:
    return pd.date_range(
        start.floor(f"{interval_minutes}min"),
        end.ceil(f"{interval_minutes}min"),
        freq=f"{interval_minutes}min",
    )


def occupancy_integral(starts: np.ndarray, ends: np.ndarray, edges_ns: np.ndarray) -> np.ndarray:
    """Integral (seconds) of the number of open spans over each [edge_i, edge_i+1).

    ``starts``/``ends``/``edges_ns`` are int64 nanoseconds; spans with end <= start count 0.
    Vectorised: the step function of open spans is integrated piecewise between events.
    """
    keep = ends > starts
    s, e = starts[keep], ends[keep]
    t = np.concatenate([s, e, edges_ns])
    d = np.concatenate([np.ones(len(s)), -np.ones(len(e)), np.zeros(len(edges_ns))])
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    level = np.cumsum(d)
    seg = np.diff(t).astype(float) / 1e9
    lev = level[:-1]
    idx = np.searchsorted(edges_ns, t[:-1], side="right") - 1
    ok = (idx >= 0) & (idx < len(edges_ns) - 1)
    return np.bincount(idx[ok], weights=(lev * seg)[ok], minlength=len(edges_ns) - 1)


def agent_sessions(calls: pd.DataFrame, gap_seconds: float = 1800.0) -> pd.DataFrame:
    """Each agent's on-duty sessions inferred from served calls.

    A session runs from the start of an agent's first call to the end of the last; a pause of
    more than ``gap_seconds`` between calls starts a new one. Columns ``server, start, end,
    calls`` (UTC). Calls without a named agent (``NO_SERVER``) are skipped.
    """
    s = calls.loc[
        calls["served"] & (calls["server"] != "NO_SERVER"),
        ["server", "service_start_at", "service_end_at"],
    ].sort_values(["server", "service_start_at"], kind="stable")
    if s.empty:
        return pd.DataFrame({"server": [], "start": [], "end": [], "calls": []})
    st = _ns(s["service_start_at"])
    en = _ns(s["service_end_at"])
    srv = s["server"].to_numpy()
    # running max of call ends per agent (a call may end before an earlier, longer one)
    run_end = s.assign(e=en).groupby("server", sort=False)["e"].cummax().to_numpy()
    prev_end = np.concatenate([[np.iinfo(np.int64).min], run_end[:-1]])
    new_agent = np.concatenate([[True], srv[1:] != srv[:-1]])
    new = new_agent | (st - prev_end > gap_seconds * 1e9)
    sid = np.cumsum(new) - 1
    g = pd.DataFrame({"sid": sid, "server": srv, "st": st, "en": run_end})
    agg = g.groupby("sid").agg(
        server=("server", "first"), start=("st", "min"), end=("en", "max"), calls=("st", "size")
    )
    agg["start"] = pd.to_datetime(agg["start"], utc=True)
    agg["end"] = pd.to_datetime(agg["end"], utc=True)
    return agg.reset_index(drop=True)


def estimate_staffing(
    calls: pd.DataFrame,
    interval_minutes: int = 60,
    method: StaffingMethod = "span",
    *,
    gap_seconds: float = 1800.0,
    occupancy: float | None = None,
    team: str = "agents",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Effective agents on duty per interval, from served calls (canonical interval staffing).

    Methods: ``distinct`` = number of distinct named agents with service in the interval;
    ``busy`` = agent busy seconds in the interval / interval seconds / ``occupancy``
    (default 1: the busy-agent count itself); ``span`` = time-average of agents inside an
    on-duty session (see :func:`agent_sessions`); ``available`` = ``span`` minus the time agents
    spent between calls of a session while callers were waiting (not available to answer,
    e.g. after-call work or short breaks; :func:`unavailable_agent_seconds`).
    Returns ``interval_start, interval_minutes, team, agents`` plus ``busy_agents`` (mean
    agents busy).
    """
    served = calls.loc[calls["served"] & (calls["server"] != "NO_SERVER")]
    if served.empty:
        raise InputError("staffing estimate: no served calls with a named agent")
    st = served["service_start_at"]
    en = served["service_end_at"]
    lo = start if start is not None else st.min()
    hi = end if end is not None else en.max()
    edges = _interval_edges(pd.Timestamp(lo), pd.Timestamp(hi), interval_minutes)
    edges_ns = edges.asi8 if edges.unit == "ns" else edges.as_unit("ns").asi8
    secs = interval_minutes * 60.0
    st_ns = _ns(st)
    en_ns = _ns(en)
    busy = occupancy_integral(st_ns, en_ns, edges_ns) / secs
    if method == "busy":
        occ = 1.0 if occupancy is None else occupancy
        if not 0 < occ <= 1:
            raise InputError("occupancy must be in (0, 1]", field="occupancy")
        agents = busy / occ
    elif method in ("span", "available"):
        sess = agent_sessions(calls, gap_seconds)
        agents = (
            occupancy_integral(
                _ns(sess["start"]),
                _ns(sess["end"]),
                edges_ns,
            )
            / secs
        )
        if method == "available":
            unavailable = unavailable_agent_seconds(calls, edges, gap_seconds) / secs
            agents = np.maximum(agents - unavailable, 0.0)
    elif method == "distinct":
        # an agent counts in every interval that any of its calls overlaps
        i0 = np.searchsorted(edges_ns, st_ns, side="right") - 1
        i1 = np.searchsorted(edges_ns, np.maximum(en_ns - 1, st_ns), side="right") - 1
        span = i1 - i0 + 1
        rep = np.repeat(np.arange(len(i0)), span)
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
        idx = i0[rep] + offs
        srv = served["server"].to_numpy()[rep]
        ok = (idx >= 0) & (idx < len(edges) - 1)
        pairs = pd.DataFrame({"i": idx[ok], "s": srv[ok]}).drop_duplicates()
        agents = np.bincount(pairs["i"].to_numpy(), minlength=len(edges) - 1).astype(float)
    else:
        raise InputError(f"unknown staffing method {method!r}", field="method")
    return pd.DataFrame(
        {
            "interval_start": edges[:-1],
            "interval_minutes": interval_minutes,
            "team": team,
            "agents": agents,
            "busy_agents": busy,
        }
    )


def _seconds_grid_level(starts: np.ndarray, ends: np.ndarray, t0: int, length: int) -> np.ndarray:
    """Number of open spans [start, end) at each second of [t0, t0 + length) (int seconds)."""
    d = np.zeros(length + 1, dtype=np.int32)
    s = np.clip(starts - t0, 0, length)
    e = np.clip(ends - t0, 0, length)
    keep = e > s
    np.add.at(d, s[keep], 1)
    np.add.at(d, e[keep], -1)
    return np.cumsum(d[:-1])


def unavailable_agent_seconds(
    calls: pd.DataFrame, edges: pd.DatetimeIndex, gap_seconds: float = 1800.0
) -> np.ndarray:
    """Agent-seconds per interval in which an agent was inside a session but between calls
    while at least one caller was waiting (so the agent was evidently not available).

    Computed on a one-second grid (the source has whole seconds).
    """
    s = calls.loc[
        calls["served"] & (calls["server"] != "NO_SERVER"),
        ["server", "service_start_at", "service_end_at"],
    ].sort_values(["server", "service_start_at"], kind="stable")
    e_ns = edges.as_unit("ns").asi8
    t0 = int(e_ns[0] // 10**9)
    length = int((e_ns[-1] - e_ns[0]) // 10**9)
    st = (_ns(s["service_start_at"]) // 10**9).astype(np.int64)
    run_end = (
        s.assign(e=_ns(s["service_end_at"]) // 10**9)
        .groupby("server", sort=False)["e"]
        .cummax()
        .to_numpy()
        .astype(np.int64)
    )
    srv = s["server"].to_numpy()
    same = srv[1:] == srv[:-1]
    gap = st[1:] - run_end[:-1]
    m = same & (gap > 0) & (gap <= gap_seconds)
    idle = _seconds_grid_level(run_end[:-1][m], st[1:][m], t0, length)
    q = calls.loc[calls["queued"]]
    qs = (_ns(q["queue_start_at"]) // 10**9).astype(np.int64)
    qe = (_ns(q["queue_exit_at"]) // 10**9).astype(np.int64)
    waiting = _seconds_grid_level(qs, qe, t0, length) > 0
    per_sec = idle * waiting
    step = int((e_ns[1] - e_ns[0]) // 10**9)
    return per_sec.reshape(-1, step).sum(axis=1).astype(float)


def dither_staffing(staffing: pd.DataFrame, sub_minutes: int = 6) -> pd.DataFrame:
    """Split each interval into ``sub_minutes`` pieces with whole agents whose time-average
    equals the fractional ``agents`` of the interval (error diffusion): the extra agent's time
    spread evenly over the interval, where the simulator's own time-sharing
    (:func:`slarisk.capacity.sim.time_shared`) gives it as one block at the start. Canonical
    interval form out."""
    if staffing.empty:
        return staffing[["interval_start", "interval_minutes", "team", "agents"]].copy()
    im = staffing["interval_minutes"].to_numpy(dtype=np.int64)
    if (im % sub_minutes).any():
        raise InputError("sub_minutes must divide every interval_minutes")
    k = im // sub_minutes
    a = np.maximum(staffing["agents"].to_numpy(dtype=float), 0.0)
    rep = np.repeat(np.arange(len(staffing)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    frac = a - np.floor(a)
    whole = np.floor(a)[rep] + _even_spread(frac[rep], j, k[rep])
    base = pd.to_datetime(staffing["interval_start"], utc=True).astype("datetime64[ns, UTC]")
    start_ns = base.astype("int64").to_numpy()[rep] + j * sub_minutes * 60 * 10**9
    return pd.DataFrame(
        {
            "interval_start": pd.to_datetime(start_ns, utc=True),
            "interval_minutes": sub_minutes,
            "team": staffing["team"].to_numpy()[rep],
            "agents": whole,
        }
    )


def _even_spread(frac: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """0/1 per sub-interval j of k so that the mean over the k pieces is round(frac*k)/k."""
    units = np.rint(frac * k)
    return np.floor((j + 1) * units / k + 1e-9) - np.floor(j * units / k + 1e-9)


# --- call log -> canonical tickets and a fitted scenario --------------------------------------
def call_priority(priority: pd.Series) -> pd.Series:
    """Call-log priority code -> class priority name (2: ``high``; 0/1: ``regular``)."""
    return pd.Series(np.where(priority.to_numpy() == 2, "high", "regular"), index=priority.index)


def calls_to_tickets(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls that asked for an agent -> canonical tickets (created at the VRU exit).

    first_response_at = service start, resolved_at = service end (abandoned: NaT, status
    ``abandoned``); extra columns ``wait_seconds``, ``handle_seconds``, ``abandoned``,
    ``call_type``, ``server``. Service starts stamped before the VRU/queue exit (by 1-2 s
    in the source) are clipped to created_at.
    """
    c = calls.loc[calls["reached_queue"]]
    created = c["vru_exit_at"]
    # the source stamps service starts 0-2 s before the queue exit: clip to created_at
    fr = c["service_start_at"].where(
        c["service_start_at"].isna() | (c["service_start_at"] >= created), created
    )
    res = c["service_end_at"].where(c["service_end_at"].isna() | (c["service_end_at"] >= fr), fr)
    return pd.DataFrame(
        {
            "ticket_id": c["call_key"].to_numpy(),
            "created_at": created.to_numpy(),
            "first_response_at": fr.to_numpy(),
            "resolved_at": res.to_numpy(),
            "priority": call_priority(c["priority"]).to_numpy(),
            "tier": "unknown",
            "region": "unknown",
            "service_type": c["call_type"].to_numpy(),
            "channel": "phone",
            "customer": c["customer_id"].to_numpy(),
            "category": c["call_type"].to_numpy(),
            "group": "unknown",
            "status": np.where(c["served"], "resolved", "abandoned"),
            "wait_seconds": c["wait_seconds"].to_numpy(),
            "handle_seconds": c["service_seconds"].to_numpy(),
            "abandoned": c["abandoned"].to_numpy(),
            "call_type": c["call_type"].to_numpy(),
            "server": c["server"].to_numpy(),
        }
    ).reset_index(drop=True)


@dataclass(frozen=True)
class ClassFit:
    """Fitted behaviour of one ticket class."""

    name: str
    priority: str
    tier: str
    channel: str
    n: int
    share: float
    handle: DurationFit
    patience: PatienceFit | None = None
    touches: dict[int, float] | None = None  # touch count -> frequency
    customer_wait: DurationFit | None = None

    def spec(self, unit: str = "minutes", max_empirical: int = 100) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "priority": self.priority,
            "tier": self.tier,
            "channel": self.channel,
            "share": _r(self.share),
            "mode": "sync" if self.patience is not None else "async",
            "handle": self.handle.spec(unit),
        }
        if self.patience is not None:
            out["patience"] = self.patience.spec(unit)
        many = self.touches is not None and max(self.touches) > 1
        if many and self.touches is not None and self.customer_wait is not None:
            out["touches"] = {
                "dist": "empirical",
                "values": _count_values(self.touches, max_empirical),
            }
            out["customer_wait"] = self.customer_wait.spec(unit)
        return out


def _count_values(freq: dict[int, float], size: int) -> list[int]:
    """A list of ``size`` counts reproducing the frequencies (largest remainder rounding)."""
    keys = sorted(freq)
    p = np.array([freq[k] for k in keys], dtype=float)
    p = p / p.sum()
    raw = p * size
    n = np.floor(raw).astype(int)
    short = size - n.sum()
    if short > 0:
        n[np.argsort(-(raw - n))[:short]] += 1
    return [int(k) for k, m in zip(keys, n, strict=True) for _ in range(m)]


@dataclass(frozen=True)
class FitResult:
    """Everything fitted from a history; ``scenario_dict()`` gives the scenario YAML mapping."""

    source: str
    timezone: str
    interval_minutes: int
    start: pd.Timestamp
    end: pd.Timestamp
    n: int
    profile: pd.DataFrame
    daily: pd.DataFrame
    classes: list[ClassFit]
    staffing: pd.DataFrame | None  # canonical interval staffing (estimated or given)
    weekly_agents: list[float] | None  # mean agents per interval of the week
    staffing_method: str
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def hourly_rates(self) -> list[float]:
        """168 mean arrivals/hour (Monday 00:00 local first)."""
        p = self.profile
        hour = (p["weekday"] * 24 + p["minute_of_day"] // 60).to_numpy()
        return [float(x) for x in np.bincount(hour, weights=p["mean_arrivals"], minlength=168)]

    def scenario_dict(
        self,
        *,
        name: str = "fitted",
        horizon_days: float = 7.0,
        start: pd.Timestamp | None = None,
        unit: str = "minutes",
        policy: str | None = None,
    ) -> dict[str, Any]:
        """Scenario mapping in :mod:`slarisk.capacity.scenario` format."""
        st = start if start is not None else _next_monday(self.end, self.timezone)
        staffing: dict[str, Any] = {"teams": [{"name": "agents", "serves": ["*"]}]}
        if self.weekly_agents is not None:
            staffing["weekly"] = [
                {
                    "team": "agents",
                    "interval_minutes": self.interval_minutes,
                    "agents": [_r(round(a, 2)) for a in self.weekly_agents],
                }
            ]
        else:
            staffing["constant"] = {"agents": 1}
        out: dict[str, Any] = {
            "name": name,
            "description": f"fitted from {self.source} ({self.start:%Y-%m-%d} .."
            f" {self.end:%Y-%m-%d}, {self.n} arrivals); staffing: {self.staffing_method}",
            "start": pd.Timestamp(st).isoformat(),
            "timezone": self.timezone,
            "horizon_days": horizon_days,
            "dispatch": "fifo",
            "classes": [c.spec(unit) for c in self.classes],
            "arrivals": {"hourly_rates": [_r(round(x, 4)) for x in self.hourly_rates()]},
            "staffing": staffing,
        }
        if policy:
            out["policy"] = policy
        return out

    def report(self) -> dict[str, Any]:
        """JSON-able summary of every estimate."""
        return {
            "source": self.source,
            "timezone": self.timezone,
            "start": str(self.start),
            "end": str(self.end),
            "arrivals": self.n,
            "days_observed": len(self.daily),
            "mean_daily_arrivals": float(self.daily["arrivals"].mean()) if len(self.daily) else 0,
            "staffing_method": self.staffing_method,
            "classes": [
                {
                    "name": c.name,
                    "n": c.n,
                    "share": c.share,
                    "handle": c.handle.summary(),
                    "patience": c.patience.summary() if c.patience else None,
                    "touches": c.touches,
                    "customer_wait": c.customer_wait.summary() if c.customer_wait else None,
                }
                for c in self.classes
            ],
            "notes": self.notes,
            **self.extra,
        }


def _next_monday(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    loc = pd.Timestamp(ts).tz_convert(tz).normalize()
    loc = loc + pd.Timedelta(days=(7 - loc.weekday()) % 7 or 7)
    return loc.tz_convert("UTC")


def weekly_mean(staffing: pd.DataFrame, tz: str, interval_minutes: int) -> list[float]:
    """Mean agents per interval of the week (local), over the intervals present."""
    loc = pd.to_datetime(staffing["interval_start"], utc=True).dt.tz_convert(tz)
    slot = (
        (loc.dt.day_of_week * 1440 + loc.dt.hour * 60 + loc.dt.minute) // interval_minutes
    ).to_numpy()
    n = WEEK_MINUTES // interval_minutes
    tot = np.bincount(slot, weights=staffing["agents"].to_numpy(dtype=float), minlength=n)
    cnt = np.bincount(slot, minlength=n)
    return [float(x) for x in np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)]


def fit_calls(
    calls: pd.DataFrame,
    *,
    tz: str = "Asia/Jerusalem",
    interval_minutes: int = 60,
    staffing_method: StaffingMethod = "available",
    gap_seconds: float = 1800.0,
    source: str = "call log",
    min_class_size: int = 200,
) -> FitResult:
    """Fit a scenario from a call log (see :func:`slarisk.data.calllog.load_call_log`).

    Arrivals are calls that asked for an agent (queued or served), timed at the VRU exit.
    Classes are the customer priorities (``high`` = code 2, ``regular`` = 0/1), each with its
    handle time (served calls with a named agent) and patience (queued calls, censored).
    """
    if calls.empty:
        raise InputError("no calls to fit")
    want = calls.loc[calls["reached_queue"]]
    if want.empty:
        raise InputError("no call asked for an agent (no queued or served calls)")
    prio = call_priority(want["priority"])
    classes: list[ClassFit] = []
    notes: list[str] = []
    all_handle = want.loc[want["served"] & (want["server"] != "NO_SERVER"), "service_seconds"]
    for pname in ("high", "regular"):
        sub = want.loc[prio == pname]
        if sub.empty:
            continue
        h = sub.loc[sub["served"] & (sub["server"] != "NO_SERVER"), "service_seconds"]
        q = sub.loc[sub["queued"]]
        if len(h) < min_class_size or q["abandoned"].sum() == 0:
            notes.append(f"class {pname}: {len(h)} services; pooled handle/patience used")
            h = all_handle
            q = want.loc[want["queued"]]
        classes.append(
            ClassFit(
                name=pname,
                priority=pname,
                tier="unknown",
                channel="phone",
                n=len(sub),
                share=len(sub) / len(want),
                handle=fit_duration(h, what=f"handle times of class {pname}"),
                patience=fit_patience(q["wait_seconds"], q["abandoned"]),
            )
        )
    staffing = estimate_staffing(calls, interval_minutes, staffing_method, gap_seconds=gap_seconds)
    by_type = {
        t: fit_duration(g, what=f"handle times of {t}").summary()
        for t, g in all_handle.groupby(want.loc[all_handle.index, "call_type"])
        if len(g) >= 30
    }
    return FitResult(
        source=source,
        timezone=tz,
        interval_minutes=interval_minutes,
        start=want["vru_exit_at"].min(),
        end=want["vru_exit_at"].max(),
        n=len(want),
        profile=arrival_profile(want["vru_exit_at"], tz, interval_minutes),
        daily=daily_totals(want["vru_exit_at"], tz),
        classes=classes,
        staffing=staffing,
        weekly_agents=weekly_mean(staffing, tz, interval_minutes),
        staffing_method=staffing_method,
        notes=notes,
        extra={
            "handle_by_call_type": by_type,
            "abandonment_of_queued": float(want.loc[want["queued"], "abandoned"].mean()),
            "abandonment_of_arrivals": float(want["abandoned"].mean()),
            "quarantine_note": "see the loader's quarantine for rejected rows",
        },
    )


DEFAULT_PAUSE_STATUSES: tuple[str, ...] = ("pending", "on_hold", "awaiting_customer", "waiting")


def pause_durations(events: pd.DataFrame, pause_statuses: Sequence[str]) -> pd.DataFrame:
    """Durations (s) of pause periods: from an event whose status pauses to the ticket's next
    event. Columns ``ticket_id, start, seconds``; a trailing open pause is dropped."""
    ev = events.sort_values(["ticket_id", "at"], kind="stable")
    at = pd.to_datetime(ev["at"], utc=True)
    nxt = at.shift(-1)
    same = ev["ticket_id"].shift(-1) == ev["ticket_id"]
    m = ev["status"].astype(str).isin(list(pause_statuses)) & same & nxt.notna()
    secs = (nxt[m] - at[m]).dt.total_seconds()
    return pd.DataFrame({"ticket_id": ev.loc[m, "ticket_id"], "start": at[m], "seconds": secs})


def fit_tickets(
    tickets: pd.DataFrame,
    events: pd.DataFrame | None = None,
    staffing: pd.DataFrame | None = None,
    *,
    tz: str = "UTC",
    interval_minutes: int = 60,
    pause_statuses: Sequence[str] = DEFAULT_PAUSE_STATUSES,
    default_handle_seconds: float | None = None,
    min_class_size: int = 30,
    target_occupancy: float = 0.85,
    source: str = "tickets",
) -> FitResult:
    """Fit a scenario from canonical tickets (+ status events, + interval staffing).

    Classes are (priority, tier, channel) combinations with at least ``min_class_size``
    tickets (rarer ones are left out and reported). Handle time per touch comes from the
    ``handle_seconds`` column (the ticket's total effort / touches, resolved tickets only; else
    ``default_handle_seconds``, exponential); touches from ``touches`` (else from events:
    1 + number of pauses); customer waits from the pause periods in the events (per class when
    it has >= 30, else pooled). Classes whose tickets can abandon (``abandoned`` and
    ``wait_seconds`` columns, >= 5 abandonments) become synchronous with a censored patience
    fit. Staffing: the given table's weekly mean, else the offered load per interval of the
    week / ``target_occupancy`` (noted in the result).
    """
    if tickets.empty:
        raise InputError("no tickets to fit")
    t = tickets.copy()
    for col in ("priority", "tier", "channel"):
        if col not in t:
            t[col] = "unknown"
        t[col] = t[col].astype(str)
    has_handle = "handle_seconds" in t and t["handle_seconds"].notna().sum() >= 2
    if not has_handle and default_handle_seconds is None:
        raise InputError(
            "tickets have no handle_seconds column: give a default handle time",
            field="handle_seconds",
        )
    pauses = (
        pause_durations(events, pause_statuses)
        if events is not None and len(events)
        else pd.DataFrame({"ticket_id": [], "start": [], "seconds": []})
    )
    if "touches" in t and t["touches"].notna().any():
        touches = pd.to_numeric(t["touches"], errors="coerce").fillna(1).clip(lower=1).astype(int)
    else:
        npause = pauses.groupby("ticket_id").size()
        touches = 1 + t["ticket_id"].map(npause).fillna(0).astype(int)
    wait_fit = (
        fit_duration(pauses["seconds"], what="customer-wait pauses") if len(pauses) >= 2 else None
    )
    key = t["priority"] + "|" + t["tier"] + "|" + t["channel"]
    counts = key.value_counts()
    kept = counts[counts >= min_class_size]
    notes: list[str] = []
    if kept.empty:
        kept = counts.iloc[:1]
    dropped = int(counts.sum() - kept.sum())
    if dropped:
        notes.append(f"{dropped} tickets in classes under {min_class_size} tickets left out")
    classes: list[ClassFit] = []
    total = int(kept.sum())
    # completed work only: resolved, not abandoned (open tickets have partial touches/effort)
    done = t["resolved_at"].notna() if "resolved_at" in t else pd.Series(True, index=t.index)
    ab = (
        t["abandoned"].fillna(False).astype(bool)
        if "abandoned" in t
        else pd.Series(False, index=t.index)
    )
    done &= ~ab
    has_wait = "wait_seconds" in t and ab.any()
    per_touch = (
        pd.to_numeric(t["handle_seconds"], errors="coerce") / touches if has_handle else None
    )
    pause_cls = pauses["ticket_id"].map(pd.Series(key.to_numpy(), index=t["ticket_id"]))
    for k, n in kept.items():
        m = key == k
        pr, tier, ch = str(k).split("|")
        n = int(str(n))
        if per_touch is not None:
            h = per_touch[m & done & (per_touch > 0)].dropna()
            if len(h) < 2:
                h = per_touch[done & (per_touch > 0)].dropna()
            handle = fit_duration(h, what=f"handle times of {k}")
        else:
            handle = DurationFit(
                family="exponential",
                mean=float(default_handle_seconds or 0),
                params={"mean": float(default_handle_seconds or 0)},
                n=0,
                aic={},
                quantiles={},
            )
        patience = None
        if has_wait and int(ab[m].sum()) >= 5:
            w = pd.to_numeric(t.loc[m, "wait_seconds"], errors="coerce")
            ok = w.notna() & (w > 0)
            patience = fit_patience(w[ok], ab[m][ok], families=("exponential",))
        tc = touches[m & done].value_counts(normalize=True).sort_index()
        freq = {int(str(a)): float(b) for a, b in tc.items()} or {1: 1.0}
        cw = wait_fit
        mine = pauses.loc[pause_cls == k, "seconds"]
        if len(mine) >= 30:
            cw = fit_duration(mine, what=f"customer-wait pauses of {k}")
        if patience is not None:
            freq = {1: 1.0}  # a synchronous contact: one touch, it abandons instead of waiting
        elif max(freq) > 1 and cw is None:
            notes.append(f"class {k}: several touches but no pause events; one touch assumed")
            freq = {1: 1.0}
        name = "-".join(x for x in (pr, tier, ch) if x != "unknown") or "all"
        classes.append(
            ClassFit(
                name=name,
                priority=pr,
                tier=tier,
                channel=ch,
                n=int(n),
                share=int(n) / total,
                handle=handle,
                patience=patience,
                touches=freq,
                customer_wait=cw,
            )
        )
    created = pd.to_datetime(t["created_at"], utc=True)
    profile = arrival_profile(created, tz, interval_minutes)
    if staffing is not None and len(staffing):
        weekly = weekly_mean(staffing, tz, interval_minutes)
        method = "given staffing (weekly mean)"
    else:
        work = sum(
            c.share * c.handle.mean * sum(k * p for k, p in (c.touches or {1: 1.0}).items())
            for c in classes
        )
        load = profile["mean_arrivals"].to_numpy() * work / (interval_minutes * 60.0)
        weekly = [float(np.ceil(x / target_occupancy)) if x > 0 else 0.0 for x in load]
        method = f"offered load / occupancy {target_occupancy}"
        notes.append("no staffing given: weekly roster = ceil(offered load / target occupancy)")
    return FitResult(
        source=source,
        timezone=tz,
        interval_minutes=interval_minutes,
        start=created.min(),
        end=created.max(),
        n=len(t),
        profile=profile,
        daily=daily_totals(created, tz),
        classes=classes,
        staffing=staffing,
        weekly_agents=weekly,
        staffing_method=method,
        notes=notes,
        extra={"pauses": len(pauses)},
    )


def write_scenario(mapping: dict[str, Any], path: str | Any) -> None:
    """Write a scenario mapping as YAML (validated first with the scenario model)."""
    from pathlib import Path

    import yaml

    from slarisk.capacity.scenario import scenario_from_dict

    p = Path(path)
    scenario_from_dict(mapping, path=str(p), base_dir=str(p.parent))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        yaml.safe_dump(mapping, sort_keys=False, width=100, default_flow_style=None),
        encoding="utf-8",
    )


# --- real-data validation ----------------------------------------------------------------------
@dataclass(frozen=True)
class FitValidation:
    """Observed vs predicted abandonment and mean wait of a test period.

    ``cells``: one row per (local date, hour) with observed ``calls, abandoned, wait_sum`` and,
    per staffing method M, ``agents_M``, ``sim_abandoned_M``, ``sim_wait_sum_M`` (means over
    replications), ``ea_abandoned_M``, ``ea_wait_sum_M`` (Erlang A expectations).
    ``by_hour``: pooled per hour of day; ``errors``: one row per (method, model) with MAE and
    relative errors; ``fit``: the training fit.
    """

    cells: pd.DataFrame
    by_hour: pd.DataFrame
    errors: pd.DataFrame
    fit: FitResult
    methods: tuple[str, ...]
    notes: list[str]


def _hour_cells(times: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(tz).dt.floor("h")


def validate_call_fit(
    train: pd.DataFrame,
    test: pd.DataFrame,
    workdir: Any,
    *,
    tz: str = "Asia/Jerusalem",
    methods: Sequence[str] = ("distinct", "span", "available", "span_trained"),
    replications: int = 3,
    seed: int = 0,
    gap_seconds: float = 1800.0,
    min_calls_hour: int = 200,
    progress: Any = None,
) -> FitValidation:
    """Fit on ``train`` calls, predict ``test``: replayed test arrivals + staffing estimated
    from the test period's service records, simulated (SimPy engine) and by Erlang A.

    Staffing methods: those of :func:`estimate_staffing`, plus ``span_trained`` = the test
    period's ``span`` times the training period's ratio available/span per hour of day (uses
    no queue information of the test period). ``workdir`` receives the replay tickets and
    roster files the scenario refers to.
    """
    from pathlib import Path

    from slarisk.capacity.erlang import erlang_a_metrics
    from slarisk.capacity.scenario import scenario_from_dict
    from slarisk.capacity.sim import simulate

    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    fitted = fit_calls(
        train, tz=tz, staffing_method="available", gap_seconds=gap_seconds, source="training calls"
    )
    want = test.loc[test["reached_queue"]].copy()
    if want.empty:
        raise InputError("no test calls asked for an agent")
    tickets = calls_to_tickets(test)
    tickets.to_parquet(wd / "replay_tickets.parquet", index=False)
    want["cell"] = _hour_cells(want["vru_exit_at"], tz)
    cells = want.groupby("cell").agg(
        calls=("abandoned", "size"),
        abandoned=("abandoned", "sum"),
        wait_sum=("wait_seconds", "sum"),
    )
    lo = pd.Timestamp(want["vru_exit_at"].min()).tz_convert(tz).normalize().tz_convert("UTC")
    hi = pd.Timestamp(want["vru_exit_at"].max()).tz_convert(tz).normalize().tz_convert("UTC")
    hi = hi + pd.Timedelta(days=1)
    served_all = train.loc[train["served"] & (train["server"] != "NO_SERVER"), "service_seconds"]
    aht = float(served_all.mean())
    q = train.loc[train["queued"]]
    patience = fit_patience(q["wait_seconds"], q["abandoned"], families=("exponential",)).mean
    # training availability ratio per hour of day (for span_trained)
    tr_span = estimate_staffing(train, 60, "span", gap_seconds=gap_seconds)
    tr_av = estimate_staffing(train, 60, "available", gap_seconds=gap_seconds)
    hod = tr_span["interval_start"].dt.tz_convert(tz).dt.hour
    ratio = (tr_av["agents"].groupby(hod).sum() / tr_span["agents"].groupby(hod).sum()).fillna(1.0)
    base = {
        "name": "validation",
        "start": lo.isoformat(),
        "timezone": tz,
        "horizon_hours": (hi - lo).total_seconds() / 3600.0,
        "dispatch": "fifo",
        "drain_limit_hours": 24.0,
        "classes": [c.spec("seconds") for c in fitted.classes],
        "arrivals": {
            "replay": "replay_tickets.parquet",
            "replay_default_class": fitted.classes[-1].name,
        },
    }
    notes = [
        f"Erlang A inputs: pooled mean handle {aht:.1f} s, exponential patience {patience:.1f} s",
        f"simulation: {replications} replication(s), seed {seed}, FIFO, classes "
        + ", ".join(
            f"{c.name} (handle {c.handle.family} {c.handle.mean:.0f} s, patience "
            f"{c.patience.mean if c.patience else 0:.0f} s)"
            for c in fitted.classes
        ),
    ]
    for mi, m in enumerate(methods):
        if m == "span_trained":
            st = estimate_staffing(test, 60, "span", gap_seconds=gap_seconds, start=lo, end=hi)
            h = st["interval_start"].dt.tz_convert(tz).dt.hour
            st["agents"] = st["agents"] * h.map(ratio).fillna(1.0).to_numpy()
        else:
            st = estimate_staffing(
                test,
                60,
                m,  # type: ignore[arg-type]
                gap_seconds=gap_seconds,
                start=lo,
                end=hi,
            )
        st = st[(st["interval_start"] >= lo) & (st["interval_start"] < hi)]
        roster = dither_staffing(st, 6)
        roster.to_parquet(wd / f"roster_{m}.parquet", index=False)
        sc = scenario_from_dict(
            {
                **base,
                "staffing": {"teams": [{"name": "agents"}], "roster_file": f"roster_{m}.parquet"},
            },
            path=str(wd / f"scenario_{m}.yaml"),
            base_dir=str(wd),
        )
        res = simulate(sc, replications=replications, seed=seed)
        simt = res.tickets
        simt = simt[~simt["backlog"]] if "backlog" in simt else simt
        obs_cell = pd.Series(want["cell"].to_numpy(), index=want["call_key"].to_numpy())
        cell = obs_cell.reindex(simt["ticket_id"].to_numpy()).to_numpy()
        w = simt["wait_seconds"].to_numpy(dtype=float)
        agg = (
            pd.DataFrame(
                {
                    "cell": cell,
                    "ab": simt["abandoned"].to_numpy(dtype=float),
                    "w": np.where(np.isfinite(w), w, np.nan),
                }
            )
            .groupby("cell")
            .agg(ab=("ab", "sum"), w=("w", "sum"))
        )
        cells[f"agents_{m}"] = (
            st.set_index(st["interval_start"].dt.tz_convert(tz))["agents"]
            .reindex(cells.index)
            .fillna(0.0)
            .to_numpy()
        )
        cells[f"sim_abandoned_{m}"] = (
            agg["ab"].reindex(cells.index).fillna(0).to_numpy() / replications
        )
        cells[f"sim_wait_sum_{m}"] = (
            agg["w"].reindex(cells.index).fillna(0).to_numpy() / replications
        )
        lam = cells["calls"].to_numpy(dtype=float) / 3600.0
        n = np.maximum(cells[f"agents_{m}"].to_numpy(dtype=float), 1e-3)
        ea = erlang_a_metrics(n, lam, aht, patience, served_wait=False)
        cells[f"ea_abandoned_{m}"] = ea.p_abandon * cells["calls"].to_numpy()
        cells[f"ea_wait_sum_{m}"] = ea.mean_wait * cells["calls"].to_numpy()
        if progress is not None:
            progress(mi + 1, len(methods))
    cells = cells.reset_index()
    cells["date"] = cells["cell"].dt.date.astype(str)
    cells["hour"] = cells["cell"].dt.hour
    by_hour, errors = _validation_errors(cells, list(methods), min_calls_hour)
    return FitValidation(cells, by_hour, errors, fitted, tuple(methods), notes)


def _validation_errors(
    cells: pd.DataFrame, methods: list[str], min_calls_hour: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    sums = [
        c
        for c in cells.columns
        if c.startswith(("sim_", "ea_")) or c in ("calls", "abandoned", "wait_sum")
    ]
    agents = [c for c in cells.columns if c.startswith("agents_")]
    g = cells.groupby("hour")
    by_hour = g[sums].sum().join(g[agents].mean())
    by_hour = by_hour[by_hour["calls"] >= min_calls_hour]
    out = pd.DataFrame(index=by_hour.index)
    out["calls"] = by_hour["calls"]
    out["obs_abandon"] = by_hour["abandoned"] / by_hour["calls"]
    out["obs_wait"] = by_hour["wait_sum"] / by_hour["calls"]
    rows = []
    tot_calls = cells["calls"].sum()
    obs_ab_all = cells["abandoned"].sum() / tot_calls
    obs_w_all = cells["wait_sum"].sum() / tot_calls
    big = cells["calls"] >= 10
    for m in methods:
        out[f"agents_{m}"] = by_hour[f"agents_{m}"]
        for model in ("sim", "ea"):
            ab = by_hour[f"{model}_abandoned_{m}"] / by_hour["calls"]
            wt = by_hour[f"{model}_wait_sum_{m}"] / by_hour["calls"]
            out[f"{model}_abandon_{m}"] = ab
            out[f"{model}_wait_{m}"] = wt
            c = cells[big]
            cell_ab_err = (c[f"{model}_abandoned_{m}"] - c["abandoned"]).abs() / c["calls"]
            cell_w_err = (c[f"{model}_wait_sum_{m}"] - c["wait_sum"]).abs() / c["calls"]
            pred_ab_all = cells[f"{model}_abandoned_{m}"].sum() / tot_calls
            pred_w_all = cells[f"{model}_wait_sum_{m}"].sum() / tot_calls
            rows.append(
                {
                    "staffing": m,
                    "model": "simulation" if model == "sim" else "erlang_a",
                    "abandon_mae_pp_by_hour": 100 * float((ab - out["obs_abandon"]).abs().mean()),
                    "abandon_rel_err_by_hour": float(
                        ((ab - out["obs_abandon"]).abs() / out["obs_abandon"]).mean()
                    ),
                    "wait_mae_s_by_hour": float((wt - out["obs_wait"]).abs().mean()),
                    "wait_rel_err_by_hour": float(
                        ((wt - out["obs_wait"]).abs() / out["obs_wait"]).mean()
                    ),
                    "abandon_mae_pp_cells": 100
                    * float(np.average(cell_ab_err, weights=c["calls"])),
                    "wait_mae_s_cells": float(np.average(cell_w_err, weights=c["calls"])),
                    "abandon_overall_obs": float(obs_ab_all),
                    "abandon_overall_pred": float(pred_ab_all),
                    "abandon_overall_ratio": float(pred_ab_all / obs_ab_all)
                    if obs_ab_all
                    else math.nan,
                    "wait_overall_obs": float(obs_w_all),
                    "wait_overall_pred": float(pred_w_all),
                }
            )
    return out.reset_index(), pd.DataFrame(rows)


def validation_plot_png(v: FitValidation) -> bytes:
    """PNG: observed vs predicted abandonment and mean wait by hour of day."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = v.by_hour
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    styles = {"sim": "-", "ea": "--"}
    for ax, what, scale, label in (
        (axes[0], "abandon", 100.0, "abandonment (% of calls)"),
        (axes[1], "wait", 1.0, "mean wait (s, all calls)"),
    ):
        ax.plot(h["hour"], h[f"obs_{what}"] * scale, "ko-", lw=2, label="observed")
        for m in v.methods:
            for model, ls in styles.items():
                ax.plot(
                    h["hour"],
                    h[f"{model}_{what}_{m}"] * scale,
                    ls,
                    label=f"{'simulation' if model == 'sim' else 'Erlang A'} / {m}",
                )
        ax.set_xlabel("hour of day (local)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def validation_html(v: FitValidation) -> str:
    """Self-contained HTML report (plot embedded as base64, error and hourly tables)."""
    import base64
    import html

    png = base64.b64encode(validation_plot_png(v)).decode("ascii")
    err = v.errors.copy()
    num = err.select_dtypes("number").columns
    err[num] = err[num].round(3)
    hour = v.by_hour.copy()
    hour[hour.select_dtypes("number").columns] = hour.select_dtypes("number").round(3)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in v.notes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>slarisk fit validation</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>"
        "</head><body><h1>Fit validation: observed vs predicted, by hour of day</h1>"
        f"<ul>{notes}</ul><img src='data:image/png;base64,{png}' style='max-width:100%'/>"
        "<h2>Errors</h2>"
        "<p>MAE / relative error over hours of day (pooled over the test period); "
        "cells = (date, hour) cells with at least 10 calls, weighted by calls.</p>"
        f"{err.to_html(index=False)}<h2>By hour of day</h2>{hour.to_html(index=False)}"
        "</body></html>"
    )
