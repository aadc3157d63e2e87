"""imcmap as plain Python functions: what the command line does, returning typed results.

    from imcmap import api
    result = api.solve("dimc", "tiny_net", mapping="default_imc",
                       constraints=["stationary W at cells"], time_limit_s=2)
    print(result.energy_pj, [r.solution.mapping.spatial for r in result.layers])

Every argument that names a spec accepts a bundled short name (``dimc``), a path, or the loaded
object. Invalid input raises ``specs.SpecError`` (its ``issues`` carry ``file:line:col``); an
infeasible layer is not an exception: its ``LayerSolution`` has status ``INFEASIBLE``, a
``message`` and the clashing user constraints in ``conflict``.

* ``load_accelerator``, ``load_workload``, ``load_mapping_spec``, ``load_experiment``: specs.
* ``parse_constraints``: constraint texts -> ``UserConstraint`` (the grammar: ``specs.constraints``).
* ``solve`` -> ``NetworkResult``; ``evaluate`` (a full mapping file) -> ``Evaluation``;
  ``experiment`` -> ``ExperimentResult``; ``experiment_json`` / ``network_json``: JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imcmap.models.evaluator import check
from imcmap.models.evaluator import evaluate as evaluate_mapping
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, Workload
from imcmap.solver.compare import Comparison, compare_networks
from imcmap.solver.network import NetworkResult, solve_network
from imcmap.solver.results import network_json
from imcmap.solver.solve import OBJECTIVES, LayerSolution, SolverConfig
from imcmap.specs import SpecError, SpecIssue, check_mapping_against, resolve
from imcmap.specs import load_accelerator as _load_accelerator
from imcmap.specs import load_mapping_spec as _load_mapping_spec
from imcmap.specs import load_workload as _load_workload
from imcmap.specs.constraints import check_constraints, parsed_or_parse
from imcmap.specs.experiment import ExperimentSpec, Variant
from imcmap.specs.experiment import load_experiment as _load_experiment
from imcmap.specs.full_mapping import (
    FullMappingSpec,
    load_full_mapping_spec,
    violation_issue,
)

__all__ = [
    "Evaluation",
    "ExperimentResult",
    "LayerEvaluation",
    "SpecError",
    "VariantRun",
    "evaluate",
    "experiment",
    "experiment_json",
    "load_accelerator",
    "load_experiment",
    "load_mapping_spec",
    "load_workload",
    "network_json",
    "parse_constraints",
    "solve",
]

ProgressFn = Callable[[str, LayerSolution], None]


def load_accelerator(accelerator: str | Path | Accelerator) -> Accelerator:
    """A bundled name (``dimc``) or a path (imcmap or ZigZag 3.x YAML)."""
    return accelerator if isinstance(accelerator, Accelerator) else _load_accelerator(resolve("accelerator", accelerator))


def load_workload(workload: str | Path | Workload) -> Workload:
    """A bundled name (``resnet18``) or a path (.onnx or YAML)."""
    return workload if isinstance(workload, Workload) else _load_workload(resolve("workload", workload))


def load_mapping_spec(mapping: str | Path | MappingSpec | None) -> MappingSpec:
    """A bundled name (``default_imc``), a path, or None (no restriction)."""
    if mapping is None:
        return MappingSpec()
    return mapping if isinstance(mapping, MappingSpec) else _load_mapping_spec(resolve("mapping", mapping))


def load_experiment(path: str | Path) -> ExperimentSpec:
    """A bundled name (``resnet18_what_if``) or a path to an experiment YAML file."""
    return _load_experiment(resolve("experiment", path))


def parse_constraints(constraints: Iterable[str | UserConstraint]) -> tuple[UserConstraint, ...]:
    """Texts (``"spatial.D1.K >= 16"``) or UserConstraints, parsed; SpecError lists every bad one."""
    return parsed_or_parse(constraints)


def _inputs(
    accelerator: str | Path | Accelerator,
    workload: str | Path | Workload,
    mapping: str | Path | MappingSpec | None,
    constraints: Iterable[str | UserConstraint],
) -> tuple[Accelerator, Workload, MappingSpec, tuple[UserConstraint, ...]]:
    """Load and cross-check everything; every issue of every input is reported at once."""
    issues: list[SpecIssue] = []
    accel = work = spec = parsed = None
    try:
        accel = load_accelerator(accelerator)
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        work = load_workload(workload)
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        spec = load_mapping_spec(mapping)
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        parsed = parse_constraints(constraints)
    except SpecError as exc:
        issues.extend(exc.issues)
    if accel is not None and spec is not None:
        issues.extend(check_mapping_against(spec, accel, work))
    if accel is not None and parsed is not None:
        issues.extend(check_constraints(parsed, accel, work, spec))
    if issues or accel is None or work is None or spec is None or parsed is None:
        raise SpecError(issues)
    return accel, work, spec, parsed


def solve(
    accelerator: str | Path | Accelerator,
    workload: str | Path | Workload,
    mapping: str | Path | MappingSpec | None = None,
    objective: str = "energy",
    constraints: Sequence[str | UserConstraint] = (),
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int = 1,
    processes: int | None = None,
    total_time_limit_s: float | None = None,
    dataflow: bool = True,
    progress: ProgressFn | None = None,
) -> NetworkResult:
    """The optimal mapping of every layer (as ``imcmap solve``). ``constraints`` apply on top of the
    mapping spec's; ``time_limit_s`` is per layer in CP-SAT deterministic seconds."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    accel, work, spec, parsed = _inputs(accelerator, workload, mapping, constraints)
    config = SolverConfig(seed=seed, workers=workers, time_limit_s=time_limit_s)
    return solve_network(work, accel, spec, objective, config, processes=processes, total_time_limit_s=total_time_limit_s,
                         dataflow=dataflow, progress=progress, constraints=parsed)


