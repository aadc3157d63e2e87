"""ONNX import: the bundled ResNet-18, small hand-built graphs, and files that are not ONNX."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from imcmap.models.workload import Layer, Precision, Workload
from imcmap.specs.errors import SpecError
from imcmap.specs.onnx_import import load_onnx

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "specs" / "library" / "workloads" / "resnet18.onnx"
BUILDER = REPO / "specs" / "library" / "build_resnet18.py"
# ResNet-18 as zigzag-dse 3.9.1 ships it (shapes only; its external weight file is absent)
ZIGZAG_RESNET18 = Path(__file__).parent.parent / "data" / "zigzag" / "resnet18.onnx"

FLOAT32_WARNING = "float32 tensors priced at 8-bit (default precision)"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_resnet18", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer(workload: Workload, name: str) -> Layer:
    return next(layer for layer in workload.layers if layer.name == name)


def _dims(layer: Layer) -> dict[str, int]:
    """The loop dimensions larger than 1."""
    return {dim: size for dim, size in layer.dims.items() if size != 1}


def _unmodelled(workload: Workload) -> dict[str, int]:
    return {op.op_type: op.count for op in workload.unmodelled_ops}


def _value(name: str, elem: int, shape: Sequence[int | str | None]) -> onnx.ValueInfoProto:
    """A typed tensor; a None dim is unknown, a string dim symbolic."""
    return helper.make_tensor_value_info(name, elem, list(shape))


def _save(
    tmp_path: Path,
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    initializers: Sequence[onnx.TensorProto] = (),
    name: str = "model.onnx",
) -> Path:
    graph = helper.make_graph(list(nodes), "test", list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / name
    onnx.save(model, path)
    return path


# --- the bundled ResNet-18 ----------------------------------------------------------------------

RESNET18_CONVS = [
    # name, K, C, OY=OX, FY=FX, stride, pad
    ("/conv1/Conv", 64, 3, 112, 7, 2, 3),
    ("/layer1/layer1.0/conv1/Conv", 64, 64, 56, 3, 1, 1),
    ("/layer1/layer1.0/conv2/Conv", 64, 64, 56, 3, 1, 1),
    ("/layer1/layer1.1/conv1/Conv", 64, 64, 56, 3, 1, 1),
    ("/layer1/layer1.1/conv2/Conv", 64, 64, 56, 3, 1, 1),
    ("/layer2/layer2.0/conv1/Conv", 128, 64, 28, 3, 2, 1),
    ("/layer2/layer2.0/conv2/Conv", 128, 128, 28, 3, 1, 1),
    ("/layer2/layer2.0/downsample/downsample.0/Conv", 128, 64, 28, 1, 2, 0),
    ("/layer2/layer2.1/conv1/Conv", 128, 128, 28, 3, 1, 1),
    ("/layer2/layer2.1/conv2/Conv", 128, 128, 28, 3, 1, 1),
    ("/layer3/layer3.0/conv1/Conv", 256, 128, 14, 3, 2, 1),
    ("/layer3/layer3.0/conv2/Conv", 256, 256, 14, 3, 1, 1),
    ("/layer3/layer3.0/downsample/downsample.0/Conv", 256, 128, 14, 1, 2, 0),
    ("/layer3/layer3.1/conv1/Conv", 256, 256, 14, 3, 1, 1),
    ("/layer3/layer3.1/conv2/Conv", 256, 256, 14, 3, 1, 1),
    ("/layer4/layer4.0/conv1/Conv", 512, 256, 7, 3, 2, 1),
    ("/layer4/layer4.0/conv2/Conv", 512, 512, 7, 3, 1, 1),
    ("/layer4/layer4.0/downsample/downsample.0/Conv", 512, 256, 7, 1, 2, 0),
    ("/layer4/layer4.1/conv1/Conv", 512, 512, 7, 3, 1, 1),
    ("/layer4/layer4.1/conv2/Conv", 512, 512, 7, 3, 1, 1),
]


def test_resnet18_has_21_compute_layers_in_graph_order() -> None:
    """20 Conv (3 of them 1x1 downsamples) and the fc Gemm, named as in the ONNX graph."""
    workload = load_onnx(BUNDLED)
    assert workload.name == "resnet18"
    assert [layer.name for layer in workload.layers] == [row[0] for row in RESNET18_CONVS] + ["/fc/Gemm"]
    assert [layer.op for layer in workload.layers] == ["Conv"] * 20 + ["Gemm"]


@pytest.mark.parametrize("name, k, c, out, kernel, stride, pad", RESNET18_CONVS)
def test_resnet18_conv_dimensions(
    name: str, k: int, c: int, out: int, kernel: int, stride: int, pad: int
) -> None:
    """Each convolution has the torchvision ResNet-18 K, C, output size, kernel, stride, padding. The end
    padding kept is the part the last window reaches: the input is out x stride wide, the windows span
    (out - 1) x stride + kernel positions from the top padding, so the end padding reached is that span
    less the top padding less the input (conv1: 111 x 2 + 7 - 3 - 224 = 2 of its 3; a 3x3 stride-2
    layer: 0 of its 1), and the unpadded input the layer reads is the whole input."""
    layer = _layer(load_onnx(BUNDLED), name)
    assert layer.dims == {"B": 1, "G": 1, "K": k, "C": c, "OY": out, "OX": out, "FY": kernel, "FX": kernel}
    assert layer.stride == (stride, stride)
    assert layer.dilation == (1, 1)
    end = min(pad, max(0, (out - 1) * stride + kernel - pad - out * stride))
    assert layer.padding == (pad, pad, end, end)
    if kernel > 1:  # a 1x1 stride-2 window never reads the last input row
        assert layer.input_size("Y") == layer.input_size("X") == out * stride


def test_resnet18_explicit_spot_checks() -> None:
    """conv1 is 7x7/2 from 3 to 64 channels at 112x112; a downsample is 1x1/2; fc is 512 -> 1000."""
    workload = load_onnx(BUNDLED)
    conv1 = _layer(workload, "/conv1/Conv")
    assert _dims(conv1) == {"K": 64, "C": 3, "OY": 112, "OX": 112, "FY": 7, "FX": 7}
    assert conv1.stride == (2, 2) and conv1.padding == (3, 3, 2, 2)  # 111 x 2 + 7 - 3 - 224: 2 of 3 reached
    down = _layer(workload, "/layer3/layer3.0/downsample/downsample.0/Conv")
    assert _dims(down) == {"K": 256, "C": 128, "OY": 14, "OX": 14} and down.stride == (2, 2)
    fc = _layer(workload, "/fc/Gemm")
    assert fc.dims == {"B": 1, "G": 1, "K": 1000, "C": 512, "OY": 1, "OX": 1, "FY": 1, "FX": 1}


def test_resnet18_total_macs() -> None:
    """1,814,073,344 MACs: the well-known 1.8 GMAC of ResNet-18 (convolutions + 512,000 for fc)."""
    workload = load_onnx(BUNDLED)
    conv_macs = sum(k * c * out * out * kernel * kernel for _, k, c, out, kernel, _, _ in RESNET18_CONVS)
    assert sum(layer.macs for layer in workload.layers) == conv_macs + 512 * 1000 == 1_814_073_344


def test_resnet18_unmodelled_ops_counted() -> None:
    """Relu 17, Add 8, MaxPool, GlobalAveragePool and Flatten once each, sorted by op type."""
    workload = load_onnx(BUNDLED)
    assert [(op.op_type, op.count) for op in workload.unmodelled_ops] == [
        ("Add", 8),
        ("Flatten", 1),
        ("GlobalAveragePool", 1),
        ("MaxPool", 1),
        ("Relu", 17),
    ]
    by_type = {op.op_type: op for op in workload.unmodelled_ops}
    assert by_type["MaxPool"].node_names == ("/maxpool/MaxPool",)
    assert by_type["Add"].node_names[0] == "/layer1/layer1.0/Add"
    assert all(op.count == len(op.node_names) for op in workload.unmodelled_ops)


def test_resnet18_float32_priced_at_default_precision() -> None:
    """float32 tensors get W/I/O 8 and partial sums 16, with a single warning saying so."""
    workload = load_onnx(BUNDLED)
    assert {layer.precision for layer in workload.layers} == {Precision(8, 8, 8, 16)}
    assert workload.warnings == (FLOAT32_WARNING,)


def test_default_precision_override() -> None:
    """default_precision replaces the 8/8/8/16 default for float32 tensors."""
    workload = load_onnx(BUNDLED, default_precision=Precision(4, 6, 8, 24))
    assert {layer.precision for layer in workload.layers} == {Precision(4, 6, 8, 24)}
    assert workload.warnings == ("float32 tensors priced at the default precision (W 4 / I 6 / O 8 bits)",)


def test_resnet18_sources_walk_through_relu_maxpool_add() -> None:
    """Sources skip non-compute ops; an Add after a residual block contributes both branches."""
    workload = load_onnx(BUNDLED)
    sources = {layer.name: layer.sources for layer in workload.layers}
    assert sources["/conv1/Conv"] == ()
    assert sources["/layer1/layer1.0/conv1/Conv"] == ("/conv1/Conv",)  # Relu, MaxPool between
    assert sources["/layer1/layer1.1/conv1/Conv"] == ("/conv1/Conv", "/layer1/layer1.0/conv2/Conv")
    assert sources["/layer2/layer2.1/conv1/Conv"] == (
        "/layer2/layer2.0/conv2/Conv",
        "/layer2/layer2.0/downsample/downsample.0/Conv",
    )
    assert sources["/fc/Gemm"] == (  # GlobalAveragePool, Flatten, Add between
        "/layer4/layer4.0/conv2/Conv",
        "/layer4/layer4.0/downsample/downsample.0/Conv",
        "/layer4/layer4.1/conv2/Conv",
    )


def test_bundled_file_is_the_builder_output() -> None:
    """specs/library/workloads/resnet18.onnx equals build_resnet18() byte for byte (regenerate if not)."""
    model = _builder().build_resnet18()
    assert BUNDLED.read_bytes() == model.SerializeToString()


def test_builder_output_passes_the_onnx_checker() -> None:
    """The shapes-only model (weights as graph inputs, no data) is a valid ONNX model."""
    onnx.checker.check_model(_builder().build_resnet18(), full_check=True)


def test_shared_zigzag_resnet18_imports_identically() -> None:
    """ZigZag's resnet18.onnx, whose external weight file is absent, gives the same workload."""
    shared, bundled = load_onnx(ZIGZAG_RESNET18), load_onnx(BUNDLED)
    assert shared.layers == bundled.layers
    assert shared.unmodelled_ops == bundled.unmodelled_ops
    assert shared.warnings == bundled.warnings


