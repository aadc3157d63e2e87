"""User constraints on mappings, as data, and the pure check that a mapping meets one.

``specs.constraints`` parses the text (its docstring has the grammar); ``solver.user_constraints``
compiles these objects to CP-SAT rows. ``constraint_holds`` is the judge both are tested against:
it reads only a ``Mapping`` (the evaluator's input), never the solver's variables.

Meaning of each body, for a layer, an accelerator and a mapping:

* ``SpatialBound(adim, dim, op, n)``: the unrolling of ``dim`` over ``adim`` (over every array dim
  when ``adim`` is None) compares to ``n``; ``forbid spatial.D1.K`` is ``spatial.D1.K == 1``.
* ``DiagonalRule(required)``: on an IMC array, a mapping is diagonal when OX or OY unrolls over D1
  (the column dimension); required / forbidden.
* ``UtilizationBound(op, x)``: used array units / all array units (the evaluator's
  ``spatial_utilization``) compares to ``x``.
* ``Stationary(X, L)``: X's tile at level L is loaded once per layer: ``refills(X, cut_L) == 1``,
  i.e. no loop relevant to X runs above X's cut at L. At X's top level it always holds.
* ``LoopOrder(L, dims, rest)``: among the loops each operand keeps at L (loops of size 1 aside),
  every loop of ``dims[i]`` is inside (before, innermost first) every loop of ``dims[j]`` for i < j;
  with ``rest``, the listed dims are also inside every other dim's loops there.
* ``TileBound(X, L, op, n)``: X's tile at L, in elements per instance of L (the footprint of the
  loops below X's cut and the unrolling over the array dims L serves, input halo included).
* ``Bypass(X, L)``: X's memory operand is not held at L. This is a change of the hierarchy
  (``apply_bypass``), so it holds when the accelerator the mapping was made for has no L in X's chain.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from math import prod

from .errors import ImcmapError
from .evaluator import refills
from .evaluator import tile_elements as evaluator_tile
from .hardware import Accelerator, ImcArray
from .mapping import Mapping
from .workload import LOOP_DIMS, OPERANDS, Layer, Operand, is_relevant

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
DIAGONAL_DIMS = ("OX", "OY")  # unrolled over IMC columns (D1), they make a mapping diagonal


def compare(value: float, op: str, bound: float) -> bool:
    return COMPARISONS[op](value, bound)


@dataclass(frozen=True, slots=True)
class SpatialBound:
    array_dim: str | None  # None: the product over every array dim
    dim: str
    op: str
    value: int


@dataclass(frozen=True, slots=True)
class DiagonalRule:
    required: bool


@dataclass(frozen=True, slots=True)
class UtilizationBound:
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class Stationary:
    operand: Operand
    level: str


@dataclass(frozen=True, slots=True)
class LoopOrder:
    level: str
    dims: tuple[str, ...]  # innermost first
    rest: bool = False  # a trailing '*': the listed dims are inside every other dim

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(inner, outer) pairs the order asks for."""
        out = [(a, b) for i, a in enumerate(self.dims) for b in self.dims[i + 1 :]]
        if self.rest:
            out += [(a, b) for a in self.dims for b in LOOP_DIMS if b not in self.dims]
        return tuple(out)


@dataclass(frozen=True, slots=True)
class TileBound:
    operand: Operand
    level: str
    op: str
    value: int


@dataclass(frozen=True, slots=True)
class Bypass:
    operand: Operand
    level: str


Body = SpatialBound | DiagonalRule | UtilizationBound | Stationary | LoopOrder | TileBound | Bypass


@dataclass(frozen=True, slots=True)
class ParsedConstraint:
    """A constraint's scope (``*``, an op type or layer name, or ``[glob]``) and body. ``columns``
    holds the 0-based offset in the text of each named part (``scope``, ``array_dim``, ``dim``,
    ``dims[i]``, ``level``, ``operand``, ``value``, ``body``) so later checks can point at it."""

    scope: str
    body: Body
    columns: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


# ----------------------------------------------------------------------------- scope


def scope_matches(scope: str, layer: Layer) -> bool:
    """``*`` (or a mapping spec's ``default``) matches every layer; ``[glob]`` matches layer names
    (fnmatch, case-sensitive); any other word is an op type or an exact layer name."""
    if scope in ("*", "default"):
        return True
    if scope.startswith("[") and scope.endswith("]"):
        return fnmatchcase(layer.name, scope[1:-1])
    return scope in (layer.op, layer.name)


# ----------------------------------------------------------------------------- bypass


class BypassError(ImcmapError, ValueError):
    """A bypass that would leave an operand without its top level, or the IMC array without cells."""


