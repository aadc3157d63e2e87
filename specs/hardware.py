"""Hardware YAML -> ``models.hardware.Accelerator`` (plus the raw ``validation:`` section).

Schema (every key listed; ``?`` = optional)::

    name: str
    memories:                      # lowest level (closest to the array) first; order matters
      <memory name>:
        capacity_bits: int > 0
        operands: [I1 | I2 | O, ...]          # non-empty, no repeats
        read_bw_bits: int > 0                 # bits per cycle
        write_bw_bits: int > 0
        read_energy_pj: float >= 0 | auto     # per access of read_bw_bits
        write_energy_pj: float >= 0 | auto
        area_mm2: float >= 0 | auto
        latency_cycles?: int >= 0             # default 1
        served_dims?: [array dim, ...]        # dims along which one instance is shared; default []
        kind?: sram | rf | dram               # default sram
        ports?: int >= 1                      # default 1 (reads and writes share the port)
        double_buffered?: bool                # default false
    array:                         # type: imc
      type: imc
      imc_type: analog | digital
      dims: {<name>: int >= 1, ...}           # >= 2 dims: D1 columns, D2 rows, the rest macros
      input_bits: int >= 1
      weight_bits: int >= 1
      input_bits_per_cycle: int in [1, input_bits]
      adc_bits: number >= 1                   # analog: required, may be fractional (4.5); digital: absent or 0
      dac_bits?: int >= 0                     # analog only (digital: absent or 0)
      cells_per_group?: int >= 1
      node_nm?: int > 0
      vdd_v?: float > 0
      input_toggle_rate?: float in [0, 1]
      weight_sparsity?: float in [0, 1)
      cell_area_um2?: float >= 0
    array:                         # type: digital
      type: digital
      dims: {<name>: int >= 1, ...}           # >= 1 dim
      mac_energy_pj: float >= 0
      pe_area_mm2?: float >= 0
      tclk_ns?: float > 0                     # clock period; default 1
      node_nm?: int > 0                       # only used by `auto` memory costs; default 28
    validation?: {...}             # kept raw for the chip-validation model

``auto`` asks ``models.memory.memory_cost`` for the value; explicit numbers always win. A digital IMC
array needs D2 (rows), and input_bits_per_cycle, to be powers of 2; an analog one needs weight_bits to
be (its place-value adder tree and its adder trees assume it; imc-model.md 7.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from imcmap.models.hardware import (
    MEMORY_OPERANDS,
    Accelerator,
    ArrayDim,
    DigitalArray,
    ImcArray,
    ImcType,
    MemoryKind,
    MemoryLevel,
    OperationalArray,
)

from .checks import (
    NAME_RULE,
    Fields,
    Issues,
    as_choice,
    as_choice_list,
    as_int,
    as_map,
    as_number,
    check_keys,
    describe,
    is_name,
    number_hint,
    root_mapping,
)
from .dialect import Dialect, FileKind, dialect_of
from .hardware_spec import HardwareSpec, served_dims
from .loader import Document, YamlMap, YamlNode, YamlScalar, load_yaml, to_plain
from .zigzag import build_zigzag_hardware

AUTO = "auto"
DEFAULT_NODE_NM = 28

TOP_REQUIRED = ("name", "memories", "array")
TOP_OPTIONAL = ("validation",)
MEMORY_REQUIRED = (
    "capacity_bits",
    "operands",
    "read_bw_bits",
    "write_bw_bits",
    "read_energy_pj",
    "write_energy_pj",
    "area_mm2",
)
MEMORY_OPTIONAL = ("latency_cycles", "served_dims", "kind", "ports", "double_buffered")
IMC_REQUIRED = ("type", "imc_type", "dims", "input_bits", "weight_bits", "input_bits_per_cycle")
IMC_OPTIONAL = (
    "adc_bits",
    "dac_bits",
    "cells_per_group",
    "node_nm",
    "vdd_v",
    "input_toggle_rate",
    "weight_sparsity",
    "cell_area_um2",
)
DIGITAL_REQUIRED = ("type", "dims", "mac_energy_pj")
DIGITAL_OPTIONAL = ("pe_area_mm2", "tclk_ns", "node_nm")
ARRAY_TYPES = ("imc", "digital")
IMC_TYPES = tuple(t.value for t in ImcType)
# Instances holding the dataclass defaults, so absent optional keys take them from one place.
_IMC_DEFAULTS = ImcArray(ImcType.DIGITAL, (), input_bits=1, weight_bits=1, input_bits_per_cycle=1)
_DIGITAL_DEFAULTS = DigitalArray((), mac_energy_pj=0.0)
MEMORY_KINDS = tuple(k.value for k in MemoryKind)


def load_accelerator(path: str | Path) -> Accelerator:
    return load_hardware_spec(path).accelerator


def load_hardware_spec(path: str | Path) -> HardwareSpec:
    return read_hardware_spec(load_yaml(path))


def read_hardware_spec(doc: Document) -> HardwareSpec:
    """A parsed hardware file in either dialect (a ZigZag 3.x file is read as it is)."""
    if dialect_of(doc, FileKind.HARDWARE) is Dialect.ZIGZAG:
        return build_zigzag_hardware(doc)
    return build_hardware_spec(doc)


def build_hardware_spec(doc: Document) -> HardwareSpec:
    """Validate a parsed hardware file and build it; raise SpecError listing every issue."""
    issues = Issues(doc.file, doc.issues)
    root = root_mapping(issues, doc.root, "name, memories, array")
    top = Fields(issues, root, TOP_REQUIRED, TOP_OPTIONAL)
    name = top.text("name")
    array_node = top.get("array")
    parsed_array = _array(issues, array_node) if array_node is not None else None
    memories_node = top.get("memories")
    dim_names = _declared_dim_names(array_node)
    memories = (
        _memories(issues, memories_node, parsed_array, dim_names) if memories_node is not None else None
    )
    validation_node = top.mapping("validation")
    if issues or name is None or parsed_array is None or memories is None:
        issues.fail()
    accelerator = Accelerator(name=name, memories=memories, array=parsed_array[0])
    raw = _plain_mapping(validation_node) if validation_node is not None else None
    return HardwareSpec(accelerator=accelerator, validation_raw=raw, source=doc.file)


def _declared_dim_names(array_node: YamlNode | None) -> tuple[str, ...] | None:
    """The array dim names as written, even if the array is otherwise invalid, so served_dims can
    still be checked against them (None when the dims themselves are unreadable)."""
    if not isinstance(array_node, YamlMap):
        return None
    dims = array_node.items.get("dims")
    if not isinstance(dims, YamlMap) or not dims.items:
        return None
    return tuple(dims.items)


def _plain_mapping(node: YamlMap) -> dict[str, object]:
    return {key: to_plain(value) for key, value in node.items.items()}


# --- array ------------------------------------------------------------------------------------

# The array with the technology node used to estimate `auto` memory costs.
_ParsedArray = tuple[OperationalArray, int]


def _array(issues: Issues, node: YamlNode) -> _ParsedArray | None:
    array = as_map(issues, node)
    if array is None:
        return None
    type_node = array.items.get("type")
    if type_node is None:
        issues.at(array, "missing required key 'type'", "expected one of: imc, digital")
        kind = None
    else:
        kind = as_choice(issues, type_node, ARRAY_TYPES, "array type")
    if kind == "imc":
        return _imc_array(issues, array)
    if kind == "digital":
        return _digital_array(issues, array)
    # Unknown type: still catch typos in the other keys, against every key an array may hold.
    every_key = dict.fromkeys(IMC_REQUIRED + IMC_OPTIONAL + DIGITAL_REQUIRED + DIGITAL_OPTIONAL)
    check_keys(issues, array, (), tuple(every_key))
    return None


def _dims(issues: Issues, node: YamlNode | None, at_least: int, what: str) -> tuple[ArrayDim, ...] | None:
    if node is None:
        return None
    dims = as_map(issues, node, "a mapping of array dim name to size, e.g. {D1: 128, D2: 128}")
    if dims is None:
        return None
    out: list[ArrayDim] = []
    ok = True
    for name, size_node in dims.items.items():
        if not is_name(name):
            issues.at_key(dims, name, f"array dim name '{name}' must be {NAME_RULE}")
            ok = False
        size = as_int(issues, size_node, minimum=1)
        if size is None:
            ok = False
        else:
            out.append(ArrayDim(name, size))
    if len(dims.items) < at_least:
        issues.at(dims, f"{what} needs at least {at_least} dims (got {len(dims.items)})")
        return None
    return tuple(out) if ok else None


def _is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _imc_array(issues: Issues, array: YamlMap) -> _ParsedArray | None:
    f = Fields(issues, array, IMC_REQUIRED, IMC_OPTIONAL)
    imc_type = f.choice("imc_type", IMC_TYPES, what="IMC type")
    dims = _dims(issues, f.get("dims"), 2, "an IMC array (D1 columns, D2 rows, then macros)")
    input_bits = f.integer("input_bits", minimum=1)
    weight_bits = f.integer("weight_bits", minimum=1)
    bits_per_cycle = f.integer("input_bits_per_cycle", minimum=1)
    cells_per_group = f.integer("cells_per_group", minimum=1)
    node_nm = f.integer("node_nm", minimum=1)
    vdd_v = f.number("vdd_v", minimum=0, min_open=True)
    toggle = f.number("input_toggle_rate", minimum=0, maximum=1)
    sparsity = f.number("weight_sparsity", minimum=0, maximum=1, max_open=True)
    cell_area = f.number("cell_area_um2", minimum=0)
    adc_bits, dac_bits = _converters(issues, f, array, imc_type)

    if input_bits is not None and bits_per_cycle is not None and bits_per_cycle > input_bits:
        issues.at(
            _node(f, "input_bits_per_cycle"),
            f"must be <= input_bits = {input_bits} (got {bits_per_cycle})",
        )
    if imc_type == ImcType.DIGITAL.value:
        dims_node = f.get("dims")
        if dims is not None and isinstance(dims_node, YamlMap) and not _is_power_of_2(dims[1].size):
            issues.at(
                dims_node.items[dims[1].name],
                f"rows (the second dim) must be a power of 2 for a digital IMC array (got {dims[1].size})",
                "its adder trees sum a power-of-2 number of rows (imc-model.md 7.2)",
            )
        if bits_per_cycle is not None and not _is_power_of_2(bits_per_cycle):
            issues.at(
                _node(f, "input_bits_per_cycle"),
                f"must be a power of 2 for a digital IMC array (got {bits_per_cycle})",
            )
    if imc_type == ImcType.ANALOG.value and weight_bits is not None and not _is_power_of_2(weight_bits):
        issues.at(_node(f, "weight_bits"), f"must be a power of 2 for an analog IMC array (got {weight_bits})")

    if (
        imc_type is None
        or dims is None
        or input_bits is None
        or weight_bits is None
        or bits_per_cycle is None
        or adc_bits is None
        or dac_bits is None
    ):
        return None
    d = _IMC_DEFAULTS
    imc = ImcArray(
        imc_type=ImcType(imc_type),
        dims=dims,
        input_bits=input_bits,
        weight_bits=weight_bits,
        input_bits_per_cycle=bits_per_cycle,
        adc_bits=adc_bits,
        dac_bits=dac_bits,
        cells_per_group=d.cells_per_group if cells_per_group is None else cells_per_group,
        node_nm=d.node_nm if node_nm is None else node_nm,
        vdd_v=d.vdd_v if vdd_v is None else vdd_v,
        input_toggle_rate=d.input_toggle_rate if toggle is None else toggle,
        weight_sparsity=d.weight_sparsity if sparsity is None else sparsity,
        cell_area_um2=d.cell_area_um2 if cell_area is None else cell_area,
    )
    return imc, imc.node_nm


def _converters(
    issues: Issues, f: Fields, array: YamlMap, imc_type: str | None
) -> tuple[float | None, int | None]:
    """ADC and DAC bits: an analog array needs an ADC; a digital one has neither.

    ADC bits may be fractional: an ADC rule such as ``Bc + 0.5 * log2(rows)`` (the ICCAD 2023 case
    study) gives 4.5 bits, and the cost formulas are continuous in them. A whole number stays an int.
    """
    if imc_type == ImcType.ANALOG.value:
        if not f.has("adc_bits"):
            issues.at(array, "missing required key 'adc_bits'", "an analog IMC array needs its ADC resolution")
            return None, f.integer("dac_bits", 0, minimum=0)
        return _whole_as_int(f.number("adc_bits", minimum=1)), f.integer("dac_bits", 0, minimum=0)
    adc_bits = _whole_as_int(f.number("adc_bits", 0, minimum=0))
    dac_bits = f.integer("dac_bits", 0, minimum=0)
    if imc_type != ImcType.DIGITAL.value:
        return adc_bits, dac_bits
    for key, value in (("adc_bits", adc_bits), ("dac_bits", dac_bits)):
        if value:
            issues.at(_node(f, key), f"must be 0 or absent for a digital IMC array (got {value})")
    return (0, 0) if not (adc_bits or dac_bits) else (None, None)


def _whole_as_int(value: float | None) -> float | None:
    """4.0 -> 4, so that a whole ADC resolution reads, prints and serializes as before."""
    return int(value) if value is not None and float(value).is_integer() else value


def _digital_array(issues: Issues, array: YamlMap) -> _ParsedArray | None:
    f = Fields(issues, array, DIGITAL_REQUIRED, DIGITAL_OPTIONAL)
    dims = _dims(issues, f.get("dims"), 1, "a digital array")
    mac_energy = f.number("mac_energy_pj", minimum=0)
    pe_area = f.number("pe_area_mm2", minimum=0)
    tclk = f.number("tclk_ns", minimum=0, min_open=True)
    node_nm = f.integer("node_nm", DEFAULT_NODE_NM, minimum=1)
    if dims is None or mac_energy is None or node_nm is None:
        return None
    d = _DIGITAL_DEFAULTS
    digital = DigitalArray(
        dims=dims,
        mac_energy_pj=mac_energy,
        pe_area_mm2=d.pe_area_mm2 if pe_area is None else pe_area,
        tclk_ns=d.tclk_ns if tclk is None else tclk,
    )
    return digital, node_nm


def _node(f: Fields, key: str) -> YamlNode:
    node = f.get(key)
    return node if node is not None else f.node


# --- memories ---------------------------------------------------------------------------------


def _memories(
    issues: Issues, node: YamlNode, array: _ParsedArray | None, dim_names: tuple[str, ...] | None
) -> tuple[MemoryLevel, ...] | None:
    memories = as_map(issues, node, "a mapping of memory name to memory, lowest level first")
    if memories is None:
        return None
    if not memories.items:
        issues.at(memories, "must define at least one memory")
        return None
    node_nm = array[1] if array is not None else None
    levels: list[MemoryLevel] = []
    for name, mem_node in memories.items.items():
        if not is_name(name):
            issues.at_key(memories, name, f"memory name '{name}' must be {NAME_RULE}")
        level = _memory(issues, name, mem_node, dim_names, node_nm)
        if level is not None:
            levels.append(level)
    if len(levels) != len(memories.items):
        return None
    for operand in MEMORY_OPERANDS:
        if not any(level.holds(operand) for level in levels):
            issues.at(
                memories,
                f"no memory holds operand '{operand}'",
                f"every one of {', '.join(MEMORY_OPERANDS)} needs at least one level (the top one usually holds all)",
            )
    return tuple(levels)


def _memory(
    issues: Issues, name: str, node: YamlNode, dim_names: tuple[str, ...] | None, node_nm: int | None
) -> MemoryLevel | None:
    mem = as_map(issues, node)
    if mem is None:
        return None
    f = Fields(issues, mem, MEMORY_REQUIRED, MEMORY_OPTIONAL)
    capacity = f.integer("capacity_bits", minimum=1)
    operands_node = f.get("operands")
    operands = (
        as_choice_list(issues, operands_node, MEMORY_OPERANDS, "memory operand", nonempty=True)
        if operands_node is not None
        else None
    )
    read_bw = f.integer("read_bw_bits", minimum=1)
    write_bw = f.integer("write_bw_bits", minimum=1)
    read_energy = _number_or_auto(issues, f, "read_energy_pj")
    write_energy = _number_or_auto(issues, f, "write_energy_pj")
    area = _number_or_auto(issues, f, "area_mm2")
    latency = f.integer("latency_cycles", 1, minimum=0)
    served = served_dims(issues, f.get("served_dims"), dim_names)
    kind = f.choice("kind", MEMORY_KINDS, MemoryKind.SRAM.value, what="memory kind")
    ports = f.integer("ports", 1, minimum=1)
    double_buffered = f.flag("double_buffered", False)
    if (
        capacity is None
        or operands is None
        or read_bw is None
        or write_bw is None
        or read_energy is None
        or write_energy is None
        or area is None
        or latency is None
        or served is None
        or kind is None
        or ports is None
        or double_buffered is None
    ):
        return None
    too_wide = [(key, w) for key, w in (("read_bw_bits", read_bw), ("write_bw_bits", write_bw)) if w > capacity]
    for key, width in too_wide:  # a port wider than the whole memory is a typo in one of the two
        issues.at(_node(f, key), f"must be <= capacity_bits = {capacity} (got {width})")
    if too_wide:
        return None
    if AUTO in (read_energy, write_energy, area):
        if node_nm is None:  # the array is invalid (already reported): nothing to estimate with
            return None
        estimate = _estimate(issues, f, capacity, read_bw, write_bw, MemoryKind(kind), node_nm, ports)
        if estimate is None:
            return None
        read_energy = estimate.read_energy_pj if read_energy == AUTO else read_energy
        write_energy = estimate.write_energy_pj if write_energy == AUTO else write_energy
        area = estimate.area_mm2 if area == AUTO else area
    return MemoryLevel(
        name=name,
        capacity_bits=capacity,
        operands=operands,
        read_bw_bits=read_bw,
        write_bw_bits=write_bw,
        read_energy_pj=float(read_energy),
        write_energy_pj=float(write_energy),
        area_mm2=float(area),
        latency_cycles=latency,
        served_dims=served,
        kind=MemoryKind(kind),
        double_buffered=double_buffered,
        ports=ports,
    )


def _number_or_auto(issues: Issues, f: Fields, key: str) -> float | str | None:
    node = f.get(key)
    if node is None:
        return None  # required: Fields reported it
    if isinstance(node, YamlScalar) and isinstance(node.value, str):
        if node.value == AUTO:
            return AUTO
        issues.at(node, f"expected a number or auto, got {describe(node)}", number_hint(node))
        return None
    return as_number(issues, node, minimum=0)


def _estimate(
    issues: Issues,
    f: Fields,
    capacity: int,
    read_bw: int,
    write_bw: int,
    kind: MemoryKind,
    node_nm: int,
    ports: int,
) -> _MemoryCost | None:
    first_auto = next(
        n for key in ("read_energy_pj", "write_energy_pj", "area_mm2")
        if isinstance(n := _node(f, key), YamlScalar) and n.value == AUTO
    )
    try:
        from imcmap.models.memory import (
            memory_cost,  # lazy: optional until that model exists
        )
    except ImportError:
        issues.at(first_auto, "'auto' needs imcmap.models.memory, which is not available", "give the number")
        return None
    try:
        cost: _MemoryCost = memory_cost(
            capacity_bits=capacity,
            read_bw_bits=read_bw,
            write_bw_bits=write_bw,
            kind=kind,
            node_nm=node_nm,
            ports=ports,
        )
    except (ValueError, ArithmeticError) as exc:  # the model's way of saying "outside my range"
        issues.at(first_auto, f"cannot estimate this memory automatically: {exc}", "give the number")
        return None
    return cost


class _MemoryCost(Protocol):
    """What ``memory_cost`` returns, as far as this module relies on it."""

    @property
    def read_energy_pj(self) -> float: ...

    @property
    def write_energy_pj(self) -> float: ...

    @property
    def area_mm2(self) -> float: ...
