"""ZigZag 3.x files read as they are: detection, the same hardware as the bundled specs, located errors."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imcmap.models.hardware import CostRules, DigitalArray, ImcArray, MemoryKind
from imcmap.models.memory import memory_cost
from imcmap.models.workload import LOOP_DIMS, Layer, Operand, Precision
from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import load_accelerator, load_hardware_spec
from imcmap.specs.library import resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.mapping import check_mapping_against, load_mapping_spec
from imcmap.specs.workload import load_workload
from imcmap.specs.zigzag import (
    build_zigzag_hardware,
    build_zigzag_mapping,
    build_zigzag_workload,
)

ZZ = Path(__file__).resolve().parents[1] / "data" / "zigzag"
DIMC = (ZZ / "dimc.yaml").read_text()
TPU = (ZZ / "tpu_like.yaml").read_text()
HEAD = (ZZ / "resnet_head.yaml").read_text()
TPU_PLAIN = TPU.replace("  systolic_dimensions: [D1, D2]\n", "")


def _hw(text: str, file: str = "hw.yaml"):  # type: ignore[no-untyped-def]
    return build_zigzag_hardware(parse_yaml(text, file))


def _hw_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        _hw(text)
    return str(info.value)


def _map(text: str):  # type: ignore[no-untyped-def]
    return build_zigzag_mapping(parse_yaml(text, "m.yaml"))


def _map_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        _map(text)
    return str(info.value)


def _work_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        build_zigzag_workload(parse_yaml(text, "w.yaml"))
    return str(info.value)


# --- dispatch ---------------------------------------------------------------------------------------


def test_load_functions_dispatch() -> None:
    """load_accelerator / load_mapping_spec / load_workload take ZigZag files unchanged."""
    assert load_accelerator(ZZ / "dimc.yaml").name == "dimc"
    assert load_mapping_spec(ZZ / "default_imc.yaml").name == "default_imc"
    assert [layer.name for layer in load_workload(ZZ / "resnet_head.yaml").layers] == [
        "conv1", "conv2_1", "down", "Layer5",
    ]


# --- hardware ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dimc", "aimc"])
def test_same_hardware_as_bundled(name: str) -> None:
    """ZigZag's dimc/aimc structure builds exactly imcmap's bundled accelerator of that name, except that
    the ZigZag file keeps its port allocations and is priced by ZigZag's rules."""
    spec = load_hardware_spec(ZZ / f"{name}.yaml")
    bundled = load_accelerator(resolve("accelerator", name))
    assert tuple(replace(m, port_allocation=()) for m in spec.accelerator.memories) == bundled.memories
    assert all(m.port_allocation for m in spec.accelerator.memories)
    assert spec.accelerator.array == bundled.array
    assert (spec.accelerator.rules, bundled.rules) == (CostRules.ZIGZAG, CostRules.IMCMAP)
    assert spec.validation_raw is None and spec.source == str(ZZ / f"{name}.yaml")


def test_hardware_semantics_in_detail() -> None:
    """Bandwidth = bandwidth_max, ports = the port count, kinds from names, ZigZag's IMC assumptions."""
    spec = _hw(DIMC, "dimc.yaml")
    mems = {m.name: m for m in spec.accelerator.memories}
    assert [m.name for m in spec.accelerator.memories] == ["cells", "rf_1B", "rf_2B", "sram_256KB", "dram"]
    sram = mems["sram_256KB"]
    assert (sram.read_bw_bits, sram.write_bw_bits, sram.ports, sram.served_dims) == (512, 512, 2, ("D1", "D2"))
    assert (mems["rf_2B"].ports, mems["cells"].ports, mems["cells"].latency_cycles) == (4, 1, 0)
    assert {n: m.kind for n, m in mems.items()} == {
        "cells": MemoryKind.SRAM, "rf_1B": MemoryKind.RF, "rf_2B": MemoryKind.RF,
        "sram_256KB": MemoryKind.SRAM, "dram": MemoryKind.DRAM,
    }
    array = spec.accelerator.array
    assert isinstance(array, ImcArray)
    assert (array.node_nm, array.vdd_v, array.input_toggle_rate, array.weight_sparsity) == (28, 0.9, 1.0, 0.0)
    assert spec.warnings == (
        ("dimc.yaml:4:1: memories: no mem_type given: kinds taken from the names (rf_1B -> rf; rf_2B -> rf; "
        "dram -> dram); imcmap uses the kind to tell off-chip DRAM from on-chip memory, ZigZag only passes "
        "it to CACTI"),
    )


