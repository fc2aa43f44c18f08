"""The scoring engine behind :func:`slarisk.risk.score.score_open_tickets`, on numpy arrays.

At scoring time every observation is taken at the same instant ``now``, so most features are
per-request scalars (calendar, arrivals, staffing, backlog) or per-key lookups (backlog by
priority and group, history by metric/category/group); only the clock features vary per row.
Everything that does not depend on the request is prepared once per model
(:class:`FastModel`: category encoders as dicts, the recent arrivals sorted, the decision-path
contribution table, the calibrator as ``numpy.interp``/``expit``) and once per policy
(:class:`PolicyTables`: targets, calendars and alert levels as lookup arrays).

Clocks come from the clock engine of :mod:`slarisk.sla.clock` (:func:`~slarisk.sla.clock.clocks_at`
with status events as pauses) over the calendars' open-interval tables, kept per policy and
widened when a request falls outside them; the arrival-window counts are one compiled pass.
Only clocks not yet past due go through the model (a past-due clock has probability 1 and
the reason "already past due" anyway).
Leaves and their contribution rows come from one compiled pass over the trees
(:mod:`slarisk.risk.treekernel`, numba) when available; otherwise ``predict(pred_leaf=True)``
and a gather over the table.
``tests/risk/test_score.py`` checks the scores against a from-scratch computation (clocks by
``compute_clocks``, features by the training builder ``build_features``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from slarisk.data import schema as s
from slarisk.risk import treekernel
from slarisk.risk.feature_indexes import (
    DAY_NS,
    HOUR_NS,
    STAFF_HORIZON_NS,
    WEEK_NS,
    WINDOW_NS,
    HistoryIndex,
    StaffingIndex,
    _Steps,
)
from slarisk.risk.features import (
    BASE_NUMERIC_FEATURES,
    CATEGORICAL_FEATURES,
    HISTORY_FEATURES,
    Counts,
    calendar_features_at,
    numeric_features,
)
from slarisk.risk.outputs import (
    BREACHED_BAND,
    SCORE_COLUMNS,
    priority_weights,
    risk_band,
    top_reasons,
    work_order_ranks,
)
from slarisk.risk.treekernel import compiled, raw_and_contributions
from slarisk.sla.calendar import OpenIntervals
from slarisk.sla.clock import calendar_tables, clocks_at, pause_intervals, target_tables
from slarisk.sla.policy import METRICS

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy

NAT = np.iinfo(np.int64).min
_ALL = slice(None)
_NO_PAUSES = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
_RECENT_NS = 29 * DAY_NS  # recent closed tickets kept for the arrival counts (as _workload)
#: up to this many live clocks, distinct keys are found with a dict rather than a sort.
_FEW_ROWS = 128
#: below this many live clocks, contributions are a dense gather (no sparse set-up cost).
_DENSE_ROWS = 8
#: up to this many, a sparse x sparse product; above it, sparse x dense (cheaper per row).
_SPARSE_ROWS = 512


class NotScorable(Exception):
    """Input the array path does not take as it is (text timestamps, unknown priorities or
    tiers, duplicate ids, a model with features it does not build): callers report it
    (:func:`slarisk.risk.score.score_open_tickets` raises an ``InputError`` naming the rows)."""


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketArrays:
    """Open tickets as columns: ids, int64 UTC ns times (NaT = int64 min), attribute values
    (sequences of str; None or NaN = missing -> "unknown")."""

    ticket_id: Sequence[Any]
    created_ns: np.ndarray
    first_response_ns: np.ndarray
    resolved_ns: np.ndarray
    priority: Sequence[Any]
    segments: dict[str, Sequence[Any]]  # SEGMENT_COLUMNS present (tier, region, ...)

    def __len__(self) -> int:
        return len(self.created_ns)


@dataclass(frozen=True)
class EventArrays:
    """Status events as columns: ticket ids, int64 UTC ns instants, statuses."""

    ticket_id: Sequence[Any]
    at_ns: np.ndarray
    status: Sequence[Any]

    def __len__(self) -> int:
        return len(self.at_ns)


@dataclass(frozen=True)
class StaffingArrays:
    """Interval-form staffing as columns (start in UTC ns, minutes, team, agents)."""

    start_ns: np.ndarray
    minutes: np.ndarray
    team: Sequence[Any] | np.ndarray
    agents: np.ndarray
    team_codes: tuple[np.ndarray, list[str]] | None = None  # factorized ``team`` when known


def _column(df: pd.DataFrame, name: str) -> Any:
    """The column's array (``df[name].array``; public API, ~20 us a column)."""
    return df[name].array


_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _ns_of(arr: Any) -> np.ndarray | None:
    """int64 UTC ns of a datetime column's array (naive = UTC), or None when it is not one."""
    if isinstance(arr, pd.arrays.DatetimeArray):
        values = np.asarray(arr.asi8)  # type: ignore[attr-defined]
        factor = _NS_PER.get(arr.unit)
        if factor is None:
            return np.asarray(arr.as_unit("ns").asi8)  # type: ignore[attr-defined]
        if factor == 1:
            return values
        return np.where(values == NAT, NAT, values * factor)
    return None


def _values(arr: Any) -> list[Any]:
    """A column's values as a list (missing as None or NaN; both read as "unknown")."""
    if isinstance(arr, pd.arrays.ArrowExtensionArray):  # ~6x cheaper than tolist()
        try:
            return list(pa.array(arr).to_pylist())
        except (pa.ArrowException, TypeError):
            pass
    return list(arr.tolist())


def _numbers(df: pd.DataFrame, name: str, dtype: type[np.generic]) -> np.ndarray:
    """A numeric column as ``dtype`` (pandas' own conversion, with its errors, unless the
    column already is a plain numpy array of a kind that converts exactly)."""
    arr = _column(df, name)
    kinds = "iu" if np.dtype(dtype).kind in "iu" else "iuf"
    if isinstance(arr, np.ndarray) and arr.dtype.kind in kinds:
        return np.asarray(arr, dtype=dtype)
    return df[name].to_numpy(dtype)


