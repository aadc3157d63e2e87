"""Solve one layer: build the CP-SAT model, search, re-price candidates exactly, certify the gap.

A search can be stopped from outside (Ctrl-C, the network's total time limit): ``search`` watches a
``StopSignal`` from a small thread and calls CP-SAT's own ``stop_search``, so the layer still returns the
best mapping found so far, re-priced by the evaluator, with the gap certified by the bound CP-SAT had
proven (``LayerSolution.stopped``).

User constraints (``models.constraints``) apply per layer: bypasses change the hierarchy before the
problem is built, the others become rows behind literals fixed to true (``user_constraints``). When
that model is infeasible, ``explain_infeasible`` finds a smallest clashing set: CP-SAT's sufficient
assumptions on a feasibility model (one worker, as assumptions require), then a deletion filter
(drop a constraint when the rest stay infeasible; bypasses are dropped by rebuilding the problem).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from math import ceil, exp
from typing import Protocol, cast

from ortools.sat.python import cp_model
from ortools.sat.python.cp_model_helper import SatParameters

from imcmap.models.constraints import (
    Bypass,
    BypassError,
    LoopOrder,
    apply_bypasses,
    constraint_holds,
)
from imcmap.models.evaluator import check, evaluate
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.mapping_spec import ResolvedRule, UserConstraint
from imcmap.models.objective import Objective
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, operands_exchanged

from . import constraints as C
from .decode import decode
from .objective import build_flows, energy_objective, latency_objective, zigzag_latency_bound
from .policy import (
    MODEL_BOUND_SOURCE,
    OBJECTIVES,  # noqa: F401 - api, cli and bench import it from here
    SURROGATE_GAP,
    SURROGATE_LATENCY,
    ZIGZAG_EDP_BOUND_SOURCE,
    ZIGZAG_ENERGY_GAP,
    ZIGZAG_ENERGY_PARAMETERS,
    ZIGZAG_LATENCY_BOUND_SOURCE,
    ZIGZAG_REFINE_ABOVE_GAP,
    ZIGZAG_REFINE_TANGENT_STEP,
    ZIGZAG_WORD_TABLE_ROWS,
    SolvePolicy,
    policy_for,
    policy_of,
)
from .polish import (
    POLISH_EVALUATIONS,
    POLISH_PATIENCE,
    POLISH_STARTS,
    POLISH_WINDOW,
    distinct,
    polish,
)
from .problem import MappingProblem, ProblemError, build_problem
from .seed import SEED_TIME_S, SEED_TRIES, seed_at, seed_incumbent
from .status import SolveStatus
from .terms import SURROGATE_TANGENT_STEP, TANGENT_STEP, ZIGZAG_ENERGY_TANGENT_STEP
from .user_constraints import add_user_constraints
from .variables import MappingVars

TARGET_RANGE = 1e9  # the largest term is scaled to about this many integer units
EDP_HEADROOM = 64  # EDP factors range up to this many times TARGET_RANGE (worse mappings are cut off)


@dataclass(frozen=True, slots=True)
class SolverConfig:
    seed: int = 0
    workers: int = 1
    time_limit_s: float = 10.0  # deterministic time (CP-SAT's own work units, about seconds)
    wall_limit_s: float | None = None  # a safety cap on wall time; when it binds, runs may differ
    log: bool = False
    # latency and EDP on ZigZag's rules: also search for a certified bound (``bound_search``), at 2-3x the time
    latency_bound: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "num_workers": self.workers,
            "max_deterministic_time": self.time_limit_s,
            "max_time_in_seconds": self.wall_limit_s,
            "zigzag_latency_bound": self.latency_bound,
            "tangent_step": f"ln({exp(TANGENT_STEP):.4g})",
            "tangent_points": "reachable logs for energy on IMC arrays by imcmap's rules, else evenly spaced",
            "surrogate_tangent_step": f"ln({exp(SURROGATE_TANGENT_STEP):.4g})",
            "zigzag_energy_tangent_step": f"ln({exp(ZIGZAG_ENERGY_TANGENT_STEP):.4g})",
            "surrogate_relative_gap": SURROGATE_GAP,
            "zigzag_energy_relative_gap": ZIGZAG_ENERGY_GAP,
            "zigzag_energy_parameters": dict(ZIGZAG_ENERGY_PARAMETERS),
            "zigzag_word_table_rows": ZIGZAG_WORD_TABLE_ROWS,
            "zigzag_energy_refine": {"above_relative_gap": ZIGZAG_REFINE_ABOVE_GAP,
                                     "tangent_step": f"ln({exp(ZIGZAG_REFINE_TANGENT_STEP):.4g})"},
            "surrogate_latency": {kind: stop.as_dict() for kind, stop in SURROGATE_LATENCY.items()},
            "polish_evaluations": POLISH_EVALUATIONS,
            "polish_patience": POLISH_PATIENCE,
            "polish_starts": POLISH_STARTS,
            "polish_start_window": POLISH_WINDOW,
            "log_scale": 10_000,
            "incumbent_seed": {"tries": SEED_TRIES, "max_deterministic_time": SEED_TIME_S},  # where the policy seeds
            **SEARCH_PARAMETERS,
        }


# Lighter probing and the LP rows up front prove this model faster than CP-SAT's defaults; no cutting
# planes: the proofs close by branching on where tiles end, and the cuts' LP work slowed them (bench/README.md).
SEARCH_PARAMETERS: dict[str, object] = {"cp_model_probing_level": 1, "add_lp_constraints_lazily": False, "cut_level": 0}


def apply_search_parameters(params: SatParameters) -> None:
    for key, value in SEARCH_PARAMETERS.items():
        setattr(params, key, value)


class StopSignal(Protocol):
    """What ``solve_layer`` watches to stop early: a ``threading.Event`` or a ``multiprocessing`` one."""

    def is_set(self) -> bool: ...


STOP_POLL_S = 0.05  # how often a running search looks at its StopSignal: the stop's latency


def search(solver: cp_model.CpSolver, model: cp_model.CpModel,
           callback: cp_model.CpSolverSolutionCallback | None = None,
           stop: StopSignal | None = None) -> cp_model.CpSolverStatus:
    """``solver.solve(model, callback)``, ended by the solver's own ``stop_search`` once ``stop`` is set
    (the search keeps what it found: its best solution and proven bound). The watch is a thread because
    CP-SAT calls back only on improving solutions; it repeats the stop, since one issued before the
    search has begun is not kept by the solver."""
    if stop is None:
        return solver.solve(model, callback)
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(STOP_POLL_S):
            if stop.is_set():
                solver.stop_search()

    watcher = threading.Thread(target=watch, name="imcmap-stop-watch", daemon=True)
    watcher.start()
    try:
        return solver.solve(model, callback)
    finally:
        finished.set()
        watcher.join()


def _stopped(stop: StopSignal | None) -> bool:
    return stop is not None and stop.is_set()


@dataclass(frozen=True, slots=True)
class LayerSolution:
    layer: Layer
    objective: str
    status: SolveStatus
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
    constraints: tuple[UserConstraint, ...] = ()  # the user constraints that applied to this layer
    conflict: tuple[UserConstraint, ...] = ()  # when INFEASIBLE: a smallest set of them that clash
    accelerator: Accelerator | None = None  # as solved: after the layer's bypasses (None: as given)
    unpolished: tuple[Mapping, ...] = ()  # starts of a polish deferred by ``solve_layer(polish_now=False)``
    stopped: bool = False  # a StopSignal ended the search early: the status and gap are as of that moment
    # the layer was solved with I and W exchanged (``models.workload.operands_exchanged``): ``layer``,
    # ``mapping`` and ``report`` are the exchanged layer's, whose W (the imported layer's I) the cells hold
    operands_exchanged: bool = False

    BOUND_SOURCE = MODEL_BOUND_SOURCE


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
        # CP-SAT's value() is typed for its expression types only; decode reads it on our variables
        self.mappings.append(decode(self.problem, cast(Callable[[object], int], self.value), self.v))
        self.trace.append((time.perf_counter() - self.start, self.objective_value, self.best_objective_bound))


def _scale(problem: MappingProblem, objective: str) -> tuple[float, float]:
    """Units (pJ, cycles) per integer step, so that the largest term is about TARGET_RANGE."""
    layer, accel = problem.layer, problem.accel
    bits = max(layer.precision.psum_bits, layer.precision.o_bits, layer.precision.i_bits, layer.precision.w_bits)
    halo = max(1, layer.size("FX") * layer.size("FY"))
    worst_elems = layer.macs * halo * 4
    per_bit = max(max(m.read_energy_pj / m.read_bw_bits, m.write_energy_pj / m.write_bw_bits) for m in accel.memories)
    per_bit_cycles = max(max(1 / m.read_bw_bits, 1 / m.write_bw_bits) for m in accel.memories)
    unit_pj = max(worst_elems * bits * per_bit, 1e-9) / TARGET_RANGE
    unit_cycles = max(worst_elems * bits * per_bit_cycles, layer.macs * accel.cycles_per_mac) / TARGET_RANGE
    return unit_pj, unit_cycles


def build_feasibility_model(problem: MappingProblem,
                            canonical_cuts: bool = False) -> tuple[cp_model.CpModel, MappingVars]:
    """The legal space only: every constraint family, no objective; ``canonical_cuts``: see
    ``use_canonical_cuts``."""
    model = cp_model.CpModel()
    v = MappingVars(model, problem)
    C.add_factorization(model, v, problem)
    C.add_spatial_choice(model, v, problem)
    C.add_cut_order(model, v, problem, canonical_cuts=canonical_cuts)
    C.add_stationarity(model, v, problem)
    C.add_capacity(model, v, problem)
    return model, v


def use_canonical_cuts(accel: Accelerator, objective: str, user: tuple[UserConstraint, ...],
                       policy: SolvePolicy | None = None) -> bool:
    """Whether the model takes the canonical cut rule (``constraints._break_segment_symmetry``), which
    removes twins that cost the same in the model: where the policy allows it (``policy_of(accel,
    objective)`` unless given: IMC arrays; on ZigZag's rules energy only), and not under a user loop
    order, which the rule's moves (a cut raised, two segments merged) could break."""
    if any(c.parsed is not None and isinstance(c.parsed.body, LoopOrder) for c in user):
        return False
    return (policy if policy is not None else policy_of(accel, objective)).canonical_cuts


def use_axis_symmetry(problem: MappingProblem, user: tuple[UserConstraint, ...], policy: SolvePolicy) -> bool:
    """Whether the model takes the X/Y mirror cut (``constraints.add_axis_symmetry``): where the policy
    allows it, on a problem alike in X and Y (``constraints.axis_symmetric``), and under no user
    constraint, since one may name an axis (an order, a tile size, a fixed factor) and break the mirror."""
    return policy.axis_symmetry and not user and C.axis_symmetric(problem)


def build_model(problem: MappingProblem, objective: str, user: tuple[UserConstraint, ...] = (),
                canonical_cuts: bool | None = None,
                policy: SolvePolicy | None = None,
                axis_symmetry: bool | None = None) -> tuple[cp_model.CpModel, MappingVars, float]:
    """The layer's model; ``canonical_cuts`` None: as ``use_canonical_cuts`` decides; ``axis_symmetry``
    None: as ``use_axis_symmetry`` decides; ``policy`` None: ``policy_of(problem.accel, objective)``."""
    if policy is None:
        policy = policy_of(problem.accel, objective)
    if canonical_cuts is None:
        canonical_cuts = use_canonical_cuts(problem.accel, objective, user, policy)
    if axis_symmetry is None:
        axis_symmetry = use_axis_symmetry(problem, user, policy)
    model, v = build_feasibility_model(problem, canonical_cuts)
    if axis_symmetry:
        C.add_axis_symmetry(model, v, problem)
    flows, corrections = build_flows(model, v, problem, policy)
    unit_pj, unit_cycles = _scale(problem, objective)
    if objective == "energy":
        model.minimize(energy_objective(model, v, problem, flows, corrections, unit_pj, policy))
        unit = unit_pj
    elif objective == "latency":
        model.minimize(latency_objective(model, v, problem, flows, corrections, unit_cycles, policy))
        unit = unit_cycles
    else:
        # EDP = E * L, each on a coarser integer scale so the product fits in 64 bits; each factor
        # is held at or below its (lower-bound) expression, so the product stays a lower bound
        cap = (1 << 31) - 1
        k_e = max(1, ceil(EDP_HEADROOM * TARGET_RANGE / cap))
        k_l = max(1, ceil(EDP_HEADROOM * TARGET_RANGE / cap))
        energy = model.new_int_var(0, cap, "edp.energy")
        latency = model.new_int_var(0, cap, "edp.latency")
        model.add(k_e * energy >= energy_objective(model, v, problem, flows, corrections, unit_pj, policy) - (k_e - 1))
        model.add(k_l * latency
                  >= latency_objective(model, v, problem, flows, corrections, unit_cycles, policy) - (k_l - 1))
        edp = model.new_int_var(0, cap * cap, "edp")
        model.add_multiplication_equality(edp, [energy, latency])
        model.minimize(edp)
        unit = unit_pj * k_e * unit_cycles * k_l
    return model, v, unit


def bound_source(policy: SolvePolicy, config: SolverConfig) -> str:
    """What the certified gaps of a solve under ``policy`` and ``config`` rest on."""
    if not (policy.latency_bound and config.latency_bound):
        return policy.bound_source
    return ZIGZAG_EDP_BOUND_SOURCE if policy.objective is Objective.EDP else ZIGZAG_LATENCY_BOUND_SOURCE


def bound_policy(policy: SolvePolicy) -> SolvePolicy:
    """What the latency bound's model and search take from ``policy``: ZigZag's partial sums (their links),
    no word tables (words only round up), no cut rules (the bound is over the whole space), no early stop,
    no seed of its own (``bound_search`` starts at the surrogate's mapping), no second search."""
    return replace(policy, partial_sums_per_write=True, word_table_rows=0, canonical_cuts=False, axis_symmetry=False,
                   surrogate_stop=None, relative_gap_limit=None, search_parameters=(), seed_incumbent=False,
                   refine_above_gap=None, latency_bound=False)


def build_latency_bound_model(problem: MappingProblem,
                              policy: SolvePolicy) -> tuple[cp_model.CpModel, MappingVars, float]:
    """The layer's legal space with ``objective.zigzag_latency_bound`` to minimise (``policy``: a
    ``bound_policy``), and its unit (cycles per integer step)."""
    model, v = build_feasibility_model(problem, canonical_cuts=False)
    flows, corrections = build_flows(model, v, problem, policy)
    _, unit_cycles = _scale(problem, "latency")
    model.minimize(zigzag_latency_bound(model, v, problem, flows, corrections, unit_cycles, policy.tangent_step))
    return model, v, unit_cycles


def configure_search(params: SatParameters, config: SolverConfig, policy: SolvePolicy) -> None:
    """CP-SAT's parameters for a layer: the user's budget and seed, the search parameters, the policy's stop."""
    params.random_seed = config.seed
    params.num_workers = config.workers
    params.max_deterministic_time = config.time_limit_s
    if config.wall_limit_s is not None:
        params.max_time_in_seconds = config.wall_limit_s
    params.log_search_progress = config.log
    apply_search_parameters(params)
    for key, value in policy.search_parameters:
        setattr(params, key, value)
    if policy.relative_gap_limit is not None:
        params.relative_gap_limit = policy.relative_gap_limit
    stop = policy.surrogate_stop
    if stop is not None:
        params.max_deterministic_time = min(config.time_limit_s, stop.max_deterministic_time)
        for key, value in stop.parameters.items():
            setattr(params, key, value)


def applicable_constraints(layer: Layer, rule: ResolvedRule,
                           extra: tuple[UserConstraint, ...] = ()) -> tuple[UserConstraint, ...]:
    """The rule's and the extra constraints whose scope matches ``layer``, each once, in order."""
    out: list[UserConstraint] = []
    for c in (*rule.constraints, *extra):
        if c.applies_to(layer) and c not in out:
            out.append(c)
    return tuple(out)


def bypasses_of(constraints: tuple[UserConstraint, ...]) -> list[Bypass]:
    """The bypass bodies among ``constraints`` (``models.constraints.apply_bypasses`` applies them)."""
    return [c.parsed.body for c in constraints if c.parsed is not None and isinstance(c.parsed.body, Bypass)]


def use_seed(policy: SolvePolicy, user: tuple[UserConstraint, ...]) -> bool:
    """Whether the search starts from ``seed.seed_incumbent``: where the policy says so, and under no user
    constraint (there the most-PEs unrolling may be illegal, and nothing was measured)."""
    return policy.seed_incumbent and not user


def search_layer(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, config: SolverConfig,
                 policy: SolvePolicy, user: tuple[UserConstraint, ...], recorder: _Recorder,
                 stop: StopSignal | None = None,
                 start_at: Sequence[int] | None = None) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus, float]:
    """``solve_layer``'s search: the seed where ``use_seed`` (or, given ``start_at``, the decisions of a
    mapping another search found, ``seed.seed_at``), then the whole model within what is left of the
    budget. Returns the main solver, its status and the deterministic seconds of every search; the
    seed's mappings are in ``recorder.mappings`` first, but not in its trace (their bounds are the
    subproblem's)."""
    solver = cp_model.CpSolver()
    configure_search(solver.parameters, config, policy)
    spent = 0.0
    if start_at is not None or use_seed(policy, user):
        seeds = _Recorder(problem, v, recorder.start)

        def run(sub: cp_model.CpModel, seconds: float) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
            trial = cp_model.CpSolver()
            configure_search(trial.parameters, replace(config, time_limit_s=seconds), policy)
            return trial, search(trial, sub, seeds, stop)

        began = time.perf_counter()
        spent = (seed_at(model, v, start_at, run, config.time_limit_s / 2) if start_at is not None
                 else seed_incumbent(model, v, problem, run, config.time_limit_s / 2))
        recorder.mappings.extend(seeds.mappings)
        solver.parameters.max_deterministic_time = max(0.0, solver.parameters.max_deterministic_time - spent)
        if config.wall_limit_s is not None:  # the wall cap is the layer's, seed included
            solver.parameters.max_time_in_seconds = max(0.0, config.wall_limit_s - (time.perf_counter() - began))
    status = search(solver, model, recorder, stop)
    return solver, status, spent + solver.deterministic_time


