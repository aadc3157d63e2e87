"""The bundled MLPerf Tiny workloads: layer shapes as the reference models define them, MAC totals, files.

Expected shapes are written out from the Keras reference definitions in mlcommons/tiny v1.0
(``benchmark/training/*``, listed in ``specs/library/build_mlperf_tiny.py``), not from the import.
imcmap's importer reads zigzag-imc's TFLite-converted ONNX files of the same four networks
(``zigzag/inputs/examples/workload/mlperf_tiny/``) to the same layer dims, strides and pads.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import onnx
import pytest

from imcmap.models.workload import Layer, Precision, Workload
from imcmap.specs import load_workload, resolve

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "specs" / "library" / "build_mlperf_tiny.py"
NAMES = ("ae", "ds_cnn", "mobilenet_v1", "resnet8")


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_mlperf_tiny", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(name: str) -> Workload:
    return load_workload(resolve("workload", name))


def _dims(layer: Layer) -> dict[str, int]:
    """The loop dimensions larger than 1."""
    return {dim: size for dim, size in layer.dims.items() if size != 1}


def _conv(k: int, c: int, out: tuple[int, int], kernel: tuple[int, int]) -> dict[str, int]:
    dims = {"K": k, "C": c, "OY": out[0], "OX": out[1], "FY": kernel[0], "FX": kernel[1]}
    return {dim: size for dim, size in dims.items() if size != 1}


def _depthwise(g: int, out: tuple[int, int]) -> dict[str, int]:
    """A 3x3 depthwise convolution: G = channels, one input and one output channel per group."""
    return {"G": g, "OY": out[0], "OX": out[1], "FY": 3, "FX": 3}


def _dense(c: int, k: int) -> dict[str, int]:
    return {"C": c, "K": k}


def _macs(dims: dict[str, int]) -> int:
    product = 1
    for size in dims.values():
        product *= size
    return product


# --- the layers, from the reference definitions ------------------------------------------------

# anomaly_detection/keras_model.py get_model(640): Dense 128 x4, 8, 128 x4, 640.
AE_WIDTHS = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
AE_LAYERS = [(f"dense{i}", _dense(c, k)) for i, (c, k) in enumerate(itertools.pairwise(AE_WIDTHS), start=1)]

# keyword_spotting/keras_model.py ds_cnn: 49 x 10 x 1 input, Conv 64 (10x4, stride 2, 'same') -> 25 x 5,
# four depthwise-separable blocks of 64 channels, Dense 12.
DS_CNN_LAYERS = [("conv1", _conv(64, 1, (25, 5), (10, 4)))]
for _block in range(1, 5):
    DS_CNN_LAYERS += [
        (f"ds{_block}/depthwise", _depthwise(64, (25, 5))),
        (f"ds{_block}/pointwise", _conv(64, 64, (25, 5), (1, 1))),
    ]
DS_CNN_LAYERS.append(("dense", _dense(64, 12)))

# visual_wake_words/vww_model.py: Conv 8 (3x3, stride 2) on 96 x 96 x 3, then 13 blocks
# (depthwise input channels -> pointwise filters, output size), Dense 2.
MOBILENET_BLOCKS = [
    (8, 16, 48), (16, 32, 24), (32, 32, 24), (32, 64, 12), (64, 64, 12), (64, 128, 6),
    (128, 128, 6), (128, 128, 6), (128, 128, 6), (128, 128, 6), (128, 128, 6),
    (128, 256, 3), (256, 256, 3),
]  # fmt: skip
MOBILENET_LAYERS = [("conv1", _conv(8, 3, (48, 48), (3, 3)))]
for _block, (_c, _k, _out) in enumerate(MOBILENET_BLOCKS, start=1):
    MOBILENET_LAYERS += [
        (f"ds{_block}/depthwise", _depthwise(_c, (_out, _out))),
        (f"ds{_block}/pointwise", _conv(_k, _c, (_out, _out), (1, 1))),
    ]
MOBILENET_LAYERS.append(("dense", _dense(256, 2)))

# image_classification/keras_model.py resnet_v1_eembc() with 16 filters, 32 x 32 x 3 input.
RESNET8_LAYERS = [
    ("conv1", _conv(16, 3, (32, 32), (3, 3))),
    ("stack1/conv1", _conv(16, 16, (32, 32), (3, 3))),
    ("stack1/conv2", _conv(16, 16, (32, 32), (3, 3))),
    ("stack2/conv1", _conv(32, 16, (16, 16), (3, 3))),
    ("stack2/conv2", _conv(32, 32, (16, 16), (3, 3))),
    ("stack2/shortcut", _conv(32, 16, (16, 16), (1, 1))),
    ("stack3/conv1", _conv(64, 32, (8, 8), (3, 3))),
    ("stack3/conv2", _conv(64, 64, (8, 8), (3, 3))),
    ("stack3/shortcut", _conv(64, 32, (8, 8), (1, 1))),
    ("dense", _dense(64, 10)),
]

EXPECTED_LAYERS = {
    "ae": AE_LAYERS,
    "ds_cnn": DS_CNN_LAYERS,
    "mobilenet_v1": MOBILENET_LAYERS,
    "resnet8": RESNET8_LAYERS,
}


@pytest.mark.parametrize(
    ("name", "count"), [("ae", 10), ("ds_cnn", 10), ("mobilenet_v1", 28), ("resnet8", 10)]
)
def test_layer_count(name: str, count: int) -> None:
    """10 dense layers; DS-CNN 1 + 4 x 2 + 1; MobileNet 1 + 13 x 2 + 1; ResNet-8 9 convolutions + 1."""
    assert len(_load(name).layers) == len(EXPECTED_LAYERS[name]) == count


@pytest.mark.parametrize("name", NAMES)
def test_layer_names_and_dims(name: str) -> None:
    """Every layer, in graph order, has the dims (K, C, OY, OX, FY, FX, G) of its reference layer."""
    workload = _load(name)
    assert [(layer.name, _dims(layer)) for layer in workload.layers] == EXPECTED_LAYERS[name]


@pytest.mark.parametrize("name", NAMES)
def test_ops_and_precision(name: str) -> None:
    """Convolutions import as Conv, fully connected layers as Gemm; float32 is priced at 8 bits."""
    workload = _load(name)
    for layer in workload.layers:
        assert layer.op == ("Gemm" if layer.name.startswith("dense") else "Conv"), layer.name
    assert {layer.precision for layer in workload.layers} == {Precision(8, 8, 8, 16)}
    assert workload.warnings == ("float32 tensors priced at 8-bit (default precision)",)


def test_ae_total_macs() -> None:
    """640*128 + 128*128*3 + 128*8 + 8*128 + 128*128*3 + 128*640 = 264,192 MACs."""
    expected = 640 * 128 + 3 * 128 * 128 + 128 * 8 + 8 * 128 + 3 * 128 * 128 + 128 * 640
    assert expected == 264_192
    assert sum(layer.macs for layer in _load("ae").layers) == expected


def test_ds_cnn_total_macs() -> None:
    """conv1 64*1*10*4*25*5 = 320,000; per block 64*9*125 + 64*64*125 = 584,000; dense 768."""
    conv1 = 64 * 1 * 10 * 4 * 25 * 5
    block = 64 * 3 * 3 * 25 * 5 + 64 * 64 * 25 * 5
    expected = conv1 + 4 * block + 64 * 12
    assert (conv1, block, expected) == (320_000, 584_000, 2_656_768)
    assert sum(layer.macs for layer in _load("ds_cnn").layers) == expected


def test_mobilenet_v1_total_macs() -> None:
    """conv1 8*3*9*48*48 = 497,664; each block C*9*O*O + C*K*O*O; dense 256*2: 7,489,664 MACs."""
    conv1 = 8 * 3 * 9 * 48 * 48
    blocks = [c * 9 * out * out + c * k * out * out for c, k, out in MOBILENET_BLOCKS]
    assert blocks[6] == 128 * 9 * 36 + 128 * 128 * 36 == 631_296  # one of the five 6x6 blocks
    expected = conv1 + sum(blocks) + 256 * 2
    assert expected == 7_489_664
    assert sum(layer.macs for layer in _load("mobilenet_v1").layers) == expected


def test_resnet8_total_macs() -> None:
    """First conv 16*3*9*32*32 = 442,368; each 3x3 conv at full width 2,359,296; 12,501,632 in all."""
    first = 16 * 3 * 9 * 32 * 32
    stack1 = 2 * (16 * 16 * 9 * 32 * 32)
    stack2 = 32 * 16 * 9 * 16 * 16 + 32 * 32 * 9 * 16 * 16 + 32 * 16 * 16 * 16
    stack3 = 64 * 32 * 9 * 8 * 8 + 64 * 64 * 9 * 8 * 8 + 64 * 32 * 8 * 8
    expected = first + stack1 + stack2 + stack3 + 64 * 10
    assert (first, stack1 // 2, expected) == (442_368, 2_359_296, 12_501_632)
    assert sum(layer.macs for layer in _load("resnet8").layers) == expected


# The seed paper's scripts divide fixed op counts by energy for whole-network TOP/s/W
# (zigzag-imc branch `obesolate`, zigzag-imc/sim_auto.py, `ops_workloads`): 2 ops per MAC plus the
# element-wise work (bias, normalization, activation, pooling), which is 1-7% on top here.
PAPER_OPS = {"ae": 532_512, "ds_cnn": 5_609_536, "mobilenet_v1": 15_907_840, "resnet8": 25_302_272}


@pytest.mark.parametrize("name", NAMES)
def test_macs_match_the_seed_papers_op_counts(name: str) -> None:
    """Two ops per MAC come within 7% below the paper's op count (a missing layer would not)."""
    macs = sum(layer.macs for layer in _load(name).layers)
    assert macs == sum(_macs(dims) for _, dims in EXPECTED_LAYERS[name])
    assert 0.93 * PAPER_OPS[name] <= 2 * macs <= PAPER_OPS[name]


