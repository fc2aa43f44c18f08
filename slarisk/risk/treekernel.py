"""One compiled pass over a LightGBM forest: raw score and decision-path contributions.

:func:`flatten` turns a fitted booster (``model_to_string`` for the splits) and its per-leaf
contribution table (``BreachClassifier.leaf_table_``, Saabas attribution) into flat arrays,
once per model; :func:`raw_and_contributions` walks every tree for every row in a numba kernel,
adding the leaf value to the row's raw score (log-odds) and the leaf's row of the table to the
row's contributions, in tree order (the same doubles as ``path_contributions``).
It replaces ``booster.predict(pred_leaf=True)`` followed by a gather over the per-leaf table.
Splits follow LightGBM's own rules (``tree.h``): numerical splits with
missing type None (NaN -> 0.0), Zero or NaN and ``default_left``; categorical splits (NaN,
negative or unlisted codes go right).

Without numba, :data:`AVAILABLE` is False and callers keep their numpy path. Large calls
split their rows across threads (:func:`raw_and_contributions`).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

try:  # optional: the numpy path of slarisk.risk.fastscore works without it
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    AVAILABLE = False

#: LightGBM's ``kZeroThreshold`` (1e-35f, as a double): |x| below it counts as zero.
_ZERO = float(np.float32(1e-35))
#: rows per block of the kernel (block of X and of the contributions stays in L2).
_BLOCK = 1024


@dataclass(frozen=True)
class FlatForest:
    """A forest as flat arrays. Nodes are numbered across trees; a child index ``c < 0`` is the
    leaf ``~c`` in the global leaf numbering (tree offset + leaf index, the rows of the
    contribution table)."""

    roots: np.ndarray  # int32 per tree: root node, or ~leaf for a single-leaf tree
    feature: np.ndarray  # int32 per node: split feature (column of X)
    threshold: np.ndarray  # float64 per node (numerical splits)
    kind: np.ndarray  # int8 per node: 0 numerical, 1 categorical
    missing: np.ndarray  # int8 per node: 0 None, 1 Zero, 2 NaN
    default_left: np.ndarray  # bool per node
    left: np.ndarray  # int32 per node
    right: np.ndarray  # int32 per node
    cat_row: np.ndarray  # int32 per node: row of cat_left (-1: numerical split)
    cat_left: np.ndarray  # bool (categorical splits, max code + 1): code goes left
    leaf_value: np.ndarray  # float64 per leaf
    table_indptr: np.ndarray  # int64: the contribution table (leaves x features) as CSR
    table_indices: np.ndarray  # int32 feature of each entry
    table_data: np.ndarray  # float64 contribution of each entry
    n_features: int


def _trees(text: str) -> list[dict[str, str]]:
    """The ``Tree=`` blocks of a LightGBM model string, as key -> value text."""
    header, _, body = text.partition("\nTree=")
    if "num_tree_per_iteration=1\n" not in header + "\n":
        raise ValueError("multi-class boosters are not supported")
    trees = []
    for block in ("Tree=" + body).split("end of trees")[0].split("\nTree="):
        kv = {}
        for line in block.split("\n")[1:]:
            key, sep, value = line.partition("=")
            if sep:
                kv[key] = value
        if kv:
            trees.append(kv)
    return trees


def _ints(text: str) -> np.ndarray:
    return np.asarray([int(x) for x in text.split()], dtype=np.int64)


def _floats(text: str) -> np.ndarray:
    return np.asarray([float(x) for x in text.split()], dtype=np.float64)  # correctly rounded


def flatten(booster: Any, leaf_table: Any, leaf_offset: np.ndarray) -> FlatForest:
    """The :class:`FlatForest` of a LightGBM ``booster`` (binary, one tree per iteration; splits
    read from ``model_to_string``, whose numbers are exact). ``leaf_table`` (scipy sparse,
    total leaves x features: each leaf's contributions) and ``leaf_offset`` (its first row per
    tree) fix the leaf numbering and the number of features. Raises ValueError for a model it
    cannot represent."""
    trees = _trees(booster.model_to_string())
    offsets = np.asarray(leaf_offset, dtype=np.int64)
    if len(offsets) != len(trees):
        raise ValueError("leaf_offset does not match the booster's trees")
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("feature", "threshold", "dtype", "left", "right", "cat_row")
    }
    cat_sets: list[list[int]] = []
    n_leaves = [int(kv["num_leaves"]) for kv in trees]
    leaf_value = np.zeros(int(sum(n_leaves)), dtype=np.float64)
    roots = np.zeros(len(trees), dtype=np.int32)
    n_nodes = 0
    for ti, kv in enumerate(trees):
        base_leaf = int(offsets[ti])
        nl = n_leaves[ti]
        values = _floats(kv["leaf_value"])
        if len(values) != nl:
            raise ValueError("leaf count mismatch")
        leaf_value[base_leaf : base_leaf + nl] = values
        if nl == 1:  # a single-leaf tree
            roots[ti] = ~base_leaf
            continue
        if kv.get("is_linear", "0").strip() not in ("", "0"):
            raise ValueError("linear trees are not supported")
        roots[ti] = n_nodes
        thr = _floats(kv["threshold"])
        dt = _ints(kv["decision_type"])
        cat_row = np.full(len(dt), -1, dtype=np.int64)
        if int(kv.get("num_cat", "0")) > 0:
            bounds = _ints(kv["cat_boundaries"])
            words = _ints(kv["cat_threshold"])
            for node in np.flatnonzero(dt & 1):
                ci = int(thr[node])
                bits = words[bounds[ci] : bounds[ci + 1]]
                cat_row[node] = len(cat_sets)
                cat_sets.append(
                    [c for c in range(32 * len(bits)) if (int(bits[c // 32]) >> (c % 32)) & 1]
                )
                thr[node] = 0.0
        for key, side in (("left", "left_child"), ("right", "right_child")):
            ch = _ints(kv[side])
            parts[key].append(np.where(ch >= 0, ch + n_nodes, ~(~ch + base_leaf)))
        parts["feature"].append(_ints(kv["split_feature"]))
        parts["threshold"].append(thr)
        parts["dtype"].append(dt)
        parts["cat_row"].append(cat_row)
        n_nodes += len(dt)

    def cat(key: str, dtype: Any) -> np.ndarray:
        arrays = parts[key]
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)

    dts = cat("dtype", np.int64)
    width = max((max(c) for c in cat_sets if c), default=-1) + 1
    cat_left = np.zeros((max(len(cat_sets), 1), max(width, 1)), dtype=np.bool_)
    for i, cats in enumerate(cat_sets):
        cat_left[i, cats] = True
    if leaf_table.shape[0] != len(leaf_value):
        raise ValueError("the contribution table does not match the booster's leaves")
    table = sparse.csr_matrix(leaf_table)
    table.sort_indices()
    return FlatForest(
        roots=roots,
        feature=cat("feature", np.int32),
        threshold=cat("threshold", np.float64),
        kind=(dts & 1).astype(np.int8),  # LightGBM's kCategoricalMask
        missing=((dts >> 2) & 3).astype(np.int8),  # 0 None, 1 Zero, 2 NaN
        default_left=(dts & 2) != 0,  # kDefaultLeftMask
        left=cat("left", np.int32),
        right=cat("right", np.int32),
        cat_row=cat("cat_row", np.int32),
        cat_left=cat_left,
        leaf_value=leaf_value,
        table_indptr=np.asarray(table.indptr, dtype=np.int64),
        table_indices=np.asarray(table.indices, dtype=np.int32),
        table_data=np.asarray(table.data, dtype=np.float64),
        n_features=int(leaf_table.shape[1]),
    )


def _walk_py(
    X: np.ndarray,
    roots: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    kind: np.ndarray,
    missing: np.ndarray,
    default_left: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    cat_row: np.ndarray,
    cat_left: np.ndarray,
    leaf_value: np.ndarray,
    table_indptr: np.ndarray,
    table_indices: np.ndarray,
    table_data: np.ndarray,
    raw: np.ndarray,
    contrib: np.ndarray,
) -> None:
    """Walk every tree for every row: raw[i] = 0.0 + the leaf values in tree order (LightGBM's
    order, so the sum is bit-identical), contrib[i] += the leaf's row of the contribution table
    in tree order (the additions of the sparse product one-hot leaves @ table, so the same
    doubles as ``BreachClassifier.path_contributions``).

    Blocks of rows, trees outer within a block (one tree's nodes stay hot in cache and the
    branch history is shared across rows). Compiled with numba when available.
    """
    width = cat_left.shape[1]
    n = X.shape[0]
    for i in range(n):
        raw[i] = 0.0
    for b0 in range(0, n, _BLOCK):
        b1 = min(n, b0 + _BLOCK)
        for t in range(roots.shape[0]):
            root = roots[t]
            for i in range(b0, b1):
                node = root
                while node >= 0:
                    f = feature[node]
                    v = X[i, f]
                    go_left = False
                    if kind[node] == 1:
                        # NaN, codes < 0 and codes past every listed category go right; others
                        # truncate toward zero (static_cast<int>: -0.5 -> 0) and go left if listed
                        if v > -1.0 and v < width and cat_left[cat_row[node], int(v)]:
                            go_left = True
                    else:
                        mt = missing[node]
                        if mt != 2 and np.isnan(v):
                            v = 0.0
                        if (mt == 1 and v > -_ZERO and v <= _ZERO) or (mt == 2 and np.isnan(v)):
                            go_left = default_left[node]
                        else:
                            go_left = v <= threshold[node]
                    node = left[node] if go_left else right[node]
                leaf = ~node
                raw[i] += leaf_value[leaf]
                for k in range(table_indptr[leaf], table_indptr[leaf + 1]):
                    contrib[i, table_indices[k]] += table_data[k]


def compiled(fn: Any) -> Any:
    """``fn`` compiled once per process and cached on disk (next to the module, or numba's
    user-wide cache); plain Python without numba."""
    if not AVAILABLE:
        return fn
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location: compile in memory (once per process)
        return njit(nogil=True)(fn)


_walk = compiled(_walk_py)


#: tree-row visits (rows x trees) from which a call splits its rows across threads; below it
#: handing work to another thread costs more than it saves.
PARALLEL_WORK = 100_000
#: the shared pool and its worker count (kept here: the executor does not publish it).
_POOL: list[tuple[ThreadPoolExecutor, int]] = []
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """Threads for one call: the CPUs this process may run on, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _pool(workers: int) -> ThreadPoolExecutor:
    """A shared pool of at least ``workers`` threads (created on first use)."""
    with _POOL_LOCK:
        if not _POOL or _POOL[0][1] < workers:
            _POOL[:] = [(ThreadPoolExecutor(workers, thread_name_prefix="slarisk-trees"), workers)]
        return _POOL[0][0]