@dataclass(slots=True)
class Search:
    """One model of a layer, built and searched (``search_model``): the model, the solver after its
    search and that search's status, the model's unit (pJ, cycles or their product per integer step),
    what the search found and the deterministic seconds it took, the seed's included."""

    model: cp_model.CpModel
    solver: cp_model.CpSolver
    status: cp_model.CpSolverStatus
    unit: float
    recorder: _Recorder
    deterministic_s: float

    @property
    def bound(self) -> float:
        """CP-SAT's proven bound on the model's minimum, in the evaluator's units."""
        return max(0.0, self.solver.best_objective_bound * self.unit)

    @property
    def model_objective(self) -> float:
        return self.solver.objective_value * self.unit

    def decisions(self) -> list[int] | None:
        """The values of ``MappingVars.decisions()`` in the search's best assignment; None without one."""
        if self.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return [self.solver.value(x) for x in self.recorder.v.decisions()]


Built = tuple[cp_model.CpModel, MappingVars, float]  # a model, its variables and its unit


def search_model(problem: MappingProblem, objective: str, user: tuple[UserConstraint, ...], policy: SolvePolicy,
                 config: SolverConfig, start: float, stop: StopSignal | None = None,
                 start_at: Sequence[int] | None = None, build: Callable[[], Built] | None = None) -> Search:
    """The layer's model under ``policy`` (``build()``'s, where given) with ``user``'s rows enforced,
    searched by ``search_layer``."""
    model, v, unit = build() if build is not None else build_model(problem, objective, user, policy=policy)
    for lit, _ in add_user_constraints(model, v, problem, user):
        model.add(lit == 1)
    recorder = _Recorder(problem, v, start)
    solver, status, deterministic_s = search_layer(model, v, problem, config, policy, user, recorder, stop, start_at)
    return Search(model, solver, status, unit, recorder, deterministic_s)


