"""The user's mapping spec, resolved per layer: fixed or restricted spatial unrolling, operand links,
and user constraints (kept as text with their source location; the solver compiles them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .constraints import ParsedConstraint, scope_matches
from .workload import Layer, Operand


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a piece of user input came from (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class UserConstraint:
    """One constraint as the user wrote it (``text``), with its scope and origin. ``source`` points at
    the first character of the text (None: given on the command line or through the API); ``scope``
    is the selector of the mapping entry that holds it; ``parsed`` is filled in by
    ``specs.constraints.parse_constraint`` (its own scope prefix narrows ``scope`` further)."""

    text: str
    source: SourceRef | None = None
    scope: str = "*"  # "*", an op type, or a layer name (the mapping entry's selector)
    parsed: ParsedConstraint | None = None
    path: str = field(default="", compare=False)  # key path in its file, e.g. "mapping[0].constraints[1]"

    def applies_to(self, layer: Layer) -> bool:
        own = self.parsed.scope if self.parsed is not None else "*"
        return scope_matches(self.scope, layer) and scope_matches(own, layer)

    def origin(self) -> str:
        """Where it was written: ``file:line:col``, or ``--constraint`` for the command line."""
        return str(self.source) if self.source is not None else "--constraint"


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One entry of a mapping spec; ``None`` fields defer to the next less specific entry."""

    selector: str  # "default", an op type (Conv, Gemm, MatMul), or a layer name
    fixed_spatial: dict[str, dict[str, int]] | None = None  # array dim -> {loop dim: factor}
    allowed_spatial: dict[str, tuple[str, ...]] | None = None  # array dim -> loop dims allowed
    allow_diagonal: bool | None = None
    operand_links: dict[Operand, str] | None = None  # layer operand -> memory operand
    constraints: tuple[UserConstraint, ...] = ()
    source: SourceRef | None = None
    # Where each key was written, by key path inside the entry ("spatial.D1", "spatial.D1.K",
    # "spatial_allowed.D2", "operand_links.W", ...): lets checks that need the accelerator point
    # at the line. Not part of the rule's meaning, hence compare=False.
    key_sources: dict[str, SourceRef] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    fixed_spatial: dict[str, dict[str, int]] | None
    allowed_spatial: dict[str, tuple[str, ...]] | None
    allow_diagonal: bool
    operand_links: dict[Operand, str]
    constraints: tuple[UserConstraint, ...]


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """``diagonal_default``: whether OX/OY may unroll over IMC columns where no entry says. Off, as in
    ZigZag: the diagonal space is larger and takes the solver about three times longer to close."""

    rules: tuple[MappingRule, ...] = ()
    name: str = "default"
    diagonal_default: bool = False

    def resolve(self, layer: Layer) -> ResolvedRule:
        """Layer name beats op type beats ``default``; constraints of every matching entry apply."""
        by_selector = {r.selector: r for r in self.rules}
        chain = [by_selector.get(layer.name), by_selector.get(layer.op), by_selector.get("default")]
        picked = [r for r in chain if r is not None]

        from .mapping import DEFAULT_OPERAND_LINKS

        links = next((r.operand_links for r in picked if r.operand_links is not None), None)
        links = links or dict(DEFAULT_OPERAND_LINKS)
        diagonal = next((r.allow_diagonal for r in picked if r.allow_diagonal is not None), None)
        constraints: tuple[UserConstraint, ...] = ()
        for rule in reversed(picked):
            constraints += rule.constraints
        return ResolvedRule(
            fixed_spatial=next((r.fixed_spatial for r in picked if r.fixed_spatial is not None), None),
            allowed_spatial=next((r.allowed_spatial for r in picked if r.allowed_spatial is not None), None),
            allow_diagonal=self.diagonal_default if diagonal is None else bool(diagonal),
            operand_links=links,
            constraints=constraints,
        )


EMPTY_MAPPING_SPEC = MappingSpec()
