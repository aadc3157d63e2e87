"""Gate primitives and building blocks against imc-model.md sections 2, 3 and 7.5."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imcmap.models import gates as g


def test_primitive_constants() -> None:
    """Derived primitives of section 2: FA = 7.8 Ag, delays, energies at 0.9 V and 0.8 V."""
    assert g.fa_area_um2() == pytest.approx(4.7892)
    assert g.reg_area_um2() == pytest.approx(3.684)
    assert g.mult_area_um2() == pytest.approx(0.614)
    assert g.fa_delay_sum_ns() == pytest.approx(0.22944)
    assert g.fa_delay_cout_ns() == pytest.approx(0.21032)
    assert g.fa_delay_carry_ns() == pytest.approx(0.0956)
    assert g.mult_energy_fj(0.9) == pytest.approx(0.2835)
    assert g.mult_energy_fj(0.8) == pytest.approx(0.224)
    assert g.fa_energy_fj(0.9) == pytest.approx(3.402)
    assert g.fa_energy_fj(0.8) == pytest.approx(2.688)
    assert g.fa_half_energy_fj(0.9) == pytest.approx(1.701)
    assert g.reg_energy_fj(0.9) == pytest.approx(1.701)


def test_rca() -> None:
    """Ripple-carry adder: area/energy linear in width, LSB and MSB delays of 3.1."""
    assert g.rca_area_um2(6) == pytest.approx(6 * 4.7892)
    assert g.rca_energy_fj(6, 0.9) == pytest.approx(6 * 3.402)
    assert g.t_rca_lsb_ns() == pytest.approx(0.22944)
    assert g.t_rca_ns(1) == pytest.approx(0.21032)
    assert g.t_rca_ns(6) == pytest.approx(0.21032 + 5 * 0.0956)


@pytest.mark.parametrize(
    ("inputs", "bits", "fas"),
    [(32, 9, 305), (32, 16, 522), (128, 8, 1136), (16, 1, 26), (8, 4, 32), (8, 6, 46), (1, 8, 0)],
)
def test_fa_tree_examples(inputs: int, bits: int, fas: int) -> None:
    """FA_tree(N, P) examples of section 3.2."""
    assert g.fa_tree(inputs, bits) == fas


@pytest.mark.parametrize(
    ("inputs", "bits", "delay"),
    [(32, 9, 2.27528), (32, 16, 2.94448), (16, 12, 2.23704), (128, 8, 2.82976), (16, 1, 1.18544), (8, 4, 1.1472)],
)
def test_t_tree_examples(inputs: int, bits: int, delay: float) -> None:
    """T_tree(N, P) examples of section 3.2 (and the DIMC4 levels of section 5)."""
    assert g.t_tree_ns(inputs, bits) == pytest.approx(delay, rel=1e-9)


def test_tree_rejects_non_power_of_two() -> None:
    """A regular tree needs a power-of-2 input count."""
    with pytest.raises(ValueError, match="power of 2"):
        g.fa_tree(12, 8)


def test_place_value_tree() -> None:
    """FA_pv and its delay (3.3): absent for N = 1; aimc.yaml's 8 x 8-bit tree has 76 FAs and 1.3384 ns."""
    assert g.fa_pv(1, 8) == 0
    assert g.t_pv_ns(1) == 0.0
    assert g.fa_pv(8, 8) == 76
    assert g.fa_pv(4, 5) == 21
    assert g.fa_pv(2, 13) == 14
    assert g.t_pv_ns(8) == pytest.approx(1.3384)
    assert g.t_pv_ns(2) == pytest.approx(0.30592)
    assert g.pv_output_bits(8, 8) == 16


def test_accumulator() -> None:
    """Accumulator delays (3.4): Z form for aimc.yaml (24 b, input 16), V form for DIMC1 and the generic DIMC2 delay."""
    assert g.t_acc_z_ns(24, 16) == pytest.approx(0.87952)
    assert g.t_acc_v_ns(32, 14) == pytest.approx(1.95024)
    assert g.t_acc_v_ns(16, 8) == pytest.approx(0.99424)
    assert g.acc_area_um2(24, 24) == pytest.approx(24 * (4.7892 + 3.684))
    assert g.acc_energy_fj(24, 24, 0.9) == pytest.approx(24 * 5.103)


@pytest.mark.parametrize(("bits", "um2"), [(3, 99.63), (5, 336.24), (6, 617.70), (7, 1134.78), (8, 2084.68)])
def test_adc_area(bits: int, um2: float) -> None:
    """ADC area examples of section 3.5 (in um2)."""
    assert g.adc_area_mm2(bits) * 1e6 == pytest.approx(um2, abs=0.005)


