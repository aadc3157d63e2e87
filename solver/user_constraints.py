"""User constraints (``models.constraints``) compiled to CP-SAT rows, each behind its own literal.

``add_user_constraints`` gives every constraint a literal ``u`` and adds rows that hold when ``u`` is
true; a normal solve fixes ``u = 1``, the explanation pass assumes it instead and reads CP-SAT's
sufficient assumptions for infeasibility. Every row is small: clauses over the one-hot spatial
choices, the stationarity and cut literals, or exponent sums compared with 0, and element tables
for exact values (the tangent rows of ``terms`` are never enforced by a literal). One function per
family; ``models.constraints.constraint_holds`` is the judge each mirrors.

* spatial.ADIM.DIM op n:  u => OR { choice[g][k] : candidate k of ADIM's group g has factor op n }.
  spatial.DIM (all array dims) over several groups: u => T(e) = 1, with T an element table over the
  exponent vector e of DIM's unrolling (T(e) = [prod p^e_p op n]).
* diagonal required / forbidden: u => OR { choice[0][k] : candidate k is (not) diagonal }.
* utilization.spatial op x: the same, on used units U = prod over array dims of their use:
  [U / units op x].
* stationary X at level i: u AND not below[X, i, s] => sum of X-relevant exponents in s = 0, for
  every segment s (no X-relevant loop above the cut: refills(X, cut_i) = 1).
* order L: a, b (a inside b): present[s, d] is implied by any exponent of d in segment s; with
  in(s) = "s lies in X's range at L", for every operand X held at L: u AND in(s) AND present[s,a]
  AND present[s,b] => not stat[s, Y] for every Y whose segment order puts b first; and for s < s':
  u AND in(s) AND in(s') => not (present[s', a] AND present[s, b]).
* tile.X.L op n: u => tile op n, with tile the exact element count (element table times the input
  halo extents, as in ``constraints.add_capacity``).
* bypass: not a row; ``models.constraints.apply_bypass`` changes the hierarchy before the problem
  is built (``solve.solve_layer`` handles it and its explanation).

A level that does not hold the operand in this problem (a kept tensor caps the hierarchy) makes the
constraint unsatisfiable here: u = 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from ortools.sat.python import cp_model, cp_model_helper

from imcmap.models.constraints import (
    Bypass,
    DiagonalRule,
    LoopOrder,
    SpatialBound,
    Stationary,
    TileBound,
    UtilizationBound,
    before_in_segment,
    compare,
)
from imcmap.models.hardware import ImcArray
from imcmap.models.mapping_spec import UserConstraint
from imcmap.models.workload import OPERANDS, Operand

from .constraints import dims_bounds, exact_tile
from .problem import MappingProblem, Unrolling
from .terms import exact_value
from .variables import MappingVars

Literal = cp_model.IntVar | cp_model_helper.Literal  # a Boolean variable or its negation


def add_user_constraints(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, constraints: Sequence[UserConstraint]
) -> list[tuple[Literal, UserConstraint]]:
    """One enforcement literal per constraint (bypasses excepted: they are not rows)."""
    out: list[tuple[Literal, UserConstraint]] = []
    for k, c in enumerate(constraints):
        if c.parsed is None:
            raise ValueError(f"constraint {c.text!r} was not parsed (use specs.constraints.parse_constraint)")
        body = c.parsed.body
        if isinstance(body, Bypass):
            continue
        lit = model.new_bool_var(f"user[{k}]")
        COMPILERS[type(body)](model, v, problem, body, lit, f"user[{k}]")
        out.append((lit, c))
    return out


def _one_of(model: cp_model.CpModel, lit: Literal, options: list[Literal]) -> None:
    if options:
        model.add_bool_or(options).only_enforce_if(lit)
    else:
        model.add(lit == 0)


def _group_of(problem: MappingProblem, array_dim: str) -> int:
    return next(g for g, group in enumerate(problem.groups) if array_dim in group.array_dims)


def _by_candidate(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    g: int,
    lit: Literal,
    ok: Callable[[Unrolling], bool],
) -> None:
    _one_of(model, lit, [b for b, cand in zip(v.choice[g], problem.groups[g].candidates, strict=True) if ok(cand)])


def _by_table(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, dims: list[str], lit: Literal,
              ok: Callable[[int], bool], name: str) -> None:
    """u => [ok(product of the unrolling of ``dims`` over every array dim)], by an element table."""
    exps = v.spatial_exps(v.array_dims(), dims)
    flag = exact_value(model, [(exps, dims_bounds(problem, dims))], lambda x: int(ok(x)), f"{name}.ok")
    model.add(flag == 1).only_enforce_if(lit)


def add_spatial_bound(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: SpatialBound, lit: Literal, name: str
) -> None:
    """The unrolling of a loop dim over one array dim (or all of them) compared with a number."""
    if body.array_dim is not None:
        adim = body.array_dim
        _by_candidate(model, v, problem, _group_of(problem, adim), lit,
                      lambda c: compare(c.get(adim, {}).get(body.dim, 1), body.op, body.value))
    elif len(problem.groups) == 1:
        _by_candidate(model, v, problem, 0, lit,
                      lambda c: compare(prod(u.get(body.dim, 1) for u in c.values()), body.op, body.value))
    else:
        _by_table(model, v, problem, [body.dim], lit, lambda x: compare(x, body.op, body.value), name)


def add_diagonal(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: DiagonalRule, lit: Literal, name: str
) -> None:
    """OX or OY over the IMC columns (D1), required or forbidden."""
    d1 = problem.accel.array_dims[0].name
    if not isinstance(problem.accel.array, ImcArray):
        # no mapping of a digital array is diagonal (the judge, models.constraints, says the same): a
        # requirement cannot hold, a prohibition always does
        if body.required:
            model.add(lit == 0)
        return

    def diagonal(c: Unrolling) -> bool:
        return any(c.get(d1, {}).get(d, 1) > 1 for d in ("OX", "OY"))

    _by_candidate(model, v, problem, _group_of(problem, d1), lit, lambda c: diagonal(c) == body.required)


def add_utilization(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: UtilizationBound, lit: Literal, name: str
) -> None:
    """Used array units over all of them, compared with a fraction."""
    units = prod(d.size for d in problem.accel.array_dims)

    def ok(used: int) -> bool:
        return compare(used / units, body.op, body.value)

    if len(problem.groups) == 1:
        _by_candidate(model, v, problem, 0, lit, lambda c: ok(prod(prod(u.values()) for u in c.values())))
    else:
        _by_table(model, v, problem, v.all_dims(), lit, ok, name)


def _chain_index(problem: MappingProblem, op: Operand, level: str) -> int | None:
    names = [problem.accel.memories[i].name for i in problem.chain_levels(op)]
    return names.index(level) if level in names else None


def add_stationary(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: Stationary, lit: Literal, name: str
) -> None:
    """No loop relevant to the operand above its cut at the level: its tile there is loaded once."""
    op = body.operand
    i = _chain_index(problem, op, body.level)
    if i is None:
        model.add(lit == 0)
        return
    if v.is_top(op, i):
        return  # the top level is never refilled
    for s in range(v.n_segments):
        relevant = [v.temporal(s, d, p) for d in v.relevant(op) for p in problem.dim_primes[d]]
        relevant = [x for x in relevant if not isinstance(x, int)]
        if relevant:
            model.add(sum(relevant) == 0).only_enforce_if([lit, v.below[(op, i, s)].negated()])


def _in_range(v: MappingVars, op: Operand, i: int, s: int) -> list[Literal]:
    """Literals whose conjunction says segment s lies in op's range at its i-th level."""
    n = v.chains[op]
    if n == 1:
        return []
    if i == 0:
        return [v.below[(op, 0, s)]]
    if i == n - 1:
        return [v.below[(op, n - 2, s)].negated()]
    return [v.below[(op, i, s)], v.below[(op, i - 1, s)].negated()]