def refine_search(first: Search, cost: float | None, problem: MappingProblem, objective: str,
                  user: tuple[UserConstraint, ...], policy: SolvePolicy, config: SolverConfig, start: float,
                  stop: StopSignal | None = None) -> Search | None:
    """A second search with tangents at ``policy.refine_tangent_step``, where the policy refines and the
    first search's certified gap (``cost``, the evaluator's price of its best mapping, against its bound)
    is above ``policy.refine_above_gap``; None otherwise, once ``stop`` is set, or with no budget left
    (it gets what the first left of ``config``'s). Finer tangents are still below every cost term, so the
    second model's bound holds as the first one's does: the layer keeps the larger bound and the cheapest
    mapping of both. The second search starts from the first one's best mapping (``seed.seed_at``): its
    hint, and its price in the finer model as the cutoff, in place of the policy's seed."""
    limit = policy.refine_above_gap
    if limit is None or cost is None or not policy.reports_bound or _stopped(stop):
        return None
    gap = _gap(cost, first.bound)
    budget = _rest_of_budget(config, first.deterministic_s, start)
    if gap is None or gap <= limit or budget is None:
        return None
    finer = replace(policy, tangent_step=policy.refine_tangent_step, refine_above_gap=None)
    return search_model(problem, objective, user, finer, budget, start, stop, first.decisions())