def tickets_from_frame(tickets: pd.DataFrame) -> TicketArrays:
    """Columns of a canonical open-ticket frame (raises :class:`NotScorable` when unusual)."""
    for col in (s.TICKET_ID, s.CREATED_AT, s.PRIORITY):
        if col not in tickets.columns:
            raise NotScorable(col)
    n = len(tickets)
    times = []
    for col in (s.CREATED_AT, s.FIRST_RESPONSE_AT, s.RESOLVED_AT):
        if col in tickets.columns:
            ns = _ns_of(_column(tickets, col))
            if ns is None:
                raise NotScorable(col)  # text etc.: score_open_tickets parses or reports
        else:
            ns = np.full(n, NAT, dtype=np.int64)
        times.append(ns)
    return TicketArrays(
        ticket_id=_values(_column(tickets, s.TICKET_ID)),
        created_ns=times[0],
        first_response_ns=times[1],
        resolved_ns=times[2],
        priority=_values(_column(tickets, s.PRIORITY)),
        segments={
            c: _values(_column(tickets, c)) for c in s.SEGMENT_COLUMNS if c in tickets.columns
        },
    )


def staffing_from_frame(staffing: pd.DataFrame) -> StaffingArrays:
    """Columns of an interval-form staffing frame (raises :class:`NotScorable` when unusual)."""
    ns = _ns_of(_column(staffing, s.INTERVAL_START))
    if ns is None:
        raise NotScorable(s.INTERVAL_START)
    codes, uniques = pd.factorize(_column(staffing, s.TEAM))
    names = [u if isinstance(u, str) else str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names.append(s.UNKNOWN)
    return StaffingArrays(
        start_ns=ns,
        minutes=_numbers(staffing, s.INTERVAL_MINUTES, np.int64),
        team=np.asarray(names, dtype=object)[codes],
        agents=_numbers(staffing, s.AGENTS, np.float64),
        team_codes=(np.asarray(codes, dtype=np.intp), names),
    )


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _factor(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(codes, names) of values as strings (missing -> "unknown"), first-seen order."""
    if len(values) <= 4096:
        index = {v: i for i, v in enumerate(dict.fromkeys(values))}
        if all(type(u) is str for u in index):  # the common case: plain strings
            return np.fromiter(map(index.__getitem__, values), np.intp, len(values)), list(index)
    if len(values) > 256:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        names = [u if isinstance(u, str) else str(u) for u in uniques]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(names), codes)
            names.append(s.UNKNOWN)
    else:
        seen: dict[Any, int] = {}
        out = []
        for v in values:
            key = s.UNKNOWN if _is_missing(v) else v
            c = seen.get(key)
            if c is None:
                c = seen[key] = len(seen)
            out.append(c)
        codes = np.asarray(out, dtype=np.intp)
        names = [k if isinstance(k, str) else str(k) for k in seen]
    if len(set(names)) != len(names):  # e.g. 1 and "1", or "unknown" and a missing value
        uniq = list(dict.fromkeys(names))
        remap = np.asarray([uniq.index(x) for x in names], dtype=np.intp)
        codes, names = remap[codes], uniq
    return np.asarray(codes, dtype=np.intp), names


# --------------------------------------------------------------------------------------------
# Per-policy and per-model tables (built once, cached)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyTables:
    """Targets, calendars, alert levels and priority weights of a policy as arrays."""

    metrics: tuple[str, ...]
    priorities: dict[str, int]
    tiers: dict[str, int]
    tier_names: tuple[str, ...]
    default_tier: int | None
    tgt_ns: np.ndarray  # (tier, priority, metric) int64
    cal_idx: np.ndarray  # (tier, priority, metric) -> index in cal_names
    cal_names: tuple[str, ...]
    levels: np.ndarray
    thresholds: np.ndarray
    weights: np.ndarray  # per priority code


_V = TypeVar("_V")


class PerObjectCache(Generic[_V]):
    """Values derived from an object, kept while the object lives and dropped with it.

    Policies (frozen pydantic models holding dicts) and models (dataclasses) are not hashable,
    so neither a ``WeakKeyDictionary`` nor ``functools`` caches apply: entries are keyed by
    ``id`` and hold a weak reference whose callback removes the entry when the object is
    collected. A hit is checked against that reference, so an ``id`` reused by a later object
    never matches, and the cache never keeps an object alive.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], _V]] = {}
        self._lock = threading.RLock()  # a collection may run the callback while held

    def get(self, obj: object) -> _V | None:
        """The value cached for ``obj`` itself, or None."""
        hit = self._entries.get(id(obj))
        if hit is not None and hit[0]() is obj:
            return hit[1]
        return None

    def set(self, obj: object, value: _V) -> None:
        """Cache ``value`` for ``obj`` (replacing any earlier value)."""
        key = id(obj)

        def drop(ref: weakref.ref[Any]) -> None:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0] is ref:
                    del self._entries[key]

        with self._lock:
            self._entries[key] = (weakref.ref(obj, drop), value)

    def __len__(self) -> int:
        return len(self._entries)


_POLICY_CACHE: PerObjectCache[PolicyTables] = PerObjectCache()
_LOCK = threading.Lock()


def policy_tables(policy: Policy) -> PolicyTables:
    """The :class:`PolicyTables` of ``policy`` (cached while the policy lives)."""
    hit = _POLICY_CACHE.get(policy)
    if hit is not None:
        return hit

    cal_names = tuple(sorted(policy.calendars))
    tgt, _, cal = target_tables(policy)
    w = priority_weights(policy.priorities)
    tables = PolicyTables(
        metrics=tuple(METRICS),
        priorities={p: j for j, p in enumerate(policy.priorities)},
        tiers={t: i for i, t in enumerate(policy.tiers)},
        tier_names=tuple(policy.tiers),
        default_tier=(
            policy.tiers.index(policy.default_tier) if policy.default_tier is not None else None
        ),
        tgt_ns=tgt,
        cal_idx=cal,
        cal_names=cal_names,
        levels=np.array([0, *policy.alert_levels], dtype=np.int64),
        thresholds=np.asarray(policy.warning_thresholds, dtype=float),
        weights=np.asarray([w[p] for p in policy.priorities], dtype=np.float64),
    )
    _POLICY_CACHE.set(policy, tables)
    return tables


