"""ZigZag 3.x workload files -> ``Workload`` (``build_zigzag_workload``).

``Conv``, ``Conv_downsample`` and ``Gemm`` layers become ``Layer`` s (``op`` = the operator type, so
mapping entries select them as in ZigZag; name defaults to ``Layer<id>``); every other operator type
(Pooling, Add, ...) becomes an unmodelled op. ``loop_dims``
must be imcmap's (B G K C OY OX FY FX; size-1 extras are dropped) and the ``equation`` must give them the
same operands as imcmap does (O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix], in any order);
``dimension_relations`` ``ix = s*ox + d*fx`` give stride s and dilation d; ``operand_precision`` W, I,
O_final, O -> w_bits, i_bits, o_bits, psum_bits; ``operand_source`` I -> ``sources`` (through unmodelled
layers to the nearest compute layers); ``padding`` per ``pr_loop_dims`` entry IY / IX -> (top, bottom) /
(left, right). ``pr_loop_sizes`` must be an input size the windows allow (the span less the padding, up
to stride - 1 rows more, which are never read); with it, only the end padding the last window reaches is
kept, as the ONNX importer does.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from imcmap.models.workload import (
    LOOP_DIMS,
    RELEVANT_DIMS,
    Layer,
    Operand,
    Precision,
    UnmodelledOp,
    Workload,
    end_padding_reached,
)

from ..checks import Fields, Issues, as_int, as_map, as_seq, as_str, did_you_mean
from ..loader import Document, YamlMap, YamlNode, YamlScalar
from .common import UNMODELLED_OPERATORS, ZIGZAG_OPERATORS, fail, issues_of, node_or, present, root_list

MATRIX_DIMS = ("B", "K", "C")  # a Gemm layer's loops (models.workload)
LAYER_REQUIRED = ("id", "operator_type", "equation", "loop_dims", "loop_sizes", "operand_precision")
LAYER_OPTIONAL = ("name", "dimension_relations", "operand_source", "pr_loop_dims", "pr_loop_sizes", "padding")
PRECISION_KEYS = ("W", "I", "O", "O_final")
EQUATION = re.compile(r"\s*O((?:\[\w*\])+)\s*\+?=\s*(\w)((?:\[\w*\])+)\s*([*+])\s*(\w)((?:\[\w*\])+)\s*")
RELATION = re.compile(r"\s*(\w+)\s*=\s*(?:(\d+)\s*\*\s*)?(\w+)\s*\+\s*(?:(\d+)\s*\*\s*)?(\w+)\s*")
AXES = {"Y": ("OY", "FY"), "X": ("OX", "FX")}  # input axis -> (output dim, filter dim)


@dataclass(frozen=True, slots=True)
class _Relation:
    axis: str  # "X" or "Y"
    input_dim: str  # as written, upper case (e.g. "IX")
    stride: int
    dilation: int


@dataclass(frozen=True, slots=True)
class _ZzLayer:
    """A layer as read: a built ``Layer`` (compute) or the facts an unmodelled op keeps."""

    layer_id: int
    name: str
    op: str
    layer: Layer | None  # None for an unmodelled op
    input_source: int | None  # another layer's id (not itself)
    weight_source: int | None
    source_node: YamlNode | None


def build_zigzag_workload(doc: Document) -> Workload:
    """A ZigZag workload file -> a Workload; raise SpecError listing every issue."""
    issues = issues_of(doc)
    root = root_list(issues, doc.root, "layers (each a mapping with id, operator_type, equation, ...)")
    read: list[_ZzLayer] = []
    ids: dict[int, int] = {}  # id -> line
    names: dict[str, int] = {}
    for item in root.items:
        layer = _zz_layer(issues, item, ids, names)
        if layer is not None:
            read.append(layer)
    by_id = {layer.layer_id: index for index, layer in enumerate(read)}
    upstream: dict[int, frozenset[str]] = {}  # layer id -> nearest compute layers feeding its output
    layers: list[Layer] = []
    unmodelled: dict[str, list[str]] = {}
    for index, zz in enumerate(read):
        feeding: set[str] = set()
        for source in (zz.input_source, zz.weight_source if zz.layer is None else None):
            if source is None:
                continue
            position = by_id.get(source)
            if position is None and source in ids:
                continue  # that layer is invalid and already reported
            if position is None or position >= index:
                if zz.source_node is not None:
                    later = "is defined later" if position is not None else "is not defined"
                    issues.at(zz.source_node, f"source layer id {source} {later}",
                              "operand_source must name an earlier layer's id (or the layer's own id for a constant)")
                continue
            feeding |= upstream.get(source, frozenset())
        if zz.layer is None:
            upstream[zz.layer_id] = frozenset(feeding)
            unmodelled.setdefault(zz.op, []).append(zz.name)
            continue
        upstream[zz.layer_id] = frozenset({zz.name})
        ordered = tuple(layer.name for layer in layers if layer.name in feeding)
        layers.append(dataclasses.replace(zz.layer, sources=ordered))
    if not layers and not issues:
        issues.at(root, "no Conv, Conv_downsample or Gemm layer: nothing for imcmap to map")
    if issues:
        fail(issues)
    return Workload(
        name=Path(doc.file).stem or "workload",
        layers=tuple(layers),
        unmodelled_ops=tuple(
            UnmodelledOp(op_type=op, count=len(members), node_names=tuple(members))
            for op, members in sorted(unmodelled.items())
        ),
    )


def _zz_layer(issues: Issues, node: YamlNode, ids: dict[int, int], names: dict[str, int]) -> _ZzLayer | None:
    entry = as_map(issues, node, "a layer (a mapping with id, operator_type, equation, loop_dims, ...)")
    if entry is None:
        return None
    before = len(issues)
    f = Fields(issues, entry, LAYER_REQUIRED, LAYER_OPTIONAL)
    layer_id = f.integer("id", minimum=0)
    id_node = f.get("id")
    if layer_id is not None and id_node is not None:
        if layer_id in ids:
            issues.at(id_node, f"duplicate layer id {layer_id} (first at line {ids[layer_id]})")
            layer_id = None
        else:
            ids[layer_id] = id_node.line
    name_node = f.get("name")
    if name_node is None or (isinstance(name_node, YamlScalar) and name_node.value is None):
        name: str | None = f"Layer{layer_id}" if layer_id is not None else None  # ZigZag's default name
    else:
        name = as_str(issues, name_node)
    if name is not None:
        if name in names:
            issues.at(node_or(name_node, entry), f"duplicate layer name '{name}' (first at line {names[name]})")
            name = None
        else:
            names[name] = (name_node or entry).line
    op = f.choice("operator_type", ZIGZAG_OPERATORS, what="operator_type")
    sources = _operand_source(issues, f, layer_id)
    if op is None or layer_id is None or name is None or sources is None:
        return None
    input_source, weight_source, source_node = sources
    if op in UNMODELLED_OPERATORS:
        return _ZzLayer(
            layer_id=layer_id,
            name=name,
            op=op,
            layer=None,
            input_source=input_source,
            weight_source=weight_source,
            source_node=source_node,
        )
    layer = _compute_layer(issues, f, entry, name, op)
    if layer is None or len(issues) > before:
        return None
    return _ZzLayer(
        layer_id=layer_id,
        name=name,
        op=op,
        layer=layer,
        input_source=input_source,
        weight_source=weight_source,
        source_node=source_node,
    )


def _operand_source(
    issues: Issues, f: Fields, layer_id: int | None
) -> tuple[int | None, int | None, YamlNode | None] | None:
    node = f.get("operand_source")
    if node is None:
        return None, None, None
    mapping = as_map(issues, node, "a mapping such as {I: 0, W: 1}")
    if mapping is None:
        return None
    g = Fields(issues, mapping, (), ("I", "W"))
    found: dict[str, int | None] = {}
    for key in ("I", "W"):
        value = g.integer(key, minimum=0)
        if g.has(key) and value is None:
            return None
        found[key] = None if value == layer_id else value  # its own id: a constant operand
    return found["I"], found["W"], mapping


def _compute_layer(issues: Issues, f: Fields, entry: YamlMap, name: str, op: str) -> Layer | None:
    sizes = _loop_sizes(issues, f)
    eq_node = f.get("equation")
    equation = _equation(issues, eq_node) if eq_node is not None else None
    relations = _relations(issues, f.get("dimension_relations"))
    precision = _zz_precision(issues, f.get("operand_precision"))
    if sizes is None or eq_node is None or equation is None or relations is None or precision is None:
        return None
    if not _relevance_ok(issues, eq_node, equation, relations, sizes, op):
        return None
    padding = _padding(issues, f, entry, relations, sizes)
    if padding is None:
        return None
    stride = {r.axis: r.stride for r in relations.values()}
    dilation = {r.axis: r.dilation for r in relations.values()}
    dims = {dim: sizes.get(dim, 1) for dim in LOOP_DIMS}
    return Layer(
        name=name,
        op=op,
        dims=dims,
        stride=(stride.get("Y", 1), stride.get("X", 1)),
        dilation=(dilation.get("Y", 1), dilation.get("X", 1)),
        padding=padding,
        precision=precision,
    )


def _loop_sizes(issues: Issues, f: Fields) -> dict[str, int] | None:
    dims_seq, sizes_seq = f.sequence("loop_dims"), f.sequence("loop_sizes")
    if dims_seq is None or sizes_seq is None:
        return None
    if len(dims_seq.items) != len(sizes_seq.items):
        issues.at(sizes_seq, f"{len(sizes_seq.items)} loop_sizes for {len(dims_seq.items)} loop_dims",
                  "give one size per loop dim, in the same order")
        return None
    out: dict[str, int] = {}
    ok = True
    for dim_node, size_node in zip(dims_seq.items, sizes_seq.items, strict=True):
        dim = as_str(issues, dim_node)
        size = as_int(issues, size_node, minimum=1)
        if dim is None or size is None:
            ok = False
        elif dim in out:
            issues.at(dim_node, f"loop dim '{dim}' is listed twice")
            ok = False
        elif dim not in LOOP_DIMS and size > 1:
            issues.at(
                dim_node, f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}",
                f"imcmap's loop dims: {', '.join(LOOP_DIMS)} (rename by role: K output channels, "
                "C reduction, B batch/rows, G groups)",
            )
            ok = False
        else:
            out[dim] = size
    return out if ok else None


@dataclass(frozen=True, slots=True)
class _Equation:
    operands: dict[str, tuple[str, ...]]  # "O", "W", "I" -> index names, upper case, as written
    multiply: bool


def _equation(issues: Issues, node: YamlNode) -> _Equation | None:
    text = as_str(issues, node)
    if text is None:
        return None
    match = EQUATION.fullmatch(text)
    if match is None:
        issues.at(
            node, f"cannot read equation '{text}'", "expected e.g. O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]"
        )
        return None
    out_idx, left, left_idx, operator, right, right_idx = match.groups()
    if {left, right} != {"W", "I"}:
        issues.at(node, f"the inputs must be W and I (got {left} and {right})",
                  "imcmap's operands are O, W (weights) and I (input activations)")
        return None

    def indices(text: str) -> tuple[str, ...]:
        return tuple(name.upper() for name in re.findall(r"\[(\w*)\]", text) if name)

    operands = {"O": indices(out_idx), left: indices(left_idx), right: indices(right_idx)}
    return _Equation(operands, operator == "*")


def _relations(issues: Issues, node: YamlNode | None) -> dict[str, _Relation] | None:
    """``ix = s*ox + d*fx`` entries, by input dim (upper case)."""
    if node is None:
        return {}
    seq = as_seq(issues, node, "a list such as [ix=2*ox+1*fx, iy=2*oy+1*fy]")
    if seq is None:
        return None
    out: dict[str, _Relation] = {}
    ok = True
    for item in seq.items:
        text = as_str(issues, item)
        match = RELATION.fullmatch(text) if text is not None else None
        if text is not None and match is None:
            issues.at(item, f"cannot read dimension relation '{text}'", "expected e.g. ix=2*ox+1*fx")
        if match is None:
            ok = False
            continue
        target, coef_a, dim_a, coef_b, dim_b = match.groups()
        terms = {dim_a.upper(): int(coef_a or 1), dim_b.upper(): int(coef_b or 1)}
        axis = next((a for a, pair in AXES.items() if set(pair) == set(terms)), None)
        if axis is None:
            issues.at(item, f"relation '{text}' is not supported",
                      "imcmap relates input dims to outputs and filter taps only: ix = s*ox + d*fx, iy = s*oy + d*fy")
            ok = False
            continue
        out_dim, filt_dim = AXES[axis]
        stride, dilation = terms[out_dim], terms[filt_dim]
        if stride < 1 or dilation < 1:
            issues.at(item, "stride and dilation must be >= 1")
            ok = False
            continue
        key = target.upper()
        if key in out or any(r.axis == axis for r in out.values()):
            issues.at(item, f"a second relation for axis {axis}")
            ok = False
            continue
        out[key] = _Relation(axis, key, stride, dilation)
    return out if ok else None


def _relevance_ok(
    issues: Issues,
    node: YamlNode,
    equation: _Equation,
    relations: dict[str, _Relation],
    sizes: dict[str, int],
    op: str,
) -> bool:
    """Every loop dim of size > 1 indexes the same operands as in imcmap's loop nest."""
    if not equation.multiply:
        issues.at(node, f"a {op} layer multiplies: expected '*' between W and I")
        return False
    touched: dict[str, set[str]] = {}
    ok = True
    for operand, names in equation.operands.items():
        for index in names:
            if index in relations:
                if operand != "I":
                    issues.at(node, f"{index} is an input dim (from dimension_relations) but indexes {operand}")
                    ok = False
                    continue
                dims: tuple[str, ...] = AXES[relations[index].axis]
            elif index in sizes or index in LOOP_DIMS:
                dims = (index,)
            else:
                issues.at(
                    node,
                    f"index '{index.lower()}' of {operand} is neither a loop dim nor defined by dimension_relations",
                )
                ok = False
                continue
            for dim in dims:
                touched.setdefault(dim, set()).add(operand)
    for dim, size in sizes.items():
        if size == 1 or dim not in LOOP_DIMS:
            continue
        got = touched.get(dim, set())
        expected = {operand.value for operand in Operand if dim in RELEVANT_DIMS[operand]}
        if got != expected:
            shown = ", ".join(sorted(got)) or "no operand"
            issues.at(
                node,
                f"loop dim {dim} indexes {shown}, "
                f"but in imcmap's loop nest {dim} indexes {', '.join(sorted(expected))}",
                "imcmap's nest: O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix]",
            )
            ok = False
        if op == "Gemm" and dim not in MATRIX_DIMS:
            issues.at(node, f"a Gemm layer has only B, K, C loops in imcmap (got {dim})", "write it as a Conv layer")
            ok = False
    return ok


