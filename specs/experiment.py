"""Experiment YAML -> ``ExperimentSpec``: a baseline and named variants, each solved and compared.

Schema (``?`` = optional)::

    name?: str                           # default: the file's stem
    baseline:
      accelerator: str                   # bundled name or path (relative to this file)
      workload: str                      # bundled name or path (.onnx or .yaml)
      mapping?: str                      # mapping spec; default: no restriction
      objective?: energy | latency | edp # default energy
      time_limit?: number > 0            # per layer, CP-SAT deterministic seconds; default 10
      seed?: int >= 0                    # default 0
      constraints?: [str, ...]           # for every run (the constraint language, specs.constraints)
    variants:                            # at least one
      - name: str                        # unique; letters, digits, '_', '-', '.'
        constraints?: [str, ...]         # added to the baseline's
        hardware?:                       # overrides of the accelerator file, by dotted key path
          <path>: <value>                # e.g. array.adc_bits: 6, array.dims.D3: 2,
                                         #      memories.sram_256KB.capacity_bits: 524288

An override replaces the value at its path (a list or mapping value replaces the whole list or
mapping). The path must exist in the accelerator file, or name a key its schema allows there (an
optional array or memory key, or a new array dim under ``array.dims``); an unknown part gets a
did-you-mean. The overridden file is then validated as a whole: a bad value is reported at the
override's place in this file. Every constraint is checked against each run's accelerator and the
workload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.objective import Objective
from imcmap.models.workload import Workload

from .checks import Fields, Issues, as_map, did_you_mean, root_mapping
from .constraints import check_constraints
from .dialect import Dialect, FileKind, dialect_of
from .errors import SpecError, SpecIssue
from .hardware import (
    DIGITAL_OPTIONAL,
    DIGITAL_REQUIRED,
    IMC_OPTIONAL,
    IMC_REQUIRED,
    MEMORY_OPTIONAL,
    MEMORY_REQUIRED,
    TOP_OPTIONAL,
    TOP_REQUIRED,
    build_hardware_spec,
    read_hardware_spec,
)
from .library import is_short_name, resolve
from .loader import Document, YamlMap, YamlNode, YamlScalar, load_yaml
from .mapping import check_mapping_against, load_mapping_spec, read_constraints
from .workload import load_workload

OBJECTIVES = tuple(objective.value for objective in Objective)
DEFAULT_TIME_LIMIT_S = 10.0
BASELINE_REQUIRED = ("accelerator", "workload")
BASELINE_OPTIONAL = ("mapping", "objective", "time_limit", "seed", "constraints")
VARIANT_REQUIRED = ("name",)
VARIANT_OPTIONAL = ("constraints", "hardware")
_VARIANT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class HardwareOverride:
    path: str  # dotted key path in the accelerator file
    value: object  # as written (plain YAML data)
    text: str  # "path: value" as shown in reports


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    constraints: tuple[UserConstraint, ...]  # the variant's own (the baseline's apply too)
    hardware: tuple[HardwareOverride, ...]
    accelerator: Accelerator  # the baseline accelerator with the overrides

    def changes(self) -> tuple[str, ...]:
        """'+ constraint' for each added constraint, 'path: value' for each hardware override."""
        return tuple(f"+ {c.text}" for c in self.constraints) + tuple(o.text for o in self.hardware)

    def describe(self) -> str:
        return "; ".join(self.changes()) or "(same as baseline)"


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    name: str
    file: str
    accelerator: Accelerator
    workload: Workload
    mapping: MappingSpec
    objective: Objective
    time_limit_s: float
    seed: int
    constraints: tuple[UserConstraint, ...]  # the baseline's, for every run
    variants: tuple[Variant, ...]


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read an experiment and everything it names; raise SpecError listing every issue found."""
    doc = load_yaml(path)
    issues = Issues(doc.file)
    issues.found.extend(doc.issues)
    root = root_mapping(issues, doc.root, "name, baseline, variants")
    top = Fields(issues, root, ("baseline", "variants"), ("name",))
    name = top.text("name", Path(doc.file).stem or "experiment")
    base_node = top.mapping("baseline")
    base = _baseline(issues, base_node, Path(doc.file).resolve().parent) if base_node is not None else None
    variants_node = top.sequence("variants")
    raw_variants = []
    if variants_node is not None:
        if not variants_node.items:
            issues.at(variants_node, "needs at least one variant", "e.g. - {name: adc6, hardware: {array.adc_bits: 6}}")
        seen: dict[str, int] = {}
        for item in variants_node.items:
            raw = _variant(issues, item, seen)
            if raw is not None:
                raw_variants.append(raw)
    variants: list[Variant] = []
    if base is not None and base.accelerator is not None and base.workload is not None:
        # checked even when other parts are invalid, so that every issue is reported at once
        mapping = base.mapping or MappingSpec()
        issues.found.extend(check_constraints(base.constraints or (), base.accelerator, base.workload, mapping))
        for vname, vconstraints, overrides in raw_variants:
            try:
                vaccel = _overridden(doc.file, base.hardware_doc, overrides) if overrides else base.accelerator
            except SpecError as exc:
                issues.found.extend(exc.issues)
                continue
            if overrides:
                issues.found.extend(check_mapping_against(mapping, vaccel, base.workload))
            issues.found.extend(
                check_constraints((base.constraints or ()) + vconstraints, vaccel, base.workload, mapping)
            )
            variants.append(Variant(vname, vconstraints, tuple(o for o, _, _ in overrides), vaccel))
    if issues or base is None or not base.complete or name is None:
        issues.fail()
    assert (
        base is not None and base.accelerator is not None and base.workload is not None and base.objective is not None
    )
    assert base.time_limit_s is not None and base.seed is not None and base.constraints is not None
    return ExperimentSpec(
        name=name,
        file=doc.file,
        accelerator=base.accelerator,
        workload=base.workload,
        mapping=base.mapping or MappingSpec(),
        objective=base.objective,
        time_limit_s=base.time_limit_s,
        seed=base.seed,
        constraints=base.constraints,
        variants=tuple(variants),
    )


