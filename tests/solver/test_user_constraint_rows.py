"""Fixation tests for the user-constraint families (``solver.user_constraints``): a known mapping fixed
onto the variables, one constraint compiled behind its literal. With the literal fixed true the model
accepts the mapping exactly when ``models.constraints.constraint_holds`` (the judge) says the
mapping meets the constraint; with the literal free it always accepts it (the rows bind only
through the literal, which is what the explanation pass relies on).

IMC case: a Gemm B 8, K 4, C 8 on ``oracle_imc`` with a buf large enough (4096 b >= I 64 el * 8 b +
O 32 el * 16 b) that capacity adds no rows, mapped as

    spatial D1 K4, D2 C4; s0 {B2} stat W | s1 {B2} stat O | s2 {B2} stat I | s3 {C2} stat W
    W cut above s0, I above s1, O above s2

which decodes to loops (B2, B2, B2, C2), cuts W (1, 4), I (2, 4), O (3, 4). Digital case (two
spatial groups, so the spatial and utilization families go through their element tables): a Gemm
B 2, K 4, C 2 on ``oracle_digital`` (2 x 2), D1 K2, D2 C2, every cut above s0 and B2 K2 in the top
segment.
"""

from __future__ import annotations

import pytest

from imcmap.models.constraints import constraint_holds
from imcmap.models.evaluator import check
from imcmap.models.mapping import Loop
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand
from imcmap.solver.problem import build_problem
from imcmap.solver.user_constraints import add_user_constraints
from imcmap.specs.constraints import parse_constraint

from .fixation import ModelMapping, Segment, decoded, status_with
from .fixtures import oracle_digital, oracle_imc

W, I, O = Operand.W, Operand.I, Operand.O
EMPTY = Segment(W, {})

IMC_LAYER = Layer("gemm", "Gemm", {"B": 8, "K": 4, "C": 8})
IMC_ACCEL = oracle_imc(d1=4, d2=4, buf_bits=4096)
IMC_MAPPING = ModelMapping(
    segments=(Segment(W, {"B": 2}), Segment(O, {"B": 2}), Segment(I, {"B": 2}), Segment(W, {"C": 2})),
    spatial={"D1": {"K": 4}, "D2": {"C": 4}},
    cut_segment={W: (0,), I: (1,), O: (2,)},
)
DIGITAL_LAYER = Layer("gemm", "Gemm", {"B": 2, "K": 4, "C": 2})
DIGITAL_ACCEL = oracle_digital(d1=2, d2=2)
DIGITAL_MAPPING = ModelMapping(
    segments=(EMPTY,) * 5 + (Segment(W, {"B": 2, "K": 2}),),
    spatial={"D1": {"K": 2}, "D2": {"C": 2}},
    cut_segment={W: (0, 0), I: (0,), O: (0, 0)},
)
CASES = {
    "imc": (IMC_LAYER, IMC_ACCEL, IMC_MAPPING),
    "digital": (DIGITAL_LAYER, DIGITAL_ACCEL, DIGITAL_MAPPING),
}


def problem_of(case: str):
    layer, accel, _ = CASES[case]
    return build_problem(layer, accel, MappingSpec().resolve(layer))


def test_the_cases_are_legal_and_decode_as_worked_out():
    """Both mappings are feasible with no user constraint, legal to the evaluator, and the IMC one
    decodes to the nest of the module docstring."""
    for case, (layer, accel, m) in CASES.items():
        problem = problem_of(case)
        assert status_with(problem, m) == "OPTIMAL", case
        assert check(layer, accel, decoded(problem, m)) == [], case
    imc = decoded(problem_of("imc"), IMC_MAPPING)
    assert imc.loops == (Loop("B", 2), Loop("B", 2), Loop("B", 2), Loop("C", 2))
    assert imc.cuts == {W: (1, 4), I: (2, 4), O: (3, 4)}
    assert len(problem_of("digital").groups) == 2


