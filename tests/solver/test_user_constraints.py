"""User constraints in the solver: each kind changes the mapping as required (judged by the pure checker
and priced by the evaluator), matches brute force over the mappings that meet it, and an
unsatisfiable set is explained by exactly the constraints that clash."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.constraints import Bypass, apply_bypass, constraint_holds
from imcmap.models.evaluator import check, evaluate
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Mapping
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand
from imcmap.solver.solve import LayerSolution, SolverConfig, solve_layer
from imcmap.specs.constraints import parse_constraint

from .brute import legal_mappings
from .fixtures import oracle_imc

LAYER = Layer("conv", "Conv", {"K": 4, "C": 2, "OX": 4, "OY": 2, "FX": 3})
ACCEL = oracle_imc(d1=8, d2=4, buf_bits=256)  # cells (W), buf (I, O), dram; no input register: diagonal is legal
CONFIG = SolverConfig(time_limit_s=10)


def _solve(*texts: str, layer: Layer = LAYER, accel=ACCEL) -> LayerSolution:
    constraints = tuple(parse_constraint(t) for t in texts)
    return solve_layer(layer, accel, MappingSpec(diagonal_default=True).resolve(layer), "energy", CONFIG, constraints)


@pytest.fixture(scope="module")
def baseline() -> LayerSolution:
    solution = _solve()
    assert solution.status == "OPTIMAL"
    return solution


# One per kind. The unconstrained optimum breaks each of them (the first assert of the test says so).
SATISFIABLE = [
    "spatial.D1.K >= 4",
    "forbid spatial.D2.FX",
    "diagonal forbidden",
    "utilization.spatial >= 0.75",
    "stationary I at buf",
    "order dram: OY, K",
    "tile.I.buf <= 4",
    "bypass I at buf",
]


@pytest.mark.parametrize("text", SATISFIABLE)
def test_satisfiable_constraint_changes_the_mapping_as_required(text: str, baseline: LayerSolution):
    """The baseline breaks the constraint; the constrained optimum meets it, is legal, and is priced as
    the evaluator prices it (on the hierarchy as solved: a bypass removes the level)."""
    parsed = parse_constraint(text).parsed
    assert parsed is not None and baseline.mapping is not None
    assert not constraint_holds(parsed, LAYER, ACCEL, baseline.mapping)
    solution = _solve(text)
    assert solution.status == "OPTIMAL", solution.message
    assert solution.mapping is not None and solution.report is not None
    accel = solution.accelerator or ACCEL
    assert constraint_holds(parsed, LAYER, accel, solution.mapping)
    assert check(LAYER, accel, solution.mapping) == []
    assert evaluate(LAYER, accel, solution.mapping).energy_pj == pytest.approx(solution.report.energy_pj, rel=1e-12)
    if not isinstance(parsed.body, Bypass):  # same hardware, smaller space: never cheaper
        assert solution.exact_cost >= baseline.exact_cost * (1 - 1e-12)
    assert solution.mapping != baseline.mapping


def test_bypass_removes_the_level_from_the_chain():
    """`bypass I at buf` solves on a hierarchy where I goes from DRAM straight to the array."""
    solution = _solve("bypass I at buf")
    assert solution.accelerator is not None and solution.mapping is not None
    assert [m.name for m in solution.accelerator.chain("I1")] == ["dram"]
    assert len(solution.mapping.cuts[Operand.I]) == 1


# (constraints, the indices of those that clash): innocent bystanders must not be named.
UNSATISFIABLE = [
    (["spatial.D1.K >= 4", "spatial.D1.K <= 2", "forbid spatial.D2.C"], [0, 1]),
    (["diagonal required", "forbid spatial.D1.OX", "forbid spatial.D1.OY", "spatial.D1.K >= 2"], [0, 1, 2]),
    (["utilization.spatial >= 0.75", "forbid spatial.D1.OX", "forbid spatial.D2.C"], [0, 1]),
    (["stationary W at cells", "spatial.D1.K >= 2"], [0]),
    (["order buf: OX, C", "order buf: C, OX", "stationary I at buf", "forbid spatial.C", "forbid spatial.OX",
      "spatial.D1.K <= 2"], [0, 1, 2, 3, 4]),
    (["tile.I.buf <= 4", "bypass I at buf", "forbid spatial.D2.C"], [0, 1]),
]


@pytest.mark.parametrize(("texts", "clash"), UNSATISFIABLE, ids=[t[0][0] for t in UNSATISFIABLE])
def test_unsatisfiable_set_is_explained_by_exactly_the_clashing_constraints(texts: list[str], clash: list[int]):
    """INFEASIBLE, with the smallest clashing subset quoted as written (and nothing else)."""
    solution = _solve(*texts)
    assert solution.status == "INFEASIBLE"
    assert [c.text for c in solution.conflict] == [texts[i] for i in clash]
    quoted = ", ".join(f"`{texts[i]}` (--constraint)" for i in clash)
    lead = "this constraint cannot be met" if len(clash) == 1 else "these constraints clash"
    assert solution.message.startswith(f"{lead}: {quoted}")


def test_layer_that_cannot_map_at_all_names_no_constraint():
    """Without any legal mapping, the explanation blames the hardware, not the user's constraints."""
    wide = replace(LAYER, precision=replace(LAYER.precision, w_bits=16))
    solution = _solve("spatial.D1.K >= 2", layer=wide)
    assert solution.status == "INFEASIBLE" and solution.conflict == ()
    assert "cannot be mapped on this hardware" in solution.message