def _padding(
    issues: Issues, f: Fields, entry: YamlMap, relations: dict[str, _Relation], sizes: dict[str, int]
) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) from ``padding`` per ``pr_loop_dims`` entry; checks ``pr_loop_sizes``."""
    pr_node, pad_node = present(f.get("pr_loop_dims")), present(f.get("padding"))
    size_node = present(f.get("pr_loop_sizes"))
    if pr_node is None:
        for key, node in (("padding", pad_node), ("pr_loop_sizes", size_node)):
            if node is not None:
                issues.at_key(entry, key, f"{key} given without pr_loop_dims",
                              "list the input dims, e.g. pr_loop_dims: [IX, IY]")
                return None
        return (0, 0, 0, 0)
    pr_dims = _pr_dims(issues, pr_node, relations)
    if pr_dims is None:
        return None
    pads: dict[str, tuple[int, int]] = {}
    if pad_node is not None:
        read = _pads(issues, pad_node, pr_dims, relations)
        if read is None:
            return None
        pads = read
    if size_node is not None:
        reached = _pads_reached(issues, size_node, pr_dims, relations, sizes, pads)
        if reached is None:
            return None
        pads = reached
    top, bottom = pads.get("Y", (0, 0))
    left, right = pads.get("X", (0, 0))
    return (top, left, bottom, right)


def _pr_dims(issues: Issues, node: YamlNode, relations: dict[str, _Relation]) -> list[str] | None:
    seq = as_seq(issues, node, "a list of input dims, e.g. [IX, IY]")
    if seq is None:
        return None
    out: list[str] = []
    for item in seq.items:
        text = as_str(issues, item)
        if text is None:
            return None
        if text.upper() not in relations:
            issues.at(item, f"'{text}' is not an input dim of dimension_relations",
                      f"input dims: {', '.join(sorted(relations)) or 'none'}")
            return None
        out.append(text.upper())
    return out


def _pads(
    issues: Issues, node: YamlNode, pr_dims: list[str], relations: dict[str, _Relation]
) -> dict[str, tuple[int, int]] | None:
    seq = as_seq(issues, node, "a list of [begin, end] pairs, one per pr_loop_dims entry")
    if seq is None:
        return None
    if len(seq.items) != len(pr_dims):
        issues.at(seq, f"{len(seq.items)} paddings for {len(pr_dims)} pr_loop_dims")
        return None
    out: dict[str, tuple[int, int]] = {}
    for dim, item in zip(pr_dims, seq.items, strict=True):
        pair = as_seq(issues, item, "a pair [begin, end]")
        if pair is None:
            return None
        if len(pair.items) != 2:
            issues.at(pair, f"expected a pair [begin, end], got {len(pair.items)} values")
            return None
        begin, end = (as_int(issues, value, minimum=0) for value in pair.items)
        if begin is None or end is None:
            return None
        out[relations[dim].axis] = (begin, end)
    return out


def _pads_reached(
    issues: Issues,
    node: YamlNode,
    pr_dims: list[str],
    relations: dict[str, _Relation],
    sizes: dict[str, int],
    pads: dict[str, tuple[int, int]],
) -> dict[str, tuple[int, int]] | None:
    """The padding with only the end padding the last window reaches, given the input sizes; a size the
    output size, filter, stride, dilation and padding do not allow is an error. With a stride s the
    input may be up to s - 1 rows longer than the windows reach (those rows are never read)."""
    seq = as_seq(issues, node, "a list of input sizes, one per pr_loop_dims entry")
    if seq is None:
        return None
    if len(seq.items) != len(pr_dims):
        issues.at(seq, f"{len(seq.items)} pr_loop_sizes for {len(pr_dims)} pr_loop_dims")
        return None
    out = dict(pads)
    for dim, item in zip(pr_dims, seq.items, strict=True):
        given = as_int(issues, item, minimum=1)
        if given is None:
            return None
        relation = relations[dim]
        out_dim, filt_dim = AXES[relation.axis]
        span = relation.stride * (sizes.get(out_dim, 1) - 1) + relation.dilation * (sizes.get(filt_dim, 1) - 1) + 1
        begin, end = pads.get(relation.axis, (0, 0))
        low, high = span - begin - end, span - begin - end + relation.stride - 1
        if not low <= given <= high:
            allowed = f"{low}" if low == high else f"{low}-{high}"
            issues.at(
                item,
                f"input size {given} differs from the {allowed} imcmap derives for {dim}",
                "imcmap prices the input window from the output size, filter, stride, dilation and "
                "padding and cannot take another size; remove pr_loop_sizes",
            )
            return None
        out[relation.axis] = (begin, end_padding_reached(span, begin, end, given))
    return out


def _zz_precision(issues: Issues, node: YamlNode | None) -> Precision | None:
    if node is None:
        return None
    mapping = as_map(issues, node, "a mapping such as {W: 8, I: 8, O: 16, O_final: 8}")
    if mapping is None:
        return None
    f = Fields(issues, mapping, PRECISION_KEYS)
    values = {key: f.integer(key, minimum=1) for key in PRECISION_KEYS}
    w, i, o, o_final = (values[k] for k in PRECISION_KEYS)
    if w is None or i is None or o is None or o_final is None:
        return None
    return Precision(w_bits=w, i_bits=i, o_bits=o_final, psum_bits=o)
