"""``solver.problem``: prime factors, the spatial candidates (complete and legal, against the
evaluator's check), fixed unrollings lowered to divisors, and the errors raised before any search."""

from __future__ import annotations

from math import prod

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imcmap.models.evaluator import check
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Mapping
from imcmap.models.mapping_spec import MappingRule, MappingSpec
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer, Operand, Precision
from imcmap.solver.problem import (
    ProblemError,
    allowed_dims,
    build_problem,
    candidate_rows,
    divisors,
    fit_fixed_unrolling,
    prime_factors,
    spatial_groups,
)

from .brute import _spatial_options
from .fixation import normalized
from .fixtures import oracle_digital, oracle_imc, oracle_imc_rows, tiny_imc

W, I, O = Operand.W, Operand.I, Operand.O


def test_prime_factors_by_hand():
    """360 = 2^3 * 3^2 * 5; 97 is prime; 1 has no prime factor."""
    assert prime_factors(360) == {2: 3, 3: 2, 5: 1}
    assert prime_factors(97) == {97: 1}
    assert prime_factors(1) == {}


@given(st.integers(1, 5000))
def test_prime_factors_multiply_back(n: int):
    """prod(p ** e) = n, and every p is prime."""
    factors = prime_factors(n)
    assert prod(p**e for p, e in factors.items()) == n
    assert all(divisors(p) == [1, p] for p in factors)


def test_divisors_by_hand():
    """12: 1, 2, 3, 4, 6, 12 in increasing order."""
    assert divisors(12) == [1, 2, 3, 4, 6, 12]


def test_allowed_dims_on_an_imc_array():
    """D1 (columns) takes K only unless diagonal mappings are allowed (then K, OX, OY, G); D2 (rows)
    takes C, FX, FY; a user restriction intersects with that, and one that omits an array dim leaves it
    unused."""
    accel = oracle_imc()
    plain = MappingSpec().resolve(Layer("l", "Conv", {}))
    diagonal = MappingSpec(diagonal_default=True).resolve(Layer("l", "Conv", {}))
    assert allowed_dims(accel, plain, "D1") == {"K"}
    assert allowed_dims(accel, diagonal, "D1") == {"K", "OX", "OY", "G"}
    assert allowed_dims(accel, plain, "D2") == {"C", "FX", "FY"}
    spec = MappingSpec((MappingRule("default", allowed_spatial={"D2": ("C", "K")}),))
    restricted = spec.resolve(Layer("l", "Conv", {}))
    assert allowed_dims(accel, restricted, "D2") == {"C"}
    assert allowed_dims(accel, restricted, "D1") == frozenset()


def test_allowed_dims_on_a_digital_array():
    """A digital PE array takes every loop dim on every array dim."""
    rule = MappingSpec().resolve(Layer("l", "Conv", {}))
    assert allowed_dims(oracle_digital(), rule, "D1") == frozenset(LOOP_DIMS)


def _legal_unrollings(layer: Layer, accel: Accelerator) -> set[str]:
    """Every unrolling the evaluator's check accepts (array size, IMC row/column dims, diagonal rows)."""
    out = set()
    links = dict(DEFAULT_OPERAND_LINKS)
    chains = {op: len(accel.chain(links[op])) for op in OPERANDS}
    for spatial in _spatial_options(layer, accel):
        probe = Mapping(spatial, (), {op: (0,) * chains[op] for op in OPERANDS})
        if not any(v.kind in ("array_size", "unroll_dim", "imc_rows") for v in check(layer, accel, probe)):
            out.add(repr(sorted((a, sorted(u.items())) for a, u in normalized(spatial).items())))
    return out


CASES = [
    (Layer("conv", "Conv", {"K": 4, "C": 2, "OX": 4, "FX": 3}), oracle_imc(d1=4, d2=8)),
    (Layer("conv", "Conv", {"K": 2, "C": 2, "OX": 4, "OY": 2, "FX": 3, "FY": 3}), oracle_imc(d1=8, d2=8)),
    (Layer("gemm", "Gemm", {"B": 4, "K": 6, "C": 4}), oracle_digital(d1=4, d2=2)),
    (Layer("conv", "Conv", {"K": 4, "C": 3, "OX": 2, "FX": 2}, stride=(1, 2)), oracle_imc_rows(d1=4, d2=4)),
]