def _rest_of_budget(config: SolverConfig, spent_s: float, start: float, share: float = 1.0) -> SolverConfig | None:
    """``config`` with ``share`` of what ``spent_s`` deterministic seconds left of its budget, and what is left
    of its wall cap since ``start``; None where either is used up."""
    left = share * (config.time_limit_s - spent_s)
    wall_left = None if config.wall_limit_s is None else config.wall_limit_s - (time.perf_counter() - start)
    if left <= 0 or (wall_left is not None and wall_left <= 0):
        return None
    return replace(config, time_limit_s=left, wall_limit_s=wall_left)


def bound_search(first: Search, problem: MappingProblem, user: tuple[UserConstraint, ...], policy: SolvePolicy,
                 config: SolverConfig, start: float, stop: StopSignal | None = None) -> float | None:
    """Where ``policy.latency_bound`` and ``config.latency_bound``, a lower bound on ZigZag's figure of every
    mapping meeting ``user``: latency, the proven bound of the latency bound's model
    (``build_latency_bound_model``); EDP, that times the proven bound of the energy model on ZigZag's rules
    (each below its figure on every mapping, and both figures positive, so the product is below E x L).
    Each search (``search_model``, with ``user``'s rows) starts from the first search's best mapping
    (``seed.seed_at``: its hint, and its value in that model as the cutoff) within what the first left of
    the budget, the energy search half of it. None where the policy has none or the config does not ask,
    once ``stop`` is set, without a mapping to start from or budget left, or where a model is infeasible
    although the first search found a mapping (a wrong model proves nothing)."""
    decisions = first.decisions()
    if not (policy.latency_bound and config.latency_bound) or decisions is None:
        return None

    def proven(objective: str, searched: SolvePolicy, spent_s: float, share: float,
               build: Callable[[], Built] | None = None) -> Search | None:
        budget = _rest_of_budget(config, spent_s, start, share)
        if _stopped(stop) or budget is None:
            return None
        found = search_model(problem, objective, user, searched, budget, start, stop, decisions, build)
        return None if found.status == cp_model.INFEASIBLE else found

    bound, spent = 1.0, first.deterministic_s
    if policy.objective is Objective.EDP:
        energy = proven("energy", policy_for(policy.rules, Objective.ENERGY, policy.array_kind), spent, 0.5)
        if energy is None:
            return None
        bound, spent = energy.bound, spent + energy.deterministic_s
    bounding = bound_policy(policy)
    latency = proven("latency", bounding, spent, 1.0, lambda: build_latency_bound_model(problem, bounding))
    return None if latency is None else bound * latency.bound