# --- hand-built graphs ----------------------------------------------------------------------------

F = TensorProto.FLOAT


def test_depthwise_grouped_mobilenet_block(tmp_path: Path) -> None:
    """Depthwise (group=C) -> G=C, C=K=1; grouped -> G=g, C=in/g, K=out/g; pointwise plain; Add joins."""
    nodes = [
        helper.make_node(
            "Conv", ["x", "w_dw"], ["dw"], name="dw", group=32, pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Clip", ["dw", "lo", "hi"], ["dw6"], name="relu6"),
        helper.make_node("Conv", ["dw6", "w_pw"], ["pw"], name="pw"),
        helper.make_node("Conv", ["dw6", "w_gr"], ["gr"], name="grouped", group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["pw", "gr"], ["sum"], name="add"),
        helper.make_node("Conv", ["sum", "w_out"], ["y"], name="project"),
    ]
    inputs = [
        _value("x", F, [1, 32, 56, 56]),
        _value("w_dw", F, [32, 1, 3, 3]),
        _value("w_pw", F, [64, 32, 1, 1]),
        _value("w_gr", F, [64, 8, 3, 3]),
        _value("w_out", F, [16, 64, 1, 1]),
    ]
    inits = [helper.make_tensor("lo", F, [], [0.0]), helper.make_tensor("hi", F, [], [6.0])]
    workload = load_onnx(_save(tmp_path, nodes, inputs, [_value("y", F, [1, 16, 28, 28])], inits))
    dw, pw, grouped, project = workload.layers
    assert _dims(dw) == {"G": 32, "OY": 28, "OX": 28, "FY": 3, "FX": 3} and dw.op == "Conv"
    # pads 1/1 on 56, stride 2: 28 windows span 27 x 2 + 3 = 57 positions, 1 + 56 data; the end pad is never read
    assert dw.stride == (2, 2) and dw.padding == (1, 1, 0, 0) and dw.input_size("Y") == 56
    assert _dims(pw) == {"K": 64, "C": 32, "OY": 28, "OX": 28}
    assert _dims(grouped) == {"G": 4, "K": 16, "C": 8, "OY": 28, "OX": 28, "FY": 3, "FX": 3}
    assert pw.sources == ("dw",) and grouped.sources == ("dw",)
    assert project.sources == ("pw", "grouped")
    assert _unmodelled(workload) == {"Add": 1, "Clip": 1}


def test_dilation_and_asymmetric_pads(tmp_path: Path) -> None:
    """Dilation 2 spans 5 inputs: OY = 20+1+3-5+1 = 20, OX = 30+2+4-5+1 = 32; pads -> (t, l, b, r)."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", dilations=[2, 2], pads=[1, 2, 3, 4])
    inputs = [_value("x", F, [1, 8, 20, 30]), _value("w", F, [4, 8, 3, 3])]
    layer = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [1, 4, 20, 32])])).layers[0]
    assert _dims(layer) == {"K": 4, "C": 8, "OY": 20, "OX": 32, "FY": 3, "FX": 3}
    assert layer.dilation == (2, 2) and layer.padding == (1, 2, 3, 4)


@pytest.mark.parametrize(
    "auto_pad, out, padding",
    [
        ("SAME_UPPER", 5, (0, 0, 1, 1)),  # ceil(10/2) = 5 outputs need 4*2+3 = 11 inputs: 1 pad, at the end
        ("SAME_LOWER", 5, (1, 1, 0, 0)),  # ... at the beginning
        ("VALID", 4, (0, 0, 0, 0)),  # (10-3)//2 + 1
    ],
)
def test_auto_pad(tmp_path: Path, auto_pad: str, out: int, padding: tuple[int, int, int, int]) -> None:
    """auto_pad gives the output size and the (top, left, bottom, right) padding ONNX defines."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", auto_pad=auto_pad, strides=[2, 2])
    inputs = [_value("x", F, [1, 2, 10, 10]), _value("w", F, [2, 2, 3, 3])]
    layer = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [1, 2, out, out])])).layers[0]
    assert (layer.size("OY"), layer.size("OX")) == (out, out)
    assert layer.padding == padding


