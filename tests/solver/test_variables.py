"""``solver.variables``: the exponent algebra, the container's shape and names, and its derived
expressions (tiles, instances, refills) against the evaluator on fixed mappings.

Fixed mappings are those of ``test_constraints`` (a Gemm B 8, K 4, C 8 on ``oracle_imc``, 4 segments).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from imcmap.models.constraints import tile_elements
from imcmap.models.evaluator import check, refills
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import OPERANDS, Layer, Operand
from imcmap.solver.problem import build_problem
from imcmap.solver.variables import PE, MappingVars, add_exps, sub_exps

from .fixation import ModelMapping, assignment, build, decoded, fix
from .fixtures import tiny_imc
from .test_constraints import ACCEL, LAYER, LEGAL, PROBLEM, canonical_mappings

W, I, O = Operand.W, Operand.I, Operand.O


def test_add_exps_sums_per_prime():
    """{2: 1, 3: 2} + {2: 4, 5: 1} = {2: 5, 3: 2, 5: 1}: 2*9 times 16*5 = 1440 = 2^5 * 3^2 * 5."""
    assert add_exps({2: 1, 3: 2}, {2: 4, 5: 1}) == {2: 5, 3: 2, 5: 1}
    assert add_exps() == {}


def test_sub_exps_negates_primes_only_on_the_right():
    """{2: 3} - {2: 1, 3: 1} = {2: 2, 3: -1}: 8 / 6 = 2^2 * 3^-1."""
    assert sub_exps({2: 3}, {2: 1, 3: 1}) == {2: 2, 3: -1}


@given(st.dictionaries(st.sampled_from([2, 3, 5, 7]), st.integers(-4, 4)),
       st.dictionaries(st.sampled_from([2, 3, 5, 7]), st.integers(-4, 4)))
def test_sub_undoes_add(a: dict[int, int], b: dict[int, int]):
    """(a + b) - b has a's exponent for every prime (0 where a has none)."""
    back = sub_exps(add_exps(a, b), b)
    assert {p: e for p, e in back.items() if e} == {p: e for p, e in a.items() if e}


def test_segments_are_one_more_than_the_non_top_levels():
    """n_segments = sum over operands of (chain length - 1) + 1: oracle_imc 1 + 1 + 1 + 1 = 4; tiny_imc
    (W cells/dram, I rf_i/sram/dram, O rf_o/sram/dram) 1 + 2 + 2 + 1 = 6."""
    _, v = build(PROBLEM)
    assert v.n_segments == 4
    layer = Layer("gemm", "Gemm", {"B": 2, "K": 8, "C": 8})
    _, v6 = build(build_problem(layer, tiny_imc(), MappingSpec().resolve(layer)))
    assert v6.n_segments == 6


def test_variables_have_stable_greppable_names_in_sorted_order():
    """Temporal exponents are named tf[s<segment>/<dim>^<prime>] and created in (segment, dim) order;
    the one-hots sp[<array dims>#<k>], stationarity stat[s<segment>=<op>]."""
    model = cp_model.CpModel()
    v = MappingVars(model, PROBLEM)
    names = [model.proto.variables[i].name for i in range(len(model.proto.variables))]
    temporal = [n for n in names if n.startswith("tf[")]
    assert temporal[:3] == ["tf[s0/B^2]", "tf[s0/C^2]", "tf[s0/K^2]"]
    assert len(temporal) == 4 * 3  # 4 segments x (B, C, K), each a power of 2
    assert "sp[D1+D2#0]" in names and "stat[s3=O]" in names
    assert v.temporal(0, "OX", 2) == 0 and v.temporal(0, "B", 3) == 0  # absent dim / prime: the constant 0


def test_domains_are_the_dims_exponents():
    """tf[s/B^2] ranges over 0..3 (B = 8 = 2^3), tf[s/K^2] over 0..2 (K = 4)."""
    model = cp_model.CpModel()
    v = MappingVars(model, PROBLEM)
    domain = {model.proto.variables[x.index].name: list(model.proto.variables[x.index].domain)
              for x in (v.temporal(1, "B", 2), v.temporal(1, "K", 2))}
    assert domain == {"tf[s1/B^2]": [0, 3], "tf[s1/K^2]": [0, 2]}


