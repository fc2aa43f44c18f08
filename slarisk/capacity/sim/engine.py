"""The SimPy engine: one replication on pre-sampled draws -> raw records.

The model is lean (for speed, see benchmarks/bench_sim.py): one arrival process and one roster
process (generator functions taking ``env`` first) and one ``Timeout`` per service or customer
wait whose callback frees the agent and dispatches the next work item from plain deques/heaps
(no process per customer, no Resource). Abandonment is exact but lazy: a waiting sync ticket
whose patience ran out is removed when an agent next looks at its queue, with its abandonment
time = arrival + patience. A lifecycle class (:mod:`slarisk.capacity.lifecycle`) adds a pickup
wait before the first queueing and waits of several statuses between touches, timed on its
policy calendar (:class:`~slarisk.capacity.sim.compile.BusinessClock`) when it names one.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

from slarisk.capacity.sim.compile import CompiledScenario
from slarisk.capacity.sim.draws import Draws


@dataclass(frozen=True)
class EngineOutput:
    """Raw records of one replication (seconds since start)."""

    first_start: np.ndarray  # start of the first touch in the simulation (NaN: never)
    resolved: np.ndarray  # end of the last touch (NaN: not resolved)
    abandoned: np.ndarray  # abandonment time (NaN: not abandoned)
    touches_done: np.ndarray
    seg_ticket: np.ndarray  # one row per service (touch): ticket, start, duration, team
    seg_start: np.ndarray
    seg_dur: np.ndarray
    seg_team: np.ndarray
    wait_ticket: np.ndarray  # one row per customer wait: ticket, start, end
    wait_start: np.ndarray
    wait_end: np.ndarray
    end_time: float
    wait_index: np.ndarray | None = None  # per customer wait: its index in the draws' waits
    ready: np.ndarray | None = None  # when the ticket joined the queue (after its pickup)


def _arrival_process(
    env: simpy.Environment,
    times: list[float],
    arrive: Callable[[int, float], None],
    done: Callable[[], None],
) -> Generator[simpy.Event, Any, None]:
    """Release ticket i at times[i] (times sorted): ``arrive(i, now)``."""
    now = env.now
    for i, t in enumerate(times):
        delay = t - now
        if delay > 0:
            yield Timeout(env, delay)
            now = env.now
        arrive(i, now)
    done()


def _roster_process(
    env: simpy.Environment,
    changes: Iterable[tuple[float, int, int]],
    set_staff: Callable[[int, int], None],
) -> Generator[simpy.Event, Any, None]:
    """Apply staffing change points (time s, team, agents) in time order."""
    for t, team, agents in changes:
        delay = t - env.now
        if delay > 0:
            yield Timeout(env, delay)
        set_staff(team, agents)


@dataclass
class _Log:
    """Mutable per-ticket outcomes and service/wait logs of one run (plain lists, for speed;
    the engine's closures bind the lists, not this object)."""

    first_start: list[float]
    resolved: list[float]
    abandoned: list[float]
    done_touches: list[int]
    entry: list[float]  # FIFO key: created_at for the first touch, re-entry time afterwards
    waited: list[float]  # customer-wait seconds so far (EDF shifts the resolution deadline)
    seg_ticket: list[int] = field(default_factory=list)
    seg_start: list[float] = field(default_factory=list)
    seg_dur: list[float] = field(default_factory=list)
    seg_team: list[int] = field(default_factory=list)
    w_ticket: list[int] = field(default_factory=list)
    w_start: list[float] = field(default_factory=list)
    w_end: list[float] = field(default_factory=list)
    w_index: list[int] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)

    @classmethod
    def for_draws(cls, d: Draws) -> _Log:
        n = len(d.t)
        nan = math.nan
        log = cls([nan] * n, [nan] * n, [nan] * n, [0] * n, d.created.tolist(), [0.0] * n)
        log.ready = d.t.tolist()
        return log

    def output(self, end: float) -> EngineOutput:
        return EngineOutput(
            first_start=np.asarray(self.first_start, dtype=float),
            resolved=np.asarray(self.resolved, dtype=float),
            abandoned=np.asarray(self.abandoned, dtype=float),
            touches_done=np.asarray(self.done_touches, dtype=np.int64),
            seg_ticket=np.asarray(self.seg_ticket, dtype=np.int64),
            seg_start=np.asarray(self.seg_start, dtype=float),
            seg_dur=np.asarray(self.seg_dur, dtype=float),
            seg_team=np.asarray(self.seg_team, dtype=np.int64),
            wait_ticket=np.asarray(self.w_ticket, dtype=np.int64),
            wait_start=np.asarray(self.w_start, dtype=float),
            wait_end=np.asarray(self.w_end, dtype=float),
            end_time=end,
            wait_index=np.asarray(self.w_index, dtype=np.int64),
            ready=np.asarray(self.ready, dtype=float),
        )


