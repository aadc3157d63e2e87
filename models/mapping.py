"""Full mappings: spatial unrolling and the temporal loop nest with per-operand memory levels.

The temporal nest is one loop list, innermost first, shared by every operand. Each operand
splits it into its own memory levels with ``cuts``: ``cuts[op][i]`` is the number of loops
(from the innermost) held at or below that operand's i-th memory level, so the last cut is
always ``len(loops)`` (ZigZag's representation). Diagonal OX/OY unrolling on an IMC array is
not a separate flag: it is OX or OY (or G) unrolled on D1, the column dimension.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .workload import Operand

DEFAULT_OPERAND_LINKS: dict[Operand, str] = {Operand.W: "I2", Operand.I: "I1", Operand.O: "O"}


@dataclass(frozen=True, slots=True)
class Loop:
    dim: str
    size: int


@dataclass(frozen=True, slots=True)
class Mapping:
    spatial: dict[str, dict[str, int]]  # array dim -> {loop dim: unroll factor}
    loops: tuple[Loop, ...]  # temporal loops, innermost first
    cuts: dict[Operand, tuple[int, ...]]  # per operand, per memory level (lowest first)
    operand_links: dict[Operand, str] = field(default_factory=lambda: dict(DEFAULT_OPERAND_LINKS))

    def spatial_factor(self, dim: str, array_dims: tuple[str, ...] | None = None) -> int:
        """Product of the unrolling of loop ``dim`` over ``array_dims`` (all when None)."""
        total = 1
        for adim, unrolls in self.spatial.items():
            if array_dims is None or adim in array_dims:
                total *= unrolls.get(dim, 1)
        return total

    def array_dim_use(self, array_dim: str) -> int:
        total = 1
        for factor in self.spatial.get(array_dim, {}).values():
            total *= factor
        return total

    def temporal_factor(self, dim: str) -> int:
        total = 1
        for loop in self.loops:
            if loop.dim == dim:
                total *= loop.size
        return total

    def loops_at(self, operand: Operand, level_index: int) -> tuple[Loop, ...]:
        """The loops an operand keeps at its ``level_index``-th memory level (innermost first)."""
        cuts = self.cuts[operand]
        start = 0 if level_index == 0 else cuts[level_index - 1]
        return self.loops[start : cuts[level_index]]
