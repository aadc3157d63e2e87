"""The figures a sweep reports per run and per design point, from a solved network and its hardware.

Op count: 2 ops per MAC (one multiply, one add), over the layers imcmap maps (the operators it does not
model, listed as ``unmodelled_ops``, add none). With energy in pJ and latency in seconds:

* ``tops_per_w   = ops / energy_pj``                  (ops/pJ = 1e12 ops/J = TOP/s per W)
* ``tops_per_mm2 = ops / latency_s / 1e12 / area_mm2``
* ``latency_s    = latency_cycles * tclk_ns * 1e-9``  (layers run one after another)

Peak figures (per design point, independent of the workload) are the array at full utilisation every
cycle: on IMC arrays ``models.imc.imc_peak`` for the macro; the *system* peak divides the same ops by
the whole accelerator's area (memories included). Digital PE arrays have no peak energy model, so their
peak energy efficiency is None.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from imcmap.models.evaluator import accelerator_area_mm2, clock_period_ns
from imcmap.models.hardware import Accelerator, ImcArray
from imcmap.models.imc import imc_peak
from imcmap.solver.network import NetworkResult

OPS_PER_MAC = 2


@dataclass(frozen=True, slots=True)
class PeakFigures:
    """Full utilisation of the array, every cycle; ``None`` where the model has no figure."""

    macro_tops_per_w: float | None
    macro_tops_per_mm2: float | None
    system_tops_per_mm2: float | None
    area_mm2: float
    tclk_ns: float


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One solved (design point, workload, objective): totals over the layers that have a mapping."""

    energy_pj: float
    latency_cycles: float
    latency_s: float
    edp_pj_s: float
    area_mm2: float
    ops: int
    tops_per_w: float | None
    tops_per_mm2: float | None
    utilization: float | None  # MAC-weighted spatial x temporal utilisation
    median_gap: float | None
    worst_gap: float | None
    energy_by_component_pj: dict[str, float]
    energy_by_level_pj: dict[str, float]
    layers_total: int
    layers_mapped: int


def peak_figures(accel: Accelerator) -> PeakFigures:
    area = accelerator_area_mm2(accel)
    tclk = clock_period_ns(accel)
    array = accel.array
    if isinstance(array, ImcArray):
        peak = imc_peak(array)
        system = peak.tops / area if area > 0 else None
        return PeakFigures(peak.tops_per_w, peak.tops_per_mm2, system, area, tclk)
    units = 1
    for dim in array.dims:
        units *= dim.size
    tops = OPS_PER_MAC * units / tclk / 1000  # ops per ns / 1000 = TOP/s
    return PeakFigures(None, None, tops / area if area > 0 else None, area, tclk)


def run_figures(result: NetworkResult) -> RunFigures:
    accel = result.accelerator
    solved = [r.solution for r in result.layers if r.solution.report is not None]
    energy = sum(s.report.energy_pj for s in solved if s.report)
    cycles = sum(s.report.latency_cycles for s in solved if s.report)
    tclk = clock_period_ns(accel)
    latency_s = cycles * tclk * 1e-9
    area = accelerator_area_mm2(accel)
    macs = sum(s.report.macs for s in solved if s.report)
    ops = OPS_PER_MAC * macs
    by_component: dict[str, float] = {}
    by_level: dict[str, float] = {}
    for s in solved:
        assert s.report is not None
        for item in s.report.energy_breakdown:
            by_component[item.component] = by_component.get(item.component, 0.0) + item.energy_pj
            by_level[item.level] = by_level.get(item.level, 0.0) + item.energy_pj
    weighted = sum(s.report.utilization * s.report.macs for s in solved if s.report)
    gaps = [s.gap for s in solved if s.gap is not None]
    return RunFigures(
        energy_pj=energy,
        latency_cycles=cycles,
        latency_s=latency_s,
        edp_pj_s=energy * latency_s,
        area_mm2=area,
        ops=ops,
        tops_per_w=ops / energy if energy > 0 else None,
        tops_per_mm2=ops / latency_s / 1e12 / area if latency_s > 0 and area > 0 else None,
        utilization=weighted / macs if macs else None,
        median_gap=statistics.median(gaps) if gaps else None,
        worst_gap=max(gaps) if gaps else None,
        energy_by_component_pj=dict(sorted(by_component.items())),
        energy_by_level_pj=dict(sorted(by_level.items())),
        layers_total=len(result.layers),
        layers_mapped=len(solved),
    )