def test_conv1d_puts_its_axis_on_x(tmp_path: Path) -> None:
    """A 1-D convolution has OY = FY = 1: 100 samples, kernel 5, stride 2 -> OX = 48."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c1d", strides=[2])
    inputs = [_value("x", F, [1, 4, 100]), _value("w", F, [8, 4, 5])]
    layer = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [1, 8, 48])])).layers[0]
    assert _dims(layer) == {"K": 8, "C": 4, "OX": 48, "FX": 5}
    assert layer.stride == (1, 2)


def test_conv3d_is_listed_not_modelled(tmp_path: Path) -> None:
    """A 3-D convolution does not fit the loop nest: unmodelled, with a warning, never dropped."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c3d")
    inputs = [_value("x", F, [1, 2, 4, 4, 4]), _value("w", F, [2, 2, 1, 1, 1])]
    workload = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [1, 2, 4, 4, 4])]))
    assert workload.layers == ()
    assert _unmodelled(workload) == {"Conv": 1}
    assert (
        "Conv 'c3d' not modelled: 3-D convolution (only 1-D and 2-D fit the loop nest)" in workload.warnings
    )


@pytest.mark.parametrize(
    "trans_a, trans_b, a_shape, w_shape",
    [(0, 1, [16, 256], [128, 256]), (1, 0, [256, 16], [256, 128]), (0, 0, [16, 256], [256, 128])],
)
def test_gemm_transposes(
    tmp_path: Path, trans_a: int, trans_b: int, a_shape: list[int], w_shape: list[int]
) -> None:
    """Gemm: B = rows of A, C = reduction, K = output features, whatever transA/transB say."""
    node = helper.make_node("Gemm", ["a", "w"], ["y"], name="fc", transA=trans_a, transB=trans_b)
    inputs = [_value("a", F, a_shape), _value("w", F, w_shape)]
    layer = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [16, 128])])).layers[0]
    assert (layer.op, _dims(layer)) == ("Gemm", {"B": 16, "C": 256, "K": 128})


