"""ZigZag 3.x hardware files -> ``ZigZagHardwareSpec`` (``build_zigzag_hardware``)::

    ZigZag                                  imcmap (MemoryLevel / ImcArray / DigitalArray)
    memories (lowest first)                 memories, same order
      size                                  capacity_bits
      r_cost, w_cost (pJ per access)        read_energy_pj, write_energy_pj
      area                                  area_mm2 (per instance; see below)
      latency                               latency_cycles
      operands [I1, I2, O]                  operands
      ports[].bandwidth_max                 read_bw_bits (read / read_write ports), write_bw_bits
                                            (write / read_write ports); the ports of one direction
                                            must agree
      len(ports)                            ports (2 = a separate read and write port, as the bundled
                                            dimc/aimc files count them)
      served_dimensions                     served_dims (1:1)
      mem_type sram | rf | dram             kind; absent: from the name ("dram..." -> dram,
                                            "rf..."/"reg..." -> rf, else sram), with a warning, since
                                            imcmap uses the kind (off-chip DRAM is never a place to
                                            keep a layer's output) and ZigZag only passes it to CACTI
      force_double_buffering                double_buffered
      auto_cost_extraction: true            costs from imcmap's ``models.memory.memory_cost`` at 22 nm
                                            (CACTI's default in ZigZag), with a warning: ZigZag would
                                            run CACTI. As in ZigZag, given r_cost/w_cost/area are replaced.
    operational_array
      dimensions + sizes                    dims, sorted by name (ZigZag: the first sorted dim is the
                                            wordline D1, the second the bitline D2, the rest macros)
      is_imc: true                          ImcArray: imc_type (absent = digital, as in ZigZag),
                                            input_precision [Bi, Bw] -> input_bits, weight_bits,
                                            bit_serial_precision -> input_bits_per_cycle (and the DAC
                                            width of an analog array), adc_resolution -> adc_bits,
                                            cells.size / Bw -> cells_per_group,
                                            cells.area (mm2 per cell group) -> cell_area_um2;
                                            ZigZag's fixed assumptions: 28 nm, 0.9 V, full activity
                                            (toggle rate 1, weight sparsity 0)
      is_imc: false                         DigitalArray: unit_energy -> mac_energy_pj,
                                            unit_area -> pe_area_mm2, clock 1 ns

Cost rules: the accelerator gets ``rules = CostRules.ZIGZAG``, so the evaluator prices memory traffic and
latency by ZigZag 3.9.1's rules (``models/zigzag_rules.py``: transfers in whole ``bandwidth_min`` words,
partial sums read back per write, per-port stall windows, on-/off-loading). Each port is kept with its
widths and ``allocation`` (the operand must be held, the direction must fit the port type, and every
transfer those rules price needs a port); ``read_bw_bits`` / ``write_bw_bits`` (the solver's own rules)
take the ports' ``bandwidth_max``.
Area: ZigZag 3.9.1 adds each memory's ``area`` once; imcmap multiplies it by the instance count, and
prices the IMC cells only through ``cell_area_um2`` (the ``cells`` level itself gets area 0, so the cells
are not counted twice).
Rejected: ``dataflows`` (put the unrolling in the mapping file), non-empty ``systolic_dimensions``,
``auto_cost_extraction`` on the IMC ``cells`` (ZigZag 3.9.1 itself fails there), and unknown keys.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from imcmap.models.hardware import (
    MEMORY_OPERANDS,
    Accelerator,
    ArrayDim,
    CostRules,
    DigitalArray,
    ImcArray,
    ImcType,
    MemoryKind,
    MemoryLevel,
    OperationalArray,
    Port,
)

from ..checks import Fields, Issues, as_choice, as_int, as_map, as_number, as_seq, as_str, describe
from ..hardware_spec import HardwareSpec, served_dims
from ..loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq
from .common import Notes, array_dim_index, fail, issues_of, node_or, present

# ZigZag 3.9.1's fixed assumptions for its IMC model (imc_unit.py TECH_PARAM_28NM, full activity).
ZIGZAG_IMC_NODE_NM = 28
ZIGZAG_IMC_VDD_V = 0.9
ZIGZAG_TOGGLE_RATE = 1.0
ZIGZAG_WEIGHT_SPARSITY = 0.0
ZIGZAG_CACTI_NODE_NM = 22  # the node ZigZag's CACTI wrapper uses for auto_cost_extraction
UM2_PER_MM2 = 1e6


@dataclass(frozen=True, slots=True)
class ZigZagHardwareSpec(HardwareSpec):
    """A hardware spec read from a ZigZag file, with what imcmap assumed while reading it."""

    warnings: tuple[str, ...] = ()


HW_TOP_REQUIRED = ("name", "memories", "operational_array")
HW_TOP_UNSUPPORTED = ("dataflows",)
MEM_REQUIRED = ("size", "latency", "operands", "ports", "served_dimensions")
MEM_OPTIONAL = ("r_cost", "w_cost", "area", "mem_type", "auto_cost_extraction", "force_double_buffering")
PORT_KEYS = ("name", "type", "bandwidth_min", "bandwidth_max", "allocation")
PORT_TYPES = ("read", "write", "read_write")
PORT_NAME = re.compile(r"r?w?_port_\d+")
ALLOCATION = re.compile(r"(I1|I2|O), (fh|tl|fl|th)")
WRITE_DIRECTIONS = ("fh", "fl")  # written from the level above / below
OA_REQUIRED = ("dimensions", "sizes")
OA_OPTIONAL = (
    "is_imc", "systolic_dimensions", "input_precision", "unit_energy", "unit_area", "imc_type",
    "adc_resolution", "bit_serial_precision",
)
IMC_TYPES = tuple(t.value for t in ImcType)
MEM_TYPES = tuple(k.value for k in MemoryKind)


def build_zigzag_hardware(doc: Document) -> ZigZagHardwareSpec:
    """A ZigZag hardware file -> the accelerator it describes; raise SpecError listing every issue."""
    issues = issues_of(doc)
    notes = Notes(doc.file)
    root = doc.root
    if not isinstance(root, YamlMap):  # built without asking specs.dialect; say what is expected
        issues.at_file("expected a ZigZag hardware file: a mapping with name, memories, operational_array")
        fail(issues)
    top = Fields(issues, root, HW_TOP_REQUIRED, HW_TOP_UNSUPPORTED)
    if top.has("dataflows"):
        _unsupported(
            issues, root, "dataflows", "(a fixed spatial unrolling in the hardware file) is not supported",
            "give it as spatial_mapping in the mapping file",
        )
    name = top.text("name")
    oa_node = top.mapping("operational_array")
    dim_names = _declared_dims(oa_node)
    memories_node = top.mapping("memories")
    levels = _zz_memories(issues, notes, root, memories_node, dim_names) if memories_node is not None else None
    array = _zz_array(issues, notes, oa_node, memories_node) if oa_node is not None else None
    if levels is not None and array is not None and memories_node is not None:
        levels = _check_imc_cells(issues, memories_node, levels, array)
    if issues or name is None or levels is None or array is None:
        fail(issues)
    _check_allocations(issues, memories_node, levels)
    if issues:
        fail(issues)
    accelerator = Accelerator(name=name, memories=levels, array=array, rules=CostRules.ZIGZAG)
    return ZigZagHardwareSpec(
        accelerator=accelerator, validation_raw=None, source=doc.file, warnings=tuple(notes.found)
    )


def _declared_dims(oa: YamlMap | None) -> tuple[str, ...] | None:
    """The array dim names as written, so served_dimensions can be checked even if the array is not."""
    names = oa.items.get("dimensions") if oa is not None else None
    if not isinstance(names, YamlSeq):
        return None
    return tuple(str(item.value) for item in names.items if isinstance(item, YamlScalar))


def _oa_dims(issues: Issues, f: Fields) -> tuple[ArrayDim, ...] | None:
    names_node, sizes_node = f.get("dimensions"), f.get("sizes")
    if names_node is None or sizes_node is None:
        return None  # reported by Fields
    names_seq = as_seq(issues, names_node, "a list of array dims, e.g. [D1, D2]")
    sizes_seq = as_seq(issues, sizes_node, "a list of array dim sizes, e.g. [128, 128]")
    if names_seq is None or sizes_seq is None:
        return None
    names: list[str] = []
    ok = True
    for item in names_seq.items:
        text = as_str(issues, item)
        if text is None:
            ok = False
        elif array_dim_index(text) is None:
            issues.at(item, f"array dim '{text}' must be D<digit>, e.g. D1", "ZigZag names its array dims D1, D2, ...")
            ok = False
        elif text in names:
            issues.at(item, f"array dim '{text}' is listed twice")
            ok = False
        else:
            names.append(text)
    sizes = [as_int(issues, item, minimum=1) for item in sizes_seq.items]
    if len(names_seq.items) != len(sizes_seq.items):
        issues.at(
            sizes_seq,
            f"{len(sizes_seq.items)} sizes for {len(names_seq.items)} dimensions",
            "give one size per dimension, in the same order",
        )
        return None
    if not names_seq.items:
        issues.at(names_seq, "must list at least one array dim")
        return None
    if not ok or any(size is None for size in sizes):
        return None
    dims = [ArrayDim(n, s) for n, s in zip(names, sizes, strict=True) if s is not None]
    return tuple(sorted(dims, key=lambda d: (array_dim_index(d.name) or 0, d.name)))


def _zz_array(
    issues: Issues, notes: Notes, oa: YamlMap, memories: YamlMap | None
) -> OperationalArray | None:
    f = Fields(issues, oa, OA_REQUIRED, OA_OPTIONAL)
    dims = _oa_dims(issues, f)
    systolic = f.sequence("systolic_dimensions")
    if systolic is not None and systolic.items:
        _unsupported(
            issues, oa, "systolic_dimensions", "is not supported: imcmap has no systolic-array latency model",
            "remove it (or use systolic_dimensions: []) to model the array as a plain PE array",
        )
    is_imc = f.flag("is_imc", False)
    if is_imc is None or dims is None:
        return None
    if is_imc:
        if memories is None:
            return None  # missing or not a mapping: reported
        return _zz_imc_array(issues, notes, f, oa, dims, memories)
    return _zz_digital_array(issues, f, oa, dims)


def _zz_digital_array(issues: Issues, f: Fields, oa: YamlMap, dims: tuple[ArrayDim, ...]) -> DigitalArray | None:
    for key in ("imc_type", "bit_serial_precision", "adc_resolution"):
        node = f.get(key)
        if node is not None and not (isinstance(node, YamlScalar) and node.value in (None, 0)):
            issues.at_key(oa, key, f"'{key}' is set but is_imc is false", "set is_imc: true for an IMC array")
    for key in ("unit_energy", "unit_area"):
        if not f.has(key):
            issues.at(
                oa, f"missing required key '{key}'", "a digital (is_imc: false) array needs unit_energy and unit_area"
            )
    energy = f.number("unit_energy", minimum=0)
    area = f.number("unit_area", minimum=0)
    if energy is None or area is None:
        return None
    return DigitalArray(dims=dims, mac_energy_pj=energy, pe_area_mm2=area)


def _zz_imc_array(
    issues: Issues, notes: Notes, f: Fields, oa: YamlMap, dims: tuple[ArrayDim, ...], memories: YamlMap
) -> ImcArray | None:
    for key in ("unit_energy", "unit_area"):
        if f.has(key):
            notes.at_key(oa, key, f"'{key}' is not used for an IMC array (ZigZag ignores it too)")
    if len(dims) < 2:
        issues.at(oa, f"an IMC array needs at least two dimensions (wordline, bitline); got {len(dims)}")
    imc_type = f.choice("imc_type", IMC_TYPES, ImcType.DIGITAL.value, what="IMC type")
    precision = _input_precision(issues, f, oa)
    if not f.has("bit_serial_precision"):
        issues.at(oa, "missing required key 'bit_serial_precision'", "input bits fed per cycle, e.g. 1 or 2")
    serial_node = f.get("bit_serial_precision")
    serial = _integral(issues, serial_node, minimum=1) if serial_node is not None else None
    adc_node = f.get("adc_resolution")
    adc = _integral(issues, adc_node, minimum=0) if adc_node is not None else 0
    if serial is not None and serial_node is not None:
        if not _is_power_of_2(serial):
            issues.at(serial_node, f"must be a power of 2 (got {serial})")
            serial = None
        elif precision is not None and serial > precision[0]:
            issues.at(serial_node, f"must be <= the input precision {precision[0]} (got {serial})")
            serial = None
    if imc_type == ImcType.DIGITAL.value and adc:
        issues.at(node_or(adc_node, oa), f"must be 0 or absent for a digital IMC array (got {adc})")
        adc = None
    if imc_type == ImcType.ANALOG.value and adc == 0:
        issues.at(
            node_or(adc_node, oa),
            "an analog IMC array needs adc_resolution >= 1",
            "ZigZag prices a 0-bit ADC as free; imcmap's analog model needs the ADC width",
        )
        adc = None
    if (
        imc_type == ImcType.DIGITAL.value
        and len(dims) >= 2
        and not _is_power_of_2(dims[1].size)
    ):
        issues.at(
            node_or(f.get("sizes"), oa),
            f"the bitline dimension {dims[1].name} must be a power of 2 for a digital IMC array (got {dims[1].size})",
            "its adder trees sum a power-of-2 number of rows",
        )
        return None
    cells = _cells_geometry(issues, memories, precision)
    if imc_type is None or precision is None or serial is None or adc is None or cells is None or len(dims) < 2:
        return None
    group, cell_area_mm2 = cells
    analog = imc_type == ImcType.ANALOG.value
    return ImcArray(
        imc_type=ImcType(imc_type),
        dims=dims,
        input_bits=precision[0],
        weight_bits=precision[1],
        input_bits_per_cycle=serial,
        adc_bits=adc,
        dac_bits=serial if analog else 0,  # ZigZag's DAC converts the bit_serial_precision input slice
        cells_per_group=group,
        node_nm=ZIGZAG_IMC_NODE_NM,
        vdd_v=ZIGZAG_IMC_VDD_V,
        input_toggle_rate=ZIGZAG_TOGGLE_RATE,
        weight_sparsity=ZIGZAG_WEIGHT_SPARSITY,
        cell_area_um2=cell_area_mm2 * UM2_PER_MM2,
    )


def _input_precision(issues: Issues, f: Fields, oa: YamlMap) -> tuple[int, int] | None:
    node = f.get("input_precision")
    if node is None:
        issues.at(
            oa, "missing required key 'input_precision'", "an IMC array needs [input bits, weight bits], e.g. [8, 8]"
        )
        return None
    seq = as_seq(issues, node, "a list [input bits, weight bits]")
    if seq is None:
        return None
    if len(seq.items) != 2:
        issues.at(seq, f"expected [input bits, weight bits], got {len(seq.items)} values")
        return None
    values = [as_int(issues, item, minimum=1) for item in seq.items]
    ok = True
    for item, value in zip(seq.items, values, strict=True):
        if value is not None and not _is_power_of_2(value):
            issues.at(item, f"must be a power of 2 (got {value})", "ZigZag's IMC model requires it")
            ok = False
    if not ok or values[0] is None or values[1] is None:
        return None
    return values[0], values[1]


def _cells_geometry(
    issues: Issues, memories: YamlMap, precision: tuple[int, int] | None
) -> tuple[int, float] | None:
    """(weights per cell group, cell area in mm2 per group) from the ``cells`` memory."""
    cells = memories.items.get("cells")
    if cells is None:
        issues.at(memories, "an IMC array needs a memory named 'cells' (its weight cells)", "ZigZag requires it too")
        return None
    if not isinstance(cells, YamlMap):
        return None  # reported with the memories
    size_node, area_node = cells.items.get("size"), cells.items.get("area")
    auto = cells.items.get("auto_cost_extraction")
    if isinstance(auto, YamlScalar) and auto.value is True:
        issues.at(
            auto,
            "auto_cost_extraction on the IMC cells is not supported",
            "give w_cost and area (ZigZag 3.9.1's CACTI call for the cell array fails as well)",
        )
        return None
    if size_node is None or precision is None or not isinstance(size_node, YamlScalar):
        return None
    size = size_node.value
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return None  # reported with the memories
    if size % precision[1]:
        issues.at(size_node, f"must be a multiple of the weight precision {precision[1]} (got {size})")
        return None
    area = 0.0
    if area_node is not None and isinstance(area_node, YamlScalar) and area_node.value is not None:
        value = area_node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            area = float(value)
    return size // precision[1], area


def _check_allocations(issues: Issues, memories: YamlMap | None, levels: tuple[MemoryLevel, ...] | None) -> None:
    """Every transfer ZigZag's rules price needs a port: reads toward the level below (``tl``) and, below
    the top of a chain, writes from above (``fh``); outputs also ``fl`` (written by the level below) and,
    below the top, ``th`` (read out to the level above) and ``fh`` (partial sums coming back down)."""
    if memories is None or levels is None:
        return
    for operand in MEMORY_OPERANDS:
        chain = [level for level in levels if level.holds(operand)]
        for i, level in enumerate(chain):
            top = i == len(chain) - 1
            needed: tuple[str, ...] = ("fl", "tl") if operand == "O" else ("tl",)
            if not top:
                needed += ("th", "fh") if operand == "O" else ("fh",)
            carried = {pair for port in level.port_allocation for pair in port.serves}
            missing = [d for d in needed if (operand, d) not in carried]
            if missing:
                node = memories.items.get(level.name)
                where = node.items.get("ports") if isinstance(node, YamlMap) else None
                issues.at(
                    node_or(where, node if node is not None else memories),
                    f"no port of '{level.name}' is allocated " + ", ".join(f"'{operand}, {d}'" for d in missing),
                    "ZigZag's rules price every transfer on the port that carries it; add it to a port's allocation",
                )


def _check_imc_cells(
    issues: Issues, memories: YamlMap, levels: tuple[MemoryLevel, ...], array: OperationalArray
) -> tuple[MemoryLevel, ...] | None:
    """ZigZag's rules for ``cells`` (I2 only, unrolled over every dim, the lowest weight level)."""
    if not isinstance(array, ImcArray):
        return levels
    by_name = {level.name: level for level in levels}
    cells = by_name.get("cells")
    if cells is None:
        return None
    node = memories.items["cells"]
    where = node if isinstance(node, YamlMap) else memories
    ok = True
    if cells.operands != ("I2",):
        issues.at(node_or(where.items.get("operands") if isinstance(where, YamlMap) else None, where),
                  "the IMC cells must hold only I2 (the weights)", "set operands: [I2]")
        ok = False
    if cells.served_dims:
        issues.at(node_or(where.items.get("served_dimensions") if isinstance(where, YamlMap) else None, where),
                  "the IMC cells must be unrolled over every array dim", "set served_dimensions: []")
        ok = False
    lowest_w = next((level for level in levels if level.holds("I2")), None)
    if lowest_w is not None and lowest_w.name != "cells":
        issues.at(where, f"the cells must be the lowest memory holding I2 (found '{lowest_w.name}' below them)")
        ok = False
    if not ok:
        return None
    # The cell area is priced by the array (cell_area_um2); the level itself gets none.
    return tuple(dataclasses.replace(level, area_mm2=0.0) if level is cells else level for level in levels)


