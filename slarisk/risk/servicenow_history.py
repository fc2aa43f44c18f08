"""Known-before-``t`` history and workload features of ServiceNow incidents.

Each feature of an observation at instant ``at`` is computed only from rows whose time is
*strictly before* ``at``: incidents opened before it (workload, the caller's earlier incidents)
and incidents whose outcome was known before it (resolution, or closure when the resolution is
missing; ``made_sla`` is read at that time). Altering or adding incidents opened and resolved at
or after ``at`` leaves the features of ``at`` unchanged (tested).

Lookups are time-sorted cumulative sums per key joined with ``pandas.merge_asof`` (strictly
earlier rows), so the cost is O(n log n) for n incidents and observations; no per-row Python.
Durations are in hours; ``log_`` features are ``log1p`` of hours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slarisk.data import schema as s

#: known-at-opening history of the caller and the assignment group (:func:`history_features`).
HISTORY_FEATURES: tuple[str, ...] = (
    "caller_breach_rate",
    "caller_mean_log_resolution_hours",
    "caller_open_now",
    "group_recent_breach_share",
    "group_recent_log_resolution_hours",
)
#: resolutions of the group averaged by the ``group_recent_*`` features.
RECENT_RESOLUTIONS = 10
#: prior of the shrunk breach rates (the log's overall share of made_sla false) and its weight
#: in incidents.
BREACH_PRIOR = 0.37
PRIOR_WEIGHT = 5.0

HOUR = pd.Timedelta(hours=1)


def outcome_known_at(tickets: pd.DataFrame) -> pd.Series:
    """When each incident's outcome became known: resolution, else closure (NaT: open)."""
    known = tickets[s.RESOLVED_AT]
    if "closed_at" in tickets:
        known = known.fillna(tickets["closed_at"])
    return known


