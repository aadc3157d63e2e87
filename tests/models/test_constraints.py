"""``models.constraints``: the judge of user constraints (``constraint_holds``), scopes, bypasses and
the in-segment loop order, on a hand-built mapping whose figures are worked out below.

The case: a Conv K 8, C 4, OX 4, FX 3 on an IMC array 8 x 8 (cells W; buf I, O; dram), mapped as

    spatial D1 K4 OX2 (diagonal), D2 C4; loops (FX3, K2, OX2), innermost first
    cuts W (1, 3): cells keep FX3; I (0, 3): buf keeps nothing; O (2, 3): buf keeps FX3 K2
"""

from __future__ import annotations

import pytest

from imcmap.models.constraints import (
    Bypass,
    BypassError,
    DiagonalRule,
    LoopOrder,
    SpatialBound,
    Stationary,
    TileBound,
    UtilizationBound,
    apply_bypass,
    before_in_segment,
    compare,
    constraint_holds,
    is_diagonal,
    order_pair_possible,
    scope_matches,
    spatial_utilization,
)
from imcmap.models.hardware import Accelerator, ArrayDim, DigitalArray, ImcArray, ImcType, MemoryLevel
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop, Mapping
from imcmap.models.workload import Layer, Operand

W, I, O = Operand.W, Operand.I, Operand.O
LAYER = Layer("layer1.conv", "Conv", {"K": 8, "C": 4, "OX": 4, "FX": 3})


def level(name: str, operands: list[str], served: tuple[str, ...] = ("D1", "D2")) -> MemoryLevel:
    return MemoryLevel(
        name=name,
        capacity_bits=1 << 20,
        operands=tuple(operands),
        read_bw_bits=64,
        write_bw_bits=64,
        read_energy_pj=1.0,
        write_energy_pj=1.0,
        served_dims=served,
    )


DIMS = (ArrayDim("D1", 8), ArrayDim("D2", 8))
ACCEL = Accelerator(
    "imc",
    (level("cells", ["I2"], ()), level("buf", ["I1", "O"]), level("dram", ["I1", "I2", "O"])),
    ImcArray(ImcType.DIGITAL, DIMS, 8, 8, 1),
)
MAPPING = Mapping(
    spatial={"D1": {"K": 4, "OX": 2}, "D2": {"C": 4}},
    loops=(Loop("FX", 3), Loop("K", 2), Loop("OX", 2)),
    cuts={W: (1, 3), I: (0, 3), O: (2, 3)},
)


def holds(body) -> bool:
    return constraint_holds(body, LAYER, ACCEL, MAPPING)


def test_compare_supports_every_operator():
    """3 >= 3, 3 <= 3, 3 == 3 hold; 3 > 3 and 3 < 3 do not."""
    assert [compare(3, op, 3) for op in (">=", "<=", "==", ">", "<")] == [True, True, True, False, False]


def test_spatial_bound_over_one_or_every_array_dim():
    """K: 4 on D1 (and 1 on D2), so spatial.D1.K == 4 and spatial.K == 4; C 4 on D2; FX is not unrolled,
    so forbid spatial.D2.FX (== 1) holds."""
    assert holds(SpatialBound("D1", "K", "==", 4))
    assert holds(SpatialBound(None, "K", "==", 4))
    assert not holds(SpatialBound("D2", "C", "<", 4))
    assert holds(SpatialBound("D2", "FX", "==", 1))


def test_diagonal_and_utilization():
    """OX on D1 makes the mapping diagonal; D1 uses 4*2 = 8 of 8, D2 4 of 8: 32 / 64 = 0.5."""
    assert is_diagonal(ACCEL, MAPPING)
    assert holds(DiagonalRule(required=True)) and not holds(DiagonalRule(required=False))
    assert spatial_utilization(ACCEL, MAPPING) == (32, 64)
    assert holds(UtilizationBound(">=", 0.5)) and not holds(UtilizationBound(">", 0.5))


def test_a_digital_array_is_never_diagonal():
    """OX over D1 of a PE array is plain unrolling: is_diagonal is for IMC columns only."""
    digital = Accelerator("d", ACCEL.memories, DigitalArray(DIMS, 0.1))
    assert not is_diagonal(digital, MAPPING)


def test_stationary():
    """W at cells (cut 1): above it K2 (W-relevant) -> refilled, not stationary. O at buf (cut 2): above
    it OX2, O-relevant -> not stationary. I at buf (cut 0): above FX3 K2 OX2, FX relevant -> no. At
    the top level (dram) it always holds; at a level not holding the operand it never does."""
    assert not holds(Stationary(W, "cells"))
    assert not holds(Stationary(O, "buf"))
    assert not holds(Stationary(I, "buf"))
    assert holds(Stationary(W, "dram"))
    assert not holds(Stationary(W, "buf"))


