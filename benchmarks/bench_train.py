"""Training cost of the breach-risk Pipeline against a bare LightGBM fit (same run).

Goal (issue 4): fitting the whole Pipeline (preprocessing of the feature frame + LightGBM +
calibration) on 1,000,000 landmark rows takes at most 1.3x the time of a bare
``lightgbm.train`` on the same, already-encoded feature matrix with the same parameters.

The feature frame has the exact columns of :func:`slarisk.risk.features.build_features`
(string categoricals, float numerics with missing values) with values drawn at random and a
label from a known logistic model, so the benchmark does not depend on the simulator. Contenders:

- ``bare LightGBM (all rows)``: ``lightgbm.train`` on the encoded matrix, every row (reference);
- ``bare LightGBM (fit rows)``: the same on the rows the Pipeline's booster sees (it holds the
  latest ``calibration_fraction`` out for the calibrator) - the pure overhead reference;
- ``Pipeline.fit``: :func:`slarisk.risk.model.make_pipeline` on the frame.

Both use one thread (the machine is shared; ratios are what count).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

GOAL_RATIO = 1.3


def feature_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Random feature frame with the breach model's columns and a logistic label."""
    from slarisk.risk.features import BASE_NUMERIC_FEATURES, CATEGORICAL_FEATURES

    rng = np.random.default_rng(seed)
    levels = {
        "metric": ["first_response", "resolution"],
        "priority": ["P1", "P2", "P3", "P4"],
        "tier": ["gold", "silver", "bronze"],
        "region": ["EMEA", "AMER", "APAC"],
        "service_type": ["incident", "request"],
        "channel": ["email", "phone", "portal", "chat"],
        "customer": [f"c{i:03d}" for i in range(300)],
        "category": ["access", "software", "hardware", "network", "billing"],
        "group": ["L1", "L2", "infra", "apps"],
    }
    cols: dict[str, Any] = {}
    logit = np.full(n, -1.0)
    for c in CATEGORICAL_FEATURES:
        lv = np.array(levels.get(c, ["a", "b"]), dtype=object)
        codes = rng.integers(0, len(lv), n)
        cols[c] = lv[codes]
        logit += rng.normal(0, 0.4, len(lv))[codes]
    for c in (
        *BASE_NUMERIC_FEATURES,
        "backlog_p_P1",
        "backlog_p_P2",
        "backlog_p_P3",
        "backlog_p_P4",
    ):
        x = rng.normal(0.0, 1.0, n)
        logit += rng.normal(0, 0.3) * x
        x[rng.random(n) < 0.05] = np.nan
        cols[c] = x
    X = pd.DataFrame(cols)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return X, y


def _best_of(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(quick: bool = False) -> dict[str, Any]:
    """Time the contenders; print a rich table (rows/s and the ratio vs the goal)."""
    import lightgbm as lgb
    from rich.console import Console
    from rich.table import Table

    from slarisk.risk.model import make_pipeline

    n = 200_000 if quick else 1_000_000
    params = {"n_estimators": 50 if quick else 100, "n_jobs": 1}
    repeats = 1
    X, y = feature_frame(n)
    pipe = make_pipeline(params, random_state=0)
    clf = pipe.named_steps["clf"]
    # the same encoded matrix the Pipeline builds (fit on the frame, as the Pipeline does)
    prep = pipe.named_steps["prep"]
    M = prep.fit(X).transform(X)
    cats = list(clf.categorical_feature)
    n_fit = n - round(clf.calibration_fraction * n)

    def bare(rows: int) -> None:
        data = lgb.Dataset(
            M[:rows],
            label=y[:rows],
            categorical_feature=cats,
            free_raw_data=True,
            params={"max_bin": 255, "verbosity": -1},
        )
        lgb.train(clf.lgb_params(), data, num_boost_round=clf.n_estimators)

    t_all = _best_of(lambda: bare(n), repeats)
    t_fit = _best_of(lambda: bare(n_fit), repeats)
    t_pipe = _best_of(lambda: make_pipeline(params, random_state=0).fit(X, y), repeats)
    # the shipped pipeline's calibration (temperature on a slice ending 10% before the end:
    # the trees fit the rows on both sides of it)
    shipped = {**params, "calibration": "temperature", "calibration_offset": 0.1}
    t_shipped = _best_of(lambda: make_pipeline(shipped, random_state=0).fit(X, y), repeats)
    ratio = t_pipe / t_all
    ratio_fit = t_pipe / t_fit
    ratio_shipped = t_shipped / t_all
    table = Table(
        title=f"Breach-risk training, {n:,} landmark rows, {params['n_estimators']} trees"
    )
    table.add_column("contender")
    table.add_column("seconds", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("vs bare (all rows)", justify="right")
    for name, t in (
        ("bare LightGBM (all rows)", t_all),
        (f"bare LightGBM (fit rows, {n_fit:,})", t_fit),
        ("Pipeline.fit (prep + LightGBM + calibration)", t_pipe),
        ("Pipeline.fit, shipped calibration (temperature, offset 0.1)", t_shipped),
    ):
        table.add_row(name, f"{t:.2f}", f"{n / t:,.0f}", f"{t / t_all:.2f}x")
    Console().print(table)
    ok = ratio <= GOAL_RATIO and ratio_shipped <= GOAL_RATIO
    print(
        f"Pipeline / bare LightGBM = {ratio:.2f}x, shipped calibration {ratio_shipped:.2f}x "
        f"(goal <= {GOAL_RATIO}x: {'met' if ok else 'NOT met'}); vs a bare fit on the "
        f"booster's own rows: {ratio_fit:.2f}x"
    )
    return {
        "rows": n,
        "n_estimators": params["n_estimators"],
        "bare_seconds": t_all,
        "bare_fit_rows_seconds": t_fit,
        "pipeline_seconds": t_pipe,
        "ratio": ratio,
        "ratio_vs_fit_rows": ratio_fit,
        "shipped_pipeline_seconds": t_shipped,
        "ratio_shipped": ratio_shipped,
        "goal": GOAL_RATIO,
        "met": ok,
    }


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
