"""SimPy support-centre simulator: `simulate(scenario, replications, seed, ...) -> SimResult`.

A scenario is compiled to arrays (:mod:`.compile`, staffing change points in :mod:`.roster`);
each replication pre-samples every random variate with numpy (:mod:`.draws`), runs the lean
SimPy model (:mod:`.engine`) and turns its raw records into frames (:mod:`.records`, with
KPIs in :mod:`.kpis` and SLA outcomes in :mod:`.outcomes`); :mod:`.run` spreads replications
over processes and :mod:`.results` combines them (attainment with 95% intervals, credits).
:mod:`.report` writes the HTML page.
"""

from slarisk.capacity.sim.compile import (
    RATE_GRID_SECONDS,
    CompiledScenario,
    FixedTickets,
    compile_scenario,
    stable_key,
    utc_times,
)
from slarisk.capacity.sim.draws import Draws, deadlines, draw_tickets, nhpp_times
from slarisk.capacity.sim.engine import EngineOutput, run_engine
from slarisk.capacity.sim.kpis import (
    interval_kpis,
    present_agents,
    span_average,
    step_average,
    team_kpis,
    total_staffing,
)
from slarisk.capacity.sim.outcomes import METRICS, sla_outcomes
from slarisk.capacity.sim.records import ReplicationRecords, collect_replication
from slarisk.capacity.sim.report import (
    attainment_figure,
    attainment_table,
    days_since_start,
    render_report,
    staffing_figure,
    summary_table,
    team_figure,
    timeline_figure,
    write_report,
)
from slarisk.capacity.sim.required import expected_arrivals, required_by_interval
from slarisk.capacity.sim.results import (
    KPI_COLUMNS,
    SimResult,
    bootstrap_interval,
    combine,
    kpi_summary,
    t_interval,
)
from slarisk.capacity.sim.roster import staffing_change_points, time_shared
from slarisk.capacity.sim.run import replication_seeds, run_replication, simulate

__all__ = [
    "KPI_COLUMNS",
    "METRICS",
    "RATE_GRID_SECONDS",
    "CompiledScenario",
    "Draws",
    "EngineOutput",
    "FixedTickets",
    "ReplicationRecords",
    "SimResult",
    "attainment_figure",
    "attainment_table",
    "bootstrap_interval",
    "collect_replication",
    "combine",
    "compile_scenario",
    "days_since_start",
    "deadlines",
    "draw_tickets",
    "expected_arrivals",
    "interval_kpis",
    "kpi_summary",
    "nhpp_times",
    "present_agents",
    "render_report",
    "replication_seeds",
    "required_by_interval",
    "run_engine",
    "run_replication",
    "simulate",
    "sla_outcomes",
    "span_average",
    "stable_key",
    "staffing_change_points",
    "staffing_figure",
    "step_average",
    "summary_table",
    "t_interval",
    "team_figure",
    "team_kpis",
    "time_shared",
    "timeline_figure",
    "total_staffing",
    "utc_times",
    "write_report",
]