# --- evaluate a full mapping ---------------------------------------------------------------------


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

    @property
    def energy_pj(self) -> float:
        return sum(e.report.energy_pj for e in self.layers)

    @property
    def latency_cycles(self) -> float:
        """Layers run one after another."""
        return sum(e.report.latency_cycles for e in self.layers)


def evaluate_full_mapping(accel: Accelerator, workload: Workload, spec: FullMappingSpec) -> Evaluation:
    """Price every mapped layer; if any mapping is illegal, raise a SpecError with every violation
    of every layer at its place in the mapping file (nothing is priced then)."""
    mapped = [layer for layer in workload.layers if layer.name in spec.mappings]
    issues = [
        violation_issue(spec, layer.name, violation)
        for layer in mapped
        for violation in check(layer, accel, spec.mappings[layer.name])
    ]
    if issues:
        raise SpecError(issues)
    layers = tuple(
        LayerEvaluation(layer, spec.mappings[layer.name], evaluate_mapping(layer, accel, spec.mappings[layer.name]))
        for layer in mapped
    )
    not_mapped = tuple(layer.name for layer in workload.layers if layer.name not in spec.mappings)
    return Evaluation(accel, workload, spec, layers, not_mapped)


def evaluate(
    accelerator: str | Path | Accelerator,
    workload: str | Path | Workload,
    mapping: str | Path | FullMappingSpec,
) -> Evaluation:
    """Price a full mapping file (as ``imcmap evaluate``; e.g. the ``mappings.yaml`` of ``solve -o``)."""
    accel, work = load_accelerator(accelerator), load_workload(workload)
    spec = mapping if isinstance(mapping, FullMappingSpec) else load_full_mapping_spec(Path(mapping).expanduser(), accel, work)
    return evaluate_full_mapping(accel, work, spec)


# --- experiments --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariantRun:
    variant: Variant
    result: NetworkResult
    comparison: Comparison  # against the baseline


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    spec: ExperimentSpec
    baseline: NetworkResult
    variants: tuple[VariantRun, ...]

    @property
    def runs(self) -> tuple[tuple[str, NetworkResult], ...]:
        return (("baseline", self.baseline), *((v.variant.name, v.result) for v in self.variants))

    @property
    def complete(self) -> bool:
        return all(result.complete for _, result in self.runs)


def experiment(
    experiment_spec: str | Path | ExperimentSpec,
    *,
    processes: int | None = None,
    progress: Callable[[str, str, LayerSolution], None] | None = None,
) -> ExperimentResult:
    """Solve the baseline and every variant (as ``imcmap experiment``), then compare each with the
    baseline. ``progress(run name, layer name, solution)`` is called as layers finish."""
    spec = experiment_spec if isinstance(experiment_spec, ExperimentSpec) else load_experiment(experiment_spec)
    config = SolverConfig(seed=spec.seed, time_limit_s=spec.time_limit_s)

    def run(name: str, accel: Accelerator, constraints: tuple[UserConstraint, ...]) -> NetworkResult:
        tick = (lambda layer, sol: progress(name, layer, sol)) if progress else None
        return solve_network(spec.workload, accel, spec.mapping, spec.objective, config, processes=processes,
                             progress=tick, constraints=constraints)

    baseline = run("baseline", spec.accelerator, spec.constraints)
    runs: list[VariantRun] = []
    for variant in spec.variants:
        if baseline.interrupted or (runs and runs[-1].result.interrupted):
            break  # Ctrl-C: keep what was solved
        result = run(variant.name, variant.accelerator, spec.constraints + variant.constraints)
        runs.append(VariantRun(variant, result, compare_networks(variant.name, baseline, result)))
    return ExperimentResult(spec, baseline, tuple(runs))


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 6)


def experiment_json(result: ExperimentResult) -> dict[str, object]:
    """Baseline and variants (each ``network_json``), and per variant the comparison in percent."""
    spec = result.spec
    doc: dict[str, object] = {
        "experiment": spec.name,
        "file": spec.file,
        "objective": spec.objective,
        "baseline": {
            "accelerator": spec.accelerator.name,
            "workload": spec.workload.name,
            "constraints": [{"text": c.text, "source": c.origin()} for c in spec.constraints],
            "result": network_json(result.baseline, spec.accelerator.name, spec.workload.name),
        },
        "variants": [],
    }
    for run in result.variants:
        cmp = run.comparison
        doc["variants"].append({  # type: ignore[attr-defined]
            "name": run.variant.name,
            "constraints": [{"text": c.text, "source": c.origin()} for c in run.variant.constraints],
            "hardware": {o.path: o.value for o in run.variant.hardware},
            "comparison": {
                "energy_change_pct": _pct(cmp.energy_change),
                "latency_change_pct": _pct(cmp.latency_change),
                "changed_layers": list(cmp.changed_layers),
                "layers": [
                    {
                        "name": c.layer,
                        "status": c.status,
                        "energy_change_pct": _pct(c.energy_change),
                        "latency_change_pct": _pct(c.latency_change),
                        "mapping_changed": c.mapping_changed,
                        "changes": list(c.changes),
                    }
                    for c in cmp.layers
                ],
            },
            "result": network_json(run.result, run.variant.accelerator.name, spec.workload.name),
        })
    return doc