def test_scope_selects_the_layers_a_constraint_applies_to():
    """An op-type or glob scope that does not match the layer leaves it unconstrained."""
    solution = _solve("Gemm: spatial.D1.K >= 4", "[fc*]: diagonal forbidden")
    assert solution.constraints == ()
    applied = _solve("Conv: spatial.D1.K >= 4", "[con?]: diagonal forbidden")
    assert [c.text for c in applied.constraints] == ["Conv: spatial.D1.K >= 4", "[con?]: diagonal forbidden"]


# --- exactness against brute force ---------------------------------------------------------------

SMALL = Layer("small", "Conv", {"K": 2, "C": 2, "OX": 4, "FX": 3})
SMALL_ACCEL = oracle_imc(d1=4, d2=4, buf_bits=128)


def _legal_mappings(layer: Layer, accel) -> list[tuple[Mapping, float]]:
    """Every legal mapping of the brute-force oracle's space with its exact energy."""
    return [(mapping, evaluate(layer, accel, mapping).energy_pj) for mapping in legal_mappings(layer, accel)]


@pytest.fixture(scope="module")
def small_space() -> list[tuple[Mapping, float]]:
    return _legal_mappings(SMALL, SMALL_ACCEL)


EXACT = [
    "spatial.D1.K <= 1",
    "spatial.FX == 1",
    "diagonal required",
    "utilization.spatial >= 0.5",
    "stationary I at buf",
    "stationary O at buf",
    "tile.I.buf <= 6",
    "tile.O.buf >= 4",
]


@pytest.mark.parametrize("text", EXACT)
def test_constrained_optimum_equals_brute_force(text: str, small_space: list[tuple[Mapping, float]]):
    """The solver's cost equals the minimum over every legal mapping the checker accepts (the segment
    order loses no optimum of these kinds)."""
    parsed = parse_constraint(text).parsed
    assert parsed is not None
    feasible = [cost for mapping, cost in small_space if constraint_holds(parsed, SMALL, SMALL_ACCEL, mapping)]
    solution = _solve(text, layer=SMALL, accel=SMALL_ACCEL)
    if not feasible:
        assert solution.status == "INFEASIBLE"
        return
    assert solution.status == "OPTIMAL", solution.message
    assert solution.exact_cost == pytest.approx(min(feasible), rel=1e-9)


def test_bypass_optimum_equals_brute_force_on_the_bypassed_hierarchy():
    """`bypass O at buf`: the optimum equals brute force over the hierarchy without O in buf."""
    bypassed = apply_bypass(SMALL_ACCEL, DEFAULT_OPERAND_LINKS, Bypass(Operand.O, "buf"))
    best = min(cost for _, cost in _legal_mappings(SMALL, bypassed))
    solution = _solve("bypass O at buf", layer=SMALL, accel=SMALL_ACCEL)
    assert solution.exact_cost == pytest.approx(best, rel=1e-9)


def test_order_fragment_is_met_and_never_beats_brute_force(small_space: list[tuple[Mapping, float]]):
    """A loop-order fragment is met exactly; over all loop orders brute force may only do as well or better."""
    parsed = parse_constraint("order dram: C, OX").parsed
    assert parsed is not None
    best = min(cost for mapping, cost in small_space if constraint_holds(parsed, SMALL, SMALL_ACCEL, mapping))
    solution = _solve("order dram: C, OX", layer=SMALL, accel=SMALL_ACCEL)
    assert solution.mapping is not None
    assert constraint_holds(parsed, SMALL, SMALL_ACCEL, solution.mapping)
    assert solution.exact_cost >= best * (1 - 1e-9)
