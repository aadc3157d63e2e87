"""``models.workload``: operand relevance, input positions under stride and dilation, footprints and
the layer signature, worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imcmap.models.workload import (
    LOOP_DIMS,
    OPERANDS,
    RELEVANT_DIMS,
    Layer,
    Operand,
    Precision,
    end_padding_reached,
    input_positions,
    is_relevant,
)


def test_each_dim_is_irrelevant_to_exactly_one_operand_except_g():
    """W ignores B, OX, OY; I ignores K; O ignores C, FX, FY; G indexes all three (groups)."""
    irrelevant = {op: {d for d in LOOP_DIMS if not is_relevant(op, d)} for op in OPERANDS}
    assert irrelevant == {Operand.W: {"B", "OY", "OX"}, Operand.I: {"K"}, Operand.O: {"C", "FY", "FX"}}
    assert all("G" in RELEVANT_DIMS[op] for op in OPERANDS)


def test_precision_bits_by_operand():
    """W and I at their bits; O at o_bits when final, psum_bits while partial."""
    p = Precision(w_bits=4, i_bits=6, o_bits=8, psum_bits=20)
    assert [p.bits(Operand.W), p.bits(Operand.I), p.bits(Operand.O), p.bits(Operand.O, final=False)] == [4, 6, 8, 20]


@pytest.mark.parametrize(
    ("outputs", "taps", "stride", "dilation", "expected"),
    [
        (4, 3, 1, 1, 6),  # 4 + 3 - 1
        (4, 3, 2, 1, 9),  # 2o + f: 0..8
        (3, 2, 1, 2, 5),  # o + 2f: {0,1,2} + {0,2} = 0..4
        (3, 2, 4, 1, 6),  # 4o + f: {0,1,4,5,8,9}: the stride skips 2, 3, 6, 7
        (1, 1, 3, 3, 1),
    ],
)
def test_input_positions_by_hand(outputs: int, taps: int, stride: int, dilation: int, expected: int):
    """Distinct stride*o + dilation*f for o < outputs, f < taps (cases worked beside each row)."""
    assert input_positions(outputs, taps, stride, dilation) == expected


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3))
def test_input_positions_is_the_set_size(outputs: int, taps: int, stride: int, dilation: int):
    """The count equals the size of the set it describes, and never exceeds the span or the products."""
    positions = {stride * o + dilation * f for o in range(outputs) for f in range(taps)}
    n = input_positions(outputs, taps, stride, dilation)
    assert n == len(positions)
    assert n <= min(outputs * taps, stride * (outputs - 1) + dilation * (taps - 1) + 1)


def test_input_extent_stops_at_the_unpadded_input():
    """OX 8, FX 3, padding 1 left and right: the full window spans 8 + 3 - 1 = 10 positions, of which
    8 are data; a tile of all 8 outputs and 3 taps touches 10 positions but only 8 stored inputs."""
    layer = Layer("c", "Conv", {"OX": 8, "FX": 3}, padding=(0, 1, 0, 1))
    assert layer.input_size("X") == 8
    assert layer.input_extent("X", 8, 3) == 8
    assert layer.input_extent("X", 4, 3) == 6
    assert layer.input_size("Y") == 1  # OY = FY = 1, no padding


def test_end_padding_reached():
    """14 data rows, 1 zero before and after, stride 2: 7 outputs with 3 taps span 2*6 + 2 + 1 = 15
    positions = 1 + 14: no end padding is read; a span of 16 reads 1 of the end zeros."""
    assert end_padding_reached(15, 1, 1, 14) == 0
    assert end_padding_reached(16, 1, 1, 14) == 1
    assert end_padding_reached(30, 1, 1, 14) == 1  # never more than there are


def test_footprints_of_a_conv_by_hand():
    """B2 K4 C3 OY2 OX4 FY3 FX3, stride 1: W = 4*3*3*3 = 108, O = 2*4*2*4 = 64, I = 2*3*(2+3-1)*(4+3-1)
    = 2*3*4*6 = 144; a tile of OX 2, FX 3 only: I = 1 * (2 + 3 - 1) = 4 columns by 1 row."""
    layer = Layer("c", "Conv", {"B": 2, "K": 4, "C": 3, "OY": 2, "OX": 4, "FY": 3, "FX": 3})
    assert [layer.operand_size(op) for op in OPERANDS] == [108, 144, 64]
    assert layer.footprint(Operand.I, {"OX": 2, "FX": 3}) == 4
    assert layer.macs == 2 * 4 * 3 * 2 * 4 * 3 * 3


def test_size_of_an_absent_dim_is_one():
    """Dims not given have size 1 (a Gemm has no OX)."""
    assert Layer("g", "Gemm", {"K": 4}).size("OX") == 1


def test_signature_ignores_names_and_sources_only():
    """Two layers with the same op, sizes, stride, dilation and precision cost the same; a different
    stride or precision does not."""
    a = Layer("a", "Conv", {"K": 4, "OX": 4}, sources=("x",))
    b = Layer("b", "Conv", {"K": 4, "OX": 4})
    assert a.signature() == b.signature()
    assert a.signature() != Layer("a", "Conv", {"K": 4, "OX": 4}, stride=(1, 2)).signature()
    assert a.signature() != Layer("a", "Conv", {"K": 4, "OX": 4}, precision=Precision(o_bits=16)).signature()
    assert a.signature() != Layer("a", "Gemm", {"K": 4, "OX": 4}).signature()


def test_signature_tells_padding_apart():
    """A 3x3 conv with 4 outputs a side reads 6 x 6 = 36 input positions unpadded, but 4 x 4 = 16 with
    one zero on every side (the zeros are not stored): the two cost differently, so they are not one
    layer to solve."""
    dims = {"K": 2, "C": 1, "OY": 4, "OX": 4, "FY": 3, "FX": 3}
    unpadded, padded = Layer("u", "Conv", dims), Layer("p", "Conv", dims, padding=(1, 1, 1, 1))
    assert (unpadded.operand_size(Operand.I), padded.operand_size(Operand.I)) == (36, 16)
    assert unpadded.signature() != padded.signature()
