"""ZigZag 3.9.1's rules with one rule switched off at a time: the ablations of bench/README.md, section 4.

The rules themselves are imcmap's ``models/zigzag_rules.py`` (what the evaluator applies to hardware
read from a ZigZag file); this module only prices a mapping with ``RuleSwitches`` other than the
defaults, to measure what each rule contributes. No ZigZag import.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcmap.models.evaluator import _array_energy, _Context
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.workload import Layer
from imcmap.models.zigzag_rules import Link, RuleSwitches, zigzag_costs


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


def zigzag_cost(layer: Layer, accel: Accelerator, mapping: Mapping, **switches: bool) -> Priced:
    """The mapping priced by ZigZag's rules with the given ``RuleSwitches`` (keyword per rule)."""
    ctx = _Context(layer, accel, mapping)
    costs = zigzag_costs(ctx, RuleSwitches(**switches))
    by_operand: dict[str, float] = {}
    for k, link in enumerate(costs.links):
        by_operand[link.operand.value] = by_operand.get(link.operand.value, 0.0) + costs.energy_pj(k)
    return Priced(
        ideal=costs.compute_cycles,
        stall=costs.stall_cycles,
        onloading=costs.onloading_cycles,
        offloading=costs.offloading_cycles,
        memory_energy_pj=costs.memory_energy_pj,
        array_energy_pj=sum(_array_energy(ctx).values()),
        memory_energy_by_operand=by_operand,
        links=costs.links,
    )
