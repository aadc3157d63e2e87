"""``MappingVars``: the one container that owns every CP-SAT variable of a layer's model.

The temporal nest is cut into ``n_segments`` segments (innermost first). Every non-top memory
level of every operand places its cut at the top of one segment (``cut_pos``); cuts may share a
boundary and segments may be empty, so any interleaving of the operands' level cuts is reachable,
as in the evaluator. The top segment lies above every cut.

Quantities are kept as *prime exponents*: a tile, a refill count or an instance count is a
product of loop factors, so its exponent of prime p is a linear expression of the variables.
Query methods return those expressions keyed by prime (``Exps``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ortools.sat.python import cp_model

from imcmap.models.workload import OPERANDS, Operand, is_relevant

from .problem import MappingProblem, prime_factors

Exp = cp_model.LinearExpr | cp_model.IntVar | int  # an exponent: a sum of variables, one variable or a constant
Exps = dict[int, Exp]  # prime -> exponent expression
PE = -1  # the cut below every loop: what one PE sees


def add_exps(*parts: Mapping[int, Exp]) -> Exps:
    out: Exps = {}
    for part in parts:
        for p, e in part.items():
            out[p] = out[p] + e if p in out else e
    return out


def sub_exps(a: Mapping[int, Exp], b: Mapping[int, Exp]) -> Exps:
    out = dict(a)
    for p, e in b.items():
        out[p] = out[p] - e if p in out else -e
    return out


class MappingVars:
    """Decision variables: temporal exponents per (segment, dim, prime); one-hot spatial choices per
    group; the stationary operand of each segment; each level cut's segment. Derived variables
    (``pure``, below-cut copies of exponents, stationary runs) are created here too, on demand."""

    def __init__(self, model: cp_model.CpModel, problem: MappingProblem):
        self.model = model
        self.problem = problem
        self.chains = {op: problem.chain_length(op) for op in OPERANDS}
        self.n_segments = sum(n - 1 for n in self.chains.values()) + 1
        S = self.n_segments
        dims = sorted(problem.dim_primes)
        self._temporal: dict[tuple[int, str, int], cp_model.IntVar] = {}
        for s in range(S):
            for dim in dims:
                for p, e in sorted(problem.dim_primes[dim].items()):
                    self._temporal[(s, dim, p)] = model.new_int_var(0, e, f"tf[s{s}/{dim}^{p}]")
        self.choice: list[list[cp_model.IntVar]] = [
            [model.new_bool_var(f"sp[{'+'.join(group.array_dims)}#{k}]") for k in range(len(group.candidates))]
            for group in problem.groups
        ]
        self.stationary = {(s, op): model.new_bool_var(f"stat[s{s}={op.value}]") for s in range(S) for op in OPERANDS}
        self.pure = {(op, s): model.new_bool_var(f"pure[{op.value}@s{s}]") for op in OPERANDS for s in range(S)}
        # below[(op, i, s)]: segment s lies at or below the cut of op's i-th level
        self.below: dict[tuple[Operand, int, int], cp_model.IntVar] = {}
        for op in OPERANDS:
            for i in range(self.chains[op] - 1):
                for s in range(S):
                    self.below[(op, i, s)] = model.new_bool_var(f"below[{op.value}{i}/s{s}]")
        self.runs: dict[tuple[Operand, int], Exps] = {}
        self._spatial: dict[tuple[str, str, int], cp_model.IntVar | int] = {}
        self._masked: dict[tuple[Operand, int, int, str, int], cp_model.IntVar] = {}

    # -- decision variables -------------------------------------------------------------------

    def decisions(self) -> list[cp_model.IntVar]:
        """The variables a mapping sets, in a fixed order: temporal exponents, spatial choices, stationary
        operands, level cuts (every other variable is derived from them or bounds a cost term)."""
        return [*self._temporal.values(), *(b for group in self.choice for b in group), *self.stationary.values(),
                *self.below.values()]

    def temporal(self, segment: int, dim: str, prime: int) -> cp_model.IntVar | int:
        return self._temporal.get((segment, dim, prime), 0)

    def spatial(self, array_dim: str, dim: str, prime: int) -> cp_model.IntVar | int:
        """Exponent of ``prime`` in the unrolling of ``dim`` over ``array_dim``: one integer variable
        tied to the one-hots once, so the (long) one-hot sum is not repeated in every row."""
        key = (array_dim, dim, prime)
        if key in self._spatial:
            return self._spatial[key]
        value: cp_model.IntVar | int = 0
        for g, group in enumerate(self.problem.groups):
            if array_dim not in group.array_dims:
                continue
            weights = [prime_factors(c.get(array_dim, {}).get(dim, 1)).get(prime, 0) for c in group.candidates]
            if any(weights):
                value = self.model.new_int_var(0, max(weights), f"sx[{array_dim}/{dim}^{prime}]")
                self.model.add(value == sum(w * b for w, b in zip(weights, self.choice[g], strict=True) if w))
        self._spatial[key] = value
        return value

    def masked(self, op: Operand, level: int, segment: int, dim: str, prime: int) -> cp_model.IntVar | int:
        """The temporal exponent of (segment, dim, prime) if the segment is below op's level cut, else 0."""
        key = (op, level, segment, dim, prime)
        base = self.temporal(segment, dim, prime)
        if isinstance(base, int):
            return 0
        if key not in self._masked:
            below = self.below[(op, level, segment)]
            y = self.model.new_int_var(
                0, self.problem.dim_primes[dim][prime], f"m[{op.value}{level}/s{segment}/{dim}^{prime}]"
            )
            self.model.add(y == base).only_enforce_if(below)
            self.model.add(y == 0).only_enforce_if(below.negated())
            self.model.add(y <= base)  # implied, but enforced rows stay out of the LP: this one goes in
            self._masked[key] = y
        return self._masked[key]

    # -- derived exponents --------------------------------------------------------------------

    def _primes(self, dim: str) -> Iterable[int]:
        return self.problem.dim_primes.get(dim, {}).keys()

    def all_dims(self) -> list[str]:
        return sorted(self.problem.dim_primes)

    def relevant(self, operand: Operand) -> list[str]:
        return [d for d in self.all_dims() if is_relevant(operand, d)]

    def irrelevant(self, operand: Operand) -> list[str]:
        return [d for d in self.all_dims() if not is_relevant(operand, d)]

    def array_dims(self) -> list[str]:
        return [d.name for d in self.problem.accel.array_dims]

    def is_top(self, op: Operand, level: int) -> bool:
        return level == self.chains[op] - 1

    def temporal_below(self, op: Operand, level: int, dims: Iterable[str]) -> Exps:
        """Exponents of the temporal loops at or below op's ``level`` cut (PE: none; top: all)."""
        dims = list(dims)
        if level == PE:
            return {}
        if self.is_top(op, level):
            return self.temporal_all(dims)
        return add_exps(
            *(
                {p: self.masked(op, level, s, d, p)}
                for s in range(self.n_segments)
                for d in dims
                for p in self._primes(d)
            )
        )

    def temporal_all(self, dims: Iterable[str]) -> Exps:
        dims = list(dims)
        return add_exps(
            *({p: self.temporal(s, d, p)} for s in range(self.n_segments) for d in dims for p in self._primes(d))
        )

    def temporal_above(self, op: Operand, level: int, dims: Iterable[str]) -> Exps:
        dims = list(dims)
        return sub_exps(self.temporal_all(dims), self.temporal_below(op, level, dims))

    def spatial_exps(self, array_dims: Iterable[str], dims: Iterable[str]) -> Exps:
        array_dims, dims = list(array_dims), list(dims)
        return add_exps(*({p: self.spatial(a, d, p)} for a in array_dims for d in dims for p in self._primes(d)))

    def instances_exps(self, served: Iterable[str]) -> Exps:
        """Instances in use of a level: product of the unrolling over the array dims it does not serve."""
        served = set(served)
        return self.spatial_exps([a for a in self.array_dims() if a not in served], self.all_dims())

    def tile_exps(self, op: Operand, level: int, served: Iterable[str], dims: Iterable[str]) -> Exps:
        dims = list(dims)
        return add_exps(self.temporal_below(op, level, dims), self.spatial_exps(served, dims))

    def refill_exps(self, op: Operand, level: int) -> Exps:
        """Loops above op's ``level`` cut, less the stationary run directly above it."""
        return sub_exps(self.temporal_above(op, level, self.all_dims()), self.runs[(op, level)])
