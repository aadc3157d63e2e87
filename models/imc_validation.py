"""Chip-specific IMC macro model (validation form V, imc-model.md sections 4-6 and 9).

This is the method behind ZigZag-IMC's published 7-chip validation (Sun, Houshmand, Verhelst,
ICCAD 2023, arXiv 2405.14978): each chip is composed from the gate blocks of ``gates.py`` with its
own *structure* (block counts, widths, pipeline stages, activity rules), never with per-chip
constants. A ``ChipRecipe`` holds that structure; ``evaluate_chip`` turns it into area, clock
period, energy per MAC and throughput at full utilisation.

Composition rules (section 4):

* **Counts.** Every block has ``count`` instances ``per`` output column or ``per`` macro;
  ``count_for_energy`` (default ``count``) says how many of them switch in a cycle (AIMC3 maps
  16 of its 64 multipliers per column; DIMC2 instantiates one accumulator per input row but uses
  one per column; DIMC1's floating-point blocks add area only).
* **Area** = sum of all blocks + cell array (CACTI area per macro x ``area_multiplier``).
  DACs have no area; input/output registers are left out.
* **Clock period** = the largest of the ``stages`` (each the sum of its blocks' delays), times
  ``input_transfers_per_cycle``. Registers, DACs and the cell array add no delay.
* **Energy per cycle** = the sum of the blocks switching in a cycle, each times its activity
  factor, times ``input_transfers_per_cycle`` (AIMC2 applies its 8-bit input as two 4-bit
  transfers in one cycle). Energy per MAC = that x ``Bi/Bc`` cycles / MACs per MAC set
  (``macros*cols*rows`` unless ``macs_per_macro`` says otherwise).
* **Activity** (section 4.4). ``toggle_density`` = ``t*w``, ``density`` = ``w``, ``toggle`` = ``t``,
  ``full`` = 1, where ``w = 1 - s`` or, with ``sparsity_as_density`` (what the DIMC scripts do),
  the sparsity value itself. Defaults: multipliers ``toggle_density``; ADCs and cell lines
  ``density``; adders ``density`` (analog) or ``toggle_density`` (digital); DACs, accumulators
  and registers always ``full``.
* **Node** (section 4.5). For ``node_nm != 28`` the area of multipliers, adders, accumulators,
  registers and ADCs and the energy of multipliers, adders, accumulators, registers and cell
  lines are scaled by ``node_nm/28``; the cell-array area too unless ``area_node_scaled`` is
  false (AIMC1's CACTI number is already for 22 nm). ADC/DAC energy and delays are not scaled.

Choices where the published figure and the shipped scripts disagree (section 9), made in the
bundled recipes (``specs/library/chips``), not in the code:

* AIMC1 cell area uses ``area_multiplier: 1`` (figure: 51 %); the script's repeater allowance
  of 2 gives 64 %.
* DIMC2's accumulator uses the generic delay ``in->sum + (R_reg - P_in)*cin->cout`` (figure:
  131 %); ``delay: sum_only`` reproduces the shipped script's 106 %.
* DIMC2's energy is the shipped script's (255 %); the figure's 139 % could not be reproduced.

Chip files are read and checked by ``specs.chips`` (``load_chip``), which builds these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from . import gates as g
from .hardware import ImcType

_UM2_PER_MM2 = 1e6

# --- recipe types ------------------------------------------------------------------------------


class Activity(str, Enum):
    FULL = "full"
    TOGGLE = "toggle"
    DENSITY = "density"
    TOGGLE_DENSITY = "toggle_density"


class Per(str, Enum):
    """What a block's ``count`` is counted per."""

    COLUMN = "column"
    MACRO = "macro"


class AccumulatorDelay(str, Enum):
    CARRY = "carry"  # in->sum + (R_reg - P_in)*cin->cout
    SUM_ONLY = "sum_only"  # in->sum only (the shipped DIMC2 script)


@dataclass(frozen=True, slots=True)
class ActivityFactors:
    input_toggle_rate: float = 1.0
    weight_sparsity: float = 0.0
    sparsity_as_density: bool = False  # the DIMC scripts multiply by the sparsity value itself

    @property
    def weight_factor(self) -> float:
        return self.weight_sparsity if self.sparsity_as_density else 1.0 - self.weight_sparsity

    def factor(self, rule: Activity) -> float:
        if rule is Activity.FULL:
            return 1.0
        if rule is Activity.TOGGLE:
            return self.input_toggle_rate
        if rule is Activity.DENSITY:
            return self.weight_factor
        return self.input_toggle_rate * self.weight_factor