def test_explicit_mem_type_wins_over_the_name() -> None:
    """mem_type: sram on a memory named rf_1B keeps it SRAM, and then nothing is inferred for it."""
    text = DIMC.replace("    operands: [I1]\n", "    operands: [I1]\n    mem_type: sram\n", 1)
    mems = {m.name: m for m in _hw(text).accelerator.memories}
    assert mems["rf_1B"].kind is MemoryKind.SRAM
    assert "rf_1B -> rf" not in _hw(text).warnings[0]


def test_array_dims_sorted_and_cells_geometry() -> None:
    """dimensions [D2, D1] sort to D1, D2; cells of 16 bits hold 2 weights; cells.area goes to the array."""
    text = (
        DIMC.replace("  dimensions: [D1, D2]\n  sizes: [128, 128]", "  dimensions: [D2, D1]\n  sizes: [64, 128]")
        .replace("    size: 8\n    r_cost: 0\n", "    size: 16\n    r_cost: 0\n", 1)
        .replace("    area: 0\n    latency: 0\n", "    area: 0.000002\n    latency: 0\n", 1)
    )
    accel = _hw(text).accelerator
    array = accel.array
    assert isinstance(array, ImcArray)
    assert [(d.name, d.size) for d in array.dims] == [("D1", 128), ("D2", 64)]
    assert array.cells_per_group == 2
    assert array.cell_area_um2 == pytest.approx(2.0)  # 2e-6 mm2 per cell group
    assert accel.memory("cells").area_mm2 == 0.0  # priced once, through the array


def test_digital_array_without_systolic_dims() -> None:
    """tpu_like without systolic_dimensions: a 32x32 PE array at 0.04 pJ/MAC, 2048-bit SRAM ports."""
    accel = _hw(TPU_PLAIN).accelerator
    assert accel.array == DigitalArray(
        dims=accel.array.dims, mac_energy_pj=0.04, pe_area_mm2=1.0, tclk_ns=1.0
    )
    assert [(d.name, d.size) for d in accel.array.dims] == [("D1", 32), ("D2", 32)]
    assert accel.memory("sram_2MB").read_bw_bits == 2048
    assert (
        _hw(TPU_PLAIN.replace("  sizes: [32, 32]\n", "  sizes: [32, 32]\n  systolic_dimensions: []\n")).accelerator
        == accel
    )


def test_auto_cost_extraction_uses_imcmaps_memory_model() -> None:
    """auto_cost_extraction: costs from memory_cost at 22 nm, given ones replaced, both said in warnings."""
    text = DIMC.replace(
        "    size: 262144\n    r_cost: 416.16\n",
        "    size: 262144\n    auto_cost_extraction: true\n    r_cost: 416.16\n",
    )
    spec = _hw(text)
    sram = spec.accelerator.memory("sram_256KB")
    expected = memory_cost(capacity_bits=262144, read_bw_bits=512, write_bw_bits=512, kind="sram", node_nm=22, ports=2)
    assert (sram.read_energy_pj, sram.write_energy_pj, sram.area_mm2) == (
        expected.read_energy_pj, expected.write_energy_pj, expected.area_mm2,
    )
    assert spec.warnings[0] == (
        f"hw.yaml:41:5: memories.sram_256KB.auto_cost_extraction: costs of 'sram_256KB' estimated by imcmap's "
        f"memory model at 22 nm (read {expected.read_energy_pj:.4g} pJ, write {expected.write_energy_pj:.4g} pJ, "
        f"{expected.area_mm2:.4g} mm2); ZigZag would run CACTI; the given r_cost, w_cost, area are replaced, "
        "as ZigZag does"
    )


