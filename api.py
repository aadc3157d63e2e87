"""imcmap's application layer: one function per command, each returning a typed result.

    from imcmap import api
    result = api.solve("dimc", "tiny_net", mapping="default_imc",
                       constraints=["stationary W at cells"], time_limit_s=2)
    print(result.energy_pj, [r.solution.mapping.spatial for r in result.layers])

Every argument that names a spec accepts a bundled short name (``dimc``), a path, or the loaded
object. Inputs are loaded and checked in one place (``load_inputs``): every problem of every input
(files, constraint texts, a mapping against the hardware) is raised together as one
``specs.SpecError`` (its ``issues`` carry ``file:line:col``). An infeasible layer is not an
exception: its ``LayerSolution`` has status ``SolveStatus.INFEASIBLE``, a ``message`` and the clashing
user constraints in ``conflict`` (``SolveStatus`` lists every status with its meaning). Ctrl-C during
``solve`` or ``experiment`` returns what was found (``interrupted``), each layer in flight with its best
mapping so far; a second Ctrl-C raises ``KeyboardInterrupt``. Notes on how an input was read (ZigZag's
assumptions, entries left out) travel in the results' ``notes``.

* ``list_specs`` -> ``BundledKind``s; ``show`` -> ``ShowResult``; ``solve`` -> ``SolveResult``;
  ``evaluate`` (a full mapping file) -> ``Evaluation``; ``validate`` -> ``ValidationResult``;
  ``experiment`` -> ``ExperimentResult``.
* ``load_accelerator``, ``load_workload``, ``load_mapping_spec``, ``load_experiment``,
  ``parse_constraints``: single inputs. ``experiment_json`` / ``network_json``: JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from imcmap.chips import ChipCheck, chip_checks
from imcmap.models.constraints import is_diagonal
from imcmap.models.evaluator import accelerator_area_mm2, check, clock_period_ns
from imcmap.models.evaluator import evaluate as evaluate_mapping
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.workload import Workload
from imcmap.results import (
    BundledKind,
    BundledSpec,
    Evaluation,
    ExperimentResult,
    LayerDone,
    LayerEvaluation,
    ShowResult,
    SolveResult,
    SweepResult,
    ValidationResult,
    VariantRun,
)
from imcmap.serialize import bound_source, experiment_json, network_json
from imcmap.solver.compare import compare_networks
from imcmap.solver.network import NetworkResult, solve_network
from imcmap.solver.solve import OBJECTIVES, LayerSolution, SolverConfig
from imcmap.solver.status import SolveStatus
from imcmap.specs import (
    SpecError,
    SpecIssue,
    check_constraints,
    check_mapping_against,
    list_bundled,
    resolve,
)
from imcmap.specs import load_accelerator as _load_accelerator
from imcmap.specs import load_hardware_spec as _load_hardware_spec
from imcmap.specs import load_mapping_spec as _load_mapping_spec
from imcmap.specs import load_workload as _load_workload
from imcmap.specs.constraints import parsed_or_parse
from imcmap.specs.experiment import ExperimentSpec
from imcmap.specs.experiment import load_experiment as _load_experiment
from imcmap.specs.full_mapping import (
    FullMappingSpec,
    exchanged_issue,
    load_full_mapping_spec,
    violation_issue,
)
from imcmap.specs.library import KIND_DIRS
from imcmap.specs.sweep import SweepSpec
from imcmap.specs.sweep import load_sweep as _load_sweep
from imcmap.specs.zigzag import ZigZagHardwareSpec
from imcmap.sweep.driver import run_plan
from imcmap.sweep.engine import Progress as SweepProgress
from imcmap.sweep.engine import ProgressFn as SweepProgressFn
from imcmap.sweep.engine import SchedulerUnreachable
from imcmap.sweep.plan import make_plan

__all__ = [
    "BundledKind",
    "BundledSpec",
    "ChipCheck",
    "Evaluation",
    "ExperimentResult",
    "Inputs",
    "LayerDone",
    "LayerEvaluation",
    "SchedulerUnreachable",
    "ShowResult",
    "SolveResult",
    "SolveStatus",
    "SpecError",
    "SweepProgress",
    "SweepResult",
    "ValidationResult",
    "VariantRun",
    "evaluate",
    "evaluate_full_mapping",
    "experiment",
    "experiment_json",
    "list_specs",
    "load_accelerator",
    "load_experiment",
    "load_inputs",
    "load_mapping_spec",
    "load_workload",
    "network_json",
    "parse_constraints",
    "show",
    "solve",
    "sweep",
    "validate",
]

SPEC_KINDS = tuple(KIND_DIRS)  # accelerator, workload, mapping, experiment, chip

ZIGZAG_NOTE = (
    "read as a ZigZag 3.x file, with ZigZag's assumptions (28 nm, 0.9 V, input toggle rate 1, weight sparsity 0) "
    "and ZigZag 3.9.1's memory-traffic and latency rules (models/zigzag_rules.py); gaps are certified for the "
    "energy objective only"
)


ProgressFn = Callable[[LayerDone], None]


# --- single inputs ------------------------------------------------------------------------------


def load_accelerator(accelerator: str | Path | Accelerator) -> Accelerator:
    """A bundled name (``dimc``) or a path (imcmap or ZigZag 3.x YAML)."""
    if isinstance(accelerator, Accelerator):
        return accelerator
    return _load_accelerator(resolve("accelerator", accelerator))


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


# --- every input at once ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a command reads, loaded and checked against each other (None: not asked for)."""

    accelerator: Accelerator | None
    workload: Workload | None
    mapping: MappingSpec | None
    full_mapping: FullMappingSpec | None
    constraints: tuple[UserConstraint, ...]
    notes: tuple[str, ...]  # how an input was read: ZigZag's assumptions, entries left out


