"""Sweep YAML -> ``SweepSpec``: base accelerators, a grid of hardware parameters, derived values and
point filters, expanded into design points before anything is solved.

Schema (``?`` = optional)::

    name?: str                             # default: the file's stem
    accelerators:                          # at least one base; each a bundled name or a path
      - str                                #   (relative to this file), imcmap or ZigZag format
      - accelerator: str                   # or a mapping, to name the base or derive values for it alone
        name?: str                         #   how its runs are labelled; default the name / file stem
        derived?:                          #   this base only, after the sweep's own derived values:
          <hardware path>: <expression>    #   may also read this base's values by path
    workloads: [str, ...]                  # at least one; bundled name or path (.onnx or .yaml)
    mapping?: str                          # mapping spec; default: no restriction
    objectives?: [energy | latency | edp, ...]   # default [energy]
    time_limit?: number > 0                # per layer, CP-SAT deterministic seconds; default 10
    seed?: int >= 0                        # default 0
    constraints?: [str, ...]               # for every run (the constraint language)
    parameters:                            # at least one; combined as a full grid
      <name>: <values>                     # a dotted hardware path (set on every base, checked as
                                           #   experiment overrides are) or a plain name (a variable)
    zip?: [[<name>, <name>, ...], ...]     # parameters that move together (equal numbers of values)
    derived?:                              # in file order; each reads parameters and derived above it
      <name>: <expression>                 # a hardware path (set on every base) or a plain name
    filters?: [<condition>, ...]           # a design point is kept when every condition holds

    <values>:  a number or text           # one value
             | [v, ...]                    # a list (numbers or text, no repeats)
             | {from: a, to: b, step: s}   # arithmetic: a, a+s, a+2s, ... up to b (s < 0 counts down)
             | {from: a, to: b, factor: f} # geometric: a, a*f, a*f*f, ... up to b (a, b > 0, f != 1)

Expressions are ``specs.expressions``: numbers, names (dotted paths read as one name), + - * / // %
**, log2 log sqrt min max ceil floor round; filters add comparisons and and/or/not. A filter may name
parameters, derived values and the metrics the engine computes per design point (``POINT_METRICS``:
area, peak efficiency, clock). Filters that name only parameters and derived values are decided here,
so ``points()`` never holds those points; the others are left to the engine (``metric_filters``).

The grid's order is fixed: parameters in file order, the first varying slowest (as nested loops written
top to bottom); a zip group stands where its first member is written. A number that is whole (4.0) is
used as the integer 4, so ``rows / 8`` can set an integer hardware key. Every design point's
accelerator is built and checked at load, so a bad value is reported at its place in this file with
the point that gave it, before anything is solved.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.objective import Objective
from imcmap.models.workload import Workload

from .checks import (
    Fields,
    Issues,
    as_choice_list,
    as_seq,
    as_str,
    describe,
    did_you_mean,
    is_name,
    root_mapping,
)
from .constraints import check_constraints
from .dialect import Dialect, FileKind, dialect_of
from .errors import SpecError, SpecIssue
from .experiment import (
    DEFAULT_TIME_LIMIT_S,
    OBJECTIVES,
    HardwareOverride,
    _overridden,
    _path,
    _set,
)
from .expressions import (
    FUNCTIONS,
    Expression,
    ExpressionError,
    Value,
    evaluate,
    parse_expression,
    unknown_names,
)
from .hardware import build_hardware_spec, load_accelerator
from .library import is_short_name, resolve
from .loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq, load_yaml
from .mapping import check_mapping_against, load_mapping_spec, read_constraints
from .workload import load_workload

POINT_METRICS = ("area_mm2", "peak_tops_per_w", "peak_tops_per_mm2", "tclk_ns")
MAX_POINTS = 100_000  # grid points before filters; a larger grid is almost surely a typo in a range
MAX_RANGE_VALUES = 10_000
TOP_REQUIRED = ("accelerators", "workloads", "parameters")
TOP_OPTIONAL = ("name", "mapping", "objectives", "time_limit", "seed", "constraints", "zip", "derived", "filters")
BASE_REQUIRED = ("accelerator",)
BASE_OPTIONAL = ("name", "derived")
_T = TypeVar("_T")
_OWN_PATHS = ("parameters.", "derived.", "accelerators[")  # key paths of values this file sets


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str  # a dotted hardware path, or a plain name (a variable for expressions)
    values: tuple[Value, ...]
    key_path: str  # in the sweep file: "parameters.array.dims.D2"
    key_at: tuple[int, int]  # where the name is written
    value_at: tuple[tuple[int, int], ...]  # where each value is written (a range: the range)

    @property
    def is_hardware(self) -> bool:
        return "." in self.name


@dataclass(frozen=True, slots=True)
class Derived:
    name: str  # a dotted hardware path or a plain name (per base: a hardware path)
    expression: Expression
    key_path: str
    key_at: tuple[int, int]
    value_at: tuple[int, int]

    @property
    def is_hardware(self) -> bool:
        return "." in self.name


@dataclass(frozen=True, slots=True)
class Filter:
    expression: Expression
    key_path: str  # "filters[0]"
    at: tuple[int, int]
    needs_metrics: bool  # names a metric, so only the engine can decide it


@dataclass(frozen=True, slots=True)
class SweepBase:
    name: str
    file: str
    accelerator: Accelerator  # as written, no overrides
    document: Document | None  # the file's YAML (None for a ZigZag file: it takes no overrides)
    derived: tuple[Derived, ...]  # for this base only


@dataclass(frozen=True, slots=True)
class DesignPoint:
    index: int  # position in the full grid, filters aside: stable while only filters change
    values: dict[str, Value]  # parameters, then derived values, in file order
    label: str  # the parameters, "rows=32, array.dims.D3=2"
    overrides: dict[str, tuple[HardwareOverride, ...]]  # per base name, in the order applied


@dataclass(frozen=True, slots=True)
class SweepSpec:
    name: str
    file: str
    bases: tuple[SweepBase, ...]
    workloads: tuple[Workload, ...]
    workload_files: tuple[str, ...]  # the file each workload was read from, in the same order
    mapping: MappingSpec
    objectives: tuple[Objective, ...]
    time_limit_s: float
    seed: int
    constraints: tuple[UserConstraint, ...]
    parameters: tuple[Parameter, ...]
    zip_groups: tuple[tuple[str, ...], ...]
    derived: tuple[Derived, ...]
    filters: tuple[Filter, ...]
    grid_size: int  # points in the full grid, before filters
    design_points: tuple[DesignPoint, ...] = field(repr=False)
    # every (point index, base name)'s accelerator, built once while the file is checked
    accelerators: dict[tuple[int, str], Accelerator] = field(default_factory=dict, repr=False, compare=False)

    def points(self) -> tuple[DesignPoint, ...]:
        """The design points in grid order, less those a parameter-only filter rejects."""
        return self.design_points

    @property
    def metric_filters(self) -> tuple[Filter, ...]:
        """The filters the engine decides, once it has a point's metrics."""
        return tuple(f for f in self.filters if f.needs_metrics)

    def base(self, name: str) -> SweepBase:
        for base in self.bases:
            if base.name == name:
                return base
        raise KeyError(f"no base accelerator '{name}' in this sweep; bases: {', '.join(b.name for b in self.bases)}")

    def accelerator(self, point: DesignPoint, base: str) -> Accelerator:
        return point_accelerator(self, point, base)