def _zz_memories(
    issues: Issues, notes: Notes, root: YamlMap, memories: YamlMap, dim_names: tuple[str, ...] | None
) -> tuple[MemoryLevel, ...] | None:
    if not memories.items:
        issues.at(memories, "must define at least one memory")
        return None
    levels: list[MemoryLevel] = []
    inferred: list[str] = []
    for name, node in memories.items.items():
        level = _zz_memory(issues, notes, name, node, dim_names, inferred)
        if level is not None:
            levels.append(level)
    if inferred:
        notes.at_key(
            root,
            "memories",
            f"no mem_type given: kinds taken from the names ({'; '.join(inferred)}); imcmap uses the kind "
            "to tell off-chip DRAM from on-chip memory, ZigZag only passes it to CACTI",
        )
    if len(levels) != len(memories.items):
        return None
    for operand in MEMORY_OPERANDS:
        if not any(level.holds(operand) for level in levels):
            issues.at(memories, f"no memory holds operand '{operand}'")
    return tuple(levels)


def _kind_from_name(name: str) -> MemoryKind:
    low = name.lower()
    if "dram" in low:
        return MemoryKind.DRAM
    if low.startswith(("rf", "reg")):
        return MemoryKind.RF
    return MemoryKind.SRAM


def _zz_memory(
    issues: Issues,
    notes: Notes,
    name: str,
    node: YamlNode,
    dim_names: tuple[str, ...] | None,
    inferred: list[str],
) -> MemoryLevel | None:
    mem = as_map(issues, node)
    if mem is None:
        return None
    f = Fields(issues, mem, MEM_REQUIRED, MEM_OPTIONAL)
    size = f.integer("size", minimum=1)
    latency = f.integer("latency", minimum=0)
    operands = _operands(issues, f.get("operands"))
    served = served_dims(issues, f.get("served_dimensions"), dim_names, dims_label="operational_array dimensions")
    auto = f.flag("auto_cost_extraction", False)
    double = f.flag("force_double_buffering", False)
    kind_node = f.get("mem_type")
    kind: MemoryKind | None
    if kind_node is None:
        kind = _kind_from_name(name)
        if kind is not MemoryKind.SRAM:
            inferred.append(f"{name} -> {kind.value}")
    else:
        chosen = as_choice(issues, kind_node, MEM_TYPES, "mem_type")
        kind = MemoryKind(chosen) if chosen is not None else None
    ports = _ports(issues, mem, f.get("ports"), operands)
    costs: dict[str, float | None] = {}
    replaced: list[str] = []
    for key in ("r_cost", "w_cost", "area"):
        value_node = present(f.get(key))
        if auto:
            if value_node is not None:
                replaced.append(key)
        elif value_node is None:
            issues.at(mem, f"missing required key '{key}'", "give it, or set auto_cost_extraction: true")
            costs[key] = None
        else:
            costs[key] = as_number(issues, value_node, minimum=0)
    if (
        size is None or latency is None or operands is None or served is None or auto is None
        or double is None or kind is None or ports is None or any(v is None for v in costs.values())
    ):
        return None
    read_bw, write_bw, port_count, allocation = ports
    if auto:
        estimate = _auto_costs(issues, mem, size, read_bw, write_bw, kind, port_count)
        if estimate is None:
            return None
        costs = dict(zip(("r_cost", "w_cost", "area"), estimate, strict=True))
        notes.at_key(
            mem, "auto_cost_extraction",
            f"costs of '{name}' estimated by imcmap's memory model at {ZIGZAG_CACTI_NODE_NM} nm "
            f"(read {estimate[0]:.4g} pJ, write {estimate[1]:.4g} pJ, {estimate[2]:.4g} mm2); ZigZag would run CACTI"
            + (f"; the given {', '.join(replaced)} are replaced, as ZigZag does" if replaced else ""),
        )
    return MemoryLevel(
        name=name,
        capacity_bits=size,
        operands=operands,
        read_bw_bits=read_bw,
        write_bw_bits=write_bw,
        read_energy_pj=float(costs["r_cost"] or 0.0),
        write_energy_pj=float(costs["w_cost"] or 0.0),
        area_mm2=float(costs["area"] or 0.0),
        latency_cycles=latency,
        served_dims=served,
        kind=kind,
        double_buffered=double,
        ports=port_count,
        port_allocation=allocation,
    )