def _accelerator_and_notes(accelerator: str | Path | Accelerator) -> tuple[Accelerator, tuple[str, ...]]:
    if isinstance(accelerator, Accelerator):
        return accelerator, ()
    hardware = _load_hardware_spec(resolve("accelerator", accelerator))
    if not isinstance(hardware, ZigZagHardwareSpec):
        return hardware.accelerator, ()
    return hardware.accelerator, (f"{hardware.source}: {ZIGZAG_NOTE}", *hardware.warnings)


def _full_mapping(full_mapping: str | Path | FullMappingSpec, accel: Accelerator,
                  workload: Workload | None) -> FullMappingSpec:
    if isinstance(full_mapping, FullMappingSpec):
        return full_mapping
    return load_full_mapping_spec(Path(full_mapping).expanduser(), accel, workload)


def full_mapping_violations(spec: FullMappingSpec, accel: Accelerator, workload: Workload) -> list[SpecIssue]:
    """Every violation of every mapped layer, at its place in the mapping file."""
    exchange = [issue for layer in workload.layers if (issue := exchanged_issue(spec, layer)) is not None]
    if exchange:
        return exchange  # the other checks need the layer as mapped
    return [
        violation_issue(spec, layer.name, violation)
        for layer in workload.layers
        if layer.name in spec.mappings
        for violation in check(spec.layer_as_mapped(layer), accel, spec.mappings[layer.name])
    ]


def load_inputs(
    accelerator: str | Path | Accelerator | None = None,
    workload: str | Path | Workload | None = None,
    mapping: str | Path | MappingSpec | None = None,
    constraints: Iterable[str | UserConstraint] = (),
    *,
    full_mapping: str | Path | FullMappingSpec | None = None,
) -> Inputs:
    """Load every input given and check them against each other: the mapping spec and the
    constraints against the accelerator and workload, a full mapping's layers against the evaluator's
    rules. One SpecError carries every problem found; what needs an input that failed to load is not
    checked."""
    issues: list[SpecIssue] = []
    accel = work = spec = full = parsed = None
    notes: list[str] = []
    try:
        if accelerator is not None:
            accel, read_notes = _accelerator_and_notes(accelerator)
            notes += read_notes
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        work = load_workload(workload) if workload is not None else None
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        spec = load_mapping_spec(mapping) if mapping is not None else None
    except SpecError as exc:
        issues.extend(exc.issues)
    try:
        parsed = parse_constraints(constraints)
    except SpecError as exc:
        issues.extend(exc.issues)
    if full_mapping is not None and accel is not None:  # a full mapping can only be read against the hardware
        try:
            full = _full_mapping(full_mapping, accel, work)
        except SpecError as exc:
            issues.extend(exc.issues)
    if accel is not None and spec is not None:
        issues.extend(check_mapping_against(spec, accel, work))
    if accel is not None and parsed:
        issues.extend(check_constraints(parsed, accel, work, spec))
    if accel is not None and work is not None and full is not None:
        issues.extend(full_mapping_violations(full, accel, work))
    if issues:
        raise SpecError(issues)
    notes += [f"mapping: {w}" for w in getattr(spec, "warnings", ())]  # a ZigZag mapping file's entries left out
    return Inputs(accel, work, spec, full, parsed or (), tuple(notes))


