"""28 nm gate primitives and building blocks of the SRAM IMC cost model (imc-model.md sections 2-3).

Everything here is a small pure function of bit widths, input counts and the supply voltage. Both
cost-model forms build on it: ``imc.py`` (ZigZag 3.9.1's generic macro, used for mapping) and
``imc_validation.py`` (the chip-specific recipes of the published 7-chip validation).

Units are in the names: ``_um2`` / ``_mm2`` area, ``_ns`` delay, ``_ff`` capacitance, ``_fj``
energy. Energy per switched capacitance is ``C * V**2`` (fF x V^2 = fJ). Functions returning a
count (``fa_tree``, ``fa_pv``, ``tree_partial_counts``) have no unit suffix.

The three unit constants (NAND2 area, delay, input capacitance) were fitted at 28 nm by the
ZigZag-IMC authors over the DIMC chips; the DAC constant comes from a TinyML paper. Other nodes
are handled by the callers with a linear ``node_scale`` on area and energy (imc-model.md 4.5);
delays are never scaled.
"""

from __future__ import annotations

# --- technology constants (28 nm), imc-model.md section 2 -------------------------------------

TECH_NODE_NM = 28
NAND2_AREA_UM2 = 0.614  # Ag
NAND2_DELAY_NS = 0.0478  # Dg
NAND2_CAP_FF = 0.7  # Cg
DAC_K0_FF = 50.0  # k0: DAC energy per bit of resolution, in units of V^2

XOR2_AREA_UM2 = 2.4 * NAND2_AREA_UM2
XOR2_DELAY_NS = 2.4 * NAND2_DELAY_NS
XOR2_CAP_FF = 1.5 * NAND2_CAP_FF
DFF_AREA_UM2 = 6 * NAND2_AREA_UM2  # 1-bit register
DFF_CAP_FF = 3 * NAND2_CAP_FF
CELL_LINE_CAP_FF = NAND2_CAP_FF / 2  # wordline or bitline capacitance added by one 6T cell

# ADC fit (three AIMC chips): area_mm2 = 1e-6 * 10**(K1*R + K2) * 2**R; delay_ns = R*(K3*rows + K4);
# energy_fj = (K5*R + K6*4**R) * V**2.
ADC_AREA_K1 = -0.0369
ADC_AREA_K2 = 1.206
ADC_AREA_HIGH_RES_MM2_PER_LEVEL = 5e-7  # validation form, R >= 12: 5e-7 * 2**R mm2
ADC_HIGH_RES_BITS = 12
ADC_DELAY_K3_NS = 0.00653
ADC_DELAY_K4_NS = 0.640
ADC_ENERGY_K5_FF = 100.0
ADC_ENERGY_K6_FF = 0.001


def node_scale(node_nm: float) -> float:
    """Linear area/energy factor from 28 nm to ``node_nm`` (1.0 at 28 nm; 22/28 for 22 nm)."""
    if node_nm <= 0:
        raise ValueError(f"node_nm must be positive (got {node_nm})")
    return node_nm / TECH_NODE_NM


def _check_bits(name: str, value: float, minimum: int = 1) -> None:
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {value})")


def is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


def _log2_exact(n: int, what: str) -> int:
    if not is_power_of_two(n):
        raise ValueError(f"{what} must be a power of 2 (got {n})")
    return n.bit_length() - 1


# --- 1-bit multiplier (NOR2) -------------------------------------------------------------------


def mult_area_um2() -> float:
    """Area of a 1-bit multiplier (one NOR2, sized like a NAND2)."""
    return NAND2_AREA_UM2


def mult_delay_ns() -> float:
    return NAND2_DELAY_NS


def mult_energy_fj(vdd_v: float) -> float:
    """Energy per activation of a 1-bit multiplier: only the input toggles, ``Cg/2 * V^2``."""
    return 0.5 * NAND2_CAP_FF * vdd_v**2


# --- full adder (3 NAND2 + 2 XOR2) -------------------------------------------------------------


def fa_area_um2() -> float:
    """1-bit full adder: 3 NAND2 + 2 XOR2 = 7.8 Ag."""
    return 3 * NAND2_AREA_UM2 + 2 * XOR2_AREA_UM2


def fa_delay_sum_ns() -> float:
    """Input to sum: two XOR2 stages."""
    return 2 * XOR2_DELAY_NS


def fa_delay_cout_ns() -> float:
    """Input to carry-out: one XOR2 + two NAND2."""
    return XOR2_DELAY_NS + 2 * NAND2_DELAY_NS


def fa_delay_carry_ns() -> float:
    """Carry-in to carry-out: two NAND2."""
    return 2 * NAND2_DELAY_NS


def fa_energy_fj(vdd_v: float) -> float:
    """Energy of one fully activated full adder: 3 NAND2 caps + 2 XOR2 caps = 6 Cg."""
    return (3 * NAND2_CAP_FF + 2 * XOR2_CAP_FF) * vdd_v**2