def _keys(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A column as string keys (missing = ``unknown``)."""
    return frame[col].astype(object).where(frame[col].notna(), s.UNKNOWN).astype(str).to_numpy()


def last_before(
    at: pd.Series, keys: np.ndarray, when: pd.Series, event_keys: np.ndarray, values: pd.DataFrame
) -> pd.DataFrame:
    """Per observation, the last row of ``values`` (cumulative per key, in ``when`` order)
    among the events of the same key strictly before ``at`` (NaN when there is none)."""
    ev = values.assign(_t=when.to_numpy(), _k=event_keys)
    ev = ev[ev["_t"].notna()].sort_values("_t", kind="stable")
    left = pd.DataFrame({"_t": at.to_numpy(), "_k": keys, "_i": np.arange(len(at))})
    left = left.sort_values("_t", kind="stable")
    m = pd.merge_asof(left, ev, on="_t", by="_k", allow_exact_matches=False)
    return m.sort_values("_i").drop(columns=["_t", "_k", "_i"]).reset_index(drop=True)


def sums_before(
    at: pd.Series,
    keys: np.ndarray,
    when: pd.Series,
    event_keys: np.ndarray,
    values: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Per observation, the sums of ``values`` (and ``n``, the count) over the events of the
    same key strictly before ``at`` (0 when there is none). Events with no time are ignored."""
    t = when.to_numpy()
    ok = ~pd.isna(t)
    order = np.flatnonzero(ok)[np.argsort(t[ok], kind="stable")]
    ev = pd.DataFrame({"n": np.ones(len(order)), **{k: v[order] for k, v in values.items()}})
    ev["_k"] = event_keys[order]
    cum = ev.groupby("_k", sort=False).cumsum()
    r = last_before(at, keys, when.iloc[order], event_keys[order], cum)
    return r.fillna(0.0)


def window_sums(
    at: pd.Series,
    keys: np.ndarray,
    when: pd.Series,
    event_keys: np.ndarray,
    values: dict[str, np.ndarray],
    hours: float,
) -> pd.DataFrame:
    """:func:`sums_before` over the window ``[at - hours, at)``."""
    now = sums_before(at, keys, when, event_keys, values)
    then = sums_before(at - hours * HOUR, keys, when, event_keys, values)
    return now - then


def _outcome_arrays(tickets: pd.DataFrame) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(known at, breached 1/0/NaN, log1p resolution hours) per incident."""
    known = outcome_known_at(tickets)
    made = tickets[s.SOURCE_MADE_SLA]
    breached = (~made.astype("boolean")).astype("Float64").to_numpy(np.float64, na_value=np.nan)
    hours = (known - tickets[s.CREATED_AT]).dt.total_seconds().to_numpy() / 3600.0
    return known, breached, np.log1p(np.clip(hours, 0.0, None))


def history_features(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """:data:`HISTORY_FEATURES` of each observation from what was known strictly before its
    instant ``at``: outcomes of incidents resolved before it, incidents opened before it.

    ``caller_breach_rate``: breaches / resolved incidents of the caller, shrunk towards the
    overall 37% with the weight of 5 incidents; ``caller_mean_log_resolution_hours``: mean
    ``log1p`` resolution hours of those; ``caller_open_now``: the caller's incidents opened
    but not resolved before ``at``; ``group_recent_*``: breach share and mean ``log1p``
    resolution hours of the assignment group's last :data:`RECENT_RESOLUTIONS` resolutions.
    """
    known, breached, log_res = _outcome_arrays(tickets)
    at = obs[s.AT].reset_index(drop=True)
    out = pd.DataFrame(index=range(len(obs)))

    # caller: cumulative outcomes and openings per caller
    ck, ock = _keys(tickets, "caller"), _keys(obs, "caller")
    verdict = np.isfinite(breached)
    r = sums_before(
        at,
        ock,
        known,
        ck,
        {"v": verdict.astype(float), "b": np.nan_to_num(breached), "lr": log_res},
    )
    n_res = r["n"].to_numpy()
    out["caller_breach_rate"] = (r["b"].to_numpy() + BREACH_PRIOR * PRIOR_WEIGHT) / (
        r["v"].to_numpy() + PRIOR_WEIGHT
    )
    out["caller_mean_log_resolution_hours"] = r["lr"].to_numpy() / np.where(
        n_res > 0, n_res, np.nan
    )
    o = sums_before(at, ock, tickets[s.CREATED_AT], ck, {})
    out["caller_open_now"] = o["n"].to_numpy() - n_res
    # group: rolling mean of its last resolutions
    order = np.argsort(known.to_numpy(), kind="stable")
    gk, ogk = _keys(tickets, s.GROUP), _keys(obs, s.GROUP)
    res_g = pd.DataFrame({"b": breached, "lr": log_res, "k": gk}).iloc[order]
    roll = res_g.groupby("k", sort=False)[["b", "lr"]].rolling(RECENT_RESOLUTIONS, min_periods=1)
    recent = roll.mean().reset_index(level=0, drop=True).reindex(res_g.index)
    rg = last_before(at, ogk, known.iloc[order], gk[order], recent.reset_index(drop=True))
    out["group_recent_breach_share"] = rg["b"].to_numpy()
    out["group_recent_log_resolution_hours"] = rg["lr"].to_numpy()
    for col in ("caller_breach_rate", "caller_mean_log_resolution_hours", "caller_open_now"):
        out.loc[obs["caller"].isna().to_numpy(), col] = np.nan
    return out


def _rolling_quantiles(
    keys: np.ndarray, when: pd.Series, values: np.ndarray, window: int, qs: Sequence[float]
) -> tuple[pd.Series, np.ndarray, pd.DataFrame]:
    """Per event (in ``when`` order): quantiles ``qs`` of ``values`` over the last ``window``
    events of the same key, the event itself included. Returns (times, keys, quantiles)."""
    t = when.to_numpy()
    ok = ~pd.isna(t)
    order = np.flatnonzero(ok)[np.argsort(t[ok], kind="stable")]
    ev = pd.DataFrame({"v": values[order], "k": keys[order]})
    roll = ev.groupby("k", sort=False)["v"].rolling(window, min_periods=1)
    cols = {
        f"q{round(q * 100)}": roll.quantile(q).reset_index(level=0, drop=True).sort_index()
        for q in qs
    }
    return when.iloc[order], keys[order], pd.DataFrame(cols).reset_index(drop=True)


#: known-before-``t`` workload and recent history of the group, the caller and the category
#: (:func:`recent_features`); counts are kept raw for the trees (the logistic baseline takes
#: ``log1p`` of :data:`COUNT_FEATURES`).
RECENT_FEATURES: tuple[str, ...] = (
    "group_arrivals_1h",
    "group_arrivals_24h",
    "group_arrivals_7d",
    "group_resolved_24h",
    "group_log_resolution_median_20",
    "group_log_resolution_p90_20",
    "group_breach_share_7d",
    "group_log_resolution_mean_7d",
    "caller_previous",
    "caller_opened_24h",
    "caller_hours_since_last",
    "category_breach_share_7d",
    "category_log_resolution_mean_7d",
    "subcategory_breach_share_7d",
    "symptom_breach_share_7d",
)
#: count-like features of :data:`RECENT_FEATURES` (heavy right tails).
COUNT_FEATURES: tuple[str, ...] = (
    "group_arrivals_1h",
    "group_arrivals_24h",
    "group_arrivals_7d",
    "group_resolved_24h",
    "caller_previous",
    "caller_opened_24h",
    "caller_hours_since_last",
)
#: resolutions of the group whose quantiles ``group_log_resolution_*_20`` are.
QUANTILE_RESOLUTIONS = 20
WEEK_HOURS = 168.0


def _shrunk_share(w: pd.DataFrame) -> np.ndarray:
    """Breaches / verdicts of a window, shrunk towards :data:`BREACH_PRIOR`."""
    return np.asarray(
        (w["b"].to_numpy() + BREACH_PRIOR * PRIOR_WEIGHT) / (w["v"].to_numpy() + PRIOR_WEIGHT)
    )


def _mean_of(w: pd.DataFrame, col: str) -> np.ndarray:
    """Window mean of ``col`` (NaN for an empty window)."""
    n = w["n"].to_numpy()
    return np.asarray(w[col].to_numpy() / np.where(n > 0, n, np.nan))


def recent_features(tickets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """:data:`RECENT_FEATURES` of each observation from rows strictly before its ``at``.

    Group (assignment group): incidents opened in the last 1 h / 24 h / 7 days, incidents
    resolved in the last 24 h; median and 90th percentile of ``log1p`` resolution hours of its
    last :data:`QUANTILE_RESOLUTIONS` resolutions; breach share (shrunk like the caller's) and
    mean ``log1p`` resolution hours of its resolutions in the last 7 days.
    Caller: incidents opened before, in the last 24 h, hours since the last one (NaN: none;
    all NaN without a caller). Category, subcategory, symptom: breach share of the resolutions
    in the last 7 days (shrunk); mean ``log1p`` resolution hours of the category's.
    """
    known, breached, log_res = _outcome_arrays(tickets)
    at = obs[s.AT].reset_index(drop=True)
    created = tickets[s.CREATED_AT]
    out = pd.DataFrame(index=range(len(obs)))
    outcome = {
        "v": np.isfinite(breached).astype(float),
        "b": np.nan_to_num(breached),
        "lr": log_res,
    }
    gk, ogk = _keys(tickets, s.GROUP), _keys(obs, s.GROUP)
    for name, hours in (("1h", 1.0), ("24h", 24.0), ("7d", WEEK_HOURS)):
        out[f"group_arrivals_{name}"] = window_sums(at, ogk, created, gk, {}, hours)["n"].to_numpy()
    out["group_resolved_24h"] = window_sums(at, ogk, known, gk, {}, 24.0)["n"].to_numpy()
    tq, kq, q = _rolling_quantiles(gk, known, log_res, QUANTILE_RESOLUTIONS, (0.5, 0.9))
    rq = last_before(at, ogk, tq, kq, q)
    out["group_log_resolution_median_20"] = rq["q50"].to_numpy()
    out["group_log_resolution_p90_20"] = rq["q90"].to_numpy()
    w = window_sums(at, ogk, known, gk, outcome, WEEK_HOURS)
    out["group_breach_share_7d"] = _shrunk_share(w)
    out["group_log_resolution_mean_7d"] = _mean_of(w, "lr")

    ck, ock = _keys(tickets, "caller"), _keys(obs, "caller")
    out["caller_previous"] = sums_before(at, ock, created, ck, {})["n"].to_numpy()
    out["caller_opened_24h"] = window_sums(at, ock, created, ck, {}, 24.0)["n"].to_numpy()
    last = last_before(at, ock, created, ck, pd.DataFrame({"t": created.to_numpy()}))
    out["caller_hours_since_last"] = (at - last["t"]).dt.total_seconds().to_numpy() / 3600.0
    no_caller = obs["caller"].isna().to_numpy()
    out.loc[no_caller, ["caller_previous", "caller_opened_24h", "caller_hours_since_last"]] = np.nan

    for col in (s.CATEGORY, "subcategory", "symptom"):
        if col not in tickets or col not in obs:
            out[f"{col}_breach_share_7d"] = np.nan
            continue
        w = window_sums(at, _keys(obs, col), known, _keys(tickets, col), outcome, WEEK_HOURS)
        out[f"{col}_breach_share_7d"] = _shrunk_share(w)
        if col == s.CATEGORY:
            out["category_log_resolution_mean_7d"] = _mean_of(w, "lr")
    return out[list(RECENT_FEATURES)]
