"""Hand-checkable evaluator cases on a digital IMC macro: the arithmetic is in each docstring.

The macro: D1 = 2 columns, D2 = 4 rows, Bi = Bw = 8, Bc = 1 (8 cycles per MAC), 28 nm, 0.9 V,
toggle rate 1, sparsity 0, one weight per cell group. Gate energies at 0.9 V (imc-model.md 2):
multiplier 1/2 Cg V^2 = 0.2835 fJ, full adder 6 Cg V^2 = 3.402 fJ, half-activated adder
3 Cg V^2 = 1.701 fJ, register bit 1.701 fJ.

Memories (8-bit layer precisions, 16-bit partial sums):

* ``cells`` holds W (I2), one 8-bit word per cell group (8 bits, one instance per array unit):
  writes 0.095 pJ per 8-bit word, reads free (reading the cells is the computation).
* ``buffer`` holds I and O (I1, O), shared by the whole array: 32-bit ports, 2 pJ per read
  access, 3 pJ per write access, one port.
* ``dram`` holds everything: 64-bit ports, 100 pJ per read, 120 pJ per write.
"""

from __future__ import annotations

import dataclasses

import pytest

from imcmap.models.evaluator import check, evaluate, imc_rows
from imcmap.models.hardware import (
    Accelerator,
    ArrayDim,
    ImcArray,
    ImcType,
    MemoryKind,
    MemoryLevel,
)
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, Operand

REL = 1e-9


def macro(d1: int = 2, d2: int = 4) -> ImcArray:
    return ImcArray(
        ImcType.DIGITAL,
        (ArrayDim("D1", d1), ArrayDim("D2", d2)),
        input_bits=8,
        weight_bits=8,
        input_bits_per_cycle=1,
        input_toggle_rate=1.0,
        weight_sparsity=0.0,
    )


def accelerator(array: ImcArray, buffer_bits: int = 256) -> Accelerator:
    cells = MemoryLevel(
        name="cells",
        capacity_bits=8,
        operands=("I2",),
        read_bw_bits=8,
        write_bw_bits=8,
        read_energy_pj=0.0,
        write_energy_pj=0.095,
        latency_cycles=0,
        served_dims=(),
    )
    buffer = MemoryLevel(
        name="buffer",
        capacity_bits=buffer_bits,
        operands=("I1", "O"),
        read_bw_bits=32,
        write_bw_bits=32,
        read_energy_pj=2.0,
        write_energy_pj=3.0,
        served_dims=("D1", "D2"),
    )
    dram = MemoryLevel(
        name="dram",
        capacity_bits=10**9,
        operands=("I1", "I2", "O"),
        read_bw_bits=64,
        write_bw_bits=64,
        read_energy_pj=100.0,
        write_energy_pj=120.0,
        served_dims=("D1", "D2"),
        kind=MemoryKind.DRAM,
    )
    return Accelerator("tiny_dimc", (cells, buffer, dram), array)


def table(report: CostReport) -> dict[tuple[str, Operand], tuple[float, float]]:
    """(reads, writes) in elements per (level, operand)."""
    return {(a.level, a.operand): (a.reads, a.writes) for a in report.accesses}


def energy(report: CostReport) -> dict[tuple[str, str, str], float]:
    return {(e.component, e.level, e.operand): e.energy_pj for e in report.energy_breakdown}


# --- GEMM with partial sums -------------------------------------------------------------------

GEMM = Layer("fc", "Gemm", {"B": 2, "K": 4, "C": 8})  # 64 MACs
GEMM_MAPPING = Mapping(
    spatial={"D1": {"K": 2}, "D2": {"C": 4}},
    loops=(Loop("B", 2), Loop("C", 2), Loop("K", 2)),  # innermost first
    cuts={Operand.W: (1, 3), Operand.I: (3, 3), Operand.O: (3, 3)},
)