@dataclass(frozen=True, slots=True)
class Multipliers:
    """``count`` multipliers of ``bits`` NOR2 gates each, per column (or macro)."""

    count: int
    bits: int
    per: Per = Per.COLUMN
    count_for_energy: int | None = None
    activity: Activity = Activity.TOGGLE_DENSITY


@dataclass(frozen=True, slots=True)
class Adcs:
    """``count`` ADCs per column. ``bits_for_area`` if the area uses another resolution (AIMC3)."""

    count: int
    bits: int
    per: Per = Per.COLUMN
    bits_for_area: int | None = None
    rows_for_delay: int | None = None  # rows on the bitline seen by the ADC delay; default: rows
    count_for_energy: int | None = None
    activity: Activity = Activity.DENSITY


@dataclass(frozen=True, slots=True)
class Dacs:
    """``count`` DACs of ``bits`` resolution per macro (no area, no delay, full activity)."""

    count: int
    bits: int
    per: Per = Per.MACRO


@dataclass(frozen=True, slots=True)
class Adder:
    """Adder logic: a regular RCA tree (``inputs`` x ``input_bits``) or an explicit list of RCAs.

    ``rcas`` holds (count, bits) pairs per instance. Delay: the tree's ``t_tree``; for an RCA list
    the worst-case carry of its widest adder, unless ``delay_tree`` (inputs, input_bits) names the
    tree whose delay models it (AIMC2).
    """

    name: str
    count: int = 1
    per: Per = Per.COLUMN
    inputs: int = 0
    input_bits: int = 0
    rcas: tuple[tuple[int, int], ...] = ()
    delay_tree: tuple[int, int] | None = None
    count_for_energy: int | None = None
    activity: Activity | None = None  # None: density (analog) / toggle_density (digital)

    @property
    def full_adders(self) -> int:
        if self.rcas:
            return sum(n * bits for n, bits in self.rcas)
        return g.fa_tree(self.inputs, self.input_bits)

    def delay_ns(self) -> float:
        if self.delay_tree is not None:
            return g.t_tree_ns(*self.delay_tree)
        if self.rcas:
            return g.t_rca_ns(max(bits for _, bits in self.rcas))
        return g.t_tree_ns(self.inputs, self.input_bits)


@dataclass(frozen=True, slots=True)
class Accumulator:
    """Shift-add accumulator: a ``bits``-bit RCA and a ``register_bits`` register (full activity)."""

    name: str
    bits: int
    input_bits: int
    register_bits: int
    count: int = 1
    per: Per = Per.COLUMN
    count_for_energy: int | None = None
    delay: AccumulatorDelay = AccumulatorDelay.CARRY

    def delay_ns(self) -> float:
        if self.delay is AccumulatorDelay.SUM_ONLY:
            return g.fa_delay_sum_ns()
        return g.t_acc_v_ns(self.register_bits, self.input_bits)


@dataclass(frozen=True, slots=True)
class Register:
    """Pipeline (or other) register bits: no delay, full activity, written once per cycle."""

    name: str
    bits: int
    count: int = 1
    per: Per = Per.COLUMN
    count_for_energy: int | None = None
    area_um2_per_bit: float | None = None  # default: the 6-NAND2 DFF


@dataclass(frozen=True, slots=True)
class CellLine:
    """A wordline / bitline / enable line per column: ``rows`` x ``cells_per_row`` cells of Cg/2 each."""

    name: str
    rows: int
    cells_per_row: float
    activity: Activity = Activity.DENSITY


@dataclass(frozen=True, slots=True)
class CellArray:
    area_mm2_per_macro: float
    area_multiplier: float = 1.0
    area_node_scaled: bool = True
    lines: tuple[CellLine, ...] = ()