def test_relevance_queries_follow_the_workload():
    """W ignores B; I ignores K; O ignores C (the Gemm's three dims)."""
    _, v = build(PROBLEM)
    assert (v.relevant(W), v.irrelevant(W)) == (["C", "K"], ["B"])
    assert (v.relevant(I), v.irrelevant(I)) == (["B", "C"], ["K"])
    assert (v.relevant(O), v.irrelevant(O)) == (["B", "K"], ["C"])
    assert v.is_top(W, 1) and not v.is_top(W, 0)
    assert v.temporal_below(W, PE, ["B"]) == {}


def _values(m: ModelMapping, query) -> int:
    """Solve the full model with ``m`` fixed and return 2 ** (the queried exponents, summed over primes:
    every prime here is 2)."""
    model, v = build(PROBLEM)
    fix(model, assignment(PROBLEM, v, m))
    exps = query(v)
    target = model.new_int_var(-64, 64, "probe")
    model.add(target == sum(exps.values()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    return 2 ** solver.value(target)


def test_tile_exps_of_the_legal_mapping():
    """LEGAL's buf tiles: I below its cut B2 C2 by C4 on D2 -> B2 C8 = 16 elements; O: B4 by K4 =
    16; W at cells: K and C unrolled over dims cells do not serve, no W-relevant loop below: 1."""
    served = ("D1", "D2")
    assert _values(LEGAL, lambda v: v.tile_exps(I, 0, served, v.relevant(I))) == 16
    assert _values(LEGAL, lambda v: v.tile_exps(O, 0, served, v.relevant(O))) == 16
    assert _values(LEGAL, lambda v: v.tile_exps(W, 0, (), v.relevant(W))) == 1


def test_instances_exps_count_the_unserved_array_dims():
    """Cells serve no array dim: D1 K4 x D2 C4 = 16 instances in use; buf serves both: 1."""
    assert _values(LEGAL, lambda v: v.instances_exps(())) == 16
    assert _values(LEGAL, lambda v: v.instances_exps(("D1", "D2"))) == 1


def test_refill_exps_of_the_legal_mapping():
    """LEGAL's loops (B2, C2, B2, B2), cuts W 1, I 2, O 3. W above its cut: C2 B2 B2, run 1 (C is
    W-relevant) -> 8 refills. I: B2 B2, both relevant -> 4. O: B2 -> 2. At the PE (cut 0): W's run is
    B2 (s0 pure for W) then C2 stops it -> 16 / 2 = 8."""
    assert _values(LEGAL, lambda v: v.refill_exps(W, 0)) == 8
    assert _values(LEGAL, lambda v: v.refill_exps(I, 0)) == 4
    assert _values(LEGAL, lambda v: v.refill_exps(O, 0)) == 2
    assert _values(LEGAL, lambda v: v.refill_exps(W, PE)) == 8


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(canonical_mappings())
def test_tiles_match_the_evaluator_and_refills_never_undercut_it(m: ModelMapping):
    """On any legal canonical mapping, each operand's tile exponents at its lowest level give the
    evaluator's tile exactly; the model's refills (a segment's run counts only when the segment is
    stationary for, or pure in, the operand) are never fewer than the evaluator's on the decoding."""
    mapping = decoded(PROBLEM, m)
    assume(check(LAYER, ACCEL, mapping) == [])
    for op in OPERANDS:
        level = PROBLEM.level(op, 0)
        served = PROBLEM.tile_served(op, level)
        tile = _values(m, lambda v, op=op, served=served: v.tile_exps(op, 0, served, v.relevant(op)))
        assert tile == tile_elements(LAYER, ACCEL, mapping, op, level.name)
        model_refills = _values(m, lambda v, op=op: v.refill_exps(op, 0))
        assert model_refills >= refills(op, mapping.loops, mapping.cuts[op][0])
