"""An incumbent before the proof: the layer's model solved first on one spatial unrolling.

The proofs on IMC arrays are mostly the choice among 100-200 spatial candidates. CP-SAT finds a good
mapping early, but its presolve and root LP run before it has any: with an objective cutoff in the
model from the start they prune far more (ResNet-18 on dimc with its own optimum as hint and cutoff:
4.56 -> 2.05 deterministic seconds). ``seed_incumbent`` gets such a cutoff cheaply: the same model with
the first spatial group fixed to the candidate that uses the most PEs (the next ones while that is
infeasible), a small problem; its best assignment becomes a hint for every variable and the row
``objective <= its objective`` in the full model.

No optimum is lost and the bound stays valid: the incumbent is an assignment of the same model, so the
model's minimum is at most its objective and meets the row; the row only removes assignments whose
model objective is above that minimum, so the proven bound of the cut model, a lower bound on its
minimum, is one on the whole model's minimum too. Hints never change what is feasible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from ortools.sat.python import cp_model

from .problem import MappingProblem
from .variables import MappingVars

SEED_TRIES = 3  # candidates tried, most PEs used first, until one has a legal mapping
SEED_TIME_S = 0.3  # deterministic seconds per try (a ResNet-18 try proves its own optimum in about 0.1)

# run(model, deterministic seconds) -> (the solver after its search, its status)
Run = Callable[[cp_model.CpModel, float], tuple[cp_model.CpSolver, cp_model.CpSolverStatus]]


def by_pes_used(problem: MappingProblem) -> list[int]:
    """The first spatial group's candidates, the unrolling over the most PEs first (ties: in order)."""
    candidates = problem.groups[0].candidates
    return sorted(range(len(candidates)), key=lambda k: -prod(f for u in candidates[k].values() for f in u.values()))


def seed_incumbent(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, run: Run,
                   budget_s: float) -> float:
    """Try up to SEED_TRIES candidates (``by_pes_used``) within ``budget_s`` deterministic seconds; on
    the first assignment found, add its hint and cutoff to ``model``. Returns the seconds spent."""
    spent = 0.0
    for k in by_pes_used(problem)[:SEED_TRIES]:
        left = min(SEED_TIME_S, budget_s - spent)
        if left <= 0:
            break
        sub = model.clone()
        sub.add(sub.get_bool_var_from_proto_index(v.choice[0][k].index) == 1)
        solver, status = run(sub, left)
        spent += solver.deterministic_time
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            add_incumbent(model, solver)
            break
        if status != cp_model.INFEASIBLE:
            break  # out of time or stopped: no incumbent
    return spent


def seed_at(model: cp_model.CpModel, v: MappingVars, decisions: Sequence[int], run: Run, budget_s: float) -> float:
    """The incumbent at a mapping another model of the same layer found (``decisions``, the values of its
    ``MappingVars.decisions()``): ``model`` with its own decisions fixed to them, searched within
    ``budget_s``; on an assignment, its hint and cutoff are added to ``model`` as by ``seed_incumbent``.
    The two models must differ only in rows that every mapping meets (the tangents of ``refine_search``).
    Returns the seconds spent."""
    sub = model.clone()
    for var, value in zip(v.decisions(), decisions, strict=True):
        sub.add(sub.get_int_var_from_proto_index(var.index) == value)
    solver, status = run(sub, budget_s)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        add_incumbent(model, solver)
    return solver.deterministic_time


def add_incumbent(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """``solver``'s assignment (of ``model`` or a clone with more rows) as a hint for every variable of
    ``model`` and the cutoff row objective <= its objective."""
    variables = [model.get_int_var_from_proto_index(i) for i in range(len(model.proto.variables))]
    values = [solver.value(x) for x in variables]
    for x, value in zip(variables, values, strict=True):
        model.add_hint(x, value)
    objective = model.proto.objective
    refs, coeffs = list(objective.vars), list(objective.coeffs)
    if refs and min(refs) >= 0:  # negated references (never written by ``minimize``) would need their sign
        incumbent = sum(c * values[r] for r, c in zip(refs, coeffs, strict=True))
        model.add(cp_model.LinearExpr.weighted_sum([variables[r] for r in refs], coeffs) <= incumbent)
