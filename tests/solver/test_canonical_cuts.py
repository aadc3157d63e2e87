"""The canonical cut rule (``constraints._break_segment_symmetry`` with ``cuts_past_pure``) loses no
optimum: with and without it CP-SAT proves the same optimal model objective, on hierarchies deeper than
the brute-force oracles enumerate (up to three cuts per operand), conv and GEMM layers, both objectives."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imcmap.solver.constraints as C
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer
from imcmap.solver.problem import build_problem
from imcmap.solver.solve import build_model

from .fixtures import (
    oracle_digital,
    oracle_imc,
    proven_optimum,
    tiny_digital,
    tiny_imc,
    with_zigzag_rules,
)

HARDWARE = {
    "tiny_imc": lambda: tiny_imc(d1=4, d2=4, sram_bits=512),
    "tiny_digital": lambda: tiny_digital(d1=2, d2=2, sram_bits=1024),
    "oracle_imc": lambda: oracle_imc(d1=2, d2=4, buf_bits=128),
    "oracle_digital": lambda: oracle_digital(d1=2, d2=2, rf_bits=32, buf_bits=256),
    "tiny_imc_zigzag": lambda: with_zigzag_rules(tiny_imc(d1=4, d2=4, sram_bits=512)),
}


def _optimum(layer: Layer, accel, objective: str, canonical: bool) -> tuple[str, float | None]:
    problem = build_problem(layer, accel, MappingSpec(diagonal_default=True).resolve(layer))
    return proven_optimum(build_model(problem, objective, canonical_cuts=canonical)[0])


conv = st.fixed_dictionaries({
    "K": st.sampled_from([1, 2, 4, 6]), "C": st.sampled_from([1, 2, 3, 4]), "OX": st.sampled_from([1, 2, 4, 6]),
    "OY": st.sampled_from([1, 2, 3]), "FX": st.sampled_from([1, 2, 3]), "FY": st.sampled_from([1, 2]),
})
gemm = st.fixed_dictionaries(
    {"B": st.sampled_from([1, 2, 4]), "K": st.sampled_from([2, 4, 6, 8]), "C": st.sampled_from([2, 4, 6])}
)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.one_of(conv, gemm),
    hardware=st.sampled_from(sorted(HARDWARE)),
    objective=st.sampled_from(["energy", "latency"]),
)
def test_the_rule_keeps_the_model_optimum(dims, hardware, objective):
    """Digital arrays and ZigZag's latency too: the rule is valid there, only not used (measured slower)."""
    layer = Layer("g", "Gemm", dims) if "B" in dims else Layer("c", "Conv", dims)
    accel = HARDWARE[hardware]()
    free = _optimum(layer, accel, objective, False)
    canonical = _optimum(layer, accel, objective, True)
    if free[0] == "INFEASIBLE":
        assert canonical[0] == "INFEASIBLE"
        return
    assert free[0] == canonical[0] == "OPTIMAL"
    assert canonical[1] == free[1]


def test_the_rule_is_off_when_a_dim_is_irrelevant_to_two_operands(monkeypatch):
    """Its proof needs each dim irrelevant to one operand at most; a layer type breaking that gets none."""
    import imcmap.models.workload as W

    layer = Layer("c", "Conv", {"K": 2, "C": 2, "OX": 2, "OY": 1, "FX": 1, "FY": 1})
    problem = build_problem(layer, oracle_imc(), MappingSpec().resolve(layer))
    assert C._one_operand_per_irrelevant_dim(problem)
    monkeypatch.setitem(
        W.RELEVANT_DIMS, W.Operand.I, frozenset({"B", "G", "OY", "OX", "FY", "FX"})
    )  # C now irrelevant to I and O
    assert not C._one_operand_per_irrelevant_dim(problem)


@pytest.mark.parametrize("text", ["order buf: K, C", "stationary W at cells"])
def test_where_the_rule_applies(text):
    """IMC arrays; on ZigZag's rules only for energy (its bound is the certificate); never under a user
    loop order, which a moved cut or merged segments could break (other constraints hold across them)."""
    from imcmap.solver.solve import use_canonical_cuts
    from imcmap.specs.constraints import parse_constraint

    user = (parse_constraint(text),)
    ordered = text.startswith("order")
    own, zigzag, digital = tiny_imc(), with_zigzag_rules(tiny_imc()), tiny_digital()
    assert [use_canonical_cuts(own, o, ()) for o in ("energy", "latency", "edp")] == [True, True, True]
    assert [use_canonical_cuts(zigzag, o, ()) for o in ("energy", "latency", "edp")] == [True, False, False]
    assert not use_canonical_cuts(digital, "energy", ())
    assert use_canonical_cuts(own, "energy", user) is not ordered
