"""Turn a CP-SAT assignment into a full ``Mapping`` (the inverse of ``MappingVars``' encoding)."""

from __future__ import annotations

from collections.abc import Callable

from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Operand, is_relevant

from .problem import MappingProblem
from .variables import MappingVars

Value = Callable[[object], int]


def decode(problem: MappingProblem, value: Value, v: MappingVars) -> Mapping:
    """Segment by segment, the stationary operand's irrelevant loops go innermost, the rest follow
    in LOOP_DIMS order; each level cut sits at the top of the highest segment below it."""
    loops: list[Loop] = []
    segment_end: list[int] = []
    for s in range(v.n_segments):
        stationary = next(op for op in OPERANDS if value(v.stationary[(s, op)]))
        factors = {}
        for dim in LOOP_DIMS:
            f = 1
            for p in problem.dim_primes.get(dim, {}):
                f *= p ** value(v.temporal(s, dim, p))
            if f > 1:
                factors[dim] = f
        first = [d for d in LOOP_DIMS if d in factors and not is_relevant(stationary, d)]
        rest = [d for d in LOOP_DIMS if d in factors and d not in first]
        loops += [Loop(d, factors[d]) for d in first + rest]
        segment_end.append(len(loops))
    spatial: dict[str, dict[str, int]] = {}
    for g, group in enumerate(problem.groups):
        k = next(i for i, b in enumerate(v.choice[g]) if value(b))
        for adim, unrolls in group.candidates[k].items():
            kept = {d: f for d, f in unrolls.items() if f > 1}
            if kept:
                spatial[adim] = kept
    cuts: dict[Operand, tuple[int, ...]] = {}
    for op in OPERANDS:
        ends = []
        for i in range(v.chains[op] - 1):
            top_segment = max(s for s in range(v.n_segments) if value(v.below[(op, i, s)]))
            ends.append(segment_end[top_segment])
        cuts[op] = (*ends, len(loops))
    return Mapping(spatial=spatial, loops=tuple(loops), cuts=cuts, operand_links=dict(problem.rule.operand_links))