Priced = tuple[float, int, Mapping, CostReport]  # (cost, index among the mappings found, mapping, report)


def refined(first: Search, problem: MappingProblem, objective: str, user: tuple[UserConstraint, ...],
            policy: SolvePolicy, config: SolverConfig, start: float,
            stop: StopSignal | None = None) -> tuple[list[Search], list[Priced]]:
    """``first`` and, where ``refine_search`` runs one, the second search, with every mapping of theirs
    that ``price`` accepts, cheapest first (ties: in the order found, the first search's before the second's)."""
    priced = price(first.recorder.mappings, problem.layer, problem.accel, user, objective)
    second = refine_search(first, priced[0][0] if priced else None, problem, objective, user, policy, config, start,
                           stop)
    if second is None:
        return [first], priced
    offset = len(first.recorder.mappings)
    more = [(c, offset + i, m, r) for c, i, m, r in
            price(second.recorder.mappings, problem.layer, problem.accel, user, objective)]
    return [first, second], sorted(priced + more, key=lambda item: (item[0], item[1]))


def searches_bound(searches: list[Search]) -> float:
    """The largest of the searches' bounds, each one valid on the layer's whole space; an infeasible search
    (the second can only be one if its model were wrong) proves nothing about that space and is left out."""
    bounds = [s.bound for s in searches if s.status != cp_model.INFEASIBLE]
    return max(bounds, default=searches[0].bound)