def test_batched_matmul_shared_weight_folds_batch_into_b(tmp_path: Path) -> None:
    """[2, 3, 10, 64] x [64, 32]: the 2-D weight is shared, so B = 2*3*10 = 60, C = 64, K = 32."""
    node = helper.make_node("MatMul", ["a", "w"], ["y"], name="proj")
    inputs = [_value("a", F, [2, 3, 10, 64]), _value("w", F, [64, 32])]
    layer = load_onnx(_save(tmp_path, [node], inputs, [_value("y", F, [2, 3, 10, 32])])).layers[0]
    assert (layer.op, _dims(layer)) == ("MatMul", {"B": 60, "C": 64, "K": 32})


def test_batched_matmul_of_two_activations_uses_g(tmp_path: Path) -> None:
    """Q x K^T, [2, 4, 10, 16] x [2, 4, 16, 10]: each of 2*4 slices has its own right operand -> G = 8."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["x", "wk"], ["k"], name="k_proj"),
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="scores"),
    ]
    inputs = [_value("x", F, [2, 4, 10, 32]), _value("wq", F, [32, 16]), _value("wk", F, [32, 16])]
    workload = load_onnx(_save(tmp_path, nodes, inputs, [_value("scores", F, [2, 4, 10, 10])]))
    scores = _layer(workload, "scores")
    assert _dims(scores) == {"B": 10, "G": 8, "C": 16, "K": 10}
    assert scores.sources == ("q_proj", "k_proj")  # I's producer and W's (K^T is computed, not stored)
    assert _dims(_layer(workload, "q_proj")) == {"B": 80, "C": 32, "K": 16}


@pytest.mark.parametrize("batch, label", [("N", "'N'"), (None, "(unnamed)")])
def test_dynamic_batch_becomes_one_with_a_warning(tmp_path: Path, batch: str | None, label: str) -> None:
    """A symbolic or missing batch dim is set to 1 (also in the declared output) and reported."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w_fc"], ["y"], name="fc", transB=1),
    ]
    inputs = [_value("x", F, [batch, 3, 8, 8]), _value("w", F, [4, 3, 3, 3]), _value("w_fc", F, [10, 256])]
    workload = load_onnx(_save(tmp_path, nodes, inputs, [_value("y", F, [batch, 10])]))
    assert [layer.size("B") for layer in workload.layers] == [1, 1]
    assert _dims(workload.layers[0]) == {"K": 4, "C": 3, "OY": 8, "OX": 8, "FY": 3, "FX": 3}
    assert _dims(workload.layers[1]) == {"K": 10, "C": 256}
    assert workload.warnings == (f"input 'x': dynamic batch dimension {label} set to 1", FLOAT32_WARNING)


