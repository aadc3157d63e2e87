"""What one layer's mapping problem is made of, before any CP-SAT variable exists.

The temporal nest is split into segments by the operands' level cuts (any interleaving). Each
loop dimension's prime factors are split between the array dimensions (spatial) and the
segments (temporal). Within a segment only the innermost loops matter for the cost (they decide
which operand stays stationary), and the three operands' irrelevant loop sets are disjoint
(W: B, OX, OY; I: K; O: C, FX, FY), so a segment's order is one choice among W, I and O: the
loops irrelevant to that operand go innermost. Every loop order the evaluator accepts has a
segment-ordered twin that costs no more, so this space loses no optimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product as iproduct
from math import prod

from imcmap.models.errors import ImcmapError
from imcmap.models.evaluator import IMC_COLUMN_DIMS, IMC_ROW_DIMS
from imcmap.models.hardware import Accelerator, ImcArray, MemoryLevel
from imcmap.models.imc import diagonal_rows
from imcmap.models.mapping_spec import ResolvedRule
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer, Operand


class ProblemError(ImcmapError, ValueError):
    """The problem has no legal mapping before search starts (e.g. a fixed mapping that does not fit)."""


def prime_factors(n: int) -> dict[int, int]:
    out: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


Unrolling = dict[str, dict[str, int]]  # array dim -> {loop dim: factor}


@dataclass(frozen=True, slots=True)
class SpatialGroup:
    """Array dims whose unrolling is chosen jointly (IMC columns and rows share the diagonal rule)."""

    array_dims: tuple[str, ...]
    candidates: tuple[Unrolling, ...]


@dataclass(frozen=True, slots=True)
class MappingProblem:
    layer: Layer
    accel: Accelerator
    rule: ResolvedRule
    dim_primes: dict[str, dict[int, int]]  # loop dim -> {prime: exponent}, only dims of size > 1
    groups: tuple[SpatialGroup, ...]
    notes: tuple[str, ...] = ()

    @property
    def primes(self) -> tuple[int, ...]:
        return tuple(sorted({p for f in self.dim_primes.values() for p in f}))

    def chain_levels(self, operand: Operand) -> tuple[int, ...]:
        """Index in ``accel.memories`` of each memory level of ``operand``, lowest first."""
        link = self.rule.operand_links[operand]
        return tuple(i for i, m in enumerate(self.accel.memories) if m.holds(link))

    def chain_length(self, operand: Operand) -> int:
        return len(self.chain_levels(operand))

    def level(self, operand: Operand, index: int) -> MemoryLevel:
        return self.accel.memories[self.chain_levels(operand)[index]]

    def row_registers(self, operand: Operand, level: MemoryLevel) -> bool:
        """The evaluator's ``row_registers``: an IMC input level shared along the columns, not the rows,
        holds one input per physical row (rows_total of them under a diagonal mapping)."""
        if operand is not Operand.I or not isinstance(self.accel.array, ImcArray):
            return False
        d1, d2 = self.accel.array_dims[0].name, self.accel.array_dims[1].name
        return d1 in level.served_dims and d2 not in level.served_dims

    def tile_served(self, operand: Operand, level: MemoryLevel) -> tuple[str, ...]:
        """The array dims whose unrolling lies inside one instance's tile of ``operand`` at ``level``."""
        if self.row_registers(operand, level):
            return tuple(d for d in level.served_dims if d != self.accel.array_dims[0].name)
        return tuple(level.served_dims)


def allowed_dims(accel: Accelerator, rule: ResolvedRule, array_dim: str) -> frozenset[str]:
    """Loop dims that may unroll over ``array_dim``: the array's physics, then the user's restriction."""
    dims = frozenset(LOOP_DIMS)
    names = [d.name for d in accel.array_dims]
    if isinstance(accel.array, ImcArray):
        if array_dim == names[0]:
            dims = IMC_COLUMN_DIMS if rule.allow_diagonal else frozenset({"K"})
        elif array_dim == names[1]:
            dims = IMC_ROW_DIMS
    if rule.allowed_spatial is not None and array_dim in rule.allowed_spatial:
        dims = dims & frozenset(rule.allowed_spatial[array_dim])
    elif rule.allowed_spatial is not None:
        dims = frozenset()  # a restriction that omits an array dim leaves it unused
    return dims


def _unrollings_of(size: int, dims: list[str], remaining: dict[str, int]) -> list[dict[str, int]]:
    """Every {dim: factor} with factors dividing ``remaining`` and product at most ``size``."""
    options: list[dict[str, int]] = [{}]
    for dim in dims:
        grown: list[dict[str, int]] = []
        for partial in options:
            used = prod(partial.values())
            for f in divisors(remaining.get(dim, 1)):
                if used * f > size:
                    break
                grown.append({**partial, dim: f} if f > 1 else dict(partial))
        options = grown
    return options


