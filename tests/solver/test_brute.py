"""The oracle itself: it must list every legal mapping once, including those whose level cuts fall
between two factors of one loop dimension."""

from __future__ import annotations

from collections import Counter

from imcmap.models.evaluator import evaluate
from imcmap.models.mapping import Loop
from imcmap.models.workload import Layer

from .brute import brute_force, legal_mappings
from .fixtures import oracle_digital, with_zigzag_rules


def _key(mapping) -> tuple:
    return (repr(mapping.spatial), mapping.loops, tuple(sorted((op.value, c) for op, c in mapping.cuts.items())))


def test_cuts_may_split_the_factors_of_one_dim_and_each_mapping_comes_once():
    """K 4 on a 1x2 digital array, C 2 unrolled: among the mappings are K 2 | K 2 with a cut between the two
    K loops (which one K 4 loop cannot show), and no mapping is listed twice."""
    layer = Layer("k4", "Gemm", {"B": 1, "K": 4, "C": 2})
    accel = oracle_digital(d1=1, d2=2, rf_bits=32, buf_bits=64)
    mappings = list(legal_mappings(layer, accel))
    assert max(Counter(_key(m) for m in mappings).values()) == 1
    split = [m for m in mappings if m.loops == (Loop("K", 2), Loop("K", 2))]
    assert split and all(any(1 in cuts for cuts in m.cuts.values()) for m in split)


def test_a_split_dim_can_be_the_optimum_under_zigzag_rules():
    """On ZigZag's rules the cheapest latency of that case needs K 2 | K 2: its best mapping splits K, at
    fewer cycles than any mapping with K whole (the oracle once missed it: the solver found 8 cycles
    where the oracle's minimum said 10)."""
    layer = Layer("k4", "Gemm", {"B": 1, "K": 4, "C": 2})
    accel = with_zigzag_rules(oracle_digital(d1=1, d2=2, rf_bits=32, buf_bits=64))
    best, mapping, _ = brute_force(layer, accel, lambda r: r.latency_cycles)
    whole = min(evaluate(layer, accel, m).latency_cycles for m in legal_mappings(layer, accel)
                if all(loop.size == 4 for loop in m.loops if loop.dim == "K"))
    assert mapping is not None and len([loop for loop in mapping.loops if loop.dim == "K"]) == 2
    assert best < whole