def test_other_dynamic_dims_are_an_error(tmp_path: Path) -> None:
    """A symbolic spatial size cannot be priced: one issue naming the node and the tensor."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    inputs = [_value("x", F, [1, 3, "H", 32]), _value("w", F, [4, 3, 3, 3])]
    path = _save(tmp_path, [node], inputs, [_value("y", F, [1, 4, None, 30])])
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    (issue,) = caught.value.issues
    assert issue.key_path == "onnx.node[conv]"
    assert issue.message.startswith("dimension 2 of 'x' is dynamic ('H')")


def test_int8_quantized_ops(tmp_path: Path) -> None:
    """QLinearConv/QLinearMatMul with int8/uint8 tensors -> 8-bit; ConvInteger's int32 output -> 32-bit."""
    u8, i8, i32 = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32
    scale = helper.make_tensor("s", F, [], [0.1])
    zp_u8, zp_i8 = helper.make_tensor("zu", u8, [], [128]), helper.make_tensor("zi", i8, [], [0])
    nodes = [
        helper.make_node("QLinearConv", ["x", "s", "zu", "w", "s", "zi", "s", "zu"], ["c"], name="qconv"),
        helper.make_node("ConvInteger", ["c", "w2", "zu", "zi"], ["acc"], name="iconv"),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
        helper.make_node("QLinearMatMul", ["f", "s", "zu", "wm", "s", "zi", "s", "zu"], ["y"], name="qmm"),
    ]
    inputs = [
        _value("x", u8, [1, 4, 6, 6]),
        _value("w", i8, [8, 4, 3, 3]),
        _value("w2", i8, [2, 8, 1, 1]),
        _value("wm", i8, [128, 10]),
    ]
    workload = load_onnx(
        _save(
            tmp_path,
            nodes,
            inputs,
            [_value("y", u8, [1, 10]), _value("acc", i32, [1, 2, 4, 4])],
            [scale, zp_u8, zp_i8],
        )
    )
    qconv, iconv, qmm = workload.layers
    assert (qconv.op, _dims(qconv)) == ("Conv", {"K": 8, "C": 4, "OY": 4, "OX": 4, "FY": 3, "FX": 3})
    assert qconv.precision == Precision(8, 8, 8, 16)
    assert iconv.precision == Precision(8, 8, 32, 32) and iconv.sources == ("qconv",)
    assert (qmm.op, _dims(qmm), qmm.precision) == ("MatMul", {"C": 128, "K": 10}, Precision(8, 8, 8, 16))
    assert workload.warnings == ()