def fa_half_energy_fj(vdd_v: float) -> float:
    """A full adder with one zero operand (no carry switches): the two XOR2 caps, 3 Cg."""
    return 2 * XOR2_CAP_FF * vdd_v**2


# --- register ------------------------------------------------------------------------------------


def reg_area_um2() -> float:
    """1-bit register (DFF): 6 Ag. Its delay is taken as 0."""
    return DFF_AREA_UM2


def reg_energy_fj(vdd_v: float) -> float:
    """Energy of one write of a 1-bit register: 3 Cg."""
    return DFF_CAP_FF * vdd_v**2


def cell_line_energy_fj(vdd_v: float) -> float:
    """Energy of the line capacitance one 6T cell adds to a wordline or bitline: ``Cg/2 * V^2``."""
    return CELL_LINE_CAP_FF * vdd_v**2


# --- ripple-carry adder (section 3.1) ----------------------------------------------------------


def rca_area_um2(bits: float) -> float:
    _check_bits("bits", bits, 0)
    return bits * fa_area_um2()


def rca_energy_fj(bits: float, vdd_v: float) -> float:
    _check_bits("bits", bits, 0)
    return bits * fa_energy_fj(vdd_v)


def t_rca_lsb_ns() -> float:
    """Best-case (LSB) delay of a ripple-carry adder: input to sum."""
    return fa_delay_sum_ns()


def t_rca_ns(bits: int) -> float:
    """Worst-case (MSB) delay of a ``bits``-bit RCA: in->cout + (bits-1) carry stages."""
    _check_bits("bits", bits)
    return fa_delay_cout_ns() + (bits - 1) * fa_delay_carry_ns()


# --- regular adder tree (section 3.2) ----------------------------------------------------------


def fa_tree(inputs: int, bits: int) -> int:
    """Full adders in a tree of RCAs adding ``inputs`` (a power of 2) numbers of ``bits`` bits.

    Level k (1..d, d = log2 inputs) has inputs/2**k adders of bits+k-1 bits, which sums to
    ``inputs*(bits+1) - (bits+d+1)``. One input needs no adder.
    """
    _check_bits("bits", bits)
    depth = _log2_exact(inputs, "adder-tree inputs")
    return inputs * (bits + 1) - (bits + depth + 1)


def tree_output_bits(inputs: int, bits: int) -> int:
    return bits + _log2_exact(inputs, "adder-tree inputs")


def t_tree_ns(inputs: int, bits: int) -> float:
    """Delay of the regular tree: the sum ripples through d-1 levels, then the last RCA's carry chain.

    ``(d-1)*in->sum + in->cout + (bits+d-2)*cin->cout``; 0 for a single input.
    """
    _check_bits("bits", bits)
    depth = _log2_exact(inputs, "adder-tree inputs")
    if depth == 0:
        return 0.0
    return (depth - 1) * fa_delay_sum_ns() + t_rca_ns(bits + depth - 1)


def tree_area_um2(inputs: int, bits: int) -> float:
    return fa_tree(inputs, bits) * fa_area_um2()


def tree_energy_fj(inputs: int, bits: int, vdd_v: float) -> float:
    """Energy per use of a regular tree with every input active."""
    return fa_tree(inputs, bits) * fa_energy_fj(vdd_v)


# --- place-value (shift-add) tree (section 3.3) ------------------------------------------------


def fa_pv(inputs: int, bits: float) -> float:
    """Full adders of the place-value tree merging ``inputs`` partial sums of ``bits`` bits.

    ``bits*(N-1) + N*(log2 N - 0.5)``; absent (0) for N = 1. N must be a power of 2.
    """
    _check_bits("bits", bits)
    depth = _log2_exact(inputs, "place-value tree inputs")
    if depth == 0:
        return 0
    # N*(log2 N - 0.5) = N*log2 N - N/2 is an integer for N >= 2
    return bits * (inputs - 1) + inputs * depth - inputs // 2


def pv_output_bits(inputs: int, bits: float) -> float:
    """Output width of the place-value tree: ``bits + N`` (``bits`` when absent)."""
    return bits if inputs == 1 else bits + inputs


def t_pv_ns(inputs: int) -> float:
    """Place-value tree delay: ``(log2 N - 1)*in->sum + in->cout + (N-1)*cin->cout``; 0 for N = 1."""
    depth = _log2_exact(inputs, "place-value tree inputs")
    if depth == 0:
        return 0.0
    return (depth - 1) * fa_delay_sum_ns() + fa_delay_cout_ns() + (inputs - 1) * fa_delay_carry_ns()


def pv_area_um2(inputs: int, bits: float) -> float:
    return fa_pv(inputs, bits) * fa_area_um2()


def pv_energy_fj(inputs: int, bits: float, vdd_v: float) -> float:
    return fa_pv(inputs, bits) * fa_energy_fj(vdd_v)


