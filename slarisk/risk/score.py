"""Score an open queue: per ticket and running SLA clock, the calibrated breach probability,
due time, time left, alert level, risk band, top reasons and a suggested work order.

:func:`score_open_tickets` backs ``slarisk score`` and ``POST /v1/risk/score``.

Rules (documented, deterministic):

- only running clocks are scored (``first_response`` disappears once answered);
- a clock already past due at ``now`` has probability 1 and band ``breached`` (nothing left to
  predict) with the reason "already past due";
- risk band by probability: ``low`` < 0.2 <= ``medium`` < 0.5 <= ``high`` < 0.8 <= ``critical``;
- reasons: the features with the largest positive contributions to the row's log-odds, as
  readable strings, most important first. Contributions are the decision-path (Saabas)
  attribution of the LightGBM trees (exactly additive: bias + sum = raw score); LightGBM's
  ``pred_contrib`` (TreeSHAP, Shapley values) is available but far too slow for the
  scoring-speed goal;
- suggested work order, per ticket: tickets with a clock that can still be saved come first,
  ranked by expected breach cost = sum over its running, not yet breached clocks of
  probability x priority weight (weight 2^(k-1-rank) for the policy's k priorities listed
  highest first: P1 of 4 -> 8, P4 -> 1), ties broken by the earliest due time; tickets whose
  every running clock is already breached follow, by priority then due time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s
from slarisk.risk.features import (
    METRIC,
    FeatureContext,
    GroupBacklogIndex,
    HistoryIndex,
    OverdueIndex,
    StaffingIndex,
    WorkloadIndex,
    build_features,
    outcomes_from_clocks,
)

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy

_NAT = np.iinfo(np.int64).min
#: (lower probability bound, band) in increasing order.
RISK_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "low"),
    (0.2, "medium"),
    (0.5, "high"),
    (0.8, "critical"),
)
BREACHED_BAND = "breached"
#: output columns, in order.
SCORE_COLUMNS: tuple[str, ...] = (
    "work_order",
    s.TICKET_ID,
    METRIC,
    s.PRIORITY,
    s.TIER,
    "breach_probability",
    "risk_band",
    "expected_cost",
    "due_at",
    "time_left_seconds",
    "elapsed_fraction",
    "alert_level",
    "reasons",
    "reason_1",
    "reason_2",
    "reason_3",
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: readable templates of the reasons; ``{v}`` is the feature's value at scoring time.
REASON_TEMPLATES: dict[str, str] = {
    "metric": "{v} clock",
    s.PRIORITY: "priority {v}",
    s.TIER: "tier {v}",
    s.REGION: "region {v}",
    s.SERVICE_TYPE: "service type {v}",
    s.CHANNEL: "channel {v}",
    s.CUSTOMER: "customer {v}",
    s.CATEGORY: "category {v}",
    s.GROUP: "group {v}",
    "age_hours": "open for {v:.1f} h",
    "target_hours": "target of {v:.1f} business h",
    "elapsed_fraction": "{v:.0%} of the target used",
    "business_left_hours": "{v:.1f} business h left",
    "wall_left_hours": "due in {v:.1f} h",
    "hour": "time of day {v:.0f}h",
    "weekday": "{v}",
    "is_holiday": "public holiday",
    "backlog_total": "{v:.0f} open tickets in the queue",
    "backlog_same_priority": "{v:.0f} open tickets of the same priority",
    "backlog_overdue": "{v:.0f} open tickets already past due",
    "overdue_share": "{v:.0%} of the queue already past due",
    "arrivals_1h": "{v:.0f} arrivals in the last hour",
    "arrivals_24h": "{v:.0f} arrivals in the last 24 h",
    "arrivals_1h_ratio": "arrivals last hour at {v:.1f}x the usual",
    "arrivals_24h_ratio": "arrivals last 24 h at {v:.1f}x the usual",
    "agents_now": "{v:.0f} agents on duty",
    "agents_next_4h": "{v:.1f} agents on average over the next 4 h",
    "agents_team_now": "{v:.0f} agents of the group on duty",
    "agents_team_next_4h": "{v:.1f} agents of the group over the next 4 h",
    "backlog_group": "{v:.0f} open tickets in the group",
    "backlog_group_ahead": "{v:.0f} open tickets ahead in the group's queue",
    "ahead_per_team_agent": "{v:.1f} tickets ahead per group agent",
    "backlog_per_agent": "{v:.1f} open tickets per agent",
    "hist_breach_rate_metric": "recent breach rate {v:.0%}",
    "hist_breach_rate_category": "category breach rate {v:.0%} (28 days)",
    "hist_breach_rate_group": "group breach rate {v:.0%} (28 days)",
    "hist_n_category": "{v:.0f} recent tickets of the category",
    "hist_log_resolution_hours_category": "category resolution time",
    "hist_log_resolution_hours_group": "group resolution time",
}


def _reason_text(name: str, value: Any) -> str:
    if name.startswith("backlog_p_"):
        return f"{value:.0f} open {name.removeprefix('backlog_p_')} tickets"
    tpl = REASON_TEMPLATES.get(name)
    if name == "weekday" and isinstance(value, float) and np.isfinite(value):
        return _WEEKDAYS[int(value) % 7]
    if isinstance(value, float) and not np.isfinite(value):
        return f"{name} unknown"
    if tpl is None:
        return f"{name} = {value:.3g}" if isinstance(value, float) else f"{name} = {value}"
    try:
        return tpl.format(v=value)
    except (ValueError, TypeError):
        return f"{name} = {value}"


def top_k_order(values: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-values, axis=1, kind="stable")[:, :k]`` (largest first, ties by column
    index), via a partial sort: rows with a tie at the k-th place are fully sorted."""
    n, f = values.shape
    if k <= 4 and k < f and np.isfinite(values).all():
        # a few picks: repeated argmax (the first maximum = the lowest column among ties,
        # as the stable sort), each pick masked out; ~3x cheaper than sorting every row
        work = values.copy()
        rows = np.arange(n)
        out = np.empty((n, k), dtype=np.intp)
        for i in range(k):
            out[:, i] = j = np.argmax(work, axis=1)
            work[rows, j] = -np.inf
        return out
    if k + 1 >= f or n * f <= 65_536:  # small: a full sort is cheaper than the bookkeeping
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    neg = -values
    cand = np.argpartition(neg, k, axis=1)[:, : k + 1]  # the k + 1 largest, unordered
    cv = np.take_along_axis(neg, cand, axis=1)
    o = np.lexsort((cand, cv), axis=-1)  # by value, then column index (= stable order)
    cand = np.take_along_axis(cand, o, axis=1)
    cv = np.take_along_axis(cv, o, axis=1)
    out = cand[:, :k].copy()
    tie = cv[:, k - 1] == cv[:, k]  # others outside the candidates may share the k-th value
    if tie.any():
        out[tie] = np.argsort(neg[tie], axis=1, kind="stable")[:, :k]
    return out


