"""ZigZag 3.x mapping files -> ``ZigZagMappingSpec`` (``build_zigzag_mapping``).

One ``MappingRule`` per entry, selected like ZigZag (layer name, then operator type, then ``default``,
which is required). ZigZag uses the chosen entry as a whole, so every rule is complete:
``spatial_mapping`` ("K, 32" strings, several per array dim = mixed) -> ``fixed_spatial`` (array dims it
leaves out stay unused, with a warning: ZigZag would explore them); ``spatial_mapping_hint`` ->
``allowed_spatial``, an array dim the hint leaves out allowing every loop dim (ZigZag's default), for the
dims D1..Dn up to the highest one the file names;
``memory_operand_links`` (default ``{O: O, I: I1, W: I2}``) -> ``operand_links``; diagonal OX/OY
unrolling is whatever the hint allows. Entries for operator types imcmap never prices (Add, Pooling, ...)
are left out with a warning. Rejected: a non-empty ``temporal_ordering`` (the solver takes no loop-order
constraints yet) and an entry that would explore while a less specific entry fixes the unrolling (imcmap
would inherit it). The mapping is read without the accelerator, so "every array dim" means D1..Dn up to
the highest dim the file names; ``check_mapping_against`` then reports hint dims the accelerator lacks.
ZigZag clips a fixed unrolling larger than the layer dim; imcmap needs the factors to divide the layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from imcmap.models.hardware import MEMORY_OPERANDS
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS
from imcmap.models.mapping_spec import MappingRule, MappingSpec, SourceRef
from imcmap.models.workload import LOOP_DIMS, Operand

from ..checks import Fields, Issues, as_map, as_seq, as_str, did_you_mean
from ..dialect import ZIGZAG_MAPPING_KEYS
from ..loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq
from .common import COMPUTE_OPERATORS, UNMODELLED_OPERATORS, Notes, array_dim_index, fail, issues_of, root_list


@dataclass(frozen=True, slots=True)
class ZigZagMappingSpec(MappingSpec):
    """A mapping spec read from a ZigZag file, with what imcmap left out while reading it."""

    warnings: tuple[str, ...] = ()


class _Invalid:
    """Marks a present-but-invalid optional key (``None`` means absent, which is valid)."""


_INVALID = _Invalid()
SPATIAL_ENTRY = re.compile(r"([A-Z]+\d*), (\d+)")  # ZigZag's own pattern ("K, 32")
LINK_OPERANDS = tuple(op.value for op in Operand)


class _Places:
    """Where the keys of one entry were written, under the key paths ``check_mapping_against`` uses
    (``spatial.D1``, ``spatial_allowed.D2``, ``operand_links.W``, ...)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.sources: dict[str, SourceRef] = {}

    def key(self, parent: YamlMap, key: str, as_key: str) -> None:
        line, col = parent.keys[key]
        self.sources[as_key] = SourceRef(self.file, line, col)

    def node(self, node: YamlNode, as_key: str) -> None:
        self.sources[as_key] = SourceRef(self.file, node.line, node.col)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One ZigZag mapping entry, read but not yet turned into a rule (which needs the whole file)."""

    node: YamlMap
    selector: str
    fixed: dict[str, dict[str, int]] | None
    hint: dict[str, tuple[str, ...]] | None
    links: dict[Operand, str]
    sources: dict[str, SourceRef]


def build_zigzag_mapping(doc: Document) -> ZigZagMappingSpec:
    """A ZigZag mapping file -> a MappingSpec meaning the same; raise SpecError listing every issue."""
    issues = issues_of(doc)
    notes = Notes(doc.file)
    root = root_list(issues, doc.root, "mapping entries (each a mapping with a name)")
    entries: list[_Entry] = []
    seen: dict[str, int] = {}
    for item in root.items:
        entry = _mapping_entry(issues, item, seen)
        if entry is not None:
            entries.append(entry)
    written = {_scalar_value(item.items.get("name")) for item in root.items if isinstance(item, YamlMap)}
    if "default" not in written:  # as written: a default entry with other problems is reported for those
        issues.at(root, "no entry named 'default'", "ZigZag requires a default entry; add '- name: default'")
    top_dim = max(
        (array_dim_index(adim) or 0 for e in entries for part in (e.fixed or {}, e.hint or {}) for adim in part),
        default=0,
    )
    all_dims = tuple(f"D{i}" for i in range(1, top_dim + 1))
    rules = [_rule(issues, notes, entry, entries, all_dims) for entry in entries]
    if issues:
        fail(issues)
    kept = tuple(rule for rule in rules if rule is not None)
    return ZigZagMappingSpec(rules=kept, name=Path(doc.file).stem or "mapping", warnings=tuple(notes.found))


def _mapping_entry(issues: Issues, node: YamlNode, seen: dict[str, int]) -> _Entry | None:
    entry = as_map(issues, node, "a mapping entry (a mapping with a name)")
    if entry is None:
        return None
    f = Fields(issues, entry, ("name",), ZIGZAG_MAPPING_KEYS[1:])
    selector = f.text("name")
    name_node = f.get("name")
    place = _Places(issues.file)
    if selector is not None and name_node is not None:
        if selector in seen:
            issues.at(name_node, f"duplicate entry '{selector}' (first at line {seen[selector]})",
                      "ZigZag would use the first one only")
            selector = None
        else:
            seen[selector] = name_node.line
            place.node(name_node, "selector")
    ordering = f.get("temporal_ordering")
    if ordering is not None and not (
        (isinstance(ordering, YamlScalar) and ordering.value is None)
        or (isinstance(ordering, YamlSeq) and not ordering.items)
    ):
        issues.at_key(
            entry, "temporal_ordering", "'temporal_ordering' is not supported yet",
            "imcmap's solver takes no loop-order constraints; remove it to let imcmap choose the order",
        )
    fixed = _spatial_mapping(issues, f.get("spatial_mapping"), place)
    hint = _spatial_hint(issues, f.get("spatial_mapping_hint"), place)
    links = _links(issues, f.get("memory_operand_links"), place)
    for key, as_key in (("spatial_mapping", "spatial"), ("spatial_mapping_hint", "spatial_allowed")):
        if key in entry.items:
            place.key(entry, key, as_key)
    if selector is None or isinstance(fixed, _Invalid) or isinstance(hint, _Invalid) or links is None:
        return None
    return _Entry(entry, selector, fixed, hint, links, place.sources)


def _array_dim_keys(issues: Issues, mapping: YamlMap) -> bool:
    ok = True
    for adim in mapping.items:
        if array_dim_index(adim) is None:
            issues.at_key(mapping, adim, f"array dim '{adim}' must be D<digit>, e.g. D1")
            ok = False
    return ok


def _loop_dim(issues: Issues, node: YamlNode, dim: str) -> bool:
    if dim in LOOP_DIMS:
        return True
    issues.at(
        node, f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}", f"imcmap's loop dims: {', '.join(LOOP_DIMS)}"
    )
    return False


def _spatial_mapping(
    issues: Issues, node: YamlNode | None, place: _Places
) -> dict[str, dict[str, int]] | _Invalid | None:
    """``{D1: ["K, 32", "OX, 4"]}`` -> ``{D1: {K: 32, OX: 4}}``; None when absent."""
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    mapping = as_map(issues, node, 'a mapping of array dim to a list of "<loop dim>, <factor>" strings')
    if mapping is None or not _array_dim_keys(issues, mapping):
        return _INVALID
    out: dict[str, dict[str, int]] = {}
    ok = True
    for adim, list_node in mapping.items.items():
        place.key(mapping, adim, f"spatial.{adim}")
        seq = as_seq(issues, list_node, 'a list of "<loop dim>, <factor>" strings, e.g. ["K, 32"]')
        if seq is None:
            ok = False
            continue
        unrolls: dict[str, int] = {}
        for item in seq.items:
            text = as_str(issues, item)
            match = SPATIAL_ENTRY.fullmatch(text) if text is not None else None
            if text is not None and match is None:
                issues.at(item, f"'{text}' must read '<loop dim>, <factor>', e.g. 'K, 32'")
            if match is None:
                ok = False
                continue
            dim, factor = match.group(1), int(match.group(2))
            if not _loop_dim(issues, item, dim):
                ok = False
            elif factor < 1:
                issues.at(item, f"unroll factor must be >= 1 (got {factor})")
                ok = False
            elif dim in unrolls:
                issues.at(item, f"loop dim '{dim}' is unrolled twice on {adim}", "ZigZag would keep the last one")
                ok = False
            else:
                unrolls[dim] = factor
                place.node(item, f"spatial.{adim}.{dim}")
        out[adim] = unrolls
    return out if ok else _INVALID


def _spatial_hint(
    issues: Issues, node: YamlNode | None, place: _Places
) -> dict[str, tuple[str, ...]] | _Invalid | None:
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    mapping = as_map(issues, node, "a mapping of array dim to a list of loop dims, e.g. {D1: [K], D2: [C, FX, FY]}")
    if mapping is None or not _array_dim_keys(issues, mapping):
        return _INVALID
    out: dict[str, tuple[str, ...]] = {}
    ok = True
    for adim, list_node in mapping.items.items():
        place.key(mapping, adim, f"spatial_allowed.{adim}")
        seq = as_seq(issues, list_node, "a list of loop dims, e.g. [K, OX]")
        if seq is None:
            ok = False
            continue
        dims: list[str] = []
        for item in seq.items:
            dim = as_str(issues, item)
            if dim is None or not _loop_dim(issues, item, dim):
                ok = False
            elif dim not in dims:  # a repeat means nothing more in ZigZag's set
                dims.append(dim)
        out[adim] = tuple(dims)
    return out if ok else _INVALID


def _links(issues: Issues, node: YamlNode | None, place: _Places) -> dict[Operand, str] | None:
    if node is None:
        return dict(DEFAULT_OPERAND_LINKS)  # ZigZag's default: O -> O, I -> I1, W -> I2
    links = as_map(issues, node, "a mapping of layer operand to memory operand, e.g. {O: O, W: I2, I: I1}")
    if links is None:
        return None
    f = Fields(issues, links, LINK_OPERANDS)
    out: dict[Operand, str] = {}
    used: dict[str, str] = {}
    for operand in LINK_OPERANDS:
        if not f.has(operand):
            continue
        place.key(links, operand, f"operand_links.{operand}")
        target = f.choice(operand, MEMORY_OPERANDS, what="memory operand")
        if target is None:
            continue
        if target in used:
            issues.at(links.items[operand], f"memory operand '{target}' is already linked to {used[target]}")
            continue
        used[target] = operand
        out[Operand(operand)] = target
    return out if len(out) == len(LINK_OPERANDS) else None


def _rule(
    issues: Issues, notes: Notes, entry: _Entry, entries: list[_Entry], all_dims: tuple[str, ...]
) -> MappingRule | None:
    if entry.selector in UNMODELLED_OPERATORS:
        notes.at(
            entry.node,
            f"entry '{entry.selector}' left out: imcmap does not price {entry.selector} layers "
            "(they are listed as unmodelled ops)",
        )
        return None
    fixed, allowed = entry.fixed, None
    if fixed is not None:
        missing = [d for d in all_dims if d not in fixed]
        if fixed and missing:  # harmless when the accelerator lacks them (ZigZag's tpu_like_mixed)
            notes.at_key(
                entry.node, "spatial_mapping",
                f"fixes {', '.join(sorted(fixed))} only: imcmap leaves any other array dim unused, where "
                f"ZigZag would explore {', '.join(missing)} if the accelerator has them",
            )
        if not fixed:
            fixed = None  # `spatial_mapping: {}` fixes nothing
    if fixed is None:
        if entry.hint is not None:
            allowed = {d: entry.hint.get(d, LOOP_DIMS) for d in all_dims} | dict(entry.hint)
        elif entry.selector != "default" and all_dims:
            allowed = dict.fromkeys(all_dims, LOOP_DIMS)  # explore freely, not the default's restriction
        inherited = _inherited_fixed(entry, entries)
        if inherited is not None:
            issues.at(
                entry.node,
                f"entry '{entry.selector}' has no spatial_mapping, but entry '{inherited}' fixes one",
                "ZigZag would explore this entry's unrolling while imcmap would inherit the fixed one; "
                "give this entry a spatial_mapping",
            )
            return None
    return MappingRule(
        selector=entry.selector,
        fixed_spatial=fixed,
        allowed_spatial=allowed,
        allow_diagonal=True,  # ZigZag has no such switch: the hint or the fixed unrolling decides
        operand_links=entry.links,
        constraints=(),
        source=SourceRef(issues.file, entry.node.line, entry.node.col),
        key_sources=entry.sources,
    )


def _inherited_fixed(entry: _Entry, entries: list[_Entry]) -> str | None:
    """A less specific entry whose fixed spatial mapping imcmap's resolution would hand to ``entry``."""
    if entry.selector == "default":
        return None
    op_types = (*COMPUTE_OPERATORS, "MatMul")  # what an imcmap layer's op can be
    for other in entries:
        if other is entry or not other.fixed:
            continue
        if other.selector == "default" or (entry.selector not in op_types and other.selector in op_types):
            return other.selector
    return None


def _scalar_value(node: YamlNode | None) -> object:
    return node.value if isinstance(node, YamlScalar) else None
