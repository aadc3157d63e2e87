"""Mapping spec YAML -> ``models.mapping_spec.MappingSpec``, and its checks against an accelerator.

Schema (``?`` = optional)::

    name?: str                                   # default: the file's stem
    mapping:                                     # entries; per layer, the most specific one wins
      - selector: str                            # default | an op type (Conv, Gemm, MatMul) | a layer name
        spatial?: {<array dim>: {<loop dim>: int >= 1, ...}, ...}   # fixed unrolling (mixed allowed)
        spatial_allowed?: {<array dim>: [<loop dim>, ...], ...}     # restricts what may unroll where
        diagonal?: bool                          # allow OX/OY on D1 of an IMC array
        operand_links?: {W: <mem op>, I: <mem op>, O: <mem op>}     # all three; I1 | I2 | O, distinct
        constraints?: [str, ...]                 # the constraint language (specs.constraints), parsed here

Loop dims are checked here. Array dims and memory operands can only be checked against an
accelerator: ``check_mapping_against`` does that with the places stored in each rule.
"""

from __future__ import annotations

from pathlib import Path

from imcmap.models.hardware import MEMORY_OPERANDS, Accelerator, ImcArray
from imcmap.models.mapping_spec import (
    MappingRule,
    MappingSpec,
    SourceRef,
    UserConstraint,
)
from imcmap.models.workload import LOOP_DIMS, Operand, Workload

from .checks import (
    NAME_RULE,
    Fields,
    Issues,
    as_int,
    as_map,
    as_seq,
    as_str,
    did_you_mean,
    is_name,
    root_mapping,
)
from .constraints import check_constraints, parse_constraint
from .dialect import Dialect, FileKind, dialect_of
from .errors import SpecError, SpecIssue
from .loader import (
    Document,
    YamlMap,
    YamlNode,
    YamlScalar,
    YamlSeq,
    child_path,
    load_yaml,
)
from .zigzag import build_zigzag_mapping

TOP_REQUIRED = ("mapping",)
TOP_OPTIONAL = ("name",)
ENTRY_REQUIRED = ("selector",)
ENTRY_OPTIONAL = ("spatial", "spatial_allowed", "diagonal", "operand_links", "constraints")
DEFAULT_SELECTOR = "default"
LINK_OPERANDS = tuple(op.value for op in Operand)
DIAGONAL_DIMS = ("OX", "OY")  # weight-irrelevant dims whose unrolling on D1 makes a diagonal mapping


def load_mapping_spec(path: str | Path) -> MappingSpec:
    doc = load_yaml(path)
    if dialect_of(doc, FileKind.MAPPING) is Dialect.ZIGZAG:  # a ZigZag 3.x file, read as it is
        return build_zigzag_mapping(doc)
    return build_mapping_spec(doc)


def build_mapping_spec(doc: Document) -> MappingSpec:
    """Validate a parsed mapping file and build it; raise SpecError listing every issue."""
    issues = Issues(doc.file, doc.issues)
    root = root_mapping(issues, doc.root, "name, mapping")
    top = Fields(issues, root, TOP_REQUIRED, TOP_OPTIONAL)
    name = top.text("name", Path(doc.file).stem or "mapping")
    entries = top.sequence("mapping")
    rules: list[MappingRule] = []
    seen: dict[str, int] = {}  # selector -> line of its first entry
    ok = entries is not None
    for item in entries.items if entries is not None else ():
        rule = _rule(issues, item, seen)
        if rule is None:
            ok = False
        else:
            rules.append(rule)
    if issues or name is None or not ok:
        issues.fail()
    return MappingSpec(rules=tuple(rules), name=name)


class _Invalid:
    """Marks a present-but-invalid optional key (``None`` means absent, which is valid)."""


_INVALID = _Invalid()


