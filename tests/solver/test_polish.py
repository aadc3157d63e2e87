"""solver/polish.py: the local search after CP-SAT on hardware priced by rules the model does not encode."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.evaluator import (
    IllegalMapping,
    WalkCache,
    check,
    evaluate,
    objective_cost,
)
from imcmap.models.mapping import Mapping
from imcmap.models.workload import Operand
from imcmap.solver.polish import (
    distinct,
    merge_loops,
    neighbours,
    polish,
    split_to_primes,
)

from .brute import legal_mappings
from .fixtures import with_zigzag_rules
from .test_oracle import random_case

SEEDS = range(6)


def _some_mappings(seed: int, every: int = 97):
    layer, accel = random_case(seed)
    zz = with_zigzag_rules(accel)
    return layer, zz, [m for k, m in enumerate(legal_mappings(layer, zz)) if k % every == 0]


@pytest.mark.parametrize("seed", SEEDS)
def test_splitting_into_primes_changes_no_cost(seed: int) -> None:
    """Every rule reads products of adjacent loops, so a nest split into prime loops (and merged back)
    costs exactly the same, under ZigZag's rules too."""
    layer, zz, mappings = _some_mappings(seed)
    for mapping in mappings:
        split = split_to_primes(mapping)
        assert all(loop.size in (2, 3, 5, 7) for loop in split.loops)
        for other in (split, merge_loops(split)):
            assert check(layer, zz, other) == []
            a, b = evaluate(layer, zz, mapping), evaluate(layer, zz, other)
            assert (b.energy_pj, b.latency_cycles) == pytest.approx((a.energy_pj, a.latency_cycles), rel=1e-12)


def test_each_start_is_walked_once() -> None:
    """Equal nests (as CP-SAT's assignments decode them) are walked once, in order: [a, a, b, a, c] -> [a, b, c]."""
    _, _, mappings = _some_mappings(2, every=5)
    a, b, c = mappings[:3]
    assert len({repr(m) for m in (a, b, c)}) == 3
    assert distinct([a, a, b, a, c]) == [a, b, c]
    assert distinct([a, a]) == [a]


def test_neighbours_keep_cuts_ordered() -> None:
    _, _, mappings = _some_mappings(1)
    for mapping in mappings[:5]:
        for n in neighbours(split_to_primes(mapping)):
            for cuts in n.cuts.values():
                assert list(cuts) == sorted(cuts) and cuts[-1] == len(n.loops)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("objective", ["energy", "latency"])
def test_polish_never_worsens_and_respects_the_judge(seed: int, objective: str) -> None:
    """From any legal start the result is legal, allowed by the judge, no costlier, and the same on a rerun."""
    layer, zz, mappings = _some_mappings(seed, every=211)
    metric = (lambda r: r.energy_pj) if objective == "energy" else (lambda r: r.latency_cycles)

    def keep_w(m: Mapping) -> bool:  # a user-like constraint
        return m.cuts[Operand.W][0] == mappings[0].cuts[Operand.W][0]

    for start in mappings[:4]:
        allowed = keep_w if keep_w(start) else (lambda m: True)
        result, report, spent = polish(layer, zz, start, objective, allowed, budget=200)
        assert check(layer, zz, result) == [] and allowed(result)
        assert metric(report) <= metric(evaluate(layer, zz, start)) * (1 + 1e-12)
        assert report == evaluate(layer, zz, result) and spent <= 200
        assert polish(layer, zz, start, objective, allowed, budget=200)[0] == result