def _auto_costs(
    issues: Issues, mem: YamlMap, size: int, read_bw: int, write_bw: int, kind: MemoryKind, ports: int
) -> tuple[float, float, float] | None:
    from imcmap.models.memory import memory_cost

    try:
        cost = memory_cost(
            capacity_bits=size, read_bw_bits=read_bw, write_bw_bits=write_bw, kind=kind,
            node_nm=ZIGZAG_CACTI_NODE_NM, ports=ports,
        )
    except (ValueError, ArithmeticError) as exc:
        issues.at_key(
            mem, "auto_cost_extraction", f"cannot estimate this memory: {exc}", "give r_cost, w_cost and area"
        )
        return None
    return cost.read_energy_pj, cost.write_energy_pj, cost.area_mm2


def _operands(issues: Issues, node: YamlNode | None) -> tuple[str, ...] | None:
    if node is None:
        return None
    seq = as_seq(issues, node, "a list of memory operands, e.g. [I1, O]")
    if seq is None:
        return None
    out: list[str] = []
    ok = True
    for item in seq.items:
        value = as_choice(issues, item, MEMORY_OPERANDS, "memory operand")
        if value is None:
            ok = False
        elif value in out:
            issues.at(item, f"memory operand '{value}' is listed twice")
            ok = False
        else:
            out.append(value)
    if not seq.items:
        issues.at(seq, "must list at least one memory operand (I1, I2, O)")
        return None
    return tuple(out) if ok else None


