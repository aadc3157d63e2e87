"""Run a planned sweep against its results folder: reuse what is stored, solve the rest on the engine,
store each run as it finishes, then mark the Pareto fronts.

A run is stored whole (its row and its layers in one transaction) the moment its task returns, so an
interrupted sweep loses only the runs in flight, and the next call solves exactly the runs the store
lacks. Failed runs (a task that raised or kept killing workers) are stored with their reason and tried
again by the next call; infeasible and incomplete runs are results and are kept. Pruned runs are kept by
a call that prunes and solved by one that does not.

Layer solves are shared through the store's layer cache (``layer_jobs``): the records of the jobs a run
may need go with it, and the records of the jobs it solved come back and are stored with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from imcmap import __version__
from imcmap.solver.network import network_jobs

from .engine import Execution, ProgressFn, execute
from .layer_jobs import PruneTarget, job_key
from .pareto import DEFAULT_METRICS, OBJECTIVE_METRIC, front_mask, run_fronts, run_proven_dominated
from .plain import plain
from .plan import Plan, PlannedRun, SkippedPoint
from .runs import DONE, FAILED, PRUNED, RunOutcome, RunRequest
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
    pruned: int  # runs stored as pruned (by this call or an earlier one with pruning)
    layers_reused: int  # layer solves this call took from the layer cache instead
    layers_pruned: int  # layer solves this call's pruning saved (first-batch jobs of the pruned runs not run)
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


def _needs_solving(stored: RunRecord | None, prune: bool) -> bool:
    """Not in the store yet, stored as failed (a rerun tries it again), or pruned when this call does not
    prune (a sweep without pruning solves every run to its end; its layers solved before the pruning
    come from the layer cache)."""
    return stored is None or stored.status == FAILED or (stored.status == PRUNED and not prune)


def layer_keys(request: RunRequest) -> list[str]:
    """The layer-cache keys of every job the run may need (``solver.network.network_jobs``)."""
    listed = network_jobs(request.workload, request.accelerator, request.mapping, request.objective,
                          request.constraints, request.dataflow)
    return list(dict.fromkeys(job_key(p.job, request.objective, request.config) for p in listed.jobs))


def _front(stored: dict[str, RunRecord | None], plan: dict[str, PlannedRun], request: RunRequest,
           metrics: Sequence[str]) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """The front of the finished runs (every layer mapped) of the request's workload and objective, each
    vector with a label for the message of a run it prunes."""
    done = [(key, record) for key, record in stored.items()
            if record is not None and record.status == DONE and record.workload == request.workload_name
            and record.objective == request.objective and all(getattr(record, m) is not None for m in metrics)]
    if not done:
        return ()
    vectors = [tuple(float(getattr(record, m)) for m in metrics) for _, record in done]
    on = front_mask(vectors)
    return tuple((f"{plan[key].base} at {plan[key].point.label or 'the base point'}", vector)
                 for (key, _), vector, keep in zip(done, vectors, on, strict=True) if keep)


def run_plan(
    plan: Plan,
    folder: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: ProgressFn | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    prune: bool = False,
) -> SweepOutcome:
    """Solve the runs of ``plan`` the store in ``folder`` lacks (see the module docstring). Each run is
    sent with the layer-cache records of the jobs it may need; with ``prune`` also with its workload's
    current front, and a run whose layers solved so far prove it off that front is stored as pruned."""
    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with Store(folder) as store:
        if fresh:
            store.clear()
        store.set_meta(spec_hash=spec_hash(plan), version=__version__)
        stored = {run.request.key: store.get_run(run.request.key) for run in plan.runs}
        pending = [run for run in plan.runs if _needs_solving(stored[run.request.key], prune)]
        by_key: dict[str, PlannedRun] = {}
        for run in pending:  # two design points may resolve to one accelerator: solve it once
            by_key.setdefault(run.request.key, run)
        every = {run.request.key: run for run in plan.runs}
        solved = layers_reused = layers_pruned = 0

        def prepare(request: RunRequest) -> RunRequest:
            known = tuple((key, record) for key in layer_keys(request) if (record := store.get_layer(key)) is not None)
            target = None
            if prune:
                peak = by_key[request.key].peak
                target = PruneTarget(tuple(metrics), _front(stored, every, request, metrics), peak.area_mm2,
                                     peak.tclk_ns)
            return replace(request, known_layers=known, prune=target)

        def keep(request: RunRequest, outcome: RunOutcome) -> None:
            nonlocal solved, layers_reused, layers_pruned
            for key, layer in outcome.new_layers:
                store.put_layer(key, layer)
            record, layers = record_of(by_key[request.key], outcome)
            store.put_run(request.key, record, layers)
            stored[request.key] = record
            solved += 1
            layers_reused += outcome.layers_reused
            layers_pruned += outcome.layers_pruned

        execution = None
        interrupted = False
        if pending:
            execution = execute([run.request for run in by_key.values()], keep, workers=workers, scheduler=scheduler,
                                progress=progress, prepare=prepare)
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
        pruned=sum(run.record.status == PRUNED for run in runs),
        layers_reused=layers_reused,
        layers_pruned=layers_pruned,
        interrupted=interrupted,
        metrics=tuple(metrics),
        execution=execution,
        wall_time_s=time.perf_counter() - start,
    )