def price(mappings: list[Mapping], layer: Layer, accel: Accelerator, user: tuple[UserConstraint, ...],
          objective: str) -> list[Priced]:
    """(cost, index, mapping, report) of every mapping the evaluator accepts and that meets ``user`` by
    the judge, cheapest first (ties: in the order found)."""
    priced: list[Priced] = []
    for i, mapping in enumerate(mappings):
        if check(layer, accel, mapping):
            continue  # never price an illegal mapping; the encoding should make this unreachable
        if not _meets(user, layer, accel, mapping):
            continue  # the judge disagrees with the encoding: never return such a mapping
        report = evaluate(layer, accel, mapping)
        priced.append((cost_of(report, objective), i, mapping, report))
    priced.sort(key=lambda item: (item[0], item[1]))
    return priced


def solve_layer(
    layer: Layer,
    accel: Accelerator,
    rule: ResolvedRule,
    objective: str = "energy",
    config: SolverConfig = SolverConfig(),
    constraints: tuple[UserConstraint, ...] = (),
    polish_now: bool = True,
    stop: StopSignal | None = None,
) -> LayerSolution:
    """The cheapest mapping the evaluator accepts that meets every applicable user constraint
    (``rule.constraints`` and ``constraints``, filtered by scope). With ``polish_now=False`` the polish
    (on hardware whose rules the model does not encode) is left to ``finish_polish``: the network
    driver polishes only the variants its dataflow plan keeps. Once ``stop`` is set the search ends
    with what it has (``stopped``), and nothing else is started: no second search, no polish."""
    start = time.perf_counter()
    user = applicable_constraints(layer, rule, constraints)
    try:
        solved_accel = apply_bypasses(accel, rule.operand_links, bypasses_of(user))
        problem = build_problem(layer, solved_accel, rule)
    except (ProblemError, BypassError) as exc:
        return _infeasible(layer, accel, rule, objective, config, user, start, str(exc), stop)
    policy = policy_of(accel, objective)
    first = search_model(problem, objective, user, policy, config, start, stop)
    solver, status, recorder = first.solver, first.status, first.recorder
    params = solver.parameters
    # a surrogate's early stop must not leave the layer without a mapping: then the whole budget
    if (policy.surrogate_stop is not None and not recorder.mappings and status == cp_model.UNKNOWN
            and config.time_limit_s > params.max_deterministic_time and not _stopped(stop)):
        params.max_deterministic_time = config.time_limit_s
        status = first.status = search(solver, first.model, recorder, stop)
        first.deterministic_s += solver.deterministic_time
    shown_accel = solved_accel if solved_accel != accel else None
    if not recorder.mappings:
        stopped = _stopped(stop)
        wall = time.perf_counter() - start
        if status == cp_model.INFEASIBLE:
            return _infeasible(layer, accel, rule, objective, config, user, start, "", stop)
        why = "stopped before a mapping was found" if stopped else "time limit before a mapping was found"
        return LayerSolution(layer, objective, SolveStatus(solver.status_name(status)), None, None, None, None, None,
                             None, 0, wall, why, tuple(recorder.trace), user, (), shown_accel, stopped=stopped)
    searches, priced = refined(first, problem, objective, user, policy, config, start, stop)
    stopped = _stopped(stop)
    wall = time.perf_counter() - start
    candidates = sum(len(s.recorder.mappings) for s in searches)
    best = priced[0] if priced else None
    if best is None:
        return LayerSolution(layer, objective, SolveStatus.MODEL_ERROR, None, None, None, None, None, None,
                             candidates, wall,
                             "every candidate failed the evaluator's legality check or a user constraint",
                             tuple(recorder.trace), user, (), shown_accel)
    cost, _, mapping, report = best
    starts: tuple[Mapping, ...] = ()
    if policy.polish is not None:
        # the model's optimum is a start under rules it does not encode; walk on by the evaluator's
        window = policy.polish.window
        cheapest = priced[:policy.polish.count]
        starts = tuple(distinct([m for c, _, m, _ in cheapest if window is None or c <= cost * (1 + window)]))
    bound = searches_bound(searches) if policy.reports_bound else None
    certified = bound_search(first, problem, user, policy, config, start, stop)
    if certified is not None:
        bound = certified
    proven = policy.proves_optimality and all(s.status == cp_model.OPTIMAL for s in searches)
    wall = time.perf_counter() - start
    solution = LayerSolution(
        layer=layer,
        objective=objective,
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        mapping=mapping,
        report=report,
        exact_cost=cost,
        lower_bound=bound,
        gap=_gap(cost, bound),
        model_objective=next(s.model_objective for s in reversed(searches) if s.recorder.mappings),
        candidates=candidates,
        wall_time_s=wall,
        trace=tuple(recorder.trace),
        constraints=user,
        accelerator=shown_accel,
        message="; ".join(problem.notes),
        unpolished=starts,
        stopped=stopped,
    )
    return finish_polish(solution, accel, stop) if polish_now and not stopped else solution


