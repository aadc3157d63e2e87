"""ZigZag 3.9.1 IMC macro form (imc-model.md section 7) and its generalisations."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imcmap.models.hardware import ArrayDim, ImcArray, ImcType
from imcmap.models.imc import (
    AREA_KEYS,
    ENERGY_KEYS,
    accumulator_bits,
    diagonal_rows,
    imc_area_mm2,
    imc_layer_energy_pj,
    imc_peak,
    imc_tclk_breakdown_ns,
    imc_tclk_ns,
)


def make_array(
    imc_type: str,
    d1: int,
    d2: int,
    macros: int = 1,
    *,
    input_bits: int = 8,
    weight_bits: int = 8,
    bits_per_cycle: int = 2,
    adc_bits: int = 0,
    dac_bits: int = 0,
    vdd_v: float = 0.9,
    node_nm: int = 28,
    toggle: float = 1.0,
    sparsity: float = 0.0,
    cells_per_group: int = 1,
) -> ImcArray:
    dims = (ArrayDim("D1", d1), ArrayDim("D2", d2)) + ((ArrayDim("D3", macros),) if macros > 1 else ())
    return ImcArray(
        imc_type=ImcType(imc_type),
        dims=dims,
        input_bits=input_bits,
        weight_bits=weight_bits,
        input_bits_per_cycle=bits_per_cycle,
        adc_bits=adc_bits,
        dac_bits=dac_bits,
        cells_per_group=cells_per_group,
        node_nm=node_nm,
        vdd_v=vdd_v,
        input_toggle_rate=toggle,
        weight_sparsity=sparsity,
        cell_area_um2=0,
    )


# ZigZag 3.9.1's bundled aimc.yaml / dimc.yaml macros
AIMC = make_array("analog", 128, 128, bits_per_cycle=2, adc_bits=8, dac_bits=2)
DIMC = make_array("digital", 128, 128, bits_per_cycle=1)


def total(d: dict[str, float]) -> float:
    return sum(d.values())


# --- section 7.6 peak tables -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "area", "tclk", "e_cycle", "fj_mac", "tops", "tops_w"),
    [
        (AIMC, 2.287812, 14.07244, 851.367, 207.853, 0.58213, 9.6222),
        (DIMC, 0.801811, 3.75708, 546.860, 267.022, 1.09021, 7.4900),
    ],
    ids=["aimc.yaml", "dimc.yaml"],
)
def test_bundled_peak(
    array: ImcArray, area: float, tclk: float, e_cycle: float, fj_mac: float, tops: float, tops_w: float
) -> None:
    """Area, tclk, peak energy per cycle, fJ/MAC, TOP/s and TOP/s/W of ZigZag's bundled IMC macros (7.6)."""
    assert total(imc_area_mm2(array)) == pytest.approx(area, rel=1e-6)
    assert imc_tclk_ns(array) == pytest.approx(tclk, rel=1e-7)
    peak = imc_peak(array)
    assert peak.energy_per_cycle_pj == pytest.approx(e_cycle, rel=1e-6)
    assert peak.fj_per_mac == pytest.approx(fj_mac, rel=1e-5)
    assert peak.tops == pytest.approx(tops, rel=1e-4)
    assert peak.tops_per_w == pytest.approx(tops_w, rel=1e-4)


def test_zigzag_regression_values() -> None:
    """The area/tclk ZigZag's own ResNet-18 regression tests assert (test_aimc.py, test_dimc.py)."""
    assert total(imc_area_mm2(AIMC)) == pytest.approx(2.2878123152749223, rel=1e-12)
    assert total(imc_area_mm2(DIMC)) == pytest.approx(0.8018113024, rel=1e-12)


