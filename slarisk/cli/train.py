"""CLI command `slarisk train SPEC [--trials N] [--seed S]` (thin layer over slarisk.risk.train).

Shows a progress bar over the Optuna trials, then the backtest comparison of the model with the
baselines (and the current champion, on the same rows) and the promotion decision. Bad specs
or data print one line naming the file and field, exit code 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from slarisk.risk.train import TrainResult

#: backtest columns shown: metric key -> header.
_COLUMNS = {
    "roc_auc": "AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier",
    "log_loss": "log loss",
    "ece": "ECE",
    "precision_top10": "P@10%",
    "recall_top10": "R@10%",
}


def register(app: typer.Typer) -> None:
    """Add `slarisk train` to the top-level app."""
    app.command("train")(train_command)


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {message}", markup=True
    )
    raise typer.Exit(code=2)


def train_command(
    spec_path: Annotated[
        Path,
        typer.Argument(
            metavar="SPEC", help="Training pipeline spec, e.g. pipelines/breach_risk.yaml."
        ),
    ],
    trials: Annotated[
        int | None,
        typer.Option("--trials", min=1, help="Optuna trial budget (overrides the spec)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (overrides the spec).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Any data folder (or file), overrides data.source; a missing staffing or "
            "events table turns its features off.",
        ),
    ] = None,
    models_dir: Annotated[
        Path, typer.Option("--models-dir", help="Where the champion is exported.")
    ] = Path("models"),
    force_promote: Annotated[
        bool,
        typer.Option(
            "--force-promote", help="Make the new model the champion even if it does not beat it."
        ),
    ] = False,
) -> None:
    """Tune, backtest, track and register the breach-risk model described by SPEC.

    MLflow tracking goes to MLFLOW_TRACKING_URI (default sqlite:///mlruns/mlflow.db), the
    Optuna study to mlruns/optuna.db; the champion is exported to --models-dir.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from slarisk.errors import SlariskError
    from slarisk.risk.spec import load_spec
    from slarisk.risk.train import train
    from slarisk.risk.tuning import TrialEvent

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and CI: room for the comparison tables
        console = Console(highlight=False, width=max(console.width, 120))
    try:
        spec = load_spec(spec_path).with_overrides(trials=trials, seed=seed, data_source=data)
    except SlariskError as exc:
        _fail(str(exc))
        return
    progress = Progress(
        TextColumn("[bold]trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("trials", total=spec.search.n_trials, status="", start=False)

    def on_trial(ev: TrialEvent) -> None:
        best = "" if ev.best_value is None else f"best {spec.search.objective} {ev.best_value:.4f}"
        progress.update(task, advance=1, status=f"{best}  (last: {ev.state.lower()})")

    console.print(
        f"[bold]slarisk train[/] {spec_path}  seed {spec.seed}, {spec.search.n_trials} trials"
    )
    try:
        with progress:
            progress.start_task(task)
            result = train(
                spec,
                models_dir=models_dir,
                force_promote=force_promote,
                on_stage=lambda m: progress.console.print(f"[dim]- {m}[/]"),
                on_trial=on_trial,
            )
    except SlariskError as exc:
        _fail(str(exc))
        return
    print_result(result, console)


def _fmt(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.4f}"


def print_result(result: TrainResult, console: Console) -> None:
    """Comparison table (model, baselines, champion), metrics by age, and the decision."""
    from rich.table import Table

    table = Table(
        title=f"Backtest: {result.metrics.get('rows', 0):,.0f} rows after "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC"
    )
    table.add_column("model")
    for header in _COLUMNS.values():
        table.add_column(header, justify="right")
    rows = {f"new v{result.version}": result.metrics, **result.baselines}
    if result.champion_metrics is not None:
        rows[f"champion v{result.decision.champion_version}"] = result.champion_metrics
    for label, vals in rows.items():
        table.add_row(label, *(_fmt(vals.get(c)) for c in _COLUMNS))
    console.print(table)
    info = result.report.info if result.report is not None else {}
    if "logistic_C" in info:
        cv = ", ".join(f"C={c:g}: {v:.4f}" for c, v in info["logistic_cv_auc"].items())
        console.print(f"logistic: C={info['logistic_C']:g} chosen by time-fold CV AUC ({cv})")
    if len(result.by_age):
        wide = result.by_age.pivot_table(
            index="landmark", columns="model", values=["roc_auc", "brier"]
        )
        models = [m for m in ("model", "elapsed_rule", "logistic") if ("roc_auc", m) in wide]
        age = Table(title="By landmark age: AUC | Brier")
        age.add_column("age")
        for metric in ("roc_auc", "brier"):
            for m in models:
                age.add_column(f"{_COLUMNS[metric]} {m}", justify="right")
        for idx, row in wide.iterrows():
            cells = [
                _fmt(float(row[(metric, m)])) for metric in ("roc_auc", "brier") for m in models
            ]
            age.add_row(f"{float(str(idx)):g}", *cells)
        console.print(age)
    d = result.decision
    verdict = "[bold green]promoted to champion[/]" if d.promote else "[bold yellow]not promoted[/]"
    console.print(f"version {result.version}: {verdict} - {d.reason}")
    console.print(
        f"trials {result.n_trials} ({result.n_pruned} pruned), best cv {result.best_cv:.4f}; "
        f"data fingerprint {result.data_fingerprint[:12]}; MLflow run {result.run_id}; "
        f"{result.seconds:.1f} s"
    )
    if result.exported is not None:
        console.print(
            f"exported {result.exported.model_path} and model card {result.exported.card_path}"
        )
