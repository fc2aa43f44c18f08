"""SLA compliance report: attainment per segment with Wilson intervals, exclusions, credits.

Input is the clocks frame of :func:`slarisk.sla.clock.compute_clocks` (one row per ticket and
metric). Every clock falls in exactly one class:

- ``excluded``: matched an exception window (``excluded_by``); not counted, listed separately
  with the exception id, reason and approver;
- ``met``: stopped within target; ``breached``: stopped after target, or still open and
  already past due at ``now``;
- ``open_not_due``: still open and not yet past due (pending: not in the attainment).

Attainment = met / (met + breached), with a Wilson score 95 % interval. ``month`` is the
calendar month (policy timezone) of ``created_at``. Segments with several targets report the
ticket-weighted mean of their goals.

Service credits, per customer and month: for each target (tier, priority, metric) the
shortfall = goal - attainment gives a credit % from the policy's bands (each capped); the
customer-month's credit % is the sum over its targets, capped at the schedule's ``cap_pct``;
amount = credit % x the customer's monthly fee.

When tickets carry the source system's own verdict (``source_made_sla``), the report also
gives the agreement between the policy's verdict and the source's per segment and per
priority, and the largest disagreements with their category (see
:mod:`slarisk.sla.source_agreement`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from slarisk.errors import InputError
from slarisk.sla import source_agreement as sa
from slarisk.sla.policy import Policy

#: columns a report may be segmented by.
SEGMENTS: tuple[str, ...] = (
    "tier",
    "region",
    "service_type",
    "priority",
    "customer",
    "month",
    "week",
    "metric",
)
Z95 = 1.959963984540054
_CLASS_COUNTS = ("met", "breached", "open_not_due", "excluded")


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, z: float = Z95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval (default 95 %) for ``successes`` out of ``n``; NaN where n == 0."""
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        z2 = z * z
        denom = 1.0 + z2 / m
        centre = (p + z2 / (2.0 * m)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m))
        lo = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def parse_segments(by: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate a segment list (``"tier,month"`` or a list); InputError names the bad one."""
    if by is None:
        return []
    items = [b.strip() for b in by.split(",")] if isinstance(by, str) else list(by)
    items = [b for b in items if b]
    for b in items:
        if b not in SEGMENTS:
            raise InputError(f"unknown segment {b!r} (one of {', '.join(SEGMENTS)})", field="by")
    return list(dict.fromkeys(items))


def classify(clocks: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Clocks plus ``status_class`` (met/breached/open_not_due/excluded) and ``month``."""
    need = ("ticket_id", "metric", "is_open", "breached", "excluded_by", "goal", "created_at")
    missing = [c for c in need if c not in clocks.columns]
    if missing:
        raise InputError(f"clocks frame lacks column(s) {missing}", field=missing[0])
    out = clocks.copy()
    excluded = out["excluded_by"].notna().to_numpy()
    breached = out["breached"].to_numpy(dtype=bool)
    is_open = out["is_open"].to_numpy(dtype=bool)
    out["status_class"] = np.select(
        [excluded, breached, is_open], ["excluded", "breached", "open_not_due"], "met"
    )
    created = pd.to_datetime(out["created_at"], utc=True)
    local = created.dt.tz_convert(timezone).dt.tz_localize(None)
    out["month"] = local.dt.to_period("M").astype(str)
    out["week"] = local.dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d")
    for col in SEGMENTS:
        if col not in out.columns:
            out[col] = "unknown"
    return out


def attainment(classified: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts and attainment per segment (``by`` plus ``metric``), Wilson 95 % interval."""
    keys = [*by, "metric"] if "metric" not in by else list(by)
    df = classified
    counts = pd.crosstab([df[k] for k in keys], df["status_class"]).reindex(
        columns=list(_CLASS_COUNTS), fill_value=0
    )
    counted = df["status_class"] != "excluded"
    goal = df[counted].groupby(keys, observed=True)["goal"].mean()
    out = counts.reset_index()
    out.columns.name = None
    out["tickets"] = out[list(_CLASS_COUNTS)].sum(axis=1)
    out["counted"] = out["met"] + out["breached"] + out["open_not_due"]
    out["decided"] = out["met"] + out["breached"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment"] = np.where(out["decided"] > 0, out["met"] / out["decided"], np.nan)
    lo, hi = wilson_interval(out["met"], out["decided"])
    out["ci_low"], out["ci_high"] = lo, hi
    out = out.merge(goal.rename("goal").reset_index(), on=keys, how="left")
    meets = pd.Series(
        (out["attainment"] >= out["goal"] - 1e-12).to_numpy(), dtype="boolean", index=out.index
    )
    out["meets_goal"] = meets.mask(out["decided"].to_numpy() == 0)
    order = [
        *keys,
        "tickets",
        "counted",
        "decided",
        "met",
        "breached",
        "open_not_due",
        "excluded",
        "attainment",
        "ci_low",
        "ci_high",
        "goal",
        "meets_goal",
    ]
    return out[order].sort_values(keys, kind="stable").reset_index(drop=True)


def exclusions(classified: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One row per excluded ticket: exception id, reason, approver and the ticket's segments."""
    ex = classified[classified["status_class"] == "excluded"]
    ex = ex.drop_duplicates("ticket_id")
    info = {e.id: (e.reason, e.approver) for e in policy.exceptions}
    ids = ex["excluded_by"].astype(str)
    out = pd.DataFrame(
        {
            "ticket_id": ex["ticket_id"].to_numpy(),
            "created_at": ex["created_at"].to_numpy(),
            "exception_id": ids.to_numpy(),
            "reason": [info.get(i, ("?", "?"))[0] for i in ids],
            "approver": [info.get(i, ("?", "?"))[1] for i in ids],
        }
    )
    for col in ("tier", "priority", "customer", "region", "service_type"):
        out[col] = ex[col].to_numpy()
    return out.sort_values(["exception_id", "created_at", "ticket_id"]).reset_index(drop=True)


def reconciliation(classified: pd.DataFrame) -> pd.DataFrame:
    """Per metric: tickets = met + breached + open_not_due + excluded (always holds)."""
    counts = pd.crosstab(classified["metric"], classified["status_class"]).reindex(
        columns=list(_CLASS_COUNTS), fill_value=0
    )
    counts["tickets"] = classified.groupby("metric")["ticket_id"].nunique()
    counts["counted"] = counts["met"] + counts["breached"] + counts["open_not_due"]
    out = counts.reset_index()
    out.columns.name = None
    return out[["metric", "tickets", "counted", "excluded", "met", "breached", "open_not_due"]]


def credits(classified: pd.DataFrame, policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Service credits: (per customer-month totals, per customer-month-target detail).

    Empty frames when the policy has no credit schedule.
    """
    detail_cols = [
        "customer",
        "month",
        "tier",
        "priority",
        "metric",
        "met",
        "decided",
        "attainment",
        "goal",
        "shortfall",
        "credit_pct",
    ]
    total_cols = [
        "customer",
        "month",
        "targets",
        "targets_missed",
        "credit_pct",
        "fee",
        "currency",
        "amount",
    ]
    sched = policy.credits
    decided = classified[classified["status_class"].isin(["met", "breached"])]
    if sched is None or decided.empty:
        return pd.DataFrame(columns=total_cols), pd.DataFrame(columns=detail_cols)
    keys = ["customer", "month", "tier", "priority", "metric"]
    g = decided.assign(is_met=decided["status_class"].eq("met")).groupby(keys, observed=True)
    det = g.agg(met=("is_met", "sum"), decided=("is_met", "size"), goal=("goal", "mean"))
    det = det.reset_index()
    det["attainment"] = det["met"] / det["decided"]
    det["shortfall"] = det["goal"] - det["attainment"]
    det["credit_pct"] = sched.credit_pct(det["shortfall"].to_numpy())
    det = det[detail_cols]
    tot = det.groupby(["customer", "month"], observed=True).agg(
        targets=("credit_pct", "size"),
        targets_missed=("shortfall", lambda s: int((s > 1e-12).sum())),
        credit_pct=("credit_pct", "sum"),
    )
    tot = tot.reset_index()
    tot["credit_pct"] = np.minimum(tot["credit_pct"], sched.cap_pct)
    tot["fee"] = [sched.fee_for(str(c)) for c in tot["customer"]]
    tot["currency"] = sched.currency
    tot["amount"] = tot["credit_pct"] / 100.0 * tot["fee"]
    return tot[total_cols], det


def over_time(classified: pd.DataFrame) -> pd.DataFrame:
    """Attainment per period and metric (the plot's data), with Wilson intervals and goal.

    The period is the month, or the week (starting Monday, policy timezone) when the tickets
    span fewer than four months; its label is in column ``period``.
    """
    unit = "month" if classified["month"].nunique() >= 4 else "week"
    return attainment(classified, [unit]).rename(columns={unit: "period"})


@dataclass(frozen=True)
class ComplianceReport:
    """All tables of a compliance report (plain DataFrames) and its context."""

    policy_name: str
    generated_at: pd.Timestamp
    now: pd.Timestamp
    by: tuple[str, ...]
    attainment: pd.DataFrame
    over_time: pd.DataFrame
    reconciliation: pd.DataFrame
    excluded: pd.DataFrame
    credits: pd.DataFrame
    credit_detail: pd.DataFrame
    currency: str = "EUR"
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: agreement with the source's own SLA flag (empty without one): per segment, per
    #: priority (with an ``all`` row per metric) and the largest disagreements explained.
    source_agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    source_by_priority: pd.DataFrame = field(default_factory=pd.DataFrame)
    source_disagreements: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict (timestamps ISO 8601, NaN -> null)."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                    out[c] = out[c].map(lambda t: None if pd.isna(t) else t.isoformat())
            out = out.astype(object).where(out.notna(), None)
            return [
                {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in out.to_dict(orient="records")
            ]

        return {
            "policy": self.policy_name,
            "generated_at": self.generated_at.isoformat(),
            "now": self.now.isoformat(),
            "by": list(self.by),
            "currency": self.currency,
            "reconciliation": records(self.reconciliation),
            "attainment": records(self.attainment),
            "over_time": records(self.over_time),
            "excluded": records(self.excluded),
            "credits": records(self.credits),
            "credit_detail": records(self.credit_detail),
            "source_agreement": records(self.source_agreement),
            "source_by_priority": records(self.source_by_priority),
            "source_disagreements": records(self.source_disagreements),
            "notes": list(self.notes),
        }


def build_report(
    clocks: pd.DataFrame,
    policy: Policy,
    by: str | list[str] | None = None,
    *,
    now: Any = None,
) -> ComplianceReport:
    """Compliance report of a clocks frame (``compute_clocks`` output) under ``policy``."""
    segs = parse_segments(by)
    cls = classify(clocks, policy.timezone)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if now_ts.tzinfo is None:
        now_ts = now_ts.tz_localize("UTC")
    tot, det = credits(cls, policy)
    compared = sa.compare_with_source(cls)
    keys = [*segs, "metric"] if "metric" not in segs else segs
    return ComplianceReport(
        policy_name=policy.name,
        generated_at=pd.Timestamp.now(tz="UTC"),
        now=now_ts,
        by=tuple(segs),
        attainment=attainment(cls, segs),
        over_time=over_time(cls),
        reconciliation=reconciliation(cls),
        excluded=exclusions(cls, policy),
        credits=tot,
        credit_detail=det,
        currency=policy.credits.currency if policy.credits else "EUR",
        source_agreement=sa.agreement_table(compared, keys),
        source_by_priority=sa.agreement_by_priority(compared),
        source_disagreements=sa.largest_disagreements(compared),
    )


def status_table(clocks: pd.DataFrame) -> pd.DataFrame:
    """Open, non-excluded clocks, soonest breach first (earliest due, then least time left).

    Columns: ticket_id, metric, priority, tier, customer, alert_level, due_at,
    time_left_seconds (business seconds, negative when overdue), elapsed_fraction, breached.
    """
    open_ = clocks[clocks["is_open"].astype(bool) & clocks["excluded_by"].isna()]
    cols = [
        "ticket_id",
        "metric",
        "priority",
        "tier",
        "customer",
        "alert_level",
        "due_at",
        "time_left_seconds",
        "elapsed_fraction",
        "breached",
    ]
    out = open_.reindex(columns=cols)
    out["customer"] = out["customer"].fillna("unknown")
    return out.sort_values(["due_at", "time_left_seconds", "ticket_id"], kind="stable").reset_index(
        drop=True
    )


def alert_counts(status: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Open clocks per metric and alert level (0 = below the first warning)."""
    cols = [0, *levels]
    tab = pd.crosstab(status["metric"], status["alert_level"]).reindex(columns=cols, fill_value=0)
    tab.columns = [f"level_{c}" for c in cols]
    tab["open"] = tab.sum(axis=1)
    out = tab.reset_index()
    out.columns.name = None
    return out