if hasattr(os, "register_at_fork"):  # a forked child must not reuse the parent's threads
    os.register_at_fork(after_in_child=_POOL.clear)


def raw_and_contributions(
    forest: FlatForest, X: np.ndarray, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(raw score (n,), per-feature contributions (n, n_features)) of the rows of ``X``
    (float64, the model matrix). Raw score = sum of the leaf values, as LightGBM's
    ``raw_score``; contributions = the Saabas sums of the per-leaf contribution table (up to
    the order of the additions: within 1e-12, checked by the callers on a probe).

    ``threads``: the rows are cut into this many contiguous parts walked at the same time (the
    compiled kernel releases the GIL). Default: :func:`default_threads` when the call has at
    least :data:`PARALLEL_WORK` tree-row visits, else 1. Results do not depend on the split
    (rows are independent; each row sums its trees in the same order).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    raw = np.empty(n, dtype=np.float64)
    contrib = np.zeros((n, forest.n_features), dtype=np.float64)
    f = forest
    tables = (
        f.roots, f.feature, f.threshold, f.kind, f.missing, f.default_left, f.left, f.right,
        f.cat_row, f.cat_left, f.leaf_value, f.table_indptr, f.table_indices, f.table_data,
    )  # fmt: skip

    def walk(a: int, b: int) -> None:
        _walk(X[a:b], *tables, raw[a:b], contrib[a:b])

    if threads is None:
        threads = default_threads() if n * len(f.roots) >= PARALLEL_WORK else 1
    parts = max(1, min(threads, n))
    if parts == 1 or not AVAILABLE:  # the Python fallback holds the GIL: no gain in threads
        walk(0, n)
        return raw, contrib
    cuts = np.linspace(0, n, parts + 1).astype(int).tolist()
    futures = [_pool(parts - 1).submit(walk, a, b) for a, b in itertools.pairwise(cuts[1:])]
    walk(cuts[0], cuts[1])
    for fut in futures:
        fut.result()
    return raw, contrib