def add_loop_order(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: LoopOrder, lit: Literal, name: str
) -> None:
    """Every loop of the inner dim before every loop of the outer one, among each operand's loops at
    the level: within a segment through the stationarity choice, across segments by position."""
    pairs = [(a, b) for a, b in body.pairs() if a in problem.dim_primes and b in problem.dim_primes]
    holders = [(op, i) for op in OPERANDS if (i := _chain_index(problem, op, body.level)) is not None]
    if not holders:
        model.add(lit == 0)
        return
    if not pairs:
        return
    present: dict[tuple[int, str], Literal] = {}
    for s in range(v.n_segments):
        for d in {d for pair in pairs for d in pair}:
            flag = model.new_bool_var(f"{name}.present[s{s}/{d}]")
            model.add(sum(v.temporal(s, d, p) for p in problem.dim_primes[d]) == 0).only_enforce_if(flag.negated())
            present[(s, d)] = flag
    S = v.n_segments
    for op, i in holders:
        for a, b in pairs:
            for s in range(S):
                inside = [x.negated() for x in _in_range(v, op, i, s)]
                for y in OPERANDS:
                    if not before_in_segment(a, b, y):
                        model.add_bool_or([lit.negated(), *inside, present[(s, a)].negated(), present[(s, b)].negated(),
                                         v.stationary[(s, y)].negated()])
                for s2 in range(s + 1, S):
                    inside2 = [x.negated() for x in _in_range(v, op, i, s2)]
                    model.add_bool_or(
                        [lit.negated(), *inside, *inside2, present[(s2, a)].negated(), present[(s, b)].negated()]
                    )


def add_tile_bound(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, body: TileBound, lit: Literal, name: str
) -> None:
    """The operand's exact tile at the level (elements per instance, halo included) against a number."""
    op = body.operand
    i = _chain_index(problem, op, body.level)
    if i is None:
        model.add(lit == 0)
        return
    tile = exact_tile(model, v, problem, op, i, f"{name}.tile")
    rows = {
        ">=": tile >= body.value, "<=": tile <= body.value, "==": tile == body.value,
        ">": tile >= body.value + 1, "<": tile <= body.value - 1,
    }
    model.add(rows[body.op]).only_enforce_if(lit)


COMPILERS: dict[type, Callable[..., None]] = {
    SpatialBound: add_spatial_bound,
    DiagonalRule: add_diagonal,
    UtilizationBound: add_utilization,
    Stationary: add_stationary,
    LoopOrder: add_loop_order,
    TileBound: add_tile_bound,
}

