"""``MappingVars``: the one container that owns every CP-SAT variable of a layer's model.

Quantities are kept as *prime exponents*: a tile, a refill count or an instance count is a
product of loop factors, so its exponent of prime p is a linear expression of the decision
variables. Query methods return those expressions, keyed by prime.
"""

from __future__ import annotations

from collections.abc import Iterable

from ortools.sat.python import cp_model

from imcmap.models.workload import OPERANDS, Operand, is_relevant

from .problem import MappingProblem

Exps = dict[int, cp_model.LinearExprT]  # prime -> exponent expression


def add_exps(*parts: Exps) -> Exps:
    out: Exps = {}
    for part in parts:
        for p, e in part.items():
            out[p] = out[p] + e if p in out else e
    return out


def sub_exps(a: Exps, b: Exps) -> Exps:
    out = dict(a)
    for p, e in b.items():
        out[p] = out[p] - e if p in out else -e
    return out


class MappingVars:
    """Decision variables: temporal exponents per (tier, dim, prime), one-hot spatial choices per
    group, and the stationary operand of each tier. Derived booleans (``pure``) live here too."""

    def __init__(self, model: cp_model.CpModel, problem: MappingProblem):
        self.model = model
        self.problem = problem
        self.n_tiers = len(problem.tiers)
        self._temporal: dict[tuple[int, str, int], cp_model.IntVar] = {}
        for t in range(self.n_tiers):
            for dim in sorted(problem.dim_primes):
                for p, e in sorted(problem.dim_primes[dim].items()):
                    self._temporal[(t, dim, p)] = model.NewIntVar(0, e, f"tf[{problem.tiers[t]}/{dim}^{p}]")
        self.choice: list[list[cp_model.IntVar]] = []
        for g, group in enumerate(problem.groups):
            self.choice.append(
                [model.NewBoolVar(f"sp[{'+'.join(group.array_dims)}#{k}]") for k in range(len(group.candidates))]
            )
        self.stationary: dict[tuple[int, Operand], cp_model.IntVar] = {
            (t, op): model.NewBoolVar(f"stat[{problem.tiers[t]}={op.value}]") for t in range(self.n_tiers) for op in OPERANDS
        }
        self.pure: dict[tuple[Operand, int], cp_model.IntVar] = {
            (op, t): model.NewBoolVar(f"pure[{op.value}@{problem.tiers[t]}]") for op in OPERANDS for t in range(self.n_tiers)
        }

    # -- decision variables -------------------------------------------------------------------

    def temporal(self, tier: int, dim: str, prime: int) -> cp_model.IntVar | int:
        return self._temporal.get((tier, dim, prime), 0)

    def spatial(self, array_dim: str, dim: str, prime: int) -> cp_model.LinearExprT:
        """Exponent of ``prime`` in the unrolling of ``dim`` over ``array_dim`` (linear in the one-hots)."""
        from .problem import prime_factors

        for g, group in enumerate(self.problem.groups):
            if array_dim not in group.array_dims:
                continue
            terms = []
            for k, cand in enumerate(group.candidates):
                e = prime_factors(cand.get(array_dim, {}).get(dim, 1)).get(prime, 0)
                if e:
                    terms.append(e * self.choice[g][k])
            return sum(terms) if terms else 0
        return 0

    # -- derived exponents --------------------------------------------------------------------

    def _primes(self, dim: str) -> Iterable[int]:
        return self.problem.dim_primes.get(dim, {}).keys()

    def temporal_exps(self, tiers: Iterable[int], dims: Iterable[str]) -> Exps:
        tiers, dims = list(tiers), list(dims)
        return add_exps(*({p: self.temporal(t, d, p)} for t in tiers for d in dims for p in self._primes(d)))

    def spatial_exps(self, array_dims: Iterable[str], dims: Iterable[str]) -> Exps:
        array_dims, dims = list(array_dims), list(dims)
        return add_exps(*({p: self.spatial(a, d, p)} for a in array_dims for d in dims for p in self._primes(d)))

    def relevant(self, operand: Operand) -> list[str]:
        return [d for d in sorted(self.problem.dim_primes) if is_relevant(operand, d)]

    def irrelevant(self, operand: Operand) -> list[str]:
        return [d for d in sorted(self.problem.dim_primes) if not is_relevant(operand, d)]

    def above(self, cut: int) -> range:
        """Tiers above a cut placed at the top of tier ``cut`` (cut -1: below every tier)."""
        return range(cut + 1, self.n_tiers)

    def upto(self, cut: int) -> range:
        return range(0, cut + 1)

    def array_dims(self) -> list[str]:
        return [d.name for d in self.problem.accel.array_dims]

    def instances_exps(self, served: Iterable[str]) -> Exps:
        """Instances in use of a level: product of the unrolling over the array dims it does not serve."""
        served = set(served)
        return self.spatial_exps([a for a in self.array_dims() if a not in served], sorted(self.problem.dim_primes))
