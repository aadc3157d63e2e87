"""Workload YAML -> ``models.workload.Workload``; an ``.onnx`` path goes to ``specs.onnx_import``.

Schema (``?`` = optional)::

    name?: str                                   # default: the file's stem
    layers:                                      # in execution order, at least one
      - name: str                                # unique
        op: Conv | Gemm | MatMul
        dims: {<loop dim>: int >= 1, ...}        # any of B G K C OY OX FY FX; missing = 1
                                                 # (Gemm and MatMul: B, K, C only)
        stride?: [y, x]                          # Conv only; ints >= 1; default [1, 1]
        dilation?: [y, x]                        # Conv only; ints >= 1; default [1, 1]
        padding?: [top, left, bottom, right]     # Conv only; ints >= 0; default [0, 0, 0, 0]
        precision?: {w_bits?, i_bits?, o_bits?, psum_bits?}   # ints >= 1; default 8, 8, 8, 16
        sources?: [layer name, ...]              # earlier layers whose outputs feed this input
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from imcmap.models.workload import LOOP_DIMS, Layer, Precision, Workload

from .checks import (
    Fields,
    Issues,
    as_int,
    as_map,
    as_seq,
    as_str,
    did_you_mean,
    root_mapping,
)
from .dialect import Dialect, FileKind, dialect_of
from .errors import SpecError
from .loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq, load_yaml
from .zigzag import build_zigzag_workload

OPS = ("Conv", "Gemm", "MatMul")
MATRIX_DIMS = ("B", "K", "C")  # Gemm/MatMul loops (models.workload: "Gemm/MatMul use B, K, C only")
CONV_ONLY_KEYS = ("stride", "dilation", "padding")
TOP_REQUIRED = ("layers",)
TOP_OPTIONAL = ("name",)
LAYER_REQUIRED = ("name", "op", "dims")
LAYER_OPTIONAL = ("stride", "dilation", "padding", "precision", "sources")
PRECISION_KEYS = ("w_bits", "i_bits", "o_bits", "psum_bits")


def load_workload(path: str | Path) -> Workload:
    """A YAML workload file (imcmap's or ZigZag's), or an ONNX model (by its ``.onnx`` suffix)."""
    if Path(path).suffix.lower() == ".onnx":
        return _load_onnx(path)
    doc = load_yaml(path)
    if dialect_of(doc, FileKind.WORKLOAD) is Dialect.ZIGZAG:  # a ZigZag 3.x file, read as it is
        return build_zigzag_workload(doc)
    return build_workload(doc)


def _load_onnx(path: str | Path) -> Workload:
    if not Path(path).is_file():
        load_yaml(path)  # raises the same "file not found" / "is a directory" error as for YAML
    try:
        from .onnx_import import load_onnx  # lazy: pulls in the onnx package
    except ModuleNotFoundError as exc:
        if exc.name not in ("imcmap.specs.onnx_import", "onnx"):
            raise
        raise SpecError.single(str(path), f"ONNX workloads need {exc.name}, which is not available") from None
    return load_onnx(path)


def build_workload(doc: Document) -> Workload:
    """Validate a parsed workload file and build it; raise SpecError listing every issue."""
    issues = Issues(doc.file, doc.issues)
    root = root_mapping(issues, doc.root, "name, layers")
    top = Fields(issues, root, TOP_REQUIRED, TOP_OPTIONAL)
    name = top.text("name", Path(doc.file).stem or "workload")
    layers_node = top.get("layers")
    layers = _layers(issues, layers_node) if layers_node is not None else None
    if issues or name is None or layers is None:
        issues.fail()
    return Workload(name=name, layers=layers)


def _layers(issues: Issues, node: YamlNode) -> tuple[Layer, ...] | None:
    seq = as_seq(issues, node, "a list of layers")
    if seq is None:
        return None
    if not seq.items:
        issues.at(seq, "must list at least one layer")
        return None
    earlier: dict[str, int] = {}  # names of the layers read so far -> their line
    layers: list[Layer] = []
    ok = True
    all_names = _declared_names(seq)
    for item in seq.items:
        layer = _layer(issues, item, earlier, all_names)
        if layer is None:
            ok = False
        else:
            layers.append(layer)
    return tuple(layers) if ok else None


def _declared_names(seq: YamlSeq) -> dict[str, int]:
    """Every layer name written in the file -> its first line (to tell 'later' from 'unknown')."""
    out: dict[str, int] = {}
    for item in seq.items:
        if isinstance(item, YamlMap):
            node = item.items.get("name")
            if isinstance(node, YamlScalar) and isinstance(node.value, str):
                out.setdefault(node.value, node.line)
    return out


def _layer(
    issues: Issues, node: YamlNode, earlier: dict[str, int], declared: dict[str, int]
) -> Layer | None:
    layer = as_map(issues, node, "a layer (a mapping with name, op, dims)")
    if layer is None:
        return None
    f = Fields(issues, layer, LAYER_REQUIRED, LAYER_OPTIONAL)
    name = f.text("name")
    name_node = f.get("name")
    if name is not None and name_node is not None:
        if name in earlier:
            issues.at(name_node, f"duplicate layer name '{name}' (first defined at line {earlier[name]})")
            name = None
        else:
            earlier[name] = name_node.line
    op = f.choice("op", OPS, what="op")
    dims = _loop_dims(issues, f.get("dims"), op)
    if op is not None and op != "Conv":
        for key in CONV_ONLY_KEYS:
            if f.has(key):
                issues.at_key(layer, key, f"only Conv layers take {key} (this layer is a {op})")
    stride = _int_tuple(issues, f.get("stride"), ("y", "x"), 1)
    dilation = _int_tuple(issues, f.get("dilation"), ("y", "x"), 1)
    padding = _int_tuple(issues, f.get("padding"), ("top", "left", "bottom", "right"), 0)
    precision = _precision(issues, f.get("precision"))
    sources = _sources(issues, f.get("sources"), name, earlier, declared)
    if (
        name is None
        or op is None
        or dims is None
        or stride is None
        or dilation is None
        or padding is None
        or precision is None
        or sources is None
    ):
        return None
    base = Layer(name=name, op=op, dims=dims, precision=precision, sources=sources)
    if stride:
        base = dataclasses.replace(base, stride=(stride[0], stride[1]))
    if dilation:
        base = dataclasses.replace(base, dilation=(dilation[0], dilation[1]))
    if padding:
        base = dataclasses.replace(base, padding=(padding[0], padding[1], padding[2], padding[3]))
    return base


def _loop_dims(issues: Issues, node: YamlNode | None, op: str | None) -> dict[str, int] | None:
    if node is None:
        return None
    dims = as_map(issues, node, "a mapping of loop dim to size, e.g. {K: 8, C: 4}")
    if dims is None:
        return None
    allowed = MATRIX_DIMS if op in ("Gemm", "MatMul") else LOOP_DIMS
    sizes = dict.fromkeys(LOOP_DIMS, 1)
    ok = True
    for dim, size_node in dims.items.items():
        if dim not in LOOP_DIMS:
            issues.at_key(
                dims, dim, f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}",
                f"loop dims: {', '.join(LOOP_DIMS)}",
            )
            ok = False
        elif dim not in allowed:
            issues.at_key(dims, dim, f"a {op} layer has only {', '.join(allowed)} loops (got {dim})")
            ok = False
        size = as_int(issues, size_node, minimum=1)
        if size is None:
            ok = False
        elif dim in sizes:
            sizes[dim] = size
    return sizes if ok else None


def _int_tuple(
    issues: Issues, node: YamlNode | None, parts: tuple[str, ...], minimum: int
) -> tuple[int, ...] | None:
    """A fixed-length list of ints; ``()`` when absent (the Layer default applies)."""
    if node is None:
        return ()
    shape = f"a list of {len(parts)} integers [{', '.join(parts)}]"
    seq = as_seq(issues, node, shape)
    if seq is None:
        return None
    if len(seq.items) != len(parts):
        issues.at(seq, f"expected {shape}, got {len(seq.items)} value{'s' if len(seq.items) != 1 else ''}")
        return None
    values = [as_int(issues, item, minimum=minimum) for item in seq.items]
    out = tuple(v for v in values if v is not None)
    return out if len(out) == len(parts) else None


def _precision(issues: Issues, node: YamlNode | None) -> Precision | None:
    if node is None:
        return Precision()
    mapping = as_map(issues, node, "a mapping such as {w_bits: 8, i_bits: 8, o_bits: 8, psum_bits: 16}")
    if mapping is None:
        return None
    f = Fields(issues, mapping, (), PRECISION_KEYS)
    given: dict[str, int] = {}
    ok = True
    for key in PRECISION_KEYS:
        value = f.integer(key, minimum=1)
        if value is not None:
            given[key] = value
        elif f.has(key):
            ok = False
    return dataclasses.replace(Precision(), **given) if ok else None


def _sources(
    issues: Issues,
    node: YamlNode | None,
    own_name: str | None,
    earlier: dict[str, int],
    declared: dict[str, int],
) -> tuple[str, ...] | None:
    if node is None:
        return ()
    seq = as_seq(issues, node, "a list of earlier layer names")
    if seq is None:
        return None
    out: list[str] = []
    ok = True
    for item in seq.items:
        source = as_str(issues, item)
        if source is None:
            ok = False
        elif source == own_name:
            issues.at(item, f"layer '{source}' cannot be its own source")
            ok = False
        elif source in out:
            issues.at(item, f"source '{source}' is listed twice")
            ok = False
        elif source not in earlier:
            before = [n for n in earlier if n != own_name]
            if source in declared:
                issues.at(
                    item,
                    f"layer '{source}' is defined later (line {declared[source]})",
                    "sources must name earlier layers",
                )
            else:
                listed = ", ".join(before) if before else "none"
                issues.at(
                    item,
                    f"unknown layer '{source}'{did_you_mean(source, before)}",
                    f"earlier layers: {listed}",
                )
            ok = False
        else:
            out.append(source)
    return tuple(out) if ok else None
