"""Fix a mapping, written in the CP-SAT model's own terms, onto ``MappingVars`` (the inverse of
``solver.decode``): the fixation tests' helper. A mapping is a list of segments, innermost first,
each a stationary operand and its temporal factors; one chosen candidate per spatial group; and per
operand the highest segment below each of its level cuts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from imcmap.models.mapping import Mapping
from imcmap.models.workload import OPERANDS, Operand
from imcmap.solver import constraints as C
from imcmap.solver.decode import decode
from imcmap.solver.problem import MappingProblem, Unrolling, prime_factors
from imcmap.solver.variables import MappingVars

# Every family of the layer model in the order the solver adds them (the canonical cut rule off).
FAMILIES: dict[str, Callable[[cp_model.CpModel, MappingVars, MappingProblem], None]] = {
    "factorization": C.add_factorization,
    "spatial_choice": C.add_spatial_choice,
    "cut_order": C.add_cut_order,
    "stationarity": C.add_stationarity,
    "capacity": C.add_capacity,
}


@dataclass(frozen=True)
class Segment:
    stationary: Operand
    factors: dict[str, int]  # loop dim -> temporal factor in this segment (absent: 1)


@dataclass(frozen=True)
class ModelMapping:
    """A mapping in the model's terms. ``chosen`` overrides the spatial one-hots (a set of candidate
    indices per group) so that tests can choose none or two; ``below`` overrides the cut literals."""

    segments: tuple[Segment, ...]
    spatial: Unrolling
    cut_segment: dict[Operand, tuple[int, ...]]  # per operand, per non-top level: top segment below its cut
    stationary: tuple[frozenset[Operand], ...] | None = None  # per segment, overrides Segment.stationary
    chosen: tuple[frozenset[int], ...] | None = None
    below: dict[tuple[Operand, int, int], int] | None = None


def normalized(unrolling: Unrolling) -> dict[str, dict[str, int]]:
    """Factors of 1 and array dims with nothing unrolled dropped (candidates keep them, mappings not)."""
    out = {a: {d: f for d, f in u.items() if f > 1} for a, u in unrolling.items()}
    return {a: u for a, u in out.items() if u}


def candidate_index(problem: MappingProblem, group: int, unrolling: Unrolling) -> int:
    """Index of the candidate of ``group`` that unrolls as ``unrolling`` does on the group's dims."""
    dims = problem.groups[group].array_dims
    wanted = normalized({a: u for a, u in unrolling.items() if a in dims})
    for k, cand in enumerate(problem.groups[group].candidates):
        if normalized(cand) == wanted:
            return k
    raise LookupError(f"{wanted} is not a candidate of group {dims}")


def assignment(problem: MappingProblem, v: MappingVars, m: ModelMapping) -> dict[object, int]:
    """The value of every decision variable (temporal exponents, one-hots, stationarity, cut literals)."""
    if len(m.segments) != v.n_segments:
        raise ValueError(f"{len(m.segments)} segments given, the model has {v.n_segments}")
    values: dict[object, int] = {}
    for s, seg in enumerate(m.segments):
        exps: dict[str, dict[int, int]] = {d: prime_factors(f) for d, f in seg.factors.items()}
        for d, e in exps.items():
            if any(p not in problem.dim_primes.get(d, {}) for p in e):
                raise ValueError(f"segment {s}: {d}{seg.factors[d]} has a prime the layer's {d} lacks")
        for d in v.all_dims():
            for p in problem.dim_primes[d]:
                values[v.temporal(s, d, p)] = exps.get(d, {}).get(p, 0)
        stationary = m.stationary[s] if m.stationary is not None else frozenset({seg.stationary})
        for op in OPERANDS:
            values[v.stationary[(s, op)]] = int(op in stationary)
    for g in range(len(problem.groups)):
        chosen = m.chosen[g] if m.chosen is not None else frozenset({candidate_index(problem, g, m.spatial)})
        for k, b in enumerate(v.choice[g]):
            values[b] = int(k in chosen)
    for op in OPERANDS:
        for i in range(v.chains[op] - 1):
            for s in range(v.n_segments):
                default = int(s <= m.cut_segment[op][i])
                values[v.below[(op, i, s)]] = (m.below or {}).get((op, i, s), default)
    return values


def build(
    problem: MappingProblem, without: Iterable[str] = (), canonical_cuts: bool = False
) -> tuple[cp_model.CpModel, MappingVars]:
    """The feasibility model with every family but those named in ``without``."""
    skip = set(without)
    unknown = skip - set(FAMILIES)
    if unknown:
        raise ValueError(f"no family {sorted(unknown)}")
    model = cp_model.CpModel()
    v = MappingVars(model, problem)
    for name, add in FAMILIES.items():
        if name in skip:
            continue
        if name == "cut_order":
            C.add_cut_order(model, v, problem, canonical_cuts=canonical_cuts)
        else:
            add(model, v, problem)
    return model, v


def fix(model: cp_model.CpModel, values: dict[object, int]) -> None:
    for var, value in values.items():
        if isinstance(var, int):  # a dim's absent prime: the query methods return the constant 0
            if var != value:
                raise ValueError(f"constant {var} cannot take {value}")
            continue
        model.add(var == value)


def status_with(problem: MappingProblem, m: ModelMapping, without: Iterable[str] = (), canonical_cuts: bool = False,
                extra: Callable[[cp_model.CpModel, MappingVars], None] | None = None) -> str:
    """CP-SAT's verdict on the model (all families but ``without``) with ``m`` fixed: OPTIMAL
    (a feasibility model has nothing to optimise) or INFEASIBLE. ``extra`` adds rows first."""
    model, v = build(problem, without, canonical_cuts)
    if extra is not None:
        extra(model, v)
    fix(model, assignment(problem, v, m))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = 30.0
    return solver.status_name(solver.solve(model))


def decoded(problem: MappingProblem, m: ModelMapping) -> Mapping:
    """``decode`` of the fixed decision variables, without solving (derived variables are not read)."""
    model = cp_model.CpModel()
    v = MappingVars(model, problem)
    values = assignment(problem, v, m)

    def value(var: object) -> int:
        return var if isinstance(var, int) else values[var]

    return decode(problem, value, v)
