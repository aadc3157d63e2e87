"""Workload specs: bundled workloads, layer fields, references between layers, ONNX delegation."""

from __future__ import annotations

from pathlib import Path

import pytest

from imcmap.models.workload import LOOP_DIMS, Precision
from imcmap.specs.errors import SpecError
from imcmap.specs.library import list_bundled, resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.onnx_import import load_onnx
from imcmap.specs.workload import build_workload, load_workload

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

CONV = "    op: Conv\n    dims: {K: 8, C: 4, OY: 4, OX: 4, FY: 3, FX: 3}\n"


def _build(text: str) -> str:
    with pytest.raises(SpecError) as info:
        build_workload(parse_yaml(text, "w.yaml"))
    return str(info.value)


def test_bundled_yaml_workloads_load() -> None:
    """Every bundled YAML workload loads into layers with every loop dim present."""
    yaml_files = [(n, p) for n, p in list_bundled()["workload"] if p.suffix == ".yaml"]
    assert {"tiny_conv", "tiny_gemm", "tiny_net"} <= {n for n, _ in yaml_files}
    for _, path in yaml_files:
        for layer in load_workload(path).layers:
            assert set(layer.dims) == set(LOOP_DIMS)


def test_tiny_conv_is_understood() -> None:
    """tiny_conv: one 3x3 conv, 8x4 channels on a 4x4 map, padded: 4608 MACs."""
    (layer,) = load_workload(resolve("workload", "tiny_conv")).layers
    assert (layer.op, layer.macs, layer.stride, layer.padding) == ("Conv", 8 * 4 * 4 * 4 * 3 * 3, (1, 1), (1, 1, 1, 1))
    assert layer.precision == Precision()


def test_tiny_net_chains_its_layers() -> None:
    """tiny_net: three layers, each fed by the one before."""
    net = load_workload(resolve("workload", "tiny_net"))
    assert [(l.name, l.sources) for l in net.layers] == [("conv1", ()), ("conv2", ("conv1",)), ("fc", ("conv2",))]
    assert net.layers[1].stride == (2, 2)
    assert net.layers[2].op == "Gemm" and net.layers[2].size("C") == 256


def test_optional_fields_are_read() -> None:
    """stride, dilation, padding and precision are read; missing precision keys keep defaults."""
    text = (
        "layers:\n  - name: a\n"
        + CONV
        + "    stride: [2, 1]\n    dilation: [1, 2]\n    padding: [1, 2, 3, 4]\n"
        + "    precision: {w_bits: 4, psum_bits: 24}\n"
    )
    workload = build_workload(parse_yaml(text, "net.yaml"))
    layer = workload.layers[0]
    assert workload.name == "net"  # no name: the file's stem
    assert (layer.stride, layer.dilation, layer.padding) == ((2, 1), (1, 2), (1, 2, 3, 4))
    assert layer.precision == Precision(w_bits=4, i_bits=8, o_bits=8, psum_bits=24)


def test_unknown_source_layer_gets_a_did_you_mean() -> None:
    """An undefined source layer is reported with the closest earlier name."""
    path = BAD / "unknown_source.yaml"
    with pytest.raises(SpecError) as info:
        load_workload(path)
    assert str(info.value) == (
        f"{path}:9:15: layers[1].sources[0]: unknown layer 'conv_aa', did you mean 'conv_a'?; earlier layers: conv_a"
    )


def test_sources_must_be_earlier_and_not_self() -> None:
    """A source defined later, or the layer itself, is an error with a reason."""
    text = "layers:\n  - name: a\n" + CONV + "    sources: [b, a]\n  - name: b\n" + CONV
    assert _build(text).splitlines() == [
        "w.yaml:5:15: layers[0].sources[0]: layer 'b' is defined later (line 6); sources must name earlier layers",
        "w.yaml:5:18: layers[0].sources[1]: layer 'a' cannot be its own source",
    ]


def test_layer_names_are_unique() -> None:
    """A second layer with the same name is reported at its name."""
    text = "layers:\n  - name: a\n" + CONV + "  - name: a\n" + CONV
    assert _build(text) == "w.yaml:5:11: layers[1].name: duplicate layer name 'a' (first defined at line 2)"


def test_gemm_takes_only_matrix_dims_and_no_conv_keys() -> None:
    """A Gemm layer with OX or a stride is told which loops and keys it has."""
    text = "layers:\n  - name: fc\n    op: Gemm\n    dims: {K: 8, OX: 2}\n    stride: [1, 1]\n"
    assert _build(text).splitlines() == [
        "w.yaml:4:18: layers[0].dims.OX: a Gemm layer has only B, K, C loops (got OX)",
        "w.yaml:5:5: layers[0].stride: only Conv layers take stride (this layer is a Gemm)",
    ]


def test_unknown_loop_dim_and_op_get_suggestions() -> None:
    """Lower-case loop dims and op names get the right spelling suggested."""
    text = "layers:\n  - name: a\n    op: conv\n    dims: {k: 8}\n    padding: [1, 1]\n"
    assert _build(text).splitlines() == [
        "w.yaml:3:9: layers[0].op: unknown op 'conv', did you mean 'Conv'?; expected one of: Conv, Gemm, MatMul",
        "w.yaml:4:12: layers[0].dims.k: unknown loop dim 'k', did you mean 'K'?; loop dims: B, G, K, C, OY, OX, FY, FX",
        "w.yaml:5:14: layers[0].padding: expected a list of 4 integers [top, left, bottom, right], got 2 values",
    ]


def test_empty_layer_list_is_an_error() -> None:
    """A workload needs at least one layer."""
    assert _build("name: n\nlayers: []\n") == "w.yaml:2:9: layers: must list at least one layer"


def test_onnx_path_goes_to_the_onnx_importer() -> None:
    """A .onnx path is imported by specs.onnx_import: the bundled ResNet-18's 21 compute layers (the 7x7
    stem, 16 3x3 convs, 3 1x1 downsamples, the final Gemm)."""
    path = resolve("workload", "resnet18")
    workload = load_workload(path)
    assert workload == load_onnx(path)
    assert len(workload.layers) == 21
    assert sum(layer.dims["FY"] == 3 for layer in workload.layers) == 16


def test_missing_onnx_file_is_a_spec_error() -> None:
    """A missing .onnx file gives the same 'file not found' as a YAML one."""
    path = BAD / "missing.onnx"
    with pytest.raises(SpecError) as info:
        load_workload(path)
    assert str(info.value) == f"{path}: file not found"
