"""``solver.decode``: an assignment of the decision variables becomes the ``Mapping`` it encodes.

The case: a Gemm B 2, K 8, C 8 on ``oracle_imc`` (4 x 4): with D1 K4 and D2 C4, B2 K2 C2 are left for
the temporal nest, and each operand has one cut (W: cells | dram, I and O: buf | dram), so 4 segments.
"""

from __future__ import annotations

from math import prod

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imcmap.models.evaluator import check
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer, Operand, is_relevant
from imcmap.solver.problem import build_problem

from .fixation import ModelMapping, Segment, decoded, normalized
from .fixtures import oracle_imc

W, I, O = Operand.W, Operand.I, Operand.O
LAYER = Layer("gemm", "Gemm", {"B": 2, "K": 8, "C": 8})
ACCEL = oracle_imc(d1=4, d2=4, buf_bits=1 << 16)
PROBLEM = build_problem(LAYER, ACCEL, MappingSpec().resolve(LAYER))
SPATIAL = {"D1": {"K": 4}, "D2": {"C": 4}}
ALL = {"B": 2, "K": 2, "C": 2}


@pytest.mark.parametrize(
    ("stationary", "order"),
    [
        (W, ("B", "K", "C")),  # W ignores B: B innermost, then K, C in LOOP_DIMS order
        (I, ("K", "B", "C")),  # I ignores K
        (O, ("C", "B", "K")),  # O ignores C
    ],
)
def test_a_segment_puts_the_stationary_operands_irrelevant_loops_innermost(stationary: Operand, order: tuple[str, ...]):
    """One segment holding B2 K2 C2 decodes to the stationary operand's irrelevant dims first, the rest
    in LOOP_DIMS order (B G K C OY OX FY FX)."""
    m = ModelMapping((Segment(W, {}), Segment(W, {}), Segment(W, {}), Segment(stationary, ALL)), SPATIAL,
                     {W: (0,), I: (0,), O: (0,)})
    mapping = decoded(PROBLEM, m)
    assert mapping.loops == tuple(Loop(d, 2) for d in order)
    assert mapping.cuts == {W: (0, 3), I: (0, 3), O: (0, 3)}


def test_cuts_sit_at_the_top_of_their_segment():
    """Segments {B2} | {K2} | {} | {C2}: segment ends 1, 2, 2, 3; a cut above s0 is at 1, above s1 at 2,
    and above the empty s2 still at 2 (the same boundary); the last cut is always len(loops) = 3."""
    m = ModelMapping((Segment(W, {"B": 2}), Segment(O, {"K": 2}), Segment(W, {}), Segment(W, {"C": 2})), SPATIAL,
                     {W: (0,), I: (1,), O: (2,)})
    mapping = decoded(PROBLEM, m)
    assert mapping.loops == (Loop("B", 2), Loop("K", 2), Loop("C", 2))
    assert mapping.cuts == {W: (1, 3), I: (2, 3), O: (2, 3)}


def test_prime_exponents_multiply_into_one_loop_per_dim_and_segment():
    """K = 8 all temporal (exponent 3 in one segment) is one loop K8, not three K2 loops."""
    m = ModelMapping((Segment(W, {}), Segment(W, {}), Segment(W, {}), Segment(O, {"B": 2, "K": 8, "C": 2})),
                     {"D2": {"C": 4}}, {W: (0,), I: (0,), O: (0,)})
    mapping = decoded(PROBLEM, m)
    assert mapping.loops == (Loop("C", 2), Loop("B", 2), Loop("K", 8))
    assert mapping.spatial == {"D2": {"C": 4}}  # the empty D1 is dropped, not kept as {}


def test_operand_links_come_from_the_rule():
    """The mapping carries the rule's operand links (here the defaults)."""
    m = ModelMapping((Segment(W, {}),) * 3 + (Segment(W, ALL),), SPATIAL, {W: (0,), I: (0,), O: (0,)})
    assert decoded(PROBLEM, m).operand_links == dict(DEFAULT_OPERAND_LINKS)


@st.composite
def assignments(draw) -> ModelMapping:
    group = PROBLEM.groups[0]
    spatial = group.candidates[draw(st.integers(0, len(group.candidates) - 1))]
    factors: list[dict[str, int]] = [{} for _ in range(4)]
    for dim in ("B", "K", "C"):
        rest = LAYER.size(dim) // prod(u.get(dim, 1) for u in spatial.values())
        while rest > 1:
            s = draw(st.integers(0, 3))
            factors[s][dim] = factors[s].get(dim, 1) * 2
            rest //= 2
    segments = tuple(Segment(draw(st.sampled_from(OPERANDS)), f) for f in factors)
    cuts = {op: (draw(st.integers(0, 2)),) for op in OPERANDS}
    return ModelMapping(segments, spatial, cuts)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(assignments())
def test_decoded_mappings_are_consistent(m: ModelMapping):
    """Any assignment that factors the layer decodes to a mapping the evaluator finds consistent
    (no factorization, unrolling or cut violation; capacity is the model's business): the factors of
    each dim multiply back to its size, each segment's loops start with the stationary operand's
    irrelevant dims, and the spatial part is the chosen candidate without its factors of 1."""
    mapping = decoded(PROBLEM, m)
    assert {v.kind for v in check(LAYER, ACCEL, mapping)} <= {"capacity"}
    for dim in LOOP_DIMS:
        assert mapping.temporal_factor(dim) * mapping.spatial_factor(dim) == LAYER.size(dim)
    assert mapping.spatial == normalized(m.spatial)
    start = 0
    for seg in m.segments:
        n = sum(1 for f in seg.factors.values() if f > 1)
        dims = [loop.dim for loop in mapping.loops[start : start + n]]
        assert sorted(dims) == sorted(d for d, f in seg.factors.items() if f > 1)
        irrelevant_first = [not is_relevant(seg.stationary, d) for d in dims]
        assert irrelevant_first == sorted(irrelevant_first, reverse=True)
        start += n
    assert start == len(mapping.loops)
