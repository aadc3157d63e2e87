"""The sweep's side of a network solve's layer jobs (``solver.network.JobHook``): the layer cache and
pruning. Everything that crosses between the client and a worker is plain data (``LayerRecord``s by
key, ``PruneTarget``): a worker on another machine never sees the SQLite file.

Layer cache. A job's key (``job_key``) hashes every input its solution depends on: the layer without
its name and its producers' names, the hardware as the job sees it (the whole accelerator after the
dataflow plan's caps: a kept tensor's pairing enters here), the resolved mapping rule with the user
constraints that apply, the objective, the solver settings, the phase (a polish deferred or done) and
the imcmap version. Before a run is sent, the client looks up every job the run may need
(``solver.network.network_jobs``: each hierarchy the driver's plans may leave a layer with, those of
its dynamic-W holds included) and sends the records it has; the worker answers those jobs from them
and returns the records of the jobs it solved. A record rebuilds the solution the job returned: its
mapping, bound, gap, status and message are stored, its cost report is priced again by the evaluator
(deterministic), so a run answered from the cache stores the same figures, bit for bit, as one solved.
Stopped searches and solves with a wall-clock cap are timing-dependent and never cached.

Pruning. The run's figures are sums over its layers (priced one after another; area is fixed per
design point), so the figures of the layers whose final mapping is known, summed in network order with
the others counted 0, bound the run's final figures from below (rounding is monotone). A layer's final
mapping is known once every hierarchy the dataflow plan may leave it with is solved: the smallest
figure among them bounds it. When a finished run's exact vector dominates that bound
(``pareto.can_reach_front``), the run cannot reach its workload's front and is given up. A network
whose jobs ``network_jobs`` cannot all list (``NetworkJobs.complete``) is never pruned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from imcmap import __version__
from imcmap.models.constraints import apply_bypasses
from imcmap.models.evaluator import evaluate
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.workload import Operand, Workload, operands_exchanged
from imcmap.solver.network import SOLVE, SOLVE_DEFERRED, JobCall, network_jobs
from imcmap.solver.policy import policy_of
from imcmap.solver.solve import LayerSolution, SolverConfig, applicable_constraints, bypasses_of, cost_of
from imcmap.solver.status import SolveStatus

from .pareto import can_reach_front
from .plain import plain_record
from .store import LayerRecord, layer_key

# statuses whose solution depends only on the job's inputs (the time limit is CP-SAT's deterministic one)
CACHED_STATUSES = (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.INFEASIBLE, SolveStatus.UNKNOWN)
# fields of a layer that name other layers, not its problem
_NAMES = ("name", "sources", "weight_sources")


def job_key(job: JobCall, objective: str, config: SolverConfig) -> str:
    """The layer-cache key of ``job``. Where the policy has no polish, a deferred polish is no polish:
    both phases share the key (``solve_layer`` returns the same solution)."""
    phase = job.phase
    if phase == SOLVE_DEFERRED and policy_of(job.accel, objective).polish is None:
        phase = SOLVE
    layer = {name: value for name, value in plain_record(job.layer).items() if name not in _NAMES}
    exchanged = plain_record(job.exchanged) if job.exchanged is not None else None
    return layer_key(layer=layer, accelerator={"as_imported": plain_record(job.accel), "exchanged": exchanged},
                     mapping=plain_record(job.rule), constraints=[c.text for c in job.rule.constraints],
                     objective=objective, solver={**config.as_dict(), "phase": phase}, version=__version__)


# --- a solution as a cache record, and back ---------------------------------------------------------


def _mapping_plain(mapping: Mapping) -> dict[str, object]:
    # dicts keep their order (no sorting): the evaluator sums in the mapping's order
    return {
        "spatial": {adim: dict(unrolls) for adim, unrolls in mapping.spatial.items()},
        "loops": [[loop.dim, loop.size] for loop in mapping.loops],
        "cuts": {op.value: list(cuts) for op, cuts in mapping.cuts.items()},
        "operand_links": {op.value: link for op, link in mapping.operand_links.items()},
    }


def _mapping_from(data: dict) -> Mapping:
    return Mapping(
        spatial={adim: {dim: int(f) for dim, f in unrolls.items()} for adim, unrolls in data["spatial"].items()},
        loops=tuple(Loop(str(dim), int(size)) for dim, size in data["loops"]),
        cuts={Operand(op): tuple(int(c) for c in cuts) for op, cuts in data["cuts"].items()},
        operand_links={Operand(op): str(link) for op, link in data["operand_links"].items()},
    )


def cacheable(solution: LayerSolution, config: SolverConfig) -> bool:
    return not solution.stopped and solution.status in CACHED_STATUSES and config.wall_limit_s is None


def layer_record(solution: LayerSolution) -> LayerRecord:
    """What rebuilds ``solution`` (``solution_of``); ``mapping_json`` holds the mapping with the rest of
    what the columns lack (the polish's starts, the clashing constraints by index, the model's figures)."""
    document = {
        "mapping": _mapping_plain(solution.mapping) if solution.mapping is not None else None,
        "unpolished": [_mapping_plain(m) for m in solution.unpolished],
        "conflict": [solution.constraints.index(c) for c in solution.conflict],
        "bypassed": solution.accelerator is not None,
        "operands_exchanged": solution.operands_exchanged,
        "model_objective": solution.model_objective,
        "candidates": solution.candidates,
    }
    report = solution.report
    return LayerRecord(
        name=solution.layer.name,
        status=str(solution.status),
        energy_pj=report.energy_pj if report else None,
        latency_cycles=report.latency_cycles if report else None,
        gap=solution.gap,
        lower_bound=solution.lower_bound,
        mapping_json=json.dumps(document, allow_nan=False),
        wall_time_s=solution.wall_time_s,
        message=solution.message,
    )


def solution_of(record: LayerRecord, job: JobCall, objective: str) -> LayerSolution:
    """The solution ``job`` returned when ``record`` was made, its report priced again."""
    document = json.loads(record.mapping_json)
    # the orientation the job kept: as imported, or exchanged on its own hierarchy (``solve.solve_exchanged``)
    exchanged = bool(document["operands_exchanged"])
    layer = operands_exchanged(job.layer) if exchanged else job.layer
    given = job.exchanged if exchanged and job.exchanged is not None else job.accel
    user = applicable_constraints(layer, job.rule)
    solved_on = None
    if document["bypassed"]:
        solved_on = apply_bypasses(given, job.rule.operand_links, bypasses_of(user))
    mapping = _mapping_from(document["mapping"]) if document["mapping"] is not None else None
    report = evaluate(layer, solved_on or given, mapping) if mapping is not None else None
    return LayerSolution(
        layer=layer,
        objective=objective,
        status=SolveStatus(record.status),
        mapping=mapping,
        report=report,
        exact_cost=cost_of(report, objective) if report is not None else None,
        lower_bound=record.lower_bound,
        gap=record.gap,
        model_objective=document["model_objective"],
        candidates=int(document["candidates"]),
        wall_time_s=record.wall_time_s or 0.0,
        message=record.message,
        constraints=user,
        conflict=tuple(user[i] for i in document["conflict"]),
        accelerator=solved_on,
        unpolished=tuple(_mapping_from(m) for m in document["unpolished"]),
        operands_exchanged=exchanged,
    )


# --- the hook ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PruneTarget:
    """What a worker needs to prune a run: the front's ``metrics``, the exact vectors of the finished
    runs it must not be dominated by (with a label each, for the message), and the point's fixed figures."""

    metrics: tuple[str, ...]
    front: tuple[tuple[str, tuple[float, ...]], ...]
    area_mm2: float
    tclk_ns: float