def test_gemm_traffic_by_hand() -> None:
    """GEMM B=2 K=4 C=8, D1 {K:2}, D2 {C:4}; loops (innermost first) B2 C2 K2; W keeps B2 in the cells.

    W: 8 cells used (2 cols x 4 rows), each holding 1 weight (the cells tile over B2 is 1 element).
    Above the cells cut: C2 K2, both weight-relevant, so the cells are refilled 4 times:
    4 x 1 x 8 = 32 writes = K*C, every weight written once. DRAM sends the same 4 tiles of 8
    (K2 x C4 spatial) = 32 reads. The array reads the cells 8 iterations / 2 (B2 is stationary)
    = 4 refills x 8 cells = 32 reads.
    I: the buffer keeps the whole input (B2 x C8 = 16 elements): 16 DRAM reads, 16 buffer writes.
    The array reads a C4 tile (K on D1 shares it) every iteration: no loop above cut 0 is
    I-irrelevant before B, so 8 x 4 = 32 buffer reads.
    O: the array writes a K2 tile every iteration (8 x 2 = 16 writes); only 4 tiles are distinct
    (B2 x K2), so 8 of the writes are partial sums (16 b) that are also read back (8 reads, 16 b),
    and 8 are final (8 b). The buffer then sends its whole 8 outputs (B2 x K4) to DRAM:
    8 buffer reads, 8 DRAM writes. Buffer O totals: 8 + 8 = 16 reads, 16 writes.
    """
    report = evaluate(GEMM, accelerator(macro()), GEMM_MAPPING)
    assert table(report) == {
        ("cells", Operand.W): (32, 32),
        ("buffer", Operand.I): (32, 16),
        ("buffer", Operand.O): (16, 16),
        ("dram", Operand.W): (32, 0),
        ("dram", Operand.I): (16, 0),
        ("dram", Operand.O): (0, 8),
    }
    bits = {(a.level, a.operand): (a.read_bits, a.write_bits) for a in report.accesses}
    assert bits[("buffer", Operand.O)] == (8 * 16 + 8 * 8, 8 * 16 + 8 * 8)  # psums 16 b, finals 8 b


def test_gemm_energy_by_hand() -> None:
    """Array (imc-model.md 7.5, digital): cols = 2, rows_total = rows_adder = 4, act = 64/(2*4) = 8,
    k = (Bi/Bc) act = 64.
    mult = 0.2835 fJ x Bc*Bw*D1*D2 (1*8*2*4 = 64) x k = 0.2835 x 4096 = 1161.216 fJ;
    adder trees: the full 4-input 8-bit tree has 4*9 - (8+2+1) = 25 FAs = 85.05 fJ per use,
    x Bc*cols*k = 128 uses = 10886.4 fJ; place-value tree absent (Bc = 1);
    accumulators: R = Bi + log2 D2 + Bw = 18 bits, 18 x (3.402 + 1.701) = 91.854 fJ x cols*k = 128
    = 11757.312 fJ. Array: 23.804928 pJ.
    Memories: cells 32 x 0.095 = 3.04; buffer I reads 256 b / 32 = 8 x 2 = 16, writes 128 b = 4 x 3
    = 12; buffer O 192 b each way: reads 6 x 2 = 12, writes 6 x 3 = 18; DRAM W 256 b = 4 x 100 =
    400, I 128 b = 2 x 100 = 200, O 64 b = 1 x 120 = 120. Memories: 781.04 pJ. Total 804.844928 pJ.
    """
    report = evaluate(GEMM, accelerator(macro()), GEMM_MAPPING)
    e = energy(report)
    assert e[("mult", "array", "")] == pytest.approx(1.161216, rel=REL)
    assert e[("adder_tree", "array", "")] == pytest.approx(10.8864, rel=REL)
    assert e[("accumulator", "array", "")] == pytest.approx(11.757312, rel=REL)
    for component in ("dac", "adc", "bitline", "place_value", "precharge"):
        assert e[(component, "array", "")] == 0.0
    assert e[("mem_write", "cells", "W")] == pytest.approx(3.04, rel=REL)
    assert e[("mem_read", "cells", "W")] == 0.0
    assert e[("mem_read", "buffer", "I")] == pytest.approx(16.0, rel=REL)
    assert e[("mem_write", "buffer", "I")] == pytest.approx(12.0, rel=REL)
    assert e[("mem_read", "buffer", "O")] == pytest.approx(12.0, rel=REL)
    assert e[("mem_write", "buffer", "O")] == pytest.approx(18.0, rel=REL)
    assert e[("mem_read", "dram", "W")] == pytest.approx(400.0, rel=REL)
    assert e[("mem_read", "dram", "I")] == pytest.approx(200.0, rel=REL)
    assert e[("mem_write", "dram", "O")] == pytest.approx(120.0, rel=REL)
    assert report.energy_pj == pytest.approx(804.844928, rel=REL)