def test_strides_and_tensorflow_same_padding() -> None:
    """'same' pads put the odd cell at the end (DS-CNN's 10x4 stride 2 on 49x10; 3x3 stride 2 on 32)."""
    ds_cnn = {layer.name: layer for layer in _load("ds_cnn").layers}
    # Y: 25 outputs need (25-1)*2+10 = 58 rows of 49 -> 4 before, 5 after; X: (5-1)*2+4-10 = 2 -> 1 and 1
    assert ds_cnn["conv1"].stride == (2, 2) and ds_cnn["conv1"].padding == (4, 1, 5, 1)
    assert ds_cnn["ds1/depthwise"].padding == (1, 1, 1, 1)
    resnet8 = {layer.name: layer for layer in _load("resnet8").layers}
    # 16 outputs of a 3x3 stride 2 over 32 need 33 rows: only 1 after
    assert resnet8["stack2/conv1"].stride == (2, 2) and resnet8["stack2/conv1"].padding == (0, 0, 1, 1)
    assert resnet8["stack2/shortcut"].stride == (2, 2) and resnet8["stack2/shortcut"].padding == (0, 0, 0, 0)
    mobilenet = {layer.name: layer for layer in _load("mobilenet_v1").layers}
    strided = [name for name, layer in mobilenet.items() if layer.stride == (2, 2)]
    assert strided == ["conv1", "ds2/depthwise", "ds4/depthwise", "ds6/depthwise", "ds12/depthwise"]


