"""What scoring prepares once and keeps: per policy (targets, calendars, alert levels as
lookup arrays; the calendars' open-interval tables) and per model (category encoders, the
recent arrivals, the compiled forest, the calibrator as ``numpy.interp``/``expit``).
Read by :mod:`slarisk.risk.fastscore`."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from slarisk.data import schema as s
from slarisk.risk import treekernel
from slarisk.risk.feature_indexes import DAY_NS, HistoryIndex
from slarisk.risk.features import BASE_NUMERIC_FEATURES, CATEGORICAL_FEATURES, WAIT_FEATURES
from slarisk.risk.outputs import priority_weights
from slarisk.risk.score_inputs import NotScorable, _factor
from slarisk.sla.calendar import OpenIntervals
from slarisk.sla.clock import calendar_tables, target_tables
from slarisk.sla.policy import METRICS

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy


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
    """What scoring needs from a :class:`~slarisk.risk.model.RiskModel`, as arrays
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
    supported: bool  # every model feature is one scoring builds
    forest: Any = None  # treekernel.FlatForest (compiled one-pass scoring), None: numpy path
    hist_cache: dict[tuple[int, str, str, str], tuple[float, ...]] = field(default_factory=dict)
    reason_cache: dict[tuple[int, int], str] = field(default_factory=dict)
    group_cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)
    #: agent-hours per ticket per team (the model's queue-wait scale).
    work_hours: dict[str, float] = field(default_factory=dict)
    #: the model reads a queue-wait feature (:data:`slarisk.risk.features.WAIT_FEATURES`).
    uses_wait: bool = False
    #: the input-range guard: columns of the model matrix with a training range, that range
    #: (min, max per column) and the elapsed-fraction rule it widens towards (None: no guard)
    guard_columns: tuple[str, ...] = ()
    guard_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    guard_lo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    guard_hi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rule: Any = None

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
    names = model.feature_names
    ranges = model.workload_range if model.rule is not None else {}
    guarded = tuple(c for c in names if c in ranges)
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
        feature_names=names,
        forest=_flat_forest(clf),
        work_hours=dict(model.metadata.get("work_hours", {})),
        uses_wait=bool(set(prep.numeric_) & set(WAIT_FEATURES)),
        guard_columns=guarded,
        guard_index=np.asarray([names.index(c) for c in guarded], dtype=np.intp),
        guard_lo=np.asarray([ranges[c]["min"] for c in guarded], dtype=np.float64),
        guard_hi=np.asarray([ranges[c]["max"] for c in guarded], dtype=np.float64),
        rule=model.rule if guarded else None,
        supported=set(prep.categorical_) <= set(CATEGORICAL_FEATURES)
        and set(prep.numeric_)
        <= {*BASE_NUMERIC_FEATURES, *(f"backlog_p_{p}" for p in model.priorities)},
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