def test_aimc_breakdowns() -> None:
    """aimc.yaml area and tclk breakdowns of 7.6."""
    area = imc_area_mm2(AIMC)
    assert set(area) == set(AREA_KEYS)
    assert area["adc"] == pytest.approx(2.13472, abs=5e-6)
    assert area["mult"] == pytest.approx(0.08048, abs=5e-6)
    assert area["place_value"] == pytest.approx(0.04659, abs=5e-6)
    assert area["accumulator"] == pytest.approx(0.02603, abs=5e-6)
    assert area["cells"] == area["dac"] == area["adder_tree"] == 0.0
    tclk = imc_tclk_breakdown_ns(AIMC)
    assert tclk == pytest.approx(
        {"adc": 11.80672, "mult": 0.0478, "adder_tree": 0.0, "place_value": 1.33840, "accumulator": 0.87952}
    )


def test_dimc_breakdowns() -> None:
    """dimc.yaml area, tclk and peak-energy breakdowns of 7.6."""
    area = imc_area_mm2(DIMC)
    assert area["mult"] == pytest.approx(0.08048, abs=5e-6)
    assert area["adder_tree"] == pytest.approx(0.69639, abs=5e-6)
    assert area["accumulator"] == pytest.approx(0.02495, abs=5e-6)
    assert area["place_value"] == area["adc"] == 0.0
    tclk = imc_tclk_breakdown_ns(DIMC)
    assert tclk == pytest.approx(
        {"adc": 0.0, "mult": 0.0478, "adder_tree": 2.82976, "place_value": 0.0, "accumulator": 0.87952}
    )
    e = imc_peak(DIMC).energy_breakdown_pj
    assert set(e) == set(ENERGY_KEYS)
    assert e["mult"] == pytest.approx(37.159, abs=5e-4)
    assert e["adder_tree"] == pytest.approx(494.678, abs=5e-4)
    assert e["accumulator"] == pytest.approx(15.023, abs=5e-4)


@pytest.mark.parametrize(
    ("array", "area", "tclk", "e_cycle"),
    [
        (make_array("analog", 32, 64, 4, weight_bits=4, bits_per_cycle=1, adc_bits=5), 0.223586, 6.94348, 246.613),
        (make_array("digital", 16, 32, 8, bits_per_cycle=2), 0.407531, 3.22172, 277.023),
    ],
    ids=["analog-32x64x4", "digital-16x32x8"],
)
def test_extra_peak_configs(array: ImcArray, area: float, tclk: float, e_cycle: float) -> None:
    """The two extra peak configurations of 7.6 (both checked against 3.9.1)."""
    assert total(imc_area_mm2(array)) == pytest.approx(area, abs=1e-6)
    assert imc_tclk_ns(array) == pytest.approx(tclk, rel=1e-7)
    assert imc_peak(array).energy_per_cycle_pj == pytest.approx(e_cycle, abs=5e-4)


@pytest.mark.parametrize(
    ("array", "area", "tclk", "fj_mac"),
    [
        (
            make_array("analog", 512, 1024, input_bits=7, weight_bits=2, bits_per_cycle=7, adc_bits=6),
            1.29352,
            44.3140,
            2.667,
        ),
        (make_array("analog", 12, 16, 4, bits_per_cycle=2, adc_bits=5), 0.15407, 5.9881, 930.371),
        (make_array("digital", 6, 32, 64, bits_per_cycle=2), 1.22259, 3.2217, 270.530),
        (make_array("digital", 1, 32, 2, bits_per_cycle=1), 0.00329, 3.1070, 277.972),
        (make_array("digital", 8, 128, 4, bits_per_cycle=1), 0.20045, 3.7571, 267.022),
    ],
    ids=["AIMC1", "AIMC2", "DIMC1", "DIMC2", "DIMC4"],
)
def test_chips_as_generic_form(array: ImcArray, area: float, tclk: float, fj_mac: float) -> None:
    """Section 8 item 13: the chip geometries in the generic form (0.9 V, 28 nm, full activity, no cells)."""
    assert total(imc_area_mm2(array)) == pytest.approx(area, abs=5e-6)
    assert imc_tclk_ns(array) == pytest.approx(tclk, abs=5e-5)
    assert imc_peak(array).fj_per_mac == pytest.approx(fj_mac, abs=5e-4)