@dataclass(frozen=True)
class ClockTables:
    """:func:`slarisk.sla.clock.calendar_tables` of a policy, valid for clocks started at or
    after ``lo`` and running until ``hi`` at the latest (UTC ns)."""

    lo: int
    hi: int
    tables: dict[int, OpenIntervals]


#: how far past the latest instant asked for a cached clock table reaches (so a service
#: scoring at a moving ``now`` builds it about once a month, not once a request).
_TABLE_AHEAD_NS = 31 * DAY_NS
_CLOCK_TABLES: PerObjectCache[ClockTables] = PerObjectCache()


def _clock_tables(policy: Policy, lo: int, hi: int) -> ClockTables:
    """:class:`ClockTables` covering clocks started from ``lo`` and stopped by ``hi`` (cached
    per policy; built again only when a request falls outside the cached span)."""
    hit = _CLOCK_TABLES.get(policy)
    if hit is not None and hit.lo <= lo and hi <= hit.hi:
        return hit
    if hit is not None:  # widen the cached span rather than narrow it
        lo, hi = min(lo, hit.lo), max(hi, hit.hi)
    hi += _TABLE_AHEAD_NS
    tables = ClockTables(lo=lo, hi=hi, tables=calendar_tables(policy, lo, hi))
    _CLOCK_TABLES.set(policy, tables)
    return tables


@dataclass
class FastModel:
    """What the fast path needs from a :class:`~slarisk.risk.model.RiskModel`, as arrays
    (holds no reference to the model itself, so the cache never keeps a model alive)."""

    clf: Any  # the fitted BreachClassifier
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    cat_codes: dict[str, dict[str, float]]  # per categorical column: value -> code
    recent_created: np.ndarray  # sorted int64 ns
    recent_created_raw: np.ndarray  # in the recent table's order
    recent_ids: dict[Any, int]
    recent_group: np.ndarray  # code into recent_group_names, recent table's order
    recent_group_names: list[str]
    recent_rank: np.ndarray  # index in model.priorities (k: other)
    history: HistoryIndex | None  # outcome aggregates for the hist_* features
    history_clip: bool  # query them at min(now, history.known_until_ns)
    calibrator: Any  # raw score -> probability (None: clf.calibrate)
    leaf_offset: np.ndarray  # int32 first row of each tree in dense_table
    feature_names: list[str]  # columns of the model matrix
    supported: bool  # every model feature is one the fast path builds
    forest: Any = None  # treekernel.FlatForest (compiled one-pass scoring), None: numpy path
    hist_cache: dict[tuple[int, str, str, str], tuple[float, ...]] = field(default_factory=dict)
    reason_cache: dict[tuple[int, int], str] = field(default_factory=dict)
    group_cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    @cached_property
    def dense_table(self) -> np.ndarray:
        """(total leaves, features) decision-path contributions, dense: built only when the
        numpy path runs (the compiled forest does not need it)."""
        return np.asarray(self.clf.leaf_table_.toarray())


#: per model: (the booster the tables were built from, the tables).
_MODEL_CACHE: PerObjectCache[tuple[Any, FastModel]] = PerObjectCache()


def fast_model(model: RiskModel) -> FastModel:
    """The :class:`FastModel` of ``model`` (built at first use, cached while it lives)."""
    clf = dict(model.pipeline.steps)["clf"]  # cheaper than named_steps
    hit = _MODEL_CACHE.get(model)
    if hit is not None and hit[0] is clf.booster_:
        return hit[1]
    fm = _build_fast_model(model)
    _MODEL_CACHE.set(model, (clf.booster_, fm))
    return fm


def _recent_fields(r: dict[str, Any], priorities: Sequence[str]) -> dict[str, Any]:
    """The ``recent_*`` fields of :class:`FastModel` from ``RiskModel.recent_arrays``."""
    if r:
        created = np.asarray(r["created"], dtype=np.int64)
        ids = {v: i for i, v in enumerate(r["ids"])}
        grp = np.where(pd.isna(r["group"]), s.UNKNOWN, r["group"])
        gcodes, gnames = _factor(list(grp))
        pri = np.where(pd.isna(r["priority"]), s.UNKNOWN, r["priority"])
        rank_of = {p: i for i, p in enumerate(priorities)}
        k = len(priorities)
        rank = np.asarray([rank_of.get(str(p), k) for p in pri], dtype=np.intp)
    else:
        created = np.zeros(0, np.int64)
        ids, gcodes, gnames, rank = {}, np.zeros(0, np.intp), [], np.zeros(0, np.intp)
    return {
        "recent_created": np.sort(created),
        "recent_created_raw": created,
        "recent_ids": ids,
        "recent_group": gcodes,
        "recent_group_names": gnames,
        "recent_rank": rank,
    }


def with_history(model: RiskModel, history: pd.DataFrame, index: HistoryIndex | None) -> FastModel:
    """The :class:`FastModel` of ``model`` with the recent arrivals of ``history`` (closed
    tickets) and its outcome aggregates ``index`` (queried at ``now``, not clipped) in place
    of those the model carries (built per call: the caches start empty)."""
    recent = dataclasses.replace(model, recent_tickets=history).recent_arrays
    return dataclasses.replace(
        fast_model(model),
        **_recent_fields(recent, model.priorities),
        history=index,
        history_clip=False,
        hist_cache={},
        group_cache={},
    )


def _build_fast_model(model: RiskModel) -> FastModel:
    prep = model.pipeline.named_steps["prep"]
    clf = model.pipeline.named_steps["clf"]
    if not hasattr(clf, "leaf_table_"):
        raise NotScorable("model without decision-path table")
    cat_codes = {
        c: {str(v): float(i) for i, v in enumerate(prep.categories_[c])} for c in prep.categorical_
    }
    return FastModel(
        clf=clf,
        categorical=tuple(prep.categorical_),
        numeric=tuple(prep.numeric_),
        cat_codes=cat_codes,
        **_recent_fields(model.recent_arrays, model.priorities),
        history=model.history,
        history_clip=True,
        calibrator=_fast_calibrator(clf),
        leaf_offset=np.asarray(clf.leaf_offset_, dtype=np.int32),
        feature_names=model.feature_names,
        forest=_flat_forest(clf),
        supported=set(prep.categorical_) <= set(CATEGORICAL_FEATURES)
        and set(prep.numeric_)
        <= {*BASE_NUMERIC_FEATURES, *(f"backlog_p_{p}" for p in model.priorities)},
    )