def test_double_buffering_is_kept() -> None:
    """force_double_buffering: true becomes double_buffered on that level."""
    text = DIMC.replace("    size: 262144\n", "    size: 262144\n    force_double_buffering: true\n")
    assert _hw(text).accelerator.memory("sram_256KB").double_buffered


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # the hardware-level fixed unrolling ZigZag calls dataflows
        ("operational_array:\n", "dataflows:\n  D1: [\"K, 32\"]\noperational_array:\n",
         ("hw.yaml:64:1: dataflows: 'dataflows' (a fixed spatial unrolling in the hardware file) is not "
         "supported; give it as spatial_mapping in the mapping file")),
        # an unknown memory key, with ZigZag's valid keys and a suggestion
        ("    latency: 0\n", "    latency: 0\n    latncy_cycles: 2\n",
         ("hw.yaml:11:5: memories.cells.latncy_cycles: unknown key 'latncy_cycles', did you mean 'latency'?; "
          "valid keys: area, "
         "auto_cost_extraction, force_double_buffering, latency, mem_type, operands, ports, r_cost, "
         "served_dimensions, size, w_cost")),
        # ZigZag's own IMC cell CACTI path fails; imcmap says so
        ("    latency: 0\n", "    latency: 0\n    auto_cost_extraction: true\n",
         ("hw.yaml:11:27: memories.cells.auto_cost_extraction: auto_cost_extraction on the IMC cells is not "
         "supported; give w_cost and area (ZigZag 3.9.1's CACTI call for the cell array fails as well)")),
        # imcmap models one read width per memory
        ("bandwidth_min: 16, bandwidth_max: 16, allocation: [\"O, th\"]",
         "bandwidth_min: 16, bandwidth_max: 32, allocation: [\"O, th\"]",
         ("hw.yaml:35:72: memories.rf_2B.ports[1].bandwidth_max: read ports differ in bandwidth_max (16 and 32); "
         "imcmap models one read width per memory")),
        # a write direction on a read port
        ("allocation: [\"I1, tl\"]}", "allocation: [\"I1, fh\"]}",
         "hw.yaml:23:87: memories.rf_1B.ports[0].allocation[0]: direction fh does not fit a read port"),
        # ZigZag's rules need a port for every transfer they price
        ('bandwidth_max: 16, allocation: ["O, tl"]}', 'bandwidth_max: 16, allocation: []}',
         ("hw.yaml:34:7: memories.rf_2B.ports: no port of 'rf_2B' is allocated 'O, tl'; ZigZag's rules price "
          "every transfer on the port that carries it; add it to a port's allocation")),
        # the digital IMC array has no ADC
        ("  bit_serial_precision: 1      # input bits per cycle\n",
         "  bit_serial_precision: 1      # input bits per cycle\n  adc_resolution: 4\n",
         "hw.yaml:69:19: operational_array.adc_resolution: must be 0 or absent for a digital IMC array (got 4)"),
        # bit-serial slices must be a power of 2 (ZigZag's rule too)
        ("  bit_serial_precision: 1 ", "  bit_serial_precision: 3 ",
         "hw.yaml:68:25: operational_array.bit_serial_precision: must be a power of 2 (got 3)"),
        # served dims must be array dims
        ("    served_dimensions: [D1]\n", "    served_dimensions: [D3]\n",
         ("hw.yaml:25:25: memories.rf_1B.served_dimensions[0]: unknown array dim 'D3'; operational_array "
         "dimensions: D1, D2")),
        # costs are required without auto_cost_extraction
        ("    w_cost: 0.095\n", "",
         "hw.yaml:6:5: memories.cells: missing required key 'w_cost'; give it, or set auto_cost_extraction: true"),
    ],
)
def test_hardware_errors_are_located(old: str, new: str, expected: str) -> None:
    """Every key imcmap cannot honour is an error at its place, never silently dropped."""
    assert old in DIMC
    assert _hw_error(DIMC.replace(old, new, 1)) == expected


def test_systolic_dimensions_rejected() -> None:
    """tpu_like's systolic_dimensions: one error at the key (imcmap has no systolic latency model)."""
    with pytest.raises(SpecError) as info:
        load_hardware_spec(ZZ / "tpu_like.yaml")
    assert str(info.value) == (
        f"{ZZ / 'tpu_like.yaml'}:54:3: operational_array.systolic_dimensions: 'systolic_dimensions' is not "
        "supported: imcmap has no systolic-array latency model; remove it (or use systolic_dimensions: []) "
        "to model the array as a plain PE array"
    )