def test_accumulator_width() -> None:
    """R_acc = Bi + R + Bw (analog), Bi + log2 D2 + Bw (digital), none when Bc = Bi."""
    assert accumulator_bits(AIMC) == 24
    assert accumulator_bits(DIMC) == 23
    assert accumulator_bits(make_array("digital", 8, 32, bits_per_cycle=8)) == 0


# --- section 7.5 per-layer check -----------------------------------------------------------------

# Conv B=1 K=32 C=16 OY=OX=8 FY=FX=3 (294 912 MACs) on the 128 x 128 macros
LAYER_ROWS = [
    # cols, rows_total intended, rows_total 3.9.1, rows_adder, act, AIMC pJ (intended, 3.9.1), DIMC pJ (intended, 3.9.1)
    (32, 16, 16, 16, 576, 476_699.685, 476_699.685, 264_032.649, 264_032.649),
    (128, 48, 33, 24, 96, 315_518.498, 313_379.787, 184_215.306, 146_759.123),
    (128, 120, 99, 36, 64, 217_189.541, 215_193.411, 265_388.950, 227_263.906),
]


@pytest.mark.parametrize(
    ("cols", "rt_intended", "rt_391", "rows_adder", "act", "aimc_i", "aimc_z", "dimc_i", "dimc_z"),
    LAYER_ROWS,
    ids=["K32|C16", "K32,OX4|C8,FX3", "K16,OX8|C4,FX3,FY3"],
)
def test_layer_energy_table(
    cols: int,
    rt_intended: int,
    rt_391: int,
    rows_adder: int,
    act: int,
    aimc_i: float,
    aimc_z: float,
    dimc_i: float,
    dimc_z: float,
) -> None:
    """Per-layer energy of 7.6, zigzag_compat: intended rows give the "intended" column, 3.9.1 rows the 3.9.1 one."""
    for rows_total, aimc, dimc in ((rt_intended, aimc_i, dimc_i), (rt_391, aimc_z, dimc_z)):
        kw = {"cols": cols, "rows_total": rows_total, "rows_adder": rows_adder, "activations": act}
        assert total(imc_layer_energy_pj(AIMC, zigzag_compat=True, **kw)) == pytest.approx(aimc, abs=1e-3)
        assert total(imc_layer_energy_pj(DIMC, zigzag_compat=True, **kw)) == pytest.approx(dimc, abs=1e-3)


def test_layer_first_row_breakdown() -> None:
    """Breakdown of the first per-layer row (D1 {K:32}, D2 {C:16}, act 576)."""
    kw = {"cols": 32, "rows_total": 16, "rows_adder": 16, "activations": 576}
    a = imc_layer_energy_pj(AIMC, **kw)
    assert a == pytest.approx(
        {
            "dac": 2_985.984,
            "adc": 413_516.264,
            "mult": 10_701.767,
            "bitline": 21_403.533,
            "adder_tree": 0.0,
            "place_value": 19_062.522,
            "accumulator": 9_029.616,
            "precharge": 0.0,
        },
        abs=1e-3,
    )
    d = imc_layer_energy_pj(DIMC, **kw)
    assert d == pytest.approx(
        {
            "dac": 0.0,
            "adc": 0.0,
            "mult": 171_228.266,
            "bitline": 0.0,
            "adder_tree": 75_497.619,
            "place_value": 0.0,
            "accumulator": 17_306.763,
            "precharge": 0.0,
        },
        abs=1e-3,
    )


def test_adder_tree_uses_rows_adder_by_default() -> None:
    """Without zigzag_compat the DIMC trees see rows_adder live inputs (24 of 48), so they cost less."""
    kw = {"cols": 128, "rows_total": 48, "rows_adder": 24, "activations": 96}
    compat = imc_layer_energy_pj(DIMC, zigzag_compat=True, **kw)
    physical = imc_layer_energy_pj(DIMC, **kw)
    assert physical["adder_tree"] < compat["adder_tree"]
    assert {k: v for k, v in physical.items() if k != "adder_tree"} == {
        k: v for k, v in compat.items() if k != "adder_tree"
    }
    # AIMC has no regular adder tree: the flag changes nothing
    assert imc_layer_energy_pj(AIMC, **kw) == imc_layer_energy_pj(AIMC, zigzag_compat=True, **kw)