@pytest.mark.parametrize(("layer", "accel"), CASES, ids=["imc", "imc-2d-halo", "digital", "imc-strided"])
def test_candidates_are_exactly_the_legal_unrollings(layer: Layer, accel: Accelerator):
    """With diagonal mappings allowed (the evaluator's check allows OX/OY on the columns), the groups'
    candidates, combined across groups, are every unrolling the evaluator accepts: none is missing (the
    search space loses no mapping) and none is illegal (the one-hot needs no further row)."""
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    groups = spatial_groups(layer, accel, rule)
    combos: list[dict] = [{}]
    for group in groups:
        combos = [{**c, **cand} for c in combos for cand in group.candidates]
    ours = {repr(sorted((a, sorted(u.items())) for a, u in normalized(c).items())) for c in combos
            if all(layer.size(d) % prod(u.get(d, 1) for u in c.values()) == 0 for d in LOOP_DIMS)}
    assert ours == _legal_unrollings(layer, accel)
    if len(groups) > 1:  # per-group candidates can combine into a non-divisor; those are left to factorization
        assert len(combos) >= len(ours)


def test_imc_groups_d1_and_d2_jointly_and_digital_arrays_per_dim():
    """An IMC array chooses columns and rows together (the diagonal rule ties them); each further IMC
    dim (macros) and each digital dim is a group of its own."""
    layer = Layer("gemm", "Gemm", {"B": 2, "K": 8, "C": 8})
    rule = MappingSpec().resolve(layer)
    imc = spatial_groups(layer, tiny_imc(extra_dims=(("D3", 2),)), rule)
    assert [g.array_dims for g in imc] == [("D1", "D2"), ("D3",)]
    assert [g.array_dims for g in spatial_groups(layer, oracle_digital(), rule)] == [("D1",), ("D2",)]


def test_fixed_unrolling_is_lowered_to_the_largest_divisor():
    """K 32 on a 1000-channel Gemm: 1000's largest divisor <= 32 is 25; C 32 on a 3-channel conv: 3.
    Each change gives a note; a factor that divides (K 8 of K 16) gives none."""
    gemm = Layer("fc", "Gemm", {"K": 1000, "C": 64})
    used, notes = fit_fixed_unrolling(gemm, {"D1": {"K": 32}, "D2": {"C": 32}})
    assert used == {"D1": {"K": 25}, "D2": {"C": 32}}
    assert notes == ("fixed D1 K32 lowered to K25 (K=1000)",)
    conv = Layer("c", "Conv", {"K": 16, "C": 3})
    used, notes = fit_fixed_unrolling(conv, {"D1": {"K": 8}, "D2": {"C": 32}})
    assert used == {"D1": {"K": 8}, "D2": {"C": 3}}
    assert notes == ("fixed D2 C32 lowered to C3 (C=3)",)


def test_fixed_unrolling_shares_a_dim_across_array_dims():
    """K 4 on D1 and K 4 on D2 of K = 8: D1 takes 4, leaving 2, so D2 is lowered to 2."""
    used, notes = fit_fixed_unrolling(Layer("g", "Gemm", {"K": 8}), {"D1": {"K": 4}, "D2": {"K": 4}})
    assert used == {"D1": {"K": 4}, "D2": {"K": 2}}
    assert len(notes) == 1


def test_a_fixed_spatial_rule_leaves_one_candidate_and_its_notes():
    """A fixed unrolling is the only candidate, lowered as above, and the problem carries the note."""
    layer = Layer("fc", "Gemm", {"B": 2, "K": 12, "C": 8})
    rule = MappingSpec((MappingRule("default", fixed_spatial={"D1": {"K": 8}, "D2": {"C": 8}}),)).resolve(layer)
    problem = build_problem(layer, tiny_imc(), rule)
    assert [len(g.candidates) for g in problem.groups] == [1]
    assert problem.groups[0].candidates[0] == {"D1": {"K": 6}, "D2": {"C": 8}}
    assert problem.notes == ("fixed D1 K8 lowered to K6 (K=12)",)


