"""Dynamic operands in the model: attention's W computed during inference, the layer with its operands
exchanged, and the cell writes an IMC macro pays per inference, worked by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imcmap.models.evaluator import cell_writes, evaluate
from imcmap.models.hardware import Accelerator, ArrayDim, ImcArray, ImcType, MemoryKind, MemoryLevel
from imcmap.models.mapping import Mapping
from imcmap.models.workload import Layer, Operand, Precision, exchangeable, operands_exchanged

SCORES = Layer("qk", "MatMul", {"B": 3, "G": 2, "K": 5, "C": 4}, precision=Precision(4, 8, 8, 16),
               sources=("q", "k"), dynamic_operands=frozenset({Operand.W}), weight_sources=("k",))


def test_exchangeable_only_with_a_dynamic_w_and_no_window():
    """A stored weight, or a convolution window, has one orientation only."""
    assert exchangeable(SCORES)
    assert not exchangeable(replace(SCORES, dynamic_operands=frozenset(), weight_sources=()))
    assert not exchangeable(replace(SCORES, dims={**SCORES.dims, "FX": 3, "OX": 2}))
    with pytest.raises(ValueError, match="not exchangeable"):
        operands_exchanged(replace(SCORES, dynamic_operands=frozenset()))


def test_operands_exchanged_swaps_b_and_k_and_the_precisions():
    """B 3 <-> K 5, W 4 b <-> I 8 b; the product, O's size and the MACs stay; the input's producer q is
    now the weight's; twice gives the layer back."""
    twin = operands_exchanged(SCORES)
    assert (twin.size("B"), twin.size("K"), twin.size("G"), twin.size("C")) == (5, 3, 2, 4)
    assert (twin.precision.w_bits, twin.precision.i_bits) == (8, 4)
    assert twin.macs == SCORES.macs
    assert twin.operand_size(Operand.W) == SCORES.operand_size(Operand.I)
    assert twin.operand_size(Operand.O) == SCORES.operand_size(Operand.O)
    assert twin.weight_sources == ("q",)
    assert operands_exchanged(twin) == SCORES


def _level(name: str, operands: tuple[str, ...], energy_pj: float, served: tuple[str, ...] = ("D1", "D2"),
           capacity_bits: int = 1024, kind: MemoryKind = MemoryKind.SRAM) -> MemoryLevel:
    return MemoryLevel(name, capacity_bits, operands, 8, 8, energy_pj, energy_pj, served_dims=served, kind=kind)


def _accel(w_on_chip: bool) -> Accelerator:
    """cells (1 pJ per 8-bit write) below buf (1 pJ per 8-bit access) below dram (10 pJ); a 2 x 2
    digital macro. ``w_on_chip``: the W is read from buf, where its producer left it, else from dram."""
    cells = _level("cells", ("I2",), 1.0, served=(), capacity_bits=8)
    buf = _level("buf", ("I1", "O", "I2") if w_on_chip else ("I1", "O"), 1.0)
    dram = _level("dram", ("I1", "O") if w_on_chip else ("I1", "I2", "O"), 10.0, capacity_bits=10**6,
                  kind=MemoryKind.DRAM)
    array = ImcArray(ImcType.DIGITAL, (ArrayDim("D1", 2), ArrayDim("D2", 2)), input_bits=8, weight_bits=8,
                     input_bits_per_cycle=8, input_toggle_rate=1.0, weight_sparsity=0.0)
    return Accelerator("tiny", (cells, buf, dram), array)


LAYER = Layer("pv", "MatMul", {"K": 2, "C": 2}, sources=("p", "v"), dynamic_operands=frozenset({Operand.W}),
              weight_sources=("v",))
# K on the 2 columns, C on the 2 rows, no temporal loop: every operand is loaded once
MAPPING = Mapping({"D1": {"K": 2}, "D2": {"C": 2}}, (), {Operand.W: (0, 0), Operand.I: (0, 0),
                                                      Operand.O: (0, 0)})


def test_dynamic_w_from_on_chip_and_its_cell_writes():
    """The 4 weights (32 b) are written once into the 4 cell groups: 4 writes x 1 pJ = 4 pJ, and the
    macro stalls 32 b / 4 groups / 8 b per cycle = 1 cycle. Read from dram they cost 4 reads x 10 pJ,
    from buf 4 x 1 pJ: the on-chip hierarchy is 36 pJ cheaper and nothing else changes. The cell
    writes are the same either way: they depend on the mapping, not on where W comes from."""
    mapping = MAPPING
    from_dram, from_buf = evaluate(LAYER, _accel(False), mapping), evaluate(LAYER, _accel(True), mapping)
    assert from_dram.energy_pj - from_buf.energy_pj == pytest.approx(36.0)
    for accel, report in ((_accel(False), from_dram), (_accel(True), from_buf)):
        writes = cell_writes(LAYER, accel, mapping, report)
        assert writes is not None
        assert (writes.bits, writes.energy_pj, writes.stall_cycles) == pytest.approx((32, 4.0, 1.0))
        assert cell_writes(LAYER, accel, mapping) == writes  # the same without the report at hand
    # the slowest port is buf's one 8-bit port either way; from buf it also carries W's 32 b: 4 cycles
    assert from_buf.latency_cycles - from_dram.latency_cycles == pytest.approx(4.0)


@given(b=st.integers(1, 64), g=st.integers(1, 16), k=st.integers(1, 64), c=st.integers(1, 64),
       w_bits=st.sampled_from([2, 4, 8, 16]), i_bits=st.sampled_from([2, 4, 8, 16]))
def test_exchanging_operands_is_an_involution_that_swaps_i_and_w(b, g, k, c, w_bits, i_bits):
    """For any matrix product: twice gives the layer back; the MACs and O stay, I and W trade sizes and
    bits."""
    layer = Layer("x", "MatMul", {"B": b, "G": g, "K": k, "C": c}, precision=Precision(w_bits, i_bits, 8, 16),
                  sources=("p", "q"), dynamic_operands=frozenset({Operand.W}), weight_sources=("q",))
    twin = operands_exchanged(layer)
    assert operands_exchanged(twin) == layer
    assert twin.macs == layer.macs and twin.operand_size(Operand.O) == layer.operand_size(Operand.O)
    assert (twin.operand_size(Operand.W), twin.operand_size(Operand.I)) == (
        layer.operand_size(Operand.I), layer.operand_size(Operand.W))
    assert (twin.precision.w_bits, twin.precision.i_bits) == (i_bits, w_bits)
