"""The typed results of imcmap's commands: what ``api`` returns and what ``report`` and ``serialize``
read. Plain frozen records over the domain types; no loading, solving or rendering here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imcmap.chips import ChipCheck
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, UnmodelledOp, Workload
from imcmap.solver.compare import Comparison
from imcmap.solver.network import LayerResult, NetworkResult
from imcmap.solver.solve import LayerSolution, SolverConfig
from imcmap.solver.status import SolveStatus
from imcmap.specs.experiment import ExperimentSpec, Variant
from imcmap.specs.full_mapping import (
    FullMappingSpec,
)
from imcmap.specs.sweep import SweepSpec
from imcmap.sweep.driver import SweepOutcome, SweepRun


@dataclass(frozen=True, slots=True)
class LayerDone:
    """A progress tick: ``run`` ("" for a plain solve) has a solution for ``layer``; ``done`` of
    ``total`` distinct layers (identical layers are solved once) have one so far. A layer solved
    again (with a tensor kept on chip) ticks again without counting twice."""

    run: str
    layer: str
    solution: LayerSolution
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class BundledSpec:
    name: str  # the short name commands take
    path: Path


@dataclass(frozen=True, slots=True)
class BundledKind:
    kind: str  # accelerator, workload, mapping, experiment, chip
    specs: tuple[BundledSpec, ...]


@dataclass(frozen=True, slots=True)
class ShowResult:
    """What ``imcmap show`` understood of the inputs given (None: not given)."""

    accelerator: Accelerator | None
    workload: Workload | None
    mapping: MappingSpec | None
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SolveResult:
    """A solved network with what its report states beside the numbers. ``layers``, ``energy_pj``,
    ``latency_cycles`` and the other fields of ``NetworkResult`` read through to ``network``."""

    network: NetworkResult
    bound_source: str  # what the certified gaps rest on
    area_mm2: float  # the accelerator's
    tclk_ns: float
    diagonal: tuple[bool, ...]  # per layer: its mapping unrolls OX/OY over IMC columns
    notes: tuple[str, ...]

    @property
    def layers(self) -> tuple[LayerResult, ...]:
        return self.network.layers

    @property
    def accelerator(self) -> Accelerator:
        return self.network.accelerator

    @property
    def workload(self) -> Workload:
        return self.network.workload

    @property
    def objective(self) -> str:
        return self.network.objective

    @property
    def config(self) -> SolverConfig:
        return self.network.config

    @property
    def energy_pj(self) -> float:
        return self.network.energy_pj

    @property
    def latency_cycles(self) -> float:
        return self.network.latency_cycles

    @property
    def complete(self) -> bool:
        return self.network.complete

    @property
    def interrupted(self) -> bool:
        return self.network.interrupted

    @property
    def timed_out(self) -> tuple[str, ...]:
        return self.network.timed_out

    @property
    def wall_time_s(self) -> float:
        return self.network.wall_time_s

    @property
    def unmodelled_ops(self) -> tuple[UnmodelledOp, ...]:
        return self.network.unmodelled_ops

    @property
    def infeasible(self) -> bool:
        """A layer has no mapping meeting its constraints (or none at all)."""
        return any(r.solution.status == SolveStatus.INFEASIBLE for r in self.network.layers)


@dataclass(frozen=True, slots=True)
class LayerEvaluation:
    layer: Layer
    mapping: Mapping
    report: CostReport


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What ``imcmap evaluate`` prices: the mapped layers in workload order and the rest by name."""

    accelerator: Accelerator
    workload: Workload
    spec: FullMappingSpec
    layers: tuple[LayerEvaluation, ...]
    not_mapped: tuple[str, ...]
    area_mm2: float  # the accelerator's
    tclk_ns: float
    notes: tuple[str, ...] = ()

    @property
    def energy_pj(self) -> float:
        return sum(e.report.energy_pj for e in self.layers)

    @property
    def latency_cycles(self) -> float:
        """Layers run one after another."""
        return sum(e.report.latency_cycles for e in self.layers)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """The IMC macro model against each chip (``imcmap validate``)."""

    chips: tuple[ChipCheck, ...]

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(note for chip in self.chips for note in chip.notes)


@dataclass(frozen=True, slots=True)
class VariantRun:
    variant: Variant
    result: SolveResult
    comparison: Comparison  # against the baseline


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    spec: ExperimentSpec
    baseline: SolveResult
    variants: tuple[VariantRun, ...]

    @property
    def runs(self) -> tuple[tuple[str, SolveResult], ...]:
        return (("baseline", self.baseline), *((v.variant.name, v.result) for v in self.variants))

    @property
    def complete(self) -> bool:
        return all(result.complete for _, result in self.runs)

    @property
    def interrupted(self) -> bool:
        """Ctrl-C: a run stopped early, or variants were not run."""
        return any(r.interrupted for _, r in self.runs) or len(self.variants) < len(self.spec.variants)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What ``imcmap sweep`` did: every planned run (stored before, or solved now), the design points
    not solved and why, the Pareto fronts per workload (``runs[i].on_front``) and where it is stored."""

    spec: SweepSpec
    outcome: SweepOutcome

    @property
    def runs(self) -> tuple[SweepRun, ...]:
        return self.outcome.runs

    @property
    def folder(self) -> Path:
        return self.outcome.folder

    @property
    def interrupted(self) -> bool:
        return self.outcome.interrupted

    @property
    def complete(self) -> bool:
        """Every planned run is stored and none failed."""
        return not self.interrupted and self.outcome.failed == 0 and len(self.runs) == self.outcome.planned
