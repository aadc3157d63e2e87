"""Local search on the exact evaluator, after CP-SAT: for costs the model does not encode.

The CP-SAT model encodes imcmap's own rules. On hardware priced by other rules (ZigZag 3.9.1's, for
ZigZag files) its optimum is a good start, not the end: ``polish`` walks from it by first-improvement
hill climbing (sideways steps allowed, never back to a visited nest), every step priced by
``evaluate``'s figure for the objective (``objective_cost``, which rejects illegal nests the same way)
and judged by the user constraints, so it can only lower the exact cost of a legal mapping. Moves: take
one temporal loop out and put it back at another position (neighbours first), or move one operand's
level cut to another position, on the nest split into prime factors (splitting changes no cost: every
rule reads products of adjacent loops); the result is merged back.
Deterministic: neighbours are visited in a fixed order, with a fixed evaluation budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from imcmap.models.evaluator import IllegalMapping, WalkCache, evaluate, objective_cost
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer

from .problem import prime_factors

POLISH_EVALUATIONS = 1500  # per layer at most; about 0.6 s of evaluator time
POLISH_PATIENCE = 100  # evaluations without a strict improvement before a walk gives up
POLISH_STARTS = 3  # the cheapest model solutions walked from, sharing the evaluations
# A start priced more than this fraction above the cheapest is not walked: on energy the model ranks
# mappings much as the evaluator does; on latency it is a surrogate whose near-ties can be far apart, so
# the window is wider; on EDP every start is walked (bench/README.md).
POLISH_WINDOW: dict[str, float | None] = {"energy": 0.05, "latency": 0.2, "edp": None}


def split_to_primes(mapping: Mapping) -> Mapping:
    """The same nest with every loop split into prime-factor loops (cuts re-indexed)."""
    loops: list[Loop] = []
    position = [0]  # position[k] = number of split loops in the first k original loops
    for loop in mapping.loops:
        loops += [Loop(loop.dim, p) for p, e in sorted(prime_factors(loop.size).items()) for _ in range(e)]
        position.append(len(loops))
    cuts = {op: tuple(position[c] for c in cs) for op, cs in mapping.cuts.items()}
    return replace(mapping, loops=tuple(loops), cuts=cuts)


def merge_loops(mapping: Mapping) -> Mapping:
    """Adjacent loops of one dim with no level cut between them become one loop."""
    boundaries = {c for cs in mapping.cuts.values() for c in cs}
    loops: list[Loop] = []
    position = [0]
    for i, loop in enumerate(mapping.loops):
        if loops and loops[-1].dim == loop.dim and i not in boundaries:
            loops[-1] = Loop(loop.dim, loops[-1].size * loop.size)
        else:
            loops.append(loop)
        position.append(len(loops))
    cuts = {op: tuple(position[c] for c in cs) for op, cs in mapping.cuts.items()}
    return replace(mapping, loops=tuple(loops), cuts=cuts)


def _carry(cut: int, source: int, target: int) -> int:
    """A cut after the loop at ``source`` moves to ``target``, so that every other loop keeps its side."""
    if target < source and target < cut <= source:
        return cut + 1
    if target > source and source < cut <= target:
        return cut - 1
    return cut


def neighbours(mapping: Mapping) -> Iterator[Mapping]:
    loops = mapping.loops
    n = len(loops)
    # one loop taken out and put back elsewhere, nearest first (distance 1 = swapping neighbours); with
    # the cuts where they are (the loops in between cross one level boundary each), and with the cuts
    # carried along (every other loop keeps its levels; the moved one joins the levels at its new place)
    for distance in range(1, n):
        for i in range(n):
            for j in (i - distance, i + distance):
                if 0 <= j < n and loops[i].dim != loops[j].dim:
                    rest = loops[:i] + loops[i + 1 :]
                    moved = (*rest[:j], loops[i], *rest[j:])
                    yield replace(mapping, loops=moved)
                    carried = {op: tuple(_carry(c, i, j) for c in cuts) for op, cuts in mapping.cuts.items()}
                    if carried != mapping.cuts:
                        yield replace(mapping, loops=moved, cuts=carried)
    for op, cuts in mapping.cuts.items():
        for j in range(len(cuts) - 1):
            low, high = (cuts[j - 1] if j else 0), cuts[j + 1]
            # nearest positions first: a cut that must travel far (a tile that should grow to the whole
            # level) may see no gain on the way, so every position is one move
            for position in sorted(range(low, high + 1), key=lambda c: (abs(c - cuts[j]), c)):
                if position != cuts[j]:
                    yield replace(mapping, cuts={**mapping.cuts, op: (*cuts[:j], position, *cuts[j + 1:])})


def distinct(mappings: list[Mapping]) -> list[Mapping]:
    """Each mapping once, in order: CP-SAT assignments that differ only in variables the decoder
    ignores give one nest, and a walk from it twice is the same walk (same result, same cost)."""
    out: list[Mapping] = []
    for mapping in mappings:
        if mapping not in out:
            out.append(mapping)
    return out


def _key(mapping: Mapping) -> tuple:
    return mapping.loops, tuple(sorted((op.value, cuts) for op, cuts in mapping.cuts.items()))


def polish(
    layer: Layer,
    accel: Accelerator,
    start: Mapping,
    objective: str,
    allowed: Callable[[Mapping], bool],
    budget: int = POLISH_EVALUATIONS,
    patience: int = POLISH_PATIENCE,
) -> tuple[Mapping, CostReport, int]:
    """(best mapping found, its report, evaluations spent) from ``start``, which must be legal. Each
    nest is priced by ``objective_cost`` (the objective's figure of ``evaluate``, to the last bit)."""
    current = split_to_primes(start)
    cache = WalkCache(layer, accel)
    current_cost = objective_cost(layer, accel, current, objective, cache=cache)
    best, best_cost = current, current_cost
    seen = {_key(current)}
    spent = last_gain = 0
    moved = True
    while moved and spent < budget and spent - last_gain < patience:
        moved = False
        for candidate in neighbours(current):
            if spent >= budget or spent - last_gain >= patience:
                break
            key = _key(candidate)
            if key in seen or not allowed(candidate):
                continue
            seen.add(key)
            spent += 1
            limit = current_cost * (1 + 1e-12)
            try:  # a nest above ``limit`` is rejected whatever else it costs, so it may be priced in part
                value = objective_cost(layer, accel, candidate, objective, limit, cache)
            except IllegalMapping:
                continue
            # sideways steps too: a better nest is often two moves away across a plateau (move a loop
            # next to its kin, then the cut above both); ``seen`` keeps the walk from circling
            if value <= limit:
                current, current_cost, moved = candidate, value, True
                if value < best_cost * (1 - 1e-12):
                    best, best_cost, last_gain = candidate, value, spent
                break
    merged = merge_loops(best)
    return merged, evaluate(layer, accel, merged), spent