def _ports(
    issues: Issues, mem: YamlMap, node: YamlNode | None, operands: tuple[str, ...] | None
) -> tuple[int, int, int, tuple[Port, ...]] | None:
    """(read width, write width, number of ports, the ports with their allocations) from ZigZag's port list."""
    if node is None:
        return None
    seq = as_seq(issues, node, "a list of ports, each with name, type, bandwidth_min, bandwidth_max, allocation")
    if seq is None:
        return None
    if not seq.items:
        issues.at(seq, "must list at least one port")
        return None
    read: list[tuple[int, YamlNode]] = []
    write: list[tuple[int, YamlNode]] = []
    names: list[str] = []
    built: list[Port] = []
    ok = True
    for item in seq.items:
        port = as_map(issues, item, "a port (a mapping with name, type, bandwidth_min, bandwidth_max, allocation)")
        if port is None:
            ok = False
            continue
        f = Fields(issues, port, PORT_KEYS)
        name = f.text("name")
        name_node = f.get("name")
        if name is not None and name_node is not None:
            if not PORT_NAME.fullmatch(name):
                issues.at(name_node, f"port name '{name}' must look like r_port_1, w_port_1 or rw_port_1")
                ok = False
            elif name in names:
                issues.at(name_node, f"port '{name}' is defined twice")
                ok = False
            names.append(name)
        port_type = f.choice("type", PORT_TYPES, what="port type")
        bw_min = f.integer("bandwidth_min", minimum=1)
        bw_max = f.integer("bandwidth_max", minimum=1)
        if bw_min is not None and bw_max is not None and bw_min > bw_max:
            issues.at(node_or(f.get("bandwidth_min"), port), f"must be <= bandwidth_max = {bw_max} (got {bw_min})")
            ok = False
        serves = _allocation(issues, f.get("allocation"), port_type, operands)
        if serves is None:
            ok = False
        if port_type is None or bw_max is None or bw_min is None or name is None or serves is None:
            ok = False
            continue
        built.append(Port(name, bw_max, bw_min, serves))
        max_node = node_or(f.get("bandwidth_max"), port)
        if port_type in ("read", "read_write"):
            read.append((bw_max, max_node))
        if port_type in ("write", "read_write"):
            write.append((bw_max, max_node))
    if not ok:
        return None
    widths: list[int] = []
    for direction, found in (("read", read), ("write", write)):
        if not found:
            issues.at(seq, f"no {direction} port", f"add a {direction} or read_write port")
            return None
        first = found[0][0]
        for width, where in found[1:]:
            if width != first:
                issues.at(
                    where,
                    f"{direction} ports differ in bandwidth_max ({first} and {width})",
                    f"imcmap models one {direction} width per memory",
                )
                return None
        widths.append(first)
    return widths[0], widths[1], len(seq.items), tuple(built)


