"""The benchmark set beyond the tuned suite: generated networks with awkward shapes, and the onnx
package's light models, each fixed in the *tune* or the *held-out* part before any tuning.

The solver was tuned on ResNet-18, AlexNet and MobileNetV2 (``suite.py``); this set measures it where
it was not. Its split is fixed here so that later tuning can use only ``tune`` and still report
``heldout`` untouched (bench/README.md, "The general benchmark set", says why each is where it is).

Generated networks are shapes only, built with ``onnx.helper``: weights are graph inputs without data,
float32 (imcmap and ZigZag 3.9.1 both price them at 8 bits), batch 1, every node named (short names:
ZigZag 3.9.1 crashes on long ones), shapes inferred and stored (ZigZag's parser reads tensor shapes
from ``value_info`` and does not infer them). Square kernels, equal strides and symmetric pads only:
ZigZag's ONNX parser reads ``kernel_shape[0]`` as FX and ``pads`` in its own order, which agree with
ONNX only then. Two more limits of ZigZag 3.9.1 shape them: a non-compute node keeps at most two
sources (``DummyNode``), so a Concat of three branches is a chain of two-input Concats; and its
mapping printout fails on a layer with no temporal loop, so no layer fits ZigZag's 128 x 128 arrays
whole (every classifier reads more than 128 features). The files are rebuilt on demand into a cache folder outside the repository
(``--out``, default ``DEFAULT_CACHE``), byte for byte the same each time.

The light models (``onnx/backend/test/data/light/light_*.onnx``) are read from the installed onnx
package, never copied.

    python bench/nets.py                 # build the generated networks, list the whole set
    python bench/nets.py --out DIR --part heldout
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path("/tmp/imcmap-bench-nets")
OPSET = 13
IR_VERSION = 8
PARTS = ("tune", "heldout")


@dataclass(frozen=True, slots=True)
class BenchNet:
    """One network of the set: where it comes from, its part, what is awkward in it."""

    name: str
    kind: str  # "generated" (nets.py builds it; run against ZigZag) | "light" (the onnx package's)
    part: str  # "tune" | "heldout"
    about: str
    compute_layers: int  # Conv/Gemm layers imcmap imports from it


# --- building a shapes-only graph ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tensor:
    name: str
    channels: int
    height: int
    width: int


class _Graph:
    """Appends named nodes and tracks each tensor's shape, so a network reads like its layer list."""

    def __init__(self, name: str, channels: int, height: int, width: int | None = None) -> None:
        from onnx import TensorProto, helper

        self.name = name
        self.nodes: list[object] = []
        self.inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, channels, height, width or height])]
        self.input = _Tensor("input", channels, height, width or height)
        self.outputs: list[object] = []
        self.shapes: dict[str, tuple[int, int, int]] = {}  # tensor -> (channels, height, width) as tracked

    def _new(self, name: str, channels: int, height: int, width: int) -> _Tensor:
        self.shapes[name] = (channels, height, width)
        return _Tensor(name, channels, height, width)

    def conv(self, name: str, x: _Tensor, out_channels: int, kernel: int, stride: int = 1, pad: int | None = None,
             group: int = 1, relu: bool = True) -> _Tensor:
        """A square convolution (``pad`` None: ``kernel // 2``, the same size at stride 1), then a Relu."""
        from onnx import TensorProto, helper

        pad = kernel // 2 if pad is None else pad
        height = (x.height + 2 * pad - kernel) // stride + 1
        width = (x.width + 2 * pad - kernel) // stride + 1
        weight = f"{name}.w"
        self.inputs.append(helper.make_tensor_value_info(weight, TensorProto.FLOAT,
                                                         [out_channels, x.channels // group, kernel, kernel]))
        self.nodes.append(helper.make_node(
            "Conv", [x.name, weight], [name], name=name, kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[pad, pad, pad, pad], group=group))
        out = self._new(name, out_channels, height, width)
        return self.relu(out) if relu else out

    def depthwise(self, name: str, x: _Tensor, kernel: int, stride: int = 1, pad: int | None = None) -> _Tensor:
        return self.conv(name, x, x.channels, kernel, stride, pad, group=x.channels)

    def relu(self, x: _Tensor) -> _Tensor:
        from onnx import helper

        self.nodes.append(helper.make_node("Relu", [x.name], [f"{x.name}.r"], name=f"{x.name}.r"))
        return self._new(f"{x.name}.r", x.channels, x.height, x.width)

    def add(self, name: str, a: _Tensor, b: _Tensor) -> _Tensor:
        from onnx import helper

        self.nodes.append(helper.make_node("Add", [a.name, b.name], [name], name=name))
        return self._new(name, a.channels, a.height, a.width)

    def concat(self, name: str, parts: list[_Tensor]) -> _Tensor:
        """Channel concatenation as a chain of two-input Concats (``name.1``, ..., ``name``): ZigZag 3.9.1
        keeps two sources per non-compute node, and a third branch left without a successor stops its
        data-locality stage (StopIteration)."""
        from onnx import helper

        joined = parts[0]
        for i, part in enumerate(parts[1:], start=1):
            out = name if i == len(parts) - 1 else f"{name}.{i}"
            self.nodes.append(helper.make_node("Concat", [joined.name, part.name], [out], name=out, axis=1))
            joined = self._new(out, joined.channels + part.channels, part.height, part.width)
        return joined

    def maxpool(self, name: str, x: _Tensor, kernel: int, stride: int, pad: int = 0) -> _Tensor:
        from onnx import helper

        self.nodes.append(helper.make_node("MaxPool", [x.name], [name], name=name, kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad, pad, pad, pad]))
        return self._new(name, x.channels, (x.height + 2 * pad - kernel) // stride + 1,
                         (x.width + 2 * pad - kernel) // stride + 1)

    def classifier(self, x: _Tensor, classes: int) -> None:
        """Global average pool, flatten, one fully connected layer (``fc``)."""
        from onnx import TensorProto, helper

        self.nodes.append(helper.make_node("GlobalAveragePool", [x.name], ["gap"], name="gap"))
        self.nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1))
        self.inputs.append(helper.make_tensor_value_info("fc.w", TensorProto.FLOAT, [classes, x.channels]))
        self.nodes.append(helper.make_node("Gemm", ["flat", "fc.w"], ["fc"], name="fc", transB=1))
        self.outputs.append(helper.make_tensor_value_info("fc", TensorProto.FLOAT, [1, classes]))

    def model(self) -> object:
        """The inferred model; every tensor's inferred shape is checked against the one tracked here."""
        from onnx import helper, shape_inference

        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs)
        model = helper.make_model(graph, producer_name="imcmap-bench", opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        for value in inferred.graph.value_info:
            dims = tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
            if value.name in self.shapes and dims != (1, *self.shapes[value.name]):
                raise ValueError(f"{self.name}: {value.name} inferred as {dims}, tracked as {self.shapes[value.name]}")
        missing = sorted(set(self.shapes) - {v.name for v in inferred.graph.value_info} - {"fc"})
        if missing:
            raise ValueError(f"{self.name}: no inferred shape for {', '.join(missing)}")
        return inferred


# --- the generated networks -------------------------------------------------------------------------
# In pairs of siblings (the same kind of awkwardness, other shapes); one of each pair is held out.


def _cnn48() -> _Graph:
    g = _Graph("cnn48", 3, 64)
    x = g.conv("c1", g.input, 48, 5)
    x = g.conv("c2", x, 96, 3, stride=2)  # 32
    x = g.conv("c3", x, 96, 3)
    x = g.conv("c4", x, 160, 5, stride=2)  # 16
    x = g.conv("c5", x, 160, 3)
    x = g.conv("c6", x, 320, 3, stride=2)  # 8
    x = g.conv("c7", x, 320, 3)
    g.classifier(x, 10)
    return g


def _cnn45() -> _Graph:
    g = _Graph("cnn45", 3, 63)
    x = g.conv("c1", g.input, 45, 5)  # 63
    x = g.conv("c2", x, 90, 3, stride=2, pad=0)  # 31
    x = g.conv("c3", x, 90, 3)
    x = g.conv("c4", x, 150, 5, stride=2, pad=1)  # 15
    x = g.conv("c5", x, 150, 3)
    x = g.conv("c6", x, 300, 3, stride=2, pad=0)  # 7
    x = g.conv("c7", x, 300, 3)
    g.classifier(x, 15)
    return g


def _prime97() -> _Graph:
    g = _Graph("prime97", 3, 97)
    x = g.conv("c1", g.input, 15, 7, stride=2)  # 49
    x = g.conv("c2", x, 45, 3, pad=0)  # 47
    x = g.conv("c3", x, 45, 3)
    x = g.conv("c4", x, 75, 3, stride=2, pad=0)  # 23
    x = g.conv("c5", x, 75, 5)
    x = g.conv("c6", x, 135, 3, stride=2, pad=0)  # 11
    x = g.conv("c7", x, 135, 3)
    x = g.conv("c8", x, 225, 3, stride=2, pad=0)  # 5
    x = g.conv("c9", x, 225, 1)
    g.classifier(x, 45)
    return g


def _prime85() -> _Graph:
    g = _Graph("prime85", 3, 85)
    x = g.conv("c1", g.input, 27, 7, stride=2)  # 43
    x = g.conv("c2", x, 27, 5, pad=1)  # 41
    x = g.conv("c3", x, 81, 5, stride=2, pad=0)  # 19
    x = g.conv("c4", x, 81, 3)
    x = g.conv("c5", x, 81, 3, pad=0)  # 17
    x = g.conv("c6", x, 243, 7, stride=2, pad=1)  # 7
    x = g.conv("c7", x, 243, 3)
    x = g.conv("c8", x, 135, 1)
    g.classifier(x, 27)
    return g


def _dwsep75() -> _Graph:
    g = _Graph("dwsep75", 3, 75)
    x = g.conv("c1", g.input, 30, 3, stride=2, pad=0)  # 37
    x = g.depthwise("dw2", x, 3)
    x = g.conv("pw2", x, 60, 1)
    x = g.depthwise("dw3", x, 5, stride=2)  # 19
    x = g.conv("pw3", x, 90, 1)
    y = g.depthwise("dw4", x, 3)
    y = g.conv("pw4", y, 90, 1, relu=False)
    x = g.add("add4", x, y)
    x = g.depthwise("dw5", x, 5, stride=2, pad=1)  # 9
    x = g.conv("pw5", x, 150, 1)
    x = g.depthwise("dw6", x, 3)
    x = g.conv("pw6", x, 150, 1)
    g.classifier(x, 15)
    return g


def _invres59() -> _Graph:
    g = _Graph("invres59", 3, 59)
    x = g.conv("c1", g.input, 24, 3, stride=2, pad=0)  # 29
    y = g.conv("e1", x, 72, 1)
    y = g.depthwise("d1", y, 7)
    y = g.conv("p1", y, 24, 1, relu=False)
    x = g.add("a1", x, y)
    x = g.conv("e2", x, 72, 1)
    x = g.depthwise("d2", x, 5, stride=2)  # 15
    x = g.conv("p2", x, 40, 1, relu=False)
    y = g.conv("e3", x, 120, 1)
    y = g.depthwise("d3", y, 3)
    y = g.conv("p3", y, 40, 1, relu=False)
    x = g.add("a3", x, y)
    x = g.conv("e4", x, 120, 1)
    x = g.depthwise("d4", x, 7, stride=2, pad=2)  # 7
    x = g.conv("p4", x, 135, 1)
    g.classifier(x, 10)
    return g


def _res113() -> _Graph:
    g = _Graph("res113", 3, 113)
    x = g.conv("c1", g.input, 60, 7, stride=2)  # 57
    x = g.maxpool("pool", x, 3, 2, pad=1)  # 29
    y = g.conv("b1a", x, 60, 3)
    y = g.conv("b1b", y, 60, 3, relu=False)
    x = g.add("b1", x, y)
    y = g.conv("b2a", x, 120, 3, stride=2)  # 15
    y = g.conv("b2b", y, 120, 3, relu=False)
    x = g.add("b2", g.conv("b2d", x, 120, 1, stride=2, relu=False), y)
    y = g.conv("b3a", x, 240, 5, stride=2)  # 8
    y = g.conv("b3b", y, 240, 3, relu=False)
    x = g.add("b3", g.conv("b3d", x, 240, 1, stride=2, relu=False), y)
    g.classifier(x, 100)
    return g


def _incept71() -> _Graph:
    g = _Graph("incept71", 3, 71)
    x = g.conv("c1", g.input, 45, 5, stride=2, pad=1)  # 35
    x = g.concat("m1", [
        g.conv("m1a", x, 30, 1),
        g.conv("m1b2", g.conv("m1b1", x, 15, 1), 45, 3),
        g.conv("m1c2", g.conv("m1c1", x, 15, 1), 15, 5),
    ])  # 90 channels
    x = g.maxpool("pool", x, 3, 2)  # 17
    x = g.concat("m2", [
        g.conv("m2a", x, 60, 1),
        g.conv("m2b2", g.conv("m2b1", x, 45, 1), 75, 7),
        g.conv("m2c2", g.conv("m2c1", x, 15, 1), 45, 5),
    ])  # 180 channels
    g.classifier(x, 30)
    return g


_BUILDERS: dict[str, Callable[[], _Graph]] = {
    "cnn48": _cnn48, "cnn45": _cnn45, "prime97": _prime97, "prime85": _prime85,
    "dwsep75": _dwsep75, "invres59": _invres59, "res113": _res113, "incept71": _incept71,
}

GENERATED: tuple[BenchNet, ...] = (
    BenchNet("cnn48", "generated", "tune", "the issue's CNN: 48/96/160/320 channels, 5x5 and 3x3, 64x64 input", 8),
    BenchNet("cnn45", "generated", "heldout", "its sibling: 45/90/150/300 channels, 5x5 and 3x3, 63x63 input, maps 31/15/7", 8),
    BenchNet("prime97", "generated", "tune", "prime maps 97/47/23/11/5, 7x7 stem, channels 15/45/75/135/225", 10),
    BenchNet("prime85", "generated", "heldout", "prime maps 43/41/19/17/7, 7x7 and 5x5, channels 27/81/243/135", 9),
    BenchNet("dwsep75", "generated", "tune", "depthwise 3x3/5x5 and pointwise, maps 37/19/9, channels 30-150, one Add", 12),
    BenchNet("invres59", "generated", "heldout", "inverted residuals: depthwise 7x7/5x5/3x3, maps 29/15/7, channels 24-135", 14),
    BenchNet("res113", "generated", "tune", "residual Adds, 7x7 stem, 5x5, strided 1x1 shortcuts on 29/15, channels 60/120/240", 10),
    BenchNet("incept71", "generated", "heldout", "Concat branches of 1x1/3x3/5x5/7x7, maps 35/17, channels 15-90", 12),
)

LIGHT: tuple[BenchNet, ...] = (
    BenchNet("resnet50", "light", "tune", "bottleneck residuals (measured in issue 18: 9.2 s on dimc)", 54),
    BenchNet("vgg19", "light", "tune", "16 wide 3x3 convs on 224..14 and three large Gemms (15.2 s)", 19),
    BenchNet("inception_v1", "light", "tune", "Concat branches of 1x1/3x3/5x5 (17.0 s)", 58),
    BenchNet("squeezenet", "light", "tune", "fire modules: 1x1 squeeze, 1x1/3x3 expand", 26),
    BenchNet("shufflenet", "light", "tune", "grouped 1x1 and depthwise 3x3", 50),
    BenchNet("zfnet512", "light", "tune", "7x7 stride-2 stem, large Gemms", 8),
    BenchNet("densenet121", "light", "heldout", "dense blocks: 1x1 convs with channel counts 64 + 32k", 121),
    BenchNet("inception_v2", "light", "heldout", "Inception with factorised 3x3 pairs and BatchNorm", 70),
)
# light_bvlc_alexnet is left out: AlexNet is in the tuned suite.

NETWORKS: dict[str, BenchNet] = {net.name: net for net in GENERATED + LIGHT}


def select(part: str = "all", names: list[str] | None = None) -> list[BenchNet]:
    """The networks of ``part`` (tune | heldout | all), in the set's order, optionally only ``names``."""
    if part not in (*PARTS, "all"):
        raise ValueError(f"part {part!r}: expected tune, heldout or all")
    unknown = sorted(set(names or []) - set(NETWORKS))
    if unknown:
        raise ValueError(f"unknown network(s) {', '.join(unknown)}; the set: {', '.join(NETWORKS)}")
    return [net for net in NETWORKS.values()
            if (part == "all" or net.part == part) and (names is None or net.name in names)]


def model_bytes(name: str) -> bytes:
    """The serialized ONNX model of a generated network (deterministic)."""
    return _BUILDERS[name]().model().SerializeToString(deterministic=True)  # type: ignore[attr-defined]


def build(name: str, out: Path = DEFAULT_CACHE) -> Path:
    """``out/<name>.onnx`` of a generated network, written only when missing or different."""
    data = model_bytes(name)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.onnx"
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def light_folder() -> Path:
    """``backend/test/data/light`` of the installed onnx package (found without importing onnx)."""
    import importlib.util

    spec = importlib.util.find_spec("onnx")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the onnx package is not installed in this interpreter")
    return Path(spec.origin).parent / "backend" / "test" / "data" / "light"


def light_model(name: str) -> Path:
    path = light_folder() / f"light_{name}.onnx"
    if not path.exists():
        raise FileNotFoundError(f"{path} is not in this onnx package (its light models: "
                                f"{', '.join(sorted(p.stem for p in light_folder().glob('light_*.onnx')))})")
    return path


def workload_path(net: BenchNet, out: Path = DEFAULT_CACHE) -> Path:
    return build(net.name, out) if net.kind == "generated" else light_model(net.name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_CACHE, help="cache folder for the generated networks")
    parser.add_argument("--part", default="all", choices=(*PARTS, "all"))
    args = parser.parse_args(argv)
    for net in select(args.part):
        try:
            where = str(workload_path(net, args.out))
        except FileNotFoundError as exc:
            where = f"missing: {exc}"
        print(f"{net.part:8s} {net.kind:10s} {net.name:13s} {net.compute_layers:4d} layers  {net.about}\n{'':33s}{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