def test_full_mapping_equals_peak() -> None:
    """A layer filling every row and column for one activation costs Bi/Bc peak cycles."""
    for array in (AIMC, DIMC):
        e = total(imc_layer_energy_pj(array, cols=128, rows_total=128, rows_adder=128, activations=1))
        assert e == pytest.approx(imc_peak(array).energy_per_cycle_pj * array.cycles_per_mac)


def test_layer_energy_rejects_oversized_mapping() -> None:
    """Rows or columns beyond the array, or rows_adder > rows_total, are errors."""
    with pytest.raises(ValueError, match="rows_total"):
        imc_layer_energy_pj(DIMC, cols=8, rows_total=192, rows_adder=64, activations=1)
    with pytest.raises(ValueError, match="cols"):
        imc_layer_energy_pj(DIMC, cols=129, rows_total=8, rows_adder=8, activations=1)
    with pytest.raises(ValueError, match="rows_adder"):
        imc_layer_energy_pj(DIMC, cols=8, rows_total=8, rows_adder=9, activations=1)


def test_precharge() -> None:
    """Precharge (M > 1 weights per group): count x (Cg/2 V^2 + Cg/2 V^2 M) x Bw; none for M = 1."""
    kw = {"cols": 32, "rows_total": 16, "rows_adder": 16, "activations": 1, "precharges": 1000}
    deep = dataclasses.replace(DIMC, cells_per_group=4)
    assert imc_layer_energy_pj(deep, **kw)["precharge"] == pytest.approx(1000 * 0.2835 * 5 * 8 / 1000)
    assert imc_layer_energy_pj(DIMC, **kw)["precharge"] == 0.0


def test_invalid_arrays() -> None:
    """Shape rules of 7.2: digital D2 a power of 2, analog needs an ADC and a power-of-2 Bw."""
    with pytest.raises(ValueError, match="power of 2"):
        imc_area_mm2(make_array("digital", 8, 100))
    with pytest.raises(ValueError, match="adc_bits"):
        imc_area_mm2(make_array("analog", 8, 64))
    with pytest.raises(ValueError, match="weight_bits"):
        imc_area_mm2(make_array("analog", 8, 64, weight_bits=6, adc_bits=4))


# --- generalisations: activity, voltage, node ----------------------------------------------------


def test_activity_rule_digital() -> None:
    """Digital: multipliers and regular trees x t(1-s); place-value tree and accumulators at full activity."""
    base = make_array("digital", 16, 32, bits_per_cycle=2)
    act = dataclasses.replace(base, input_toggle_rate=0.5, weight_sparsity=0.25)
    e0, e1 = imc_peak(base).energy_breakdown_pj, imc_peak(act).energy_breakdown_pj
    assert e1["mult"] == pytest.approx(e0["mult"] * 0.375)
    assert e1["adder_tree"] == pytest.approx(e0["adder_tree"] * 0.375)
    assert e1["place_value"] == pytest.approx(e0["place_value"])
    assert e1["accumulator"] == pytest.approx(e0["accumulator"])


def test_activity_rule_analog() -> None:
    """Analog: mult x t(1-s); bitline, ADC, place-value x (1-s); DAC x t; accumulators x 1."""
    act = dataclasses.replace(AIMC, input_toggle_rate=0.5, weight_sparsity=0.25)
    kw = {"cols": 32, "rows_total": 16, "rows_adder": 16, "activations": 576}
    e0, e1 = imc_layer_energy_pj(AIMC, **kw), imc_layer_energy_pj(act, **kw)
    assert e1["mult"] == pytest.approx(e0["mult"] * 0.375)
    for key in ("bitline", "adc", "place_value"):
        assert e1[key] == pytest.approx(e0[key] * 0.75)
    assert e1["dac"] == pytest.approx(e0["dac"] * 0.5)
    assert e1["accumulator"] == pytest.approx(e0["accumulator"])


