"""One mapping of one layer on one accelerator, with the tiles and counts every cost rule reads.

``evaluator`` (legality, imcmap's own rules) and ``zigzag_rules`` (ZigZag 3.9.1's) both price from a
``Context``; it holds no rule of either, only the geometry they share: memory chains, tile sizes,
instance counts and where outputs are still partial sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from .hardware import Accelerator, ImcArray, MemoryLevel, Port
from .imc import diagonal_rows
from .mapping import Mapping
from .workload import LOOP_DIMS, Layer, Operand, is_relevant


def imc_rows(layer: Layer, accel: Accelerator, mapping: Mapping) -> tuple[int, int]:
    """(rows receiving an input, rows feeding the adder tree) per macro; diagonal when OX/OY/G are on D1."""
    names = [d.name for d in accel.array_dims]
    return diagonal_rows(
        mapping.spatial.get(names[0], {}),
        mapping.spatial.get(names[1], {}),
        stride=layer.stride,
        dilation=layer.dilation,
    )


def _spatial_extents(spatial: dict[str, dict[str, int]], array_dims: tuple[str, ...]) -> dict[str, int]:
    """Per loop dim, the product of its unrolling over ``array_dims``."""
    extents = dict.fromkeys(LOOP_DIMS, 1)
    for adim in array_dims:
        for dim, factor in spatial.get(adim, {}).items():
            extents[dim] *= factor
    return extents


@dataclass(frozen=True, slots=True)
class Context:
    layer: Layer
    accel: Accelerator
    mapping: Mapping
    # tiles, instance counts and partial-sum flags asked for again and again by the traffic, capacity
    # and ZigZag rules (31 tiles per evaluation on a ResNet-18 layer of tpu_like); the mapping is
    # frozen, so they never go stale
    _tiles: dict = field(default_factory=dict, compare=False, repr=False)
    _instances: dict = field(default_factory=dict, compare=False, repr=False)
    _partial: dict = field(default_factory=dict, compare=False, repr=False)
    _chains: dict = field(default_factory=dict, compare=False, repr=False)
    _spatial: dict = field(default_factory=dict, compare=False, repr=False)  # served dims -> extents
    _ports: dict = field(default_factory=dict, compare=False, repr=False)

    def chain(self, operand: Operand) -> tuple[MemoryLevel, ...]:
        if operand not in self._chains:
            self._chains[operand] = self.accel.chain(self.mapping.operand_links[operand])
        return self._chains[operand]

    def served(self, level: MemoryLevel) -> tuple[str, ...]:
        return level.served_dims

    def port(self, level: MemoryLevel, memory_operand: str, direction: str) -> Port:
        key = (level.name, memory_operand, direction)
        if key not in self._ports:
            self._ports[key] = self.accel.port(level, memory_operand, direction)
        return self._ports[key]

    def row_registers(self, operand: Operand, level: MemoryLevel) -> bool:
        """An IMC input level shared along the columns but not the rows holds one input per physical
        row: with OX/OY unrolled diagonally over the columns, rows_total rows each get their own input."""
        if operand is not Operand.I or not isinstance(self.accel.array, ImcArray):
            return False
        d1, d2 = self.accel.array_dims[0].name, self.accel.array_dims[1].name
        return d1 in level.served_dims and d2 not in level.served_dims

    def tile(self, operand: Operand, cut: int, level: MemoryLevel) -> int:
        key = (operand, cut, level.name)
        if key not in self._tiles:
            self._tiles[key] = self._tile(operand, cut, level)
        return self._tiles[key]

    def _tile(self, operand: Operand, cut: int, level: MemoryLevel) -> int:
        served = self.served(level)
        if self.row_registers(operand, level):
            served = tuple(d for d in served if d != self.accel.array_dims[0].name)
        spatial = self._spatial.get(served)
        if spatial is None:
            spatial = self._spatial[served] = _spatial_extents(self.mapping.spatial, served)
        extents = dict(spatial)
        for loop in self.mapping.loops[:cut]:
            extents[loop.dim] *= loop.size
        return self.layer.footprint(operand, extents)

    def instances_used(self, level: MemoryLevel, operand: Operand | None = None) -> int:
        key = (level.name, operand)
        if key not in self._instances:
            self._instances[key] = self._instances_used(level, operand)
        return self._instances[key]

    def _instances_used(self, level: MemoryLevel, operand: Operand | None) -> int:
        dims = [d.name for d in self.accel.array_dims if d.name not in level.served_dims]
        if operand is not None and self.row_registers(operand, level):
            rows_total, _ = imc_rows(self.layer, self.accel, self.mapping)
            return rows_total * prod(self.mapping.array_dim_use(d) for d in dims[1:])  # dims[0] is D2
        return prod(self.mapping.array_dim_use(d) for d in dims)

    def output_partial_at(self, cut: int) -> bool:
        """Outputs held below ``cut`` are unfinished while an output-irrelevant loop remains above."""
        if cut not in self._partial:
            self._partial[cut] = any(
                loop.size > 1 and not is_relevant(Operand.O, loop.dim) for loop in self.mapping.loops[cut:]
            )
        return self._partial[cut]


@dataclass
class WalkCache:
    """What ``evaluator.objective_cost`` keeps from one nest to the next of a polish walk, which changes
    loops and cuts only: memory chains, instance counts, spatial tile extents and ports depend on the
    layer, the accelerator, the spatial unrolling and the operand links, so a nest with other ones starts
    afresh."""

    layer: Layer
    accel: Accelerator
    spatial: dict | None = None
    operand_links: dict | None = None
    shared: dict = field(default_factory=dict)

    def context(self, layer: Layer, accel: Accelerator, mapping: Mapping) -> Context:
        if layer is not self.layer or accel is not self.accel:
            return Context(layer, accel, mapping)
        if mapping.spatial != self.spatial or mapping.operand_links != self.operand_links:
            self.spatial, self.operand_links = mapping.spatial, mapping.operand_links
            self.shared = {name: {} for name in ("_instances", "_chains", "_spatial", "_ports")}
        return Context(layer, accel, mapping, **self.shared)
