"""Robustness grid of the breach-risk model: 15 generated desks against the elapsed rule.

Acceptance (issue "a model that holds under overload it has not seen"): on every desk
W in {4, 6, 8} weeks x S in {1, ..., 5} seeds of the default generator
(``slarisk data generate --weeks W --seed S``), the model trained with
``pipelines/breach_risk.yaml --trials 1`` has a backtest ROC AUC >= the elapsed-fraction
rule's and a Brier score <= the rule's, and an ECE <= 0.03 on at least 13 of the 15 desks.
W=6, S=3 is the desk whose backtest weeks hold a backlog the training weeks never reached.
The table also shows the model with the input-range guard that scoring serves
(``model_guarded``: the risk widened towards the rule, ``max(model, rule - rule at elapsed
0)``, on rows whose workload lies outside the training range) and the share of backtest rows
outside; the acceptance columns are the plain model's (what the promotion gate compares).

Each desk is generated with :func:`slarisk.capacity.synthetic.generate_history` (the CLI's
defaults), written to a temporary folder and trained with :func:`slarisk.risk.train.train`
into a throw-away MLflow store (the promotion decision is printed too). One desk takes minutes
on a busy 2-core machine; ``--quick`` runs the three W=6 desks S=1..3 only (W=6, S=3 included).

Usage: ``python -m benchmarks risk_grid [--quick]`` or
``python -m benchmarks.bench_risk_grid [--quick] [--desks 6:3,8:2]``.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

WEEKS = (4, 6, 8)
SEEDS = (1, 2, 3, 4, 5)
QUICK_DESKS = ((6, 1), (6, 2), (6, 3))
MAX_ECE = 0.03
MIN_ECE_OK = 13
SPEC = Path(__file__).resolve().parent.parent / "pipelines" / "breach_risk.yaml"
SCENARIO = Path(__file__).resolve().parent.parent / "simulations" / "baseline.yaml"


def run_desk(weeks: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Generate one desk, train on it with one trial; the backtest figures of model and rule."""
    from slarisk.capacity.synthetic import Imperfections, generate_history, write_history
    from slarisk.risk.spec import load_spec
    from slarisk.risk.train import train

    t0 = time.perf_counter()
    desk = workdir / f"w{weeks}_s{seed}"
    hist = generate_history(SCENARIO, weeks=weeks, seed=seed, imperfections=Imperfections())
    write_history(hist, desk / "history")
    t_gen = time.perf_counter() - t0
    spec = load_spec(SPEC).with_overrides(trials=1, data_source=desk / "history")
    res = train(
        spec,
        tracking_uri=f"sqlite:///{desk / 'mlruns' / 'mlflow.db'}",
        mlruns_dir=desk / "mlruns",
        models_dir=desk / "models",
    )
    rule = res.baselines["elapsed_rule"]
    m = res.metrics
    g = res.baselines.get("model_guarded", {})
    info = res.report.info if res.report is not None else {}
    return {
        "weeks": weeks,
        "seed": seed,
        "auc": m["roc_auc"],
        "rule_auc": rule["roc_auc"],
        "brier": m["brier"],
        "rule_brier": rule["brier"],
        "ece": m["ece"],
        "rule_ece": rule.get("ece", math.nan),
        "guarded_auc": g.get("roc_auc", math.nan),
        "guarded_brier": g.get("brier", math.nan),
        "guarded_ece": g.get("ece", math.nan),
        "out_of_range": info.get("out_of_range_share", math.nan),
        "promoted": res.decision.promote,
        "reason": res.decision.reason,
        "generate_seconds": t_gen,
        "train_seconds": res.seconds,
    }


def verdict(rows: list[dict[str, Any]], n_desks: int) -> dict[str, Any]:
    """The acceptance points on ``rows`` (the ECE count is scaled to the desks run)."""
    auc_ok = [r["auc"] >= r["rule_auc"] for r in rows]
    brier_ok = [r["brier"] <= r["rule_brier"] for r in rows]
    ece_ok = sum(r["ece"] <= MAX_ECE for r in rows)
    need = math.ceil(MIN_ECE_OK * n_desks / (len(WEEKS) * len(SEEDS)))
    return {
        "desks": n_desks,
        "auc_ge_rule": sum(auc_ok),
        "brier_le_rule": sum(brier_ok),
        "ece_le_max": ece_ok,
        "ece_needed": need,
        "met": all(auc_ok) and all(brier_ok) and ece_ok >= need,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Breach-risk model vs elapsed-fraction rule, backtest per desk")
    for col in (
        "W",
        "S",
        "AUC",
        "rule AUC",
        "Brier",
        "rule Brier",
        "ECE",
        "rule ECE",
        "AUC>=",
        "Brier<=",
        "guarded AUC / Brier / ECE",
        "outside",
        "promoted",
        "train s",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["weeks"]),
            str(r["seed"]),
            f"{r['auc']:.3f}",
            f"{r['rule_auc']:.3f}",
            f"{r['brier']:.4f}",
            f"{r['rule_brier']:.4f}",
            f"{r['ece']:.3f}",
            f"{r['rule_ece']:.3f}",
            "yes" if r["auc"] >= r["rule_auc"] else "NO",
            "yes" if r["brier"] <= r["rule_brier"] else "NO",
            f"{r['guarded_auc']:.3f} / {r['guarded_brier']:.4f} / {r['guarded_ece']:.3f}",
            f"{r['out_of_range']:.1%}",
            "yes" if r["promoted"] else "no",
            f"{r['train_seconds']:.0f}",
        )
    Console(width=160).print(table)


def run(quick: bool = False, desks: tuple[tuple[int, int], ...] | None = None) -> dict[str, Any]:
    """Run the grid (or ``desks``); print the table and the acceptance verdict."""
    if desks is None:
        desks = QUICK_DESKS if quick else tuple((w, s) for w in WEEKS for s in SEEDS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="slarisk-grid-") as tmp:
        for w, s in desks:
            r = run_desk(w, s, Path(tmp))
            rows.append(r)
            print(
                f"W={w} S={s}: AUC {r['auc']:.3f} (rule {r['rule_auc']:.3f}), Brier "
                f"{r['brier']:.4f} (rule {r['rule_brier']:.4f}), ECE {r['ece']:.3f}, "
                f"{r['generate_seconds'] + r['train_seconds']:.0f} s",
                flush=True,
            )
    print_table(rows)
    v = verdict(rows, len(rows))
    print(
        f"AUC >= rule on {v['auc_ge_rule']}/{v['desks']}, Brier <= rule on "
        f"{v['brier_le_rule']}/{v['desks']}, ECE <= {MAX_ECE} on {v['ece_le_max']}/{v['desks']} "
        f"(need {v['ece_needed']}): {'met' if v['met'] else 'NOT met'}"
    )
    return {"rows": rows, **v}


def _parse_desks(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        w, s = part.split(":")
        out.append((int(w), int(s)))
    return tuple(out)


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    chosen = None
    if "--desks" in args:
        chosen = _parse_desks(args[args.index("--desks") + 1])
    run(quick="--quick" in args, desks=chosen)
