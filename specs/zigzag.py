"""ZigZag 3.x input files, read as they are: hardware, mapping and workload YAML -> imcmap's types.

``imcmap solve -a dimc.yaml -m default_imc.yaml -w resnet18.onnx`` works with ZigZag's own files.
``specs.hardware``, ``specs.mapping`` and ``specs.workload`` recognise them by their keys and hand them
here; nothing in this module imports ZigZag. What ZigZag 3.9.1 means by a file, imcmap means too, or the
file is rejected with the place of the key imcmap cannot honour (never silently dropped). Where imcmap
fills in an assumption it says so in ``warnings``.

Recognised by (``is_zigzag_*``):

* hardware: a top-level mapping with ``memories`` and ``operational_array`` (imcmap's has ``array``);
* mapping: a top-level *list* of entries with ZigZag's keys (``name``, ``spatial_mapping``, ...);
* workload: a top-level list of layers with ``operator_type`` or ``equation``.

**Hardware** (``build_zigzag_hardware``)::

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

**Mapping** (``build_zigzag_mapping``): one ``MappingRule`` per entry, selected like ZigZag (layer name,
then operator type, then ``default``, which is required). ZigZag uses the chosen entry as a whole, so
every rule is complete: ``spatial_mapping`` ("K, 32" strings, several per array dim = mixed) ->
``fixed_spatial`` (array dims it leaves out stay unused, with a warning: ZigZag would explore them); ``spatial_mapping_hint`` -> ``allowed_spatial``, an array dim the hint leaves out
allowing every loop dim (ZigZag's default), for the dims D1..Dn up to the highest one the file names;
``memory_operand_links`` (default ``{O: O, I: I1, W: I2}``) -> ``operand_links``; diagonal OX/OY
unrolling is whatever the hint allows. Entries for operator types imcmap never prices (Add, Pooling, ...)
are left out with a warning. Rejected: a non-empty ``temporal_ordering`` (the solver takes no loop-order
constraints yet) and an entry that would explore while a less specific entry fixes the unrolling (imcmap
would inherit it). The mapping is read without the accelerator, so "every array dim" means D1..Dn up to
the highest dim the file names; ``check_mapping_against`` then reports hint dims the accelerator lacks.
ZigZag clips a fixed unrolling larger than the layer dim; imcmap needs the factors to divide the layer.

**Workload** (``build_zigzag_workload``): ``Conv``, ``Conv_downsample`` and ``Gemm`` layers become
``Layer`` s (``op`` = the operator type, so mapping entries select them as in ZigZag; name defaults to
``Layer<id>``); every other operator type (Pooling, Add, ...) becomes an unmodelled op. ``loop_dims``
must be imcmap's (B G K C OY OX FY FX; size-1 extras are dropped) and the ``equation`` must give them the
same operands as imcmap does (O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix], in any order);
``dimension_relations`` ``ix = s*ox + d*fx`` give stride s and dilation d; ``operand_precision`` W, I,
O_final, O -> w_bits, i_bits, o_bits, psum_bits; ``operand_source`` I -> ``sources`` (through unmodelled
layers to the nearest compute layers); ``padding`` per ``pr_loop_dims`` entry IY / IX -> (top, bottom) /
(left, right). ``pr_loop_sizes`` must be an input size the windows allow (the span less the padding, up
to stride - 1 rows more, which are never read); with it, only the end padding the last window reaches is
kept, as the ONNX importer does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

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
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS
from imcmap.models.mapping_spec import MappingRule, MappingSpec, SourceRef
from imcmap.models.workload import (
    LOOP_DIMS,
    RELEVANT_DIMS,
    Layer,
    Operand,
    Precision,
    UnmodelledOp,
    Workload,
    end_padding_reached,
)

from .checks import (
    Fields,
    Issues,
    as_choice,
    as_int,
    as_map,
    as_number,
    as_seq,
    as_str,
    describe,
    did_you_mean,
)
from .errors import SpecIssue
from .hardware import HardwareSpec, served_dims
from .loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq

__all__ = [
    "ZigZagHardwareSpec",
    "ZigZagMappingSpec",
    "build_zigzag_hardware",
    "build_zigzag_mapping",
    "build_zigzag_workload",
    "is_zigzag_hardware",
    "is_zigzag_mapping",
    "is_zigzag_workload",
]

# ZigZag 3.9.1's fixed assumptions for its IMC model (imc_unit.py TECH_PARAM_28NM, full activity).
ZIGZAG_IMC_NODE_NM = 28
ZIGZAG_IMC_VDD_V = 0.9
ZIGZAG_TOGGLE_RATE = 1.0
ZIGZAG_WEIGHT_SPARSITY = 0.0
ZIGZAG_CACTI_NODE_NM = 22  # the node ZigZag's CACTI wrapper uses for auto_cost_extraction
UM2_PER_MM2 = 1e6

MAPPING_KEYS = ("name", "spatial_mapping", "spatial_mapping_hint", "memory_operand_links", "temporal_ordering")
WORKLOAD_MARKERS = ("operator_type", "equation")

# ZigZag 3.9.1's workload validator: the operator types it accepts, and those imcmap prices.
ZIGZAG_OPERATORS = (
    "Max", "Conv", "Pooling", "Add", "Conv_downsample", "Gemm", "Pool", "MaxPool", "AveragePool",
    "GlobalAveragePool",
)
COMPUTE_OPERATORS = ("Conv", "Conv_downsample", "Gemm")
UNMODELLED_OPERATORS = tuple(op for op in ZIGZAG_OPERATORS if op not in COMPUTE_OPERATORS)
MATRIX_DIMS = ("B", "K", "C")  # a Gemm layer's loops (models.workload)


def _is_list_of_maps_with(root: YamlNode | None, keys: Sequence[str]) -> bool:
    return isinstance(root, YamlSeq) and any(
        isinstance(item, YamlMap) and any(key in item.items for key in keys) for item in root.items
    )


def is_zigzag_hardware(doc: Document) -> bool:
    """A mapping with ``memories`` and ``operational_array`` (imcmap's hardware files have ``array``)."""
    root = doc.root
    return (
        isinstance(root, YamlMap)
        and "operational_array" in root.items
        and "array" not in root.items
        and "memories" in root.items
    )


def is_zigzag_mapping(doc: Document) -> bool:
    """A list of entries with ZigZag mapping keys (imcmap's mapping files are a mapping with ``mapping:``)."""
    return _is_list_of_maps_with(doc.root, MAPPING_KEYS) and not is_zigzag_workload(doc)


def is_zigzag_workload(doc: Document) -> bool:
    """A list of layers with ``operator_type`` or ``equation`` (imcmap's have ``layers:``)."""
    return _is_list_of_maps_with(doc.root, WORKLOAD_MARKERS)


# --- shared helpers ----------------------------------------------------------------------------


class _Notes:
    """Warnings of one file, each rendered like an issue: ``file:line:col: key: message``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[str] = []

    def at(self, node: YamlNode, message: str) -> None:
        self.found.append(str(SpecIssue(self.file, node.line, node.col, node.path, message)))

    def at_key(self, parent: YamlMap, key: str, message: str) -> None:
        line, col = parent.keys.get(key, (parent.line, parent.col))
        path = f"{parent.path}.{key}" if parent.path else key
        self.found.append(str(SpecIssue(self.file, line, col, path, message)))


def _issues(doc: Document) -> Issues:
    """The file's issue collector, with a ZigZag hint on PyYAML's duplicate keys."""
    found = [
        dataclasses.replace(issue, hint="ZigZag (PyYAML) silently keeps the last one; delete the one not meant")
        if issue.message.startswith("duplicate key") and not issue.hint
        else issue
        for issue in doc.issues
    ]
    return Issues(doc.file, found)


def _fail(issues: Issues) -> NoReturn:
    """Raise what was found, leaving out issues inside the value of a duplicated key: the duplicate
    is reported, and the value imcmap kept (the first) is not the one ZigZag would read (the last)."""
    duplicated = [i.key_path for i in issues.found if i.message.startswith("duplicate key") and i.key_path]
    issues.found = [
        i for i in issues.found
        if not any(i.key_path.startswith((d + ".", d + "[")) for d in duplicated)
    ]
    issues.fail()


def _root_list(issues: Issues, root: YamlNode | None, what: str) -> YamlSeq:
    if isinstance(root, YamlSeq) and root.items:
        return root
    if root is None:
        issues.at_file(f"file is empty; expected a list of {what}")
    elif isinstance(root, YamlSeq):
        issues.at(root, f"expected a non-empty list of {what}")
    else:
        issues.at(root, f"expected a list of {what}, got {describe(root)}")
    issues.fail()


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


def _given(node: YamlNode | None) -> YamlNode | None:
    """The node, or None when the key is absent or null (ZigZag's normalizer treats both alike)."""
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    return node


def _scalar_value(node: YamlNode | None) -> object:
    return node.value if isinstance(node, YamlScalar) else None


def _is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _dim_index(name: str) -> int | None:
    match = re.fullmatch(r"D(\d+)", name)
    return int(match.group(1)) if match else None


# --- hardware --------------------------------------------------------------------------------------


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
    issues = _issues(doc)
    notes = _Notes(doc.file)
    root = doc.root
    if not isinstance(root, YamlMap):  # is_zigzag_hardware was not asked; say what is expected
        issues.at_file("expected a ZigZag hardware file: a mapping with name, memories, operational_array")
        _fail(issues)
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
        _fail(issues)
    _check_allocations(issues, memories_node, levels)
    if issues:
        _fail(issues)
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
        elif _dim_index(text) is None:
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
    return tuple(sorted(dims, key=lambda d: (_dim_index(d.name) or 0, d.name)))


def _zz_array(
    issues: Issues, notes: _Notes, oa: YamlMap, memories: YamlMap | None
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
            issues.at(oa, f"missing required key '{key}'", "a digital (is_imc: false) array needs unit_energy and unit_area")
    energy = f.number("unit_energy", minimum=0)
    area = f.number("unit_area", minimum=0)
    if energy is None or area is None:
        return None
    return DigitalArray(dims=dims, mac_energy_pj=energy, pe_area_mm2=area)


def _zz_imc_array(
    issues: Issues, notes: _Notes, f: Fields, oa: YamlMap, dims: tuple[ArrayDim, ...], memories: YamlMap
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
        issues.at(_node_or(adc_node, oa), f"must be 0 or absent for a digital IMC array (got {adc})")
        adc = None
    if imc_type == ImcType.ANALOG.value and adc == 0:
        issues.at(
            _node_or(adc_node, oa),
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
            _node_or(f.get("sizes"), oa),
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


def _node_or(node: YamlNode | None, fallback: YamlNode) -> YamlNode:
    return node if node is not None else fallback


def _input_precision(issues: Issues, f: Fields, oa: YamlMap) -> tuple[int, int] | None:
    node = f.get("input_precision")
    if node is None:
        issues.at(oa, "missing required key 'input_precision'", "an IMC array needs [input bits, weight bits], e.g. [8, 8]")
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
            needed = ("fl", "tl") if operand == "O" else ("tl",)
            if not top:
                needed += ("th", "fh") if operand == "O" else ("fh",)
            carried = {pair for port in level.port_allocation for pair in port.serves}
            missing = [d for d in needed if (operand, d) not in carried]
            if missing:
                node = memories.items.get(level.name)
                where = node.items.get("ports") if isinstance(node, YamlMap) else None
                issues.at(
                    _node_or(where, node if node is not None else memories),
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
        issues.at(_node_or(where.items.get("operands") if isinstance(where, YamlMap) else None, where),
                  "the IMC cells must hold only I2 (the weights)", "set operands: [I2]")
        ok = False
    if cells.served_dims:
        issues.at(_node_or(where.items.get("served_dimensions") if isinstance(where, YamlMap) else None, where),
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
    issues: Issues, notes: _Notes, root: YamlMap, memories: YamlMap, dim_names: tuple[str, ...] | None
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
    notes: _Notes,
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
        value_node = _given(f.get(key))
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
        issues.at_key(mem, "auto_cost_extraction", f"cannot estimate this memory: {exc}", "give r_cost, w_cost and area")
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
            issues.at(_node_or(f.get("bandwidth_min"), port), f"must be <= bandwidth_max = {bw_max} (got {bw_min})")
            ok = False
        serves = _allocation(issues, f.get("allocation"), port_type, operands)
        if serves is None:
            ok = False
        if port_type is None or bw_max is None or bw_min is None or name is None or serves is None:
            ok = False
            continue
        built.append(Port(name, bw_max, bw_min, serves))
        max_node = _node_or(f.get("bandwidth_max"), port)
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


# --- mapping ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZigZagMappingSpec(MappingSpec):
    """A mapping spec read from a ZigZag file, with what imcmap left out while reading it."""

    warnings: tuple[str, ...] = ()


class _Invalid:
    """Marks a present-but-invalid optional key (``None`` means absent, which is valid)."""


_INVALID = _Invalid()
SPATIAL_ENTRY = re.compile(r"([A-Z]+\d*), (\d+)")  # ZigZag's own pattern ("K, 32")
LINK_OPERANDS = tuple(op.value for op in Operand)


class _Places:
    """Where the keys of one entry were written, under the key paths ``check_mapping_against`` uses
    (``spatial.D1``, ``spatial_allowed.D2``, ``operand_links.W``, ...)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.sources: dict[str, SourceRef] = {}

    def key(self, parent: YamlMap, key: str, as_key: str) -> None:
        line, col = parent.keys[key]
        self.sources[as_key] = SourceRef(self.file, line, col)

    def node(self, node: YamlNode, as_key: str) -> None:
        self.sources[as_key] = SourceRef(self.file, node.line, node.col)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One ZigZag mapping entry, read but not yet turned into a rule (which needs the whole file)."""

    node: YamlMap
    selector: str
    fixed: dict[str, dict[str, int]] | None
    hint: dict[str, tuple[str, ...]] | None
    links: dict[Operand, str]
    sources: dict[str, SourceRef]


def build_zigzag_mapping(doc: Document) -> ZigZagMappingSpec:
    """A ZigZag mapping file -> a MappingSpec meaning the same; raise SpecError listing every issue."""
    issues = _issues(doc)
    notes = _Notes(doc.file)
    root = _root_list(issues, doc.root, "mapping entries (each a mapping with a name)")
    entries: list[_Entry] = []
    seen: dict[str, int] = {}
    for item in root.items:
        entry = _mapping_entry(issues, item, seen)
        if entry is not None:
            entries.append(entry)
    written = {_scalar_value(item.items.get("name")) for item in root.items if isinstance(item, YamlMap)}
    if "default" not in written:  # as written: a default entry with other problems is reported for those
        issues.at(root, "no entry named 'default'", "ZigZag requires a default entry; add '- name: default'")
    top_dim = max(
        (_dim_index(adim) or 0 for e in entries for part in (e.fixed or {}, e.hint or {}) for adim in part),
        default=0,
    )
    all_dims = tuple(f"D{i}" for i in range(1, top_dim + 1))
    rules = [_rule(issues, notes, entry, entries, all_dims) for entry in entries]
    if issues:
        _fail(issues)
    kept = tuple(rule for rule in rules if rule is not None)
    return ZigZagMappingSpec(rules=kept, name=Path(doc.file).stem or "mapping", warnings=tuple(notes.found))


def _mapping_entry(issues: Issues, node: YamlNode, seen: dict[str, int]) -> _Entry | None:
    entry = as_map(issues, node, "a mapping entry (a mapping with a name)")
    if entry is None:
        return None
    f = Fields(issues, entry, ("name",), MAPPING_KEYS[1:])
    selector = f.text("name")
    name_node = f.get("name")
    place = _Places(issues.file)
    if selector is not None and name_node is not None:
        if selector in seen:
            issues.at(name_node, f"duplicate entry '{selector}' (first at line {seen[selector]})",
                      "ZigZag would use the first one only")
            selector = None
        else:
            seen[selector] = name_node.line
            place.node(name_node, "selector")
    ordering = f.get("temporal_ordering")
    if ordering is not None and not (
        (isinstance(ordering, YamlScalar) and ordering.value is None)
        or (isinstance(ordering, YamlSeq) and not ordering.items)
    ):
        issues.at_key(
            entry, "temporal_ordering", "'temporal_ordering' is not supported yet",
            "imcmap's solver takes no loop-order constraints; remove it to let imcmap choose the order",
        )
    fixed = _spatial_mapping(issues, f.get("spatial_mapping"), place)
    hint = _spatial_hint(issues, f.get("spatial_mapping_hint"), place)
    links = _links(issues, f.get("memory_operand_links"), place)
    for key, as_key in (("spatial_mapping", "spatial"), ("spatial_mapping_hint", "spatial_allowed")):
        if key in entry.items:
            place.key(entry, key, as_key)
    if selector is None or isinstance(fixed, _Invalid) or isinstance(hint, _Invalid) or links is None:
        return None
    return _Entry(entry, selector, fixed, hint, links, place.sources)


def _array_dim_keys(issues: Issues, mapping: YamlMap) -> bool:
    ok = True
    for adim in mapping.items:
        if _dim_index(adim) is None:
            issues.at_key(mapping, adim, f"array dim '{adim}' must be D<digit>, e.g. D1")
            ok = False
    return ok


def _loop_dim(issues: Issues, node: YamlNode, dim: str) -> bool:
    if dim in LOOP_DIMS:
        return True
    issues.at(node, f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}", f"imcmap's loop dims: {', '.join(LOOP_DIMS)}")
    return False


def _spatial_mapping(
    issues: Issues, node: YamlNode | None, place: _Places
) -> dict[str, dict[str, int]] | _Invalid | None:
    """``{D1: ["K, 32", "OX, 4"]}`` -> ``{D1: {K: 32, OX: 4}}``; None when absent."""
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    mapping = as_map(issues, node, 'a mapping of array dim to a list of "<loop dim>, <factor>" strings')
    if mapping is None or not _array_dim_keys(issues, mapping):
        return _INVALID
    out: dict[str, dict[str, int]] = {}
    ok = True
    for adim, list_node in mapping.items.items():
        place.key(mapping, adim, f"spatial.{adim}")
        seq = as_seq(issues, list_node, 'a list of "<loop dim>, <factor>" strings, e.g. ["K, 32"]')
        if seq is None:
            ok = False
            continue
        unrolls: dict[str, int] = {}
        for item in seq.items:
            text = as_str(issues, item)
            match = SPATIAL_ENTRY.fullmatch(text) if text is not None else None
            if text is not None and match is None:
                issues.at(item, f"'{text}' must read '<loop dim>, <factor>', e.g. 'K, 32'")
            if match is None:
                ok = False
                continue
            dim, factor = match.group(1), int(match.group(2))
            if not _loop_dim(issues, item, dim):
                ok = False
            elif factor < 1:
                issues.at(item, f"unroll factor must be >= 1 (got {factor})")
                ok = False
            elif dim in unrolls:
                issues.at(item, f"loop dim '{dim}' is unrolled twice on {adim}", "ZigZag would keep the last one")
                ok = False
            else:
                unrolls[dim] = factor
                place.node(item, f"spatial.{adim}.{dim}")
        out[adim] = unrolls
    return out if ok else _INVALID


def _spatial_hint(
    issues: Issues, node: YamlNode | None, place: _Places
) -> dict[str, tuple[str, ...]] | _Invalid | None:
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    mapping = as_map(issues, node, "a mapping of array dim to a list of loop dims, e.g. {D1: [K], D2: [C, FX, FY]}")
    if mapping is None or not _array_dim_keys(issues, mapping):
        return _INVALID
    out: dict[str, tuple[str, ...]] = {}
    ok = True
    for adim, list_node in mapping.items.items():
        place.key(mapping, adim, f"spatial_allowed.{adim}")
        seq = as_seq(issues, list_node, "a list of loop dims, e.g. [K, OX]")
        if seq is None:
            ok = False
            continue
        dims: list[str] = []
        for item in seq.items:
            dim = as_str(issues, item)
            if dim is None or not _loop_dim(issues, item, dim):
                ok = False
            elif dim not in dims:  # a repeat means nothing more in ZigZag's set
                dims.append(dim)
        out[adim] = tuple(dims)
    return out if ok else _INVALID


def _links(issues: Issues, node: YamlNode | None, place: _Places) -> dict[Operand, str] | None:
    if node is None:
        return dict(DEFAULT_OPERAND_LINKS)  # ZigZag's default: O -> O, I -> I1, W -> I2
    links = as_map(issues, node, "a mapping of layer operand to memory operand, e.g. {O: O, W: I2, I: I1}")
    if links is None:
        return None
    f = Fields(issues, links, LINK_OPERANDS)
    out: dict[Operand, str] = {}
    used: dict[str, str] = {}
    for operand in LINK_OPERANDS:
        if not f.has(operand):
            continue
        place.key(links, operand, f"operand_links.{operand}")
        target = f.choice(operand, MEMORY_OPERANDS, what="memory operand")
        if target is None:
            continue
        if target in used:
            issues.at(links.items[operand], f"memory operand '{target}' is already linked to {used[target]}")
            continue
        used[target] = operand
        out[Operand(operand)] = target
    return out if len(out) == len(LINK_OPERANDS) else None


def _rule(
    issues: Issues, notes: _Notes, entry: _Entry, entries: list[_Entry], all_dims: tuple[str, ...]
) -> MappingRule | None:
    if entry.selector in UNMODELLED_OPERATORS:
        notes.at(
            entry.node,
            f"entry '{entry.selector}' left out: imcmap does not price {entry.selector} layers "
            "(they are listed as unmodelled ops)",
        )
        return None
    fixed, allowed = entry.fixed, None
    if fixed is not None:
        missing = [d for d in all_dims if d not in fixed]
        if fixed and missing:  # harmless when the accelerator lacks them (ZigZag's tpu_like_mixed)
            notes.at_key(
                entry.node, "spatial_mapping",
                f"fixes {', '.join(sorted(fixed))} only: imcmap leaves any other array dim unused, where "
                f"ZigZag would explore {', '.join(missing)} if the accelerator has them",
            )
        if not fixed:
            fixed = None  # `spatial_mapping: {}` fixes nothing
    if fixed is None:
        if entry.hint is not None:
            allowed = {d: entry.hint.get(d, LOOP_DIMS) for d in all_dims} | dict(entry.hint)
        elif entry.selector != "default" and all_dims:
            allowed = {d: LOOP_DIMS for d in all_dims}  # explore freely, not the default's restriction
        inherited = _inherited_fixed(entry, entries)
        if inherited is not None:
            issues.at(
                entry.node,
                f"entry '{entry.selector}' has no spatial_mapping, but entry '{inherited}' fixes one",
                "ZigZag would explore this entry's unrolling while imcmap would inherit the fixed one; "
                "give this entry a spatial_mapping",
            )
            return None
    return MappingRule(
        selector=entry.selector,
        fixed_spatial=fixed,
        allowed_spatial=allowed,
        allow_diagonal=True,  # ZigZag has no such switch: the hint or the fixed unrolling decides
        operand_links=entry.links,
        constraints=(),
        source=SourceRef(issues.file, entry.node.line, entry.node.col),
        key_sources=entry.sources,
    )


def _inherited_fixed(entry: _Entry, entries: list[_Entry]) -> str | None:
    """A less specific entry whose fixed spatial mapping imcmap's resolution would hand to ``entry``."""
    if entry.selector == "default":
        return None
    op_types = (*COMPUTE_OPERATORS, "MatMul")  # what an imcmap layer's op can be
    for other in entries:
        if other is entry or not other.fixed:
            continue
        if other.selector == "default" or (entry.selector not in op_types and other.selector in op_types):
            return other.selector
    return None


# --- workload --------------------------------------------------------------------------------------

LAYER_REQUIRED = ("id", "operator_type", "equation", "loop_dims", "loop_sizes", "operand_precision")
LAYER_OPTIONAL = ("name", "dimension_relations", "operand_source", "pr_loop_dims", "pr_loop_sizes", "padding")
PRECISION_KEYS = ("W", "I", "O", "O_final")
EQUATION = re.compile(r"\s*O((?:\[\w*\])+)\s*\+?=\s*(\w)((?:\[\w*\])+)\s*([*+])\s*(\w)((?:\[\w*\])+)\s*")
RELATION = re.compile(r"\s*(\w+)\s*=\s*(?:(\d+)\s*\*\s*)?(\w+)\s*\+\s*(?:(\d+)\s*\*\s*)?(\w+)\s*")
AXES = {"Y": ("OY", "FY"), "X": ("OX", "FX")}  # input axis -> (output dim, filter dim)


@dataclass(frozen=True, slots=True)
class _Relation:
    axis: str  # "X" or "Y"
    input_dim: str  # as written, upper case (e.g. "IX")
    stride: int
    dilation: int


@dataclass(frozen=True, slots=True)
class _ZzLayer:
    """A layer as read: a built ``Layer`` (compute) or the facts an unmodelled op keeps."""

    layer_id: int
    name: str
    op: str
    layer: Layer | None  # None for an unmodelled op
    input_source: int | None  # another layer's id (not itself)
    weight_source: int | None
    source_node: YamlNode | None


def build_zigzag_workload(doc: Document) -> Workload:
    """A ZigZag workload file -> a Workload; raise SpecError listing every issue."""
    issues = _issues(doc)
    root = _root_list(issues, doc.root, "layers (each a mapping with id, operator_type, equation, ...)")
    read: list[_ZzLayer] = []
    ids: dict[int, int] = {}  # id -> line
    names: dict[str, int] = {}
    for item in root.items:
        layer = _zz_layer(issues, item, ids, names)
        if layer is not None:
            read.append(layer)
    by_id = {layer.layer_id: index for index, layer in enumerate(read)}
    upstream: dict[int, frozenset[str]] = {}  # layer id -> nearest compute layers feeding its output
    layers: list[Layer] = []
    unmodelled: dict[str, list[str]] = {}
    for index, zz in enumerate(read):
        feeding: set[str] = set()
        for source in (zz.input_source, zz.weight_source if zz.layer is None else None):
            if source is None:
                continue
            position = by_id.get(source)
            if position is None and source in ids:
                continue  # that layer is invalid and already reported
            if position is None or position >= index:
                if zz.source_node is not None:
                    later = "is defined later" if position is not None else "is not defined"
                    issues.at(zz.source_node, f"source layer id {source} {later}",
                              "operand_source must name an earlier layer's id (or the layer's own id for a constant)")
                continue
            feeding |= upstream.get(source, frozenset())
        if zz.layer is None:
            upstream[zz.layer_id] = frozenset(feeding)
            unmodelled.setdefault(zz.op, []).append(zz.name)
            continue
        upstream[zz.layer_id] = frozenset({zz.name})
        ordered = tuple(layer.name for layer in layers if layer.name in feeding)
        layers.append(dataclasses.replace(zz.layer, sources=ordered))
    if not layers and not issues:
        issues.at(root, "no Conv, Conv_downsample or Gemm layer: nothing for imcmap to map")
    if issues:
        _fail(issues)
    return Workload(
        name=Path(doc.file).stem or "workload",
        layers=tuple(layers),
        unmodelled_ops=tuple(
            UnmodelledOp(op_type=op, count=len(members), node_names=tuple(members))
            for op, members in sorted(unmodelled.items())
        ),
    )


def _zz_layer(issues: Issues, node: YamlNode, ids: dict[int, int], names: dict[str, int]) -> _ZzLayer | None:
    entry = as_map(issues, node, "a layer (a mapping with id, operator_type, equation, loop_dims, ...)")
    if entry is None:
        return None
    before = len(issues)
    f = Fields(issues, entry, LAYER_REQUIRED, LAYER_OPTIONAL)
    layer_id = f.integer("id", minimum=0)
    id_node = f.get("id")
    if layer_id is not None and id_node is not None:
        if layer_id in ids:
            issues.at(id_node, f"duplicate layer id {layer_id} (first at line {ids[layer_id]})")
            layer_id = None
        else:
            ids[layer_id] = id_node.line
    name_node = f.get("name")
    if name_node is None or (isinstance(name_node, YamlScalar) and name_node.value is None):
        name: str | None = f"Layer{layer_id}" if layer_id is not None else None  # ZigZag's default name
    else:
        name = as_str(issues, name_node)
    if name is not None:
        if name in names:
            issues.at(_node_or(name_node, entry), f"duplicate layer name '{name}' (first at line {names[name]})")
            name = None
        else:
            names[name] = (name_node or entry).line
    op = f.choice("operator_type", ZIGZAG_OPERATORS, what="operator_type")
    sources = _operand_source(issues, f, layer_id)
    if op is None or layer_id is None or name is None or sources is None:
        return None
    input_source, weight_source, source_node = sources
    if op in UNMODELLED_OPERATORS:
        return _ZzLayer(layer_id, name, op, None, input_source, weight_source, source_node)
    layer = _compute_layer(issues, f, entry, name, op)
    if layer is None or len(issues) > before:
        return None
    return _ZzLayer(layer_id, name, op, layer, input_source, weight_source, source_node)


def _operand_source(
    issues: Issues, f: Fields, layer_id: int | None
) -> tuple[int | None, int | None, YamlNode | None] | None:
    node = f.get("operand_source")
    if node is None:
        return None, None, None
    mapping = as_map(issues, node, "a mapping such as {I: 0, W: 1}")
    if mapping is None:
        return None
    g = Fields(issues, mapping, (), ("I", "W"))
    found: dict[str, int | None] = {}
    for key in ("I", "W"):
        value = g.integer(key, minimum=0)
        if g.has(key) and value is None:
            return None
        found[key] = None if value == layer_id else value  # its own id: a constant operand
    return found["I"], found["W"], mapping


def _compute_layer(issues: Issues, f: Fields, entry: YamlMap, name: str, op: str) -> Layer | None:
    sizes = _loop_sizes(issues, f)
    eq_node = f.get("equation")
    equation = _equation(issues, eq_node) if eq_node is not None else None
    relations = _relations(issues, f.get("dimension_relations"))
    precision = _zz_precision(issues, f.get("operand_precision"))
    if sizes is None or eq_node is None or equation is None or relations is None or precision is None:
        return None
    if not _relevance_ok(issues, eq_node, equation, relations, sizes, op):
        return None
    padding = _padding(issues, f, entry, relations, sizes)
    if padding is None:
        return None
    stride = {r.axis: r.stride for r in relations.values()}
    dilation = {r.axis: r.dilation for r in relations.values()}
    dims = {dim: sizes.get(dim, 1) for dim in LOOP_DIMS}
    return Layer(
        name=name,
        op=op,
        dims=dims,
        stride=(stride.get("Y", 1), stride.get("X", 1)),
        dilation=(dilation.get("Y", 1), dilation.get("X", 1)),
        padding=padding,
        precision=precision,
    )


def _loop_sizes(issues: Issues, f: Fields) -> dict[str, int] | None:
    dims_seq, sizes_seq = f.sequence("loop_dims"), f.sequence("loop_sizes")
    if dims_seq is None or sizes_seq is None:
        return None
    if len(dims_seq.items) != len(sizes_seq.items):
        issues.at(sizes_seq, f"{len(sizes_seq.items)} loop_sizes for {len(dims_seq.items)} loop_dims",
                  "give one size per loop dim, in the same order")
        return None
    out: dict[str, int] = {}
    ok = True
    for dim_node, size_node in zip(dims_seq.items, sizes_seq.items, strict=True):
        dim = as_str(issues, dim_node)
        size = as_int(issues, size_node, minimum=1)
        if dim is None or size is None:
            ok = False
        elif dim in out:
            issues.at(dim_node, f"loop dim '{dim}' is listed twice")
            ok = False
        elif dim not in LOOP_DIMS and size > 1:
            issues.at(
                dim_node, f"unknown loop dim '{dim}'{did_you_mean(dim, LOOP_DIMS)}",
                f"imcmap's loop dims: {', '.join(LOOP_DIMS)} (rename by role: K output channels, "
                "C reduction, B batch/rows, G groups)",
            )
            ok = False
        else:
            out[dim] = size
    return out if ok else None


@dataclass(frozen=True, slots=True)
class _Equation:
    operands: dict[str, tuple[str, ...]]  # "O", "W", "I" -> index names, upper case, as written
    multiply: bool


def _equation(issues: Issues, node: YamlNode) -> _Equation | None:
    text = as_str(issues, node)
    if text is None:
        return None
    match = EQUATION.fullmatch(text)
    if match is None:
        issues.at(node, f"cannot read equation '{text}'", "expected e.g. O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]")
        return None
    out_idx, left, left_idx, operator, right, right_idx = match.groups()
    if {left, right} != {"W", "I"}:
        issues.at(node, f"the inputs must be W and I (got {left} and {right})",
                  "imcmap's operands are O, W (weights) and I (input activations)")
        return None

    def indices(text: str) -> tuple[str, ...]:
        return tuple(name.upper() for name in re.findall(r"\[(\w*)\]", text) if name)

    operands = {"O": indices(out_idx), left: indices(left_idx), right: indices(right_idx)}
    return _Equation(operands, operator == "*")


def _relations(issues: Issues, node: YamlNode | None) -> dict[str, _Relation] | None:
    """``ix = s*ox + d*fx`` entries, by input dim (upper case)."""
    if node is None:
        return {}
    seq = as_seq(issues, node, "a list such as [ix=2*ox+1*fx, iy=2*oy+1*fy]")
    if seq is None:
        return None
    out: dict[str, _Relation] = {}
    ok = True
    for item in seq.items:
        text = as_str(issues, item)
        match = RELATION.fullmatch(text) if text is not None else None
        if text is not None and match is None:
            issues.at(item, f"cannot read dimension relation '{text}'", "expected e.g. ix=2*ox+1*fx")
        if match is None:
            ok = False
            continue
        target, coef_a, dim_a, coef_b, dim_b = match.groups()
        terms = {dim_a.upper(): int(coef_a or 1), dim_b.upper(): int(coef_b or 1)}
        axis = next((a for a, pair in AXES.items() if set(pair) == set(terms)), None)
        if axis is None:
            issues.at(item, f"relation '{text}' is not supported",
                      "imcmap relates input dims to outputs and filter taps only: ix = s*ox + d*fx, iy = s*oy + d*fy")
            ok = False
            continue
        out_dim, filt_dim = AXES[axis]
        stride, dilation = terms[out_dim], terms[filt_dim]
        if stride < 1 or dilation < 1:
            issues.at(item, "stride and dilation must be >= 1")
            ok = False
            continue
        key = target.upper()
        if key in out or any(r.axis == axis for r in out.values()):
            issues.at(item, f"a second relation for axis {axis}")
            ok = False
            continue
        out[key] = _Relation(axis, key, stride, dilation)
    return out if ok else None


def _relevance_ok(
    issues: Issues,
    node: YamlNode,
    equation: _Equation,
    relations: dict[str, _Relation],
    sizes: dict[str, int],
    op: str,
) -> bool:
    """Every loop dim of size > 1 indexes the same operands as in imcmap's loop nest."""
    if not equation.multiply:
        issues.at(node, f"a {op} layer multiplies: expected '*' between W and I")
        return False
    touched: dict[str, set[str]] = {}
    ok = True
    for operand, names in equation.operands.items():
        for index in names:
            if index in relations:
                if operand != "I":
                    issues.at(node, f"{index} is an input dim (from dimension_relations) but indexes {operand}")
                    ok = False
                    continue
                dims: tuple[str, ...] = AXES[relations[index].axis]
            elif index in sizes or index in LOOP_DIMS:
                dims = (index,)
            else:
                issues.at(node, f"index '{index.lower()}' of {operand} is neither a loop dim nor defined by dimension_relations")
                ok = False
                continue
            for dim in dims:
                touched.setdefault(dim, set()).add(operand)
    for dim, size in sizes.items():
        if size == 1 or dim not in LOOP_DIMS:
            continue
        got = touched.get(dim, set())
        expected = {operand.value for operand in Operand if dim in RELEVANT_DIMS[operand]}
        if got != expected:
            shown = ", ".join(sorted(got)) or "no operand"
            issues.at(
                node,
                f"loop dim {dim} indexes {shown}, but in imcmap's loop nest {dim} indexes {', '.join(sorted(expected))}",
                "imcmap's nest: O[b][g][k][oy][ox] += W[g][k][c][fy][fx] * I[b][g][c][iy][ix]",
            )
            ok = False
        if op == "Gemm" and dim not in MATRIX_DIMS:
            issues.at(node, f"a Gemm layer has only B, K, C loops in imcmap (got {dim})", "write it as a Conv layer")
            ok = False
    return ok


def _padding(
    issues: Issues, f: Fields, entry: YamlMap, relations: dict[str, _Relation], sizes: dict[str, int]
) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) from ``padding`` per ``pr_loop_dims`` entry; checks ``pr_loop_sizes``."""
    pr_node, pad_node = _given(f.get("pr_loop_dims")), _given(f.get("padding"))
    size_node = _given(f.get("pr_loop_sizes"))
    if pr_node is None:
        for key, node in (("padding", pad_node), ("pr_loop_sizes", size_node)):
            if node is not None:
                issues.at_key(entry, key, f"{key} given without pr_loop_dims",
                              "list the input dims, e.g. pr_loop_dims: [IX, IY]")
                return None
        return (0, 0, 0, 0)
    pr_dims = _pr_dims(issues, pr_node, relations)
    if pr_dims is None:
        return None
    pads: dict[str, tuple[int, int]] = {}
    if pad_node is not None:
        read = _pads(issues, pad_node, pr_dims, relations)
        if read is None:
            return None
        pads = read
    if size_node is not None:
        reached = _pads_reached(issues, size_node, pr_dims, relations, sizes, pads)
        if reached is None:
            return None
        pads = reached
    top, bottom = pads.get("Y", (0, 0))
    left, right = pads.get("X", (0, 0))
    return (top, left, bottom, right)


def _pr_dims(issues: Issues, node: YamlNode, relations: dict[str, _Relation]) -> list[str] | None:
    seq = as_seq(issues, node, "a list of input dims, e.g. [IX, IY]")
    if seq is None:
        return None
    out: list[str] = []
    for item in seq.items:
        text = as_str(issues, item)
        if text is None:
            return None
        if text.upper() not in relations:
            issues.at(item, f"'{text}' is not an input dim of dimension_relations",
                      f"input dims: {', '.join(sorted(relations)) or 'none'}")
            return None
        out.append(text.upper())
    return out


def _pads(
    issues: Issues, node: YamlNode, pr_dims: list[str], relations: dict[str, _Relation]
) -> dict[str, tuple[int, int]] | None:
    seq = as_seq(issues, node, "a list of [begin, end] pairs, one per pr_loop_dims entry")
    if seq is None:
        return None
    if len(seq.items) != len(pr_dims):
        issues.at(seq, f"{len(seq.items)} paddings for {len(pr_dims)} pr_loop_dims")
        return None
    out: dict[str, tuple[int, int]] = {}
    for dim, item in zip(pr_dims, seq.items, strict=True):
        pair = as_seq(issues, item, "a pair [begin, end]")
        if pair is None:
            return None
        if len(pair.items) != 2:
            issues.at(pair, f"expected a pair [begin, end], got {len(pair.items)} values")
            return None
        begin, end = (as_int(issues, value, minimum=0) for value in pair.items)
        if begin is None or end is None:
            return None
        out[relations[dim].axis] = (begin, end)
    return out


def _pads_reached(
    issues: Issues,
    node: YamlNode,
    pr_dims: list[str],
    relations: dict[str, _Relation],
    sizes: dict[str, int],
    pads: dict[str, tuple[int, int]],
) -> dict[str, tuple[int, int]] | None:
    """The padding with only the end padding the last window reaches, given the input sizes; a size the
    output size, filter, stride, dilation and padding do not allow is an error. With a stride s the
    input may be up to s - 1 rows longer than the windows reach (those rows are never read)."""
    seq = as_seq(issues, node, "a list of input sizes, one per pr_loop_dims entry")
    if seq is None:
        return None
    if len(seq.items) != len(pr_dims):
        issues.at(seq, f"{len(seq.items)} pr_loop_sizes for {len(pr_dims)} pr_loop_dims")
        return None
    out = dict(pads)
    for dim, item in zip(pr_dims, seq.items, strict=True):
        given = as_int(issues, item, minimum=1)
        if given is None:
            return None
        relation = relations[dim]
        out_dim, filt_dim = AXES[relation.axis]
        span = relation.stride * (sizes.get(out_dim, 1) - 1) + relation.dilation * (sizes.get(filt_dim, 1) - 1) + 1
        begin, end = pads.get(relation.axis, (0, 0))
        low, high = span - begin - end, span - begin - end + relation.stride - 1
        if not low <= given <= high:
            allowed = f"{low}" if low == high else f"{low}-{high}"
            issues.at(
                item,
                f"input size {given} differs from the {allowed} imcmap derives for {dim}",
                "imcmap prices the input window from the output size, filter, stride, dilation and "
                "padding and cannot take another size; remove pr_loop_sizes",
            )
            return None
        out[relation.axis] = (begin, end_padding_reached(span, begin, end, given))
    return out


def _zz_precision(issues: Issues, node: YamlNode | None) -> Precision | None:
    if node is None:
        return None
    mapping = as_map(issues, node, "a mapping such as {W: 8, I: 8, O: 16, O_final: 8}")
    if mapping is None:
        return None
    f = Fields(issues, mapping, PRECISION_KEYS)
    values = {key: f.integer(key, minimum=1) for key in PRECISION_KEYS}
    w, i, o, o_final = (values[k] for k in PRECISION_KEYS)
    if w is None or i is None or o is None or o_final is None:
        return None
    return Precision(w_bits=w, i_bits=i, o_bits=o_final, psum_bits=o)