def test_dequantized_weights_count_as_int8(tmp_path: Path) -> None:
    """QDQ form: a weight coming out of DequantizeLinear is priced at its int8 storage type."""
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "s"], ["w"], name="dq"),
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv"),
    ]
    inputs = [_value("x", F, [1, 4, 6, 6]), _value("wq", TensorProto.INT8, [8, 4, 3, 3])]
    scale = helper.make_tensor("s", F, [], [0.1])
    workload = load_onnx(_save(tmp_path, nodes, inputs, [_value("y", F, [1, 8, 4, 4])], [scale]))
    assert workload.layers[0].precision == Precision(8, 8, 8, 16)
    assert _unmodelled(workload) == {"DequantizeLinear": 1}


def test_float16_is_16_bit(tmp_path: Path) -> None:
    """float16 tensors are priced at 16 bits, with no default-precision warning."""
    f16 = TensorProto.FLOAT16
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    inputs = [_value("x", f16, [1, 4, 6, 6]), _value("w", f16, [8, 4, 3, 3])]
    workload = load_onnx(_save(tmp_path, [node], inputs, [_value("y", f16, [1, 8, 4, 4])]))
    assert workload.layers[0].precision == Precision(16, 16, 16, 16)
    assert workload.warnings == ()


def test_shape_subgraph_is_listed_but_not_a_source(tmp_path: Path) -> None:
    """Constant/Shape/Gather/Concat/Reshape are listed; the Shape branch adds no false source."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Conv", ["x", "w"], ["other"], name="other"),
        helper.make_node("Shape", ["other"], ["shape"], name="shape"),
        helper.make_node(
            "Constant", [], ["zero"], name="zero", value=helper.make_tensor("z", TensorProto.INT64, [1], [0])
        ),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="batch", axis=0),
        helper.make_node(
            "Constant", [], ["minus1"], name="", value=helper.make_tensor("m", TensorProto.INT64, [1], [-1])
        ),
        helper.make_node("Concat", ["batch", "minus1"], ["target"], name="target", axis=0),
        helper.make_node("Reshape", ["c", "target"], ["r"], name="reshape"),
        helper.make_node("Identity", ["r"], ["r2"], name="id"),
        helper.make_node("Gemm", ["r2", "w_fc"], ["y"], name="fc", transB=1),
    ]
    inputs = [_value("x", F, [1, 3, 4, 4]), _value("w", F, [2, 3, 1, 1]), _value("w_fc", F, [5, 32])]
    workload = load_onnx(
        _save(tmp_path, nodes, inputs, [_value("y", F, [1, 5]), _value("other", F, [1, 2, 4, 4])])
    )
    assert _dims(_layer(workload, "fc")) == {"C": 32, "K": 5}  # Reshape's shape came from data propagation
    assert _layer(workload, "fc").sources == ("conv",)
    assert _unmodelled(workload) == {
        "Concat": 1,
        "Constant": 2,
        "Gather": 1,
        "Identity": 1,
        "Reshape": 1,
        "Shape": 1,
    }
    constants = next(op for op in workload.unmodelled_ops if op.op_type == "Constant")
    assert constants.node_names == ("zero", "Constant_5")  # an unnamed node is named <op>_<index>


def test_unnamed_nodes_get_unique_synthesized_names(tmp_path: Path) -> None:
    """Empty node names become <op_type>_<index>, never colliding with a real name."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"], name="Conv_0"),
        helper.make_node("Conv", ["b", "w2"], ["y"]),
    ]
    inputs = [_value("x", F, [1, 3, 4, 4]), _value("w", F, [3, 3, 1, 1]), _value("w2", F, [2, 3, 1, 1])]
    workload = load_onnx(_save(tmp_path, nodes, inputs, [_value("y", F, [1, 2, 4, 4])]))
    assert [layer.name for layer in workload.layers] == ["Conv_0_1", "Conv_2"]
    assert workload.layers[1].sources == ("Conv_0_1",)
    assert workload.unmodelled_ops[0].node_names == ("Conv_0",)