@dataclass(frozen=True, slots=True)
class ChipRecipe:
    """The structure of one IMC chip as the validation form composes it (see the module docstring)."""

    name: str
    imc_type: ImcType
    node_nm: int
    vdd_v: float
    input_bits: int
    weight_bits: int
    input_bits_per_cycle: int
    rows: int
    cols: int
    macros: int
    cell_array: CellArray
    stages: tuple[tuple[str, ...], ...]
    activity: ActivityFactors = ActivityFactors()
    multipliers: Multipliers | None = None
    adcs: Adcs | None = None
    dacs: Dacs | None = None
    adders: tuple[Adder, ...] = ()
    accumulators: tuple[Accumulator, ...] = ()
    registers: tuple[Register, ...] = ()
    input_transfers_per_cycle: int = 1
    macs_per_macro: int | None = None

    @property
    def cycles_per_mac_set(self) -> int:
        return self.input_bits // self.input_bits_per_cycle

    @property
    def macs_per_mac_set(self) -> int:
        per_macro = self.macs_per_macro if self.macs_per_macro is not None else self.cols * self.rows
        return self.macros * per_macro

    def instances(self, count: int, per: Per) -> int:
        return count * self.macros * (self.cols if per is Per.COLUMN else 1)


@dataclass(frozen=True, slots=True)
class ChipResult:
    """Model numbers of one chip. Breakdowns: mm2 and fJ/MAC by block name."""

    area_mm2: float
    tclk_ns: float
    energy_fj_per_mac: float
    tops_per_w: float
    throughput_tops: float
    area_breakdown: dict[str, float]
    energy_breakdown: dict[str, float]
    stage_delays_ns: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportedValues:
    area_mm2: float
    tclk_ns: float
    energy_fj_per_mac: float
    tops_per_w: float
    throughput_tops: float | None = None


@dataclass(frozen=True, slots=True)
class PublishedRatio:
    """Model / reported, as printed on ZigZag-IMC's model_validation.png (1.00 = exact)."""

    area: float
    tclk: float
    energy: float


@dataclass(frozen=True, slots=True)
class ChipSource:
    venue: str
    title: str
    authors: str
    doi: str | None = None
    url: str | None = None
    ieee_doc_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChipValidation:
    recipe: ChipRecipe
    reported: ReportedValues | None
    published_ratio: PublishedRatio | None
    source: ChipSource


# --- evaluation --------------------------------------------------------------------------------


def _default_adder_activity(recipe: ChipRecipe) -> Activity:
    return Activity.DENSITY if recipe.imc_type is ImcType.ANALOG else Activity.TOGGLE_DENSITY


def _energy_count(count: int, count_for_energy: int | None) -> int:
    return count if count_for_energy is None else count_for_energy


def block_delays_ns(recipe: ChipRecipe) -> dict[str, float]:
    """Delay of every named block (``mult``, ``adc``, ``dac``, adders, accumulators, registers)."""
    out: dict[str, float] = {}
    if recipe.multipliers is not None:
        out["mult"] = g.mult_delay_ns()
    if recipe.adcs is not None:
        rows = recipe.adcs.rows_for_delay if recipe.adcs.rows_for_delay is not None else recipe.rows
        out["adc"] = g.adc_delay_ns(recipe.adcs.bits, rows)
    if recipe.dacs is not None:
        out["dac"] = 0.0
    for adder in recipe.adders:
        out[adder.name] = adder.delay_ns()
    for acc in recipe.accumulators:
        out[acc.name] = acc.delay_ns()
    for reg in recipe.registers:
        out[reg.name] = 0.0
    return out