def test_duplicate_key_is_one_error_with_a_zigzag_hint() -> None:
    """A repeated ports key (PyYAML keeps the last): one error, not also errors about the dropped value."""
    text = TPU_PLAIN.replace(
        "    ports:\n      - {name: r_port_1, type: read, bandwidth_min: 64, bandwidth_max: 2048",
        "    ports:\n      - {fh: w_port_1, tl: r_port_1}\n    ports:\n"
        "      - {name: r_port_1, type: read, bandwidth_min: 64, bandwidth_max: 2048",
    )
    assert _hw_error(text) == (
        "hw.yaml:37:5: memories.sram_2MB.ports: duplicate key 'ports' (first defined at line 35); "
        "ZigZag (PyYAML) silently keeps the last one; delete the one not meant"
    )


# --- mapping ----------------------------------------------------------------------------------------


def test_default_imc_mapping() -> None:
    """default_imc: the hint becomes spatial_allowed, links are kept, the Add entry is left out with a note."""
    spec = load_mapping_spec(ZZ / "default_imc.yaml")
    (rule,) = spec.rules
    assert rule.selector == "default" and rule.fixed_spatial is None
    assert rule.allowed_spatial == {"D1": ("K",), "D2": ("C", "FX", "FY")}
    assert rule.operand_links == {Operand.O: "O", Operand.W: "I2", Operand.I: "I1"}
    assert spec.warnings == (  # type: ignore[attr-defined]
        (f"{ZZ / 'default_imc.yaml'}:8:3: [1]: entry 'Add' left out: imcmap does not price Add layers "
        "(they are listed as unmodelled ops)"),
    )
    resolved = spec.resolve(Layer(name="conv", op="Conv", dims={"K": 8}))
    assert resolved.allowed_spatial == {"D1": ("K",), "D2": ("C", "FX", "FY")}


def test_default_imc_checks_clean_against_dimc_and_resnet18() -> None:
    """ZigZag's dimc + default_imc + imcmap's bundled resnet18.onnx pass the cross-file checks."""
    accel = load_accelerator(ZZ / "dimc.yaml")
    spec = load_mapping_spec(ZZ / "default_imc.yaml")
    assert check_mapping_against(spec, accel, load_workload(resolve("workload", "resnet18"))) == []


def test_fixed_and_mixed_spatial_mapping() -> None:
    """'K, 32' strings become fixed factors; two strings on one array dim are a mixed unrolling."""
    spec = _map('- name: default\n  spatial_mapping: {D1: ["K, 8", "OX, 4"], D2: ["C, 32"]}\n')
    (rule,) = spec.rules
    assert rule.fixed_spatial == {"D1": {"K": 8, "OX": 4}, "D2": {"C": 32}}
    assert rule.allowed_spatial is None


def test_partly_fixed_spatial_mapping_warns() -> None:
    """A spatial_mapping fixing D1 only (D2 hinted): fixed as given, the rest unused, with a warning."""
    spec = _map('- name: default\n  spatial_mapping: {D1: ["K, 32"]}\n  spatial_mapping_hint: {D2: [C]}\n')
    (rule,) = spec.rules
    assert (rule.fixed_spatial, rule.allowed_spatial) == ({"D1": {"K": 32}}, None)
    assert spec.warnings == (
        ("m.yaml:2:3: [0].spatial_mapping: fixes D1 only: imcmap leaves any other array dim unused, where "
        "ZigZag would explore D2 if the accelerator has them"),
    )


