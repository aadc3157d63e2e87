"""Hardware specs: bundled accelerators, every error class with its exact message, auto costs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from imcmap.models.hardware import DigitalArray, ImcArray, ImcType, MemoryKind
from imcmap.models.memory import memory_cost
from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import (
    build_hardware_spec,
    load_accelerator,
    load_hardware_spec,
)
from imcmap.specs.library import list_bundled
from imcmap.specs.loader import parse_yaml

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
MINI = (DATA / "good" / "mini_hw.yaml").read_text()
MEMORY_KEYS = (
    "area_mm2, capacity_bits, double_buffered, kind, latency_cycles, operands, ports, read_bw_bits, "
    "read_energy_pj, served_dims, write_bw_bits, write_energy_pj"
)


def _error(name: str) -> str:
    with pytest.raises(SpecError) as info:
        load_accelerator(BAD / name)
    return str(info.value)


def _build(text: str) -> str:
    with pytest.raises(SpecError) as info:
        build_hardware_spec(parse_yaml(text, "t.yaml"))
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # YAML syntax: one issue at PyYAML's problem mark, with its context
        ("syntax.yaml", ("6:17: invalid YAML: expected ',' or ']', but got ':'; "
         "while parsing a flow sequence at line 5")),
        # duplicate key: PyYAML would keep the second silently
        ("duplicate_key.yaml", ("11:5: memories.rf.capacity_bits: duplicate key 'capacity_bits' "
         "(first defined at line 4)")),
        # unknown key: did-you-mean plus the valid keys
        ("unknown_key.yaml", ("11:5: memories.rf.latency_cycle: unknown key 'latency_cycle', "
         f"did you mean 'latency_cycles'?; valid keys: {MEMORY_KEYS}")),
        # wrong type: YAML true is not an integer
        ("wrong_type.yaml", "4:20: memories.rf.capacity_bits: expected an integer, got a boolean (true)"),
        # wrong type: 8.0 is a float, not an integer
        ("float_for_int.yaml", "6:19: memories.rf.read_bw_bits: expected an integer, got a float (8.0)"),
        # a string for a number
        ("string_number.yaml", ("4:20: memories.rf.capacity_bits: expected an integer, got a string ('64'); "
         "write numbers without quotes")),
        # YAML 1.1 reads 1e10 as a string
        ("exponent_text.yaml", ("4:20: memories.rf.capacity_bits: expected an integer, got a string ('1e10'); "
         "YAML 1.1 reads an exponent without a dot as text: write 1.0e+10, not 1e10")),
        # negative energy
        ("negative.yaml", "9:22: memories.rf.write_energy_pj: must be >= 0 (got -0.1)"),
        # out of [0, 1]
        ("out_of_range.yaml", "18:22: array.input_toggle_rate: must be in [0, 1] (got 1.5)"),
        # missing required key: reported at the mapping that lacks it
        ("missing_key.yaml", "4:5: memories.rf: missing required key 'write_bw_bits'"),
        # undefined reference: served_dims names an array dim that does not exist
        ("undefined_dim.yaml", ("11:23: memories.rf.served_dims[1]: unknown array dim 'D22', "
         "did you mean 'D2'?; array dims: D1, D2")),
        # enum value with did-you-mean
        ("bad_enum.yaml", ("11:11: memories.rf.kind: unknown memory kind 'dramm', did you mean 'dram'?; "
         "expected one of: sram, rf, dram")),
    ],
)
def test_bad_file_gives_exact_message(name: str, expected: str) -> None:
    """Each bad file names the file, 1-based line:col, key path and what is wrong."""
    assert _error(name) == f"{BAD / name}:{expected}"


def test_non_finite_numbers_are_rejected_everywhere() -> None:
    """.nan and .inf are reported wherever a number is expected, both in one error."""
    path = BAD / "non_finite.yaml"
    assert _error("non_finite.yaml") == (
        f"{path}:8:21: memories.rf.read_energy_pj: must be a finite number (got .nan)\n"
        f"{path}:14:18: array.mac_energy_pj: must be a finite number (got .inf)"
    )


def test_all_problems_of_a_file_are_reported_in_order() -> None:
    """Four independent problems in one file come back as one SpecError, sorted by line."""
    path = BAD / "many_problems.yaml"
    assert _error("many_problems.yaml").splitlines() == [
        f"{path}:5:20: memories.rf.capacity_bits: must be >= 1 (got 0)",
        f"{path}:12:11: memories.rf.kind: unknown memory kind 'flash'; expected one of: sram, rf, dram",
        f"{path}:16:18: array.mac_energy_pj: expected a number, got a string ('0.04'); write numbers without quotes",
        (f"{path}:17:3: array.pe_area: unknown key 'pe_area', did you mean 'pe_area_mm2'?; "
        "valid keys: dims, mac_energy_pj, node_nm, pe_area_mm2, tclk_ns, type"),
    ]


def test_duplicate_key_is_reported_with_the_other_issues() -> None:
    """A duplicate key (found while parsing) and a builder issue appear in the same error."""
    text = MINI.replace("    area_mm2: 0\n", "    area_mm2: 0\n    area_mm2: 1\n    kind: tape\n")
    lines = _build(text).splitlines()
    assert lines[0] == "t.yaml:12:5: memories.rf.area_mm2: duplicate key 'area_mm2' (first defined at line 11)"
    assert lines[1].startswith("t.yaml:13:11: memories.rf.kind: unknown memory kind 'tape'")


def test_bundled_accelerators_load() -> None:
    """Every bundled accelerator loads."""
    names = [name for name, _ in list_bundled()["accelerator"]]
    assert {"dimc", "aimc", "digital"} <= set(names)
    for _, path in list_bundled()["accelerator"]:
        load_accelerator(path)


def test_bundled_chips_load_with_their_validation_section() -> None:
    """Every bundled validation chip is a valid hardware file and keeps its validation: section."""
    chips = list_bundled()["chip"]
    for _, path in chips:
        assert isinstance(load_hardware_spec(path).validation_raw, dict)


def test_dimc_restates_zigzag_dimc() -> None:
    """dimc: ZigZag 3.9.1's memories and costs, a 128x128 digital IMC array with full activity."""
    accel = load_accelerator(Path(list_bundled_path("accelerator", "dimc")))
    assert [m.name for m in accel.memories] == ["cells", "rf_1B", "rf_2B", "sram_256KB", "dram"]
    cells, rf_1b, rf_2b, sram, dram = accel.memories
    assert (cells.capacity_bits, cells.operands, cells.write_energy_pj, cells.served_dims) == (8, ("I2",), 0.095, ())
    assert accel.instances(cells) == 128 * 128
    assert (rf_1b.operands, rf_1b.served_dims, accel.instances(rf_1b)) == (("I1",), ("D1",), 128)
    assert (rf_2b.capacity_bits, rf_2b.operands, rf_2b.served_dims) == (16, ("O",), ("D2",))
    assert (sram.capacity_bits, sram.read_energy_pj, sram.write_energy_pj, sram.read_bw_bits) == (
        262144, 416.16, 378.4, 512)
    assert (dram.operands, dram.read_energy_pj, dram.write_energy_pj, dram.kind) == (
        ("I1", "I2", "O"), 700.0, 750.0, MemoryKind.DRAM)
    array = accel.array
    assert isinstance(array, ImcArray)
    assert (array.imc_type, array.cols, array.rows, array.input_bits_per_cycle) == (ImcType.DIGITAL, 128, 128, 1)
    assert (array.input_toggle_rate, array.weight_sparsity) == (1.0, 0.0)