# --------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------
_STAFFING_CACHE: dict[bytes, StaffingIndex] = {}


def staffing_index(st: StaffingArrays) -> StaffingIndex:
    """:meth:`StaffingIndex.build` on arrays (same construction, without pandas); cached by
    content (a digest of the arrays), so a roster sent again is not indexed again."""
    start = np.ascontiguousarray(st.start_ns, dtype=np.int64)
    minutes = np.ascontiguousarray(st.minutes, dtype=np.int64)
    agents = np.ascontiguousarray(st.agents, dtype=np.float64)
    codes, names = st.team_codes if st.team_codes is not None else _factor(st.team)
    codes = np.ascontiguousarray(codes, dtype=np.intp)
    h = hashlib.sha256()  # hardware-accelerated on most CPUs: ~2.5x blake2b here
    for a in (start, minutes, agents, codes):
        h.update(a.data)  # contiguous: hashed in place, no copy
    h.update("\x00".join(names).encode())
    key = h.digest()
    hit = _STAFFING_CACHE.get(key)
    if hit is not None:
        return hit
    end = start + minutes * 60 * 10**9
    per_team = {}
    for name in sorted(set(names)):
        m = np.isin(codes, [i for i, x in enumerate(names) if x == name])
        per_team[name] = _Steps.build(start[m], end[m], agents[m])
    bounds = np.unique(np.concatenate([start, end]))
    mids = bounds[:-1]
    tot = np.zeros(len(mids))
    for steps in per_team.values():
        tot += steps.at(mids)
    index = StaffingIndex(_Steps.build(mids, bounds[1:], tot), per_team)
    with _LOCK:
        if len(_STAFFING_CACHE) >= 8:
            _STAFFING_CACHE.clear()
        _STAFFING_CACHE[key] = index
    return index


_FRAME_INDEX: dict[bytes, StaffingIndex] = {}
_STAFFING_FRAME_COLUMNS = (s.INTERVAL_START, s.INTERVAL_MINUTES, s.TEAM, s.AGENTS)


_DTYPE_TEXT: dict[Any, str] = {}


def _frame_fingerprint(df: pd.DataFrame, columns: Sequence[str]) -> bytes | None:
    """A digest of the content of ``columns`` read from their buffers (numpy values, or the
    pyarrow buffers of text columns), without converting anything; None when a column is
    missing or stored otherwise (then nothing is cached)."""
    h = hashlib.sha256()  # hardware-accelerated on most CPUs: ~2.5x blake2b here
    for name in columns:
        if name not in df.columns:
            return None
        arr = _column(df, name)
        # datetime arrays: their int64 values (the dtype text below holds the unit and zone)
        values = (
            arr.to_numpy(dtype=f"datetime64[{arr.unit}]").view(np.int64)  # UTC, no copy
            if isinstance(arr, pd.arrays.DatetimeArray)
            else arr
        )
        dtype = _DTYPE_TEXT.get(arr.dtype)
        if dtype is None:  # str() of a pandas dtype costs ~20 us: once per dtype
            dtype = _DTYPE_TEXT.setdefault(arr.dtype, str(arr.dtype))
        h.update(f"|{name}:{dtype}:{len(arr)}|".encode())
        if isinstance(values, np.ndarray) and values.dtype != object:
            h.update(np.ascontiguousarray(values).view(np.uint8).data)
            continue
        if not isinstance(arr, pd.arrays.ArrowExtensionArray):
            return None
        pa_array = pa.array(arr)  # the arrow data (zero-copy for one chunk)
        chunks = pa_array.chunks if isinstance(pa_array, pa.ChunkedArray) else [pa_array]
        for chunk in chunks:
            h.update(f"{chunk.offset}:{len(chunk)}".encode())
            for buf in chunk.buffers():
                if buf is not None:
                    h.update(buf)
    return h.digest()


def staffing_index_of_frame(staffing: pd.DataFrame) -> StaffingIndex:
    """:func:`staffing_index` of an interval-form staffing frame, cached by the frame's
    content: scoring a ticket at a time against the same roster reads the roster once."""
    key = _frame_fingerprint(staffing, _STAFFING_FRAME_COLUMNS)
    hit = _FRAME_INDEX.get(key) if key is not None else None
    if hit is not None:
        return hit
    index = staffing_index(staffing_from_frame(staffing))
    if key is not None:
        with _LOCK:
            if len(_FRAME_INDEX) >= 8:
                _FRAME_INDEX.clear()
            _FRAME_INDEX[key] = index
    return index


def _staffing_at(st: StaffingIndex, t: int) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """(agents now, mean agents over the next 4 h, per team (now, next 4 h)) at ``t``."""
    return (
        st.total.at_one(t),
        st.total.mean_one(t, STAFF_HORIZON_NS),
        {
            name: (steps.at_one(t), steps.mean_one(t, STAFF_HORIZON_NS))
            for name, steps in st.teams.items()
        },
    )


def _flat_forest(clf: Any) -> Any:
    """The booster as a :class:`slarisk.risk.treekernel.FlatForest`, or None (numba missing, or
    a model the kernel does not reproduce exactly: checked here once per model on a probe that
    crosses every split threshold, hits every category code, NaN and unseen codes)."""
    if not treekernel.AVAILABLE:
        return None
    try:
        forest = treekernel.flatten(clf.booster_, clf.leaf_table_, clf.leaf_offset_)
        X = _probe_matrix(forest, np.random.default_rng(0), 256)
        raw, contrib = treekernel.raw_and_contributions(forest, X)  # compiles on first use
    except Exception:  # a model it cannot represent, or numba failing: keep the numpy path
        return None
    ref = np.asarray(clf.booster_.predict(X, raw_score=True, num_threads=1), dtype=np.float64)
    _, ref_contrib = clf.path_contributions(X)
    if not (np.array_equal(raw, ref) and np.allclose(contrib, ref_contrib, rtol=0, atol=1e-12)):
        return None
    return forest