def evaluate_chip(recipe: ChipRecipe) -> ChipResult:
    """Area, clock period, energy per MAC, TOP/s/W and peak TOP/s of a chip at full utilisation."""
    v = recipe.vdd_v
    scale = g.node_scale(recipe.node_nm)
    act = recipe.activity
    area_um2: dict[str, float] = {}
    energy_fj: dict[str, float] = {}  # per cycle of the whole chip

    mults = recipe.multipliers
    if mults is not None:
        n_area = recipe.instances(mults.count, mults.per) * mults.bits
        n_energy = recipe.instances(_energy_count(mults.count, mults.count_for_energy), mults.per) * mults.bits
        area_um2["mult"] = n_area * g.mult_area_um2() * scale
        energy_fj["mult"] = n_energy * g.mult_energy_fj(v) * act.factor(mults.activity) * scale

    adcs = recipe.adcs
    if adcs is not None:
        bits_area = adcs.bits_for_area if adcs.bits_for_area is not None else adcs.bits
        n_adc = recipe.instances(adcs.count, adcs.per)
        area_um2["adc"] = n_adc * g.adc_area_mm2(bits_area) * _UM2_PER_MM2 * scale
        n_energy = recipe.instances(_energy_count(adcs.count, adcs.count_for_energy), adcs.per)
        energy_fj["adc"] = n_energy * g.adc_energy_fj(adcs.bits, v) * act.factor(adcs.activity)

    dacs = recipe.dacs
    if dacs is not None:
        area_um2["dac"] = 0.0
        energy_fj["dac"] = recipe.instances(dacs.count, dacs.per) * g.dac_energy_fj(dacs.bits, v)

    cells = recipe.cell_array
    cell_scale = scale if cells.area_node_scaled else 1.0
    area_um2["cells"] = recipe.macros * cells.area_mm2_per_macro * cells.area_multiplier * cell_scale * _UM2_PER_MM2
    for line in cells.lines:
        n_cells = recipe.instances(1, Per.COLUMN) * line.rows * line.cells_per_row
        energy_fj[line.name] = n_cells * g.cell_line_energy_fj(v) * act.factor(line.activity) * scale

    for adder in recipe.adders:
        fas = adder.full_adders
        rule = adder.activity if adder.activity is not None else _default_adder_activity(recipe)
        area_um2[adder.name] = recipe.instances(adder.count, adder.per) * fas * g.fa_area_um2() * scale
        n_energy = recipe.instances(_energy_count(adder.count, adder.count_for_energy), adder.per)
        energy_fj[adder.name] = n_energy * fas * g.fa_energy_fj(v) * act.factor(rule) * scale

    for acc in recipe.accumulators:
        n_area = recipe.instances(acc.count, acc.per)
        n_energy = recipe.instances(_energy_count(acc.count, acc.count_for_energy), acc.per)
        area_um2[acc.name] = n_area * g.rca_area_um2(acc.bits) * scale
        area_um2[f"{acc.name}_register"] = n_area * acc.register_bits * g.reg_area_um2() * scale
        energy_fj[acc.name] = n_energy * g.rca_energy_fj(acc.bits, v) * scale
        energy_fj[f"{acc.name}_register"] = n_energy * acc.register_bits * g.reg_energy_fj(v) * scale

    for reg in recipe.registers:
        per_bit = reg.area_um2_per_bit if reg.area_um2_per_bit is not None else g.reg_area_um2()
        area_um2[reg.name] = recipe.instances(reg.count, reg.per) * reg.bits * per_bit * scale
        n_energy = recipe.instances(_energy_count(reg.count, reg.count_for_energy), reg.per)
        energy_fj[reg.name] = n_energy * reg.bits * g.reg_energy_fj(v) * scale

    delays = block_delays_ns(recipe)
    transfers = recipe.input_transfers_per_cycle
    stage_delays = tuple(transfers * sum(delays[name] for name in stage) for stage in recipe.stages)
    tclk = max(stage_delays)

    macs = recipe.macs_per_mac_set
    ncyc = recipe.cycles_per_mac_set
    per_mac = {name: e * transfers * ncyc / macs for name, e in energy_fj.items()}
    energy_per_mac = sum(per_mac.values())
    return ChipResult(
        area_mm2=sum(area_um2.values()) / _UM2_PER_MM2,
        tclk_ns=tclk,
        energy_fj_per_mac=energy_per_mac,
        tops_per_w=2000.0 / energy_per_mac,
        throughput_tops=2 * macs / (tclk * ncyc) / 1000,
        area_breakdown={name: a / _UM2_PER_MM2 for name, a in area_um2.items()},
        energy_breakdown=per_mac,
        stage_delays_ns=stage_delays,
    )


def model_ratios(result: ChipResult, reported: ReportedValues) -> PublishedRatio:
    """Model / reported for area, clock period and energy per MAC (the quantities of the figure)."""
    return PublishedRatio(
        area=result.area_mm2 / reported.area_mm2,
        tclk=result.tclk_ns / reported.tclk_ns,
        energy=result.energy_fj_per_mac / reported.energy_fj_per_mac,
    )