# --- list, show ---------------------------------------------------------------------------------


def list_specs(kind: str | None = None) -> tuple[BundledKind, ...]:
    """The specs bundled with imcmap (``imcmap list``), of one kind or of every kind."""
    if kind is not None and kind not in SPEC_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SPEC_KINDS)} (got {kind!r})")
    return tuple(
        BundledKind(k, tuple(BundledSpec(name, path) for name, path in entries))
        for k, entries in list_bundled().items()
        if kind is None or k == kind
    )


def show(
    accelerator: str | Path | Accelerator | None = None,
    workload: str | Path | Workload | None = None,
    mapping: str | Path | MappingSpec | None = None,
) -> ShowResult:
    """Read and cross-check the inputs given (at least one)."""
    if accelerator is None and workload is None and mapping is None:
        raise ValueError("give at least one of accelerator, workload, mapping")
    inputs = load_inputs(accelerator, workload, mapping)
    return ShowResult(inputs.accelerator, inputs.workload, inputs.mapping, inputs.notes)


# --- solve --------------------------------------------------------------------------------------


def _solve_result(network: NetworkResult, notes: tuple[str, ...] = ()) -> SolveResult:
    accel = network.accelerator
    diagonal = tuple(r.solution.mapping is not None and is_diagonal(r.accelerator, r.solution.mapping)
                     for r in network.layers)
    return SolveResult(network, bound_source(accel, network.objective, network.config), accelerator_area_mm2(accel),
                       clock_period_ns(accel), diagonal, notes)


def _distinct_layers(workload: Workload) -> int:
    return len({layer.signature() for layer in workload.layers})


