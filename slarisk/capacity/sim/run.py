"""Replications: `simulate(scenario, replications, seed, ...) -> SimResult`, one process per
replication when `workers` > 1."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from slarisk.capacity.scenario import Scenario
from slarisk.capacity.sim.compile import CompiledScenario, compile_scenario
from slarisk.capacity.sim.draws import draw_tickets
from slarisk.capacity.sim.engine import run_engine
from slarisk.capacity.sim.records import ReplicationRecords, collect_replication
from slarisk.capacity.sim.results import SimResult, combine
from slarisk.errors import InputError
from slarisk.sla.policy import Policy


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence child per replication (the same for every scenario with this seed)."""
    return np.random.SeedSequence(seed).spawn(replications)


def run_replication(
    model: CompiledScenario, rep_seq: np.random.SeedSequence, rep: int
) -> ReplicationRecords:
    """Draw, simulate and collect one replication -> `ReplicationRecords`."""
    draws = draw_tickets(model, rep_seq)
    out = run_engine(model, draws)
    return collect_replication(model, draws, out, rep)


def _worker(args: tuple[CompiledScenario, np.random.SeedSequence, int]) -> ReplicationRecords:
    return run_replication(*args)


def simulate(
    scenario: Scenario | CompiledScenario,
    replications: int = 10,
    seed: int = 0,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    policy: Policy | None = None,
) -> SimResult:
    """Run `replications` replications of a scenario; `workers` > 1 spreads them over processes.

    Same `seed` -> same streams in every scenario (common random numbers). `progress(k)` is
    called after each finished replication with the number finished so far.
    """
    if replications < 1:
        raise InputError("replications must be >= 1", field="replications")
    model = (
        scenario if isinstance(scenario, CompiledScenario) else compile_scenario(scenario, policy)
    )
    seqs = replication_seeds(seed, replications)
    reps: list[ReplicationRecords] = []
    if workers <= 1 or replications == 1:
        for r, s in enumerate(seqs):
            reps.append(run_replication(model, s, r))
            if progress:
                progress(r + 1)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, replications)) as pool:
            for k, rec in enumerate(pool.map(_worker, [(model, s, r) for r, s in enumerate(seqs)])):
                reps.append(rec)
                if progress:
                    progress(k + 1)
    return combine(model, reps, seed=seed)