# seed 3's best unrolling prices every nest the same: there is nothing to walk down from
@pytest.mark.parametrize("seed", [s for s in SEEDS if s != 3])
def test_polish_walks_down_from_the_worst_nest(seed: int) -> None:
    """From the costliest legal nest of the layer's best spatial unrolling, the walk finds a cheaper one."""
    layer, zz, _ = _some_mappings(seed)
    best_spatial = min(legal_mappings(layer, zz), key=lambda m: evaluate(layer, zz, m).energy_pj).spatial
    same = [m for m in legal_mappings(layer, zz) if m.spatial == best_spatial]
    worst = max(same, key=lambda m: evaluate(layer, zz, m).energy_pj)
    low = min(evaluate(layer, zz, m).energy_pj for m in same)
    start = evaluate(layer, zz, worst).energy_pj
    assert start > low * (1 + 1e-9), "the case needs nests of different costs"
    _, report, _ = polish(layer, zz, worst, "energy", lambda m: True)
    assert report.energy_pj < start


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_cost_is_evaluates_figure_to_the_last_bit(seed: int) -> None:
    """The polish prices nests with ``objective_cost``, which leaves out what the objective does not need;
    on ZigZag's rules and on imcmap's own it gives ``evaluate``'s energy, latency and their product
    exactly (compared with ==), and rejects what ``evaluate`` rejects."""
    layer, zz, mappings = _some_mappings(seed, every=13)
    _, own = random_case(seed)
    for accel in (zz, own):
        for mapping in mappings:
            report = evaluate(layer, accel, mapping)
            want = {"energy": report.energy_pj, "latency": report.latency_cycles,
                    "edp": report.energy_pj * report.latency_cycles}
            assert {objective: objective_cost(layer, accel, mapping, objective) for objective in want} == want
    illegal = replace(mappings[0], loops=mappings[0].loops[1:]) if mappings[0].loops else None
    if illegal is not None:
        with pytest.raises(IllegalMapping):
            evaluate(layer, zz, illegal)
        with pytest.raises(IllegalMapping):
            objective_cost(layer, zz, illegal, "latency")


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_cost_under_a_limit_decides_as_the_full_figure(seed: int) -> None:
    """With ``limit``: the exact figure when it is within the limit (and the nest fits, else
    ``IllegalMapping``), some value above the limit when the figure is above it (fitting or not). So the
    polish, which accepts a nest when its price is within the limit, accepts exactly what it did."""
    layer, zz, mappings = _some_mappings(seed, every=7)
    shrunk = replace(zz, memories=tuple(replace(m, capacity_bits=max(8, m.capacity_bits // 4)) for m in zz.memories))
    seen = {"within": 0, "above": 0, "illegal": 0}
    for accel in (zz, shrunk):
        for mapping in mappings:
            for objective in ("energy", "latency", "edp"):
                try:
                    exact = objective_cost(layer, accel, mapping, objective)
                except IllegalMapping:
                    with pytest.raises(IllegalMapping):
                        objective_cost(layer, accel, mapping, objective, float("inf"))
                    assert objective_cost(layer, accel, mapping, objective, -1.0) > -1.0
                    seen["illegal"] += 1
                    continue
                for factor in (0.5, 0.999, 1.0, 2.0):
                    got = objective_cost(layer, accel, mapping, objective, exact * factor)
                    if exact <= exact * factor:
                        assert got == exact
                        seen["within"] += 1
                    else:
                        assert got > exact * factor
                        seen["above"] += 1
    assert all(seen.values()), seen


@pytest.mark.parametrize("seed", SEEDS)
def test_a_walk_cache_changes_no_price(seed: int) -> None:
    """One ``WalkCache`` across nests of several spatial unrollings (it starts afresh when the unrolling
    changes) prices each nest exactly as a fresh evaluation does, illegal ones included."""
    layer, zz, mappings = _some_mappings(seed, every=3)
    firsts: dict[str, object] = {}
    for m in mappings:
        firsts.setdefault(repr(m.spatial), m)
    walks = [[m, *list(neighbours(split_to_primes(m)))[:15]] for m in list(firsts.values())[:3]]
    nests = [n for group in zip(*walks, strict=False) for n in group]  # interleaved: the cache must start afresh often
    cache = WalkCache(layer, zz)
    for nest in nests:
        for objective in ("energy", "latency"):
            try:
                fresh = objective_cost(layer, zz, nest, objective)
            except IllegalMapping:
                with pytest.raises(IllegalMapping):
                    objective_cost(layer, zz, nest, objective, cache=cache)
                continue
            assert objective_cost(layer, zz, nest, objective, cache=cache) == fresh