def solve_exchanged(layer: Layer, accel: Accelerator, rule: ResolvedRule, objective: str = "energy",
                    config: SolverConfig = SolverConfig(), polish_now: bool = True,
                    stop: StopSignal | None = None) -> LayerSolution:
    """``solve_layer`` of the layer with its operands exchanged, on ``accel`` (its hierarchy), marked
    so; the hierarchy is named on the solution, so a deferred polish and the reports use it."""
    sol = solve_layer(operands_exchanged(layer), accel, rule, objective, config, polish_now=polish_now, stop=stop)
    return replace(sol, operands_exchanged=True, accelerator=sol.accelerator or accel)


def one_orientation(solution: LayerSolution) -> LayerSolution:
    """An exchangeable layer's solution when the other orientation was never searched (a stop came
    first): nothing is proven about that one, so no bound either, and OPTIMAL at most FEASIBLE."""
    status = SolveStatus.FEASIBLE if solution.status is SolveStatus.OPTIMAL else solution.status
    return replace(solution, lower_bound=None, gap=None, status=status,
                   message="; ".join(m for m in (solution.message, "stopped before the other orientation was "
                                                 "searched") if m))


def better_orientation(as_imported: LayerSolution, exchanged: LayerSolution) -> LayerSolution:
    """The cheaper orientation (the imported one on a tie), with what both searches proved: the lower
    bound is the smaller of the two (an orientation proven to have no mapping adds none), so it bounds
    the union of both spaces; OPTIMAL only when both orientations are proven (optimal or infeasible)."""
    pair = (as_imported, exchanged)
    mapped = [s for s in pair if s.mapping is not None and s.exact_cost is not None]
    if not mapped:
        return replace(as_imported, wall_time_s=as_imported.wall_time_s + exchanged.wall_time_s,
                       stopped=as_imported.stopped or exchanged.stopped)
    best = min(mapped, key=lambda s: s.exact_cost or 0.0)
    assert best.exact_cost is not None
    bounds = [s.lower_bound for s in pair if s.status is not SolveStatus.INFEASIBLE]
    bound = None if any(b is None for b in bounds) else min(b for b in bounds if b is not None)
    proven = all(s.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE) for s in pair)
    status = best.status
    if status is SolveStatus.OPTIMAL and not proven:
        status = SolveStatus.FEASIBLE
    other = exchanged if best is as_imported else as_imported
    note = f"other orientation: {other.status.value}" + (
        f", {other.exact_cost:.6g}" if other.exact_cost is not None else "")
    return replace(best, status=status, lower_bound=bound, gap=_gap(best.exact_cost, bound),
                   candidates=as_imported.candidates + exchanged.candidates,
                   wall_time_s=as_imported.wall_time_s + exchanged.wall_time_s,
                   stopped=as_imported.stopped or exchanged.stopped,
                   message="; ".join(m for m in (best.message, note) if m))


def _meets(user: tuple[UserConstraint, ...], layer: Layer, accel: Accelerator, mapping: Mapping) -> bool:
    """Every user constraint holds, by the judge (``constraint_holds``), not by the encoding."""
    return all(c.parsed is not None and constraint_holds(c.parsed, layer, accel, mapping) for c in user)


def _gap(cost: float, bound: float | None) -> float | None:
    return None if bound is None else max(0.0, (cost - bound) / cost) if cost > 0 else 0.0