def test_voltage_and_node_scaling() -> None:
    """Energy goes with V^2; 22 nm scales gate area/energy and ADC area by 22/28, not ADC/DAC energy or delay."""
    low_v = dataclasses.replace(AIMC, vdd_v=0.8)
    e9, e8 = imc_peak(AIMC).energy_breakdown_pj, imc_peak(low_v).energy_breakdown_pj
    for key in ENERGY_KEYS:
        assert e8[key] == pytest.approx(e9[key] * (0.8 / 0.9) ** 2)
    n22 = dataclasses.replace(AIMC, node_nm=22)
    a28, a22 = imc_area_mm2(AIMC), imc_area_mm2(n22)
    for key in ("adc", "mult", "place_value", "accumulator"):
        assert a22[key] == pytest.approx(a28[key] * 22 / 28)
    p22 = imc_peak(n22).energy_breakdown_pj
    for key in ("mult", "bitline", "place_value", "accumulator"):
        assert p22[key] == pytest.approx(e9[key] * 22 / 28)
    assert p22["adc"] == pytest.approx(e9["adc"])
    assert p22["dac"] == pytest.approx(e9["dac"])
    assert imc_tclk_ns(n22) == imc_tclk_ns(AIMC)


def test_dac_bits() -> None:
    """DAC resolution: dac_bits, or Bc when 0; a 1-bit input has no DAC."""
    wide = dataclasses.replace(AIMC, dac_bits=4)
    assert imc_peak(wide).energy_breakdown_pj["dac"] == pytest.approx(2 * imc_peak(AIMC).energy_breakdown_pj["dac"])
    assert imc_peak(dataclasses.replace(AIMC, dac_bits=0)) == imc_peak(AIMC)
    serial = make_array("analog", 32, 64, bits_per_cycle=1, adc_bits=5)
    assert imc_peak(serial).energy_breakdown_pj["dac"] == 0.0


# --- diagonal_rows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d1", "d2", "rows"),
    [
        ({"K": 32}, {"C": 16}, (16, 16)),
        ({"K": 32, "OX": 4}, {"C": 8, "FX": 3}, (48, 24)),
        ({"K": 16, "OX": 8}, {"C": 4, "FX": 3, "FY": 3}, (120, 36)),
        ({"K": 32, "OX": 2}, {"FX": 3}, (4, 3)),  # 3.9.1 raises IndexError here (section 8 item 10)
        ({"K": 4, "OX": 2, "OY": 2}, {"C": 2, "FX": 3, "FY": 3}, (32, 18)),
        ({"K": 8, "G": 4}, {"C": 8}, (32, 8)),  # block-diagonal groups
        ({"K": 8, "OX": 4}, {"C": 16}, (64, 16)),  # OX without FX: each column its own input
        ({}, {"C": 4, "FY": 3}, (12, 12)),
    ],
)
def test_diagonal_rows(d1: dict[str, int], d2: dict[str, int], rows: tuple[int, int]) -> None:
    """rows_total / rows_adder of the intended formula of 7.5 (the 7.6 mappings and more)."""
    assert diagonal_rows(d1, d2) == rows


def test_diagonal_rows_stride_dilation() -> None:
    """Stride/dilation: the band s*(OX-1) + d*(FX-1) + 1 per C, or the used positions when the band has holes."""
    assert diagonal_rows({"K": 4, "OX": 4}, {"C": 2, "FX": 3}, stride=(1, 2)) == (2 * (2 * 3 + 2 + 1), 6)
    assert diagonal_rows({"K": 4, "OX": 4}, {"C": 2, "FX": 3}, dilation=(1, 2)) == (2 * (3 + 2 * 2 + 1), 6)
    # stride 2, FX 1: inputs 0, 2, 4, 6 only (the band 7 has holes)
    assert diagonal_rows({"K": 4, "OX": 4}, {"C": 2}, stride=(2, 2)) == (8, 2)
    # without OX on D1 the dilation does not widen anything
    assert diagonal_rows({"K": 4}, {"C": 2, "FX": 3}, dilation=(2, 2)) == (6, 6)