def spatial_groups(layer: Layer, accel: Accelerator, rule: ResolvedRule) -> tuple[SpatialGroup, ...]:
    """Enumerate legal unrollings per group; a fixed spatial mapping leaves one candidate."""
    sizes = {d.name: d.size for d in accel.array_dims}
    names = [d.name for d in accel.array_dims]
    full = {d: layer.size(d) for d in LOOP_DIMS}
    if isinstance(accel.array, ImcArray):
        group_dims = [tuple(names[:2])] + [(n,) for n in names[2:]]
    else:
        group_dims = [(n,) for n in names]
    groups: list[SpatialGroup] = []
    for gdims in group_dims:
        if rule.fixed_spatial is not None:
            candidates = [fit_fixed_unrolling(layer, {a: dict(rule.fixed_spatial.get(a, {})) for a in gdims})[0]]
        else:
            per_dim = [
                _unrollings_of(sizes[a], sorted(allowed_dims(accel, rule, a), key=LOOP_DIMS.index), full) for a in gdims
            ]
            candidates = []
            for combo in iproduct(*per_dim):
                unroll = dict(zip(gdims, combo, strict=True))
                if _divides(unroll, full):
                    candidates.append(unroll)
        if isinstance(accel.array, ImcArray) and gdims == tuple(names[:2]):
            candidates = [c for c in candidates if _fits_rows(layer, accel, c)]
        groups.append(SpatialGroup(gdims, tuple(candidates)))
    return tuple(groups)


def fit_fixed_unrolling(layer: Layer, fixed: Unrolling) -> tuple[Unrolling, tuple[str, ...]]:
    """A fixed unrolling that does not divide the layer (K 32 on a 1000-channel Gemm, C 32 on a 3-channel
    conv) is lowered to the largest divisor of what remains; ZigZag pads instead, imcmap keeps exact
    factors. Returns the unrolling used and one note per change."""
    remaining = {d: layer.size(d) for d in LOOP_DIMS}
    used: Unrolling = {}
    notes = []
    for adim, unrolls in fixed.items():
        used[adim] = {}
        for dim, factor in unrolls.items():
            fit = max(f for f in divisors(remaining[dim]) if f <= factor)
            if fit != factor:
                notes.append(f"fixed {adim} {dim}{factor} lowered to {dim}{fit} ({dim}={layer.size(dim)})")
            used[adim][dim] = fit
            remaining[dim] //= fit
    return used, tuple(notes)


def _divides(unroll: Unrolling, full: dict[str, int]) -> bool:
    for dim, n in full.items():
        f = prod(u.get(dim, 1) for u in unroll.values())
        if n % f:
            return False
    return True


def candidate_rows(layer: Layer, accel: Accelerator, unroll: Unrolling) -> tuple[int, int]:
    """(rows_total, rows_adder) of an IMC unrolling: its D1 (columns) and D2 (rows) parts."""
    names = [d.name for d in accel.array_dims]
    return diagonal_rows(
        unroll.get(names[0], {}), unroll.get(names[1], {}), stride=layer.stride, dilation=layer.dilation
    )


def _fits_rows(layer: Layer, accel: Accelerator, unroll: Unrolling) -> bool:
    assert isinstance(accel.array, ImcArray)
    return candidate_rows(layer, accel, unroll)[0] <= accel.array.rows


def build_problem(layer: Layer, accel: Accelerator, rule: ResolvedRule) -> MappingProblem:
    dim_primes = {d: prime_factors(layer.size(d)) for d in LOOP_DIMS if layer.size(d) > 1}
    groups = spatial_groups(layer, accel, rule)
    for g in groups:
        if not g.candidates:
            raise ProblemError(f"no legal spatial unrolling over {', '.join(g.array_dims)}")
    if isinstance(accel.array, ImcArray):
        prec, array = layer.precision, accel.array
        if prec.w_bits > array.weight_bits or prec.i_bits > array.input_bits:
            raise ProblemError(
                f"layer operands W {prec.w_bits} b / I {prec.i_bits} b exceed the macro's "
                f"{array.weight_bits} b / {array.input_bits} b"
            )
    for operand in OPERANDS:
        if not accel.chain(rule.operand_links[operand]):
            raise ProblemError(f"no memory level holds {rule.operand_links[operand]} (operand {operand.value})")
    notes = fit_fixed_unrolling(layer, rule.fixed_spatial)[1] if rule.fixed_spatial is not None else ()
    return MappingProblem(
        layer=layer,
        accel=accel,
        rule=rule,
        dim_primes=dim_primes,
        groups=groups,
        notes=notes,
    )
