"""Build the bundled ``workloads/resnet18.onnx``: ResNet-18 (ImageNet, batch 1), shapes only.

The graph has the node names, operators and tensor shapes of the torchvision ResNet-18 export that
ZigZag ships (21 compute layers: 17 3x3/7x7 convolutions, 3 downsample 1x1 convolutions, the fc
Gemm; plus Relu, MaxPool, Add, GlobalAveragePool, Flatten), with batch normalization folded into
the convolution biases as in that export. It holds no weight data: weights and biases are declared
as float32 graph inputs with their shapes, the smallest form that passes ``onnx.checker`` and that
ONNX shape inference resolves completely.

Run ``python specs/library/build_resnet18.py`` to regenerate the file; a test checks that the
committed file equals ``build_resnet18()``.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 14  # as in the torchvision export
IR_VERSION = 7
OUTPUT_PATH = Path(__file__).resolve().parent / "workloads" / "resnet18.onnx"


class _Graph:
    """Collects nodes and the declared (data-less) parameter inputs of a shapes-only graph."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []

    def declare(self, name: str, shape: list[int]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def op(
        self, op_type: str, name: str, inputs: list[str], attributes: dict[str, object] | None = None
    ) -> str:
        """Append a node whose single output is named ``<node name>_output_0`` (as torch exports do)."""
        output = f"{name}_output_0"
        node = helper.make_node(op_type, inputs, [output], name=name)
        node.attribute.extend(helper.make_attribute(key, value) for key, value in (attributes or {}).items())
        self.nodes.append(node)
        return output

    def conv(
        self, name: str, x: str, param: str, in_ch: int, out_ch: int, kernel: int, stride: int, pad: int
    ) -> str:
        weight = self.declare(f"{param}.weight", [out_ch, in_ch, kernel, kernel])
        bias = self.declare(f"{param}.bias", [out_ch])
        attributes: dict[str, object] = {
            "dilations": [1, 1],
            "group": 1,
            "kernel_shape": [kernel, kernel],
            "pads": [pad] * 4,
            "strides": [stride, stride],
        }
        return self.op("Conv", name, [x, weight, bias], attributes)


def build_resnet18() -> onnx.ModelProto:
    """ResNet-18 for a 1x3x224x224 input: the node graph and shapes, no weight data."""
    g = _Graph()
    x = g.declare("input", [1, 3, 224, 224])
    x = g.conv("/conv1/Conv", x, "conv1", 3, 64, kernel=7, stride=2, pad=3)
    x = g.op("Relu", "/relu/Relu", [x])
    pool: dict[str, object] = {"ceil_mode": 0, "kernel_shape": [3, 3], "pads": [1] * 4, "strides": [2, 2]}
    x = g.op("MaxPool", "/maxpool/MaxPool", [x], pool)
    in_ch = 64
    for stage, out_ch in enumerate((64, 128, 256, 512), start=1):
        for block in (0, 1):
            stride = 2 if stage > 1 and block == 0 else 1
            scope, param = f"/layer{stage}/layer{stage}.{block}", f"layer{stage}.{block}"
            y = g.conv(
                f"{scope}/conv1/Conv", x, f"{param}.conv1", in_ch, out_ch, kernel=3, stride=stride, pad=1
            )
            y = g.op("Relu", f"{scope}/relu/Relu", [y])
            y = g.conv(f"{scope}/conv2/Conv", y, f"{param}.conv2", out_ch, out_ch, kernel=3, stride=1, pad=1)
            shortcut = x
            if stride != 1 or in_ch != out_ch:
                shortcut = g.conv(
                    f"{scope}/downsample/downsample.0/Conv",
                    x,
                    f"{param}.downsample.0",
                    in_ch,
                    out_ch,
                    kernel=1,
                    stride=stride,
                    pad=0,
                )
            y = g.op("Add", f"{scope}/Add", [y, shortcut])
            x = g.op("Relu", f"{scope}/relu_1/Relu", [y])
            in_ch = out_ch
    x = g.op("GlobalAveragePool", "/avgpool/GlobalAveragePool", [x])
    x = g.op("Flatten", "/Flatten", [x], {"axis": 1})
    weight = g.declare("fc.weight", [1000, 512])
    bias = g.declare("fc.bias", [1000])
    g.nodes.append(
        helper.make_node(
            "Gemm", [x, weight, bias], ["output"], name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1
        )
    )
    graph = helper.make_graph(
        g.nodes,
        "resnet18",
        g.inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1000])],
        doc_string="Shapes only: weights and biases are graph inputs without data.",
    )
    model = helper.make_model(
        graph,
        producer_name="imcmap specs/library/build_resnet18.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    return model


def main() -> None:
    model = build_resnet18()
    onnx.checker.check_model(model, full_check=True)
    OUTPUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, OUTPUT_PATH)
    print(f"wrote {OUTPUT_PATH} ({OUTPUT_PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
