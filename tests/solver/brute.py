"""A brute-force mapper for tiny layers: every spatial unrolling, every order of the temporal prime
factors, every per-operand set of level cuts between them (also between two factors of one dim), each
mapping once, priced by the evaluator. It shares nothing with the solver but the evaluator, so it is
the oracle the solver is judged by."""

from __future__ import annotations

from itertools import combinations_with_replacement, permutations, product
from math import prod

from imcmap.models.evaluator import check, evaluate
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop, Mapping
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer


def _factor(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _spatial_options(layer: Layer, accel: Accelerator) -> list[dict[str, dict[str, int]]]:
    """Every assignment of divisor factors of each loop dim to each array dim (legality left to check())."""
    per_array_dim = []
    for adim in accel.array_dims:
        options = [{}]
        for dim in LOOP_DIMS:
            n = layer.size(dim)
            grown = []
            for partial in options:
                for f in range(1, n + 1):
                    if n % f == 0 and prod(partial.values()) * f <= adim.size:
                        grown.append({**partial, dim: f} if f > 1 else partial)
            options = grown
        per_array_dim.append([(adim.name, o) for o in options])
    result = []
    for combo in product(*per_array_dim):
        spatial = {name: unroll for name, unroll in combo if unroll}
        if all(layer.size(d) % prod(u.get(d, 1) for u in spatial.values()) == 0 for d in LOOP_DIMS):
            result.append(spatial)
    return result


def _orders(layer: Layer, spatial: dict[str, dict[str, int]]) -> set[tuple[tuple[str, int], ...]]:
    """Every order of the temporal prime factors, one (dim, prime) each: a level cut may fall between two
    factors of one dim (K 4 as K 2 | K 2), which a loop of their product could not show."""
    factors = []
    for dim in LOOP_DIMS:
        rest = layer.size(dim) // prod(u.get(dim, 1) for u in spatial.values())
        factors += [(dim, p) for p in _factor(rest)]
    return set(permutations(factors))


def _cut_options(n_loops: int, n_levels: int) -> list[tuple[int, ...]]:
    return [(*c, n_loops) for c in combinations_with_replacement(range(n_loops + 1), n_levels - 1)]


Cuts = tuple[tuple[int, ...], ...]  # per operand, its level cuts


def _merged(order: tuple[tuple[str, int], ...], cuts: Cuts) -> tuple[tuple[Loop, ...], Cuts]:
    """The loops of a factor order with the cuts placed in it: adjacent factors of one dim that no cut
    separates are one loop (as the evaluator reads a nest), the cuts renumbered to those loops."""
    boundaries = {c for per_op in cuts for c in per_op}
    loops: list[Loop] = []
    index = [0]  # index[k]: the merged position of factor boundary k
    for k, (dim, p) in enumerate(order):
        if loops and loops[-1].dim == dim and k not in boundaries:
            loops[-1] = Loop(dim, loops[-1].size * p)
        else:
            loops.append(Loop(dim, p))
        index.append(len(loops))
    return tuple(loops), tuple(tuple(index[c] for c in per_op) for per_op in cuts)


def legal_mappings(layer: Layer, accel: Accelerator):
    """Every mapping of the enumeration that the evaluator's check accepts, each once."""
    links = dict(DEFAULT_OPERAND_LINKS)
    chains = {op: len(accel.chain(links[op])) for op in OPERANDS}
    for spatial in _spatial_options(layer, accel):
        probe = Mapping(spatial, (), {op: (0,) * chains[op] for op in OPERANDS})
        if any(v.kind in ("array_size", "unroll_dim", "imc_rows") for v in check(layer, accel, probe)):
            continue
        seen: set[tuple] = set()
        for order in _orders(layer, spatial):
            n = len(order)
            for cuts in product(*(_cut_options(n, chains[op]) for op in OPERANDS)):
                loops, placed = _merged(order, cuts)
                if (loops, placed) in seen:
                    continue
                seen.add((loops, placed))
                mapping = Mapping(spatial, loops, dict(zip(OPERANDS, placed, strict=True)), links)
                if not check(layer, accel, mapping):
                    yield mapping


def brute_force(layer: Layer, accel: Accelerator, metric) -> tuple[float, Mapping | None, int]:
    """(minimum of ``metric(report)``, a mapping achieving it, how many legal mappings were priced)."""
    best, best_mapping, legal = float("inf"), None, 0
    for mapping in legal_mappings(layer, accel):
        legal += 1
        cost = metric(evaluate(layer, accel, mapping))
        if cost < best:
            best, best_mapping = cost, mapping
    return best, best_mapping, legal


def enumeration_size(layer: Layer, accel: Accelerator) -> int:
    """How many (spatial, order, cuts) candidates ``brute_force`` would visit: a cost guard for tests."""
    chains = {op: len(accel.chain(DEFAULT_OPERAND_LINKS[op])) for op in OPERANDS}
    total = 0
    for spatial in _spatial_options(layer, accel):
        for loops in _orders(layer, spatial):
            n = len(loops)
            total += prod(len(_cut_options(n, chains[op])) for op in OPERANDS)
    return total
