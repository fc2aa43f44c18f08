"""The scoring engine behind :func:`slarisk.risk.score.score_open_tickets`, on numpy arrays.

At scoring time every observation is taken at the same instant ``now``, so most features are
per-request scalars (calendar, arrivals, staffing, backlog) or per-key lookups (backlog by
priority and group, history by metric/category/group); only the clock features vary per row.
Everything that does not depend on the request is prepared once per model and once per policy
(:mod:`slarisk.risk.score_tables`); the input columns are :mod:`slarisk.risk.score_inputs`.

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
Over 600 lines on purpose: the engine and the per-request counts it hands to the one feature
definition (arrival windows, group backlog and first-response queue cells, history lookups)
share the request's arrays; apart, a dozen arrays would cross a module boundary per call.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from slarisk.data import schema as s
from slarisk.risk.feature_indexes import (
    DAY_NS,
    HOUR_NS,
    WEEK_NS,
    WINDOW_NS,
    StaffingIndex,
)
from slarisk.risk.features import (
    HISTORY_FEATURES,
    PREEMPT_WINDOW_NS,
    Counts,
    calendar_features_at,
    expected_wait_hours,
    numeric_features,
)
from slarisk.risk.outputs import (
    BREACHED_BAND,
    SCORE_COLUMNS,
    guard_outside_range,
    risk_band,
    top_reasons,
    work_order_ranks,
)
from slarisk.risk.score_inputs import (
    NAT,
    NotScorable,
    StaffingArrays,
    TicketArrays,
    _factor,
    _staffing_at,
    staffing_index,
)
from slarisk.risk.score_tables import (
    FastModel,
    PolicyTables,
    _clock_tables,
    fast_model,
    policy_tables,
)
from slarisk.risk.treekernel import compiled, raw_and_contributions
from slarisk.sla.clock import clocks_at

if TYPE_CHECKING:
    from slarisk.risk.model import RiskModel
    from slarisk.sla.policy import Policy

_ALL = slice(None)
_NO_PAUSES = (np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64))
_RECENT_NS = 29 * DAY_NS  # recent closed tickets kept for the arrival counts (as _workload)
#: up to this many live clocks, distinct keys are found with a dict rather than a sort.
_FEW_ROWS = 128
#: below this many live clocks, contributions are a dense gather (no sparse set-up cost).
_DENSE_ROWS = 8
#: up to this many, a sparse x sparse product; above it, sparse x dense (cheaper per row).
_SPARSE_ROWS = 512


# --------------------------------------------------------------------------------------------
# The engine
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
        raise NotScorable("features the scoring engine does not build")
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
        if fm.rule is not None:
            metric_names = np.asarray(pt.metrics, dtype=object)[mk[live]]
            proba_live, reasons_live = guard_outside_range(
                fm, X, proba_live, reasons_live, metric_names, num["elapsed_fraction"]
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
        raw = clf.bias_ + contrib.sum(axis=1)  # as path_contributions
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
    st: StaffingIndex | None = None
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
    wait = None
    if st is not None and fm.uses_wait:  # per (group, priority rank) cell of the live rows
        cell = row_g * (k + 1) + p_rank[row_p]
        cells_used, inv_cell = np.unique(cell, return_inverse=True)
        rank_t = p_rank[p_codes]
        waiting, higher = _queue_cells(fm, tickets, t, created, g_codes, rank_t, g_names, k, found)
        cell_g = cells_used // (k + 1)
        work = np.asarray([fm.work_hours.get(g_names[g], np.nan) for g in cell_g.tolist()])
        wait = expected_wait_hours(
            st,
            g_names,
            cell_g,
            waiting[cells_used],
            higher[cells_used] * (HOUR_NS / PREEMPT_WINDOW_NS),
            work,
            t,
        )[inv_cell.ravel()]
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
        wait=wait,
    )
    d = due[live]
    return numeric_features(
        t, created[lt], target_s[live], elapsed_s[live], d, calendar_features_at(t, model.calendar),
        counts, model.priorities,
    )  # fmt: skip


def _queue_cells(
    fm: FastModel,
    tickets: TicketArrays,
    t: int,
    created: np.ndarray,
    g_codes: np.ndarray,
    rank: np.ndarray,
    g_names: list[str],
    k: int,
    found: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per (group, priority rank) cell, flat: the tickets waiting for a first response with
    the same or a higher priority, and the tickets of a strictly higher priority created in
    the last
    :data:`~slarisk.risk.features.PREEMPT_WINDOW_NS`, as the training indexes count them
    (``response_queue`` and ``group_arrivals`` of :class:`~slarisk.risk.features.
    FeatureContext`: events of a second before that of ``t``). The model's recent closed
    tickets were responded to before ``now``: they count in the arrivals only, less those
    also in the request (``found``: each request ticket's index among them, or -1)."""
    now_s = t // 10**9
    cells = len(g_names) * (k + 1)
    flat = g_codes * (k + 1) + rank
    fr = np.asarray(tickets.first_response_ns, dtype=np.int64)
    res = np.asarray(tickets.resolved_ns, dtype=np.int64)
    stop = np.where(fr == NAT, res, fr)
    weight = (created // 10**9 < now_s).astype(np.float64) - (
        (stop != NAT) & (stop // 10**9 < now_s)
    )
    waiting = np.bincount(flat, weights=weight, minlength=cells)
    lo_s = (t - PREEMPT_WINDOW_NS) // 10**9
    sec = created // 10**9
    new = (sec >= lo_s) & (sec < now_s)
    arrivals = np.bincount(flat[new], minlength=cells).astype(np.float64)
    rs = fm.recent_created  # sorted: is any recent ticket in the window at all?
    if len(rs) and np.searchsorted(rs, now_s * 10**9) > np.searchsorted(rs, lo_s * 10**9):
        rcr = fm.recent_created_raw
        rsec = rcr // 10**9
        keep = (rsec >= lo_s) & (rsec < now_s)
        keep[found[found >= 0]] = False  # in the request: counted above
        idx = np.flatnonzero(keep)
        gmap = {name: i for i, name in enumerate(g_names)}
        og = np.asarray([gmap.get(x, -1) for x in fm.recent_group_names], dtype=np.intp)
        og = og[fm.recent_group[idx]]
        ok = og >= 0
        arrivals += np.bincount(og[ok] * (k + 1) + fm.recent_rank[idx][ok], minlength=cells).astype(
            np.float64
        )
    # waiting with the same or a higher priority; arrivals of a strictly higher one
    ahead = np.cumsum(waiting.reshape(len(g_names), k + 1), axis=1)
    higher = np.zeros((len(g_names), k + 1))
    higher[:, 1:] = np.cumsum(arrivals.reshape(len(g_names), k + 1), axis=1)[:, :-1]
    return ahead.ravel(), higher.ravel()


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
