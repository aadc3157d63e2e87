"""One sweep run (a design point's accelerator, a workload, an objective): what a task carries and what
it returns. Plain frozen data both ways; the CP-SAT models are built inside the worker that runs it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.workload import Workload
from imcmap.solver.network import NetworkResult, solve_network
from imcmap.solver.solve import SolverConfig
from imcmap.solver.status import SolveStatus

from .figures import RunFigures, run_figures
from .layer_jobs import PruneTarget, RunJobs
from .store import LayerRecord

# statuses of a run
DONE = "done"  # every layer has a mapping
INCOMPLETE = "incomplete"  # some layer has none (time limit)
INFEASIBLE = "infeasible"  # some layer has no legal mapping on this design point
FAILED = "failed"  # the task itself failed (an exception, or workers killed while running it)
PRUNED = "pruned"  # given up: the layers solved so far prove it cannot reach its workload's front


@dataclass(frozen=True, slots=True)
class RunRequest:
    key: str  # the content hash the store keeps the run under
    point: dict[str, object]  # parameter name -> value (derived values included)
    accelerator_name: str
    workload_name: str
    accelerator: Accelerator
    workload: Workload
    mapping: MappingSpec
    objective: str
    constraints: tuple[UserConstraint, ...] = ()
    config: SolverConfig = field(default_factory=SolverConfig)
    dataflow: bool = True
    # layer-cache records (key, record) of the jobs this run may need, looked up by the client
    known_layers: tuple[tuple[str, LayerRecord], ...] = ()
    prune: PruneTarget | None = None  # None: solve the run to its end


@dataclass(frozen=True, slots=True)
class LayerOutcome:
    name: str
    status: str
    energy_pj: float | None
    latency_cycles: float | None
    gap: float | None
    lower_bound: float | None
    spatial: dict[str, dict[str, int]] | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    key: str
    status: str
    figures: RunFigures | None
    layers: tuple[LayerOutcome, ...]
    message: str
    wall_time_s: float
    solver: dict[str, object]
    new_layers: tuple[tuple[str, LayerRecord], ...] = ()  # layer-cache records of the jobs it solved
    layers_reused: int = 0  # jobs answered from ``RunRequest.known_layers``
    layers_pruned: int = 0  # first-batch jobs not run because the run was pruned


def outcome_of(key: str, result: NetworkResult, wall_time_s: float) -> RunOutcome:
    layers = tuple(
        LayerOutcome(
            name=r.solution.layer.name,
            status=r.solution.status,
            energy_pj=r.solution.report.energy_pj if r.solution.report else None,
            latency_cycles=r.solution.report.latency_cycles if r.solution.report else None,
            gap=r.solution.gap,
            lower_bound=r.solution.lower_bound,
            spatial={adim: dict(unrolls) for adim, unrolls in r.solution.mapping.spatial.items()}
            if r.solution.mapping
            else None,
            message=r.solution.message,
        )
        for r in result.layers
    )
    infeasible = [item for item in layers if item.status == SolveStatus.INFEASIBLE]
    if infeasible:
        status = INFEASIBLE
        message = "; ".join(f"{item.name}: {item.message}" for item in infeasible[:3])
    elif not result.complete:
        # each unmapped layer with its status: a time limit (UNKNOWN) or a worker that died twice (FAILED)
        status, message = INCOMPLETE, "layers without a mapping: " + ", ".join(
            f"{item.name} ({item.status})" for item in layers if item.energy_pj is None)
    else:
        status, message = DONE, ""
    return RunOutcome(
        key=key,
        status=status,
        figures=run_figures(result),
        layers=layers,
        message=message,
        wall_time_s=wall_time_s,
        solver=result.config.as_dict(),
    )


def solve_request(request: RunRequest) -> RunOutcome:
    """Runs in a sweep worker: the whole network in this process (the worker is one CPU slot), the jobs
    ``known_layers`` answers taken from there, given up as soon as ``prune`` says it cannot reach the front."""
    start = time.perf_counter()
    jobs = RunJobs(request.workload, request.accelerator, request.mapping, request.objective, request.config,
                   request.constraints, request.dataflow, request.known_layers, request.prune)
    result = solve_network(request.workload, request.accelerator, request.mapping, request.objective, request.config,
                           processes=1, dataflow=request.dataflow, constraints=request.constraints, hook=jobs)
    wall = time.perf_counter() - start
    if jobs.given_up is not None:
        outcome = RunOutcome(key=request.key, status=PRUNED, figures=None, layers=(), message=jobs.given_up,
                             wall_time_s=wall, solver=result.config.as_dict())
    else:
        outcome = outcome_of(request.key, result, wall)
    return replace(outcome, new_layers=tuple(jobs.new.items()), layers_reused=jobs.reused, layers_pruned=jobs.saved)