def point_accelerator(spec: SweepSpec, point: DesignPoint, base: str) -> Accelerator:
    """The base accelerator with the point's overrides (built by the experiment's override machinery
    when the file was read: a point whose accelerator cannot be built fails the load)."""
    spec.base(base)  # an unknown base is a KeyError that names the bases
    return spec.accelerators[(point.index, base)]


def load_sweep(path: str | Path, metric_names: Collection[str] = POINT_METRICS) -> SweepSpec:
    """Read a sweep (a path, or the short name of a bundled one), expand and check every design point;
    raise SpecError listing every issue found. ``metric_names``: what filters may name besides values."""
    file = resolve("sweep", path) if isinstance(path, str) and is_short_name(path) else Path(path)
    doc = load_yaml(file)
    reader = _Reader(doc, tuple(metric_names))
    return reader.read()


# --- reading ------------------------------------------------------------------------------------


@dataclass
class _Parts:
    """What the top level gave; None where a part is invalid (an issue says why)."""

    bases: list[SweepBase] = field(default_factory=list)
    bases_ok: bool = True
    workloads: list[Workload] = field(default_factory=list)
    workload_files: list[str] = field(default_factory=list)
    workloads_ok: bool = True
    mapping: MappingSpec | None = None
    mapping_ok: bool = True