def _probe_matrix(forest: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows whose values sit on, just below and just above the forest's split thresholds, on
    category codes (seen and unseen), negative codes and NaN."""
    X = np.empty((n, forest.n_features), dtype=np.float64)
    width = forest.cat_left.shape[1]
    for j in range(forest.n_features):
        num = forest.threshold[(forest.feature == j) & (forest.kind == 0)]
        cand = [np.nan, 0.0, -1.0, 1e-40, float(width), float(width + 7), *range(width)]
        cand += [*num, *np.nextafter(num, np.inf), *np.nextafter(num, -np.inf)]
        X[:, j] = rng.choice(np.asarray(cand, dtype=np.float64), n)
    return X


def _fast_calibrator(clf: Any) -> Any:
    """The calibrator as ``numpy.interp`` (isotonic) and ``expit`` (sigmoid), or None.

    Used only when it reproduces ``clf.calibrate`` on a probe of raw scores (checked here, once
    per model); otherwise scoring calls ``clf.calibrate`` itself.
    """
    cal = getattr(clf, "calibrator_", None)
    if not isinstance(cal, dict) or set(cal) != {"isotonic", "sigmoid"}:
        return None
    iso, sig = cal["isotonic"], cal["sigmoid"]
    if iso is not None and (type(iso) is not IsotonicRegression or iso.out_of_bounds != "clip"):
        return None
    if sig is not None and (type(sig) is not LogisticRegression or sig.coef_.shape != (1, 1)):
        return None
    if iso is None and sig is None:
        return None
    xs = np.asarray(iso.X_thresholds_, np.float64) if iso is not None else None
    ys = np.asarray(iso.y_thresholds_, np.float64) if iso is not None else None
    a = float(sig.coef_[0, 0]) if sig is not None else 0.0
    b = float(sig.intercept_[0]) if sig is not None else 0.0

    def calibrate(raw: np.ndarray) -> np.ndarray:
        parts = []
        if xs is not None and ys is not None:
            parts.append(np.interp(raw, xs, ys))
        if sig is not None:
            parts.append(expit(raw * a + b))
        return parts[0] if len(parts) == 1 else 0.5 * (parts[0] + parts[1])

    probe = np.concatenate([np.linspace(-12.0, 12.0, 241), xs if xs is not None else []])
    if not np.allclose(calibrate(probe), clf.calibrate(probe), rtol=0.0, atol=1e-12):
        return None
    return calibrate


# --------------------------------------------------------------------------------------------
# The fast path
# --------------------------------------------------------------------------------------------
def score_arrays(
    model: RiskModel,
    tickets: TicketArrays,
    now_ns: int,
    policy: Policy,
    staffing: StaffingArrays | StaffingIndex | None = None,
    n_reasons: int = 3,
    joined_reasons: bool = True,
    pauses: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    fm: FastModel | None = None,
) -> dict[str, np.ndarray]:
    """Scores of every running clock, as columns of :data:`slarisk.risk.outputs.SCORE_COLUMNS`
    (``due_at`` as int64 UTC ns), sorted by work order then due time. ``joined_reasons=False``
    leaves out the ``reasons`` column (``reason_1..3`` hold the same strings).

    ``pauses``: (ticket index, start, end) of :func:`slarisk.sla.clock.pause_intervals`;
    ``fm``: the model's tables (default :func:`fast_model`; :func:`with_history` for another
    history). Raises :class:`NotScorable` for input it does not take.
    """
    pt = policy_tables(policy)
    if pt.metrics != ("first_response", "resolution"):  # the clock order assumed below
        raise NotScorable("metrics")
    fm = fast_model(model) if fm is None else fm
    if not fm.supported:
        raise NotScorable("features the fast path does not build")
    n = len(tickets)
    if n == 0:
        return _no_scores()
    created = np.asarray(tickets.created_ns, dtype=np.int64)
    if (created == NAT).any():
        raise NotScorable("missing created_at")
    ids = tickets.ticket_id
    if len(set(ids)) != n:
        raise NotScorable("duplicate ids")

    # --- ticket attributes: codes per ticket ----------------------------------------------
    p_codes, p_names = _factor(tickets.priority)
    p_pol = np.asarray([pt.priorities.get(p, -1) for p in p_names], dtype=np.intp)
    if (p_pol < 0).any():
        raise NotScorable("unknown priority")
    p_code = p_pol[p_codes]
    tier_vals = tickets.segments.get(s.TIER)
    if tier_vals is None:
        if pt.default_tier is None:
            raise NotScorable("no tier")
        t_code = np.full(n, pt.default_tier, dtype=np.intp)
    else:
        tc, tn = _factor(tier_vals)
        lut = []
        for name in tn:
            if pt.default_tier is not None and name in ("unknown", ""):
                lut.append(pt.default_tier)
            else:
                lut.append(pt.tiers.get(name, -1))
        t_lut = np.asarray(lut, dtype=np.intp)
        if (t_lut < 0).any():
            raise NotScorable("unknown tier")
        t_code = t_lut[tc]

    # --- running clocks (ticket-major, first_response before resolution) --------------------
    fr = np.asarray(tickets.first_response_ns, dtype=np.int64)
    res = np.asarray(tickets.resolved_ns, dtype=np.int64)
    stop_fr = np.where(fr == NAT, res, fr)
    open_mat = np.column_stack([stop_fr == NAT, res == NAT])
    flat = np.flatnonzero(open_mat.ravel())
    if flat.size == 0:
        return _no_scores()
    tix = flat // 2
    mk = flat % 2
    m = len(flat)
    # the clocks of the running tickets, by the engine of slarisk.sla.clock (with pauses)
    run_t = np.flatnonzero(open_mat.any(axis=1))
    c_run = created[run_t]
    end = np.broadcast_to(np.maximum(now_ns, c_run)[:, None], (len(run_t), 2))
    combo_t, combo_p = t_code[run_t], p_code[run_t]
    budget_mat = pt.tgt_ns[combo_t, combo_p]
    cal_mat = pt.cal_idx[combo_t, combo_p]
    ct = _clock_tables(policy, int(c_run.min()), int(end.max()))
    if pauses is not None and len(pauses[0]):
        pos = np.full(n, -1, dtype=np.intp)  # ticket index -> running-ticket index
        pos[run_t] = np.arange(len(run_t))
        keep = pos[pauses[0]] >= 0
        run_pauses = (pos[pauses[0][keep]], pauses[1][keep], pauses[2][keep])
    else:
        run_pauses = _NO_PAUSES
    one_cal = int(cal_mat.flat[0])
    elapsed_mat, _, due_mat, nominal_mat = clocks_at(
        ct.tables,
        one_cal if (cal_mat == one_cal).all() else cal_mat,
        c_run,
        end,
        budget_mat,
        run_pauses,
        nominal=True,
    )
    if nominal_mat is None:  # pragma: no cover - nominal=True always returns it
        raise AssertionError("no nominal due times")
    row = np.searchsorted(run_t, tix)  # running-ticket row of each running clock
    elapsed = elapsed_mat[row, mk]
    due = due_mat[row, mk]
    nominal_due = nominal_mat[row, mk]  # without pauses (overdue backlog)
    budget = budget_mat[row, mk]
    target_s = budget / 1_000_000_000
    elapsed_s = elapsed / 1_000_000_000
    fraction = elapsed / budget
    alert = pt.levels[np.searchsorted(pt.thresholds, fraction * (1 + 1e-12), side="right")]
    time_left = target_s - elapsed_s
    overdue = (elapsed > budget) | (time_left <= 0)
    live = np.flatnonzero(~overdue)
    nl = len(live)

    # --- the ticket's attribute strings per running clock -----------------------------------
    cat_vals: dict[str, tuple[np.ndarray, list[str]]] = {}  # per column: (code per ticket, names)
    cat_vals[s.PRIORITY] = (p_codes, p_names)
    cat_vals[s.TIER] = (t_code, list(pt.tier_names))
    for col in s.SEGMENT_COLUMNS:
        if col == s.TIER or (col not in fm.categorical and col not in (s.GROUP, s.CATEGORY)):
            continue  # read by neither the model nor the features below
        vals = tickets.segments.get(col)
        cat_vals[col] = _factor(vals) if vals is not None else (np.zeros(n, np.intp), [s.UNKNOWN])

    X = np.empty((nl, len(fm.categorical) + len(fm.numeric)), dtype=np.float64)
    if nl:
        lt = tix[live]
        for j, col in enumerate(fm.categorical):
            lut_map = fm.cat_codes[col]
            if col == "metric":
                codes_m = np.asarray([lut_map.get(x, np.nan) for x in pt.metrics])
                X[:, j] = codes_m[mk[live]]
            else:
                codes_t, names = cat_vals[col]
                lut_c = np.asarray([lut_map.get(x, np.nan) for x in names], dtype=np.float64)
                X[:, j] = lut_c[codes_t[lt]]
        num = _numeric_features(
            model, fm, pt, tickets, cat_vals, now_ns, created, tix, mk, live, target_s, elapsed_s,
            due, nominal_due, staffing,
        )  # fmt: skip
        k0 = len(fm.categorical)
        for j, name in enumerate(fm.numeric):
            X[:, k0 + j] = num[name]
        proba_live, contrib = _predict(fm, X)
        reasons_live = top_reasons(
            model, None, contrib, n_reasons, X, cache=fm.reason_cache, names=fm.feature_names
        )
    else:
        proba_live = np.zeros(0)
        reasons_live = [np.zeros(0, dtype=object) for _ in range(min(n_reasons, X.shape[1]))]

    proba = np.ones(m)
    proba[live] = proba_live
    band = np.full(m, BREACHED_BAND, dtype=object)
    band[live] = risk_band(proba_live)
    reasons = []
    for i, r in enumerate(reasons_live):
        full = np.full(m, "already past due" if i == 0 else "", dtype=object)
        full[live] = r
        reasons.append(full)
    w = pt.weights[p_code[tix]]
    cost = np.where(overdue, 0.0, proba * w)

    # --- work order (see slarisk.risk.outputs) ----------------------------------------------
    if tix[0] == tix[-1]:  # one running ticket
        work_order = np.ones(m, dtype=np.int64)
    else:  # rows come grouped by ticket, in ticket order
        new_ticket = np.empty(m, dtype=np.bool_)
        new_ticket[0] = True
        np.not_equal(tix[1:], tix[:-1], out=new_ticket[1:])
        first = np.flatnonzero(new_ticket)
        codes = np.cumsum(new_ticket) - 1  # 0, 1, ... per running ticket
        work_order = work_order_ranks(codes, len(first), cost, w, due, overdue, starts=first)

    srt = np.lexsort((due, work_order))
    ids_arr = np.asarray(ids, dtype=object)
    if joined_reasons:
        joined = reasons[0] if reasons else np.full(m, "", dtype=object)
        for r in reasons[1:]:
            joined = np.where(r == "", joined, joined + "; " + r)
    out: dict[str, np.ndarray] = {
        "work_order": work_order,
        s.TICKET_ID: ids_arr[tix],
        "metric": np.asarray(pt.metrics, dtype=object)[mk],
        s.PRIORITY: np.asarray(p_names, dtype=object)[p_codes[tix]],
        s.TIER: np.asarray(pt.tier_names, dtype=object)[t_code[tix]],
        "breach_probability": proba,
        "risk_band": band,
        "expected_cost": cost,
        "due_at": due,
        "time_left_seconds": time_left,
        "elapsed_fraction": fraction,
        "alert_level": alert.astype(np.int64),
    }
    if joined_reasons:
        out["reasons"] = joined
    for i in range(3):
        out[f"reason_{i + 1}"] = reasons[i] if i < len(reasons) else np.full(m, "", dtype=object)
    return {c: out[c][srt] for c in SCORE_COLUMNS if c in out}


def _no_scores() -> dict[str, np.ndarray]:
    """The columns of :func:`score_arrays` when no clock is running."""
    out = {c: np.zeros(0, dtype=object) for c in SCORE_COLUMNS}
    for c in ("work_order", "due_at", "alert_level"):
        out[c] = np.zeros(0, dtype=np.int64)
    for c in ("breach_probability", "expected_cost", "time_left_seconds", "elapsed_fraction"):
        out[c] = np.zeros(0, dtype=np.float64)
    return out


def event_pauses(
    tickets: TicketArrays, events: EventArrays, pause_statuses: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`slarisk.sla.clock.pause_intervals` of status events given as columns (events of
    tickets not in ``tickets`` are ignored, as ``compute_clocks`` does)."""
    index = {tid: i for i, tid in enumerate(tickets.ticket_id)}
    n_ev = len(events.at_ns)
    ev_tix = np.fromiter(map(index.get, events.ticket_id, itertools.repeat(-1)), np.intp, n_ev)
    pausing = frozenset(pause_statuses)
    is_pause = np.fromiter(map(pausing.__contains__, events.status), np.bool_, n_ev)
    return pause_intervals(ev_tix, np.asarray(events.at_ns, dtype=np.int64), is_pause)


