"""Intraday reforecast: update the rest of today from the arrivals seen so far.

The rest of the day is the morning forecast's rest-of-day total times
``exp(wx * x + wp * p)``, spread over the remaining intervals by a blend of the forecast's own
shape and the recent profile of the same weekday. ``x`` is the log of (arrived + 1) /
(expected so far + 1), clipped to +-``MAX_LOG_RATIO``, and set to 0 when its size exceeds
``reject`` (a morning that far off is a different kind of day, e.g. a spike of calls at
opening before a quiet day, not a level to carry on); ``p`` is the same log ratio over the
earlier days of the same forecast run (a forecast running low all week), clipped alike.

:class:`IntradayRule` holds the weights (per group of weekdays with the same number of open
intervals, 0..1), ``reject`` and the profile's share ``shape``; :func:`learn_rule` learns them
on backtest days (least squares of the clipped rest-of-day log ratio on ``x`` and ``p`` per
group, then ``reject`` and ``shape`` by the lowest rest-of-day absolute error).
:func:`intraday_evaluation` scores the update with rules learned on earlier origins only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slarisk.forecast.backtest import SELECTED
from slarisk.forecast.events import unusual_days
from slarisk.forecast.series import QueueSeries, build_series

#: bound of the log running ratios used (0.3: each moves the rest of day by <= 35%).
MAX_LOG_RATIO = 0.3
#: candidates of ``reject`` (log ratio of the morning beyond which it is not used).
REJECT_GRID = (1.0, 2.0, math.inf)
#: candidates of ``shape`` (share of the recent weekday profile in the rest-of-day shape).
SHAPE_GRID = (0.0, 0.25, 0.5, 0.75)
#: same weekdays averaged into the recent profile (ordinary days only).
PROFILE_WEEKS = 6
#: fewest training days of a weekday group to learn its weights (else no update).
MIN_GROUP_DAYS = 4


@dataclass(frozen=True)
class IntradayRule:
    """How a day's arrivals so far update its rest (see module docstring).

    ``weights[weekday]`` = (weight of the morning ratio, weight of the earlier days' ratio),
    Monday = 0; a weekday not listed uses ``default``.
    """

    weights: Mapping[int, tuple[float, float]] = field(default_factory=dict)
    default: tuple[float, float] = (0.0, 0.0)
    reject: float = math.inf
    shape: float = 0.0

    @classmethod
    def of_weight(cls, weight: float) -> IntradayRule:
        """The plain rule: the morning ratio with one weight, no profile, nothing rejected."""
        return cls(default=(float(np.clip(weight, 0, 1)), 0.0))

    def for_weekday(self, weekday: int | None) -> tuple[float, float]:
        return self.weights.get(weekday, self.default) if weekday is not None else self.default

    @property
    def main_weight(self) -> float:
        """Weight of the morning ratio on the weekday group with the most weekdays."""
        if not self.weights:
            return self.default[0]
        values = list(self.weights.values())
        return max(values, key=values.count)[0]

    def to_dict(self) -> dict:
        return {
            "weights": {str(k): list(v) for k, v in self.weights.items()},
            "default": list(self.default),
            "reject": None if math.isinf(self.reject) else self.reject,
            "shape": self.shape,
        }

    @classmethod
    def from_dict(cls, body: Mapping) -> IntradayRule:
        reject = body.get("reject")
        return cls(
            weights={int(k): (float(v[0]), float(v[1])) for k, v in body["weights"].items()},
            default=(float(body["default"][0]), float(body["default"][1])),
            reject=math.inf if reject is None else float(reject),
            shape=float(body["shape"]),
        )


@dataclass(frozen=True)
class Reforecast:
    """Updated day forecast and how far the day runs from the morning forecast."""

    forecast: np.ndarray  # (slots,) counts: arrivals for known slots, updated expectation after
    factor: float  # update factor of the rest of day (1.12 = 12% above the morning forecast)
    running: float  # arrivals so far / morning forecast of the same intervals
    arrived: float
    expected: float


def _log_ratio(actual: float, expected: float) -> float:
    return float(np.log((actual + 1.0) / (expected + 1.0)))


def _signals(x: float, p: float, reject: float) -> tuple[float, float]:
    """The clipped morning ratio (0 beyond ``reject``) and earlier days' ratio."""
    xs = 0.0 if abs(x) > reject else float(np.clip(x, -MAX_LOG_RATIO, MAX_LOG_RATIO))
    return xs, float(np.clip(p, -MAX_LOG_RATIO, MAX_LOG_RATIO))


def reforecast_day(
    morning: np.ndarray,
    arrivals: np.ndarray,
    weight: float | IntradayRule,
    *,
    weekday: int | None = None,
    previous: tuple[float, float] = (0.0, 0.0),
    profile: np.ndarray | None = None,
) -> Reforecast:
    """Update ``morning`` (slots,) given ``arrivals`` of its first ``len(arrivals)`` slots.

    ``previous``: (arrivals, forecast) of the earlier days of the same forecast run;
    ``profile`` (slots,): the recent same-weekday profile (any scale), or None.
    """
    rule = weight if isinstance(weight, IntradayRule) else IntradayRule.of_weight(weight)
    n = len(arrivals)
    arrived = float(np.sum(arrivals))
    expected = float(np.sum(morning[:n]))
    running = (arrived + 1.0) / (expected + 1.0)
    p = _log_ratio(*previous) if previous[1] > 0 else 0.0
    xs, ps = _signals(math.log(running), p, rule.reject)
    wx, wp = rule.for_weekday(weekday)
    factor = float(np.exp(float(np.clip(wx, 0, 1)) * xs + float(np.clip(wp, 0, 1)) * ps))
    out = morning.astype(float) * factor
    rest = out[n:].sum()
    if profile is not None and rule.shape > 0 and rest > 0 and np.sum(profile[n:]) > 0:
        own = morning[n:] / morning[n:].sum()
        recent = profile[n:] / np.sum(profile[n:])
        out[n:] = rest * ((1 - rule.shape) * own + rule.shape * recent)
    out[:n] = arrivals
    return Reforecast(out, factor, running, arrived, expected)


@dataclass(frozen=True)
class DaySample:
    """One backtest day for learning and scoring: arrivals ``actual`` and morning forecast
    ``forecast`` of its open intervals, the first ``cut`` of them known."""

    weekday: int
    actual: np.ndarray
    forecast: np.ndarray
    cut: int
    previous: tuple[float, float] = (0.0, 0.0)  # (arrivals, forecast) of earlier run days
    profile: np.ndarray | None = None

    def signals(self, reject: float) -> tuple[float, float]:
        x = _log_ratio(float(self.actual[: self.cut].sum()), float(self.forecast[: self.cut].sum()))
        p = _log_ratio(*self.previous) if self.previous[1] > 0 else 0.0
        return _signals(x, p, reject)

    @property
    def rest_log_ratio(self) -> float:
        rest_y, rest_f = self.actual[self.cut :], self.forecast[self.cut :]
        return _log_ratio(float(rest_y.sum()), float(rest_f.sum()))

    def update(self, rule: IntradayRule) -> np.ndarray:
        """The reforecast of the rest of the day under ``rule``."""
        upd = reforecast_day(
            self.forecast,
            self.actual[: self.cut],
            rule,
            weekday=self.weekday,
            previous=self.previous,
            profile=self.profile,
        )
        return upd.forecast[self.cut :]


def _group_weights(samples: Sequence[DaySample], reject: float) -> dict[int, tuple[float, float]]:
    """Per weekday: least-squares weights (0..1, through the origin) of the clipped
    rest-of-day log ratio on the signals, pooled over weekdays with the same open length."""
    x = np.array([s.signals(reject) for s in samples])
    z = np.clip([s.rest_log_ratio for s in samples], -MAX_LOG_RATIO, MAX_LOG_RATIO)
    length = np.array([len(s.actual) for s in samples])
    weekday = np.array([s.weekday for s in samples])
    out: dict[int, tuple[float, float]] = {}
    for n in np.unique(length):
        m = length == n
        coef = (0.0, 0.0)
        if m.sum() >= MIN_GROUP_DAYS and np.any(x[m] != 0):
            sol = np.linalg.lstsq(x[m], z[m], rcond=None)[0]
            coef = (float(np.clip(sol[0], 0, 1)), float(np.clip(sol[1], 0, 1)))
        out |= {int(wd): coef for wd in np.unique(weekday[m])}
    return out


def learn_rule(samples: Sequence[DaySample]) -> IntradayRule:
    """The rule (weights, ``reject``, ``shape``) with the lowest rest-of-day absolute error
    on ``samples``; the plain no-update rule without samples."""
    if not samples:
        return IntradayRule()
    best, best_err = IntradayRule(), math.inf
    for reject in REJECT_GRID:
        weights = _group_weights(samples, reject)
        for shape in SHAPE_GRID:
            rule = IntradayRule(weights=weights, reject=reject, shape=shape)
            err = sum(float(np.abs(s.update(rule) - s.actual[s.cut :]).sum()) for s in samples)
            if err < best_err:
                best, best_err = rule, err
    return best


def recent_profile(
    series: QueueSeries, day: int, off_days: frozenset = frozenset()
) -> np.ndarray | None:
    """Mean counts (slots,) of the latest ``PROFILE_WEEKS`` ordinary same weekdays before
    ``day`` (fully observed, not off, total not unusual); None when there is none."""
    past = series.volume[:day]
    totals = np.where(np.isfinite(past).all(axis=1), past.sum(axis=1), np.nan)
    dates = series.dates(len(past))
    odd = unusual_days(totals, dates.day_of_week.to_numpy())
    rows = []
    for j in range(day - 7, -1, -7):
        if j < len(past) and np.isfinite(totals[j]) and totals[j] > 0 and not odd[j]:
            if dates[j].date() not in off_days:
                rows.append(past[j])
        if len(rows) == PROFILE_WEEKS:
            break
    return np.mean(rows, axis=0) if rows else None


def day_samples(
    forecasts: pd.DataFrame,
    series: Sequence[QueueSeries] = (),
    off_days: frozenset = frozenset(),
    share: float = 0.25,
) -> Iterator[tuple[pd.Timestamp, DaySample]]:
    """(origin, sample) of each backtest day with arrivals, cut once ``share`` of its volume
    has arrived, in origin order. With ``series``, samples carry the recent profile."""
    by_queue = {q.queue: q for q in series}
    frame = forecasts.assign(day=forecasts["interval_start"].dt.normalize())
    for _, run in frame.groupby(["origin", "queue"], sort=True):
        origin, queue = pd.Timestamp(run["origin"].iloc[0]), str(run["queue"].iloc[0])
        done_y = done_f = 0.0
        for _, g in run.groupby("day", sort=True):
            day = pd.Timestamp(g["day"].iloc[0])
            y = g["actual"].to_numpy(float)
            f = g[SELECTED].to_numpy(float)
            previous = (done_y, done_f)
            done_y, done_f = done_y + float(y.sum()), done_f + float(f.sum())
            if y.sum() <= 0 or f.sum() <= 0:
                continue
            cut = int(np.searchsorted(np.cumsum(y), share * y.sum())) + 1
            if cut >= len(y):
                continue
            profile = None
            q = by_queue.get(queue)
            if q is not None:
                full = recent_profile(q, q.day_index(day), off_days)
                if full is not None:
                    t = g["interval_start"]
                    slot = (t.dt.hour * 60 + t.dt.minute) // q.interval_minutes
                    profile = full[slot.to_numpy()]
            yield origin, DaySample(day.day_of_week, y, f, cut, previous, profile)


def intraday_evaluation(
    forecasts: pd.DataFrame,
    series: Sequence[QueueSeries] = (),
    off_days: frozenset = frozenset(),
    *,
    warmup: pd.DataFrame | None = None,
    share: float = 0.25,
    off: float = 0.10,
) -> pd.DataFrame:
    """Rest-of-day WAPE before/after reforecasting once ``share`` of the day's volume has
    arrived, for backtest days whose morning forecast of the whole day was off by more than
    ``off`` and for the others. Each origin's days use a rule learned on earlier origins'
    days only: the ``warmup`` origins' (the backtest's) and earlier evaluated ones."""
    rows = []
    samples = list(day_samples(forecasts, series, off_days, share))
    prior = []
    if warmup is not None and len(warmup):
        prior = list(day_samples(warmup, series, off_days, share))
    rules: dict[pd.Timestamp, IntradayRule] = {}
    for origin, s in samples:
        if origin not in rules:
            rules[origin] = learn_rule([t for o, t in [*prior, *samples] if o < origin])
        upd = s.update(rules[origin])
        y, f = s.actual[s.cut :], s.forecast[s.cut :]
        rows.append(
            {
                "off_day": abs(s.actual.sum() / s.forecast.sum() - 1) > off,
                "actual": y.sum(),
                "err_morning": np.abs(f - y).sum(),
                "err_reforecast": np.abs(upd - y).sum(),
            }
        )
    days = pd.DataFrame(rows)
    out = days.groupby("off_day")[["actual", "err_morning", "err_reforecast"]].sum()
    out["days"] = days.groupby("off_day").size()
    out["wape_morning"] = out["err_morning"] / out["actual"]
    out["wape_reforecast"] = out["err_reforecast"] / out["actual"]
    out["change"] = out["wape_reforecast"] / out["wape_morning"] - 1
    return out[["days", "wape_morning", "wape_reforecast", "change"]]


def _history(arrivals: pd.DataFrame, tz: str, interval_minutes: int) -> dict[str, QueueSeries]:
    """The arrivals as series per queue (for the recent weekday profiles)."""
    table = arrivals[["interval_start", "queue", "volume"]]
    return {q.queue: q for q in build_series(table, interval_minutes=interval_minutes, tz=tz)}


def reforecast_table(
    forecast: pd.DataFrame,
    arrivals: pd.DataFrame,
    now: pd.Timestamp,
    weight: float | IntradayRule,
    *,
    tz: str = "UTC",
    interval_minutes: int = 30,
    off_days: frozenset = frozenset(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Update today's rows of a forecast table from the arrivals before ``now``.

    ``forecast``: ``interval_start`` (UTC), ``queue``, ``volume`` (a `forecast predict`
    table); ``arrivals``: ``interval_start``, ``volume``, optional ``queue``. Today is the
    local day of ``now``; intervals starting before ``now`` count as arrived. Arrivals of the
    forecast's earlier days and of past weeks (the recent profile of today's weekday) are
    used when ``weight`` is a learned :class:`IntradayRule` that uses them. Returns the
    updated rows of today (``volume`` updated, ``morning`` the original, ``arrived``) and a
    per-queue summary (arrived, expected so far, running ratio, factor of the rest of day).
    """
    rule = weight if isinstance(weight, IntradayRule) else IntradayRule.of_weight(weight)
    now_utc = pd.Timestamp(now)
    now_utc = now_utc.tz_localize(tz) if now_utc.tzinfo is None else now_utc
    now_utc = now_utc.tz_convert("UTC")
    local_day = now_utc.tz_convert(tz).normalize()
    lo, hi = local_day.tz_convert("UTC"), (local_day + pd.Timedelta(days=1)).tz_convert("UTC")
    fc = forecast.copy()
    fc["interval_start"] = pd.to_datetime(fc["interval_start"], utc=True)
    fc["volume"] = pd.to_numeric(fc["volume"])
    today = fc[(fc["interval_start"] >= lo) & (fc["interval_start"] < hi)]
    arr = arrivals.copy()
    arr["volume"] = pd.to_numeric(arr["volume"])
    ts = pd.to_datetime(arr["interval_start"])
    ts = ts.dt.tz_localize(tz) if ts.dt.tz is None else ts
    arr["interval_start"] = ts.dt.tz_convert("UTC").dt.floor(f"{interval_minutes}min")
    if "queue" not in arr.columns:
        arr["queue"] = "all"
    arr = arr[arr["interval_start"] < now_utc]
    counts = arr.groupby(["queue", "interval_start"])["volume"].sum()
    past = arr[arr["interval_start"] < lo]
    history = _history(past, tz, interval_minutes) if rule.shape > 0 and len(past) else {}
    rows, summary = [], []
    for queue, g in today.sort_values("interval_start").groupby("queue", sort=True):
        g = g.copy()
        known = (g["interval_start"] + pd.Timedelta(minutes=interval_minutes)) <= now_utc
        got = np.array([float(counts.get((queue, t), 0.0)) for t in g.loc[known, "interval_start"]])
        first_seen = arr.loc[arr["queue"] == queue, "interval_start"].min()
        earlier = fc[(fc["queue"] == queue) & (fc["interval_start"] < lo)]
        earlier = earlier[earlier["interval_start"] >= first_seen]  # days the arrivals cover
        seen = sum(float(counts.get((queue, t), 0.0)) for t in earlier["interval_start"])
        profile = None
        q = history.get(str(queue))
        if q is not None:
            full = recent_profile(q, q.day_index(local_day.tz_localize(None)), off_days)
            if full is not None:
                local = g["interval_start"].dt.tz_convert(tz)
                slot = (local.dt.hour * 60 + local.dt.minute) // interval_minutes
                profile = full[slot.to_numpy()]
        upd = reforecast_day(
            g["volume"].to_numpy(float),
            got,
            rule,
            weekday=local_day.day_of_week,
            previous=(seen, float(earlier["volume"].sum())),
            profile=profile,
        )
        g["morning"] = g["volume"]
        g["arrived"] = np.where(known, np.pad(got, (0, int((~known).sum()))), np.nan)
        g["volume"] = upd.forecast
        rows.append(g)
        summary.append(
            {
                "queue": queue,
                "arrived": upd.arrived,
                "expected_so_far": upd.expected,
                "running": upd.running,
                "rest_factor": upd.factor,
                "day_morning": float(g["morning"].sum()),
                "day_updated": float(g["volume"].sum()),
            }
        )
    out = pd.concat(rows, ignore_index=True) if rows else today.assign(morning=np.nan)
    return out, pd.DataFrame(summary)
