"""The CP-SAT objective (``solver.objective``, through ``solve.build_model``) against the evaluator on
fixed mappings: the model's price of a mapping is the evaluator's within the tangent gap.

Each term of the model is a lower bound of its own quantity within exp(-step^2/8) (``solver.terms``),
so when the model's refills equal the evaluator's, objective * unit lies in [E * (1 - 0.42 %), E]
for E the evaluator's energy or latency. The model's refills are never fewer than the evaluator's
(``test_variables``), so on any mapping the model's price is at least E * (1 - 0.42 %).

Mappings: the legal ones of ``test_constraints``' canonical space (a Gemm B 8, K 4, C 8 on
``oracle_imc`` with a 384 b buf), whose LEGAL mapping is worked out there.
"""

from __future__ import annotations

from math import exp

import pytest
from hypothesis import HealthCheck, assume, given, settings
from ortools.sat.python import cp_model

from imcmap.models.evaluator import check, evaluate, refills
from imcmap.models.workload import OPERANDS
from imcmap.solver.solve import build_model
from imcmap.solver.terms import TANGENT_STEP
from imcmap.solver.variables import PE

from .fixation import ModelMapping, assignment, decoded, fix
from .test_constraints import ACCEL, LAYER, LEGAL, PROBLEM, canonical_mappings

GAP = 1 - exp(-(TANGENT_STEP**2) / 8)  # 0.41 %


def priced(m: ModelMapping, objective: str) -> tuple[float, bool]:
    """(objective * unit with ``m`` fixed, whether the model's refills equal the evaluator's at the PE
    and at each operand's first cut)."""
    mapping = decoded(PROBLEM, m)
    model, v, unit = build_model(PROBLEM, objective, canonical_cuts=False)
    fix(model, assignment(PROBLEM, v, m))
    probes = {}
    for op in OPERANDS:
        for level, cut in ((PE, 0), (0, mapping.cuts[op][0])):
            x = model.new_int_var(-64, 64, f"probe[{op.value}{level}]")
            model.add(x == sum(v.refill_exps(op, level).values()))  # every prime is 2 here
            probes[(op, cut)] = x
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    same = all(2 ** solver.value(x) == refills(op, mapping.loops, cut) for (op, cut), x in probes.items())
    return solver.objective_value * unit, same


def exact(m: ModelMapping, objective: str) -> float:
    report = evaluate(LAYER, ACCEL, decoded(PROBLEM, m))
    return report.energy_pj if objective == "energy" else report.latency_cycles


@pytest.mark.parametrize("objective", ["energy", "latency"])
def test_legal_mapping_is_priced_as_the_evaluator_prices_it(objective: str):
    """LEGAL (loops B2 C2 B2 B2) has the evaluator's refills in the model, so its price is within the
    tangent gap below the evaluator's figure."""
    value, same = priced(LEGAL, objective)
    assert same
    assert exact(LEGAL, objective) * (1 - GAP) <= value <= exact(LEGAL, objective) * (1 + 1e-9)


@pytest.mark.parametrize("objective", ["energy", "latency"])
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(m=canonical_mappings())
def test_the_model_price_brackets_the_evaluators(objective: str, m: ModelMapping):
    """On every legal mapping of the space the price is at least E * (1 - gap); where the refills agree
    it is also at most E (the model never overcharges what it models exactly)."""
    assume(check(LAYER, ACCEL, decoded(PROBLEM, m)) == [])
    value, same = priced(m, objective)
    e = exact(m, objective)
    assert value >= e * (1 - GAP)
    if same:
        assert value <= e * (1 + 1e-9)