def test_adc_area_high_resolution_branch() -> None:
    """R >= 12 uses 5e-7 * 2**R in the validation form; ZigZag 3.9.1 keeps the fit."""
    assert g.adc_area_mm2(12) == pytest.approx(5e-7 * 4096)
    assert g.adc_area_mm2(12, high_res_branch=False) == pytest.approx(1e-6 * 10 ** (-0.0369 * 12 + 1.206) * 4096)


def test_adc_delay_and_energy() -> None:
    """ADC delay and energy examples of sections 3.5 and 7.6."""
    assert g.adc_delay_ns(8, 128) == pytest.approx(11.80672)
    assert g.adc_delay_ns(6, 1024) == pytest.approx(43.96032)
    assert g.adc_energy_fj(5, 0.9) == pytest.approx(405.83, abs=0.005)
    assert g.adc_energy_fj(8, 0.9) == pytest.approx(701.08, abs=0.005)
    assert g.adc_energy_fj(6, 0.8) == pytest.approx(386.62, abs=0.005)


def test_dac_energy() -> None:
    """DAC energy k0 * b * V^2 (3.6): a 2-bit DAC at 0.9 V costs 81 fJ."""
    assert g.dac_energy_fj(2, 0.9) == pytest.approx(81.0)
    assert g.dac_energy_fj(7, 0.8) == pytest.approx(224.0)


def test_node_scale() -> None:
    """Linear node scaling (4.5): 22/28 for 22 nm, 1 at 28 nm."""
    assert g.node_scale(22) == pytest.approx(22 / 28)
    assert g.node_scale(28) == 1.0


def test_tree_partial_first_row_dimc() -> None:
    """E_tree_partial(8, 16, 128): 131 full + 39 half adders, 512.001 fJ (the first per-layer row of 7.6)."""
    assert g.tree_partial_counts(8, 16, 128) == (131, 39)
    assert g.e_tree_partial_fj(8, 16, 128, 0.9) == pytest.approx(131 * 3.402 + 39 * 1.701)


def test_tree_partial_counts_diagonal_rows() -> None:
    """Live inputs 48 and 33 of 128 (the diagonal rows of 7.6): counts worked out by hand."""
    # 48: half 14 (64-side), full subtree 32 (274) + join 13, then a full 16-subtree (131) + 12 half
    assert g.tree_partial_counts(8, 48, 128) == (274 + 13 + 131, 14 + 12)
    # 33: half 14, full 32-subtree + join 13, then one live input passes 12+11+10+9 half nodes and 8 half bits
    assert g.tree_partial_counts(8, 33, 128) == (274 + 13, 14 + 12 + 11 + 10 + 9 + 8)


def test_tree_partial_limits() -> None:
    """No live input costs nothing; all live inputs cost the full tree."""
    assert g.tree_partial_counts(8, 0, 128) == (0, 0)
    assert g.tree_partial_counts(8, 128, 128) == (1136, 0)
    assert g.tree_partial_counts(8, 500, 128) == (1136, 0)


@given(
    depth=st.integers(min_value=0, max_value=9),
    bits=st.integers(min_value=1, max_value=16),
    data=st.data(),
)
def test_tree_partial_monotone_and_bounded(depth: int, bits: int, data: st.DataObject) -> None:
    """E_tree_partial never decreases with more live inputs and never exceeds the full tree."""
    inputs = 2**depth
    a = data.draw(st.integers(min_value=0, max_value=inputs - 1))
    e_a = g.e_tree_partial_fj(bits, a, inputs, 0.9)
    e_next = g.e_tree_partial_fj(bits, a + 1, inputs, 0.9)
    assert 0.0 <= e_a <= e_next + 1e-9
    assert e_next <= g.tree_energy_fj(inputs, bits, 0.9) + 1e-9


@given(depth=st.integers(min_value=0, max_value=10), bits=st.integers(min_value=1, max_value=32))
def test_trees_grow_with_size(depth: int, bits: int) -> None:
    """Tree FA counts and delays are non-negative and grow with inputs and width."""
    n = 2**depth
    assert g.fa_tree(n, bits) >= 0
    assert g.fa_tree(2 * n, bits) > g.fa_tree(n, bits)
    assert g.fa_tree(n, bits + 1) >= g.fa_tree(n, bits)
    assert g.t_tree_ns(2 * n, bits) > g.t_tree_ns(n, bits)
    assert g.fa_pv(2 * n, bits) > g.fa_pv(n, bits) >= 0
    assert g.t_pv_ns(2 * n) > g.t_pv_ns(n) >= 0