class _Places:
    """Records where the keys of one entry were written, as ``MappingRule.key_sources``."""

    def __init__(self, file: str, entry: YamlMap) -> None:
        self.file = file
        self.prefix = entry.path
        self.sources: dict[str, SourceRef] = {}

    def key(self, parent: YamlMap, key: str) -> None:
        line, col = parent.keys[key]
        relative = child_path(parent.path, key)[len(self.prefix) + 1 :]
        self.sources[relative] = SourceRef(self.file, line, col)


def _rule(issues: Issues, node: YamlNode, seen: dict[str, int]) -> MappingRule | None:
    entry = as_map(issues, node, "a mapping entry (a mapping with a selector)")
    if entry is None:
        return None
    f = Fields(issues, entry, ENTRY_REQUIRED, ENTRY_OPTIONAL)
    places = _Places(issues.file, entry)
    selector = f.text("selector")
    selector_node = f.get("selector")
    if selector is not None and selector_node is not None:
        if selector in seen:
            issues.at(selector_node, f"duplicate selector '{selector}' (first used at line {seen[selector]})")
            selector = None
        else:
            seen[selector] = selector_node.line
    for key in entry.items:
        if key in ENTRY_REQUIRED + ENTRY_OPTIONAL:
            places.key(entry, key)
    fixed = _fixed_spatial(issues, f.get("spatial"), places)
    allowed = _allowed_spatial(issues, f.get("spatial_allowed"), places)
    diagonal = f.flag("diagonal")
    links = _operand_links(issues, f.get("operand_links"), places)
    constraints = _constraints(issues, f.get("constraints"), selector)
    if fixed is not None and allowed is not None:
        _check_fixed_within_allowed(issues, f, fixed, allowed)
    if (
        selector is None
        or fixed is _INVALID
        or allowed is _INVALID
        or (f.has("diagonal") and diagonal is None)
        or links is _INVALID
        or constraints is None
    ):
        return None
    return MappingRule(
        selector=selector,
        fixed_spatial=fixed if isinstance(fixed, dict) else None,
        allowed_spatial=allowed if isinstance(allowed, dict) else None,
        allow_diagonal=diagonal,
        operand_links=links if isinstance(links, dict) else None,
        constraints=constraints,
        source=SourceRef(issues.file, entry.line, entry.col),
        key_sources=places.sources,
    )


def _array_dim_map(issues: Issues, node: YamlNode, places: _Places, what: str) -> YamlMap | None:
    mapping = as_map(issues, node, what)
    if mapping is None:
        return None
    ok = True
    for adim in mapping.items:
        places.key(mapping, adim)
        if not is_name(adim):
            issues.at_key(mapping, adim, f"array dim name '{adim}' must be {NAME_RULE}")
            ok = False
    return mapping if ok else None


def _loop_dim_ok(issues: Issues, parent: YamlMap | None, node: YamlNode, dim: str) -> bool:
    if dim in LOOP_DIMS:
        return True
    message = f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}"
    hint = f"loop dims: {', '.join(LOOP_DIMS)}"
    if parent is not None:
        issues.at_key(parent, dim, message, hint)
    else:
        issues.at(node, message, hint)
    return False


def _fixed_spatial(
    issues: Issues, node: YamlNode | None, places: _Places
) -> dict[str, dict[str, int]] | _Invalid | None:
    if node is None:
        return None
    what = "a mapping of array dim to {loop dim: factor}, e.g. {D1: {K: 8}}"
    spatial = _array_dim_map(issues, node, places, what)
    if spatial is None:
        return _INVALID
    out: dict[str, dict[str, int]] = {}
    ok = True
    for adim, unroll_node in spatial.items.items():
        unrolls = as_map(issues, unroll_node, "a mapping of loop dim to unroll factor, e.g. {K: 8, OX: 4}")
        if unrolls is None:
            ok = False
            continue
        out[adim] = {}
        for ldim, factor_node in unrolls.items.items():
            places.key(unrolls, ldim)
            factor = as_int(issues, factor_node, minimum=1)
            if not _loop_dim_ok(issues, unrolls, factor_node, ldim) or factor is None:
                ok = False
            else:
                out[adim][ldim] = factor
    return out if ok else _INVALID