def _team_groups(model: CompiledScenario) -> list[list[list[int]]]:
    """Per team, the classes an agent looks at, in groups: priority dispatch = one group per
    rank (highest first); fifo/edf = one group (the oldest head / earliest deadline over all
    classes wins)."""
    rank = model.rank
    groups: list[list[list[int]]] = []
    for ks in model.team_classes:
        if model.scenario.dispatch == "priority":
            ranks = sorted({rank[k] for k in ks})
            groups.append([[k for k in ks if rank[k] == r] for r in ranks])
        else:
            groups.append([list(ks)])
    return groups


def _make_pick(
    model: CompiledScenario,
    d: Draws,
    log: _Log,
    queues: list[Any],
    state: dict[str, Any],
) -> Callable[[int, float], int]:
    """`pick(team, now)`: the next ticket for a free agent of `team` (-1: none), dropping
    queue heads whose patience ran out (lazy abandonment, at arrival + patience)."""
    edf = model.scenario.dispatch == "edf"
    team_groups = _team_groups(model)
    abandon_at = d.abandon_at.tolist()
    abandoned = log.abandoned
    entry = log.entry

    def purge(q: Any, now: float) -> None:
        # drop heads whose patience ran out (they left at abandon_at)
        if edf:
            while q and abandon_at[q[0][1]] < now:
                i = heapq.heappop(q)[1]
                abandoned[i] = abandon_at[i]
                state["in_system"] -= 1
        else:
            while q and abandon_at[q[0]] < now:
                i = q.popleft()
                abandoned[i] = abandon_at[i]
                state["in_system"] -= 1

    def pick(team: int, now: float) -> int:
        best_q: Any = None
        best_key = math.inf
        for group in team_groups[team]:
            for k in group:
                q = queues[k]
                if not q:
                    continue
                purge(q, now)
                if not q:
                    continue
                key = q[0][0] if edf else entry[q[0]]
                if key < best_key:
                    best_key, best_q = key, q
            if best_q is not None:
                break  # priority: a higher rank group had work
        if best_q is None:
            return -1
        return heapq.heappop(best_q)[2] if edf else best_q.popleft()

    return pick


def _make_enqueue(
    model: CompiledScenario,
    d: Draws,
    log: _Log,
    queues: list[Any],
    free: list[int],
    start: Callable[[int, int, float], None],
) -> Callable[[int, float], None]:
    """`enqueue(i, now)`: start ticket i on a free agent of a team serving its class, else
    queue it (FIFO deque, or EDF heap keyed by its current deadline)."""
    edf = model.scenario.dispatch == "edf"
    cls = d.cls.tolist()
    fr_due = d.fr_due.tolist()
    res_due = d.res_due.tolist()
    done_touches = log.done_touches
    waited = log.waited
    class_teams = [list(ts) for ts in model.class_teams]
    single_team = [len(ts) == 1 for ts in class_teams]

    def enqueue(i: int, now: float) -> None:
        k = cls[i]
        if single_team[k]:
            team = class_teams[k][0]
            if free[team]:
                free[team] -= 1
                start(i, team, now)
                return
        else:
            for team in class_teams[k]:
                if free[team]:
                    free[team] -= 1
                    start(i, team, now)
                    return
        if edf:
            due = fr_due[i] if done_touches[i] == 0 else res_due[i] + waited[i]
            heapq.heappush(queues[k], (due, i, i))
        else:
            queues[k].append(i)

    return enqueue


def _make_set_staff(
    env: simpy.Environment,
    n_teams: int,
    free: list[int],
    pick: Callable[[int, float], int],
    start: Callable[[int, int, float], None],
) -> tuple[Callable[[int, int], None], list[int]]:
    """`set_staff(team, agents)` for the roster process (non-preemptive: agents leaving while
    busy finish their ticket first), and `owed`: per team, busy agents due to leave."""
    owed = [0] * n_teams
    on_duty = [0] * n_teams  # agents present and staying (free + busy - owed)

    def set_staff(team: int, agents: int) -> None:
        delta = agents - on_duty[team]
        on_duty[team] = agents
        if delta > 0:
            keep = min(owed[team], delta)
            owed[team] -= keep
            delta -= keep
            now = env.now
            while delta:
                delta -= 1
                nxt = pick(team, now)
                if nxt < 0:
                    free[team] += 1
                else:
                    start(nxt, team, now)
        elif delta < 0:
            leave = -delta
            f = min(free[team], leave)
            free[team] -= f
            owed[team] += leave - f

    return set_staff, owed