def test_hint_leaving_out_a_dim_allows_everything_there() -> None:
    """ZigZag fills a dim the hint omits with every loop dim; a non-default entry explores freely."""
    spec = _map(
        "- name: default\n  spatial_mapping_hint: {D1: [K, OX]}\n"
        "- name: Conv\n  spatial_mapping_hint: {D2: [C]}\n"
        "- name: conv7\n"
    )
    rules = {r.selector: r for r in spec.rules}
    assert rules["default"].allowed_spatial == {"D1": ("K", "OX"), "D2": LOOP_DIMS}
    assert rules["Conv"].allowed_spatial == {"D1": LOOP_DIMS, "D2": ("C",)}
    assert rules["conv7"].allowed_spatial == {"D1": LOOP_DIMS, "D2": LOOP_DIMS}
    assert all(r.operand_links == {Operand.W: "I2", Operand.I: "I1", Operand.O: "O"} for r in spec.rules)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (('- name: default\n  spatial_mapping: {D1: ["K, 32"], D2: ["C, 32"]}\n- name: Conv\n'
         "  spatial_mapping_hint: {D1: [K]}\n"),
         ("m.yaml:3:3: [1]: entry 'Conv' has no spatial_mapping, but entry 'default' fixes one; ZigZag would "
         "explore this entry's unrolling while imcmap would inherit the fixed one; give this entry a spatial_mapping")),
        ("- name: Conv\n  spatial_mapping_hint: {D1: [K]}\n",
         "m.yaml:1:1: no entry named 'default'; ZigZag requires a default entry; add '- name: default'"),
        ('- name: default\n  spatial_mapping: {D1: ["KK, 32"], D2: ["C,32"]}\n',
         ("m.yaml:2:26: [0].spatial_mapping.D1[0]: unknown loop dim 'KK', did you mean 'K'?; imcmap's loop dims: "
         "B, G, K, C, OY, OX, FY, FX\n"
         "m.yaml:2:42: [0].spatial_mapping.D2[0]: 'C,32' must read '<loop dim>, <factor>', e.g. 'K, 32'")),
        ("- name: default\n  memory_operand_links: {O: O, W: I2, I: I2}\n",
         "m.yaml:2:42: [0].memory_operand_links.I: memory operand 'I2' is already linked to W"),
        ("- name: default\n  spatial_mapping_hint: {D1: [K]}\n  temporal_ordering: [[OX, 4], [K, '*']]\n",
         ("m.yaml:3:3: [0].temporal_ordering: 'temporal_ordering' is not supported yet; imcmap's solver takes "
         "no loop-order constraints; remove it to let imcmap choose the order")),
        ("- name: default\n- name: default\n",
         "m.yaml:2:9: [1].name: duplicate entry 'default' (first at line 1); ZigZag would use the first one only"),
    ],
)
def test_mapping_errors_are_located(text: str, expected: str) -> None:
    """What imcmap cannot mean the same way is an error at the entry or key."""
    assert _map_error(text) == expected


def test_tpu_like_mapping_temporal_ordering_rejected() -> None:
    """The tpu_like-shaped mapping file fails only at its temporal_ordering."""
    with pytest.raises(SpecError) as info:
        load_mapping_spec(ZZ / "tpu_like_mapping.yaml")
    assert str(info.value) == (
        f"{ZZ / 'tpu_like_mapping.yaml'}:14:3: [3].temporal_ordering: 'temporal_ordering' is not supported "
        "yet; imcmap's solver takes no loop-order constraints; remove it to let imcmap choose the order"
    )


def test_empty_temporal_ordering_is_fine() -> None:
    """An empty temporal_ordering constrains nothing and is accepted."""
    (rule,) = _map("- name: default\n  temporal_ordering: []\n").rules
    assert rule.selector == "default"


# --- workload ---------------------------------------------------------------------------------------


def test_workload_layers() -> None:
    """Conv, Conv_downsample and Gemm layers with strides, padding, precisions and names; others unmodelled."""
    work = load_workload(ZZ / "resnet_head.yaml")
    conv1, conv2, down, fc = work.layers
    assert (conv1.op, conv1.stride, conv1.macs) == ("Conv", (2, 2), 64 * 3 * 112 * 112 * 7 * 7)
    assert conv1.precision == Precision(w_bits=8, i_bits=8, o_bits=8, psum_bits=16)
    assert (conv2.padding, conv2.stride) == ((1, 1, 1, 1), (1, 1))
    assert (down.op, down.stride, down.size("FX")) == ("Conv_downsample", (2, 2), 1)
    assert (fc.name, fc.op, fc.size("B"), fc.size("C"), fc.size("K")) == ("Layer5", "Gemm", 4, 512, 1000)
    assert fc.precision == Precision(w_bits=4, i_bits=8, o_bits=16, psum_bits=32)
    assert [(u.op_type, u.node_names) for u in work.unmodelled_ops] == [("Add", ("Layer3",)), ("Pooling", ("Layer1",))]