def test_dim_primes_keep_only_dims_larger_than_one():
    """B 1, K 12 = 2^2 * 3, C 8 = 2^3: dim_primes {K: {2: 2, 3: 1}, C: {2: 3}}; primes (2, 3)."""
    layer = Layer("g", "Gemm", {"B": 1, "K": 12, "C": 8})
    problem = build_problem(layer, tiny_imc(), MappingSpec().resolve(layer))
    assert problem.dim_primes == {"K": {2: 2, 3: 1}, "C": {2: 3}}
    assert problem.primes == (2, 3)


def test_chains_and_served_dims():
    """tiny_imc: W is held by cells and dram (indices 0, 4), I by rf_i, sram, dram (1, 3, 4). rf_i is
    shared along D1 only, so its input tile leaves D1 out (one input per row); sram keeps both."""
    layer = Layer("g", "Gemm", {"K": 8, "C": 8})
    problem = build_problem(layer, tiny_imc(), MappingSpec().resolve(layer))
    assert problem.chain_levels(W) == (0, 4) and problem.chain_levels(I) == (1, 3, 4)
    assert problem.chain_length(O) == 3
    rf_i, sram = problem.level(I, 0), problem.level(I, 1)
    assert (rf_i.name, sram.name) == ("rf_i", "sram")
    assert problem.row_registers(I, rf_i) and not problem.row_registers(I, sram)
    assert problem.tile_served(I, rf_i) == () and problem.tile_served(I, sram) == ("D1", "D2")
    assert not problem.row_registers(O, problem.level(O, 0))


def test_candidate_rows_of_a_diagonal_unrolling():
    """OX 2 on the columns with FX 3 on the rows (stride 1): the rows receive 2 + 3 - 1 = 4 inputs,
    3 of them summed per column; K alone on the columns: 3 rows, 3 summed."""
    layer = Layer("c", "Conv", {"K": 4, "OX": 2, "FX": 3})
    accel = oracle_imc(d1=4, d2=4)
    assert candidate_rows(layer, accel, {"D1": {"OX": 2}, "D2": {"FX": 3}}) == (4, 3)
    assert candidate_rows(layer, accel, {"D1": {"K": 4}, "D2": {"FX": 3}}) == (3, 3)


def test_problems_that_cannot_map_raise_before_search():
    """A layer wider in precision than the macro, an operand no level holds, or a fixed unrolling
    that needs more rows than the macro has (C 8 on 4 rows) cannot be mapped."""
    layer = Layer("g", "Gemm", {"K": 4, "C": 4}, precision=Precision(w_bits=16))
    with pytest.raises(ProblemError, match="exceed the macro"):
        build_problem(layer, oracle_imc(), MappingSpec().resolve(layer))
    plain = Layer("g", "Gemm", {"K": 4, "C": 4})
    links = {W: "I2", I: "I1", O: "X9"}
    rule = MappingSpec((MappingRule("default", operand_links=links),)).resolve(plain)
    with pytest.raises(ProblemError, match="no memory level holds X9"):
        build_problem(plain, oracle_imc(), rule)
    too_tall = MappingSpec((MappingRule("default", fixed_spatial={"D2": {"C": 8}}),)).resolve(
        Layer("g", "Gemm", {"C": 8})
    )
    with pytest.raises(ProblemError, match="no legal spatial unrolling over D1, D2"):
        build_problem(Layer("g", "Gemm", {"C": 8}), oracle_imc(d1=4, d2=4), too_tall)
    allowed = MappingSpec((MappingRule("default", allowed_spatial={"D1": ("K",)}),)).resolve(plain)
    fixed_rows = spatial_groups(plain, oracle_imc(), allowed)
    assert [len(g.candidates) for g in fixed_rows] == [3]  # K 1, 2, 4 on D1; D2 left unused