class RunJobs:
    """One run's ``JobHook``: answers jobs from ``known`` (key -> record), keeps the records of the jobs
    it solves (``new``), and with a ``prune`` target gives the run up once its bound is dominated."""

    def __init__(self, workload: Workload, accel: Accelerator, spec: MappingSpec, objective: str,
                 config: SolverConfig, constraints: tuple[UserConstraint, ...], dataflow: bool,
                 known: Sequence[tuple[str, LayerRecord]], prune: PruneTarget | None):
        self.objective, self.config, self.prune = objective, config, prune
        self.known_records = dict(known)
        self.new: dict[str, LayerRecord] = {}
        self.reused = 0  # jobs answered from ``known``
        self.given_up: str | None = None  # why the run was given up
        self.saved = 0  # first-batch jobs not run because the run was given up
        self._layers = list(workload.layers)
        self._variants: dict[str, list[str]] = {}  # layer -> its hierarchies' identities
        self._first: set[str] = set()
        self._final: dict[str, LayerSolution] = {}  # identity -> its final solution
        self._ran: set[str] = set()  # identities with a solution, final or not
        listed = network_jobs(workload, accel, spec, objective, constraints, dataflow) if prune else None
        # a layer's bound needs every hierarchy it may end on: with some unlisted, never prune
        if listed is not None and listed.complete:
            for possible in listed.jobs:
                if possible.job.phase == SOLVE:
                    identity = self._identity(possible.job)
                    self._variants.setdefault(possible.job.layer.name, []).append(identity)
                    if possible.first:
                        self._first.add(identity)

    def _identity(self, job: JobCall) -> str:
        """One name for a job's hierarchy, whatever its phase."""
        return job_key(replace(job, phase=SOLVE), self.objective, self.config)

    def known(self, job: JobCall) -> LayerSolution | None:
        record = self.known_records.get(job_key(job, self.objective, self.config))
        if record is None:
            return None
        self.reused += 1
        return solution_of(record, job, self.objective)

    def finished(self, job: JobCall, solution: LayerSolution) -> bool:
        key = job_key(job, self.objective, self.config)
        if key not in self.known_records and cacheable(solution, self.config):
            self.new[key] = layer_record(solution)
        if self.prune is None or self.given_up is not None or not self._variants:
            return self.given_up is not None
        identity = self._identity(job)
        self._ran.add(identity)
        if not solution.unpolished:  # a solution whose polish is deferred is not final yet
            self._final[identity] = solution
        return self._check(self.prune)

    def bound(self, tclk_ns: float, area_mm2: float) -> tuple[dict[str, float], int]:
        """(lower bounds on the run's final figures, layers counted): the layers whose every possible
        hierarchy has a final solution, each at its smallest figure, summed in network order."""
        energy = cycles = 0.0
        counted = 0
        for layer in self._layers:
            variants = self._variants.get(layer.name, [])
            reports = [s.report for v in variants if (s := self._final.get(v)) is not None and s.report is not None]
            if not variants or len(reports) < len(variants):
                continue
            energy += min(r.energy_pj for r in reports)
            cycles += min(r.latency_cycles for r in reports)
            counted += 1
        figures = {"energy_pj": energy, "latency_cycles": cycles, "latency_s": cycles * tclk_ns * 1e-9,
                   "area_mm2": area_mm2}
        return figures, counted

    def _check(self, prune: PruneTarget) -> bool:
        figures, counted = self.bound(prune.tclk_ns, prune.area_mm2)
        bound = [figures[m] for m in prune.metrics]
        vectors = [vector for _, vector in prune.front]
        if not vectors or can_reach_front(bound, vectors):
            return False
        by = next(label for label, vector in prune.front if not can_reach_front(bound, [vector]))
        shown = ", ".join(f"{m} >= {figures[m]:.6g}" for m in prune.metrics)
        self.given_up = (f"pruned after {counted} of {len(self._layers)} layers: their figures alone ({shown}) are "
                         f"dominated by {by}")
        self.saved = len(self._first - self._ran)
        return True