# --- accumulator (section 3.4) -----------------------------------------------------------------


def acc_area_um2(rca_bits: float, register_bits: float) -> float:
    """Accumulator: an RCA plus a register."""
    return rca_area_um2(rca_bits) + register_bits * reg_area_um2()


def acc_energy_fj(rca_bits: float, register_bits: float, vdd_v: float) -> float:
    """Accumulator energy per cycle: ``rca_bits*E_FA + register_bits*E_reg``."""
    return rca_energy_fj(rca_bits, vdd_v) + register_bits * reg_energy_fj(vdd_v)


def t_acc_z_ns(acc_bits: float, input_bits: float) -> float:
    """ZigZag 3.9.1 accumulator delay: ``in->cout + (R_acc - P_in - 1)*cin->cout``."""
    return fa_delay_cout_ns() + (acc_bits - input_bits - 1) * fa_delay_carry_ns()


def t_acc_v_ns(register_bits: int, input_bits: int) -> float:
    """Validation-form accumulator delay: ``in->sum + (R_reg - P_in)*cin->cout``."""
    return fa_delay_sum_ns() + (register_bits - input_bits) * fa_delay_carry_ns()


# --- ADC (section 3.5) and DAC (section 3.6) ---------------------------------------------------


def adc_area_mm2(bits: float, *, high_res_branch: bool = True) -> float:
    """Area of one ADC of ``bits`` resolution.

    ``1e-6 * 10**(-0.0369*R + 1.206) * 2**R`` mm2. With ``high_res_branch`` (the validation
    form) R >= 12 uses ``5e-7 * 2**R``; ZigZag 3.9.1 has no such branch.
    """
    _check_bits("ADC bits", bits, 0)
    if high_res_branch and bits >= ADC_HIGH_RES_BITS:
        return ADC_AREA_HIGH_RES_MM2_PER_LEVEL * 2.0**bits
    return 1e-6 * 10 ** (ADC_AREA_K1 * bits + ADC_AREA_K2) * 2.0**bits


def adc_delay_ns(bits: float, rows: int) -> float:
    """Conversion delay of an ADC reading a bitline shared by ``rows`` rows: ``R*(0.00653*rows + 0.640)``."""
    _check_bits("ADC bits", bits, 0)
    _check_bits("rows", rows)
    return bits * (ADC_DELAY_K3_NS * rows + ADC_DELAY_K4_NS)


def adc_energy_fj(bits: float, vdd_v: float) -> float:
    """Energy per conversion: ``(100*R + 0.001*4**R) * V^2``."""
    _check_bits("ADC bits", bits, 0)
    return (ADC_ENERGY_K5_FF * bits + ADC_ENERGY_K6_FF * 4.0**bits) * vdd_v**2


def dac_energy_fj(bits: int, vdd_v: float) -> float:
    """Energy per conversion of one DAC: ``k0 * bits * V^2`` (area and delay are neglected)."""
    _check_bits("DAC bits", bits, 0)
    return DAC_K0_FF * bits * vdd_v**2


# --- partially used adder tree (section 7.5) ---------------------------------------------------


def tree_partial_counts(bits: int, live_inputs: int, inputs: int) -> tuple[int, int]:
    """(fully activated, half activated) full adders of a tree with ``live_inputs`` of ``inputs`` carrying data.

    Live inputs are packed from one end. Halving from the root: a side holding only zeros costs
    nothing, a node with one live operand is half activated (no carry) over its ``bits+dep`` bits,
    a fully live subtree costs its whole FA count. ``live_inputs >= inputs`` gives the full tree.
    """
    _check_bits("bits", bits)
    depth = _log2_exact(inputs, "adder-tree inputs")
    if live_inputs >= inputs:
        return fa_tree(inputs, bits), 0
    if live_inputs < 1:
        return 0, 0
    full = 0
    half = 0
    left = live_inputs
    base = inputs
    for _ in range(depth):
        base //= 2
        dep = base.bit_length() - 1
        if base == 1 and left <= 1:
            half += bits
            break
        if left > base:
            full += base * (bits + 1) - (bits + dep + 1) + (bits + dep)
            left -= base
        elif left < base:
            half += bits + dep
        else:
            full += base * (bits + 1) - (bits + dep + 1)
            half += bits + dep
            break
    return full, half


def e_tree_partial_fj(bits: int, live_inputs: int, inputs: int, vdd_v: float) -> float:
    """Energy per use of a regular tree of which ``live_inputs`` inputs carry data (section 7.5)."""
    full, half = tree_partial_counts(bits, live_inputs, inputs)
    return full * fa_energy_fj(vdd_v) + half * fa_half_energy_fj(vdd_v)


def log2_int(n: int) -> int:
    """Exact log2 of a power of 2 (``ValueError`` otherwise)."""
    return _log2_exact(n, "value")