#: (end offset before t, length) of the arrival windows, ns: the last hour, the last day, the
#: same hour 1..4 weeks ago, the 28 days before the last day.
_ARRIVAL_WINDOWS = np.array(
    [[0, HOUR_NS], [0, DAY_NS], *([k * WEEK_NS, HOUR_NS] for k in range(1, 5)),
     [DAY_NS, WINDOW_NS]],
    dtype=np.int64,
)  # fmt: skip


def _arrival_counts_py(
    t: int,
    windows: np.ndarray,
    recent: np.ndarray,
    created: np.ndarray,
    excluded: np.ndarray,
    out: np.ndarray,
) -> None:
    """Per window w: tickets created in (t - end_w - len_w, t - end_w]: the model's recent
    tickets (``recent``, sorted) plus the request's (``created``) less those of them also
    among the recent ones (``excluded``). Compiled with numba."""
    for w in range(windows.shape[0]):
        hi = t - windows[w, 0]
        lo = hi - windows[w, 1]
        n = np.searchsorted(recent, hi, side="right") - np.searchsorted(recent, lo, side="right")
        for x in created:
            if lo < x <= hi:
                n += 1
        for x in excluded:
            if lo < x <= hi:
                n -= 1
        out[w] = n


_arrival_counts = compiled(_arrival_counts_py)