def test_aimc_differs_from_dimc_only_in_the_array() -> None:
    """aimc: same memories as dimc; analog, 2 input bits per cycle, an 8-bit ADC."""
    aimc = load_accelerator(list_bundled_path("accelerator", "aimc"))
    dimc = load_accelerator(list_bundled_path("accelerator", "dimc"))
    assert aimc.memories == dimc.memories
    assert isinstance(aimc.array, ImcArray)
    assert (aimc.array.imc_type, aimc.array.input_bits_per_cycle, aimc.array.adc_bits) == (ImcType.ANALOG, 2, 8)


def test_digital_is_a_32x32_pe_array() -> None:
    """digital: a 32x32 PE array at 0.04 pJ per MAC."""
    accel = load_accelerator(list_bundled_path("accelerator", "digital"))
    assert isinstance(accel.array, DigitalArray)
    assert [d.size for d in accel.array.dims] == [32, 32] and accel.array.mac_energy_pj == 0.04
    assert accel.array.tclk_ns == 1.0  # absent: the dataclass default


def list_bundled_path(kind: str, name: str) -> Path:
    return dict(list_bundled()[kind])[name]


def test_validation_section_is_kept_raw() -> None:
    """A validation: mapping is returned as plain data next to the accelerator."""
    spec = build_hardware_spec(parse_yaml(MINI + "validation:\n  chip: DIMC1\n  rows: [32, 64]\n", "t.yaml"))
    assert spec.validation_raw == {"chip": "DIMC1", "rows": [32, 64]}
    assert spec.source == "t.yaml"


