"""Fixation tests, one per constraint family of the layer model (``solver.constraints``): a known legal
mapping fixed onto the variables is accepted; a perturbation that only the family forbids is rejected
with the family and accepted without it (so the rejection is the family's doing, and breaking the
family makes the test fail); where the family mirrors an ``evaluator.check`` kind, the decoded
perturbation is rejected by the evaluator for that kind.

The case: a Gemm with B 8, K 4, C 8 on ``oracle_imc`` (cells hold W, one weight per cell; buf holds
I and O; DRAM on top). Chains W: cells, dram; I: buf, dram; O: buf, dram: three cuts, so the model
has 3 + 1 = 4 segments. The legal mapping LEGAL, innermost first:

    spatial D1 K4, D2 C4; temporal s0 {B2} stat W | s1 {C2} stat O | s2 {B2} stat I | s3 {B2} stat W
    W cut above s0, I cut above s1, O cut above s2

decodes to loops (B2, C2, B2, B2), cuts W (1, 4), I (2, 4), O (3, 4). buf holds the I tile
B2*C(2*4) = 16 elements * 8 b = 128 b and the O tile B(2*2)*K4 = 16 elements, partial sums (C2 is
above the PE) at 16 b = 256 b: 384 b, so buf is given exactly 384 b. cells hold 1 weight (8 b): only
B, which W ignores, is below W's cut.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imcmap.models.evaluator import check
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand
from imcmap.solver.problem import build_problem

from .fixation import ModelMapping, Segment, build, candidate_index, decoded, status_with
from .fixtures import oracle_imc, tiny_imc

W, I, O = Operand.W, Operand.I, Operand.O
LAYER = Layer("gemm", "Gemm", {"B": 8, "K": 4, "C": 8})
ACCEL = oracle_imc(d1=4, d2=4, buf_bits=384)
PROBLEM = build_problem(LAYER, ACCEL, MappingSpec().resolve(LAYER))
LEGAL = ModelMapping(
    segments=(Segment(W, {"B": 2}), Segment(O, {"C": 2}), Segment(I, {"B": 2}), Segment(W, {"B": 2})),
    spatial={"D1": {"K": 4}, "D2": {"C": 4}},
    cut_segment={W: (0,), I: (1,), O: (2,)},
)
FEASIBLE, INFEASIBLE = "OPTIMAL", "INFEASIBLE"


def kinds(mapping: Mapping) -> set[str]:
    return {v.kind for v in check(LAYER, ACCEL, mapping)}


def test_the_case_has_four_segments_and_one_cut_per_operand():
    """The case is the one the module docstring works out: 2-level chains, 1 + 3 segments."""
    _, v = build(PROBLEM)
    assert v.n_segments == 4
    assert v.chains == {W: 2, I: 2, O: 2}


def test_legal_mapping_is_accepted_and_decodes_to_the_worked_nest():
    """LEGAL is feasible with every family, decodes to the loops and cuts worked out above, and the
    evaluator accepts it (so the fixation below starts from a truly legal mapping)."""
    assert status_with(PROBLEM, LEGAL) == FEASIBLE
    mapping = decoded(PROBLEM, LEGAL)
    assert mapping.loops == (Loop("B", 2), Loop("C", 2), Loop("B", 2), Loop("B", 2))
    assert mapping.cuts == {W: (1, 4), I: (2, 4), O: (3, 4)}
    assert mapping.spatial == {"D1": {"K": 4}, "D2": {"C": 4}}
    assert check(LAYER, ACCEL, mapping) == []


def test_factorization():
    """Factorization: for each dim d and prime p, sum over segments of temporal exps + spatial exps =
    exponent of p in d. B 2 -> B 4 in the top segment gives B temporal 2*2*4 = 16 != 8 (exponent
    1+1+2 = 4, not 3); no other family looks at the total, and the evaluator's check says
    ``factorization``."""
    broken = replace(LEGAL, segments=(*LEGAL.segments[:3], Segment(W, {"B": 4})))
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["factorization"]) == FEASIBLE
    assert "factorization" in kinds(decoded(PROBLEM, broken))


def test_factorization_rejects_a_factor_lost():
    """The other side of the equality: B2 dropped from the top segment leaves B = 2*2 = 4 != 8 (the
    empty top segment is W-stationary, so the canonical segments still hold)."""
    broken = replace(LEGAL, segments=(*LEGAL.segments[:3], Segment(W, {})))
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["factorization"]) == FEASIBLE
    assert "factorization" in kinds(decoded(PROBLEM, broken))


def test_spatial_choice_two_candidates():
    """Spatial choice: exactly one candidate per group, sum_k choice[g, k] = 1. Choosing both
    {D1 K4} and {D2 C4} adds up to the same exponents as the one candidate {D1 K4, D2 C4}, so
    factorization and capacity still hold; only the one-hot forbids it."""
    both = frozenset({candidate_index(PROBLEM, 0, {"D1": {"K": 4}}), candidate_index(PROBLEM, 0, {"D2": {"C": 4}})})
    broken = replace(LEGAL, chosen=(both,))
    assert len(PROBLEM.groups) == 1  # the IMC D1/D2 group
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["spatial_choice"]) == FEASIBLE


def test_spatial_choice_none():
    """Spatial choice: sum_k choice[g, k] = 0 != 1 when no candidate is chosen. With the spatial
    factors moved into the top segment (K4 and C4 more there) factorization still holds and the tiles
    below the cuts lose their unrolled part, so only the one-hot forbids it."""
    top = Segment(W, {"B": 2, "K": 4, "C": 4})
    broken = replace(LEGAL, segments=(*LEGAL.segments[:3], top), chosen=(frozenset(),))
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["spatial_choice"]) == FEASIBLE


def test_cut_order_monotone():
    """Cut order: below[X, i, s+1] => below[X, i, s] (a cut covers a prefix of the segments).
    W's literals 1, 0, 1, 0 put s2 below W's cut but not s1: no cut position says that. s2 holds only
    B, which W ignores, so W's cells tile stays 1 weight; boundaries 1 and 2 keep I's and O's cuts, so
    the canonical segments hold: only the order forbids it."""
    broken = replace(LEGAL, below={(W, 0, 2): 1})
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["cut_order"]) == FEASIBLE


def test_cut_order_top_segment_above_every_cut():
    """Cut order: below[X, i, S-1] = 0 (the top segment lies above every cut). W's literals all 1 (the
    whole nest below W's cells cut) break it. That also overfills the cells, so capacity is left out
    on both sides; I's and O's cuts keep the canonical segments."""
    broken = replace(LEGAL, below={(W, 0, s): 1 for s in range(4)})
    assert status_with(PROBLEM, broken, without=["capacity"]) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["capacity", "cut_order"]) == FEASIBLE


THREE_LEVEL_LAYER = Layer("gemm", "Gemm", {"B": 2, "K": 8, "C": 8})
THREE_LEVEL_ACCEL = tiny_imc(sram_bits=1 << 20)  # I: rf_i, sram, dram; O: rf_o, sram, dram; W: cells, dram
EMPTY = Segment(W, {})
# K and C fully unrolled; B2 in s1, the one middle segment with a cut (I's and O's sram cuts) on top
THREE_LEVEL_LEGAL = ModelMapping(
    segments=(EMPTY, Segment(W, {"B": 2}), EMPTY, EMPTY, EMPTY, EMPTY),
    spatial={"D1": {"K": 8}, "D2": {"C": 8}},
    cut_segment={W: (0,), I: (0, 1), O: (0, 1)},
)


def three_level_problem():
    return build_problem(THREE_LEVEL_LAYER, THREE_LEVEL_ACCEL, MappingSpec().resolve(THREE_LEVEL_LAYER))


def test_cut_order_nests_the_levels_of_one_operand():
    """Cut order on 3-level chains: below[X, i, s] => below[X, i+1, s] (a higher level's cut is at or
    above a lower one's). O's rf_o cut above s1 and its sram cut above s0 breaks it; rf_o (16 b, shared
    along D2) still fits O's tile B2 = 2 final outputs * 8 b, and I's sram cut keeps boundary 1 used."""
    problem = three_level_problem()
    _, v = build(problem)
    assert v.chains == {W: 2, I: 3, O: 3} and v.n_segments == 6
    assert status_with(problem, THREE_LEVEL_LEGAL) == FEASIBLE
    assert check(THREE_LEVEL_LAYER, THREE_LEVEL_ACCEL, decoded(problem, THREE_LEVEL_LEGAL)) == []
    broken = replace(THREE_LEVEL_LEGAL, cut_segment={W: (0,), I: (0, 1), O: (1, 0)})
    assert status_with(problem, broken) == INFEASIBLE
    assert status_with(problem, broken, without=["cut_order"]) == FEASIBLE


def test_cut_order_empty_segment_is_w_stationary():
    """Cut order's canonical segments: an empty segment's stationary operand is W (empty[s] =>
    stat[s, W]): the 3-level case with its empty bottom segment made O-stationary is rejected."""
    problem = three_level_problem()
    broken = replace(THREE_LEVEL_LEGAL, segments=(Segment(O, {}), *THREE_LEVEL_LEGAL.segments[1:]))
    assert status_with(problem, broken) == INFEASIBLE
    assert status_with(problem, broken, without=["cut_order"]) == FEASIBLE


def test_cut_order_used_boundaries_come_first():
    """Cut order's canonical segments: used[s+1] => used[s] for the middle boundaries. The 3-level case
    with B2 moved from s1 to s2 and the sram cuts moved up to match (s1 empty, boundary 1 unused,
    boundary 2 used) is the same mapping (the evaluator sees the same nest), and the model keeps only
    the first."""
    problem = three_level_problem()
    later = replace(THREE_LEVEL_LEGAL, segments=(EMPTY, EMPTY, Segment(W, {"B": 2}), EMPTY, EMPTY, EMPTY),
                    cut_segment={W: (0,), I: (0, 2), O: (0, 2)})
    assert decoded(problem, later) == decoded(problem, THREE_LEVEL_LEGAL)
    assert status_with(problem, later) == INFEASIBLE
    assert status_with(problem, later, without=["cut_order"]) == FEASIBLE


def test_cut_order_canonical_segments():
    """Cut order's canonical segments: a middle segment is non-empty exactly when a cut sits on its top
    boundary. O's cut lowered from s2 to s1 leaves s2 = {B2} with no cut above it: a twin of the
    mapping with s2 merged into s3, which the evaluator accepts (it is legal) but the model removes."""
    twin = replace(LEGAL, cut_segment={W: (0,), I: (1,), O: (1,)})
    assert check(LAYER, ACCEL, decoded(PROBLEM, twin)) == []
    assert status_with(PROBLEM, twin) == INFEASIBLE
    assert status_with(PROBLEM, twin, without=["cut_order"]) == FEASIBLE


def test_canonical_cut_rule_moves_cuts_past_pure_segments():
    """The optional canonical cut rule: at[X, i, s] and not empty[s+1] => not pure[X, s+1] (a non-empty
    middle segment right above X's cut holds an X-relevant loop). In LEGAL, s1 = {C2} sits right above
    W's cut and C is W-relevant: accepted. With s1 = {B2} and s2 = {C2} (B is W-irrelevant, so W's
    cut could rise past s1 at no cost) the rule forbids it; without the rule the model accepts it."""
    assert status_with(PROBLEM, LEGAL, canonical_cuts=True) == FEASIBLE
    swapped = replace(
        LEGAL, segments=(Segment(W, {"B": 2}), Segment(O, {"B": 2}), Segment(I, {"C": 2}), Segment(W, {"B": 2}))
    )
    assert status_with(PROBLEM, swapped, canonical_cuts=False) == FEASIBLE
    assert status_with(PROBLEM, swapped, canonical_cuts=True) == INFEASIBLE


def test_stationarity_two_operands():
    """Stationarity: one operand per segment, sum_X stat[s, X] = 1. s1 both O- and W-stationary
    breaks it, and nothing else reads the choice."""
    both = (frozenset({W}), frozenset({O, W}), frozenset({I}), frozenset({W}))
    broken = replace(LEGAL, stationary=both)
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["stationarity"]) == FEASIBLE


def test_stationarity_no_operand():
    """Stationarity: sum_X stat[s, X] = 1 fails as well with no operand stationary in s1."""
    none = (frozenset({W}), frozenset(), frozenset({I}), frozenset({W}))
    broken = replace(LEGAL, stationary=none)
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["stationarity"]) == FEASIBLE


def test_capacity():
    """Capacity: sum over the operands held of tile bits <= capacity. B2 moved from s3 down into s2
    grows O's buf tile to B(2*4)*K4 = 32 partial sums * 16 b = 512 b; with I's 128 b, 640 > 384 b.
    The evaluator's check says ``capacity`` at buf."""
    broken = replace(LEGAL, segments=(*LEGAL.segments[:2], Segment(I, {"B": 4}), Segment(W, {})))
    mapping = decoded(PROBLEM, broken)
    assert [v.where for v in check(LAYER, ACCEL, mapping) if v.kind == "capacity"] == ["buf"]
    # the top segment left empty is W-stationary, so the canonical segments still hold
    assert status_with(PROBLEM, broken) == INFEASIBLE
    assert status_with(PROBLEM, broken, without=["capacity"]) == FEASIBLE


def test_capacity_takes_final_outputs_at_o_bits():
    """Capacity sizes outputs at o_bits when no output-irrelevant loop runs above the level below
    (here the PE): on a Gemm with C 4, all of C on D2, the temporal nest is B2 | B2 | B2 with W, I, O
    cut above s0, s1, s2. buf holds I B(2*2)*C4 = 16 el * 8 b = 128 b and O B8*K4 = 32 final outputs
    * 8 b = 256 b: 384 b. Accepted at 384 b, rejected at 383 b (at psum_bits it would need 640 b),
    as the evaluator's check says."""
    layer = Layer("gemm", "Gemm", {"B": 8, "K": 4, "C": 4})
    final = ModelMapping(
        segments=(Segment(W, {"B": 2}), Segment(W, {"B": 2}), Segment(W, {"B": 2}), EMPTY),
        spatial={"D1": {"K": 4}, "D2": {"C": 4}},
        cut_segment={W: (0,), I: (1,), O: (2,)},
    )
    for bits, expected in ((384, FEASIBLE), (383, INFEASIBLE)):
        accel = oracle_imc(d1=4, d2=4, buf_bits=bits)
        problem = build_problem(layer, accel, MappingSpec().resolve(layer))
        assert status_with(problem, final) == expected, bits
        assert (check(layer, accel, decoded(problem, final)) == []) == (expected == FEASIBLE)


@pytest.mark.parametrize("family", ["factorization", "spatial_choice", "cut_order", "stationarity", "capacity"])
def test_legal_mapping_stays_feasible_without_any_one_family(family: str):
    """Dropping a family only removes rows: the legal mapping stays feasible (a sanity check on the
    'without' models the perturbation tests lean on)."""
    assert status_with(PROBLEM, LEGAL, without=[family]) == FEASIBLE


@st.composite
def canonical_mappings(draw) -> ModelMapping:
    """A mapping in the model's space with canonical segments: the middle boundaries used are 1..k,
    each by at least one cut, the middle segments 1..k non-empty and the others empty (W-stationary);
    the spatial candidate and the split of the remaining prime factors are drawn."""
    S = 4
    k = draw(st.integers(0, S - 2))
    cuts = {op: (draw(st.integers(0, k)),) for op in (W, I, O)}
    assume(all(any(c[0] == s for c in cuts.values()) for s in range(1, k + 1)))
    group = PROBLEM.groups[0]
    spatial = group.candidates[draw(st.integers(0, len(group.candidates) - 1))]
    allowed = [0, *range(1, k + 1), S - 1]
    factors: list[dict[str, int]] = [{} for _ in range(S)]
    for dim in ("B", "K", "C"):
        rest = LAYER.size(dim) // prod(u.get(dim, 1) for u in spatial.values())
        while rest > 1:  # every prime here is 2
            s = draw(st.sampled_from(allowed))
            factors[s][dim] = factors[s].get(dim, 1) * 2
            rest //= 2
    assume(all(factors[s] for s in range(1, k + 1)))
    segments = tuple(
        Segment(draw(st.sampled_from([W, I, O])) if factors[s] else W, factors[s]) for s in range(S)
    )
    return ModelMapping(segments, spatial, cuts)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(canonical_mappings())
def test_the_model_accepts_exactly_the_mappings_the_evaluator_accepts(m: ModelMapping):
    """Over the model's canonical space (every family, canonical cut rule off), a fixed mapping is
    feasible exactly when the evaluator's check of its decoding is empty: here that is capacity
    (buf 384 b, cells 8 b), since the drawn mappings factor, unroll and cut consistently."""
    legal = check(LAYER, ACCEL, decoded(PROBLEM, m)) == []
    assert status_with(PROBLEM, m) == (FEASIBLE if legal else INFEASIBLE)