def _allocation(
    issues: Issues, node: YamlNode | None, port_type: str | None, operands: tuple[str, ...] | None
) -> frozenset[tuple[str, str]] | None:
    if node is None:
        return None  # reported as missing
    seq = as_seq(issues, node, "a list such as ['I1, tl', 'O, fh']")
    if seq is None:
        return None
    serves: set[tuple[str, str]] = set()
    ok = True
    for item in seq.items:
        text = as_str(issues, item)
        if text is None:
            ok = False
            continue
        match = ALLOCATION.fullmatch(text)
        if match is None:
            issues.at(item, f"allocation '{text}' must be '<I1|I2|O>, <fh|tl|fl|th>'")
            ok = False
            continue
        operand, direction = match.groups()
        if operands is not None and operand not in operands:
            issues.at(item, f"allocates operand {operand}, which this memory does not hold")
            ok = False
        is_write = direction in WRITE_DIRECTIONS
        if (port_type == "read" and is_write) or (port_type == "write" and not is_write):
            issues.at(item, f"direction {direction} does not fit a {port_type} port")
            ok = False
        serves.add((operand, direction))
    return frozenset(serves) if ok else None


def _unsupported(issues: Issues, parent: YamlMap, key: str, message: str, hint: str) -> None:
    issues.at_key(parent, key, f"'{key}' {message}", hint)


def _integral(
    issues: Issues, node: YamlNode, *, minimum: int, maximum: int | None = None
) -> int | None:
    """A ZigZag ``float`` field that imcmap needs whole: 8 or 8.0, not 8.5."""
    number = as_number(issues, node, minimum=minimum, maximum=maximum)
    if number is None:
        return None
    if number != int(number):
        shown = node.text if isinstance(node, YamlScalar) else describe(node)
        issues.at(node, f"must be a whole number (got {shown})")
        return None
    return int(number)


def _is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0