def run_engine(model: CompiledScenario, d: Draws) -> EngineOutput:
    """Run one replication of the SimPy model on pre-sampled draws."""
    env = simpy.Environment()
    n_teams = len(model.team_names)
    touches = d.touches.tolist()
    hoff = d.hoff.tolist()
    poff = d.poff.tolist()
    handles = d.handles.tolist()
    waits = d.waits.tolist()
    log = _Log.for_draws(d)
    first_start, resolved, done_touches = log.first_start, log.resolved, log.done_touches
    entry, waited = log.entry, log.waited
    w_ticket, w_start, w_end, w_index = log.w_ticket, log.w_start, log.w_end, log.w_index
    ready = log.ready
    n = len(d.t)
    pickup = d.pickup.tolist() if d.pickup is not None else [0.0] * n
    cls = d.cls.tolist()
    clocks = list(model.clocks) or [None] * model.n_classes
    cap = model.limit + 1.0
    timed = any(c is not None for c in clocks)  # some class's waits run on a calendar
    has_pickup = any(p > 0 for p in pickup)

    def wait_for(i: int, now: float, w: float) -> float:
        """Wall-clock length of a wait of `w` seconds of the class's clock begun at `now`
        (a calendar's wait ending past the run's limit is cut there)."""
        clock = clocks[cls[i]]
        return w if clock is None else min(clock.end(now, w), cap) - now

    seg_ticket_append, seg_start_append = log.seg_ticket.append, log.seg_start.append
    seg_dur_append, seg_team_append = log.seg_dur.append, log.seg_team.append
    edf = model.scenario.dispatch == "edf"
    queues: list[Any] = [[] if edf else deque() for _ in model.class_names]
    free = [0] * n_teams
    state = {"in_system": 0, "arrivals_done": False}
    stop = env.event()
    done_cbs: list[Callable[[Any], None]] = []

    def start(i: int, team: int, now: float) -> None:
        """Start the next touch of ticket i on an agent of `team` at `now` (the current time)."""
        j = done_touches[i]
        h = handles[hoff[i] + j]
        if j == 0:
            first_start[i] = now
        seg_ticket_append(i)
        seg_start_append(now)
        seg_dur_append(h)
        seg_team_append(team)
        Timeout(env, h, i).callbacks.append(done_cbs[team])

    pick = _make_pick(model, d, log, queues, state)
    enqueue = _make_enqueue(model, d, log, queues, free, start)
    set_staff, owed = _make_set_staff(env, n_teams, free, pick, start)

    def make_done(team: int) -> Callable[[Any], None]:
        def done(ev: Any) -> None:
            """A touch of ticket `ev.value` ended: customer wait or resolved; next ticket."""
            i = ev.value
            now = env.now
            j = done_touches[i] = done_touches[i] + 1
            if j < touches[i]:
                wi = poff[i] + j - 1
                w = wait_for(i, now, waits[wi]) if timed else waits[wi]
                w_ticket.append(i)
                w_start.append(now)
                w_end.append(now + w)
                w_index.append(wi)
                waited[i] += w
                Timeout(env, w, i).callbacks.append(reenter)
            else:
                resolved[i] = now
                state["in_system"] -= 1
                if state["in_system"] == 0 and state["arrivals_done"] and not stop.triggered:
                    stop.succeed()
            if owed[team]:
                owed[team] -= 1
                return
            nxt = pick(team, now)
            if nxt < 0:
                free[team] += 1
            else:
                start(nxt, team, now)

        return done

    done_cbs.extend(make_done(t) for t in range(n_teams))

    def arrive(i: int, now: float) -> None:
        state["in_system"] += 1
        if has_pickup and pickup[i] > 0:
            w = wait_for(i, now, pickup[i])
            ready[i] = now + w
            Timeout(env, w, i).callbacks.append(reenter)
        else:
            enqueue(i, now)

    def reenter(ev: Any) -> None:
        """The customer wait of ticket `ev.value` ended: it queues for its next touch."""
        i = ev.value
        now = env.now
        entry[i] = now
        enqueue(i, now)

    def arrivals_done() -> None:
        state["arrivals_done"] = True
        if state["in_system"] == 0 and not stop.triggered:
            stop.succeed()

    def at_limit(_: Any) -> None:
        if not stop.triggered:
            stop.succeed()

    env.process(_roster_process(env, model.staff_changes, set_staff))
    env.process(_arrival_process(env, d.t.tolist(), arrive, arrivals_done))
    Timeout(env, model.limit).callbacks.append(at_limit)
    env.run(until=stop)
    return log.output(float(env.now))
