"""A fitted scenario: per-class fits (:class:`ClassFit`), everything fitted from a history
(:class:`FitResult`, whose ``scenario_dict()`` is a :mod:`slarisk.capacity.scenario` mapping),
the fit from canonical tickets (:func:`fit_tickets`) and :func:`write_scenario`.

Durations are seconds in the fits and ``unit`` (minutes by default) in the scenario mapping.
The call-log fit is :func:`slarisk.capacity.call_log_fit.fit_calls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from slarisk.capacity.arrivals import arrival_profile, daily_totals
from slarisk.capacity.durations import DurationFit, fit_duration, round_sig
from slarisk.capacity.lifecycle_check import peak_roster
from slarisk.capacity.lifecycle_fit import LifecycleFit, fit_lifecycles
from slarisk.capacity.patience import PatienceFit, fit_patience
from slarisk.capacity.scenario import scenario_from_dict
from slarisk.capacity.staffing_estimate import weekly_mean
from slarisk.errors import InputError
from slarisk.sla.policy import Policy

DEFAULT_PAUSE_STATUSES: tuple[str, ...] = ("pending", "on_hold", "awaiting_customer", "waiting")


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
    lifecycle: LifecycleFit | None = None

    def mean_touches(self) -> float:
        """Expected agent touches per ticket."""
        if self.lifecycle is not None:
            return self.lifecycle.mean_touches()
        return sum(k * p for k, p in (self.touches or {1: 1.0}).items())

    def spec(self, unit: str = "minutes", max_empirical: int = 100) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "priority": self.priority,
            "tier": self.tier,
            "channel": self.channel,
            "share": round_sig(self.share),
            "mode": "sync" if self.patience is not None else "async",
            "handle": self.handle.spec(unit),
        }
        if self.patience is not None:
            out["patience"] = self.patience.spec(unit)
        if self.lifecycle is not None:
            out["mode"] = "async"
            out["lifecycle"] = self.lifecycle.spec()
            return out
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
    #: per team (in dispatch order): the class names it serves (["*"] = every class) and its
    #: mean agents per interval of the week; None = one team `agents` with `weekly_agents`.
    teams: dict[str, tuple[list[str], list[float]]] | None = None

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
        dispatch: str = "fifo",
    ) -> dict[str, Any]:
        """Scenario mapping in :mod:`slarisk.capacity.scenario` format."""
        st = start if start is not None else _next_monday(self.end, self.timezone)
        staffing: dict[str, Any] = {"teams": [{"name": "agents", "serves": ["*"]}]}
        if self.teams is not None:
            staffing = {
                "teams": [{"name": t, "serves": serves} for t, (serves, _) in self.teams.items()],
                "weekly": [
                    {
                        "team": t,
                        "interval_minutes": self.interval_minutes,
                        "agents": [round_sig(round(a, 2)) for a in agents],
                    }
                    for t, (_, agents) in self.teams.items()
                ],
            }
        elif self.weekly_agents is not None:
            staffing["weekly"] = [
                {
                    "team": "agents",
                    "interval_minutes": self.interval_minutes,
                    "agents": [round_sig(round(a, 2)) for a in self.weekly_agents],
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
            "dispatch": dispatch,
            "classes": [c.spec(unit) for c in self.classes],
            "arrivals": {"hourly_rates": [round_sig(round(x, 4)) for x in self.hourly_rates()]},
            "staffing": staffing,
        }
        if policy:
            out["policy"] = policy
        return out

    def backtest_dict(
        self,
        roster_file: str,
        *,
        name: str = "backtest",
        unit: str = "minutes",
        policy: str | None = None,
        dispatch: str = "fifo",
    ) -> dict[str, Any]:
        """A scenario over the history's own period (local dates of the first to the last
        arrival): the fitted classes, profile and teams, each date's volume as observed (a
        spike per date with multiplier = its arrivals / the profile's mean for its weekday)
        and the staffing actually worked (``roster_file``, the staffing table as written in
        the scenario). ``drain`` is off, like an export: what is open at the end stays open.
        Simulating it checks the fitted behaviour against the history it came from."""
        if self.staffing is None or not len(self.staffing):
            raise InputError("a backtest needs the staffing table", field="staffing")
        out = self.scenario_dict(name=name, unit=unit, policy=policy, dispatch=dispatch)
        days = self.daily.copy()
        first = pd.Timestamp(days["date"].min()).tz_localize(self.timezone)
        n_days = int((pd.Timestamp(days["date"].max()) - pd.Timestamp(days["date"].min())).days) + 1
        per_wd = np.bincount(
            np.arange(168) // 24, weights=np.asarray(self.hourly_rates()), minlength=7
        )
        observed = dict(zip(pd.to_datetime(days["date"]), days["arrivals"], strict=True))
        spikes = []
        for k in range(n_days):
            d0 = (pd.Timestamp(first.tz_localize(None)) + pd.Timedelta(days=k)).tz_localize(
                self.timezone
            )
            d1 = (d0.tz_localize(None) + pd.Timedelta(days=1)).tz_localize(self.timezone)
            expected = per_wd[d0.day_of_week]
            n = float(observed.get(pd.Timestamp(d0.tz_localize(None)), 0))
            mult = min(n / expected, 100.0) if expected > 0 else 1.0
            spikes.append(
                {
                    "name": f"{d0:%Y-%m-%d}",
                    "start": d0.tz_convert("UTC").isoformat(),
                    "end": d1.tz_convert("UTC").isoformat(),
                    "multiplier": round_sig(mult),
                }
            )
        teams = out["staffing"]["teams"]
        if self.teams is None:
            names = list(dict.fromkeys(self.staffing["team"].astype(str)))
            teams = [{"name": t, "serves": ["*"]} for t in names]
        out.update(
            start=first.tz_convert("UTC").isoformat(),
            horizon_days=float(n_days),
            drain=False,
            staffing={"teams": teams, "roster_file": roster_file},
        )
        out["arrivals"]["spikes"] = spikes
        out["description"] = "backtest of " + out["description"]
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
                    "lifecycle": c.lifecycle.summary() if c.lifecycle else None,
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


def write_scenario(mapping: dict[str, Any], path: str | Any) -> None:
    """Write a scenario mapping as YAML (validated first with the scenario model)."""
    p = Path(path)
    scenario_from_dict(mapping, path=str(p), base_dir=str(p.parent))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        yaml.safe_dump(mapping, sort_keys=False, width=100, default_flow_style=None),
        encoding="utf-8",
    )


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


def touch_distribution(finished: pd.Series, open_so_far: pd.Series) -> dict[int, float]:
    """Touch count -> probability, from the counts of finished tickets and the touches done so
    far of tickets still open (each needs at least one more: it is not resolved).

    A discrete Kaplan-Meier estimate: the hazard of stopping after touch k is (finished tickets
    with k touches) / (finished tickets with >= k + open tickets with >= k done). Counting
    finished tickets only under-counts touches: a ticket with many touches is more likely to
    be still open at the end of an export (on the demo history, P4 e-mail 1.71 touches against
    1.80 true; the estimate gives 1.78). Mass left after the largest count observed goes to it.
    """
    done = finished.to_numpy(dtype=np.int64)
    if not done.size:
        return {1: 1.0}
    still = open_so_far.to_numpy(dtype=float)
    still = still[np.isfinite(still)].astype(np.int64)
    top = int(done.max())
    n_done = np.bincount(done, minlength=top + 2)
    n_open = np.bincount(np.clip(still, 0, top + 1), minlength=top + 2)
    # at risk at k: finished with >= k, open with >= k done (known to go past k)
    done_ge = np.cumsum(n_done[::-1])[::-1]
    open_ge = np.cumsum(n_open[::-1])[::-1]
    out: dict[int, float] = {}
    alive = 1.0
    for k in range(1, top + 1):
        risk = done_ge[k] + open_ge[k]
        if n_done[k] and risk:
            p = alive * n_done[k] / risk
            out[k] = p
            alive -= p
    if alive > 1e-12:
        out[top] = out.get(top, 0.0) + alive
    total = sum(out.values())
    return {k: v / total for k, v in sorted(out.items())}


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
    lifecycle: bool = False,
    policy: Policy | None = None,
) -> FitResult:
    """Fit a scenario from canonical tickets (+ status events, + interval staffing).

    Classes are (priority, tier, channel) combinations with at least ``min_class_size``
    tickets (rarer ones are left out and reported). Handle time per touch comes from the
    ``handle_seconds`` column (the ticket's total effort / touches, resolved tickets only; else
    ``default_handle_seconds``, exponential); touches from ``touches`` (open tickets' touches so far
    count as censored: :func:`touch_distribution`; else from events: 1 + number of pauses,
    finished tickets only); customer waits from the pause periods in the events (per class when
    it has >= 30, else pooled). Classes whose tickets can abandon (``abandoned`` and
    ``wait_seconds`` columns, >= 5 abandonments) become synchronous with a censored patience
    fit. Staffing: the given table's weekly mean, else the offered load per interval of the
    week / ``target_occupancy`` (noted in the result).

    With ``lifecycle`` (needs ``events``) each class also gets the phases outside the agent
    queue (pickup, team stints, hand-offs from ``reassignment_count``, outside waits by
    status, reopens: :mod:`slarisk.capacity.lifecycle_fit`), counted on the calendars of
    ``policy``'s resolution targets (wall clock without a policy); its touches come from the
    lifecycle, not from ``touches``/pauses.
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
    so_far = None  # touches done so far (open tickets: at least one more to come)
    if "touches" in t and t["touches"].notna().any():
        so_far = pd.to_numeric(t["touches"], errors="coerce")
        touches = so_far.fillna(1).clip(lower=1).astype(int)
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
        if so_far is not None:
            freq = touch_distribution(touches[m & done], so_far[m & ~done & ~ab].dropna())
        else:
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
        name = _class_name(pr, tier, ch)
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
    if lifecycle:
        classes = _with_lifecycles(t, key, events, classes, policy, notes)
    created = pd.to_datetime(t["created_at"], utc=True)
    profile = arrival_profile(created, tz, interval_minutes)
    teams = None
    if staffing is not None and len(staffing):
        weekly = weekly_mean(staffing, tz, interval_minutes)
        method = "given staffing (weekly mean)"
        teams = _team_fits(t, key, classes, staffing, tz, interval_minutes, notes)
    else:
        work = sum(c.share * c.handle.mean * c.mean_touches() for c in classes)
        per = profile["mean_arrivals"].to_numpy()
        method = f"offered load / occupancy {target_occupancy}"
        load = per * work / (interval_minutes * 60.0)
        weekly = [float(np.ceil(x / target_occupancy)) if x > 0 else 0.0 for x in load]
        notes.append("no staffing given: weekly roster = ceil(offered load / target occupancy)")
    result = FitResult(
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
        teams=teams,
    )
    if lifecycle and staffing is None:
        # touches are timed by the lifecycle (calendars), not by arrivals: staff the peaks
        hourly = peak_roster(result.scenario_dict(), policy, occupancy=target_occupancy)
        weekly = [a for a in hourly for _ in range(60 // interval_minutes)]
        notes[-1] = "no staffing given: weekly roster = peak busy agents (lifecycle pilot run)"
        method = f"peak busy agents per hour of a 4-week pilot run / occupancy {target_occupancy}"
        result = replace(result, weekly_agents=weekly, staffing_method=method)
    return result


def _with_lifecycles(
    t: pd.DataFrame,
    key: pd.Series,
    events: pd.DataFrame | None,
    classes: list[ClassFit],
    policy: Policy | None,
    notes: list[str],
) -> list[ClassFit]:
    """The classes with their fitted lifecycles (one touch each, no customer-wait pauses)."""
    if events is None or not len(events):
        raise InputError("fitting the lifecycle needs status events", field="events")
    keys = [(f"{c.priority}|{c.tier}|{c.channel}", c.tier, c.priority) for c in classes]
    handle = {k: c.handle.mean for (k, _, _), c in zip(keys, classes, strict=True)}
    fits = fit_lifecycles(t, events, key, keys, handle, policy)
    if "reassignment_count" not in t:
        notes.append("lifecycle: no reassignment_count column, hand-offs not modelled")
    if policy is None:
        notes.append("lifecycle: no policy, durations fitted in wall-clock time")
    if "reopen_count" in t and fits:
        told = float(pd.to_numeric(t["reopen_count"], errors="coerce").fillna(0).mean())
        seen = sum(f.n * sum(k * p for k, p in f.reopens.items()) for f in fits.values())
        seen /= max(sum(f.n for f in fits.values()), 1)
        notes.append(
            f"lifecycle: {seen:.4f} reopens per ticket in the status events"
            f" (reopen_count column: {told:.4f})"
        )
    return [
        replace(c, lifecycle=fits.get(k), touches={1: 1.0}, customer_wait=None, patience=None)
        for (k, _, _), c in zip(keys, classes, strict=True)
    ]


def _class_name(priority: str, tier: str, channel: str) -> str:
    return "-".join(x for x in (priority, tier, channel) if x != "unknown") or "all"


def _team_fits(
    tickets: pd.DataFrame,
    key: pd.Series,
    classes: list[ClassFit],
    staffing: pd.DataFrame,
    tz: str,
    interval_minutes: int,
    notes: list[str],
) -> dict[str, tuple[list[str], list[float]]] | None:
    """Teams of the staffing table with their skills and weekly mean agents, or None (one
    pooled team) when the table has a single team or the tickets do not say who served them.

    A team named in the tickets' ``group`` serves the classes of those tickets (classes with
    at least 1% of their tickets in that group, else every class it has tickets of); a team
    no ticket names serves every class and is listed last (a generalist tier takes what the
    specialists leave).
    """
    names = list(dict.fromkeys(staffing["team"].astype(str)))
    if len(names) < 2 or "group" not in tickets:
        return None
    group = tickets["group"].astype(str)
    by_key = {f"{c.priority}|{c.tier}|{c.channel}": c.name for c in classes}
    share = pd.crosstab(key, group, normalize="index")
    serves: dict[str, list[str]] = {}
    for team in names:
        if team in share.columns:
            col = share[team]
            mine = [k for k in by_key if k in col.index and col[k] > 0]
            # classes with at least 1% of their tickets here; all of its classes when none has
            serves[team] = [by_key[k] for k in mine if col[k] >= 0.01] or [by_key[k] for k in mine]
        else:
            serves[team] = ["*"]
    served = {c for v in serves.values() for c in v}
    unserved = [c.name for c in classes if c.name not in served]
    if "*" not in served and unserved:
        notes.append(f"classes {unserved} name no staffed team: one pooled team fitted")
        return None
    order = [t for t in names if serves[t] != ["*"] and serves[t]] + [
        t for t in names if serves[t] == ["*"]
    ]
    dropped = [t for t in names if not serves[t]]
    if dropped:
        notes.append(f"teams {dropped} serve none of the fitted classes: left out")
    team_col = staffing["team"].astype(str)
    return {
        t: (serves[t], weekly_mean(staffing[team_col == t], tz, interval_minutes)) for t in order
    }
