"""Import an ONNX graph as a :class:`~imcmap.models.workload.Workload` (shapes only, never weights).

``load_onnx(path)`` reads the model with ``load_external_data=False`` (so files whose external
weight file is absent import), runs ONNX shape inference, and turns every compute node into a
:class:`Layer`; every other node is listed in ``Workload.unmodelled_ops``, never dropped.

Compute nodes (default ONNX domain only) and their loop dimensions:

* ``Conv``, ``ConvInteger``, ``QLinearConv`` -> op ``"Conv"``. ``group = g`` gives ``G = g``,
  ``C = in_channels / g``, ``K = out_channels / g`` (depthwise: ``C = 1``). The kernel comes from
  the weight shape; strides, dilations, explicit ``pads`` and ``auto_pad`` (SAME_UPPER, SAME_LOWER,
  VALID) are honoured; OY/OX are computed from them and checked against the inferred output shape.
  A 1-D convolution has ``OY = FY = 1`` and its single spatial axis on X. 3-D convolutions do not
  fit the loop nest: they are listed as unmodelled, with a warning.
* ``Gemm`` -> op ``"Gemm"`` (``transA``/``transB`` honoured): ``B`` = rows of A, ``C`` = the
  reduction, ``K`` = output features.
* ``MatMul``, ``MatMulInteger``, ``QLinearMatMul`` -> op ``"MatMul"``: for ``A[..., M, R] x
  W[..., R, N]`` the layer has ``C = R`` and ``K = N``. The broadcast leading (batch) dims split by
  whether the second operand varies along them: where it does not (size 1 or absent, e.g. a 2-D
  weight) they multiply into ``B`` together with ``M``; where it does (attention's ``Q x K^T``)
  each slice has its own "weight", which is what ``G`` means, so they multiply into ``G``. With a
  2-D second operand this is simply ``B = prod(leading dims) * M``. A 1-D ``A`` has ``M = 1``, a
  1-D second operand ``N = 1``.
* ``Einsum`` with two operands -> op ``"MatMul"`` (the same loop nest), by the same reading of its
  indices: in both operands and the output -> ``G`` (``B`` where the second operand has size 1
  there, as for MatMul's broadcast dims); in the first operand and the output -> ``B``; in the
  second and the output -> ``K``; in both operands, not the output -> ``C``. So
  ``"bsd,df->bsf"`` is a projection (B = b*s), ``"bhqd,bhkd->bhqk"`` attention's scores (G = b*h,
  B = q, C = d, K = k) and ``"bhqk,bhkd->bhqd"`` its context (G = b*h, B = q, C = k, K = d);
  ``...`` broadcasts as in numpy, and an equation without ``->`` has numpy's implicit output. Forms
  outside this nest (one or three operands, an index summed over one operand only, a repeated
  index) are listed as unmodelled, with a warning.

Why heads are ``G`` and query rows ``B`` in attention: per head ``h``, ``S[h,q,k] += Q[h,q,d] *
K[h,k,d]``. The right operand (``K``, the loop nest's W) is different for every head, so the head
loop must be relevant to W, I and O, which in ``models.workload`` only ``G`` is; the query rows
reuse the same W, as a weight is reused across a batch, so they are the W-irrelevant ``B`` (not
``OX``, which would bring a filter window and a halo that a matrix product does not have). A
left operand broadcast against a right one that varies (one A for every slice) has no place in the
nest (I is relevant to G): it is priced as if each slice read its own copy, with a warning.

Dynamic operands: W is normally a stored parameter, but in ``Q x K^T`` and ``P x V`` it is computed
during inference. The importer walks back from W as from I (below); W is *dynamic*
(``Layer.dynamic_operands == {W}``) when that walk reaches a compute layer (those are
``Layer.weight_sources``) or a *data* graph input, one that also reaches some layer's I (the
network's input, a mask, a cache combined with data). A graph input that reaches compute layers
only as their weight is a stored parameter: shapes-only graphs, like the bundled ones, declare
their weights as data-less graph inputs, and an initializer never changes. So a KV cache arriving
as a graph input is dynamic through its ``Concat`` with the new token's key (which reaches the key
projection), while a cache read with no layer or data input feeding it is read as a stored weight.
A dynamic W is read where its producer left it when that can stay on chip, and either operand of
such a layer may sit in the IMC cells: the network driver solves it both ways, as two jobs
(``solver.solve.solve_layer`` and ``solve_exchanged``), and keeps the better (``better_orientation``;
where the W is read from: ``solver.network.plan_dynamic_weights``).

Shapes: a dynamic (``dim_param``) or missing batch dimension (dim 0 of a graph input that is not
an initializer) is set to 1 before shape inference, with a warning; every other dimension a compute
layer needs must be static, else the import fails naming the node and tensor.

Precisions (bits per operand, from the ONNX element type of the layer's input, weight and output
tensors; a tensor produced by ``DequantizeLinear`` counts with its quantized input's type):
int2/uint2 -> 2, int4/uint4/float4 -> 4, int8/uint8/float8 -> 8, int16/uint16/float16/bfloat16 ->
16, int32/uint32 -> 32. float32 (and float64, or an unknown type) is priced at the *default
precision* (``Precision()`` = W 8 / I 8 / O 8 / partial sums 16, ZigZag's default, or
``default_precision``): a float32 export usually stands for a network that will be quantized before
it runs on an IMC macro. ``Workload.warnings`` then says so once, e.g. "float32 tensors priced at
8-bit (default precision)". Partial sums are ``max(default psum_bits, o_bits)`` wide.

``Layer.sources``: the nearest upstream compute layers feeding the layer's data input (the I
operand: input 0 of Conv/Gemm/MatMul/Einsum) or its dynamic W, found by walking back through every
non-compute node (Relu, MaxPool, Add -> both branches, BatchNormalization, Flatten, Reshape,
Transpose, Softmax, Split, Slice, Concat, ...) but not through ``Shape``/``Size``, whose outputs
carry metadata rather than data. Listed in graph order; so ``Q x K^T`` lists the query and the key
projections, and ``weight_sources`` the key projection alone.

Layer names are the ONNX node names; an empty name becomes ``<op_type>_<node index>`` and a
repeated one gets a ``_1``, ``_2`` ... suffix (with a warning), so names are unique.

Every problem with the file raises :class:`~imcmap.specs.errors.SpecError`: a missing or unreadable
file, a file that is not an ONNX model (issue key ``onnx``), or compute nodes whose shapes cannot be
resolved or that contradict the model (a product whose stated output shape holds another number of
elements than its operands give; one issue per node, key ``onnx.node[<name>]``, all collected into one
error). Not imported: nodes inside control-flow subgraphs (``If``/``Loop``/``Scan`` count as
unmodelled ops themselves) and custom-domain operators (listed as ``<domain>.<op_type>``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, shape_inference

from ..models.workload import (
    LOOP_DIMS,
    Layer,
    Operand,
    Precision,
    UnmodelledOp,
    Workload,
    end_padding_reached,
)
from .errors import SpecError, SpecIssue

__all__ = ["load_onnx"]

# ONNX op type -> (imcmap op, index of the data input I, index of the weight input W).
_COMPUTE_OPS: dict[str, tuple[str, int, int]] = {
    "Conv": ("Conv", 0, 1),
    "ConvInteger": ("Conv", 0, 1),
    "QLinearConv": ("Conv", 0, 3),
    "Gemm": ("Gemm", 0, 1),
    "MatMul": ("MatMul", 0, 1),
    "MatMulInteger": ("MatMul", 0, 1),
    "QLinearMatMul": ("MatMul", 0, 3),
    "Einsum": ("MatMul", 0, 1),
}

_DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})

# Ops whose outputs describe a tensor rather than carry its data: the source walk stops there.
_METADATA_OPS = frozenset({"Shape", "Size"})

_BITS_BY_TYPE_NAME: dict[str, int] = {
    "INT2": 2,
    "UINT2": 2,
    "INT4": 4,
    "UINT4": 4,
    "FLOAT4E2M1": 4,
    "INT8": 8,
    "UINT8": 8,
    "FLOAT8E4M3FN": 8,
    "FLOAT8E4M3FNUZ": 8,
    "FLOAT8E5M2": 8,
    "FLOAT8E5M2FNUZ": 8,
    "FLOAT8E8M0": 8,
    "INT16": 16,
    "UINT16": 16,
    "FLOAT16": 16,
    "BFLOAT16": 16,
    "INT32": 32,
    "UINT32": 32,
}


def _bits_by_type() -> dict[int, int]:
    """The table above keyed by the element type numbers this onnx version knows."""
    table: dict[int, int] = {}
    for type_name, bits in _BITS_BY_TYPE_NAME.items():
        number = getattr(TensorProto, type_name, None)
        if isinstance(number, int):
            table[number] = bits
    return table


_BITS: dict[int, int] = _bits_by_type()

Dim = int | str | None  # static size, symbolic name, or unknown


@dataclass(frozen=True, slots=True)
class _TensorInfo:
    elem_type: int
    shape: tuple[Dim, ...] | None  # None: rank unknown


class _NodeProblem(Exception):
    """A compute node whose dimensions cannot be resolved (becomes one SpecIssue)."""


class _NotModelled(Exception):
    """A compute op in a form the loop nest cannot express (listed as unmodelled, warned)."""


def load_onnx(path: str | Path, *, default_precision: Precision | None = None) -> Workload:
    """Read an ONNX file into a Workload; raise SpecError (and nothing else) for a bad file."""
    file = str(path)
    model = _read_model(Path(path))
    default = default_precision if default_precision is not None else Precision()
    graph = model.graph

    _check_topological(graph.node, file)
    warnings: list[str] = _fix_dynamic_batch(graph)
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # onnx raises several unrelated types (ValidationError, RuntimeError...)
        raise _file_error(file, f"ONNX shape inference failed: {_one_line(exc)}") from exc

    nodes = list(inferred.graph.node)
    names, rename_warnings = _node_names(nodes)
    warnings += rename_warnings
    infos = _tensor_infos(inferred.graph)
    producers = {out: node for node in nodes for out in node.output if out}

    issues: list[SpecIssue] = []
    layers: dict[int, Layer] = {}  # node index -> layer (sources filled in below)
    unmodelled: dict[str, list[str]] = {}
    unpriced_types: set[int] = set()
    for index, node in enumerate(nodes):
        compute = _COMPUTE_OPS.get(node.op_type) if node.domain in _DEFAULT_DOMAINS else None
        if compute is None:
            unmodelled.setdefault(_op_label(node), []).append(names[index])
            continue
        try:
            layers[index] = _build_layer(
                node, names[index], compute, infos, producers, default, unpriced_types, warnings
            )
        except _NodeProblem as problem:
            issues.append(SpecIssue(file, 0, 0, f"onnx.node[{names[index]}]", str(problem)))
        except _NotModelled as reason:
            unmodelled.setdefault(_op_label(node), []).append(names[index])
            warnings.append(f"{node.op_type} '{names[index]}' not modelled: {reason}")
    if issues:
        raise SpecError(issues)

    initializers = {tensor.name for tensor in inferred.graph.initializer}
    graph_inputs = [value.name for value in inferred.graph.input if value.name not in initializers]
    upstream = _upstream(nodes, set(layers), graph_inputs)
    nothing = _Upstream()  # an initializer's
    data_inputs: set[str] = set()  # graph inputs some layer reads as (part of) its I
    for index in layers:
        data_inputs |= upstream.get(_operand_tensor(nodes[index], Operand.I), nothing).graph_inputs
    finished: list[Layer] = []
    for index, layer in layers.items():
        feeding_input = upstream.get(_operand_tensor(nodes[index], Operand.I), nothing).layers
        weight = upstream.get(_operand_tensor(nodes[index], Operand.W), nothing)
        dynamic = bool(weight.layers) or bool(weight.graph_inputs & data_inputs)
        feeding_weight = weight.layers if dynamic else frozenset()
        finished.append(
            dataclasses.replace(
                layer,
                sources=tuple(layers[i].name for i in sorted(feeding_input | feeding_weight)),
                dynamic_operands=frozenset({Operand.W}) if dynamic else frozenset(),
                weight_sources=tuple(layers[i].name for i in sorted(feeding_weight)),
            )
        )

    warnings += _precision_warnings(unpriced_types, default)
    return Workload(
        name=Path(path).stem,
        layers=tuple(finished),
        unmodelled_ops=tuple(
            UnmodelledOp(op_type=label, count=len(members), node_names=tuple(members))
            for label, members in sorted(unmodelled.items())
        ),
        warnings=tuple(warnings),
    )


# --- reading -------------------------------------------------------------------------------------


def _read_model(path: Path) -> onnx.ModelProto:
    file = str(path)
    hint = ""
    if path.suffix.lower() in {".yaml", ".yml"}:
        hint = "YAML workloads are read by the workload spec loader, not the ONNX importer"
    try:
        if not path.exists():
            raise _file_error(file, "file not found", hint)
        if not path.is_file():
            raise _file_error(file, "not a regular file (a directory?)", hint)
        if path.stat().st_size == 0:
            raise _file_error(file, "empty file, not an ONNX model", hint)
        model = onnx.load(path, load_external_data=False)
    except SpecError:
        raise
    except OSError as exc:
        raise _file_error(file, f"cannot read file: {exc.strerror or exc}", hint) from exc
    except Exception as exc:  # protobuf's DecodeError, onnx's C++ ValidationError, ...: none may escape
        raise _file_error(file, f"not an ONNX model ({_one_line(exc)})", hint) from exc
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise _file_error(file, "not an ONNX model (no IR version or no graph)", hint)
    return model


def _file_error(file: str, message: str, hint: str = "") -> SpecError:
    return SpecError([SpecIssue(file, 0, 0, "onnx", message, hint)])


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _fix_dynamic_batch(graph: onnx.GraphProto) -> list[str]:
    """Set a symbolic or missing dim 0 of each graph data input to 1 (and the same symbol elsewhere)."""
    initializers = {t.name for t in graph.initializer}
    symbols: set[str] = set()
    warnings: list[str] = []
    for value in graph.input:
        if value.name in initializers or not value.type.HasField("tensor_type"):
            continue
        tensor_type = value.type.tensor_type
        if not tensor_type.HasField("shape") or not tensor_type.shape.dim:
            continue
        batch = tensor_type.shape.dim[0]
        if batch.HasField("dim_value"):
            continue
        symbol = batch.dim_param if batch.HasField("dim_param") else ""
        if symbol:
            symbols.add(symbol)
        batch.dim_value = 1  # clears dim_param (a oneof)
        label = f"'{symbol}'" if symbol else "(unnamed)"
        warnings.append(f"input '{value.name}': dynamic batch dimension {label} set to 1")
    if symbols:
        for value in [*graph.input, *graph.output, *graph.value_info]:
            if not value.type.HasField("tensor_type"):
                continue
            for dim in value.type.tensor_type.shape.dim:
                if dim.HasField("dim_param") and dim.dim_param in symbols:
                    dim.dim_value = 1
    return warnings


def _check_topological(nodes: Sequence[onnx.NodeProto], file: str) -> None:
    """ONNX requires nodes in topological order; shape inference and the source walk rely on it."""
    produced_by = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    for i, node in enumerate(nodes):
        for name in node.input:
            if produced_by.get(name, -1) >= i:
                raise _file_error(
                    file,
                    f"nodes are not in topological order: '{node.name or node.op_type}' reads "
                    f"'{name}' before it is produced",
                )


def _node_names(nodes: Sequence[onnx.NodeProto]) -> tuple[list[str], list[str]]:
    """Unique names: the node name, else ``<op_type>_<index>``; repeats get a numeric suffix."""
    given = {node.name for node in nodes if node.name}
    names: list[str] = []
    used: set[str] = set()
    warnings: list[str] = []
    for index, node in enumerate(nodes):
        base = node.name or f"{node.op_type}_{index}"
        name, suffix = base, 0
        while name in used or (not node.name and name in given):
            suffix += 1
            name = f"{base}_{suffix}"
        if node.name and name != node.name:
            warnings.append(f"duplicate node name '{node.name}' renamed to '{name}'")
        used.add(name)
        names.append(name)
    return names, warnings


def _op_label(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in _DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _tensor_infos(graph: onnx.GraphProto) -> dict[str, _TensorInfo]:
    infos: dict[str, _TensorInfo] = {}
    for value in [*graph.value_info, *graph.input, *graph.output]:
        if not value.type.HasField("tensor_type"):
            continue
        tensor_type = value.type.tensor_type
        shape: tuple[Dim, ...] | None = None
        if tensor_type.HasField("shape"):
            shape = tuple(
                dim.dim_value
                if dim.HasField("dim_value")
                else (dim.dim_param if dim.HasField("dim_param") else None)
                for dim in tensor_type.shape.dim
            )
        infos[value.name] = _TensorInfo(tensor_type.elem_type, shape)
    for tensor in graph.initializer:  # authoritative; their data may be absent (external)
        infos[tensor.name] = _TensorInfo(tensor.data_type, tuple(int(d) for d in tensor.dims))
    return infos


# --- layers --------------------------------------------------------------------------------------


def _build_layer(
    node: onnx.NodeProto,
    name: str,
    compute: tuple[str, int, int],
    infos: dict[str, _TensorInfo],
    producers: dict[str, onnx.NodeProto],
    default: Precision,
    unpriced_types: set[int],
    warnings: list[str],
) -> Layer:
    op, data_index, weight_index = compute
    if node.op_type == "Einsum" and len(node.input) != 2:
        count = len(node.input)
        plural = "s" if count != 1 else ""
        raise _NotModelled(f"{count} operand{plural} (only a product of two fits the loop nest)")
    if len(node.input) <= max(data_index, weight_index) or not node.input[weight_index] or not node.output:
        raise _NodeProblem(f"{node.op_type} node lacks inputs or outputs")
    data, weight, output = node.input[data_index], node.input[weight_index], node.output[0]
    x_shape = _static_shape(data, infos)
    w_shape = _static_shape(weight, infos)
    attrs = _Attributes(node)
    geometry: _Geometry
    if op == "Conv":
        geometry = _conv_geometry(x_shape, w_shape, attrs, _known_shape(output, infos))
    elif op == "Gemm":
        geometry = _gemm_geometry(x_shape, w_shape, attrs)
    elif node.op_type == "Einsum":
        geometry = _einsum_geometry(attrs.get_str("equation", ""), x_shape, w_shape)
    else:
        geometry = _matmul_geometry(x_shape, w_shape)
    if op != "Conv":
        _check_product_output(output, _known_shape(output, infos), geometry, x_shape, w_shape)
    if geometry.input_copies > 1:
        warnings.append(
            f"{node.op_type} '{name}': its first operand is broadcast over {geometry.input_copies} of "
            f"the G = {geometry.dims['G']} slices, priced as if each slice read its own copy"
        )

    def bits(tensor: str, fallback: int) -> int:
        elem = _storage_type(tensor, infos, producers)
        if elem in _BITS:
            return _BITS[elem]
        unpriced_types.add(elem)
        return fallback

    w_bits = bits(weight, default.w_bits)
    i_bits = bits(data, default.i_bits)
    o_bits = bits(output, default.o_bits)
    precision = Precision(w_bits, i_bits, o_bits, max(default.psum_bits, o_bits))
    dims = dict.fromkeys(LOOP_DIMS, 1)
    dims.update(geometry.dims)
    return Layer(
        name=name,
        op=op,
        dims=dims,
        stride=geometry.stride,
        dilation=geometry.dilation,
        padding=geometry.padding,
        precision=precision,
    )


@dataclass(frozen=True, slots=True)
class _Geometry:
    dims: dict[str, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    input_copies: int = 1  # G slices that share one slice of the first operand (broadcast), priced apart


def _check_product_output(
    output: str, known: tuple[Dim, ...] | None, geometry: _Geometry, a: tuple[int, ...], b: tuple[int, ...]
) -> None:
    """A matrix product's output holds ``B * G * K`` elements, whatever its layout; a model that states
    a static output shape with another count contradicts its operands, and neither is guessed right."""
    sizes = [dim for dim in known or () if isinstance(dim, int) and dim > 0]
    if known is None or len(sizes) != len(known):
        return
    stated = math.prod(sizes)
    computed = geometry.dims.get("B", 1) * geometry.dims.get("G", 1) * geometry.dims.get("K", 1)
    if stated != computed:
        raise _NodeProblem(
            f"output '{output}' is {list(known)} in the model ({stated} elements), but operands of shapes "
            f"{list(a)} and {list(b)} give {computed}"
        )


def _static_shape(tensor: str, infos: dict[str, _TensorInfo]) -> tuple[int, ...]:
    info = infos.get(tensor)
    if info is None or info.shape is None:
        raise _NodeProblem(f"shape of '{tensor}' unknown (ONNX shape inference could not derive it)")
    sizes: list[int] = []
    for axis, dim in enumerate(info.shape):
        if isinstance(dim, int) and dim > 0:
            sizes.append(dim)
        elif isinstance(dim, str) and dim:
            raise _NodeProblem(
                f"dimension {axis} of '{tensor}' is dynamic ('{dim}'); only the batch dimension "
                "of a graph input may be dynamic"
            )
        else:
            raise _NodeProblem(f"dimension {axis} of '{tensor}' is unknown or not positive")
    return tuple(sizes)


def _known_shape(tensor: str, infos: dict[str, _TensorInfo]) -> tuple[Dim, ...] | None:
    info = infos.get(tensor)
    return None if info is None else info.shape


def _storage_type(tensor: str, infos: dict[str, _TensorInfo], producers: dict[str, onnx.NodeProto]) -> int:
    """Element type a tensor is stored in; a DequantizeLinear output counts as its quantized input."""
    producer = producers.get(tensor)
    if producer is not None and producer.op_type == "DequantizeLinear" and producer.input:
        tensor = producer.input[0]
    info = infos.get(tensor)
    return TensorProto.UNDEFINED if info is None else info.elem_type


class _Attributes:
    """Typed access to a node's attributes (a wrong type is a _NodeProblem)."""

    def __init__(self, node: onnx.NodeProto) -> None:
        self._by_name = {attribute.name: attribute for attribute in node.attribute}

    def _get(self, name: str, kind: int) -> onnx.AttributeProto | None:
        attribute = self._by_name.get(name)
        if attribute is not None and attribute.type != kind:
            expected = onnx.AttributeProto.AttributeType.Name(kind).lower()
            raise _NodeProblem(f"attribute {name} must be of type {expected}")
        return attribute

    def get_int(self, name: str, default: int) -> int:
        attribute = self._get(name, onnx.AttributeProto.INT)
        return default if attribute is None else int(attribute.i)

    def get_ints(self, name: str, length: int, default: int) -> list[int]:
        attribute = self._get(name, onnx.AttributeProto.INTS)
        if attribute is None:
            return [default] * length
        values = [int(v) for v in attribute.ints]
        if len(values) != length:
            raise _NodeProblem(f"attribute {name} has {len(values)} values, expected {length}")
        return values

    def get_str(self, name: str, default: str) -> str:
        attribute = self._get(name, onnx.AttributeProto.STRING)
        return default if attribute is None else attribute.s.decode("utf-8", "replace")

    def has(self, name: str) -> bool:
        return name in self._by_name