def apply_bypass(accel: Accelerator, operand_links: dict[Operand, str], bypass: Bypass) -> Accelerator:
    """The accelerator with ``bypass.operand``'s memory operand removed from ``bypass.level``."""
    link = operand_links[bypass.operand]
    chain = [m.name for m in accel.chain(link)]
    op = bypass.operand.value
    if bypass.level not in chain:
        raise BypassError(
            f"{bypass.level} does not hold {op} (memory operand {link}); {op}'s levels: {', '.join(chain)}"
        )
    if bypass.level == chain[-1]:
        raise BypassError(f"{bypass.level} is {op}'s top level, where the whole operand lives; it cannot be bypassed")
    if isinstance(accel.array, ImcArray) and bypass.operand is Operand.W and bypass.level == chain[0]:
        raise BypassError(f"{bypass.level} holds the weights the IMC array computes with; W cannot bypass it")
    memories = tuple(
        replace(m, operands=tuple(o for o in m.operands if o != link)) if m.name == bypass.level else m
        for m in accel.memories
    )
    return replace(accel, memories=memories)


def apply_bypasses(accel: Accelerator, operand_links: dict[Operand, str], bypasses: Iterable[Bypass]) -> Accelerator:
    for bypass in bypasses:
        accel = apply_bypass(accel, operand_links, bypass)
    return accel


# ----------------------------------------------------------------------------- the judge


def spatial_utilization(accel: Accelerator, mapping: Mapping) -> tuple[int, int]:
    """(array units used, array units) as the evaluator counts them."""
    used = prod(mapping.array_dim_use(d.name) for d in accel.array_dims)
    return used, prod(d.size for d in accel.array_dims)


def is_diagonal(accel: Accelerator, mapping: Mapping) -> bool:
    d1 = accel.array_dims[0].name
    return isinstance(accel.array, ImcArray) and any(mapping.spatial.get(d1, {}).get(d, 1) > 1 for d in DIAGONAL_DIMS)


def tile_elements(layer: Layer, accel: Accelerator, mapping: Mapping, operand: Operand, level: str) -> int:
    """``operand``'s tile at ``level`` per instance, as ``models.evaluator`` sizes it."""
    chain = accel.chain(mapping.operand_links[operand])
    index = [m.name for m in chain].index(level)  # ValueError when the level does not hold the operand
    return evaluator_tile(layer, accel, mapping, operand, index)


def before_in_segment(inner: str, outer: str, stationary: Operand) -> bool:
    """Whether ``inner`` precedes ``outer`` inside one segment of the solver's space, where the loops
    irrelevant to the stationary operand go innermost and each group keeps LOOP_DIMS order."""
    a_first, b_first = not is_relevant(stationary, inner), not is_relevant(stationary, outer)
    if a_first != b_first:
        return a_first
    return LOOP_DIMS.index(inner) < LOOP_DIMS.index(outer)


def order_pair_possible(inner: str, outer: str) -> bool:
    """Some segment order of the solver's space puts ``inner`` inside ``outer``."""
    return any(before_in_segment(inner, outer, op) for op in OPERANDS)


def _order_holds(accel: Accelerator, mapping: Mapping, body: LoopOrder) -> bool:
    for op in OPERANDS:
        names = [m.name for m in accel.chain(mapping.operand_links[op])]
        if body.level not in names:
            continue
        loops = [loop for loop in mapping.loops_at(op, names.index(body.level)) if loop.size > 1]
        for inner, outer in body.pairs():
            inner_at = [k for k, loop in enumerate(loops) if loop.dim == inner]
            outer_at = [k for k, loop in enumerate(loops) if loop.dim == outer]
            if inner_at and outer_at and max(inner_at) > min(outer_at):
                return False
    return True


def constraint_holds(parsed: ParsedConstraint | Body, layer: Layer, accel: Accelerator, mapping: Mapping) -> bool:
    """Whether ``mapping`` meets the constraint (its scope is the caller's business). ``accel`` is the
    accelerator the mapping was made for, after any bypass."""
    body = parsed.body if isinstance(parsed, ParsedConstraint) else parsed
    if isinstance(body, SpatialBound):
        over = None if body.array_dim is None else (body.array_dim,)
        return compare(mapping.spatial_factor(body.dim, over), body.op, body.value)
    if isinstance(body, DiagonalRule):
        return is_diagonal(accel, mapping) == body.required
    if isinstance(body, UtilizationBound):
        used, total = spatial_utilization(accel, mapping)
        return compare(used / total, body.op, body.value)
    if isinstance(body, Stationary):
        names = [m.name for m in accel.chain(mapping.operand_links[body.operand])]
        if body.level not in names:
            return False
        index = names.index(body.level)
        if index == len(names) - 1:
            return True
        return refills(body.operand, mapping.loops, mapping.cuts[body.operand][index]) == 1
    if isinstance(body, LoopOrder):
        return _order_holds(accel, mapping, body)
    if isinstance(body, TileBound):
        if body.level not in [m.name for m in accel.chain(mapping.operand_links[body.operand])]:
            return False
        return compare(tile_elements(layer, accel, mapping, body.operand, body.level), body.op, body.value)
    if isinstance(body, Bypass):
        return body.level not in [m.name for m in accel.chain(mapping.operand_links[body.operand])]
    raise TypeError(f"unknown constraint body {body!r}")