# (case, constraint, holds, why): each family once met and once broken by the fixed mapping
ROWS = [
    # spatial.ADIM.DIM op n: u => OR of the candidates whose ADIM unrolls DIM as asked
    ("imc", "spatial.D1.K >= 4", True, "D1 unrolls K4"),
    ("imc", "spatial.D1.K <= 2", False, "K4 > 2 on D1"),
    ("imc", "forbid spatial.D2.C", False, "C4 on D2, forbid asks C == 1"),
    # spatial.DIM over the one IMC group: the product over D1 and D2 per candidate
    ("imc", "spatial.C == 4", True, "C: 1 on D1 x 4 on D2"),
    ("imc", "spatial.C > 4", False, "C is 4 in all"),
    # spatial.DIM over two digital groups: an element table over DIM's unrolling exponents
    ("digital", "spatial.K == 2", True, "K2 on D1, 1 on D2"),
    ("digital", "spatial.K >= 4", False, "K is 2 in all"),
    ("digital", "spatial.D2.C == 2", True, "C2 on D2"),
    # diagonal: OX or OY on D1 (required / forbidden)
    ("imc", "diagonal forbidden", True, "D1 unrolls K only"),
    ("imc", "diagonal required", False, "no OX/OY on D1"),
    # utilization.spatial op x: used units / all units, per candidate or by table
    ("imc", "utilization.spatial >= 1", True, "4 * 4 / 16 = 1"),
    ("imc", "utilization.spatial < 1", False, "4 * 4 / 16 = 1"),
    ("digital", "utilization.spatial == 1", True, "2 * 2 / 4 = 1"),
    ("digital", "utilization.spatial <= 0.5", False, "2 * 2 / 4 = 1 > 0.5"),
    # stationary X at L: no X-relevant loop above X's cut at L (refills = 1)
    ("imc", "stationary O at buf", True, "above O's cut only C2, which O ignores"),
    ("imc", "stationary I at buf", False, "B2 (I-relevant) above I's cut"),
    ("imc", "stationary W at cells", False, "C2 (W-relevant) above W's cut: refills 16 / 4 = 4"),
    ("imc", "stationary W at dram", True, "the top level is loaded once"),
    ("digital", "stationary W at rf", False, "K2 above every cut"),
    ("digital", "stationary I at buf", False, "B2 above every cut"),
    # order L: a, b: every a loop inside every b loop among each operand's loops at L
    ("imc", "order dram: B, C", True, "at dram W keeps B2 B2 C2, I B2 C2, O C2: B inside C"),
    ("imc", "order dram: C, B", False, "I keeps B2 (s2) inside C2 (s3) at dram"),
    ("imc", "order buf: C, B", True, "no C below I's or O's buf cut: nothing to order"),
    ("digital", "order dram: K, B", False, "the W-stationary top segment puts B (W-irrelevant) inside K"),
    ("digital", "order dram: B, K", True, "loops B2 K2 at dram: B inside K"),
    # tile.X.L op n: X's exact tile at L, in elements per instance
    ("imc", "tile.I.buf == 16", True, "I at buf: B(2*2) x C4 = 16"),
    ("imc", "tile.I.buf < 16", False, "16 is not < 16"),
    ("imc", "tile.O.buf <= 32", True, "O at buf: B8 x K4 = 32"),
    ("imc", "tile.O.buf > 32", False, "32 is not > 32"),
    ("imc", "tile.W.cells == 1", True, "one weight per cell"),
    ("imc", "tile.W.buf <= 1000", False, "buf holds no W: unsatisfiable at this level"),
    ("digital", "tile.W.buf == 4", True, "W at buf: K2 x C2 spatial = 4"),
    ("digital", "tile.W.rf >= 2", False, "W at rf: 1 per PE"),
]


def _with(text: str, fixed: bool):
    def extra(model, v) -> None:
        problem = v.problem
        ((lit, _),) = add_user_constraints(model, v, problem, [parse_constraint(text)])
        if fixed:
            model.add(lit == 1)

    return extra


@pytest.mark.parametrize(("case", "text", "holds", "why"), ROWS, ids=[f"{r[0]}:{r[1]}" for r in ROWS])
def test_constraint_rows_accept_the_mapping_exactly_when_the_judge_does(case: str, text: str, holds: bool, why: str):
    """u = 1 and the fixed mapping: feasible iff ``constraint_holds`` (hand-checked in ``why``); u free:
    feasible whatever the constraint says."""
    layer, accel, m = CASES[case]
    problem = problem_of(case)
    assert constraint_holds(parse_constraint(text).parsed, layer, accel, decoded(problem, m)) == holds, why
    assert status_with(problem, m, extra=_with(text, fixed=True)) == ("OPTIMAL" if holds else "INFEASIBLE"), why
    assert status_with(problem, m, extra=_with(text, fixed=False)) == "OPTIMAL", why


def test_each_family_is_both_met_and_broken_in_the_table():
    """The table is a fixation test only if every family appears on both sides."""
    families = {}
    for _, text, holds, _ in ROWS:
        body = type(parse_constraint(text).parsed.body).__name__
        families.setdefault(body, set()).add(holds)
    assert families == {name: {True, False} for name in
                        ("SpatialBound", "DiagonalRule", "UtilizationBound", "Stationary", "LoopOrder", "TileBound")}


def test_diagonal_forbidden_on_a_digital_array_agrees_with_the_judge():
    """The judge: a digital array is never diagonal, so 'diagonal forbidden' holds for every mapping;
    the rows should then accept the digital case's mapping with u = 1."""
    layer, accel, m = CASES["digital"]
    problem = problem_of("digital")
    assert constraint_holds(parse_constraint("diagonal forbidden").parsed, layer, accel, decoded(problem, m))
    assert status_with(problem, m, extra=_with("diagonal forbidden", fixed=True)) == "OPTIMAL"
    assert not constraint_holds(parse_constraint("diagonal required").parsed, layer, accel, decoded(problem, m))
    assert status_with(problem, m, extra=_with("diagonal required", fixed=True)) == "INFEASIBLE"