def test_graph_without_compute_layers_is_fine(tmp_path: Path) -> None:
    """No Conv/Gemm/MatMul: an empty layer list, every op still reported."""
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    workload = load_onnx(_save(tmp_path, [node], [_value("x", F, [1, 4])], [_value("y", F, [1, 4])]))
    assert workload.layers == () and _unmodelled(workload) == {"Relu": 1}


# --- files that are not ONNX models ---------------------------------------------------------------


def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "absent.onnx"
    if kind == "directory":
        return tmp_path
    path = tmp_path / "x.onnx"
    if kind == "yaml text":
        path.write_text("name: resnet\nlayers:\n  - {name: conv1, K: 64}\n")
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind", ["missing", "directory", "yaml text", "random bytes", "empty"])
def test_bad_files_raise_one_spec_issue(tmp_path: Path, kind: str) -> None:
    """Missing, non-file, text, random or empty input: a SpecError with one issue naming the file."""
    path = _bad_file(tmp_path, kind)
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.col, issue.key_path) == (str(path), 0, 0, "onnx")
    assert path.name in str(caught.value)


def test_yaml_file_gets_a_hint(tmp_path: Path) -> None:
    """A YAML workload passed to the ONNX importer is refused with a hint towards the YAML loader."""
    path = tmp_path / "net.yaml"
    path.write_text("layers: []\n")
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    assert "YAML workloads" in caught.value.issues[0].hint