#: up to this many (row, reason) pairs, reasons are looked up pair by pair.
_FEW_PAIRS = 384


def _top_pairs_py(
    values: np.ndarray, X: np.ndarray, order: np.ndarray, positive: np.ndarray, rounded: np.ndarray
) -> bool:
    """Per row of ``values`` (finite), the columns of the ``k = order.shape[1]`` largest
    (ties: the lowest column first, as :func:`top_k_order`), whether each is > 0, and
    ``np.round(X, 2)`` there (``rint(x * 100) / 100``, numpy's rounding). False, with the
    outputs incomplete, when ``values`` holds a non-finite number. Compiled with numba."""
    n, f = values.shape
    k = order.shape[1]
    for i in range(n):
        for j in range(f):
            if not np.isfinite(values[i, j]):
                return False
    for i in range(n):
        for p in range(k):
            best = -1
            top = 0.0
            for j in range(f):
                v = values[i, j]
                if best >= 0 and not v > top:
                    continue
                taken = False
                for q in range(p):
                    if order[i, q] == j:
                        taken = True
                if not taken:
                    best = j
                    top = v
            order[i, p] = best
            positive[i, p] = top > 0
            rounded[i, p] = np.rint(X[i, best] * 100.0) / 100.0
    return True


_TOP_PAIRS: list[Any] = []


