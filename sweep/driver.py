"""Run a planned sweep against its results folder: reuse what is stored, solve the rest on the engine,
store each run as it finishes, then mark the Pareto fronts.

A run is stored whole (its row and its layers in one transaction) the moment its task returns, so an
interrupted sweep loses only the runs in flight, and the next call solves exactly the runs the store
lacks. Failed runs (a task that raised or kept killing workers) are stored with their reason and tried
again by the next call; infeasible and incomplete runs are results and are kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imcmap import __version__

from .engine import Execution, ProgressFn, execute
from .pareto import DEFAULT_METRICS, OBJECTIVE_METRIC, run_fronts, run_proven_dominated
from .plan import Plan, PlannedRun, SkippedPoint, plain
from .runs import FAILED, RunOutcome, RunRequest
from .store import LayerRecord, RunRecord, Store, content_hash

DATABASE = "sweep.sqlite"


@dataclass(frozen=True, slots=True)
class SweepRun:
    planned: PlannedRun
    record: RunRecord
    reused: bool  # found in the store, not solved by this call
    on_front: bool
    proven_dominated: bool  # another run's exact figures beat this run's certified lower bounds


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    folder: Path
    runs: tuple[SweepRun, ...]  # in plan order, those stored
    planned: int  # runs in the plan
    skipped: tuple[SkippedPoint, ...]
    solved: int
    reused: int
    failed: int
    interrupted: bool
    metrics: tuple[str, ...]
    execution: Execution | None
    wall_time_s: float


def record_of(planned: PlannedRun, outcome: RunOutcome) -> tuple[RunRecord, tuple[LayerRecord, ...]]:
    request, peak, figures = planned.request, planned.peak, outcome.figures
    point = tuple((name, value) for name, value in request.point.items())
    bound = None
    metric = OBJECTIVE_METRIC.get(request.objective)
    if figures is not None and metric is not None and outcome.layers and all(
            layer.lower_bound is not None for layer in outcome.layers):
        bound = sum(layer.lower_bound for layer in outcome.layers if layer.lower_bound is not None)
    run = RunRecord(
        point=point,  # type: ignore[arg-type]
        accelerator=request.accelerator_name,
        workload=request.workload_name,
        objective=request.objective,
        status=outcome.status,
        energy_pj=figures.energy_pj if figures else None,
        latency_cycles=figures.latency_cycles if figures else None,
        latency_s=figures.latency_s if figures else None,
        area_mm2=figures.area_mm2 if figures else peak.area_mm2,
        tops_per_w=figures.tops_per_w if figures else None,
        tops_per_mm2=figures.tops_per_mm2 if figures else None,
        peak_tops_per_w=peak.macro_tops_per_w,
        peak_tops_per_mm2=peak.macro_tops_per_mm2,
        peak_system_tops_per_mm2=peak.system_tops_per_mm2,
        utilization=figures.utilization if figures else None,
        median_gap=figures.median_gap if figures else None,
        worst_gap=figures.worst_gap if figures else None,
        lower_bound=bound,
        energy_by_component_json=json.dumps(figures.energy_by_component_pj if figures else {}, sort_keys=True),
        energy_by_level_json=json.dumps(figures.energy_by_level_pj if figures else {}, sort_keys=True),
        solver_json=json.dumps(plain(outcome.solver), sort_keys=True),
        wall_time_s=outcome.wall_time_s,
        error=outcome.message,
    )
    layers = tuple(
        LayerRecord(
            name=layer.name,
            status=layer.status,
            energy_pj=layer.energy_pj,
            latency_cycles=layer.latency_cycles,
            gap=layer.gap,
            lower_bound=layer.lower_bound,
            mapping_json=json.dumps(layer.spatial, sort_keys=True),
            message=layer.message,
        )
        for layer in outcome.layers
    )
    return run, layers


def spec_hash(plan: Plan) -> str:
    return content_hash(sorted(run.request.key for run in plan.runs))


def _needs_solving(stored: RunRecord | None) -> bool:
    """Not in the store yet, or stored as failed (a rerun tries it again)."""
    return stored is None or stored.status == FAILED


def run_plan(
    plan: Plan,
    folder: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: ProgressFn | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> SweepOutcome:
    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with Store(folder) as store:
        if fresh:
            store.clear()
        store.set_meta(spec_hash=spec_hash(plan), version=__version__)
        stored = {run.request.key: store.get_run(run.request.key) for run in plan.runs}
        pending = [run for run in plan.runs if _needs_solving(stored[run.request.key])]
        by_key: dict[str, PlannedRun] = {}
        for run in pending:  # two design points may resolve to one accelerator: solve it once
            by_key.setdefault(run.request.key, run)
        solved = 0

        def keep(request: RunRequest, outcome: RunOutcome) -> None:
            nonlocal solved
            record, layers = record_of(by_key[request.key], outcome)
            store.put_run(request.key, record, layers)
            stored[request.key] = record
            solved += 1

        execution = None
        interrupted = False
        if pending:
            execution = execute([run.request for run in by_key.values()], keep, workers=workers, scheduler=scheduler,
                                progress=progress)
            interrupted = execution.interrupted
    done = [(run, record) for run in plan.runs if (record := stored[run.request.key]) is not None]
    records = [record for _, record in done]
    fronts = run_fronts(records, metrics)
    dominated = run_proven_dominated(records, metrics)
    pending_keys = {run.request.key for run in pending}
    runs = tuple(
        SweepRun(run, record, run.request.key not in pending_keys, on, dom)
        for (run, record), on, dom in zip(done, fronts, dominated, strict=True)
    )
    failed = sum(run.record.status == FAILED for run in runs)
    return SweepOutcome(
        folder=folder,
        runs=runs,
        planned=len(plan.runs),
        skipped=plan.skipped,
        solved=solved,
        reused=len(plan.runs) - len(pending),
        failed=failed,
        interrupted=interrupted,
        metrics=tuple(metrics),
        execution=execution,
        wall_time_s=time.perf_counter() - start,
    )
