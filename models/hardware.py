"""Accelerators: a memory hierarchy on top of a digital PE array or an SRAM IMC array.

Array dimensions are named (``D1``, ``D2``, ...). For an IMC array, D1 is the wordline
direction (columns, one weight word each: output channels), D2 the bitline / adder-tree
direction (rows summed together) and every further dimension counts macros (ZigZag's
convention, see imc-model.md section 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MEMORY_OPERANDS: tuple[str, ...] = ("I1", "I2", "O")


class CostRules(str, Enum):
    """Which memory-traffic and latency rules price a mapping on this accelerator.

    ``imcmap``: the evaluator's own (models/evaluator.py). ``zigzag-3.9.1``: ZigZag 3.9.1's rules
    (models/zigzag_rules.py), set for hardware read from a ZigZag file so that the same file means
    the same thing in both tools. Two places read it: ``evaluator.RULE_SETS`` (how a mapping is priced)
    and ``solver.policy.policy_for`` (how a layer is solved).
    """

    IMCMAP = "imcmap"
    ZIGZAG = "zigzag-3.9.1"


class MemoryKind(str, Enum):
    SRAM = "sram"
    RF = "rf"
    DRAM = "dram"


@dataclass(frozen=True, slots=True)
class Port:
    """One physical port of a memory: its width, its smallest transfer, and the (memory operand,
    direction) pairs it carries, directions named as ZigZag's files name them
    (``zigzag_rules.DIRECTIONS``). Only ZigZag's rules look at port allocations."""

    name: str
    bandwidth_bits: int
    bandwidth_min_bits: int
    serves: frozenset[tuple[str, str]]

    @property
    def shared_by_two_inputs(self) -> bool:
        return len({operand for operand, _ in self.serves if operand in ("I1", "I2")}) > 1


@dataclass(frozen=True, slots=True)
class MemoryLevel:
    """One memory level. Energies are per access of ``read_bw_bits`` / ``write_bw_bits`` bits.

    ``served_dims`` are the array dimensions along which one instance is shared; the number of
    instances is the product of the sizes of the other array dimensions.
    """

    name: str
    capacity_bits: int
    operands: tuple[str, ...]  # memory operands held: subset of I1, I2, O
    read_bw_bits: int
    write_bw_bits: int
    read_energy_pj: float
    write_energy_pj: float
    area_mm2: float = 0.0
    latency_cycles: int = 1
    served_dims: tuple[str, ...] = ()
    kind: MemoryKind = MemoryKind.SRAM
    double_buffered: bool = False
    ports: int = 1  # independent read/write ports; 1 means reads and writes share one port
    port_allocation: tuple[Port, ...] = ()  # per physical port; given by ZigZag files

    def holds(self, memory_operand: str) -> bool:
        return memory_operand in self.operands


@dataclass(frozen=True, slots=True)
class ArrayDim:
    name: str
    size: int


class ImcType(str, Enum):
    ANALOG = "analog"
    DIGITAL = "digital"


@dataclass(frozen=True, slots=True)
class ImcArray:
    """An SRAM IMC array: ``dims[0]`` = D1 (columns), ``dims[1]`` = D2 (rows), the rest = macros.

    ``cells_per_group`` (M) weights share one entry into the compute logic. The activity factors
    (defaults 50 % / 50 %, as in the published validation) scale the switching terms of both the
    validation form and the mapping form; ZigZag 3.9's files mean full activity (1.0 / 0.0).
    """

    imc_type: ImcType
    dims: tuple[ArrayDim, ...]
    input_bits: int  # Bi
    weight_bits: int  # Bw
    input_bits_per_cycle: int  # Bc
    adc_bits: float = 0  # R (analog only); may be fractional, e.g. Bc + 0.5 * log2(rows)
    dac_bits: int = 0  # analog only; 0 means "same as input_bits_per_cycle"
    cells_per_group: int = 1
    node_nm: int = 28
    vdd_v: float = 0.9
    input_toggle_rate: float = 0.5
    weight_sparsity: float = 0.5
    cell_area_um2: float = 0.0  # per cell group (Bw cells); ZigZag's examples use 0

    @property
    def cols(self) -> int:
        return self.dims[0].size

    @property
    def rows(self) -> int:
        return self.dims[1].size

    @property
    def macros(self) -> int:
        n = 1
        for d in self.dims[2:]:
            n *= d.size
        return n

    @property
    def cycles_per_mac(self) -> int:
        """Bit-serial input: Bi/Bc cycles per full-precision MAC."""
        return -(-self.input_bits // self.input_bits_per_cycle)


@dataclass(frozen=True, slots=True)
class DigitalArray:
    """A digital PE array: one MAC per PE per cycle."""

    dims: tuple[ArrayDim, ...]
    mac_energy_pj: float
    pe_area_mm2: float = 0.0  # per PE
    tclk_ns: float = 1.0


OperationalArray = ImcArray | DigitalArray


@dataclass(frozen=True, slots=True)
class Accelerator:
    """Memories are listed lowest (closest to the array) first."""

    name: str
    memories: tuple[MemoryLevel, ...]
    array: OperationalArray
    rules: CostRules = CostRules.IMCMAP

    @property
    def cycles_per_mac(self) -> int:
        """Cycles per temporal iteration: an IMC macro's bit-serial Bi/Bc, 1 on a digital PE array."""
        return self.array.cycles_per_mac if isinstance(self.array, ImcArray) else 1

    @property
    def array_dims(self) -> tuple[ArrayDim, ...]:
        return self.array.dims

    def array_dim_size(self, name: str) -> int:
        for d in self.array.dims:
            if d.name == name:
                return d.size
        raise KeyError(name)

    def chain(self, memory_operand: str) -> tuple[MemoryLevel, ...]:
        """The levels holding ``memory_operand``, lowest first."""
        return tuple(m for m in self.memories if m.holds(memory_operand))

    def port(self, level: MemoryLevel, memory_operand: str, direction: str) -> Port:
        for port in level.port_allocation:
            if (memory_operand, direction) in port.serves:
                return port
        raise KeyError(f"{level.name}: no port carries {memory_operand} {direction}")

    def memory(self, name: str) -> MemoryLevel:
        for m in self.memories:
            if m.name == name:
                return m
        raise KeyError(name)

    def instances(self, level: MemoryLevel) -> int:
        """Physical instances of ``level``: product of the array dims it does not serve."""
        n = 1
        for d in self.array.dims:
            if d.name not in level.served_dims:
                n *= d.size
        return n