CLASSIFIER_TAIL = {"AveragePool": 1, "Flatten": 1, "Softmax": 1}


@pytest.mark.parametrize(
    ("name", "unmodelled"),
    [
        ("ae", {"BatchNormalization": 9, "Relu": 9}),
        ("ds_cnn", {"BatchNormalization": 9, "Relu": 9, **CLASSIFIER_TAIL}),
        ("mobilenet_v1", {"BatchNormalization": 27, "Relu": 27, **CLASSIFIER_TAIL}),
        ("resnet8", {"Add": 3, "BatchNormalization": 7, "Relu": 7, **CLASSIFIER_TAIL}),
    ],
)
def test_unmodelled_ops_listed(name: str, unmodelled: dict[str, int]) -> None:
    """Normalization, activations, the residual Adds, pooling and softmax are listed, not dropped."""
    assert {op.op_type: op.count for op in _load(name).unmodelled_ops} == unmodelled


def test_resnet8_sources_follow_the_residual_adds() -> None:
    """A layer after an Add has both branches as sources; the shortcut reads the stack's input."""
    sources = {layer.name: layer.sources for layer in _load("resnet8").layers}
    assert sources["stack1/conv1"] == ("conv1",)
    assert sources["stack2/conv1"] == ("conv1", "stack1/conv2")
    assert sources["stack2/shortcut"] == ("conv1", "stack1/conv2")
    assert sources["stack3/conv1"] == ("stack2/conv2", "stack2/shortcut")
    assert sources["dense"] == ("stack3/conv2", "stack3/shortcut")