def _top_pairs(
    values: np.ndarray, X: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(order, positive, rounded X) of :func:`_top_pairs_py` in one compiled pass, or None
    (non-finite values, or no numba: the numpy steps of :func:`top_reasons` apply)."""
    if not _TOP_PAIRS:
        from slarisk.risk.treekernel import AVAILABLE, compiled

        _TOP_PAIRS.append(compiled(_top_pairs_py) if AVAILABLE else None)
    kernel = _TOP_PAIRS[0]
    n = values.shape[0]
    if kernel is None or k >= values.shape[1]:
        return None
    order = np.empty((n, k), dtype=np.intp)
    positive = np.empty((n, k), dtype=np.bool_)
    rounded = np.empty((n, k), dtype=np.float64)
    ok = kernel(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(X, dtype=np.float64),
        order,
        positive,
        rounded,
    )
    return (order, positive, rounded) if ok else None


def top_reasons(
    model: RiskModel,
    features: pd.DataFrame | None,
    contributions: np.ndarray,
    k: int = 3,
    X: np.ndarray | None = None,
    cache: dict[tuple[int, int], str] | None = None,
    names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Per row, the ``k`` features pushing the risk up the most, as readable strings.

    Vectorised: strings are formatted once per distinct (feature, rounded value) pair (and
    kept in ``cache``, keyed by feature index and the value's bits, when one is given).
    Rows with fewer than ``k`` positive contributions get empty strings. ``names``: the
    model's feature names, when already at hand.
    """
    n, f = contributions.shape
    k = min(k, f)
    if names is None:
        names = model.feature_names
    prep = dict(model.pipeline.steps)["prep"]  # named_steps builds a Bunch (~20 us)
    n_cat = len(prep.categorical_)
    if X is None:  # categorical codes + numerics, same columns as contributions
        if features is None:
            raise ValueError("top_reasons needs the feature frame or its matrix X")
        X = model.matrix(features)
    picked = _top_pairs(contributions, X, k) if n * k <= _FEW_PAIRS else None
    if picked is not None:
        order, positive, vals = picked
    else:
        order = top_k_order(contributions, k)
        rows = np.arange(n)[:, None]
        positive = contributions[rows, order] > 0
        vals = np.round(X[rows, order], 2)
    bits_all = vals.ravel().view(np.int64)

    def text(j: int, bits: int) -> str:
        v = np.int64(bits).view(np.float64)
        name = names[j]
        if j < n_cat:
            cats = prep.categories_[name]
            value: Any = cats[int(v)] if np.isfinite(v) and 0 <= int(v) < len(cats) else "other"
        else:
            value = float(v)
        return _reason_text(name, value)

    if n * k <= _FEW_PAIRS:  # a few rows: look each pair up (sorting costs more)
        pairs = list(zip(order.ravel().tolist(), bits_all.tolist(), strict=True))
        if cache is None:
            cache = {}
        flat: list[str | None] = list(map(cache.get, pairs))  # one C loop when all are known
        for i in np.flatnonzero(~positive.ravel()).tolist():
            flat[i] = ""
        if None in flat:
            for i, t in enumerate(flat):
                if t is None:
                    flat[i] = t = text(*pairs[i])
                    if len(cache) > 100_000:
                        cache.clear()
                    cache[pairs[i]] = t
        arr = np.asarray(flat, dtype=object).reshape(n, k)
        return [arr[:, i] for i in range(k)]
    # distinct (feature, value) pairs: values first (1-d sort), then value code x feature
    uniq_bits, vcode = np.unique(bits_all, return_inverse=True)
    key = vcode.ravel().astype(np.int64) * f + order.ravel()
    uniq_key, codes = np.unique(key, return_inverse=True)
    codes = codes.ravel()
    texts = []  # distinct pairs only (formatted once, or found in ``cache``)
    bits_list = uniq_bits.tolist()
    for kk in uniq_key.tolist():
        pair = (kk % f, bits_list[kk // f])
        t = cache.get(pair) if cache is not None else None
        if t is None:
            t = text(*pair)
            if cache is not None:
                if len(cache) > 100_000:
                    cache.clear()
                cache[pair] = t
        texts.append(t)
    text_arr = np.asarray([*texts, ""], dtype=object)
    idx = np.where(positive.ravel(), codes, len(texts)).reshape(n, k)
    return [text_arr[idx[:, i]] for i in range(k)]


def _risk_band(p: np.ndarray) -> np.ndarray:
    bounds = np.array([b for b, _ in RISK_BANDS[1:]])
    names = np.array([name for _, name in RISK_BANDS], dtype=object)
    return names[np.searchsorted(bounds, p, side="right")]


def priority_weights(priorities: Sequence[str]) -> dict[str, float]:
    """Weight per priority, highest first: 2^(k-1-rank) (P1 of 4 -> 8, P4 -> 1)."""
    k = len(priorities)
    return {p: float(2 ** (k - 1 - i)) for i, p in enumerate(priorities)}


def _recent_arrays(recent: pd.DataFrame) -> dict[str, Any]:
    n = len(recent)
    return {
        "created": pd.DatetimeIndex(recent[s.CREATED_AT]).as_unit("ns").asi8,
        "priority": np.asarray(recent[s.PRIORITY], dtype=object),
        "group": np.asarray(recent[s.GROUP], dtype=object)
        if s.GROUP in recent
        else np.full(n, s.UNKNOWN, dtype=object),
        "ids": pd.Index(np.asarray(recent[s.TICKET_ID], dtype=object)),
    }


def _workload(
    open_tickets: pd.DataFrame,
    recent: dict[str, Any],
    now_ns: int,
    priorities: Sequence[str],
) -> tuple[WorkloadIndex, GroupBacklogIndex]:
    """Open tickets (the queue at ``now``) plus recent closed tickets (arrival counts only).

    ``recent``: arrays of :func:`_recent_arrays` (or ``RiskModel.recent_arrays``).
    """
    created = pd.DatetimeIndex(open_tickets[s.CREATED_AT]).as_unit("ns").asi8
    resolved = np.full(len(created), _NAT, dtype=np.int64)
    pri = np.asarray(open_tickets[s.PRIORITY], dtype=object)
    grp = (
        np.asarray(open_tickets[s.GROUP], dtype=object)
        if s.GROUP in open_tickets
        else np.full(len(created), s.UNKNOWN, dtype=object)
    )
    if recent:
        rc = recent["created"]
        keep = (rc <= now_ns) & (rc > now_ns - 29 * 86_400 * 10**9)
        # tickets of the open queue are counted once, from the queue
        pos = recent["ids"].get_indexer(np.asarray(open_tickets[s.TICKET_ID], dtype=object))
        keep[pos[pos >= 0]] = False
        # not in the open queue: closed by now (whatever the history says)
        created = np.concatenate([created, rc[keep]])
        resolved = np.concatenate([resolved, np.full(int(keep.sum()), now_ns - 1, np.int64)])
        pri = np.concatenate([pri, recent["priority"][keep]])
        grp = np.concatenate([grp, recent["group"][keep]])
    pri = np.where(pd.isna(pri), s.UNKNOWN, pri)
    grp = np.where(pd.isna(grp), s.UNKNOWN, grp)
    return (
        WorkloadIndex.from_arrays(created, resolved, pri),
        GroupBacklogIndex.from_arrays(created, resolved, grp, pri, priorities),
    )


def _overdue(run: pd.DataFrame, obs: pd.DataFrame, policy: Policy) -> OverdueIndex:
    """Overdue index of the open queue: nominal resolution due of its running clocks."""
    from slarisk.risk.landmarks import _add_business

    res = (run["metric"] == "resolution").to_numpy()
    due = _add_business(
        policy,
        run["calendar"].astype(str).to_numpy()[res],
        obs[s.CREATED_AT].to_numpy(np.int64)[res],
        run["target_seconds"].to_numpy(np.float64)[res],
    )
    return OverdueIndex.from_arrays(due, np.full(len(due), _NAT, dtype=np.int64))


def score_open_tickets(
    model: RiskModel,
    open_tickets: pd.DataFrame,
    now: Any,
    policy: Policy,
    staffing: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    clocks: pd.DataFrame | None = None,
    n_reasons: int = 3,
    fast: bool = True,
) -> pd.DataFrame:
    """Risk of every running SLA clock of the open tickets at ``now`` (columns
    :data:`SCORE_COLUMNS`, sorted by work order).

    ``staffing``: interval-form roster covering ``now`` and the next hours; ``history``: closed
    tickets (canonical) for arrival norms and rolling breach rates (default: the aggregates
    carried by the model, as of the end of its training data); ``events``: status events of the
    open tickets (pauses). ``clocks`` may be passed when already computed.

    ``fast``: use the array path of :mod:`slarisk.risk.fastscore` when it applies (no
    ``history``, ``events`` or ``clocks``; same results); ``False`` forces the general path.
    """
    now_ts = pd.Timestamp(now)
    now_ts = now_ts.tz_localize("UTC") if now_ts.tz is None else now_ts.tz_convert("UTC")
    now_ns = int(now_ts.value)
    if (
        fast
        and history is None
        and clocks is None
        and (events is None or len(events) == 0)
        and len(open_tickets)
    ):
        from slarisk.risk import fastscore

        try:
            arrays = fastscore.score_arrays(
                model,
                fastscore.tickets_from_frame(open_tickets),
                now_ns,
                policy,
                staffing=fastscore.staffing_index_of_frame(staffing)
                if staffing is not None and len(staffing)
                else None,
                n_reasons=n_reasons,
            )
        except fastscore.Fallback:
            pass
        else:
            return scores_frame(arrays)
    return _score_general(
        model, open_tickets, now_ts, policy, staffing, history, events, clocks, n_reasons
    )


def scores_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """The score table from the columns of :func:`slarisk.risk.fastscore.score_arrays`.

    The same frame as ``pd.DataFrame(columns)`` (text columns in pandas' default ``str``
    dtype), built from typed arrays: letting pandas infer the dtype of each object column is
    most of the cost of a one-ticket call.
    """
    cols: dict[str, Any] = {c: arrays[c] for c in SCORE_COLUMNS}
    due = np.asarray(arrays["due_at"], dtype=np.int64).view("datetime64[ns]")
    try:  # ~15x cheaper than DatetimeIndex(...).tz_localize for a few rows
        cols["due_at"] = pd.arrays.DatetimeArray._simple_new(due, dtype=_UTC_NS)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - other pandas versions
        cols["due_at"] = pd.DatetimeIndex(due).tz_localize("UTC")
    typed = _typed_columns(cols)
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if typed is None or from_arrays is None:
        return pd.DataFrame(cols, copy=False)  # fresh arrays
    try:
        frame: pd.DataFrame = from_arrays(
            list(typed.values()),
            columns=_score_index(),
            index=pd.RangeIndex(len(due)),
            verify_integrity=False,
        )
    except (TypeError, ValueError):  # pragma: no cover - a pandas without this signature
        return pd.DataFrame(cols, copy=False)
    return frame


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
_SCORE_INDEX: list[pd.Index] = []


def _score_index() -> pd.Index:
    """The score table's column labels (built once: an Index is immutable and shareable)."""
    if not _SCORE_INDEX:
        _SCORE_INDEX.append(pd.Index(SCORE_COLUMNS))
    return _SCORE_INDEX[0]


_STR_DTYPE = pd.Series(["x"]).dtype  # pandas' default text dtype (``str``)


def _typed_columns(cols: dict[str, Any]) -> dict[str, Any] | None:
    """Object columns of strings as arrays of the default ``str`` dtype, built by pyarrow
    when it backs that dtype (one conversion for all of them, then zero-copy slices); None
    when a column is not all text (pandas infers those)."""
    if getattr(_STR_DTYPE, "storage", None) != "pyarrow":
        return None
    import pyarrow as pa
    from pandas.arrays import ArrowStringArray

    text = []
    for values in cols.values():
        if isinstance(values, np.ndarray) and values.dtype == object:
            text.append(values)
        elif isinstance(values, np.ndarray) and values.dtype.kind not in "iufb":
            return None
    out: dict[str, Any] = dict(cols)
    if not text:
        return out
    try:
        joined = pa.array(np.concatenate(text), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, TypeError):
        return None
    at = 0
    for name, values in cols.items():
        if isinstance(values, np.ndarray) and values.dtype == object:
            part = joined.slice(at, len(values))
            at += len(values)
            out[name] = ArrowStringArray(part, dtype=_STR_DTYPE)  # type: ignore[call-arg]
    return out


def _score_general(
    model: RiskModel,
    open_tickets: pd.DataFrame,
    now_ts: pd.Timestamp,
    policy: Policy,
    staffing: pd.DataFrame | None,
    history: pd.DataFrame | None,
    events: pd.DataFrame | None,
    clocks: pd.DataFrame | None,
    n_reasons: int,
) -> pd.DataFrame:
    """The general path: clocks by :func:`compute_clocks`, features by
    :func:`build_features` on frames (any history, events, precomputed clocks)."""
    from slarisk.sla.clock import compute_clocks

    now_ns = int(now_ts.value)
    if clocks is None:
        clocks = compute_clocks(open_tickets, policy, events=events, now=now_ts)
    run = clocks[clocks["is_open"].to_numpy(bool)]
    run = run.reset_index(drop=True)
    n = len(run)
    if n == 0:  # nothing running: an empty table with the documented columns
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
    t = open_tickets.set_index(s.TICKET_ID)
    ids = run[s.TICKET_ID]

    obs = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: run["metric"].to_numpy(),
            s.AT: np.full(n, now_ns, dtype=np.int64),
            s.CREATED_AT: pd.DatetimeIndex(t[s.CREATED_AT].reindex(ids)).as_unit("ns").asi8,
            "target_seconds": run["target_seconds"].to_numpy(np.float64),
            "elapsed_seconds": run["elapsed_seconds"].to_numpy(np.float64),
            "due_at": pd.DatetimeIndex(run["due_at"]).as_unit("ns").asi8,
        }
    )
    for col in (s.PRIORITY, *s.SEGMENT_COLUMNS):
        src = run[col] if col in run else (t[col].reindex(ids) if col in t else None)
        obs[col] = s.UNKNOWN if src is None else src.to_numpy()

    recent = _recent_arrays(history) if history is not None else model.recent_arrays
    workload, group_backlog = _workload(open_tickets, recent, now_ns, model.priorities)
    if history is not None:
        hist_clocks = compute_clocks(history, policy, now=now_ts)
        outcomes = outcomes_from_clocks(hist_clocks, history)
        hist = HistoryIndex.build(outcomes) if len(outcomes) else None
        clip = None
    else:
        hist = model.history
        clip = hist.known_until_ns if hist is not None else None
    ctx = FeatureContext(
        workload=workload,
        group_backlog=group_backlog,
        overdue=_overdue(run, obs, policy),
        history=hist,
        staffing=StaffingIndex.build(staffing) if staffing is not None and len(staffing) else None,
        calendar=model.calendar,
        history_clip_ns=clip,
    )
    features = build_features(obs, ctx, priorities=model.priorities)
    X = model.matrix(features)
    proba, contrib = model.predict_with_contributions(features, X)
    reasons = top_reasons(model, features, contrib, n_reasons, X)

    time_left = run["time_left_seconds"].to_numpy(np.float64)
    overdue = run["breached"].to_numpy(bool) | (time_left <= 0)
    proba = np.where(overdue, 1.0, proba)
    band = np.where(overdue, BREACHED_BAND, _risk_band(proba))
    for r in reasons:
        r[overdue] = ""
    if n:
        reasons[0][overdue] = "already past due"

    weights = priority_weights(policy.priorities)
    w = obs[s.PRIORITY].map(weights).fillna(1.0).to_numpy(np.float64)
    cost = np.where(overdue, 0.0, proba * w)
    out = pd.DataFrame(
        {
            s.TICKET_ID: ids.to_numpy(),
            METRIC: obs[METRIC].to_numpy(),
            s.PRIORITY: obs[s.PRIORITY].to_numpy(),
            s.TIER: obs[s.TIER].to_numpy(),
            "breach_probability": proba,
            "risk_band": band,
            "expected_cost": cost,
            "due_at": run["due_at"].to_numpy(),
            "time_left_seconds": time_left,
            "elapsed_fraction": run["elapsed_fraction"].to_numpy(np.float64),
            "alert_level": run["alert_level"].to_numpy(),
            "reasons": _join(reasons),
        }
    )
    for i in range(3):
        out[f"reason_{i + 1}"] = reasons[i] if i < len(reasons) else ""
    out["work_order"] = _work_order(out, w, overdue)
    return (
        out[list(SCORE_COLUMNS)]
        .sort_values(["work_order", "due_at"], kind="stable")
        .reset_index(drop=True)
    )


def _join(reasons: list[np.ndarray]) -> np.ndarray:
    if not reasons:
        return np.array([], dtype=object)
    out = pd.Series(reasons[0], dtype=object)
    for r in reasons[1:]:
        nxt = pd.Series(r, dtype=object)
        out = out.where(nxt == "", out + "; " + nxt)
    return out.to_numpy(dtype=object)


def _work_order(out: pd.DataFrame, weight: np.ndarray, overdue: np.ndarray) -> np.ndarray:
    """1-based rank of each row's ticket (see the module docstring); numpy only."""
    codes, uniq = pd.factorize(np.asarray(out[s.TICKET_ID], dtype=object))
    return work_order_ranks(
        codes,
        len(uniq),
        out["expected_cost"].to_numpy(np.float64),
        weight,
        pd.DatetimeIndex(out["due_at"]).as_unit("ns").asi8,
        overdue,
    )


def work_order_ranks(
    codes: np.ndarray,
    k: int,
    cost: np.ndarray,
    weight: np.ndarray,
    due: np.ndarray,
    overdue: np.ndarray,
    starts: np.ndarray | None = None,
) -> np.ndarray:
    """Per clock row, the 1-based work order of its ticket (``codes``: ticket of each row,
    0..k-1): tickets that can still be saved first, then by total expected cost, priority
    weight, and the earliest due time (of a live clock, else of any); ``due`` in int64 ns.
    ``starts``: when the rows come grouped by ticket (codes non-decreasing), the first row of
    each ticket (reductions over contiguous runs: cheaper than scattering)."""
    if k == 1:
        return np.ones(len(codes), dtype=np.int64)
    tcost: np.ndarray
    if starts is not None:
        tcost = np.empty(k)
        saveable = np.empty(k, dtype=np.bool_)
        w = np.empty(k)
        due_live = np.empty(k, dtype=np.int64)
        due_any = np.empty(k, dtype=np.int64)
        _run_totals(starts, cost, overdue, weight, due, tcost, saveable, w, due_live, due_any)
    else:
        live_due = np.where(overdue, _INT64_MAX, due)
        tcost = np.bincount(codes, weights=cost, minlength=k)
        saveable = np.bincount(codes, weights=(~overdue).astype(np.float64), minlength=k) > 0
        w = np.zeros(k)
        np.maximum.at(w, codes, weight)
        due_live = np.full(k, _INT64_MAX, dtype=np.int64)
        np.minimum.at(due_live, codes, live_due)
        due_any = np.full(k, _INT64_MAX, dtype=np.int64)
        np.minimum.at(due_any, codes, due)
    tie_due = np.where(saveable, due_live, due_any)
    order = np.lexsort((tie_due, -w, -tcost, ~saveable))  # last key is the primary one
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    return rank[codes]


_INT64_MAX = np.iinfo(np.int64).max


def _run_totals_py(
    starts: np.ndarray,
    cost: np.ndarray,
    overdue: np.ndarray,
    weight: np.ndarray,
    due: np.ndarray,
    tcost: np.ndarray,
    saveable: np.ndarray,
    w: np.ndarray,
    due_live: np.ndarray,
    due_any: np.ndarray,
) -> None:
    """Per run of rows ``starts[g]:starts[g + 1]`` (a ticket's clocks): total expected cost,
    whether any clock is still live, the highest weight, the earliest due of a live clock
    (int64 max if none) and of any clock. Compiled with numba."""
    n = cost.shape[0]
    for g in range(starts.shape[0]):
        a = starts[g]
        b = starts[g + 1] if g + 1 < starts.shape[0] else n
        tc = 0.0
        live = False
        wm = weight[a]
        dl = _INT64_MAX
        da = due[a]
        for i in range(a, b):
            tc += cost[i]
            wm = max(wm, weight[i])
            da = min(da, due[i])
            if not overdue[i]:
                live = True
                dl = min(dl, due[i])
        tcost[g] = tc
        saveable[g] = live
        w[g] = wm
        due_live[g] = dl
        due_any[g] = da


_RUN_TOTALS: list[Any] = []


def _run_totals(*args: np.ndarray) -> None:
    """:func:`_run_totals_py`, compiled at first use (numba is imported only then)."""
    if not _RUN_TOTALS:
        from slarisk.risk.treekernel import compiled

        _RUN_TOTALS.append(compiled(_run_totals_py))
    _RUN_TOTALS[0](*args)