# --- properties -----------------------------------------------------------------------------------

powers = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256])
precisions = st.sampled_from([(8, 8, 1), (8, 8, 2), (8, 4, 4), (4, 2, 1), (8, 1, 8)])  # (Bi, Bw, Bc)


@st.composite
def arrays(draw: st.DrawFn) -> ImcArray:
    imc_type = draw(st.sampled_from(["analog", "digital"]))
    bi, bw, bc = draw(precisions)
    return make_array(
        imc_type,
        draw(st.integers(min_value=1, max_value=256)),
        draw(powers),
        draw(st.integers(min_value=1, max_value=8)),
        input_bits=bi,
        weight_bits=bw,
        bits_per_cycle=bc,
        adc_bits=draw(st.integers(min_value=1, max_value=10)) if imc_type == "analog" else 0,
        vdd_v=draw(st.floats(min_value=0.5, max_value=1.2)),
        node_nm=draw(st.sampled_from([7, 22, 28, 40])),
        toggle=draw(st.floats(min_value=0.0, max_value=1.0)),
        sparsity=draw(st.floats(min_value=0.0, max_value=1.0)),
    )


def _grow(array: ImcArray, index: int, factor: int) -> ImcArray:
    dims = list(array.dims)
    if index == 2 and len(dims) == 2:
        dims.append(ArrayDim("D3", 1))
    dims[index] = ArrayDim(dims[index].name, dims[index].size * factor)
    return dataclasses.replace(array, dims=tuple(dims))


@given(array=arrays(), index=st.sampled_from([0, 1, 2]))
def test_area_and_peak_monotone_in_size(array: ImcArray, index: int) -> None:
    """Areas, delays and peak energies are non-negative and never shrink when D1, D2 or the macro count doubles."""
    bigger = _grow(array, index, 2)
    a0, a1 = imc_area_mm2(array), imc_area_mm2(bigger)
    e0, e1 = imc_peak(array).energy_breakdown_pj, imc_peak(bigger).energy_breakdown_pj
    for key in AREA_KEYS:
        assert 0.0 <= a0[key] <= a1[key] + 1e-12
    for key in ENERGY_KEYS:
        assert 0.0 <= e0[key] <= e1[key] + 1e-9
    assert 0.0 < imc_tclk_ns(array) <= imc_tclk_ns(bigger) + 1e-12


@given(array=arrays(), data=st.data())
def test_layer_energy_monotone(array: ImcArray, data: st.DataObject) -> None:
    """Layer energy is non-negative and grows with mapped columns, rows and activations."""
    cols = data.draw(st.integers(min_value=1, max_value=array.cols))
    rows_total = data.draw(st.integers(min_value=1, max_value=array.rows))
    rows_adder = data.draw(st.integers(min_value=1, max_value=rows_total))
    act = data.draw(st.floats(min_value=0.0, max_value=1e4))
    base = imc_layer_energy_pj(array, cols=cols, rows_total=rows_total, rows_adder=rows_adder, activations=act)
    assert all(v >= 0.0 for v in base.values())
    grown = [
        imc_layer_energy_pj(array, cols=cols, rows_total=rows_total, rows_adder=rows_adder, activations=act * 2 + 1),
        imc_layer_energy_pj(
            array, cols=min(cols + 1, array.cols), rows_total=rows_total, rows_adder=rows_adder, activations=act
        ),
        imc_layer_energy_pj(
            array,
            cols=cols,
            rows_total=min(rows_total + 1, array.rows),
            rows_adder=min(rows_adder + 1, array.rows),
            activations=act,
        ),
    ]
    for other in grown:
        for key in ENERGY_KEYS:
            assert base[key] <= other[key] + 1e-9 * max(1.0, other[key])