def test_imc_cross_checks() -> None:
    """Digital IMC: rows a power of 2, bits per cycle <= input bits and no ADC; analog needs one."""
    base = MINI.split("array:")[0]
    digital = base + (
        "array:\n  type: imc\n  imc_type: digital\n  dims: {D1: 4, D2: 6}\n  input_bits: 4\n"
        "  weight_bits: 8\n  input_bits_per_cycle: 8\n  adc_bits: 4\n"
    )
    assert _build(digital).splitlines() == [
        ("t.yaml:15:21: array.dims.D2: rows (the second dim) must be a power of 2 for a digital IMC array "
        "(got 6); its adder trees sum a power-of-2 number of rows (imc-model.md 7.2)"),
        "t.yaml:18:25: array.input_bits_per_cycle: must be <= input_bits = 4 (got 8)",
        "t.yaml:19:13: array.adc_bits: must be 0 or absent for a digital IMC array (got 4)",
    ]
    analog = digital.replace("digital", "analog").replace("  adc_bits: 4\n", "").replace("D2: 6", "D2: 8")
    analog = analog.replace("input_bits_per_cycle: 8", "input_bits_per_cycle: 2")
    assert (
        _build(analog)
        == "t.yaml:13:3: array: missing required key 'adc_bits'; an analog IMC array needs its ADC resolution"
    )


def test_every_memory_operand_needs_a_level() -> None:
    """An operand held by no memory level is reported at the memories mapping."""
    text = MINI.replace("operands: [I1, I2, O]", "operands: [I1, O]")
    assert _build(text) == (
        "t.yaml:4:3: memories: no memory holds operand 'I2'; every one of I1, I2, O needs at least one "
        "level (the top one usually holds all)"
    )


def test_auto_without_the_memory_model_is_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    """'auto' when models.memory cannot be imported is a located issue, not an ImportError."""
    monkeypatch.setitem(sys.modules, "imcmap.models.memory", None)  # makes the import fail
    text = MINI.replace("read_energy_pj: 0.1", "read_energy_pj: auto")
    assert _build(text) == (
        "t.yaml:9:21: memories.rf.read_energy_pj: 'auto' needs imcmap.models.memory, which is not "
        "available; give the number"
    )


def test_auto_asks_the_memory_model_and_explicit_numbers_win() -> None:
    """'auto' fields come from models.memory.memory_cost; explicit numbers are kept."""
    text = MINI.replace("read_energy_pj: 0.1", "read_energy_pj: auto").replace("area_mm2: 0", "area_mm2: auto")
    level = build_hardware_spec(parse_yaml(text, "t.yaml")).accelerator.memories[0]
    cost = memory_cost(
        capacity_bits=64, read_bw_bits=8, write_bw_bits=8, kind=MemoryKind.SRAM, node_nm=28, ports=1
    )
    assert level.read_energy_pj == pytest.approx(cost.read_energy_pj)
    assert level.area_mm2 == pytest.approx(cost.area_mm2)
    assert level.write_energy_pj == 0.1


def test_load_hardware_spec_returns_accelerator_and_source() -> None:
    """load_hardware_spec keeps the file name; load_accelerator returns just the accelerator."""
    path = DATA / "good" / "mini_hw.yaml"
    spec = load_hardware_spec(path)
    assert spec.source == str(path) and spec.validation_raw is None
    assert load_accelerator(path) == spec.accelerator


def test_port_wider_than_the_memory_is_rejected() -> None:
    """A read or write width above the capacity is reported at the width."""
    text = MINI.replace("capacity_bits: 64", "capacity_bits: 4")
    assert _build(text).splitlines() == [
        "t.yaml:7:19: memories.rf.read_bw_bits: must be <= capacity_bits = 4 (got 8)",
        "t.yaml:8:20: memories.rf.write_bw_bits: must be <= capacity_bits = 4 (got 8)",
    ]