def test_gemm_latency_by_hand() -> None:
    """Compute: 8 iterations x Bi/Bc = 64 cycles. Buffer (one port, one instance): reads 256 + 192
    bits = 14 cycles, writes 128 + 192 bits = 10 cycles, 24 < 64: no stall; DRAM 6 + 1 cycles.
    Weight loading stalls the macro: 256 bits over 8 cells / 8 bits = 4 cycles. Fill and drain:
    the I tile (128 b / 32) = 4 cycles before, the O tile (64 b / 32) = 2 after. Latency 74."""
    report = evaluate(GEMM, accelerator(macro()), GEMM_MAPPING)
    assert (report.compute_cycles, report.stall_cycles, report.load_cycles) == (64, 4, 6)
    assert report.latency_cycles == 74
    assert report.spatial_utilization == 1.0
    assert report.temporal_utilization == pytest.approx(64 / 74, rel=REL)


def test_gemm_mapping_needing_two_weights_per_cell_is_rejected() -> None:
    """Keeping C2 (weight-relevant) in the cells needs 2 weights = 16 bits per 8-bit cell group."""
    mapping = dataclasses.replace(GEMM_MAPPING, cuts={**GEMM_MAPPING.cuts, Operand.W: (2, 3)})
    violations = check(GEMM, accelerator(macro()), mapping)
    assert [(v.kind, v.where, v.message) for v in violations] == [
        ("capacity", "cells", "tiles need 16 bits per instance, capacity is 8")
    ]


# --- diagonal mappings (OX on D1 with FX on D2) ----------------------------------------------


def test_diagonal_mapping_needing_more_rows_than_the_macro_is_rejected() -> None:
    """D1 {K:32, OX:4}, D2 {C:32, FX:3} on a 128 x 128 macro: only 96 rows feed the adder tree, but
    neighbouring OX columns read inputs shifted by one, so the rows form a band of
    C*(OX+FX-1) = 32*6 = 192 > 128 input rows. ZigZag 3.9.1 accepts it (it checks the 96); we must not."""
    layer = Layer("conv", "Conv", {"K": 32, "C": 32, "OX": 4, "FX": 3})
    mapping = Mapping(
        spatial={"D1": {"K": 32, "OX": 4}, "D2": {"C": 32, "FX": 3}},
        loops=(),
        cuts={Operand.W: (0, 0), Operand.I: (0, 0), Operand.O: (0, 0)},
    )
    accel = accelerator(macro(128, 128), buffer_bits=2**20)
    assert imc_rows(layer, accel, mapping) == (192, 96)
    violations = check(layer, accel, mapping)
    assert [(v.kind, v.where, v.message) for v in violations] == [
        ("imc_rows", "D2", "diagonal OX/OY unrolling needs 192 input rows, the macro has 128")
    ]


def test_diagonal_mapping_on_the_small_macro_needs_six_rows() -> None:
    """D1 {OX:2}, D2 {C:2, FX:2}: 4 rows feed each adder tree, but the band is C*(OX+FX-1) = 6 > 4."""
    layer = Layer("conv", "Conv", {"K": 1, "C": 2, "OX": 2, "FX": 2})
    mapping = Mapping(
        spatial={"D1": {"OX": 2}, "D2": {"C": 2, "FX": 2}},
        loops=(),
        cuts={Operand.W: (0, 0), Operand.I: (0, 0), Operand.O: (0, 0)},
    )
    violations = check(layer, accelerator(macro()), mapping)
    assert [(v.kind, v.message) for v in violations] == [
        ("imc_rows", "diagonal OX/OY unrolling needs 6 input rows, the macro has 4")
    ]


DIAGONAL = Layer("conv", "Conv", {"K": 2, "C": 1, "OX": 2, "FX": 3})  # 12 MACs, inputs IX = 4
DIAGONAL_MAPPING = Mapping(
    spatial={"D1": {"OX": 2}, "D2": {"FX": 3}},
    loops=(Loop("K", 2),),
    cuts={Operand.W: (0, 1), Operand.I: (1, 1), Operand.O: (1, 1)},
)