def _conv_geometry(
    x: tuple[int, ...],
    w: tuple[int, ...],
    attrs: _Attributes,
    inferred_out: tuple[Dim, ...] | None,
) -> _Geometry:
    if len(x) != len(w):
        raise _NodeProblem(f"input rank {len(x)} and weight rank {len(w)} differ")
    spatial = len(x) - 2
    if spatial not in (1, 2):
        raise _NotModelled(f"{spatial}-D convolution (only 1-D and 2-D fit the loop nest)")
    batch, in_channels = x[0], x[1]
    out_channels, group_channels, kernel = w[0], w[1], list(w[2:])
    group = attrs.get_int("group", 1)
    if group < 1:
        raise _NodeProblem(f"group must be a positive integer (got {group})")
    if in_channels != group_channels * group:
        raise _NodeProblem(
            f"input has {in_channels} channels but weight expects {group_channels} x group {group}"
        )
    if out_channels % group:
        raise _NodeProblem(f"{out_channels} output channels not divisible by group {group}")
    if attrs.has("kernel_shape") and attrs.get_ints("kernel_shape", spatial, 1) != kernel:
        raise _NodeProblem(
            f"kernel_shape {attrs.get_ints('kernel_shape', spatial, 1)} differs from the weight's {kernel}"
        )
    strides = attrs.get_ints("strides", spatial, 1)
    dilations = attrs.get_ints("dilations", spatial, 1)
    if min(strides + dilations) < 1:
        raise _NodeProblem("strides and dilations must be positive")
    auto_pad = attrs.get_str("auto_pad", "NOTSET")

    begins: list[int] = []
    ends: list[int] = []
    outs: list[int] = []
    explicit = attrs.get_ints("pads", 2 * spatial, 0)
    for axis in range(spatial):
        size, stride = x[2 + axis], strides[axis]
        reach = dilations[axis] * (kernel[axis] - 1) + 1  # input span of one output
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-size // stride)
            total = max((out - 1) * stride + reach - size, 0)
            small, large = total // 2, total - total // 2
            begin, end = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
        elif auto_pad == "VALID":
            begin = end = 0
        elif auto_pad == "NOTSET":
            begin, end = explicit[axis], explicit[spatial + axis]
        else:
            raise _NodeProblem(f"unknown auto_pad '{auto_pad}'")
        out = (size + begin + end - reach) // stride + 1
        if out < 1:
            raise _NodeProblem(
                f"spatial axis {axis}: kernel span {reach} exceeds padded input {size + begin + end}"
            )
        begins.append(begin)
        ends.append(end_padding_reached((out - 1) * stride + reach, begin, end, size))
        outs.append(out)
    if inferred_out is not None and len(inferred_out) == len(x):
        for axis in range(spatial):
            known = inferred_out[2 + axis]
            if isinstance(known, int) and known > 0 and known != outs[axis]:
                raise _NodeProblem(
                    f"spatial axis {axis}: output size {outs[axis]} computed from the attributes, "
                    f"{known} in the model"
                )

    dims = {"B": batch, "G": group, "K": out_channels // group, "C": group_channels}
    if spatial == 1:
        dims.update(OY=1, OX=outs[0], FY=1, FX=kernel[0])
        return _Geometry(dims, (1, strides[0]), (1, dilations[0]), (0, begins[0], 0, ends[0]))
    dims.update(OY=outs[0], OX=outs[1], FY=kernel[0], FX=kernel[1])
    return _Geometry(
        dims,
        (strides[0], strides[1]),
        (dilations[0], dilations[1]),
        (begins[0], begins[1], ends[0], ends[1]),
    )


def _gemm_geometry(a: tuple[int, ...], b: tuple[int, ...], attrs: _Attributes) -> _Geometry:
    if len(a) != 2 or len(b) != 2:
        raise _NodeProblem(f"Gemm operands must be 2-D (got ranks {len(a)} and {len(b)})")
    rows, reduction = (a[1], a[0]) if attrs.get_int("transA", 0) else (a[0], a[1])
    reduction_b, features = (b[1], b[0]) if attrs.get_int("transB", 0) else (b[0], b[1])
    if reduction != reduction_b:
        raise _NodeProblem(f"reduction sizes differ: A has {reduction}, B has {reduction_b}")
    return _Geometry({"B": rows, "C": reduction, "K": features})


def _matmul_geometry(a: tuple[int, ...], b: tuple[int, ...]) -> _Geometry:
    a_lead, rows, reduction = (tuple[int, ...](), 1, a[0]) if len(a) == 1 else (a[:-2], a[-2], a[-1])
    b_lead, reduction_b, features = (tuple[int, ...](), b[0], 1) if len(b) == 1 else (b[:-2], b[-2], b[-1])
    if reduction != reduction_b:
        raise _NodeProblem(f"reduction sizes differ: A has {reduction}, B has {reduction_b}")
    rank = max(len(a_lead), len(b_lead))
    a_lead = (1,) * (rank - len(a_lead)) + a_lead
    b_lead = (1,) * (rank - len(b_lead)) + b_lead
    shared, separate, copies = 1, 1, 1  # leading dims: second operand shared / differs / first shared
    for size_a, size_b in zip(a_lead, b_lead, strict=True):
        if size_a != size_b and 1 not in (size_a, size_b):
            raise _NodeProblem(f"batch dims {a_lead} and {b_lead} do not broadcast")
        if size_b == 1:
            shared *= size_a
        else:
            separate *= max(size_a, size_b)
            copies *= size_b if size_a == 1 else 1
    dims = {"B": shared * rows, "G": separate, "C": reduction, "K": features}
    return _Geometry(dims, input_copies=copies)


def _einsum_geometry(equation: str, a: tuple[int, ...], b: tuple[int, ...]) -> _Geometry:
    """A two-operand Einsum read as ``O[b,g,k] += W[g,k,c] * I[b,g,c]`` (see the module docstring)."""
    (labels_a, labels_b), labels_out = _einsum_labels(equation, (len(a), len(b)))
    for labels in (labels_a, labels_b):
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise _NotModelled(
                f"equation '{equation}' repeats index '{repeated[0]}' in one operand (a diagonal)"
            )
    size_a, size_b = dict(zip(labels_a, a, strict=True)), dict(zip(labels_b, b, strict=True))
    for label in size_a.keys() & size_b.keys():
        one, other = size_a[label], size_b[label]
        if one != other and (not label.startswith("...") or 1 not in (one, other)):
            raise _NodeProblem(f"equation '{equation}': index '{label}' is {one} in A and {other} in B")
    dims = {"B": 1, "G": 1, "C": 1, "K": 1}
    copies = 1
    for label in dict.fromkeys([*labels_a, *labels_b]):
        in_a, in_b, in_out = label in size_a, label in size_b, label in labels_out
        size = max(size_a.get(label, 1), size_b.get(label, 1))
        if in_a and in_b:
            if not in_out:
                dims["C"] *= size
            elif size_b[label] == 1:
                dims["B"] *= size
            else:
                dims["G"] *= size
                copies *= size if size_a[label] == 1 else 1
        elif not in_out:
            which = "first" if in_a else "second"
            raise _NotModelled(f"equation '{equation}' sums index '{label}' over the {which} operand alone")
        else:
            dims["B" if in_a else "K"] *= size
    return _Geometry(dims, input_copies=copies)


def _einsum_labels(equation: str, ranks: tuple[int, int]) -> tuple[tuple[list[str], list[str]], list[str]]:
    """The index labels of both operands and the output; ``...`` becomes ``...0``, ``...1`` ... aligned
    to the right as numpy broadcasts; without ``->`` the output is numpy's implicit one."""
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if not text or len(terms) != 2:
        raise _NodeProblem(
            f"equation '{equation}' does not have two operand terms, as the node has two inputs"
        )
    parsed = [_einsum_term(term, equation) for term in terms]
    widths = []
    for (letters, has_ellipsis), rank, term in zip(parsed, ranks, terms, strict=True):
        width = rank - (len(letters) - has_ellipsis)  # the dims "..." stands for
        if width < 0 or (width and not has_ellipsis):
            raise _NodeProblem(
                f"equation '{equation}': term '{term}' does not match an operand of rank {rank}"
            )
        widths.append(width if has_ellipsis else 0)
    span = max(widths)

    def expand(letters: list[str], has_ellipsis: bool, width: int) -> list[str]:
        if not has_ellipsis:
            return letters
        at = letters.index("...")
        return letters[:at] + [f"...{span - width + i}" for i in range(width)] + letters[at + 1 :]

    operands = [
        expand(letters, has_ellipsis, width)
        for (letters, has_ellipsis), width in zip(parsed, widths, strict=True)
    ]
    if arrow:
        out_letters, out_ellipsis = _einsum_term(rhs, equation)
        output = expand(out_letters, out_ellipsis, span)
        unknown = [label for label in output if label not in operands[0] and label not in operands[1]]
        if unknown or len(set(output)) != len(output):
            raise _NodeProblem(
                f"equation '{equation}': the output must name distinct indices of the operands"
            )
    else:
        counts = [*operands[0], *operands[1]]
        output = [f"...{i}" for i in range(span)]
        once = {label for label in counts if counts.count(label) == 1 and not label.startswith("...")}
        output += sorted(once)
    return (operands[0], operands[1]), output


def _einsum_term(term: str, equation: str) -> tuple[list[str], bool]:
    """One term's letters, with ``"..."`` standing for its ellipsis; whether it has one."""
    rest = term.replace("...", "", 1)
    if "." in rest or not all(char.isascii() and char.isalpha() for char in rest):
        raise _NodeProblem(f"equation '{equation}': term '{term}' must be letters and at most one '...'")
    head, ellipsis, tail = term.partition("...")
    return [*head, *([ellipsis] if ellipsis else []), *tail], bool(ellipsis)


# --- graph walk and warnings ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Upstream:
    """What a tensor's value comes from, walking back to the nearest compute layers."""

    layers: frozenset[int] = frozenset()  # node indices of those compute layers
    graph_inputs: frozenset[str] = frozenset()  # graph inputs (not initializers) reached without one


def _upstream(
    nodes: Sequence[onnx.NodeProto], compute: set[int], graph_inputs: Iterable[str]
) -> dict[str, _Upstream]:
    """For each tensor, the nearest compute nodes and the graph inputs whose values flow into it."""
    upstream = {name: _Upstream(graph_inputs=frozenset({name})) for name in graph_inputs}
    for index, node in enumerate(nodes):  # topological order (checked on load)
        if index in compute:
            reached = _Upstream(layers=frozenset({index}))
        elif node.op_type in _METADATA_OPS:
            reached = _Upstream()
        else:
            feeding = [upstream[name] for name in node.input if name in upstream]
            reached = _Upstream(
                frozenset().union(*(f.layers for f in feeding)),
                frozenset().union(*(f.graph_inputs for f in feeding)),
            )
        for out in node.output:
            if out:
                upstream[out] = reached
    return upstream


def _operand_tensor(node: onnx.NodeProto, operand: Operand) -> str:
    _, data_index, weight_index = _COMPUTE_OPS[node.op_type]
    return str(node.input[data_index if operand is Operand.I else weight_index])


def _precision_warnings(unpriced_types: Iterable[int], default: Precision) -> list[str]:
    labels: dict[int, str] = {
        TensorProto.FLOAT: "float32",
        TensorProto.DOUBLE: "float64",
        TensorProto.UNDEFINED: "untyped",
    }
    if default.w_bits == default.i_bits == default.o_bits:
        priced = f"{default.w_bits}-bit (default precision)"
    else:
        priced = f"the default precision (W {default.w_bits} / I {default.i_bits} / O {default.o_bits} bits)"
    warnings: list[str] = []
    for elem in sorted(set(unpriced_types)):
        label = labels.get(elem) or _type_name(elem)
        warnings.append(f"{label} tensors priced at {priced}")
    return warnings


def _type_name(elem: int) -> str:
    try:
        return str(TensorProto.DataType.Name(elem)).lower()
    except ValueError:
        return f"element-type-{elem}"
