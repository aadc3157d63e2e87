"""Turn a CP-SAT assignment into a full ``Mapping`` (the inverse of ``MappingVars``' encoding)."""

from __future__ import annotations

from collections.abc import Callable

from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Operand, is_relevant

from .problem import MappingProblem

Value = Callable[[object], int]


def decode(problem: MappingProblem, value: Value, v) -> Mapping:  # noqa: ANN001 - v is MappingVars
    """Tier by tier, the stationary operand's irrelevant loops go innermost, the rest follow in
    LOOP_DIMS order; each operand's level cut sits at the top of its tier."""
    loops: list[Loop] = []
    tier_end: list[int] = []
    for t in range(len(problem.tiers)):
        stationary = next(op for op in OPERANDS if value(v.stationary[(t, op)]))
        factors = {}
        for dim in LOOP_DIMS:
            f = 1
            for p in problem.dim_primes.get(dim, {}):
                f *= p ** value(v.temporal(t, dim, p))
            if f > 1:
                factors[dim] = f
        first = [d for d in LOOP_DIMS if d in factors and not is_relevant(stationary, d)]
        rest = [d for d in LOOP_DIMS if d in factors and d not in first]
        loops += [Loop(d, factors[d]) for d in first + rest]
        tier_end.append(len(loops))
    spatial: dict[str, dict[str, int]] = {}
    for g, group in enumerate(problem.groups):
        k = next(i for i, b in enumerate(v.choice[g]) if value(b))
        for adim, unrolls in group.candidates[k].items():
            kept = {d: f for d, f in unrolls.items() if f > 1}
            if kept:
                spatial[adim] = kept
    cuts: dict[Operand, tuple[int, ...]] = {}
    for op in OPERANDS:
        tiers = problem.chain_tiers(op)
        cuts[op] = tuple(tier_end[t] for t in tiers[:-1]) + (len(loops),)
    return Mapping(spatial=spatial, loops=tuple(loops), cuts=cuts, operand_links=dict(problem.rule.operand_links))