def _allowed_spatial(
    issues: Issues, node: YamlNode | None, places: _Places
) -> dict[str, tuple[str, ...]] | _Invalid | None:
    if node is None:
        return None
    what = "a mapping of array dim to a list of loop dims, e.g. {D1: [K], D2: [C, FX, FY]}"
    allowed = _array_dim_map(issues, node, places, what)
    if allowed is None:
        return _INVALID
    out: dict[str, tuple[str, ...]] = {}
    ok = True
    for adim, list_node in allowed.items.items():
        seq = as_seq(issues, list_node, "a list of loop dims, e.g. [K, OX]")
        if seq is None:
            ok = False
            continue
        dims: list[str] = []
        for item in seq.items:
            ldim = as_str(issues, item)
            if ldim is None or not _loop_dim_ok(issues, None, item, ldim):
                ok = False
            elif ldim in dims:
                issues.at(item, f"loop dim '{ldim}' is listed twice")
                ok = False
            else:
                dims.append(ldim)
        out[adim] = tuple(dims)
    return out if ok else _INVALID


def _check_fixed_within_allowed(
    issues: Issues,
    f: Fields,
    fixed: dict[str, dict[str, int]] | _Invalid,
    allowed: dict[str, tuple[str, ...]] | _Invalid,
) -> None:
    if not isinstance(fixed, dict) or not isinstance(allowed, dict):
        return
    spatial = f.get("spatial")
    if not isinstance(spatial, YamlMap):
        return
    for adim, unrolls in fixed.items():
        unroll_node = spatial.items[adim]
        if adim not in allowed or not isinstance(unroll_node, YamlMap):
            continue
        for ldim in unrolls:
            if ldim not in allowed[adim]:
                issues.at_key(
                    unroll_node,
                    ldim,
                    f"{ldim} is unrolled on {adim}, but spatial_allowed.{adim} does not allow it",
                    f"allowed on {adim}: {', '.join(allowed[adim]) or 'nothing'}",
                )


def _operand_links(
    issues: Issues, node: YamlNode | None, places: _Places
) -> dict[Operand, str] | _Invalid | None:
    if node is None:
        return None
    links = as_map(issues, node, "a mapping of layer operand to memory operand, e.g. {W: I2, I: I1, O: O}")
    if links is None:
        return _INVALID
    f = Fields(issues, links, LINK_OPERANDS)
    out: dict[Operand, str] = {}
    first_use: dict[str, str] = {}
    ok = True
    for operand in LINK_OPERANDS:
        if not f.has(operand):
            ok = False
            continue
        places.key(links, operand)
        target = f.choice(operand, MEMORY_OPERANDS, what="memory operand")
        if target is None:
            ok = False
        elif target in first_use:
            issues.at(
                links.items[operand],
                f"memory operand '{target}' is already linked to {first_use[target]}",
                "each layer operand needs its own memory operand",
            )
            ok = False
        else:
            first_use[target] = operand
            out[Operand(operand)] = target
    return out if ok and len(out) == len(LINK_OPERANDS) else _INVALID


def _constraints(
    issues: Issues, node: YamlNode | None, selector: str | None
) -> tuple[UserConstraint, ...] | None:
    if node is None:
        return ()
    seq = as_seq(issues, node, "a list of constraint strings")
    if seq is None:
        return None
    scope = "*" if selector in (None, DEFAULT_SELECTOR) else selector
    return read_constraints(issues, seq, scope)


