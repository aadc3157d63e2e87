"""Hand-checkable evaluator cases: the arithmetic is in each docstring."""

from __future__ import annotations

import pytest

from imcmap.models.evaluator import IllegalMapping, check, evaluate
from imcmap.models.hardware import Accelerator, ArrayDim, DigitalArray, MemoryLevel
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import Layer, Operand, Precision


def one_level_accel(capacity_bits: int = 10_000, ports: int = 1) -> Accelerator:
    """One memory holding everything (8-bit port, 1 pJ per read, 2 pJ per write) over a single PE."""
    mem = MemoryLevel(
        name="mem",
        capacity_bits=capacity_bits,
        operands=("I1", "I2", "O"),
        read_bw_bits=8,
        write_bw_bits=8,
        read_energy_pj=1.0,
        write_energy_pj=2.0,
        served_dims=("D1",),
        ports=ports,
    )
    return Accelerator("one", (mem,), DigitalArray((ArrayDim("D1", 1),), mac_energy_pj=0.5))


GEMM = Layer("mm", "Gemm", {"B": 2, "C": 2, "K": 2}, precision=Precision(8, 8, 8, 16))


def mapping(*order: str) -> Mapping:
    loops = tuple(Loop(d, 2) for d in order)
    n = len(loops)
    return Mapping(spatial={}, loops=loops, cuts={Operand.W: (n,), Operand.I: (n,), Operand.O: (n,)})


def test_gemm_reduction_innermost():
    """C innermost: W and I read 8 times each (8 pJ each); O accumulates in the PE over C, so
    4 final 8-bit writes (4 x 2 pJ = 8 pJ) and no partial-sum reads; 8 MACs x 0.5 = 4 pJ; 28 pJ.
    Latency: 8 compute cycles, one shared 8-bit port moves 64+64 read bits and 32 write bits = 20 cycles."""
    report = evaluate(GEMM, one_level_accel(), mapping("C", "K", "B"))
    assert report.energy_pj == pytest.approx(28.0)
    assert report.compute_cycles == 8
    assert report.latency_cycles == pytest.approx(20.0)
    assert report.stall_cycles == pytest.approx(12.0)
    assert report.spatial_utilization == 1.0
    assert report.temporal_utilization == pytest.approx(8 / 20)


def test_gemm_output_channel_innermost():
    """K innermost: I stays for 2 MACs (4 reads, 4 pJ), W 8 reads (8 pJ); O is revisited: 4 psum
    writes of 16 b + 4 final of 8 b = 96 b = 12 words x 2 pJ = 24 pJ, and 4 psum reads = 8 words = 8 pJ;
    MACs 4 pJ; 48 pJ in all."""
    report = evaluate(GEMM, one_level_accel(), mapping("K", "C", "B"))
    assert report.energy_pj == pytest.approx(48.0)
    by = {(a.level, a.operand): a for a in report.accesses}
    assert by[("mem", Operand.I)].reads == 4
    assert by[("mem", Operand.O)].reads == 4
    assert by[("mem", Operand.O)].writes == 8


def test_capacity_violation_is_explained():
    """Whole tensors sit in the one level: 4 W + 4 I bytes, and the 4 outputs accumulate there over C as
    16-bit partial sums: 32 + 32 + 64 = 128 bits do not fit in 64."""
    violations = check(GEMM, one_level_accel(capacity_bits=64), mapping("C", "K", "B"))
    assert [v.kind for v in violations] == ["capacity"]
    assert "128 bits" in violations[0].message
    with pytest.raises(IllegalMapping):
        evaluate(GEMM, one_level_accel(capacity_bits=64), mapping("C", "K", "B"))


def test_factorization_violation():
    """Loops that do not multiply to the layer's dimensions are rejected, not priced."""
    bad = mapping("C", "K")
    kinds = {(v.kind, v.where) for v in check(GEMM, one_level_accel(), bad)}
    assert ("factorization", "B") in kinds
