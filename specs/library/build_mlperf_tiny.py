"""Build the bundled MLPerf Tiny workloads ``ae``, ``ds_cnn``, ``mobilenet_v1``, ``resnet8`` (shapes only).

These are the four networks of the ICCAD 2023 analog-vs-digital IMC case study (Sun, Houshmand,
Verhelst), batch 1. Each graph follows its Keras reference definition in mlcommons/tiny, tag v1.0
(``benchmark/training/...``; the four files are unchanged since commit bceb91c of 2021-12-13):

* ``ae``: ``anomaly_detection/keras_model.py`` ``get_model(640)``: the input is ``n_mels * frames``
  = 128 * 5 = 640 (``baseline.yaml``); Dense 128 x4, Dense 8, Dense 128 x4, Dense 640, each but
  the last followed by BatchNormalization and ReLU.
* ``ds_cnn``: ``keyword_spotting/keras_model.py`` (model ``ds_cnn``): 49 x 10 MFCC input (1 s at
  16 kHz, 30 ms windows every 20 ms, 10 coefficients: ``kws_util.py``), Conv 64 (10x4, stride 2,
  'same'), four depthwise-separable blocks (depthwise 3x3, pointwise 64), AveragePool (24, 5),
  Dense 12 with softmax.
* ``mobilenet_v1``: ``visual_wake_words/vww_model.py``: MobileNet v1 at alpha 0.25 on a 96 x 96 x 3
  image: Conv 8 (3x3, stride 2), 13 depthwise-separable blocks (strides 1,2,1,2,1,2,1,1,1,1,1,2,1;
  pointwise 16, 32, 32, 64, 64, 128 x6, 256, 256), AveragePool 3x3, Dense 2 with softmax.
* ``resnet8``: ``image_classification/keras_model.py`` ``resnet_v1_eembc()`` with 16 first-stage
  filters, the network of the benchmark's trained model (a 2026 revision made the default 26):
  Conv 16 on 32 x 32 x 3, three stacks of two 3x3 convolutions (16, 32, 64 filters, the second and
  third starting with stride 2 and a 1x1 stride-2 shortcut convolution), AveragePool 8, Dense 10.

Every layer is built as the reference defines it: Keras 'same' padding becomes explicit ONNX pads
with the odd cell at the end (TensorFlow's rule), every Conv/Dense keeps its bias (Keras default),
BatchNormalization stays a separate node (epsilon 1e-3, Keras default) rather than folded, and the
training-only Dropout layers are left out. The layer dimensions agree with the TFLite-converted ONNX
files KULeuven-MICAS/zigzag-imc ships for the same study (``zigzag/inputs/examples/workload/
mlperf_tiny/{deepautoencoder,ds_cnn,mobilenet_v1,resnet8}.onnx``), which fold the normalization.
Layouts are ONNX's NCHW; for DS-CNN the 49 time frames are Y and the 10 coefficients X.

No weight data: weights, biases and normalization statistics are float32 graph inputs with their
shapes (the float32 tensors are priced at imcmap's default 8-bit precision, as the benchmark runs
them in int8). Run ``python specs/library/build_mlperf_tiny.py`` to regenerate the four files; a
test checks that the committed files equal the builder's output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 13
IR_VERSION = 7
WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"
BN_EPSILON = 1e-3  # Keras BatchNormalization's default
PRODUCER = "imcmap specs/library/build_mlperf_tiny.py"


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: ceil(size / stride) outputs, the odd padding cell at the end."""
    outputs = -(-size // stride)
    total = max((outputs - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _Network:
    """A shapes-only graph under construction: nodes, data-less parameter inputs, tensor shapes."""

    def __init__(self, name: str, input_shape: list[int]) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.shapes: dict[str, list[int]] = {}
        self.input = self._declare("input", input_shape)

    def _declare(self, name: str, shape: list[int]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        self.shapes[name] = shape
        return name

    def _node(
        self,
        op_type: str,
        name: str,
        inputs: list[str],
        shape: list[int],
        attributes: dict[str, object] | None = None,
    ) -> str:
        """Append a node whose single output tensor carries the node's name."""
        node = helper.make_node(op_type, inputs, [name], name=name)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in (attributes or {}).items())
        self.nodes.append(node)
        self.shapes[name] = shape
        return name

    def conv(
        self,
        name: str,
        x: str,
        out_channels: int,
        kernel: tuple[int, int],
        stride: int = 1,
        depthwise: bool = False,
    ) -> str:
        """Keras Conv2D / DepthwiseConv2D (multiplier 1) with 'same' padding and a bias."""
        batch, in_channels, height, width = self.shapes[x]
        group = in_channels if depthwise else 1
        if depthwise and out_channels != in_channels:
            raise ValueError(f"{name}: a depthwise convolution keeps its {in_channels} channels")
        top, bottom = same_padding(height, kernel[0], stride)
        left, right = same_padding(width, kernel[1], stride)
        weight = self._declare(f"{name}.weight", [out_channels, in_channels // group, *kernel])
        bias = self._declare(f"{name}.bias", [out_channels])
        attributes: dict[str, object] = {
            "dilations": [1, 1],
            "group": group,
            "kernel_shape": list(kernel),
            "pads": [top, left, bottom, right],
            "strides": [stride, stride],
        }
        shape = [batch, out_channels, -(-height // stride), -(-width // stride)]
        return self._node("Conv", name, [x, weight, bias], shape, attributes)

    def dense(self, name: str, x: str, out_features: int) -> str:
        """Keras Dense: ``x @ kernel + bias`` with the kernel stored in Keras' [in, out] layout."""
        rows, in_features = self.shapes[x]
        kernel = self._declare(f"{name}.kernel", [in_features, out_features])
        bias = self._declare(f"{name}.bias", [out_features])
        return self._node("Gemm", name, [x, kernel, bias], [rows, out_features])

    def batch_norm(self, name: str, x: str) -> str:
        channels = self.shapes[x][1]
        statistics = [self._declare(f"{name}.{p}", [channels]) for p in ("scale", "bias", "mean", "var")]
        attributes: dict[str, object] = {"epsilon": BN_EPSILON}
        return self._node("BatchNormalization", name, [x, *statistics], self.shapes[x], attributes)

    def relu(self, name: str, x: str) -> str:
        return self._node("Relu", name, [x], self.shapes[x])

    def add(self, name: str, a: str, b: str) -> str:
        return self._node("Add", name, [a, b], self.shapes[a])

    def average_pool(self, name: str, x: str, pool: tuple[int, int]) -> str:
        """Keras AveragePooling2D: stride = pool size, 'valid' padding."""
        batch, channels, height, width = self.shapes[x]
        shape = [batch, channels, height // pool[0], width // pool[1]]
        attributes: dict[str, object] = {"kernel_shape": list(pool), "strides": list(pool)}
        return self._node("AveragePool", name, [x], shape, attributes)

    def flatten(self, name: str, x: str) -> str:
        batch, *rest = self.shapes[x]
        size = 1
        for extent in rest:
            size *= extent
        return self._node("Flatten", name, [x], [batch, size], {"axis": 1})

    def softmax(self, name: str, x: str) -> str:
        return self._node("Softmax", name, [x], self.shapes[x], {"axis": -1})

    def conv_bn_relu(
        self,
        name: str,
        x: str,
        out_channels: int,
        kernel: tuple[int, int],
        stride: int = 1,
        depthwise: bool = False,
    ) -> str:
        y = self.conv(name, x, out_channels, kernel, stride, depthwise)
        return self.relu(f"{name}/relu", self.batch_norm(f"{name}/bn", y))

    def model(self, output: str, doc: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            self.inputs,
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, self.shapes[output])],
            doc_string=doc,
        )
        model = helper.make_model(
            graph, producer_name=PRODUCER, opset_imports=[helper.make_opsetid("", OPSET)]
        )
        model.ir_version = IR_VERSION
        return model


_SHAPES_ONLY = "Shapes only: weights, biases and normalization statistics are graph inputs without data."


def build_ae() -> onnx.ModelProto:
    """The anomaly-detection autoencoder 640-128-128-128-128-8-128-128-128-128-640."""
    net = _Network("ae", [1, 640])
    x = net.input
    widths = [128, 128, 128, 128, 8, 128, 128, 128, 128]
    for index, width in enumerate(widths, start=1):
        x = net.dense(f"dense{index}", x, width)
        x = net.relu(f"dense{index}/relu", net.batch_norm(f"dense{index}/bn", x))
    x = net.dense(f"dense{len(widths) + 1}", x, 640)
    return net.model(x, "MLPerf Tiny anomaly detection (ToyADMOS): dense autoencoder. " + _SHAPES_ONLY)


def build_ds_cnn() -> onnx.ModelProto:
    """The keyword-spotting DS-CNN on a 49 x 10 MFCC input, 12 classes."""
    net = _Network("ds_cnn", [1, 1, 49, 10])
    x = net.conv_bn_relu("conv1", net.input, 64, (10, 4), stride=2)
    for block in range(1, 5):
        x = net.conv_bn_relu(f"ds{block}/depthwise", x, 64, (3, 3), depthwise=True)
        x = net.conv_bn_relu(f"ds{block}/pointwise", x, 64, (1, 1))
    x = net.average_pool("pool", x, (49 // 2, 10 // 2))  # the reference's final_pool_size
    x = net.dense("dense", net.flatten("flatten", x), 12)
    return net.model(net.softmax("softmax", x), "MLPerf Tiny keyword spotting: DS-CNN. " + _SHAPES_ONLY)


# MobileNet v1 (alpha 0.25) after its first convolution: (depthwise stride, pointwise filters) per block.
MOBILENET_BLOCKS: tuple[tuple[int, int], ...] = (
    (1, 16), (2, 32), (1, 32), (2, 64), (1, 64), (2, 128),
    (1, 128), (1, 128), (1, 128), (1, 128), (1, 128),
    (2, 256), (1, 256),
)  # fmt: skip


def build_mobilenet_v1() -> onnx.ModelProto:
    """The visual-wake-words MobileNet v1 (alpha 0.25) on a 96 x 96 x 3 image, 2 classes."""
    net = _Network("mobilenet_v1", [1, 3, 96, 96])
    x = net.conv_bn_relu("conv1", net.input, 8, (3, 3), stride=2)
    for block, (stride, filters) in enumerate(MOBILENET_BLOCKS, start=1):
        channels = net.shapes[x][1]
        x = net.conv_bn_relu(f"ds{block}/depthwise", x, channels, (3, 3), stride, depthwise=True)
        x = net.conv_bn_relu(f"ds{block}/pointwise", x, filters, (1, 1))
    x = net.average_pool("pool", x, (3, 3))
    x = net.dense("dense", net.flatten("flatten", x), 2)
    return net.model(
        net.softmax("softmax", x), "MLPerf Tiny visual wake words: MobileNet v1 0.25. " + _SHAPES_ONLY
    )


def build_resnet8() -> onnx.ModelProto:
    """The image-classification ResNet-8 (EEMBC ResNet v1) on a 32 x 32 x 3 CIFAR-10 image."""
    net = _Network("resnet8", [1, 3, 32, 32])
    x = net.conv_bn_relu("conv1", net.input, 16, (3, 3))
    for stack, filters in enumerate((16, 32, 64), start=1):
        stride = 1 if stack == 1 else 2
        y = net.conv_bn_relu(f"stack{stack}/conv1", x, filters, (3, 3), stride)
        y = net.batch_norm(f"stack{stack}/conv2/bn", net.conv(f"stack{stack}/conv2", y, filters, (3, 3)))
        if stride != 1:  # the reference's shortcut: a 1x1 convolution, no normalization
            x = net.conv(f"stack{stack}/shortcut", x, filters, (1, 1), stride)
        x = net.relu(f"stack{stack}/relu", net.add(f"stack{stack}/add", x, y))
    x = net.average_pool("pool", x, (8, 8))
    x = net.dense("dense", net.flatten("flatten", x), 10)
    return net.model(net.softmax("softmax", x), "MLPerf Tiny image classification: ResNet-8. " + _SHAPES_ONLY)


BUILDERS: dict[str, Callable[[], onnx.ModelProto]] = {
    "ae": build_ae,
    "ds_cnn": build_ds_cnn,
    "mobilenet_v1": build_mobilenet_v1,
    "resnet8": build_resnet8,
}


def output_path(name: str) -> Path:
    return WORKLOADS_DIR / f"{name}.onnx"


def main() -> None:
    WORKLOADS_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        model = build()
        onnx.checker.check_model(model, full_check=True)
        path = output_path(name)
        path.write_bytes(model.SerializeToString())
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