class _Reader:
    def __init__(self, doc: Document, metric_names: tuple[str, ...]) -> None:
        self.doc = doc
        self.file = doc.file
        self.here = Path(doc.file).resolve().parent
        self.metrics = metric_names
        self.issues = Issues(doc.file, doc.issues)
        try:
            self.lines = Path(doc.file).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            self.lines = []

    def read(self) -> SweepSpec:
        issues = self.issues
        root = root_mapping(issues, self.doc.root, "accelerators, workloads, parameters")
        top = Fields(issues, root, TOP_REQUIRED, TOP_OPTIONAL)
        name = top.text("name", Path(self.file).stem or "sweep")
        objectives_node = top.get("objectives")
        names = (Objective.ENERGY.value,) if objectives_node is None else as_choice_list(
            issues, objectives_node, OBJECTIVES, "objective", nonempty=True)
        objectives = None if names is None else tuple(Objective(name) for name in names)
        time_limit = top.number("time_limit", DEFAULT_TIME_LIMIT_S, minimum=0, min_open=True)
        seed = top.integer("seed", 0, minimum=0)
        seq = top.sequence("constraints")
        constraints = read_constraints(issues, seq) if seq is not None else (None if top.has("constraints") else ())
        parts = self._inputs(top)
        parameters = self._parameters(top)
        zip_groups = self._zip(top, parameters)
        derived = self._derived(top, parameters)
        filters = self._filters(top, parameters, derived)
        points: tuple[DesignPoint, ...] = ()
        accelerators: dict[tuple[int, str], Accelerator] = {}
        grid_size = 0
        # the grid is expanded whenever its own parts are valid, so its issues show with the others
        ready = (parameters is not None and zip_groups is not None and derived is not None and filters is not None
                 and parts.bases_ok)
        if ready:
            assert parameters is not None and zip_groups is not None and derived is not None and filters is not None
            grid_size, points = self._points(top, parts.bases, parameters, zip_groups, derived, filters)
            accelerators = self._check_points(parts, constraints, parameters, derived, points)
        if (issues or name is None or objectives is None or time_limit is None or seed is None or constraints is None
                or not ready or not (parts.bases_ok and parts.workloads_ok and parts.mapping_ok)):
            issues.fail()
        assert parameters is not None and zip_groups is not None and derived is not None and filters is not None
        assert name is not None and objectives is not None and time_limit is not None and seed is not None
        assert constraints is not None
        return SweepSpec(
            name=name,
            file=self.file,
            bases=tuple(parts.bases),
            workloads=tuple(parts.workloads),
            workload_files=tuple(parts.workload_files),
            mapping=parts.mapping or MappingSpec(),
            objectives=objectives,
            time_limit_s=float(time_limit),
            seed=seed,
            constraints=constraints,
            parameters=parameters,
            zip_groups=zip_groups,
            derived=derived,
            filters=filters,
            grid_size=grid_size,
            design_points=points,
            accelerators=accelerators,
        )

    # --- inputs: bases, workloads, mapping -------------------------------------------------------

    def _load(self, node: YamlNode, kind: str, value: str, load: Callable[[Path], _T]) -> tuple[Path, _T] | None:
        """``load`` applied to the file ``value`` names, or None (its issues recorded, placed here
        when the name itself does not resolve)."""
        shown = {value}
        try:
            path = _path(self.here, kind, value)
            shown.add(str(path))
            return path, load(path)
        except SpecError as exc:
            for issue in exc.issues:  # a name given here that does not resolve points at this file
                if issue.line == 0 and issue.file in shown:
                    self.issues.at(node, issue.message, issue.hint)
                else:
                    self.issues.found.append(issue)
            return None

    def _inputs(self, top: Fields) -> _Parts:
        parts = _Parts()
        bases_node = top.sequence("accelerators")
        parts.bases_ok = bases_node is not None
        if bases_node is not None:
            if not bases_node.items:
                self.issues.at(bases_node, "needs at least one accelerator", "e.g. accelerators: [aimc, dimc]")
                parts.bases_ok = False
            seen: dict[str, int] = {}
            for item in bases_node.items:
                base = self._base(item, seen)
                if base is None:
                    parts.bases_ok = False
                else:
                    parts.bases.append(base)
        workloads_node = top.sequence("workloads")
        parts.workloads_ok = workloads_node is not None
        if workloads_node is not None:
            if not workloads_node.items:
                self.issues.at(workloads_node, "needs at least one workload", "e.g. workloads: [tiny_net]")
                parts.workloads_ok = False
            seen_workloads: dict[str, int] = {}
            for item in workloads_node.items:
                value = as_str(self.issues, item)
                loaded = None if value is None else self._load(item, "workload", value, load_workload)
                if loaded is None:
                    parts.workloads_ok = False
                    continue
                workload: Workload = loaded[1]
                if workload.name in seen_workloads:
                    self.issues.at(item, f"a second workload named '{workload.name}' "
                                         f"(first at line {seen_workloads[workload.name]})")
                    parts.workloads_ok = False
                    continue
                seen_workloads[workload.name] = item.line
                parts.workloads.append(workload)
                parts.workload_files.append(str(loaded[0]))
        mapping_node = top.get("mapping")
        if mapping_node is not None:
            value = as_str(self.issues, mapping_node)
            mapping = None if value is None else self._load(mapping_node, "mapping", value, load_mapping_spec)
            parts.mapping = None if mapping is None else mapping[1]
            parts.mapping_ok = parts.mapping is not None
        return parts

    def _base(self, item: YamlNode, seen: dict[str, int]) -> SweepBase | None:
        derived_node: YamlMap | None = None
        if isinstance(item, YamlMap):
            f = Fields(self.issues, item, BASE_REQUIRED, BASE_OPTIONAL)
            source_node = f.get("accelerator")
            source = f.text("accelerator")
            given_name = f.text("name")
            derived_node = f.mapping("derived")
            if (f.has("name") and given_name is None) or (f.has("derived") and derived_node is None):
                return None
        else:
            source_node, source, given_name = item, as_str(self.issues, item), None
        if source is None or source_node is None:
            return None
        loaded = self._load(source_node, "accelerator", source, load_yaml)
        if loaded is None:
            return None
        path, document = loaded
        zigzag = dialect_of(document, FileKind.HARDWARE) is Dialect.ZIGZAG
        try:
            accelerator = load_accelerator(path) if zigzag else build_hardware_spec(document).accelerator
        except SpecError as exc:
            self.issues.found.extend(exc.issues)
            return None
        name = given_name or (source if is_short_name(source) else Path(source).stem)
        name_node = item.items["name"] if isinstance(item, YamlMap) and "name" in item.items else source_node
        if not is_name(name.replace("-", "_").replace(".", "_")):
            self.issues.at(name_node, f"base name '{name}' must be letters, digits, '_', '-' or '.'",
                           "give the entry a name: {accelerator: ..., name: ...}")
            return None
        if name in seen:
            self.issues.at(name_node, f"a second base named '{name}' (first at line {seen[name]})",
                           "give one of them a name: {accelerator: ..., name: ...}")
            return None
        seen[name] = name_node.line
        derived: tuple[Derived, ...] = ()
        if derived_node is not None:
            if zigzag:
                self.issues.at(derived_node, f"'{source}' is a ZigZag file: its values cannot be set",
                               "give the base in imcmap's format")
                return None
            read = self._derived_entries(derived_node, hardware_only=True)
            if read is None:
                return None
            derived = tuple(read)
        return SweepBase(name, str(path), accelerator, None if zigzag else document, derived)

    # --- parameters -------------------------------------------------------------------------------

    def _name_ok(self, parent: YamlMap, key: str, what: str, hardware_only: bool = False) -> bool:
        if "." in key:
            if any(not part for part in key.split(".")):
                self.issues.at_key(parent, key, f"bad hardware path '{key}'", "e.g. array.dims.D2")
                return False
            return True
        if hardware_only:
            self.issues.at_key(parent, key, f"'{key}' is not a hardware path",
                               "values derived for one base set its hardware: e.g. array.adc_bits")
            return False
        if not is_name(key):
            self.issues.at_key(parent, key, f"{what} '{key}' must be a dotted hardware path or a name "
                                            "(letters, digits and '_', not starting with a digit)")
            return False
        if key in FUNCTIONS or key in self.metrics:
            self.issues.at_key(parent, key, f"'{key}' is a {'function' if key in FUNCTIONS else 'metric'} name; "
                                            f"choose another name for the {what}")
            return False
        return True

    def _parameters(self, top: Fields) -> tuple[Parameter, ...] | None:
        node = top.mapping("parameters")
        if node is None:
            return None
        if not node.items:
            self.issues.at(node, "needs at least one parameter", "e.g. parameters: {array.dims.D3: [1, 2, 4]}")
            return None
        out: list[Parameter] = []
        ok = True
        for key, value in node.items.items():
            values = self._values(value)
            if not self._name_ok(node, key, "parameter") or values is None:
                ok = False
                continue
            out.append(Parameter(key, tuple(v for v, _ in values), value.path, node.keys[key],
                                 tuple(at for _, at in values)))
        return tuple(out) if ok else None

    def _values(self, node: YamlNode) -> list[tuple[Value, tuple[int, int]]] | None:
        if isinstance(node, YamlScalar):
            value = self._scalar_value(node)
            return None if value is None else [(value, (node.line, node.col))]
        if isinstance(node, YamlSeq):
            if not node.items:
                self.issues.at(node, "the list has no values", "give at least one value")
                return None
            out: list[tuple[Value, tuple[int, int]]] = []
            first: dict[Value, int] = {}
            for item in node.items:
                value = self._scalar_value(item) if isinstance(item, YamlScalar) else None
                if not isinstance(item, YamlScalar):
                    self.issues.at(item, f"expected a number or text, got {describe(item)}")
                if value is None:
                    return None
                if value in first:
                    self.issues.at(item, f"value {_show(value)} is listed twice (first at line {first[value]})")
                    return None
                first[value] = item.line
                out.append((value, (item.line, item.col)))
            return out
        values = self._range(node)
        return None if values is None else [(v, (node.line, node.col)) for v in values]

    def _scalar_value(self, node: YamlScalar) -> Value | None:
        value = node.value
        if isinstance(value, bool) or value is None:
            self.issues.at(node, f"expected a number or text, got {describe(node)}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.issues.at(node, f"must be a finite number (got {node.text})")
            return None
        if isinstance(value, str) and not value.strip():
            self.issues.at(node, "must not be empty")
            return None
        return _whole(value)

    def _range(self, node: YamlMap) -> list[Value] | None:
        has_step, has_factor = "step" in node.items, "factor" in node.items
        f = Fields(self.issues, node, ("from", "to"), ("step", "factor"))
        before = len(self.issues)
        start, stop = f.number("from"), f.number("to")
        if has_step == has_factor:
            self.issues.at(node, "a range needs exactly one of step (arithmetic) or factor (geometric)",
                           "e.g. {from: 32, to: 256, step: 32} or {from: 32, to: 1024, factor: 2}")
            return None
        step = f.number("step") if has_step else f.number("factor", minimum=0, min_open=True)
        if len(self.issues) > before or start is None or stop is None or step is None:
            return None
        written = [node.items[k] for k in ("from", "to", "step", "factor") if k in node.items]
        integers = all(isinstance(n, YamlScalar) and isinstance(n.value, int) for n in written)
        if has_step:
            values = self._arithmetic(node, start, stop, step, integers)
        else:
            values = self._geometric(node, start, stop, step, integers)
        return values

    def _arithmetic(self, node: YamlMap, start: float, stop: float, step: float, integers: bool) -> list[Value] | None:
        if step == 0:
            self.issues.at(node.items["step"], "step must not be 0")
            return None
        span = (stop - start) / step
        if span < -1e-9:
            self.issues.at(node, f"the range gives no values: from {_show(start)} to {_show(stop)} with step "
                                 f"{_show(step)}", f"to count {'down' if step > 0 else 'up'}, give step {_show(-step)}")
            return None
        count = math.floor(span + 1e-9) + 1
        if count > MAX_RANGE_VALUES:
            self.issues.at(node, f"the range gives {count} values (at most {MAX_RANGE_VALUES})")
            return None
        if integers:
            return [int(start) + k * int(step) for k in range(count)]
        return [_whole(_clean(start + k * step)) for k in range(count)]

    def _geometric(self, node: YamlMap, start: float, stop: float, factor: float, integers: bool) -> list[Value] | None:
        if start <= 0 or stop <= 0:
            self.issues.at(node.items["from" if start <= 0 else "to"], "a geometric range needs from > 0 and to > 0")
            return None
        if factor == 1:
            self.issues.at(node.items["factor"], "factor must not be 1")
            return None
        span = math.log(stop / start) / math.log(factor)
        if span < -1e-9:
            self.issues.at(node, f"the range gives no values: from {_show(start)} to {_show(stop)} with factor "
                                 f"{_show(factor)}", f"to go {'down' if factor > 1 else 'up'}, give factor "
                                                     f"{_show(_clean(1 / factor))}")
            return None
        count = math.floor(span + 1e-9) + 1
        if count > MAX_RANGE_VALUES:
            self.issues.at(node, f"the range gives {count} values (at most {MAX_RANGE_VALUES})")
            return None
        if integers:
            return [int(start) * int(factor) ** k for k in range(count)]
        return [_whole(_clean(start * factor**k)) for k in range(count)]

    def _zip(self, top: Fields, parameters: tuple[Parameter, ...] | None) -> tuple[tuple[str, ...], ...] | None:
        node = top.sequence("zip")
        if node is None:
            return None if top.has("zip") else ()
        by_name = {p.name: p for p in parameters or ()}
        grouped: dict[str, int] = {}
        groups: list[tuple[str, ...]] = []
        ok = True
        for item in node.items:
            seq = as_seq(self.issues, item, "a list of parameter names, e.g. [rows, cols]")
            if seq is None:
                ok = False
                continue
            if len(seq.items) < 2:
                self.issues.at(seq, "a zip group needs at least two parameters")
                ok = False
                continue
            names: list[str] = []
            for entry in seq.items:
                name = as_str(self.issues, entry)
                if name is None:
                    ok = False
                elif parameters is not None and name not in by_name:
                    self.issues.at(entry, f"unknown parameter '{name}'{did_you_mean(name, by_name)}",
                                   f"parameters: {', '.join(by_name)}")
                    ok = False
                elif name in grouped:
                    self.issues.at(entry, f"parameter '{name}' is already zipped (line {grouped[name]})")
                    ok = False
                else:
                    grouped[name] = entry.line
                    names.append(name)
            if ok and parameters is not None:
                counts = {n: len(by_name[n].values) for n in names}
                if len(set(counts.values())) > 1:
                    self.issues.at(seq, "zipped parameters need the same number of values: "
                                        + ", ".join(f"{n} has {c}" for n, c in counts.items()))
                    ok = False
            groups.append(tuple(names))
        return tuple(groups) if ok else None

    # --- expressions ------------------------------------------------------------------------------

    def _expr_issue(self, node: YamlNode, text: str, error: ExpressionError, context: str = "") -> None:
        """An expression's issue at the character it concerns, when the text sits on one line here."""
        quoted = isinstance(node, YamlScalar) and node.quoted
        start = node.col - 1 + quoted
        source = self.lines[node.line - 1] if 0 < node.line <= len(self.lines) else ""
        if "\n" not in text and source[start:start + len(text)] == text:
            line, col, where = node.line, node.col + quoted + error.offset, ""
        else:  # a folded or escaped scalar: the text's columns are not the file's
            line, col, where = node.line, node.col, f" (at column {error.offset + 1} of the expression)"
        self.issues.found.append(SpecIssue(self.file, line, col, node.path, f"{error.message}{where}{context}",
                                           error.hint))

    def _expression(self, node: YamlNode, condition: bool) -> Expression | None:
        if isinstance(node, YamlScalar) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            text = node.text  # a number written as the expression: a constant
        else:
            if not isinstance(node, YamlScalar) or not isinstance(node.value, str):
                example = "rows >= 64" if condition else "0.5 * log2(rows)"
                self.issues.at(node, f"expected an expression (text such as {example}), got {describe(node)}")
                return None
            text = node.value
        try:
            return parse_expression(text, condition)
        except ExpressionError as error:
            self._expr_issue(node, text, error)
            return None

    def _derived_entries(self, node: YamlMap, hardware_only: bool = False) -> list[Derived] | None:
        out: list[Derived] = []
        ok = True
        for key, value in node.items.items():
            expr = self._expression(value, condition=False)
            if not self._name_ok(node, key, "derived value", hardware_only) or expr is None:
                ok = False
                continue
            out.append(Derived(key, expr, value.path, node.keys[key], (value.line, value.col)))
        return out if ok else None

    def _derived(self, top: Fields, parameters: tuple[Parameter, ...] | None) -> tuple[Derived, ...] | None:
        node = top.mapping("derived")
        if node is None:
            return None if top.has("derived") else ()
        entries = self._derived_entries(node)
        if entries is None or parameters is None:
            return None
        lines = {p.name: p.key_at[0] for p in parameters}
        later = {d.name: d.key_at[0] for d in entries}
        ok = True
        for entry in entries:
            if entry.name in lines:
                self.issues.at_key(node, entry.name, f"'{entry.name}' is already defined (line {lines[entry.name]})")
                ok = False
            for error in unknown_names(entry.expression, lines):
                name = error.message.split("'")[1]
                if name in later:
                    error = ExpressionError(f"'{name}' is derived below (line {later[name]}); a derived value "
                                            "reads parameters and the derived values above it", error.offset)
                elif name in self.metrics:
                    error = ExpressionError(f"'{name}' is a metric, known only once the point is built; "
                                            "use it in a filter", error.offset)
                elif "." in name:
                    error.hint = ("to read a base accelerator's own values, derive under that accelerator: "
                                  "accelerators: [{accelerator: ..., derived: {...}}]")
                self._expr_issue(node.items[entry.name], entry.expression.text, error)
                ok = False
            lines[entry.name] = entry.key_at[0]
        return tuple(entries) if ok else None

    def _filters(self, top: Fields, parameters: tuple[Parameter, ...] | None,
                 derived: tuple[Derived, ...] | None) -> tuple[Filter, ...] | None:
        node = top.sequence("filters")
        if node is None:
            return None if top.has("filters") else ()
        known = [p.name for p in parameters or ()] + [d.name for d in derived or ()] + list(self.metrics)
        out: list[Filter] = []
        ok = True
        for _index, item in enumerate(node.items):
            expr = self._expression(item, condition=True)
            if expr is None:
                ok = False
                continue
            if parameters is not None and derived is not None:
                for error in unknown_names(expr, known):
                    error.hint = f"filters name parameters, derived values or metrics ({', '.join(self.metrics)})"
                    self._expr_issue(item, expr.text, error)
                    ok = False
            needs = any(name in self.metrics for name in expr.names)
            out.append(Filter(expr, item.path, (item.line, item.col), needs))
        return tuple(out) if ok else None

    # --- the grid ---------------------------------------------------------------------------------

    def _points(self, top: Fields, bases: Sequence[SweepBase], parameters: tuple[Parameter, ...],
                zip_groups: tuple[tuple[str, ...], ...], derived: tuple[Derived, ...],
                filters: tuple[Filter, ...]) -> tuple[int, tuple[DesignPoint, ...]]:
        axes = _axes(parameters, zip_groups)
        grid_size = math.prod(len(axis[0][1]) for axis in axes)
        params_node = top.get("parameters")
        assert params_node is not None
        if grid_size > MAX_POINTS:
            self.issues.at(params_node, f"the grid has {grid_size} design points (at most {MAX_POINTS})",
                           "narrow the ranges or zip parameters that move together")
            return grid_size, ()
        failed: set[str] = set()  # expressions already reported: one issue each, at its first bad point
        decided_here = [f for f in filters if not f.needs_metrics]
        base_values = {b.name: _scalars(b.document.root) if b.document and isinstance(b.document.root, YamlMap)
                       else {} for b in bases}
        before = len(self.issues)
        self._check_base_names(bases, parameters, derived, base_values)
        if len(self.issues) > before:
            return grid_size, ()
        points: list[DesignPoint] = []
        for index, choice in enumerate(itertools.product(*(range(len(axis[0][1])) for axis in axes))):
            values: dict[str, Value] = {}
            for axis, k in zip(axes, choice, strict=True):
                for name, axis_values in axis:
                    values[name] = axis_values[k]
            values = {p.name: values[p.name] for p in parameters}  # file order
            label = ", ".join(f"{name}={_show(value)}" for name, value in values.items())
            if not self._evaluate_all(derived, values, label, failed):
                continue
            kept = True
            for flt in decided_here:
                result = self._evaluate(flt.expression, values, label, failed, flt.key_path)
                if result is None or not result:
                    kept = False
                    break
            if not kept:
                continue
            overrides: dict[str, tuple[HardwareOverride, ...]] = {}
            sweep_wide = [(name, v) for name, v in values.items() if "." in name]
            for base in bases:
                scope: dict[str, Value] = {**base_values[base.name], **values}
                if not self._evaluate_all(base.derived, scope, label, failed):
                    kept = False
                    break
                own = [(d.name, scope[d.name]) for d in base.derived]
                overrides[base.name] = tuple(HardwareOverride(p, v, f"{p}: {_show(v)}") for p, v in sweep_wide + own)
            if kept:
                points.append(DesignPoint(index, values, label, overrides))
        if not points and not failed:
            where = top.get("filters") or params_node
            self.issues.at(where, f"no design point of the {grid_size} in the grid passes the filters")
        return grid_size, tuple(points)

    def _evaluate(self, expr: Expression, values: Mapping[str, Value], label: str, failed: set[str],
                  key_path: str) -> Value | bool | None:
        try:
            return evaluate(expr, values)
        except ExpressionError as error:
            if key_path not in failed:
                failed.add(key_path)
                node = self._node_at(key_path)
                self._expr_issue(node, expr.text, error, f" at the point {label}")
            return None

    def _evaluate_all(self, derived: Sequence[Derived], values: dict[str, Value], label: str,
                      failed: set[str]) -> bool:
        for entry in derived:
            result = self._evaluate(entry.expression, values, label, failed, entry.key_path)
            if result is None:
                return False
            assert not isinstance(result, bool)  # parse_expression refuses a condition here
            values[entry.name] = _whole(result)
        return True

    def _node_at(self, key_path: str) -> YamlNode:
        """The node at a key path this reader wrote ("derived.x", "filters[1]", "accelerators[0].derived.x")."""
        node = self.doc.root
        assert isinstance(node, YamlMap)
        rest = key_path
        while rest:
            if isinstance(node, YamlSeq):
                index, _, rest = rest[1:].partition("]")
                node = node.items[int(index)]
                rest = rest.removeprefix(".")
                continue
            assert isinstance(node, YamlMap)
            # keys may hold dots (hardware paths): take the longest key that the path starts with
            key = max((k for k in node.items if rest == k or rest.startswith((k + ".", k + "["))),
                      key=len)
            node = node.items[key]
            rest = rest[len(key):].removeprefix(".")
        return node

    def _check_base_names(self, bases: Sequence[SweepBase], parameters: tuple[Parameter, ...],
                          derived: tuple[Derived, ...], base_values: dict[str, dict[str, Value]]) -> None:
        """Per base: hardware paths exist (did-you-mean), ZigZag bases take none, and names its own
        derived values read are known."""
        sweep_wide = [p for p in parameters if p.is_hardware] + [d for d in derived if d.is_hardware]
        variables = [p.name for p in parameters] + [d.name for d in derived]
        for base in bases:
            if base.document is None:
                if sweep_wide:
                    self.issues.at(self._node_at(sweep_wide[0].key_path),
                                   f"base '{base.name}' is a ZigZag file: its hardware cannot be set "
                                   f"(the sweep sets {', '.join(s.name for s in sweep_wide)})",
                                   "give that base in imcmap's format")
                continue
            assert isinstance(base.document.root, YamlMap)
            known = set(base_values[base.name]) | set(variables)
            for entry in base.derived:
                for error in unknown_names(entry.expression, known):
                    self._expr_issue(self._node_at(entry.key_path), entry.expression.text, error)
                if entry.name in variables:
                    self.issues.found.append(SpecIssue(self.file, *entry.key_at, entry.key_path,
                                                       f"'{entry.name}' is already set for every base"))
                known.add(entry.name)
            for setting in [*sweep_wide, *base.derived]:
                found: list[SpecIssue] = []
                placeholder = YamlScalar(0, "0", *setting.key_at, setting.key_path)
                _set(base.document.root, setting.name.split("."), placeholder, setting.key_at, self.file,
                     setting.key_path, found)
                self.issues.found.extend(
                    SpecIssue(i.file, i.line, i.col, i.key_path, f"{i.message} (base '{base.name}')", i.hint)
                    for i in found)

    def _check_points(self, parts: _Parts, constraints: tuple[UserConstraint, ...] | None,
                      parameters: tuple[Parameter, ...], derived: tuple[Derived, ...],
                      points: tuple[DesignPoint, ...]) -> dict[tuple[int, str], Accelerator]:
        """Build every point's accelerator on every base (returned by point index and base name); check
        the mapping and constraints (when they and the workloads are valid) on each distinct one. A bad
        value is reported once per place, at its first point."""
        check_against = parts.workloads_ok and parts.mapping_ok and constraints is not None
        mapping = parts.mapping or MappingSpec()
        reported: dict[tuple[str, int, int, str], int] = {}
        checked: set[Accelerator] = set()
        built: dict[tuple[int, str], Accelerator] = {}
        for base in parts.bases:
            origins = _origins(parameters, derived, base.derived)
            for point in points:
                overrides = point.overrides[base.name]
                try:
                    accel = base.accelerator if not overrides else _overridden(
                        self.file, base.document, [_placed(o, origins[o.path]) for o in overrides],
                        own_paths=_OWN_PATHS)
                except SpecError as exc:
                    for issue in exc.issues:
                        place = (issue.file, issue.line, issue.col, issue.key_path)
                        reported[place] = reported.get(place, 0) + 1
                        if reported[place] == 1:
                            self.issues.found.append(SpecIssue(
                                issue.file, issue.line, issue.col, issue.key_path,
                                f"{issue.message} (at the point {point.label} on base '{base.name}')", issue.hint))
                    continue
                built[(point.index, base.name)] = accel
                if accel in checked or not check_against:
                    continue
                checked.add(accel)
                for workload in parts.workloads:
                    self.issues.found.extend(check_mapping_against(mapping, accel, workload))
                    self.issues.found.extend(check_constraints(constraints or (), accel, workload, mapping))
        return built


# --- helpers ------------------------------------------------------------------------------------

_Origin = Parameter | Derived


def _origins(parameters: Sequence[Parameter], derived: Sequence[Derived],
             base_derived: Sequence[Derived]) -> dict[str, _Origin]:
    """Where each hardware path a base receives is set (a base's own derived value comes last)."""
    out: dict[str, _Origin] = {p.name: p for p in parameters if p.is_hardware}
    out.update({d.name: d for d in derived if d.is_hardware})
    out.update({d.name: d for d in base_derived})
    return out


def _placed(override: HardwareOverride, origin: _Origin) -> tuple[HardwareOverride, YamlNode, tuple[int, int]]:
    """An override with a YAML node at the place in the sweep file that gave its value."""
    if isinstance(origin, Parameter):
        at = origin.value_at[origin.values.index(override.value)] if len(origin.value_at) > 1 else origin.value_at[0]
    else:
        at = origin.value_at
    value = override.value
    assert isinstance(value, (int, float, str))  # a sweep sets numbers and text only
    node = YamlScalar(value, _show(value), at[0], at[1], origin.key_path)
    return override, node, origin.key_at


def _axes(parameters: Sequence[Parameter],
          zip_groups: Sequence[tuple[str, ...]]) -> list[list[tuple[str, tuple[Value, ...]]]]:
    """The grid's axes in file order: a lone parameter, or a zip group where its first member stands."""
    group_of = {name: group for group in zip_groups for name in group}
    by_name = {p.name: p for p in parameters}
    axes: list[list[tuple[str, tuple[Value, ...]]]] = []
    placed: set[str] = set()
    for parameter in parameters:
        if parameter.name in placed:
            continue
        members = group_of.get(parameter.name, (parameter.name,))
        axes.append([(name, by_name[name].values) for name in members])
        placed.update(members)
    return axes


def _scalars(node: YamlMap, prefix: str = "") -> dict[str, Value]:
    """Every number and text value under mappings, by dotted path (what a base's expressions read)."""
    out: dict[str, Value] = {}
    for key, child in node.items.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, YamlMap):
            out.update(_scalars(child, path))
        elif isinstance(child, YamlScalar) and isinstance(child.value, (int, float, str)) \
                and not isinstance(child.value, bool):
            out[path] = _whole(child.value)
    return out


def _whole(value: Value) -> Value:
    """A whole float as an int (4.0 -> 4), so that computed sizes can set integer hardware keys."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _clean(value: float) -> float:
    """Drop the float noise of repeated steps (0.1 * 3 -> 0.3, not 0.30000000000000004)."""
    return float(f"{value:.12g}")


def _show(value: Value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