def _predict(fm: FastModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated probability, decision-path contributions) of the live rows."""
    clf = fm.clf
    n = len(X)
    if fm.forest is not None:  # one compiled pass: leaves and their contribution rows
        _, contrib = raw_and_contributions(fm.forest, X)
        raw = clf.bias_ + contrib.sum(axis=1)  # as the general path (path_contributions)
        proba = fm.calibrator(raw) if fm.calibrator is not None else clf.calibrate(raw)
        return np.asarray(proba, dtype=np.float64), contrib
    leaves = np.asarray(clf.booster_.predict(X, pred_leaf=True, num_threads=1)).reshape(n, -1)
    n_trees = leaves.shape[1]
    idx = leaves.astype(np.int32, copy=False) + fm.leaf_offset[:n_trees]
    if n <= _DENSE_ROWS:  # a few rows: gather the leaves' rows of the dense table
        contrib = fm.dense_table[idx].sum(axis=1)
    else:  # one-hot leaves (n x total leaves, sparse) @ the table (sparse, or dense when big)
        onehot = sparse.csr_matrix(
            (np.ones(n * n_trees), idx.ravel(), np.arange(0, n * n_trees + 1, n_trees)),
            shape=(n, fm.dense_table.shape[0]),
        )
        if n <= _SPARSE_ROWS:
            contrib = np.asarray((onehot @ clf.leaf_table_).toarray())
        else:
            contrib = np.asarray(onehot @ fm.dense_table)
    raw = clf.bias_ + contrib.sum(axis=1)
    proba = fm.calibrator(raw) if fm.calibrator is not None else clf.calibrate(raw)
    return np.asarray(proba, dtype=np.float64), contrib


def _numeric_features(
    model: RiskModel,
    fm: FastModel,
    pt: PolicyTables,
    tickets: TicketArrays,
    cat_vals: dict[str, tuple[np.ndarray, list[str]]],
    now_ns: int,
    created: np.ndarray,
    tix: np.ndarray,
    mk: np.ndarray,
    live: np.ndarray,
    target_s: np.ndarray,
    elapsed_s: np.ndarray,
    due: np.ndarray,
    nominal_due: np.ndarray,
    staffing: StaffingArrays | StaffingIndex | None,
) -> dict[str, Any]:
    """The numeric features of the live clocks, all observed at ``now``: the counts they are
    computed from, for the one definition :func:`slarisk.risk.features.numeric_features`
    (numbers where a count is the same for every row)."""
    lt = tix[live]
    t = now_ns

    # workload: the open queue (every input row) plus the model's recent closed tickets
    p_codes, p_names = cat_vals[s.PRIORITY]
    in_queue = created <= t
    back = np.bincount(p_codes[in_queue], minlength=len(p_names)).astype(np.float64)
    row_p = p_codes[lt]
    res_rows = mk == 1
    # overdue backlog: nominal resolution due (created + target, pauses not counted; as the
    # training rows' OverdueIndex, see slarisk.risk.landmarks.resolution_due)
    n_over = float(np.count_nonzero(nominal_due[res_rows] <= t))

    found = np.fromiter(
        map(fm.recent_ids.get, tickets.ticket_id, itertools.repeat(-1)),
        dtype=np.intp,
        count=len(tickets),
    )
    excluded = found[found >= 0]
    ex_created = fm.recent_created_raw[excluded]
    rc = fm.recent_created

    # arrivals in (hi - window, hi]: last hour, last day, the same hour 1..4 weeks ago, and
    # the 28 days before the last day (as WorkloadIndex.arrivals, counted on three parts)
    counts_w = np.zeros(len(_ARRIVAL_WINDOWS), dtype=np.int64)
    _arrival_counts(t, _ARRIVAL_WINDOWS, rc, created, ex_created, counts_w)
    cw = [float(x) for x in counts_w.tolist()]

    g_codes, g_names = cat_vals[s.GROUP]
    row_g = g_codes[lt]
    agents = None
    if staffing is not None:
        st = staffing if isinstance(staffing, StaffingIndex) else staffing_index(staffing)
        now_ag, next_ag, per_team = _staffing_at(st, t)
        team_now = np.full(len(g_names), np.nan)
        team_next = np.full(len(g_names), np.nan)
        for gi, name in enumerate(g_names):
            if name in per_team:
                team_now[gi], team_next[gi] = per_team[name]
        agents = (now_ag, next_ag, team_now[row_g], team_next[row_g])

    # group backlog: open tickets created strictly before now (to the second) per group and
    # priority rank, plus the recent closed tickets counted as in GroupBacklogIndex
    k = len(model.priorities)
    rank_of = {p: i for i, p in enumerate(model.priorities)}
    p_rank = np.asarray([rank_of.get(p, k) for p in p_names], dtype=np.intp)
    now_s = t // 10**9
    cells = len(g_names) * (k + 1)  # (group, priority rank) counts, by bincount (exact sums)
    before = (created // 10**9) < now_s
    flat_counts = np.bincount(
        g_codes[before] * (k + 1) + p_rank[p_codes[before]], minlength=cells
    ).astype(np.float64)
    if len(fm.recent_created_raw):
        base = _recent_group_base(fm, t, g_names, k)
        # less the request's own tickets found among them (they count as open above); the
        # counts are whole numbers, so adding and removing is exact
        if len(excluded):
            flat_counts += base - _recent_group_counts(fm, t, g_names, k, excluded)
        else:
            flat_counts += base
    sums = np.cumsum(flat_counts.reshape(len(g_names), k + 1), axis=1)
    gtot = sums[:, -1][row_g]
    ahead = sums[row_g, p_rank[row_p]]
    h = fm.history
    history = None
    if h is not None:
        th = min(t, h.known_until_ns) if fm.history_clip else t
        c_codes, c_names = cat_vals[s.CATEGORY]
        combo = (mk[live] * len(c_names) + c_codes[lt]) * len(g_names) + row_g
        if len(combo) <= _FEW_ROWS:  # a few rows: a dict is cheaper than sorting
            first_seen: dict[int, int] = {}
            inv = np.fromiter(
                (first_seen.setdefault(u, len(first_seen)) for u in combo.tolist()),
                np.intp,
                len(combo),
            )
            uc = np.fromiter(first_seen, np.int64, len(first_seen))
        else:
            uc, inv = np.unique(combo, return_inverse=True)
        keys = []
        for u in uc.tolist():
            mi, rest = divmod(u, len(c_names) * len(g_names))
            ci, gi = divmod(rest, len(g_names))
            keys.append((th, pt.metrics[mi], c_names[ci], g_names[gi]))
        cache = fm.hist_cache
        values = [cache.get(key) for key in keys]
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:
            feats = h.features(
                np.asarray([keys[i][1] for i in missing], dtype=object),
                np.asarray([keys[i][2] for i in missing], dtype=object),
                np.asarray([keys[i][3] for i in missing], dtype=object),
                np.full(len(missing), th, dtype=np.int64),
            )
            if len(cache) > 50_000:
                cache.clear()
            for j, i in enumerate(missing):
                values[i] = cache[keys[i]] = tuple(
                    float(feats[name][j]) for name in HISTORY_FEATURES
                )
        table = np.asarray(values, dtype=np.float64).reshape(-1, len(HISTORY_FEATURES))
        rows = table[inv.ravel()]
        history = {name: rows[:, j] for j, name in enumerate(HISTORY_FEATURES)}
    counts = Counts(
        backlog={name: float(v) for name, v in zip(p_names, back.tolist(), strict=True)},
        same_priority=back[row_p],
        overdue=n_over,
        arrivals=(cw[0], cw[1], sum(cw[2:6]), cw[6]),
        staffing=agents,
        group=(gtot, ahead),
        history=history,
    )
    d = due[live]
    return numeric_features(
        t, created[lt], target_s[live], elapsed_s[live], d, calendar_features_at(t, model.calendar),
        counts, model.priorities,
    )  # fmt: skip


def _recent_group_counts(
    fm: FastModel, t: int, g_names: list[str], k: int, idx: np.ndarray | slice = _ALL
) -> np.ndarray:
    """The recent closed tickets ``idx`` of ``fm`` in the group backlog at ``t`` (UTC ns), as
    ``GroupBacklogIndex`` counts them: per (group of ``g_names``, priority rank 0..k) cell,
    flat, those created in the 29 days up to ``t`` in a group named here, each counting 1 if
    created before the second of ``t``, less 1 if ``t`` is a whole second."""
    now_s = t // 10**9
    gmap = {name: i for i, name in enumerate(g_names)}
    rg_to_open = np.asarray([gmap.get(x, -1) for x in fm.recent_group_names], dtype=np.intp)
    resolved_before = 1.0 if t % 10**9 == 0 else 0.0  # as GroupBacklogIndex: t - 1 ns is in
    rcr = fm.recent_created_raw[idx]  # an earlier second exactly when t is a whole second
    og = rg_to_open[fm.recent_group[idx]] if len(rg_to_open) else np.zeros(0, np.intp)
    keep = (rcr <= t) & (rcr > t - _RECENT_NS) & (og >= 0)
    contrib = ((rcr[keep] // 10**9) < now_s).astype(np.float64) - resolved_before
    rank = fm.recent_rank[idx][keep]
    cells = len(g_names) * (k + 1)
    return np.bincount(og[keep] * (k + 1) + rank, weights=contrib, minlength=cells)


def _recent_group_base(fm: FastModel, t: int, g_names: list[str], k: int) -> np.ndarray:
    """:func:`_recent_group_counts` of all the recent tickets, cached: it depends on ``t`` only
    through which of them lie in the window, which of those were created before the second
    of ``t``, and whether ``t`` is a whole second (so polls a moment apart share it)."""
    rs = fm.recent_created  # sorted
    now_s = t // 10**9
    lo = int(np.searchsorted(rs, t - _RECENT_NS, side="right"))
    hi = int(np.searchsorted(rs, t, side="right"))
    early = min(max(int(np.searchsorted(rs, now_s * 10**9, side="left")), lo), hi)
    key = (lo, hi, early, t % 10**9 == 0, tuple(g_names))
    base = fm.group_cache.get(key)
    if base is None:
        base = _recent_group_counts(fm, t, g_names, k)
        if len(fm.group_cache) > 256:
            fm.group_cache.clear()
        fm.group_cache[key] = base
    return base