def finish_polish(solution: LayerSolution, accel: Accelerator, stop: StopSignal | None = None) -> LayerSolution:
    """Walk from ``solution.unpolished`` by the evaluator (``polish``); keeps the cheapest nest and the
    bound, so the gap only shrinks. ``accel`` is the hardware ``solve_layer`` was given. Once ``stop``
    is set no further start is walked (a walk is a fraction of a second): the best so far is kept."""
    if not solution.unpolished or solution.mapping is None or solution.exact_cost is None:
        return solution
    start = time.perf_counter()
    solved_accel = solution.accelerator if solution.accelerator is not None else accel
    layer, objective, user = solution.layer, solution.objective, solution.constraints

    def allowed(candidate: Mapping) -> bool:
        return _meets(user, layer, solved_accel, candidate)

    mapping, report, cost = solution.mapping, solution.report, solution.exact_cost
    for begin in solution.unpolished:
        if _stopped(stop):
            break
        walked, walked_report, _ = polish(layer, solved_accel, begin, objective, allowed,
                                          budget=POLISH_EVALUATIONS // POLISH_STARTS)
        if cost_of(walked_report, objective) < cost:
            mapping, report, cost = walked, walked_report, cost_of(walked_report, objective)
    return replace(solution, mapping=mapping, report=report, exact_cost=cost, gap=_gap(cost, solution.lower_bound),
                   wall_time_s=solution.wall_time_s + time.perf_counter() - start, unpolished=())


# --- infeasibility explained -----------------------------------------------------------------


def quote(constraints: tuple[UserConstraint, ...]) -> str:
    """`text` (file:line:col), `text` (--constraint), ..."""
    return ", ".join(f"`{c.text}` ({c.origin()})" for c in constraints)


def _infeasible(layer: Layer, accel: Accelerator, rule: ResolvedRule, objective: str, config: SolverConfig,
                user: tuple[UserConstraint, ...], start: float, reason: str,
                stop: StopSignal | None = None) -> LayerSolution:
    conflict: tuple[UserConstraint, ...] = ()
    if not user:
        message = reason or "no legal mapping exists in the solver's space"
        message += " (no user constraint applies: the layer cannot be mapped on this hardware)"
    elif _stopped(stop):  # the explanation is more searches: not after a stop
        message = "no mapping meets the layer's constraints (stopped before the clashing ones were found)"
        if reason:
            message += f" ({reason})"
    else:
        conflict, message = explain_infeasible(layer, accel, rule, user, config, stop)
        if reason:
            message += f" ({reason})"
    return LayerSolution(layer, objective, SolveStatus.INFEASIBLE, None, None, None, None, None, None, 0,
                         time.perf_counter() - start, message, (), user, conflict, None, stopped=_stopped(stop))


def _feasible(layer: Layer, accel: Accelerator, rule: ResolvedRule, subset: tuple[UserConstraint, ...],
              config: SolverConfig, stop: StopSignal | None = None) -> bool | None:
    """Whether a mapping meets every constraint of ``subset`` (None: undecided within the time limit or
    before ``stop``)."""
    try:
        problem = build_problem(layer, apply_bypasses(accel, rule.operand_links, bypasses_of(subset)), rule)
    except (ProblemError, BypassError):
        return False
    model, v = build_feasibility_model(problem)
    for lit, _ in add_user_constraints(model, v, problem, subset):
        model.add(lit == 1)
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = config.seed
    solver.parameters.num_workers = config.workers
    solver.parameters.max_deterministic_time = config.time_limit_s
    status = search(solver, model, stop=stop)
    if status == cp_model.INFEASIBLE:
        return False
    return True if status in (cp_model.FEASIBLE, cp_model.OPTIMAL) else None


def _core_by_assumptions(layer: Layer, accel: Accelerator, rule: ResolvedRule, user: tuple[UserConstraint, ...],
                         config: SolverConfig, stop: StopSignal | None = None) -> tuple[UserConstraint, ...]:
    """The bypasses and the rows in CP-SAT's sufficient assumptions for infeasibility."""
    bypasses = tuple(c for c in user if c.parsed is not None and isinstance(c.parsed.body, Bypass))
    try:
        problem = build_problem(layer, apply_bypasses(accel, rule.operand_links, bypasses_of(bypasses)), rule)
    except (ProblemError, BypassError):
        return bypasses  # the bypasses alone leave no problem to solve
    model, v = build_feasibility_model(problem)
    literals = add_user_constraints(model, v, problem, user)
    model.add_assumptions([lit for lit, _ in literals])
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = config.seed
    solver.parameters.num_workers = 1  # assumptions need a single worker
    solver.parameters.max_deterministic_time = config.time_limit_s
    if search(solver, model, stop=stop) != cp_model.INFEASIBLE:
        return user
    core = set(solver.sufficient_assumptions_for_infeasibility())
    return bypasses + tuple(c for lit, c in literals if lit.index in core)


def explain_infeasible(layer: Layer, accel: Accelerator, rule: ResolvedRule, user: tuple[UserConstraint, ...],
                       config: SolverConfig, stop: StopSignal | None = None) -> tuple[tuple[UserConstraint, ...], str]:
    """(a smallest clashing subset of ``user``, the sentence that says so). Without any user constraint
    the layer may be unmappable already; then the subset is empty and the sentence says that. After
    ``stop`` the set found so far is given, not shown smallest."""
    base = _feasible(layer, accel, rule, (), config, stop)
    if base is False:
        return (), ("no legal mapping exists even without the user constraints: the layer cannot be mapped on "
                    "this hardware")
    core = _core_by_assumptions(layer, accel, rule, user, config, stop)
    minimal = base is True
    for c in list(core):
        if _stopped(stop):
            minimal = False
            break
        trial = tuple(x for x in core if x is not c)
        verdict = _feasible(layer, accel, rule, trial, config, stop)
        if verdict is False:
            core = trial
        elif verdict is None:
            minimal = False
    core = tuple(c for c in user if c in core)
    if len(core) == 1:
        message = f"this constraint cannot be met: {quote(core)}"
    else:
        message = f"these constraints clash: {quote(core)}"
    if not minimal:
        message += " (a time limit kept this set from being shown smallest)"
    return core, message