def _ticker(progress: ProgressFn | None, run: str, workload: Workload, total: int,
            seen: set[tuple[str, object]]) -> Callable[[str, LayerSolution], None] | None:
    """solve_network's callback as LayerDone ticks. It calls back once per hierarchy solved, and a
    layer may be solved on two (plain, and with a tensor kept on chip), so ``done`` counts the
    distinct layers solved so far; ``seen`` is shared by the runs of an experiment."""
    if progress is None:
        return None
    signature = {layer.name: layer.signature() for layer in workload.layers}

    def tick(layer: str, solution: LayerSolution) -> None:
        seen.add((run, signature.get(layer, layer)))
        progress(LayerDone(run, layer, solution, len(seen), total))

    return tick


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
    diagonal: bool = False,
    latency_bound: bool = False,
    progress: ProgressFn | None = None,
) -> SolveResult:
    """The optimal mapping of every layer (as ``imcmap solve``). ``constraints`` apply on top of the
    mapping spec's; ``time_limit_s`` is per layer in CP-SAT deterministic seconds; ``diagonal`` also
    searches diagonal OX/OY unrolling where the mapping spec does not say; ``latency_bound``, for latency
    or EDP on hardware priced by ZigZag's rules, also proves a lower bound (``SolverConfig.latency_bound``),
    so the gaps are certified there too. ``total_time_limit_s`` ends
    the run on the wall clock: layers in flight keep their best mapping so far (``FEASIBLE``), layers
    not started are ``NOT_SOLVED`` (``result.timed_out``)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    inputs = load_inputs(accelerator, workload, MappingSpec() if mapping is None else mapping, constraints)
    accel, work, spec = inputs.accelerator, inputs.workload, inputs.mapping
    assert accel is not None and work is not None and spec is not None  # load_inputs loads what it is given
    if diagonal:
        spec = replace(spec, diagonal_default=True)
    config = SolverConfig(seed=seed, workers=workers, time_limit_s=time_limit_s, latency_bound=latency_bound)
    network = solve_network(work, accel, spec, objective, config, processes=processes,
                            total_time_limit_s=total_time_limit_s, dataflow=dataflow,
                            progress=_ticker(progress, "", work, _distinct_layers(work), set()),
                            constraints=inputs.constraints)
    return _solve_result(network, inputs.notes)


# --- evaluate a full mapping ---------------------------------------------------------------------


def _priced(accel: Accelerator, workload: Workload, spec: FullMappingSpec, notes: tuple[str, ...]) -> Evaluation:
    mapped = [layer for layer in workload.layers if layer.name in spec.mappings]
    as_mapped = [spec.layer_as_mapped(layer) for layer in mapped]  # with I and W exchanged where the file says
    layers = tuple(
        LayerEvaluation(layer, spec.mappings[layer.name], evaluate_mapping(layer, accel, spec.mappings[layer.name]))
        for layer in as_mapped
    )
    not_mapped = tuple(layer.name for layer in workload.layers if layer.name not in spec.mappings)
    return Evaluation(accel, workload, spec, layers, not_mapped, accelerator_area_mm2(accel), clock_period_ns(accel),
                      notes)


def evaluate_full_mapping(accel: Accelerator, workload: Workload, spec: FullMappingSpec) -> Evaluation:
    """Price every mapped layer; if any mapping is illegal, raise a SpecError with every violation
    of every layer at its place in the mapping file (nothing is priced then)."""
    issues = full_mapping_violations(spec, accel, workload)
    if issues:
        raise SpecError(issues)
    return _priced(accel, workload, spec, ())


def evaluate(
    accelerator: str | Path | Accelerator,
    workload: str | Path | Workload,
    mapping: str | Path | FullMappingSpec,
) -> Evaluation:
    """Price a full mapping file (as ``imcmap evaluate``; e.g. the ``mappings.yaml`` of ``solve -o``)."""
    inputs = load_inputs(accelerator, workload, full_mapping=mapping)
    assert inputs.accelerator is not None and inputs.workload is not None and inputs.full_mapping is not None
    return _priced(inputs.accelerator, inputs.workload, inputs.full_mapping, inputs.notes)


# --- validate -----------------------------------------------------------------------------------


def validate(chips: Sequence[str | Path] = ()) -> ValidationResult:
    """The bundled chips (empty ``chips``), or the bundled chips named and the chip files given."""
    return ValidationResult(chip_checks(chips))


# --- experiments --------------------------------------------------------------------------------


def experiment(
    experiment_spec: str | Path | ExperimentSpec,
    *,
    processes: int | None = None,
    progress: ProgressFn | None = None,
) -> ExperimentResult:
    """Solve the baseline and every variant (as ``imcmap experiment``), then compare each with the
    baseline. ``progress`` is called as layers finish, counting over every run."""
    spec = experiment_spec if isinstance(experiment_spec, ExperimentSpec) else load_experiment(experiment_spec)
    config = SolverConfig(seed=spec.seed, time_limit_s=spec.time_limit_s)
    total = (1 + len(spec.variants)) * _distinct_layers(spec.workload)
    seen: set[tuple[str, object]] = set()

    def run(name: str, accel: Accelerator, constraints: tuple[UserConstraint, ...]) -> SolveResult:
        return _solve_result(solve_network(spec.workload, accel, spec.mapping, spec.objective, config,
                                           processes=processes,
                                           progress=_ticker(progress, name, spec.workload, total, seen),
                                           constraints=constraints))

    baseline = run("baseline", spec.accelerator, spec.constraints)
    runs: list[VariantRun] = []
    for variant in spec.variants:
        if baseline.interrupted or (runs and runs[-1].result.interrupted):
            break  # Ctrl-C: keep what was solved
        result = run(variant.name, variant.accelerator, spec.constraints + variant.constraints)
        runs.append(VariantRun(variant, result, compare_networks(variant.name, baseline.network, result.network)))
    return ExperimentResult(spec, baseline, tuple(runs))


# --- sweep ----------------------------------------------------------------------------------------


def load_sweep(sweep_spec: str | Path) -> SweepSpec:
    """A bundled name (``iccad23``) or a path to a sweep YAML file; every issue raised at once."""
    return _load_sweep(resolve("sweep", sweep_spec))


def default_sweep_folder(spec: SweepSpec) -> Path:
    return Path(f"sweep-{spec.name}")


def sweep(
    sweep_spec: str | Path | SweepSpec,
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: SweepProgressFn | None = None,
    prune: bool = False,
) -> SweepResult:
    """Solve every (design point, workload, objective) of the sweep not yet stored in ``output``
    (default ``sweep-<name>``), on a local Dask cluster of ``workers`` processes or on the cluster at
    ``scheduler``; ``fresh`` forgets what is stored first. Each run is stored as it finishes. With
    ``prune`` a run is given up (stored as pruned) once its layers solved so far prove it off its
    workload's front; a call without ``prune`` solves the pruned runs stored."""
    spec = sweep_spec if isinstance(sweep_spec, SweepSpec) else load_sweep(sweep_spec)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    plan = make_plan(spec)
    folder = Path(output) if output is not None else default_sweep_folder(spec)
    outcome = run_plan(plan, folder, workers=workers, scheduler=scheduler, fresh=fresh, progress=progress,
                       prune=prune)
    return SweepResult(spec, outcome)