@dataclass
class _Baseline:
    """What the baseline entry gave; None where a part is invalid (an issue says why)."""

    hardware_doc: Document | None = None
    accelerator: Accelerator | None = None
    workload: Workload | None = None
    mapping: MappingSpec | None = None
    mapping_ok: bool = True
    objective: Objective | None = None
    time_limit_s: float | None = None
    seed: int | None = None
    constraints: tuple[UserConstraint, ...] | None = None

    @property
    def complete(self) -> bool:
        return None not in (self.accelerator, self.workload, self.objective, self.time_limit_s, self.seed,
                            self.constraints) and self.mapping_ok


def _path(here: Path, kind: str, value: str) -> Path:
    """A bundled short name, or a path relative to the experiment file."""
    if is_short_name(value):
        return resolve(kind, value)
    path = Path(value).expanduser()
    return path if path.is_absolute() else here / path


def _baseline(issues: Issues, node: YamlMap, here: Path) -> _Baseline:
    f = Fields(issues, node, BASELINE_REQUIRED, BASELINE_OPTIONAL)
    out = _Baseline()
    objective = f.choice("objective", OBJECTIVES, Objective.ENERGY.value, what="objective")
    out.objective = None if objective is None else Objective(objective)
    time_limit = f.number("time_limit", DEFAULT_TIME_LIMIT_S, minimum=0, min_open=True)
    out.time_limit_s = None if time_limit is None else float(time_limit)
    out.seed = f.integer("seed", 0, minimum=0)
    seq = f.sequence("constraints")
    out.constraints = read_constraints(issues, seq) if seq is not None else ()
    if f.has("constraints") and seq is None:
        out.constraints = None
    for kind in ("accelerator", "workload", "mapping"):
        value = f.text(kind)
        if value is None:
            out.mapping_ok = out.mapping_ok and not (kind == "mapping" and f.has(kind))
            continue
        shown = {value}
        try:
            path = _path(here, kind, value)
            shown.add(str(path))
            if kind == "accelerator":
                out.hardware_doc = load_yaml(path)
                out.accelerator = read_hardware_spec(out.hardware_doc).accelerator
            elif kind == "workload":
                out.workload = load_workload(path)
            else:
                out.mapping = load_mapping_spec(path)
        except SpecError as exc:
            value_node = f.get(kind)
            for issue in exc.issues:  # a name given here that does not resolve points at this file
                if issue.line == 0 and value_node is not None and issue.file in shown:
                    issues.at(value_node, issue.message, issue.hint)
                else:
                    issues.found.append(issue)
            out.mapping_ok = out.mapping_ok and kind != "mapping"
    if out.mapping is not None and out.accelerator is not None:
        problems = check_mapping_against(out.mapping, out.accelerator, out.workload)
        issues.found.extend(problems)
        out.mapping_ok = not problems
    return out


def _variant(
    issues: Issues, node: YamlNode, seen: dict[str, int]
) -> tuple[str, tuple[UserConstraint, ...], list[tuple[HardwareOverride, YamlNode, tuple[int, int]]]] | None:
    entry = as_map(issues, node, "a variant (a mapping with a name)")
    if entry is None:
        return None
    f = Fields(issues, entry, VARIANT_REQUIRED, VARIANT_OPTIONAL)
    name = f.text("name")
    name_node = f.get("name")
    if name is not None and name_node is not None:
        if not _VARIANT_NAME.fullmatch(name) or name == "baseline":
            issues.at(name_node, f"variant name '{name}' must be letters, digits, '_', '-' or '.', and not 'baseline'")
            name = None
        elif name in seen:
            issues.at(name_node, f"duplicate variant name '{name}' (first used at line {seen[name]})")
            name = None
        else:
            seen[name] = name_node.line
    seq = f.sequence("constraints")
    constraints = read_constraints(issues, seq) if seq is not None else ()
    hardware = f.mapping("hardware")
    overrides: list[tuple[HardwareOverride, YamlNode, tuple[int, int]]] = []
    if hardware is not None:
        for key, value in hardware.items.items():
            overrides.append(
                (HardwareOverride(key, _plain(value), f"{key}: {_shown(value)}"), value, hardware.keys[key])
            )
    if name is None or constraints is None or (f.has("hardware") and hardware is None):
        return None
    if not constraints and not overrides:
        issues.at(entry, f"variant '{name}' changes nothing", "give it constraints or hardware overrides")
        return None
    return name, constraints, overrides


