"""ZigZag 3.9.1's rules with one rule switched off at a time: the ablations of bench/README.md, section 4.

The rules themselves are imcmap's ``models/zigzag_rules.py`` (what the evaluator applies to hardware
read from a ZigZag file); this module only prices a mapping with ``RuleSwitches`` other than the
defaults, and with input tiles that reach into the padding (rule E2, which imcmap's ``Layer`` clips
like ZigZag's ``calc_tensor_dim``), to measure what each rule contributes. No ZigZag import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from imcmap.models.evaluator import _array_energy, _Context
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.workload import Layer, input_positions
from imcmap.models.zigzag_rules import Link, RuleSwitches, zigzag_costs


class UnclippedLayer(Layer):
    """A layer whose input tiles count the padding positions they touch (imcmap, like ZigZag, clips them)."""

    __slots__ = ()

    def input_extent(self, axis: str, out_tile: int, filt_tile: int) -> int:
        index = 0 if axis == "Y" else 1
        return input_positions(out_tile, filt_tile, self.stride[index], self.dilation[index])


def unclipped(layer: Layer) -> UnclippedLayer:
    return UnclippedLayer(**{f.name: getattr(layer, f.name) for f in dataclasses.fields(Layer)})


@dataclass(frozen=True)
class Priced:
    ideal: float
    stall: float
    onloading: float
    offloading: float
    memory_energy_pj: float
    array_energy_pj: float
    memory_energy_by_operand: dict[str, float]
    links: tuple[Link, ...]

    @property
    def latency_cycles(self) -> float:
        return self.ideal + self.stall + self.onloading + self.offloading

    @property
    def energy_pj(self) -> float:
        return self.memory_energy_pj + self.array_energy_pj


def zigzag_cost(layer: Layer, accel: Accelerator, mapping: Mapping, *, clip_padding: bool = True, **switches: bool) -> Priced:
    """The mapping priced by ZigZag's rules with the given ``RuleSwitches`` (keyword per rule)."""
    ctx = _Context(layer if clip_padding else unclipped(layer), accel, mapping)
    costs = zigzag_costs(ctx, RuleSwitches(**switches))
    by_operand: dict[str, float] = {}
    for k, link in enumerate(costs.links):
        by_operand[link.operand.value] = by_operand.get(link.operand.value, 0.0) + costs.energy_pj(k)
    return Priced(costs.compute_cycles, costs.stall_cycles, costs.onloading_cycles, costs.offloading_cycles,
                  costs.memory_energy_pj, sum(_array_energy(ctx).values()), by_operand, costs.links)
