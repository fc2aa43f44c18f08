"""Agreement between the policy's verdict and the source system's own SLA flag.

When tickets carry the source's verdict (``source_made_sla``, e.g. ServiceNow's ``made_sla``),
the report compares it, per decided clock (met or breached, not excluded), with the policy's
verdict, so a user sees where their policy differs from their tool's. Each disagreement gets
one category, checked in this order:

- ``missing timestamps``: the clock's stop was not recorded: no first response (the clock
  stopped at resolution), a resolution taken from the closing time (``resolved_from_closed``),
  or a clock still open;
- ``pause rule``: the policy paused the clock and the pause decides the verdict (without the
  paused time the clock would breach): the source does not pause there;
- ``different target``: the verdict differs on elapsed time alone: the source's target (or
  calendar) is shorter (policy met, source breached) or longer (policy breached, source met).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from slarisk.data import schema as s

#: disagreement categories, in the order they are checked.
DISAGREEMENT_CATEGORIES: tuple[str, ...] = ("missing timestamps", "pause rule", "different target")
_COUNT_COLS = tuple(c.replace(" ", "_") for c in DISAGREEMENT_CATEGORIES)


def has_source_verdict(classified: pd.DataFrame) -> bool:
    """True when the clocks carry a non-missing source SLA flag."""
    return s.SOURCE_MADE_SLA in classified.columns and bool(
        classified[s.SOURCE_MADE_SLA].notna().any()
    )


def _as_bool(values: pd.Series) -> pd.Series:
    """Source flags as booleans (bool, 0/1 or true/false text); missing stays NA."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = values.astype("str").str.strip().str.lower().where(values.notna())
    out = text.map({"true": True, "1": True, "1.0": True, "false": False, "0": False})
    return out.astype("boolean")


def compare_with_source(classified: pd.DataFrame) -> pd.DataFrame:
    """Decided clocks with a source flag, plus ``policy_met``, ``source_met``, ``agree``,
    ``category`` (empty when they agree), ``stop_note`` and elapsed/target/paused hours."""
    if not has_source_verdict(classified):
        return pd.DataFrame()
    flag = _as_bool(classified[s.SOURCE_MADE_SLA])
    keep = classified["status_class"].isin(["met", "breached"]).to_numpy() & flag.notna().to_numpy()
    d = classified.loc[keep].copy()
    d["policy_met"] = d["status_class"].eq("met").to_numpy()
    d["source_met"] = flag[keep].astype(bool).to_numpy()
    d["agree"] = d["policy_met"] == d["source_met"]
    elapsed = d["elapsed_seconds"].to_numpy(float)
    paused = d["paused_seconds"].to_numpy(float)
    target = d["target_seconds"].to_numpy(float)
    response = d.get(s.FIRST_RESPONSE_AT, pd.Series(pd.NaT, index=d.index))
    no_response = (d["metric"].eq("first_response") & response.isna()).to_numpy()
    stops_at_resolution = d["metric"].eq("resolution").to_numpy() | no_response
    from_closed = stops_at_resolution & (
        _as_bool(d["resolved_from_closed"]).fillna(False).to_numpy(dtype=bool)
        if "resolved_from_closed" in d.columns
        else np.zeros(len(d), dtype=bool)
    )
    missing = no_response | from_closed | d["is_open"].astype(bool).to_numpy()
    pause_flips = (paused > 0) & (elapsed <= target) & (elapsed + paused > target)
    dis = ~d["agree"].to_numpy()
    cat = np.select(
        [dis & missing, dis & pause_flips, dis], list(DISAGREEMENT_CATEGORIES), default=""
    )
    d["category"] = cat
    d["stop_note"] = np.select(
        [no_response, from_closed, d["is_open"].astype(bool).to_numpy()],
        [
            "no first response recorded: the clock stopped at resolution",
            "no resolved_at: resolution taken at closed_at",
            "clock still open",
        ],
        default="",
    )
    d["elapsed_hours"] = np.round(elapsed / 3600.0, 1)
    d["target_hours"] = np.round(target / 3600.0, 1)
    d["paused_hours"] = np.round(paused / 3600.0, 1)
    return d


def agreement_table(compared: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per segment (``keys``): compared clocks, agreement rate, both directions of
    disagreement and the count per category; sorted by segment."""
    cols = [
        *keys,
        "compared",
        "agree",
        "agreement",
        "policy_met_source_breached",
        "policy_breached_source_met",
        *_COUNT_COLS,
    ]
    if compared.empty:
        return pd.DataFrame(columns=cols)
    d = compared.assign(
        pm_sb=compared["policy_met"] & ~compared["source_met"],
        pb_sm=~compared["policy_met"] & compared["source_met"],
        **{
            c: compared["category"].eq(n)
            for c, n in zip(_COUNT_COLS, DISAGREEMENT_CATEGORIES, strict=True)
        },
    )
    g = d.groupby(keys, observed=True, sort=True)
    out = g.agg(
        compared=("agree", "size"),
        agree=("agree", "sum"),
        policy_met_source_breached=("pm_sb", "sum"),
        policy_breached_source_met=("pb_sm", "sum"),
        **{c: (c, "sum") for c in _COUNT_COLS},
    ).reset_index()
    out["agreement"] = out["agree"] / out["compared"]
    return out[cols]


def agreement_by_priority(compared: pd.DataFrame) -> pd.DataFrame:
    """Agreement per priority and metric, with an ``all`` row per metric."""
    if compared.empty:
        return agreement_table(compared, ["priority", "metric"])
    per = agreement_table(compared, ["priority", "metric"])
    total = agreement_table(compared, ["metric"]).assign(priority="all")
    return pd.concat([per, total[per.columns]], ignore_index=True)


def largest_disagreements(compared: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` disagreeing clocks farthest from the policy target (business hours)."""
    cols = [
        "ticket_id",
        "metric",
        "priority",
        "policy_met",
        "source_met",
        "elapsed_hours",
        "target_hours",
        "paused_hours",
        "category",
        "explanation",
    ]
    if compared.empty:
        return pd.DataFrame(columns=cols)
    d = compared[~compared["agree"]]
    gap = (d["elapsed_hours"] - d["target_hours"]).abs()
    order = np.lexsort((d["ticket_id"].astype(str).to_numpy(), -gap.to_numpy()))
    top = d.iloc[order[:limit]].copy()
    top["explanation"] = [_explain(r) for r in top.to_dict(orient="records")]
    return top[cols].reset_index(drop=True)


def _explain(r: dict[Hashable, Any]) -> str:
    """One sentence on why the policy and the source disagree about one clock."""
    used = f"{r['elapsed_hours']} of {r['target_hours']} business h"
    if r["category"] == "missing timestamps":
        return f"{r['stop_note']} ({used})"
    if r["category"] == "pause rule":
        return (
            f"met only because the policy paused {r['paused_hours']} h ({used} counted);"
            " the source counts the paused time"
        )
    if r["policy_met"]:
        return f"{used}, within the policy target: the source's target is shorter"
    return f"{used}, over the policy target: the source's target is longer"


__all__ = [
    "DISAGREEMENT_CATEGORIES",
    "agreement_by_priority",
    "agreement_table",
    "compare_with_source",
    "has_source_verdict",
    "largest_disagreements",
]