def read_constraints(issues: Issues, seq: YamlSeq, scope: str = "*") -> tuple[UserConstraint, ...] | None:
    """A YAML list of constraint strings, each parsed (``specs.constraints``) and placed at its text."""
    out: list[UserConstraint] = []
    ok = True
    for item in seq.items:
        text = as_str(issues, item)
        if text is None:
            ok = False
            continue
        quoted = isinstance(item, YamlScalar) and item.quoted
        try:
            out.append(parse_constraint(text, SourceRef(issues.file, item.line, item.col + quoted), scope, item.path))
        except SpecError as exc:
            issues.found.extend(exc.issues)
            ok = False
    return tuple(out) if ok else None


# --- checks that need the accelerator ---------------------------------------------------------


def check_mapping_against(
    spec: MappingSpec, accelerator: Accelerator, workload: Workload | None = None
) -> list[SpecIssue]:
    """Issues that only the accelerator (and optionally the workload) can reveal, at their places:
    unknown array dims, unrolling beyond an array dim's size, memory operands no memory holds,
    OX/OY fixed on D1 of an IMC array with ``diagonal: false``, selectors matching nothing, and the
    names the entries' constraints use (``specs.constraints.check_constraints``)."""
    found: list[SpecIssue] = []
    sizes = {d.name: d.size for d in accelerator.array_dims}
    dim_names = tuple(sizes)
    for index, rule in enumerate(spec.rules):
        report = _Reporter(found, spec, index, rule)
        for field_name, per_dim in (("spatial", rule.fixed_spatial), ("spatial_allowed", rule.allowed_spatial)):
            for adim in per_dim or {}:
                if adim not in sizes:
                    report(
                        f"{field_name}.{adim}",
                        f"unknown array dim '{adim}'{did_you_mean(adim, dim_names)}",
                        f"{accelerator.name} has array dims: {', '.join(dim_names)}",
                    )
        for adim, unrolls in (rule.fixed_spatial or {}).items():
            total = 1
            for factor in unrolls.values():
                total *= factor
            if adim in sizes and total > sizes[adim]:
                report(f"spatial.{adim}", f"unrolls {total} on {adim}, which has only {sizes[adim]}")
        for operand, target in (rule.operand_links or {}).items():
            if not accelerator.chain(target):
                report(
                    f"operand_links.{operand.value}",
                    f"no memory of {accelerator.name} holds memory operand '{target}'",
                )
        if isinstance(accelerator.array, ImcArray) and rule.allow_diagonal is False and rule.fixed_spatial:
            d1 = accelerator.array.dims[0].name
            for ldim in rule.fixed_spatial.get(d1, {}):
                if ldim in DIAGONAL_DIMS:
                    report(
                        f"spatial.{d1}.{ldim}",
                        f"{ldim} on {d1} is a diagonal mapping, but this entry sets diagonal: false",
                    )
        if workload is not None and rule.selector != DEFAULT_SELECTOR:
            names = [layer.name for layer in workload.layers]
            ops = sorted({layer.op for layer in workload.layers})
            if rule.selector not in names and rule.selector not in ops:
                report(
                    "selector",
                    f"selector '{rule.selector}' matches no layer or op of workload "
                    f"'{workload.name}'{did_you_mean(rule.selector, names + ops)}",
                    f"ops: {', '.join(ops)}",
                )
        found += check_constraints(rule.constraints, accelerator, workload, spec)
    return sorted(found, key=lambda i: (i.file, i.line, i.col))


class _Reporter:
    """Adds an issue for one rule at the place its key was written (or the entry, if unknown)."""

    def __init__(self, found: list[SpecIssue], spec: MappingSpec, index: int, rule: MappingRule) -> None:
        self.found = found
        self.spec = spec
        self.index = index
        self.rule = rule

    def __call__(self, key: str, message: str, hint: str = "") -> None:
        ref = self.rule.key_sources.get(key) or self.rule.source or SourceRef(f"<mapping {self.spec.name}>", 0, 0)
        path = child_path(f"mapping[{self.index}]", key)
        self.found.append(SpecIssue(ref.file, ref.line, ref.col, path, message, hint))