def _plain(node: YamlNode) -> object:
    from .loader import to_plain

    return to_plain(node)


def _shown(node: YamlNode) -> str:
    if isinstance(node, YamlScalar):
        return node.text
    from .loader import YamlSeq

    if isinstance(node, YamlSeq):
        return "[" + ", ".join(_shown(item) for item in node.items) + "]"
    assert isinstance(node, YamlMap)
    return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in node.items.items()) + "}"


# --- hardware overrides -------------------------------------------------------------------------


def _allowed_new_keys(path: str, node: YamlMap) -> tuple[str, ...] | None:
    """Keys the hardware schema allows under ``path`` that the file may not have written
    (None: any name, as under ``array.dims``)."""
    if path == "":
        return TOP_REQUIRED + TOP_OPTIONAL
    if path == "array":
        kind = node.items.get("type")
        if isinstance(kind, YamlScalar) and kind.value == "digital":
            return DIGITAL_REQUIRED + DIGITAL_OPTIONAL
        return IMC_REQUIRED + IMC_OPTIONAL
    if path == "array.dims":
        return None
    if path.startswith("memories.") and path.count(".") == 1:
        return MEMORY_REQUIRED + MEMORY_OPTIONAL
    return ()


def _set(root: YamlMap, parts: list[str], value: YamlNode, where: tuple[int, int], exp_file: str, key_path: str,
         found: list[SpecIssue]) -> YamlMap | None:
    """``root`` with the value at ``parts`` replaced (or added where the schema allows)."""
    node = root
    trail: list[tuple[YamlMap, str]] = []
    prefix = ""
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part not in node.items:
            allowed = _allowed_new_keys(prefix, node)
            if last and (allowed is None or part in allowed):
                break
            choices = list(node.items) + [a for a in (allowed or ()) if a not in node.items]
            found.append(
                SpecIssue(
                    exp_file,
                    where[0],
                    where[1],
                    key_path,
                    f"the accelerator has no '{part}' under '{prefix or '(top)'}'{did_you_mean(part, choices)}",
                    f"keys there: {', '.join(choices)}",
                )
            )
            return None
        if not last:
            child = node.items[part]
            if not isinstance(child, YamlMap):
                found.append(SpecIssue(exp_file, where[0], where[1], key_path,
                                       f"'{prefix + '.' if prefix else ''}{part}' is not a mapping in the accelerator"))
                return None
            trail.append((node, part))
            node = child
            prefix = f"{prefix}.{part}" if prefix else part
    new: YamlNode = value
    for parent, key in [*trail, (node, parts[-1])][::-1]:
        items = dict(parent.items)
        keys = dict(parent.keys)
        items[key] = new
        keys.setdefault(key, (value.line, value.col))
        new = YamlMap(items, keys, parent.line, parent.col, parent.path)
    assert isinstance(new, YamlMap)
    return new


def _overridden(exp_file: str, hw_doc: Document | None,
                overrides: list[tuple[HardwareOverride, YamlNode, tuple[int, int]]],
                own_paths: tuple[str, ...] = ("variants[",)) -> Accelerator:
    """The accelerator file with the overrides applied, validated; issues about an overridden value
    are reported at the override in the experiment file (``own_paths``: the key paths its nodes have)."""
    found: list[SpecIssue] = []
    zigzag = hw_doc is not None and dialect_of(hw_doc, FileKind.HARDWARE) is Dialect.ZIGZAG
    if hw_doc is None or zigzag or not isinstance(hw_doc.root, YamlMap):
        line, col = overrides[0][2]
        raise SpecError([SpecIssue(exp_file, line, col, overrides[0][1].path.rsplit(".", 1)[0],
                                   "hardware overrides need an accelerator in imcmap's format (not a ZigZag file)")])
    root: YamlMap = hw_doc.root
    for override, value, where in overrides:
        parts = override.path.split(".")
        if any(not p for p in parts):
            found.append(SpecIssue(exp_file, where[0], where[1], value.path, f"bad key path '{override.path}'"))
            continue
        updated = _set(root, parts, value, where, exp_file, value.path, found)
        if updated is not None:
            root = updated
    if found:
        raise SpecError(found)
    try:
        return build_hardware_spec(Document(hw_doc.file, root, hw_doc.issues)).accelerator
    except SpecError as exc:
        # nodes that came from the experiment keep its paths ("variants[1].hardware...") and places
        raise SpecError(
            SpecIssue(exp_file, i.line, i.col, i.key_path, i.message, i.hint) if i.key_path.startswith(own_paths) else i
            for i in exc.issues
        ) from None
