"""What a score table holds and how its parts are derived (bands, reasons, work order), for
the one scoring path (:mod:`slarisk.risk.score` over the arrays of :mod:`slarisk.risk.fastscore`).

Rules (documented, deterministic):

- risk band by probability (:data:`RISK_BANDS`): ``low`` < 0.2 <= ``medium`` < 0.5 <= ``high``
  < 0.8 <= ``critical``; a clock already past due is :data:`BREACHED_BAND`;
- reasons (:func:`top_reasons`): the features with the largest positive contributions to the
  row's log-odds, as readable strings (:data:`REASON_TEMPLATES`), most important first.
  Contributions are the decision-path (Saabas) attribution of the LightGBM trees (exactly
  additive: bias + sum = raw score); LightGBM's ``pred_contrib`` (TreeSHAP, Shapley values) is
  available but far too slow for the scoring-speed goal;
- input-range guard (:func:`guard_outside_range`): where a row's workload features lie
  outside the range training saw, the probability is widened towards the elapsed-fraction
  rule (at least what the timer alone adds, ``rule - rule at elapsed 0``) and the first
  reason says so (:data:`GUARD_REASON`, naming the features);
- suggested work order, per ticket (:func:`work_order_ranks`): tickets with a clock that can
  still be saved come first, ranked by expected breach cost = sum over its running, not yet
  breached clocks of probability x priority weight (:func:`priority_weights`: weight
  2^(k-1-rank) for the policy's k priorities listed highest first: P1 of 4 -> 8, P4 -> 1), ties
  broken by the earliest due time; tickets whose every running clock is already breached
  follow, by priority then due time;
- the table itself: columns :data:`SCORE_COLUMNS` (:func:`scores_frame` builds it from arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from slarisk.data import schema as s
from slarisk.risk.feature_indexes import METRIC
from slarisk.risk.treekernel import AVAILABLE, compiled

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.risk.score_tables import FastModel

#: the first reason of a row outside the training range: the guard raised its risk, or not.
GUARD_REASON = "workload outside the training range ({}): risk widened towards the rule"
GUARD_REASON_KEPT = "workload outside the training range ({}): risk already above the rule's"

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


def risk_band(p: np.ndarray) -> np.ndarray:
    """The band name of each probability (:data:`RISK_BANDS`), as an object array."""
    bounds = np.array([b for b, _ in RISK_BANDS[1:]])
    names = np.array([name for _, name in RISK_BANDS], dtype=object)
    return names[np.searchsorted(bounds, p, side="right")]


def priority_weights(priorities: Sequence[str]) -> dict[str, float]:
    """Weight per priority, highest first: 2^(k-1-rank) (P1 of 4 -> 8, P4 -> 1)."""
    k = len(priorities)
    return {p: float(2 ** (k - 1 - i)) for i, p in enumerate(priorities)}


def scores_frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """The score table from the columns of :func:`slarisk.risk.fastscore.score_arrays`.

    The same frame as ``pd.DataFrame(columns)`` (text columns in pandas' default ``str``
    dtype), built from typed arrays: letting pandas infer the dtype of each object column is
    most of the cost of a one-ticket call.
    """
    cols: dict[str, Any] = {c: arrays[c] for c in SCORE_COLUMNS}
    due = np.asarray(arrays["due_at"], dtype=np.int64).view("datetime64[ns]")
    cols["due_at"] = pd.DatetimeIndex(due, tz="UTC", copy=False)
    typed = _typed_columns(cols)
    return pd.DataFrame(cols if typed is None else typed, index=pd.RangeIndex(len(due)), copy=False)


_STR_DTYPE = pd.Series(["x"]).dtype  # pandas' default text dtype (``str``)


def _typed_columns(cols: dict[str, Any]) -> dict[str, Any] | None:
    """Object columns of strings as arrays of the default ``str`` dtype, built by pyarrow
    when it backs that dtype (one conversion for all of them, then zero-copy slices); None
    when a column is not all text (pandas infers those)."""
    if getattr(_STR_DTYPE, "storage", None) != "pyarrow":
        return None
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
        _RUN_TOTALS.append(compiled(_run_totals_py))
    _RUN_TOTALS[0](*args)


def guard_outside_range(
    fm: FastModel,
    X: np.ndarray,
    proba: np.ndarray,
    reasons: list[np.ndarray],
    metric: np.ndarray,
    fraction: np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The served input-range guard on the model matrix ``X`` (rows as ``proba``): rows with a
    workload column outside its training ``[min, max]`` get ``max(p, rule lift)`` (what
    :meth:`slarisk.risk.model.RiskModel.predict_guarded` does on a frame) and, as their first
    reason, :data:`GUARD_REASON` (or :data:`GUARD_REASON_KEPT` when the model's risk was
    already higher) naming the features (:func:`guard_text`); their other reasons move down
    one place."""
    v = X[:, fm.guard_index]
    above = v > fm.guard_hi
    below = v < fm.guard_lo
    rows = np.flatnonzero((above | below).any(axis=1))
    if not len(rows):
        return proba, reasons
    lift = fm.rule.lift(metric[rows], np.asarray(fraction, np.float64)[rows])
    p = proba.copy()
    raised = lift > p[rows]
    p[rows] = np.where(raised, lift, p[rows])
    if not reasons:
        return p, reasons
    flags = np.concatenate([above[rows], below[rows], raised[:, None]], axis=1)
    if flags.shape[1] <= 63:  # one int64 per row: a 1-D unique (much cheaper than axis=0)
        bits = flags.astype(np.int64) @ (np.int64(1) << np.arange(flags.shape[1], dtype=np.int64))
        _, first_row, inv = np.unique(bits, return_index=True, return_inverse=True)
        kinds = flags[first_row]
    else:
        kinds, inv = np.unique(flags, axis=0, return_inverse=True)
    k = len(fm.guard_columns)
    texts = []
    for kind in kinds:  # a few distinct patterns
        names = [
            f"{c}>max" if hi else f"{c}<min"
            for c, hi, lo in zip(fm.guard_columns, kind[:k], kind[k : 2 * k], strict=True)
            if hi or lo
        ]
        texts.append(guard_text(names, bool(kind[-1])))
    first = np.asarray(texts, dtype=object)[inv.ravel()]
    out = [r.copy() for r in reasons]
    for i in range(len(out) - 1, 0, -1):
        out[i][rows] = reasons[i - 1][rows]
    out[0][rows] = first
    return p, out


def guard_text(flags: Sequence[str], raised: bool) -> str:
    """The guard's reason for a row whose workload features ``flags`` (``name>max`` /
    ``name<min``, as :func:`slarisk.risk.model.out_of_range`) lie outside the training range:
    two named at most, and how many more."""
    shown = ", ".join(flags[:2]) + (f" and {len(flags) - 2} more" if len(flags) > 2 else "")
    return (GUARD_REASON if raised else GUARD_REASON_KEPT).format(shown)
