"""What the evaluator returns: costs with their breakdown, or the reasons a mapping is illegal."""

from __future__ import annotations

from dataclasses import dataclass

from .workload import Operand


@dataclass(frozen=True, slots=True)
class Violation:
    """Why a mapping is illegal; ``where`` names the level, array dim or loop dim concerned."""

    kind: str  # e.g. "capacity", "array_size", "factorization", "imc_rows", "unroll_dim", "cuts"
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class EnergyItem:
    """One line of the energy breakdown: a macro component or a memory level's traffic."""

    component: str  # e.g. "adc", "mult", "adder_tree", "mac", or "memory"
    level: str  # memory level name, or "array"
    operand: str  # "W", "I", "O", or "" for array components
    energy_pj: float


@dataclass(frozen=True, slots=True)
class Accesses:
    """Element transfers at one memory level for one operand (reads and writes, in elements and bits)."""

    level: str
    operand: Operand
    reads: float
    writes: float
    read_bits: float
    write_bits: float


@dataclass(frozen=True, slots=True)
class CostReport:
    layer: str
    energy_pj: float
    energy_breakdown: tuple[EnergyItem, ...]
    latency_cycles: float
    compute_cycles: float
    stall_cycles: float
    load_cycles: float
    spatial_utilization: float
    temporal_utilization: float
    area_mm2: float
    tclk_ns: float
    macs: int
    accesses: tuple[Accesses, ...]

    @property
    def utilization(self) -> float:
        return self.spatial_utilization * self.temporal_utilization

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.tclk_ns

    @property
    def edp(self) -> float:
        return self.energy_pj * self.latency_cycles

    def energy_by_component(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in self.energy_breakdown:
            key = item.component if item.level == "array" else f"{item.level}/{item.operand}"
            out[key] = out.get(key, 0.0) + item.energy_pj
        return out
