"""``models.mapping``: the loop nest's queries (factors per dim, array use, the loops each operand
keeps at each level), by hand."""

from __future__ import annotations

from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop, Mapping
from imcmap.models.workload import Operand

W, I, O = Operand.W, Operand.I, Operand.O
MAPPING = Mapping(
    spatial={"D1": {"K": 4, "OX": 2}, "D2": {"C": 3}, "D3": {"K": 2}},
    loops=(Loop("B", 2), Loop("C", 2), Loop("K", 2), Loop("B", 3)),
    cuts={W: (1, 4), I: (0, 2, 4), O: (3, 4)},
)


def test_spatial_factor_over_all_or_some_array_dims():
    """K: 4 on D1 x 2 on D3 = 8 over all; 4 over D1 alone; 2 over D2, D3; absent dims give 1."""
    assert MAPPING.spatial_factor("K") == 8
    assert MAPPING.spatial_factor("K", ("D1",)) == 4
    assert MAPPING.spatial_factor("K", ("D2", "D3")) == 2
    assert MAPPING.spatial_factor("FX") == 1


def test_array_dim_use_multiplies_every_dim_on_it():
    """D1 K4 OX2: 8 units; D2: 3; an unused array dim: 1."""
    assert [MAPPING.array_dim_use(d) for d in ("D1", "D2", "D4")] == [8, 3, 1]


def test_temporal_factor_multiplies_every_loop_of_the_dim():
    """B: 2 * 3 = 6; K: 2; OY (no loop): 1."""
    assert [MAPPING.temporal_factor(d) for d in ("B", "K", "OY")] == [6, 2, 1]


def test_loops_at_each_level_are_the_slices_between_cuts():
    """W cuts (1, 4): level 0 keeps B2, level 1 the rest; I cuts (0, 2, 4): nothing at level 0, B2 C2
    at level 1, K2 B3 at level 2; the slices of one operand cover the nest once."""
    assert MAPPING.loops_at(W, 0) == (Loop("B", 2),)
    assert MAPPING.loops_at(W, 1) == (Loop("C", 2), Loop("K", 2), Loop("B", 3))
    assert MAPPING.loops_at(I, 0) == ()
    assert MAPPING.loops_at(I, 1) == (Loop("B", 2), Loop("C", 2))
    assert MAPPING.loops_at(I, 2) == (Loop("K", 2), Loop("B", 3))
    for op, cuts in MAPPING.cuts.items():
        assert sum((MAPPING.loops_at(op, i) for i in range(len(cuts))), ()) == MAPPING.loops


def test_default_links_and_independent_copies():
    """W, I, O read memory operands I2, I1, O by default; each mapping gets its own dict."""
    assert MAPPING.operand_links == {W: "I2", I: "I1", O: "O"} == DEFAULT_OPERAND_LINKS
    other = Mapping({}, (), {})
    other.operand_links[W] = "I1"
    assert MAPPING.operand_links[W] == "I2"