def test_legal_diagonal_mapping_is_priced_by_hand() -> None:
    """Conv K=2 C=1 OX=2 FX=3, D1 {OX:2}, D2 {FX:3}, loop K2: rows_total = OX+FX-1 = 4 = D2 (legal),
    rows_adder = 3.
    Traffic. W: 6 cells used (2 cols x 3 rows), one weight each, refilled for each K (relevant):
    2 x 6 = 12 cell writes, as each column holds its own copy of the 3 taps; DRAM reads each of
    the 6 weights once (dram serves both dims: 2 x FX3). I: the buffer keeps the 4 inputs (IX = 4):
    4 DRAM reads, 4 buffer writes; the array reads the 4-input window once (K is I-irrelevant):
    4 buffer reads. O: 2 K iterations x 2 outputs = 4 final writes (no partial sums: C and FX are
    spatial), then 4 buffer reads and 4 DRAM writes.
    Array: cols = 2, act = 12/(2*3) = 2, k = 16. mult = 0.2835 x 64 x 16 = 290.304 fJ; the adder
    tree has 3 of 4 inputs live: a full 2-input subtree (8 FAs), the 9-bit root (9 FAs) and one
    8-bit half-activated node: 17 x 3.402 + 8 x 1.701 = 71.442 fJ x Bc*cols*k = 32 -> 2286.144 fJ;
    accumulators 91.854 x 32 = 2939.328 fJ. Array 5.515776 pJ.
    Memories: cells 12 x 0.095 = 1.14; buffer I 32 b read (1 x 2) and written (1 x 3), O likewise
    (2 + 3); DRAM W 48 b = 0.75 x 100 = 75, I 32 b = 0.5 x 100 = 50, O 32 b = 0.5 x 120 = 60.
    Memories 196.14 pJ; total 201.655776 pJ."""
    accel = accelerator(macro())
    assert check(DIAGONAL, accel, DIAGONAL_MAPPING) == []
    assert imc_rows(DIAGONAL, accel, DIAGONAL_MAPPING) == (4, 3)
    report = evaluate(DIAGONAL, accel, DIAGONAL_MAPPING)
    assert table(report) == {
        ("cells", Operand.W): (12, 12),
        ("buffer", Operand.I): (4, 4),
        ("buffer", Operand.O): (4, 4),
        ("dram", Operand.W): (6, 0),
        ("dram", Operand.I): (4, 0),
        ("dram", Operand.O): (0, 4),
    }
    e = energy(report)
    assert e[("mult", "array", "")] == pytest.approx(0.290304, rel=REL)
    assert e[("adder_tree", "array", "")] == pytest.approx(2.286144, rel=REL)
    assert e[("accumulator", "array", "")] == pytest.approx(2.939328, rel=REL)
    assert e[("mem_write", "cells", "W")] == pytest.approx(1.14, rel=REL)
    assert e[("mem_read", "dram", "W")] == pytest.approx(75.0, rel=REL)
    assert e[("mem_read", "dram", "I")] == pytest.approx(50.0, rel=REL)
    assert e[("mem_write", "dram", "O")] == pytest.approx(60.0, rel=REL)
    assert report.energy_pj == pytest.approx(201.655776, rel=REL)


def test_precharge_counts_weight_switches_of_multi_weight_groups():
    """A macro whose cell groups hold M = 2 weights pays one precharge per weight handed to the array:
    GEMM B4 C2 K2 on D1=2 (K) x D2=2 (C), loops [B4] under the cells: W is stationary over B, so the
    array reads 4 weights (one per cell group) once: 4 precharges x (Cg/2 V^2 + Cg/2 V^2 M) x Bw =
    4 x (0.35 + 0.70) fF x 0.81 V^2 x 8 = 27.216 fJ = 0.027216 pJ at 0.9 V."""
    from imcmap.models.evaluator import evaluate
    from imcmap.models.hardware import Accelerator, ArrayDim, ImcArray, ImcType, MemoryLevel
    from imcmap.models.mapping import Loop, Mapping
    from imcmap.models.workload import Layer, Operand

    array = ImcArray(ImcType.DIGITAL, (ArrayDim("D1", 2), ArrayDim("D2", 2)), 8, 8, 8, cells_per_group=2,
                     input_toggle_rate=1.0, weight_sparsity=0.0)
    cells = MemoryLevel(
        name="cells",
        capacity_bits=16,
        operands=("I2",),
        read_bw_bits=8,
        write_bw_bits=8,
        read_energy_pj=0.0,
        write_energy_pj=0.1,
    )
    top = MemoryLevel(
        name="top",
        capacity_bits=1 << 20,
        operands=("I1", "I2", "O"),
        read_bw_bits=64,
        write_bw_bits=64,
        read_energy_pj=1.0,
        write_energy_pj=1.0,
        served_dims=("D1", "D2"),
    )
    accel = Accelerator("m2", (cells, top), array)
    layer = Layer("g", "Gemm", {"B": 4, "C": 2, "K": 2})
    mapping = Mapping(
        {"D1": {"K": 2}, "D2": {"C": 2}}, (Loop("B", 4),), {Operand.W: (1, 1), Operand.I: (1,), Operand.O: (1,)}
    )
    report = evaluate(layer, accel, mapping)
    precharge = sum(e.energy_pj for e in report.energy_breakdown if e.component == "precharge")
    assert precharge == pytest.approx(4 * (0.35 + 0.70) * 0.81 * 8 / 1000)