STRIDED_HEAD = HEAD.replace(
    "  dimension_relations: [ix=1*ox+1*fx, iy=1*oy+1*fy]\n  loop_dims: [B, K, C, OY, OX, FY, FX]\n"
    "  loop_sizes: [1, 64, 64, 56, 56, 3, 3]",
    "  dimension_relations: [ix=2*ox+1*fx, iy=2*oy+1*fy]\n  loop_dims: [B, K, C, OY, OX, FY, FX]\n"
    "  loop_sizes: [1, 64, 64, 28, 28, 3, 3]", 1)


@pytest.mark.parametrize(("size", "padding"), [(56, (1, 1, 0, 0)), (55, (1, 1, 1, 1))])
def test_strided_input_size_decides_the_end_padding_reached(size: int, padding: tuple[int, ...]) -> None:
    """conv2_1 made stride 2 with 28 outputs, pads 1/1: the windows span 2 x 27 + 3 = 57 positions from the
    top padding, so the input is 57 - 2 = 55 rows (both pads read) or 56 (the end pad never read)."""
    assert STRIDED_HEAD != HEAD
    text = STRIDED_HEAD.replace("  pr_loop_sizes: [56, 56]\n", f"  pr_loop_sizes: [{size}, {size}]\n", 1)
    conv2 = build_zigzag_workload(parse_yaml(text, "w.yaml")).layers[1]
    assert conv2.padding == padding
    assert conv2.input_size("Y") == conv2.input_size("X") == size


def test_strided_input_size_out_of_range_is_an_error() -> None:
    text = STRIDED_HEAD.replace("  pr_loop_sizes: [56, 56]\n", "  pr_loop_sizes: [57, 56]\n", 1)
    assert _work_error(text) == (
        "w.yaml:30:19: [2].pr_loop_sizes[0]: input size 57 differs from the 55-56 imcmap derives for IY; imcmap "
        "prices the input window from the output size, filter, stride, dilation and padding and cannot take "
        "another size; remove pr_loop_sizes")


def test_workload_sources_pass_through_unmodelled_layers() -> None:
    """conv2_1 reads the pool of conv1; down reads the Add of the pool and conv2_1."""
    sources = {layer.name: layer.sources for layer in load_workload(ZZ / "resnet_head.yaml").layers}
    assert sources == {"conv1": (), "conv2_1": ("conv1",), "down": ("conv1", "conv2_1"), "Layer5": ("down",)}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # imcmap's loop nest gives W no OX index
        ("  equation: O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]\n  dimension_relations: [ix=2*ox+1*fx",
         "  equation: O[b][k][oy][ox]+=W[k][c][ox][fx]*I[b][c][iy][ix]\n  dimension_relations: [ix=2*ox+1*fx",
         ("w.yaml:6:13: [0].equation: loop dim OX indexes I, O, W, but in imcmap's loop nest OX indexes I, O; "
         "imcmap's nest: O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix]\n"
         "w.yaml:6:13: [0].equation: loop dim FY indexes I, but in imcmap's loop nest FY indexes I, W; imcmap's "
         "nest: O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix]")),
        # a loop dim imcmap does not know
        ("  loop_dims: [B, C, K]\n", "  loop_dims: [D, C, K]\n",
         ("w.yaml:51:15: [5].loop_dims[0]: unknown loop dim 'D'; imcmap's loop dims: B, G, K, C, OY, OX, FY, FX "
         "(rename by role: K output channels, C reduction, B batch/rows, G groups)")),
        # ZigZag's operator types only
        ("  operator_type: Gemm\n", "  operator_type: GEMM\n",
         ("w.yaml:49:18: [5].operator_type: unknown operator_type 'GEMM', did you mean 'Gemm'?; expected one of: "
         "Max, Conv, Pooling, Add, Conv_downsample, Gemm, Pool, MaxPool, AveragePool, GlobalAveragePool")),
        # an input size imcmap would not use
        ("  pr_loop_sizes: [56, 56]\n", "  pr_loop_sizes: [56, 57]\n",
         ("w.yaml:30:23: [2].pr_loop_sizes[1]: input size 57 differs from the 56 imcmap derives for IX; imcmap "
         "prices the input window from the output size, filter, stride, dilation and padding and cannot take "
         "another size; remove pr_loop_sizes")),
        # a source defined later
        ("  operand_source: {I: 4, W: 5}\n", "  operand_source: {I: 9, W: 5}\n",
         ("w.yaml:54:19: [5].operand_source: source layer id 9 is not defined; operand_source must name an "
         "earlier layer's id (or the layer's own id for a constant)")),
        # a relation imcmap's loop nest cannot express
        ("  dimension_relations: [ix=1*ox+1*fx, iy=1*oy+1*fy]\n",
         "  dimension_relations: [ix=1*ox+1*fy, iy=1*oy+1*fx]\n",
         ("w.yaml:24:25: [2].dimension_relations[0]: relation 'ix=1*ox+1*fy' is not supported; imcmap relates "
         "input dims to outputs and filter taps only: ix = s*ox + d*fx, iy = s*oy + d*fy\n"
         "w.yaml:24:39: [2].dimension_relations[1]: relation 'iy=1*oy+1*fx' is not supported; imcmap relates "
         "input dims to outputs and filter taps only: ix = s*ox + d*fx, iy = s*oy + d*fy")),
    ],
)
def test_workload_errors_are_located(old: str, new: str, expected: str) -> None:
    """A layer imcmap's loop nest would mean differently is an error at its place."""
    assert old in HEAD
    assert _work_error(HEAD.replace(old, new, 1)) == expected