def test_stationary_with_only_irrelevant_loops_above():
    """W's cells cut moved up to 2: only OX2, which W ignores, runs above it, so W's cells tile is
    loaded once (refills = 2 / 2 = 1)."""
    mapping = Mapping(MAPPING.spatial, (Loop("FX", 3), Loop("K", 2), Loop("OX", 2)), {W: (2, 3), I: (0, 3), O: (2, 3)})
    assert constraint_holds(Stationary(W, "cells"), LAYER, ACCEL, mapping)  # only OX2 above: W ignores it


def test_tile_bound():
    """W at cells: FX3 below its cut, nothing served: 3 weights. O at buf: FX3 K2 below the cut and
    D1 K4 OX2, D2 C4 served: K 8 * OX 2 = 16 outputs. I at buf: nothing temporal, C4 by OX2 with FX1:
    4 * (2 + 1 - 1) = 8 inputs. A level that does not hold the operand: never."""
    assert holds(TileBound(W, "cells", "==", 3))
    assert holds(TileBound(O, "buf", "==", 16))
    assert holds(TileBound(I, "buf", "==", 8))
    assert not holds(TileBound(W, "buf", ">=", 0))


def test_loop_order():
    """At dram, W keeps K2 OX2 (K inside OX): order dram: K, OX holds, OX, K does not; I keeps all
    three at dram: FX inside K holds. At cells only FX3: any order about K is vacuous."""
    assert holds(LoopOrder("dram", ("K", "OX")))
    assert not holds(LoopOrder("dram", ("OX", "K")))
    assert holds(LoopOrder("dram", ("FX", "K")))
    assert holds(LoopOrder("cells", ("OX", "K")))
    assert not holds(LoopOrder("dram", ("OX",), rest=True))  # OX inside every other dim: FX, K are inside it


def test_bypass_holds_when_the_level_is_gone():
    """Bypass I at buf holds on the accelerator with I removed from buf, not on the original."""
    assert not holds(Bypass(I, "buf"))
    bypassed = apply_bypass(ACCEL, dict(DEFAULT_OPERAND_LINKS), Bypass(I, "buf"))
    assert [m.name for m in bypassed.chain("I1")] == ["dram"]
    assert [m.name for m in bypassed.chain("O")] == ["buf", "dram"]  # O stays
    mapping = Mapping(MAPPING.spatial, MAPPING.loops, {W: (1, 3), I: (3,), O: (2, 3)})
    assert constraint_holds(Bypass(I, "buf"), LAYER, bypassed, mapping)


@pytest.mark.parametrize(
    ("bypass", "message"),
    [
        (Bypass(I, "cells"), "cells does not hold I"),
        (Bypass(O, "dram"), "dram is O's top level"),
        (Bypass(W, "cells"), "holds the weights the IMC array computes with"),
    ],
)
def test_bypasses_that_cannot_be(bypass: Bypass, message: str):
    """A level not in the chain, the top level, and the IMC cells cannot be bypassed."""
    with pytest.raises(BypassError, match=message):
        apply_bypass(ACCEL, dict(DEFAULT_OPERAND_LINKS), bypass)


def test_scopes():
    """'*' and 'default' match all; an op type or an exact name matches; [glob] matches names."""
    assert scope_matches("*", LAYER) and scope_matches("default", LAYER)
    assert scope_matches("Conv", LAYER) and scope_matches("layer1.conv", LAYER)
    assert not scope_matches("Gemm", LAYER) and not scope_matches("layer1", LAYER)
    assert scope_matches("[layer1.*]", LAYER) and not scope_matches("[layer2.*]", LAYER)


def test_before_in_segment_follows_the_solvers_segment_order():
    """In a W-stationary segment W's irrelevant dims (B, OY, OX) come first, each group in LOOP_DIMS
    order: OX before K, K before C; in an O-stationary one C, FY, FX first: C before K. OX inside OY
    is never possible (both irrelevant to W only, OY first in LOOP_DIMS); OY inside OX is."""
    assert before_in_segment("OX", "K", W) and before_in_segment("K", "C", W)
    assert before_in_segment("C", "K", O) and not before_in_segment("K", "C", O)
    assert not order_pair_possible("OX", "OY") and order_pair_possible("OY", "OX")
    assert order_pair_possible("FX", "K") and not order_pair_possible("FX", "C")