def test_ds_cnn_parameter_count() -> None:
    """Weights, biases and BatchNorm scale/shift: 23,756, the count NXP's eIQ model zoo gives for it.

    (NXP/eiq-model-zoo, tasks/audio/command-recognition/keyword-spotting_DSCNN/README.md: "Number of
    parameters 23 756"; Keras counts the normalization's trainable gamma and beta, not its statistics.)
    22,604 = conv1 64*40+64, four blocks of (64*9+64) + (64*64+64), dense 64*12+12; plus 9 x 64 x 2.
    """
    graph = _builder().build_ds_cnn().graph
    trainable = 0
    for value in graph.input:
        if value.name == "input" or value.name.endswith((".mean", ".var")):
            continue
        size = 1
        for dim in value.type.tensor_type.shape.dim:
            size *= dim.dim_value
        trainable += size
    assert 64 * 40 + 64 + 4 * (64 * 9 + 64 + 64 * 64 + 64) + 64 * 12 + 12 == 22_604
    assert trainable == 22_604 + 9 * 64 * 2 == 23_756


@pytest.mark.parametrize("name", NAMES)
def test_bundled_file_is_the_builder_output(name: str) -> None:
    """The committed workloads/<name>.onnx, and the bundled file imcmap resolves (the installed copy under a
    regular install), equal the builder's output byte for byte (else regenerate)."""
    module = _builder()
    built = module.BUILDERS[name]().SerializeToString()
    assert module.output_path(name).read_bytes() == built
    assert resolve("workload", name).read_bytes() == built


@pytest.mark.parametrize("name", NAMES)
def test_builder_is_reproducible_and_valid(name: str) -> None:
    """Two builds give the same bytes, and the shapes-only model passes the full ONNX checker."""
    module = _builder()
    first, second = module.BUILDERS[name](), module.BUILDERS[name]()
    assert first.SerializeToString() == second.SerializeToString()
    onnx.checker.check_model(first, full_check=True)


def test_same_padding_rule() -> None:
    """ceil(size/stride) outputs; the odd padding cell goes at the end; never negative."""
    same_padding = _builder().same_padding
    assert same_padding(49, 10, 2) == (4, 5)
    assert same_padding(96, 3, 2) == (0, 1)
    assert same_padding(25, 3, 1) == (1, 1)
    assert same_padding(32, 1, 2) == (0, 0)
