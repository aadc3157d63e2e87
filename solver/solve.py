"""Solve one layer: build the CP-SAT model, search, re-price candidates exactly, certify the gap."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import ceil, prod

from ortools.sat.python import cp_model

from imcmap.models.evaluator import check, evaluate
from imcmap.models.hardware import Accelerator, ImcArray
from imcmap.models.mapping import Mapping
from imcmap.models.mapping_spec import ResolvedRule
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer

from . import constraints as C
from .decode import decode
from .objective import build_flows, energy_objective, latency_objective
from .problem import MappingProblem, ProblemError, build_problem
from .variables import MappingVars

OBJECTIVES = ("energy", "latency", "edp")
TARGET_RANGE = 1e9  # the largest term is scaled to about this many integer units
EDP_HEADROOM = 64  # EDP factors range up to this many times TARGET_RANGE (worse mappings are cut off)


@dataclass(frozen=True, slots=True)
class SolverConfig:
    seed: int = 0
    workers: int = 1
    time_limit_s: float = 10.0  # deterministic time (CP-SAT's own work units, about seconds)
    wall_limit_s: float | None = None  # a safety cap on wall time; when it binds, runs may differ
    log: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "num_workers": self.workers,
            "max_deterministic_time": self.time_limit_s,
            "max_time_in_seconds": self.wall_limit_s,
            "tangent_step": "ln(1.08)",
            "log_scale": 10_000,
        }


@dataclass(frozen=True, slots=True)
class LayerSolution:
    layer: Layer
    objective: str
    status: str  # OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN
    mapping: Mapping | None
    report: CostReport | None
    exact_cost: float | None
    lower_bound: float | None  # proven, on the exact cost over the solver's mapping space
    gap: float | None
    model_objective: float | None
    candidates: int
    wall_time_s: float
    message: str = ""
    trace: tuple[tuple[float, float, float], ...] = field(default_factory=tuple)

    BOUND_SOURCE = (
        "CP-SAT's proven bound on a relaxation whose every term is at most the evaluator's "
        "(log-domain tangents, exact tables for halos and spatial terms)"
    )


def cost_of(report: CostReport, objective: str) -> float:
    if objective == "energy":
        return report.energy_pj
    if objective == "latency":
        return report.latency_cycles
    return report.energy_pj * report.latency_cycles


class _Recorder(cp_model.CpSolverSolutionCallback):
    """Keeps every improving assignment (decoded) and the (time, objective, bound) trace; no I/O."""

    def __init__(self, problem: MappingProblem, v: MappingVars, start: float):
        super().__init__()
        self.problem, self.v, self.start = problem, v, start
        self.mappings: list[Mapping] = []
        self.trace: list[tuple[float, float, float]] = []

    def on_solution_callback(self) -> None:
        self.mappings.append(decode(self.problem, self.Value, self.v))
        self.trace.append((time.perf_counter() - self.start, self.ObjectiveValue(), self.BestObjectiveBound()))


def _scale(problem: MappingProblem, objective: str) -> tuple[float, float]:
    """Units (pJ, cycles) per integer step, so that the largest term is about TARGET_RANGE."""
    layer, accel = problem.layer, problem.accel
    bits = max(layer.precision.psum_bits, layer.precision.o_bits, layer.precision.i_bits, layer.precision.w_bits)
    halo = max(1, layer.size("FX") * layer.size("FY"))
    worst_elems = layer.macs * halo * 4
    per_bit = max(max(m.read_energy_pj / m.read_bw_bits, m.write_energy_pj / m.write_bw_bits) for m in accel.memories)
    per_bit_cycles = max(max(1 / m.read_bw_bits, 1 / m.write_bw_bits) for m in accel.memories)
    cpm = accel.array.cycles_per_mac if isinstance(accel.array, ImcArray) else 1
    unit_pj = max(worst_elems * bits * per_bit, 1e-9) / TARGET_RANGE
    unit_cycles = max(worst_elems * bits * per_bit_cycles, layer.macs * cpm) / TARGET_RANGE
    return unit_pj, unit_cycles


def build_model(problem: MappingProblem, objective: str):
    model = cp_model.CpModel()
    v = MappingVars(model, problem)
    C.add_factorization(model, v, problem)
    C.add_spatial_choice(model, v, problem)
    C.add_cut_order(model, v, problem)
    C.add_stationarity(model, v, problem)
    C.add_capacity(model, v, problem)
    flows, corrections = build_flows(model, v, problem)
    unit_pj, unit_cycles = _scale(problem, objective)
    if objective == "energy":
        model.Minimize(energy_objective(model, v, problem, flows, corrections, unit_pj))
        unit = unit_pj
    elif objective == "latency":
        model.Minimize(latency_objective(model, v, problem, flows, corrections, unit_cycles))
        unit = unit_cycles
    else:
        # EDP = E * L, each on a coarser integer scale so the product fits in 64 bits; each factor
        # is held at or below its (lower-bound) expression, so the product stays a lower bound
        cap = (1 << 31) - 1
        k_e = max(1, ceil(EDP_HEADROOM * TARGET_RANGE / cap))
        k_l = max(1, ceil(EDP_HEADROOM * TARGET_RANGE / cap))
        energy = model.NewIntVar(0, cap, "edp.energy")
        latency = model.NewIntVar(0, cap, "edp.latency")
        model.Add(k_e * energy >= energy_objective(model, v, problem, flows, corrections, unit_pj) - (k_e - 1))
        model.Add(k_l * latency >= latency_objective(model, v, problem, flows, corrections, unit_cycles) - (k_l - 1))
        edp = model.NewIntVar(0, cap * cap, "edp")
        model.AddMultiplicationEquality(edp, [energy, latency])
        model.Minimize(edp)
        unit = unit_pj * k_e * unit_cycles * k_l
    return model, v, unit


def solve_layer(
    layer: Layer,
    accel: Accelerator,
    rule: ResolvedRule,
    objective: str = "energy",
    config: SolverConfig = SolverConfig(),
) -> LayerSolution:
    start = time.perf_counter()
    try:
        problem = build_problem(layer, accel, rule)
    except ProblemError as exc:
        return LayerSolution(layer, objective, "INFEASIBLE", None, None, None, None, None, None, 0, 0.0, str(exc))
    model, v, unit = build_model(problem, objective)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = config.seed
    params.num_workers = config.workers
    params.max_deterministic_time = config.time_limit_s
    if config.wall_limit_s is not None:
        params.max_time_in_seconds = config.wall_limit_s
    params.log_search_progress = config.log
    recorder = _Recorder(problem, v, start)
    status = solver.Solve(model, recorder)
    wall = time.perf_counter() - start
    name = solver.StatusName(status)
    if not recorder.mappings:
        msg = "no legal mapping exists in the solver's space" if status == cp_model.INFEASIBLE else "time limit before a mapping was found"
        return LayerSolution(layer, objective, name, None, None, None, None, None, None, 0, wall, msg, tuple(recorder.trace))
    best: tuple[float, int, Mapping, CostReport] | None = None
    for i, mapping in enumerate(recorder.mappings):
        if check(layer, accel, mapping):
            continue  # never price an illegal mapping; the encoding should make this unreachable
        report = evaluate(layer, accel, mapping)
        cost = cost_of(report, objective)
        if best is None or cost < best[0]:
            best = (cost, i, mapping, report)
    if best is None:
        return LayerSolution(layer, objective, "MODEL_ERROR", None, None, None, None, None, None, len(recorder.mappings), wall,
                             "every candidate failed the evaluator's legality check", tuple(recorder.trace))
    cost, _, mapping, report = best
    bound = max(0.0, solver.BestObjectiveBound() * unit)
    gap = max(0.0, (cost - bound) / cost) if cost > 0 else 0.0
    return LayerSolution(
        layer=layer,
        objective=objective,
        status="OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE",
        mapping=mapping,
        report=report,
        exact_cost=cost,
        lower_bound=bound,
        gap=gap,
        model_objective=solver.ObjectiveValue() * unit,
        candidates=len(recorder.mappings),
        wall_time_s=wall,
        trace=tuple(recorder.trace),
    )


def total_spatial(mapping: Mapping) -> int:
    return prod(prod(u.values()) for u in mapping.spatial.values())
