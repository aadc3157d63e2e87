"""Full mapping YAML -> ``{layer name: models.mapping.Mapping}``, and the writer that inverts it.

A full mapping fixes everything the solver would choose: the spatial unrolling, the temporal loop
nest and, per operand, which loops each memory level keeps. Schema (``?`` = optional)::

    name?: str
    layers:                                  # at least one
      <layer name>:                          # a layer of the workload (checked when one is given)
        spatial?: {<array dim>: {<loop dim>: int >= 1, ...}, ...}   # default: nothing unrolled
        temporal:                            # all three operands
          W: {<memory level>: [[<loop dim>, int >= 1], ...], ...}
          I: {...}
          O: {...}
        operand_links?: {W: I2, I: I1, O: O}  # all three; I1 | I2 | O, distinct (this is the default)
        operands_exchanged?: bool            # default false; see below

Under ``temporal``, an operand lists exactly its memory chain (the accelerator's levels holding the
operand's memory operand), lowest level first, and each level lists the loops it keeps, innermost
first (``[]`` for none). Reading an operand's levels in order gives the whole temporal nest, which
must be the same nest for W, I and O: the levels only say where each operand cuts it.

What is checked here, each at its place: keys and types, loop dims, sizes >= 1, array dims and
memory levels against the accelerator (with a did-you-mean), the level order, and the agreement of
the three nests. Whether the mapping fits (capacities, array sizes, factors multiplying to the layer,
IMC rows) is not a spec error: ``models.evaluator.check`` decides that, and ``violation_issue``
places its verdicts in this file.

``operands_exchanged: true`` maps the layer with I and W exchanged (``models.workload.operands_exchanged``:
B and K trade places, so the IMC cells hold the layer's I): only for a layer whose W is computed during
inference and that has no window (attention's ``Q x K^T``, ``P x V``), checked when the workload is
known. ``solve -o`` writes it for the layers it solved that way.

The builder returns a ``FullMappingSpec``: the mappings plus where each part was written (kept apart
from the domain objects, like ``MappingRule.key_sources``), so later checks can point at a line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from imcmap.models.hardware import MEMORY_OPERANDS, Accelerator, MemoryLevel
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop, Mapping
from imcmap.models.mapping_spec import SourceRef
from imcmap.models.report import Violation
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer, Operand, Workload, exchangeable, operands_exchanged

from .checks import (
    Fields,
    Issues,
    as_bool,
    as_int,
    as_map,
    describe,
    did_you_mean,
    root_mapping,
)
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

TOP_REQUIRED = ("layers",)
TOP_OPTIONAL = ("name",)
LAYER_REQUIRED = ("temporal",)
LAYER_OPTIONAL = ("spatial", "operand_links", "operands_exchanged")
OPERAND_KEYS = tuple(op.value for op in OPERANDS)  # W, I, O
LOOP_EXAMPLE = "[K, 4]"
LOOP_DIMS_HINT = f"loop dims: {', '.join(LOOP_DIMS)}"


@dataclass(frozen=True, slots=True)
class FullMappingSpec:
    """The mappings of a full-mapping file and where their parts were written.

    ``sources[layer]`` maps a key path relative to the layer's entry (``""`` for the layer key,
    ``"spatial.D1"``, ``"temporal.I"``, ``"temporal.I.rf_1B"``, ...) to its place.
    """

    name: str
    file: str
    mappings: dict[str, Mapping]
    sources: dict[str, dict[str, SourceRef]] = field(default_factory=dict, compare=False)
    exchanged: frozenset[str] = frozenset()  # layers mapped with I and W exchanged (``operands_exchanged``)

    def layer_as_mapped(self, layer: Layer) -> Layer:
        """``layer``, with its operands exchanged where the file says so (``exchanged_issue`` first)."""
        return operands_exchanged(layer) if layer.name in self.exchanged else layer


def load_full_mapping(
    path: str | Path, accelerator: Accelerator, workload: Workload | None = None, *, require_all: bool = False
) -> dict[str, Mapping]:
    """The mappings of a full-mapping file, by layer name; raise SpecError listing every issue."""
    return load_full_mapping_spec(path, accelerator, workload, require_all=require_all).mappings


def load_full_mapping_spec(
    path: str | Path, accelerator: Accelerator, workload: Workload | None = None, *, require_all: bool = False
) -> FullMappingSpec:
    return build_full_mapping_spec(load_yaml(path), accelerator, workload, require_all=require_all)


def build_full_mapping_spec(
    doc: Document, accelerator: Accelerator, workload: Workload | None = None, *, require_all: bool = False
) -> FullMappingSpec:
    """Validate a parsed full-mapping file against ``accelerator`` (and the layer names of
    ``workload``, if given) and build it. ``require_all``: every workload layer needs a mapping."""
    issues = Issues(doc.file, doc.issues)
    root = root_mapping(issues, doc.root, "name, layers")
    top = Fields(issues, root, TOP_REQUIRED, TOP_OPTIONAL)
    name = top.text("name", Path(doc.file).stem or "mapping")
    layers = top.mapping("layers")
    mappings: dict[str, Mapping] = {}
    sources: dict[str, dict[str, SourceRef]] = {}
    exchanged: set[str] = set()
    if layers is not None:
        if not layers.items:
            issues.at(layers, "must map at least one layer")
        if workload is not None:
            _check_layer_names(issues, layers, workload, require_all)
        for layer_name, entry in layers.items.items():
            places = _Places(issues.file, entry.path)
            places.key(layers, layer_name)
            built = _layer(issues, entry, accelerator, places)
            if built is not None:
                mappings[layer_name] = built
            sources[layer_name] = places.sources
            if _exchanged_flag(issues, entry):
                exchanged.add(layer_name)
    if issues or name is None or layers is None:
        issues.fail()
    spec = FullMappingSpec(name=name, file=doc.file, mappings=mappings, sources=sources,
                           exchanged=frozenset(exchanged))
    if workload is not None:
        found = [issue for layer in workload.layers if (issue := exchanged_issue(spec, layer)) is not None]
        if found:
            raise SpecError(found)
    return spec


def _exchanged_flag(issues: Issues, entry: YamlNode) -> bool:
    if not isinstance(entry, YamlMap) or "operands_exchanged" not in entry.items:
        return False
    return bool(as_bool(issues, entry.items["operands_exchanged"]))


def exchanged_issue(spec: FullMappingSpec, layer: Layer) -> SpecIssue | None:
    """The error for ``operands_exchanged: true`` on a layer that has one orientation only."""
    if layer.name not in spec.exchanged or exchangeable(layer):
        return None
    ref = spec.sources.get(layer.name, {}).get("operands_exchanged") or SourceRef(spec.file, 0, 0)
    return SpecIssue(ref.file, ref.line, ref.col, child_path(child_path("layers", layer.name), "operands_exchanged"),
                     f"layer '{layer.name}' has a stored W or a window: its operands cannot be exchanged",
                     "operands_exchanged: true needs a matrix product whose W is computed during inference "
                     "(attention's Q x K^T, P x V)")


# --- layers -----------------------------------------------------------------------------------


class _Places:
    """Where the keys of one layer entry were written, by key path relative to the entry."""

    def __init__(self, file: str, prefix: str) -> None:
        self.file = file
        self.prefix = prefix
        self.sources: dict[str, SourceRef] = {}

    def key(self, parent: YamlMap, key: str) -> None:
        line, col = parent.keys[key]
        path = child_path(parent.path, key)
        relative = path[len(self.prefix) + 1 :] if path.startswith(self.prefix + ".") else ""
        self.sources[relative] = SourceRef(self.file, line, col)


def _check_layer_names(issues: Issues, layers: YamlMap, workload: Workload, require_all: bool) -> None:
    names = [layer.name for layer in workload.layers]
    for layer_name in layers.items:
        if layer_name not in names:
            issues.at_key(
                layers,
                layer_name,
                f"workload '{workload.name}' has no layer '{layer_name}'{did_you_mean(layer_name, names)}",
                f"its layers: {_listing(names)}",
            )
    if require_all:
        for layer_name in names:
            if layer_name not in layers.items:
                issues.at(layers, f"layer '{layer_name}' of workload '{workload.name}' has no mapping")


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _layer(issues: Issues, node: YamlNode, accel: Accelerator, places: _Places) -> Mapping | None:
    entry = as_map(issues, node, "a mapping with keys temporal, spatial, operand_links")
    if entry is None:
        return None
    f = Fields(issues, entry, LAYER_REQUIRED, LAYER_OPTIONAL)
    for key in entry.items:
        places.key(entry, key)
    spatial_node = f.get("spatial")
    spatial = _spatial(issues, spatial_node, accel, places) if spatial_node is not None else {}
    links_node = f.get("operand_links")
    links = _operand_links(issues, links_node, accel) if links_node is not None else dict(DEFAULT_OPERAND_LINKS)
    temporal_node = f.get("temporal")
    nest = _temporal(issues, temporal_node, accel, links, places) if temporal_node is not None else None
    if spatial is None or links is None or nest is None:
        return None
    loops, cuts = nest
    return Mapping(spatial=spatial, loops=loops, cuts=cuts, operand_links=links)


def _spatial(
    issues: Issues, node: YamlNode, accel: Accelerator, places: _Places
) -> dict[str, dict[str, int]] | None:
    spatial = as_map(issues, node, "a mapping of array dim to {loop dim: factor}, e.g. {D1: {K: 8}}")
    if spatial is None:
        return None
    array_dims = [d.name for d in accel.array_dims]
    out: dict[str, dict[str, int]] = {}
    ok = True
    for adim, unroll_node in spatial.items.items():
        places.key(spatial, adim)
        if adim not in array_dims:
            issues.at_key(
                spatial,
                adim,
                f"unknown array dim '{adim}'{did_you_mean(adim, array_dims)}",
                f"{accel.name} has array dims: {', '.join(array_dims)}",
            )
            ok = False
        unrolls = as_map(issues, unroll_node, "a mapping of loop dim to unroll factor, e.g. {K: 8, OX: 4}")
        if unrolls is None:
            ok = False
            continue
        factors: dict[str, int] = {}
        for ldim, factor_node in unrolls.items.items():
            known = ldim in LOOP_DIMS
            if not known:
                message = f"unknown loop dim '{ldim}'{did_you_mean(ldim, LOOP_DIMS)}"
                issues.at_key(unrolls, ldim, message, LOOP_DIMS_HINT)
            factor = as_int(issues, factor_node, minimum=1)
            if known and factor is not None:
                factors[ldim] = factor
            else:
                ok = False
        out[adim] = factors
    return out if ok else None


def _operand_links(issues: Issues, node: YamlNode, accel: Accelerator) -> dict[Operand, str] | None:
    links = as_map(issues, node, "a mapping of layer operand to memory operand, e.g. {W: I2, I: I1, O: O}")
    if links is None:
        return None
    f = Fields(issues, links, OPERAND_KEYS)
    out: dict[Operand, str] = {}
    linked_by: dict[str, str] = {}
    for operand in OPERAND_KEYS:
        target = f.choice(operand, MEMORY_OPERANDS, what="memory operand")
        value_node = links.items.get(operand)
        if target is None or value_node is None:
            continue
        if target in linked_by:
            issues.at(
                value_node,
                f"memory operand '{target}' is already linked to {linked_by[target]}",
                "each layer operand needs its own memory operand",
            )
        elif not accel.chain(target):
            issues.at(value_node, f"no memory of {accel.name} holds memory operand '{target}'")
        else:
            linked_by[target] = operand
            out[Operand(operand)] = target
    return out if len(out) == len(OPERAND_KEYS) else None


# --- temporal nest ----------------------------------------------------------------------------

# One operand's levels as written: (level name, [(loop, the node of its entry), ...]) in chain order.
_Levels = list[tuple[str, list[tuple[Loop, YamlNode]]]]


def _temporal(
    issues: Issues, node: YamlNode, accel: Accelerator, links: dict[Operand, str] | None, places: _Places
) -> tuple[tuple[Loop, ...], dict[Operand, tuple[int, ...]]] | None:
    temporal = as_map(issues, node, "a mapping of operand (W, I, O) to its memory levels")
    if temporal is None:
        return None
    Fields(issues, temporal, OPERAND_KEYS)
    per_operand: dict[Operand, _Levels] = {}
    ok = True
    for key in OPERAND_KEYS:
        levels_node = temporal.items.get(key)
        if levels_node is None:
            ok = False
            continue
        places.key(temporal, key)
        operand = Operand(key)
        chain = accel.chain(links[operand]) if links is not None else None
        levels = _operand_levels(issues, levels_node, operand, links, chain, accel, places)
        if levels is None:
            ok = False
        else:
            per_operand[operand] = levels
    if not ok or links is None:
        return None
    if not _nests_agree(issues, temporal, per_operand):
        return None
    reference = per_operand[OPERANDS[0]]
    loops = tuple(loop for _, entries in reference for loop, _ in entries)
    cuts: dict[Operand, tuple[int, ...]] = {}
    for operand, levels in per_operand.items():
        ends: list[int] = []
        for _, entries in levels:
            ends.append((ends[-1] if ends else 0) + len(entries))
        cuts[operand] = tuple(ends)
    return loops, cuts


def _operand_levels(
    issues: Issues,
    node: YamlNode,
    operand: Operand,
    links: dict[Operand, str] | None,
    chain: tuple[MemoryLevel, ...] | None,
    accel: Accelerator,
    places: _Places,
) -> _Levels | None:
    """The levels of one operand; with ``chain`` None (invalid links) only the loops are checked."""
    what = f"a mapping of memory level to its loops, e.g. {{{chain[0].name if chain else 'dram'}: [{LOOP_EXAMPLE}]}}"
    levels = as_map(issues, node, what)
    if levels is None:
        return None
    chain_names = [m.name for m in chain] if chain is not None else []
    link = links[operand] if links is not None else ""
    chain_hint = f"{operand.value}'s levels (memory operand {link}), lowest first: {', '.join(chain_names)}"
    ok = True
    listed: list[str] = []
    meant: set[str] = set()  # chain levels a misspelt name was taken for: not reported missing too
    entries_by_level: dict[str, list[tuple[Loop, YamlNode]]] = {}
    for level_name, loops_node in levels.items.items():
        places.key(levels, level_name)
        entries = _loops(issues, loops_node)
        if entries is None:
            ok = False
        if chain is None:
            continue
        if level_name in chain_names:
            listed.append(level_name)
            if entries is not None:
                entries_by_level[level_name] = entries
        elif any(m.name == level_name for m in accel.memories):
            message = f"memory level '{level_name}' does not hold {link}, the memory operand of {operand.value}"
            issues.at_key(levels, level_name, message, chain_hint)
            ok = False
        else:
            suggestion = did_you_mean(level_name, chain_names)
            meant.update(name for name in chain_names if suggestion == f", did you mean '{name}'?")
            issues.at_key(levels, level_name, f"unknown memory level '{level_name}'{suggestion}", chain_hint)
            ok = False
    if chain is None:
        return None
    expected = [name for name in chain_names if name in listed]
    for got, want in zip(listed, expected, strict=False):
        if got != want:
            issues.at_key(
                levels, got, f"'{got}' is listed before '{want}', but levels go lowest first", chain_hint
            )
            ok = False
            break
    for name in chain_names:
        if name not in listed and name not in meant:
            issues.at(
                levels,
                f"missing level '{name}' of {operand.value}'s memory chain ({', '.join(chain_names)})",
                "list it with [] if it keeps no loops",
            )
            ok = False
    if not ok:
        return None
    return [(name, entries_by_level[name]) for name in chain_names]


def _loops(issues: Issues, node: YamlNode) -> list[tuple[Loop, YamlNode]] | None:
    if not isinstance(node, YamlSeq):
        issues.at(
            node, f"expected a list of loops [dim, size], innermost first, e.g. [{LOOP_EXAMPLE}]; got {describe(node)}"
        )
        return None
    out: list[tuple[Loop, YamlNode]] = []
    ok = True
    for item in node.items:
        loop = _loop(issues, item)
        if loop is None:
            ok = False
        else:
            out.append((loop, item))
    return out if ok else None


def _loop(issues: Issues, node: YamlNode) -> Loop | None:
    if not isinstance(node, YamlSeq) or len(node.items) != 2:
        got = _items_text(len(node.items)) if isinstance(node, YamlSeq) else describe(node)
        issues.at(node, f"expected a loop [dim, size], e.g. {LOOP_EXAMPLE}; got {got}")
        return None
    dim_node, size_node = node.items
    if _is_text(size_node, LOOP_DIMS) and not _is_text(dim_node, ()):  # [4, K]: the two swapped
        issues.at(node, f"a loop is [dim, size]: write [{_text(size_node)}, {_text(dim_node)}]")
        return None
    dim: str | None = None
    if not isinstance(dim_node, YamlScalar) or not isinstance(dim_node.value, str):
        hint = f"a loop is [dim, size]; {LOOP_DIMS_HINT}"
        issues.at(dim_node, f"expected a loop dim, got {describe(dim_node)}", hint)
    elif dim_node.value not in LOOP_DIMS:
        message = f"unknown loop dim '{dim_node.value}'{did_you_mean(dim_node.value, LOOP_DIMS)}"
        issues.at(dim_node, message, LOOP_DIMS_HINT)
    else:
        dim = dim_node.value
    size = as_int(issues, size_node, minimum=1)
    if dim is None or size is None:
        return None
    return Loop(dim, size)


def _is_text(node: YamlNode, among: tuple[str, ...]) -> bool:
    """A string scalar (one of ``among``, unless that is empty)."""
    if not isinstance(node, YamlScalar) or not isinstance(node.value, str):
        return False
    return not among or node.value in among


def _text(node: YamlNode) -> str:
    return node.text if isinstance(node, YamlScalar) else describe(node)


def _items_text(n: int) -> str:
    return f"a list of {n} item{'' if n == 1 else 's'}"


def _nests_agree(issues: Issues, temporal: YamlMap, per_operand: dict[Operand, _Levels]) -> bool:
    """Every operand's levels, read in order, give the first operand's (W's) nest."""
    flat = {op: [entry for _, entries in levels for entry in entries] for op, levels in per_operand.items()}
    reference_op = OPERANDS[0]
    reference = flat[reference_op]
    ref_name = reference_op.value
    ok = True
    for operand in OPERANDS[1:]:
        mine = flat[operand]
        name = operand.value
        for position, ((loop, node), (ref_loop, _)) in enumerate(zip(mine, reference, strict=False), start=1):
            if loop != ref_loop:
                issues.at(
                    node,
                    f"loop {position} of {name}'s nest (innermost = 1) is {_loop_text(loop)}, "
                    f"but {ref_name}'s is {_loop_text(ref_loop)}",
                    "every operand lists the same loops in the same order; only its level cuts differ",
                )
                ok = False
                break
        else:
            if len(mine) < len(reference):
                issues.at(
                    temporal.items[name],
                    f"{name}'s nest has {len(mine)} loops, {ref_name}'s has {len(reference)} "
                    f"(next: {_loop_text(reference[len(mine)][0])})",
                    "every operand lists the same loops in the same order; only its level cuts differ",
                )
                ok = False
            elif len(mine) > len(reference):
                extra, node = mine[len(reference)]
                issues.at(
                    node,
                    f"loop {len(reference) + 1} of {name}'s nest is {_loop_text(extra)}, "
                    f"but {ref_name}'s nest ends after {len(reference)} loops",
                    "every operand lists the same loops in the same order; only its level cuts differ",
                )
                ok = False
    return ok


def _loop_text(loop: Loop) -> str:
    return f"[{loop.dim}, {loop.size}]"


# --- check() verdicts at their place --------------------------------------------------------------


def violation_issue(spec: FullMappingSpec, layer: str, violation: Violation) -> SpecIssue:
    """A ``models.evaluator.check`` violation of ``layer``'s mapping, placed at the key it concerns."""
    places = spec.sources.get(layer, {})
    candidates: list[str] = []
    if violation.kind in ("array_size", "unroll_dim", "imc_rows"):
        candidates = [f"spatial.{violation.where}", "spatial"]
    elif violation.kind == "cuts":
        candidates = [f"temporal.{violation.where}", "temporal"]
    elif violation.kind == "capacity":
        candidates = [f"temporal.{op}.{violation.where}" for op in OPERAND_KEYS]
    elif violation.kind == "factorization":
        candidates = ["temporal"]
    relative = next((c for c in candidates if c in places), "")
    ref = places.get(relative) or SourceRef(spec.file, 0, 0)
    key_path = child_path(child_path("layers", layer), relative) if relative else child_path("layers", layer)
    message = f"illegal mapping (not priced): {violation.kind} at {violation.where}: {violation.message}"
    return SpecIssue(ref.file, ref.line, ref.col, key_path, message)


# --- writer -----------------------------------------------------------------------------------


def full_mapping_plain(mapping: Mapping, accelerator: Accelerator) -> dict[str, object]:
    """One layer's entry as plain data in the file's layout (spatial, temporal, operand_links), for
    JSON reports. ``ValueError`` if the cuts do not fit the accelerator's memory chains."""
    return {
        "spatial": {adim: dict(unrolls) for adim, unrolls in mapping.spatial.items()},
        "temporal": _temporal_plain(mapping, accelerator),
        "operand_links": {op.value: mapping.operand_links[op] for op in OPERANDS},
    }


def _temporal_plain(mapping: Mapping, accelerator: Accelerator) -> dict[str, dict[str, list[list[str | int]]]]:
    """Per operand, per level of its chain (lowest first), the loops it keeps as [dim, size]."""
    temporal: dict[str, dict[str, list[list[str | int]]]] = {}
    for operand in OPERANDS:
        link = mapping.operand_links.get(operand)
        chain = accelerator.chain(link) if link else ()
        cuts = mapping.cuts.get(operand, ())
        if not chain:
            raise ValueError(f"{operand.value}: no memory of {accelerator.name} holds memory operand {link!r}")
        if len(cuts) != len(chain) or list(cuts) != sorted(cuts) or cuts[0] < 0 or cuts[-1] != len(mapping.loops):
            names = ", ".join(m.name for m in chain)
            raise ValueError(
                f"{operand.value}: cuts {tuple(cuts)} do not split {len(mapping.loops)} loops over its levels ({names})"
            )
        temporal[operand.value] = {
            level.name: [[loop.dim, loop.size] for loop in mapping.loops_at(operand, index)]
            for index, level in enumerate(chain)
        }
    return temporal


def full_mapping_to_yaml(mappings: dict[str, Mapping], accelerator: Accelerator, *, name: str | None = None,
                        exchanged: frozenset[str] | set[str] = frozenset()) -> str:
    """A full-mapping file that ``build_full_mapping_spec`` reads back into ``mappings``.

    Flow style keeps one operand per line; ``spatial`` and ``operand_links`` are written only when
    they differ from the defaults, ``operands_exchanged`` for the layers in ``exchanged``. ``ValueError``
    if a mapping does not fit the memory chains."""
    lines = [
        f"# Full mapping for accelerator {accelerator.name}: per operand, memory levels lowest first,",
        "# each with its loops [dim, size] innermost first.",
    ]
    if name is not None:
        lines.append(f"name: {_scalar(name)}")
    lines.append("layers:")
    for layer_name, mapping in mappings.items():
        temporal = _temporal_plain(mapping, accelerator)
        lines.append(f"  {_scalar(layer_name)}:")
        if mapping.spatial:
            spatial = {adim: dict(unrolls) for adim, unrolls in mapping.spatial.items()}
            lines.append(f"    spatial: {_flow(spatial)}")
        lines.append("    temporal:")
        for operand in OPERAND_KEYS:
            lines.append(f"      {operand}: {_flow(temporal[operand])}")
        links = {op: mapping.operand_links[op] for op in OPERANDS}
        if links != DEFAULT_OPERAND_LINKS:
            lines.append(f"    operand_links: {_flow({op.value: mem for op, mem in links.items()})}")
        if layer_name in exchanged:
            lines.append("    operands_exchanged: true")
    return "\n".join(lines) + "\n"


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_RESOLVER = yaml.resolver.Resolver()


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when that reads back as the same string, else double-quoted
    (a JSON string is a valid YAML double-quoted scalar)."""
    if _PLAIN.fullmatch(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str":
        return text
    return json.dumps(text)


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"cannot write {value!r} in a full mapping")
    return str(value) if isinstance(value, int) else _scalar(value)
