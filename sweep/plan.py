"""A sweep spec's design points -> the runs to solve, each keyed by what decides its result.

Per (design point, base accelerator): the accelerator is built with the point's overrides, its point
metrics (area, clock, peak efficiency) are computed, and the filters that name metrics are decided;
a point they reject, or whose hardware cannot be built, costs no solve. Each remaining point gives one
run per (workload, objective). A run's key hashes the accelerator as solved, the workload, the mapping
spec, the constraints, the objective, the solver settings and the imcmap version (``store.run_key``),
so a rerun finds every run already stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcmap import __version__
from imcmap.models.hardware import Accelerator
from imcmap.models.workload import Workload
from imcmap.solver.solve import SolverConfig
from imcmap.specs.errors import SpecError
from imcmap.specs.expressions import ExpressionError, evaluate
from imcmap.specs.sweep import DesignPoint, SweepSpec

from .figures import PeakFigures, peak_figures
from .plain import plain_record
from .runs import RunRequest
from .store import run_key


@dataclass(frozen=True, slots=True)
class PlannedRun:
    request: RunRequest
    point: DesignPoint
    base: str
    peak: PeakFigures


@dataclass(frozen=True, slots=True)
class SkippedPoint:
    """A (design point, base) that is not solved, and why: a filter rejected it, or its hardware
    could not be built (an infeasible design)."""

    point: DesignPoint
    base: str
    reason: str
    filtered: bool  # True: a filter said no; False: the design point is not a valid accelerator


@dataclass(frozen=True, slots=True)
class Plan:
    runs: tuple[PlannedRun, ...]
    skipped: tuple[SkippedPoint, ...]


def point_metrics(peak: PeakFigures) -> dict[str, float | None]:
    """What a filter may name besides the point's values (``specs.sweep.POINT_METRICS``)."""
    return {
        "area_mm2": peak.area_mm2,
        "tclk_ns": peak.tclk_ns,
        "peak_tops_per_w": peak.macro_tops_per_w,
        "peak_tops_per_mm2": peak.macro_tops_per_mm2,
    }


def _rejected_by(spec: SweepSpec, point: DesignPoint, metrics: dict[str, float | None]) -> str | None:
    """The text of the first metric filter that rejects the point, or None."""
    known = {name: value for name, value in metrics.items() if value is not None}
    for rule in spec.metric_filters:
        try:
            if not evaluate(rule.expression, {**point.values, **known}):
                return f"filter {rule.expression.text!r} ({rule.key_path})"
        except ExpressionError as exc:
            return f"filter {rule.expression.text!r} ({rule.key_path}) cannot be decided here: {exc.message}"
    return None


def solver_config(spec: SweepSpec) -> SolverConfig:
    return SolverConfig(seed=spec.seed, time_limit_s=spec.time_limit_s)


def make_plan(spec: SweepSpec) -> Plan:
    config = solver_config(spec)
    mapping_plain = plain_record(spec.mapping)
    constraint_texts = [c.text for c in spec.constraints]
    workloads = [(w, plain_record(w)) for w in spec.workloads]
    runs: list[PlannedRun] = []
    skipped: list[SkippedPoint] = []
    for point in spec.points():
        for base in spec.bases:
            try:
                accel = spec.accelerator(point, base.name)
                peak = peak_figures(accel)
            except (SpecError, ValueError) as exc:
                skipped.append(SkippedPoint(point, base.name, _first_line(exc), filtered=False))
                continue
            reason = _rejected_by(spec, point, point_metrics(peak))
            if reason is not None:
                skipped.append(SkippedPoint(point, base.name, reason, filtered=True))
                continue
            runs.extend(
                _runs_of(spec, point, base.name, accel, peak, workloads, mapping_plain, constraint_texts, config)
            )
    return Plan(tuple(runs), tuple(skipped))


def _runs_of(spec: SweepSpec, point: DesignPoint, base: str, accel: Accelerator, peak: PeakFigures,
             workloads: list[tuple[Workload, dict[str, object]]], mapping_plain: dict[str, object],
             constraint_texts: list[str],
             config: SolverConfig) -> list[PlannedRun]:
    accel_plain = plain_record(accel)
    out = []
    for workload, workload_plain in workloads:
        for objective in spec.objectives:
            key = run_key(accelerator=accel_plain, workload=workload_plain, mapping=mapping_plain,
                          constraints=constraint_texts, objective=objective, solver=config.as_dict(),
                          version=__version__)
            values: dict[str, object] = {"base": base, **point.values}
            request = RunRequest(
                key=key,
                point=values,
                accelerator_name=base,
                workload_name=workload.name,
                accelerator=accel,
                workload=workload,
                mapping=spec.mapping,
                objective=objective,
                constraints=spec.constraints,
                config=config,
            )
            out.append(PlannedRun(request, point, base, peak))
    return out


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