# --- fuzz -------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = [
    "name", "memories", "operational_array", "dataflows", "size", "r_cost", "w_cost", "area", "latency",
    "mem_type", "auto_cost_extraction", "operands", "ports", "served_dimensions", "type", "read", "write",
    "read_write", "bandwidth_min", "bandwidth_max", "allocation", "I1, tl", "O, fh", "I2", "I1", "O", "D1",
    "D2", "cells", "is_imc", "imc_type", "analog", "digital", "input_precision", "bit_serial_precision",
    "adc_resolution", "dimensions", "sizes", "unit_energy", "unit_area", "systolic_dimensions",
    "spatial_mapping", "spatial_mapping_hint", "memory_operand_links", "temporal_ordering", "default", "K, 32",
    "K", "C", "OX", "FX", "id", "operator_type", "Conv", "Gemm", "Add", "equation",
    "O[b][k]+=W[k][c]*I[b][c]", "loop_dims", "loop_sizes", "operand_precision", "operand_source", "W",
    "O_final", "pr_loop_dims", "padding", "pr_loop_sizes", "dimension_relations", "ix=2*ox+1*fx", "IX",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WORDS), st.text(max_size=6),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=5)), children, max_size=5),
    ),
    max_leaves=30,
)


@FUZZ
@given(documents)
def test_fuzz_only_spec_errors(data: object) -> None:
    """Whatever the document, the ZigZag builders raise nothing but SpecError."""
    import yaml

    text = yaml.safe_dump(data)
    doc = parse_yaml(text, "fuzz.yaml")
    for build in (build_zigzag_hardware, build_zigzag_mapping, build_zigzag_workload):
        with contextlib.suppress(SpecError):
            build(doc)


@FUZZ
@given(st.data())
def test_fuzz_mutated_files(data: st.DataObject) -> None:
    """One line of a good ZigZag file replaced by a vocabulary line: still only SpecError."""
    for source in (DIMC, TPU_PLAIN, HEAD, (ZZ / "default_imc.yaml").read_text()):
        lines = source.splitlines()
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        indent = len(lines[index]) - len(lines[index].lstrip())
        word = data.draw(st.sampled_from(WORDS))
        value = data.draw(st.sampled_from(["", " 0", " -1", " [D1]", " {}", " x", " 1.5", " true", " null"]))
        lines[index] = " " * indent + f"{word}:{value}"
        try:
            doc = parse_yaml("\n".join(lines), "mut.yaml")
        except SpecError:
            continue
        for build in (build_zigzag_hardware, build_zigzag_mapping, build_zigzag_workload):
            with contextlib.suppress(SpecError):
                build(doc)
