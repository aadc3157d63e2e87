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

Plain dicts (as parsed from YAML) go in through ``recipe_from_dict`` and
``load_validation_block``; problems raise ``RecipeError`` (a ``ValueError``) whose lines read
``key.path: what is wrong``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

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


# --- dict -> recipe (validation with key paths) ------------------------------------------------


class RecipeError(ValueError):
    """Invalid recipe or validation block. ``issues`` holds (key path, message) pairs, sorted."""

    def __init__(self, issues: Iterable[tuple[str, str]]) -> None:
        self.issues: tuple[tuple[str, str], ...] = tuple(sorted(set(issues)))
        super().__init__("\n".join(f"{path}: {msg}" for path, msg in self.issues))


_MISSING = object()
_E = TypeVar("_E", bound=Enum)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Node:
    """A mapping being read: typed getters record issues under their key path; ``done`` flags unknown keys."""

    def __init__(self, data: object, path: str, issues: list[tuple[str, str]]) -> None:
        self.path = path
        self.issues = issues
        self.used: set[str] = set()
        if isinstance(data, Mapping):
            self.data: Mapping[object, object] = data
        else:
            issues.append((path or "<root>", f"must be a mapping (got {_type_name(data)})"))
            self.data = {}

    def issue(self, key: str, message: str) -> None:
        self.issues.append((_join(self.path, key), message))

    def _raw(self, key: str, default: object) -> object:
        self.used.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.issue(key, "required key is missing")
        return default

    def integer(self, key: str, default: object = _MISSING, *, minimum: int | None = 1) -> int:
        value = self._raw(key, default)
        if value is _MISSING:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.issue(key, f"must be an integer (got {_type_name(value)} {value!r})")
            return 0
        if minimum is not None and value < minimum:
            self.issue(key, f"must be >= {minimum} (got {value})")
        return value

    def optional_integer(self, key: str, *, minimum: int = 1) -> int | None:
        if self.data.get(key) is None:
            self.used.add(key)
            return None
        return self.integer(key, minimum=minimum)

    def number(
        self,
        key: str,
        default: object = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self._raw(key, default)
        if value is _MISSING:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.issue(key, f"must be a number (got {_type_name(value)} {value!r})")
            return 0.0
        number = float(value)
        if positive and number <= 0:
            self.issue(key, f"must be > 0 (got {value})")
        if minimum is not None and number < minimum:
            self.issue(key, f"must be >= {minimum} (got {value})")
        if maximum is not None and number > maximum:
            self.issue(key, f"must be <= {maximum} (got {value})")
        return number

    def optional_number(self, key: str, *, positive: bool = False) -> float | None:
        if self.data.get(key) is None:
            self.used.add(key)
            return None
        return self.number(key, positive=positive)

    def boolean(self, key: str, default: object = _MISSING) -> bool:
        value = self._raw(key, default)
        if value is _MISSING:
            return False
        if not isinstance(value, bool):
            self.issue(key, f"must be true or false (got {_type_name(value)} {value!r})")
            return False
        return value

    def text(self, key: str, default: object = _MISSING) -> str:
        value = self._raw(key, default)
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.issue(key, f"must be a non-empty string (got {_type_name(value)} {value!r})")
            return ""
        return value

    def optional_text(self, key: str) -> str | None:
        if self.data.get(key) is None:
            self.used.add(key)
            return None
        return self.text(key)

    def choice(self, key: str, enum: type[_E], default: object = _MISSING) -> _E:
        value = self._raw(key, default)
        if isinstance(value, enum):
            return value
        valid = [str(m.value) for m in enum]
        if isinstance(value, str) and value in valid:
            return enum(value)
        if value is not _MISSING:
            self.issue(key, f"must be one of {', '.join(valid)} (got {value!r}){_suggest(value, valid)}")
        return next(iter(enum))

    def child(self, key: str, *, optional: bool = False) -> _Node | None:
        value = self._raw(key, None if optional else _MISSING)
        if value is None or value is _MISSING:
            return None
        return _Node(value, _join(self.path, key), self.issues)

    def items(self, key: str, default: object = _MISSING) -> list[tuple[str, object]]:
        """The entries of a list value as (key path, element) pairs; null counts as empty."""
        value = self._raw(key, default)
        if value is None or value is _MISSING:
            return []
        if not isinstance(value, list):
            self.issue(key, f"must be a list (got {_type_name(value)})")
            return []
        base = _join(self.path, key)
        return [(_join(base, i), item) for i, item in enumerate(value)]

    def done(self) -> None:
        valid = sorted(self.used)
        for key in self.data:
            if key not in self.used:
                name = str(key)
                self.issue(name, f"unknown key; valid keys: {', '.join(valid)}{_suggest(name, valid)}")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )


def _suggest(value: object, valid: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_activity_rule(node: _Node, default: Activity | None) -> Activity | None:
    if node.data.get("activity") is None:
        node.used.add("activity")
        return default
    return node.choice("activity", Activity)


def _count_for_energy(node: _Node, count: int) -> int | None:
    value = node.optional_integer("count_for_energy", minimum=0)
    if value is not None and value > count:
        node.issue("count_for_energy", f"must be <= count={count} (got {value})")
    return value


def _power_of_two(node: _Node, key: str, value: int) -> None:
    if value >= 1 and not g.is_power_of_two(value):
        node.issue(key, f"must be a power of 2 (got {value})")


def _parse_multipliers(node: _Node) -> Multipliers:
    count = node.integer("count")
    out = Multipliers(
        count=count,
        bits=node.integer("bits"),
        per=node.choice("per", Per, Per.COLUMN),
        count_for_energy=_count_for_energy(node, count),
        activity=_read_activity_rule(node, Activity.TOGGLE_DENSITY) or Activity.TOGGLE_DENSITY,
    )
    node.done()
    return out


def _parse_adcs(node: _Node) -> Adcs:
    count = node.integer("count")
    out = Adcs(
        count=count,
        bits=node.integer("bits"),
        per=node.choice("per", Per, Per.COLUMN),
        bits_for_area=node.optional_integer("bits_for_area"),
        rows_for_delay=node.optional_integer("rows_for_delay"),
        count_for_energy=_count_for_energy(node, count),
        activity=_read_activity_rule(node, Activity.DENSITY) or Activity.DENSITY,
    )
    node.done()
    return out


def _parse_dacs(node: _Node) -> Dacs:
    out = Dacs(count=node.integer("count"), bits=node.integer("bits"), per=node.choice("per", Per, Per.MACRO))
    node.done()
    return out


def _parse_adder(node: _Node) -> Adder:
    name = node.text("name")
    count = node.integer("count", 1)
    has_tree = "inputs" in node.data or "input_bits" in node.data
    has_rcas = node.data.get("rcas") is not None
    rcas: list[tuple[int, int]] = []
    inputs = input_bits = 0
    if has_tree and has_rcas:
        node.issue("rcas", "give either inputs/input_bits (a regular tree) or rcas (a list of adders), not both")
    if has_rcas:
        for path, item in node.items("rcas"):
            rca = _Node(item, path, node.issues)
            rcas.append((rca.integer("count"), rca.integer("bits")))
            rca.done()
        if not rcas:
            node.issue("rcas", "must list at least one adder")
    else:
        node.used.add("rcas")
        inputs = node.integer("inputs")
        input_bits = node.integer("input_bits")
        _power_of_two(node, "inputs", inputs)
    delay_tree: tuple[int, int] | None = None
    delay = node.child("delay_tree", optional=True)
    if delay is not None:
        delay_tree = (delay.integer("inputs"), delay.integer("input_bits"))
        _power_of_two(delay, "inputs", delay_tree[0])
        delay.done()
    out = Adder(
        name=name,
        count=count,
        per=node.choice("per", Per, Per.COLUMN),
        inputs=inputs,
        input_bits=input_bits,
        rcas=tuple(rcas),
        delay_tree=delay_tree,
        count_for_energy=_count_for_energy(node, count),
        activity=_read_activity_rule(node, None),
    )
    node.done()
    return out


def _parse_accumulator(node: _Node) -> Accumulator:
    count = node.integer("count", 1)
    out = Accumulator(
        name=node.text("name"),
        bits=node.integer("bits"),
        input_bits=node.integer("input_bits"),
        register_bits=node.integer("register_bits"),
        count=count,
        per=node.choice("per", Per, Per.COLUMN),
        count_for_energy=_count_for_energy(node, count),
        delay=node.choice("delay", AccumulatorDelay, AccumulatorDelay.CARRY),
    )
    if out.register_bits < out.input_bits:
        node.issue("register_bits", f"must be >= input_bits={out.input_bits} (got {out.register_bits})")
    node.done()
    return out


def _parse_register(node: _Node) -> Register:
    count = node.integer("count", 1)
    out = Register(
        name=node.text("name"),
        bits=node.integer("bits"),
        count=count,
        per=node.choice("per", Per, Per.COLUMN),
        count_for_energy=_count_for_energy(node, count),
        area_um2_per_bit=node.optional_number("area_um2_per_bit", positive=True),
    )
    node.done()
    return out


def _parse_cell_array(node: _Node) -> CellArray:
    lines: list[CellLine] = []
    for path, item in node.items("lines", None):
        line = _Node(item, path, node.issues)
        lines.append(
            CellLine(
                name=line.text("name"),
                rows=line.integer("rows"),
                cells_per_row=line.number("cells_per_row", positive=True),
                activity=_read_activity_rule(line, Activity.DENSITY) or Activity.DENSITY,
            )
        )
        line.done()
    out = CellArray(
        area_mm2_per_macro=node.number("area_mm2_per_macro", minimum=0.0),
        area_multiplier=node.number("area_multiplier", 1.0, positive=True),
        area_node_scaled=node.boolean("area_node_scaled", True),
        lines=tuple(lines),
    )
    node.done()
    return out


def _parse_activity(node: _Node | None) -> ActivityFactors:
    if node is None:
        return ActivityFactors()
    out = ActivityFactors(
        input_toggle_rate=node.number("input_toggle_rate", minimum=0.0, maximum=1.0),
        weight_sparsity=node.number("weight_sparsity", minimum=0.0, maximum=1.0),
        sparsity_as_density=node.boolean("sparsity_as_density", False),
    )
    node.done()
    return out


def _parse_recipe(node: _Node) -> ChipRecipe:
    name = node.text("name")
    imc_type = node.choice("imc_type", ImcType)
    node_nm = node.integer("node_nm")
    vdd_v = node.number("vdd_v", positive=True)
    input_bits = node.integer("input_bits")
    weight_bits = node.integer("weight_bits")
    bc = node.integer("input_bits_per_cycle")
    if bc >= 1 and input_bits >= 1 and (bc > input_bits or input_bits % bc):
        node.issue("input_bits_per_cycle", f"must divide input_bits={input_bits} (got {bc})")
    rows = node.integer("rows")
    cols = node.integer("cols")
    macros = node.integer("macros", 1)
    transfers = node.integer("input_transfers_per_cycle", 1)
    macs_per_macro = node.optional_integer("macs_per_macro")
    activity = _parse_activity(node.child("activity", optional=True))

    mult_node = node.child("multipliers", optional=True)
    multipliers = _parse_multipliers(mult_node) if mult_node is not None else None
    adc_node = node.child("adcs", optional=True)
    adcs = _parse_adcs(adc_node) if adc_node is not None else None
    dac_node = node.child("dacs", optional=True)
    dacs = _parse_dacs(dac_node) if dac_node is not None else None
    type_given = node.data.get("imc_type") in {t.value for t in ImcType}
    if type_given and imc_type is ImcType.ANALOG and adcs is None:
        node.issue("adcs", "an analog chip needs ADCs")
    if type_given and imc_type is ImcType.DIGITAL and (adcs is not None or dacs is not None):
        node.issue("adcs" if adcs is not None else "dacs", "a digital chip has no ADCs or DACs (set it to null)")

    adders = tuple(_parse_adder(_Node(item, path, node.issues)) for path, item in node.items("adders", None))
    accumulators = tuple(
        _parse_accumulator(_Node(item, path, node.issues)) for path, item in node.items("accumulators", None)
    )
    registers = tuple(_parse_register(_Node(item, path, node.issues)) for path, item in node.items("registers", None))
    cell_node = node.child("cell_array")
    cell_array = _parse_cell_array(cell_node) if cell_node is not None else CellArray(area_mm2_per_macro=0.0)

    # block names: unique, not reserved, and what the stages refer to
    blocks: dict[str, str] = {}
    if multipliers is not None:
        blocks["mult"] = "multipliers"
    if adcs is not None:
        blocks["adc"] = "adcs"
    if dacs is not None:
        blocks["dac"] = "dacs"
    reserved = {"mult", "adc", "dac", "cells"}
    named: list[tuple[str, str]] = [(f"adders[{i}].name", a.name) for i, a in enumerate(adders)]
    named += [(f"accumulators[{i}].name", a.name) for i, a in enumerate(accumulators)]
    named += [(f"registers[{i}].name", r.name) for i, r in enumerate(registers)]
    named += [(f"cell_array.lines[{i}].name", line.name) for i, line in enumerate(cell_array.lines)]
    taken = set(reserved) | {f"{a.name}_register" for a in accumulators}
    for key, block in named:
        if not block:
            continue
        if block in taken or block in blocks:
            node.issue(key, f"block name {block!r} is reserved or already used")
        blocks[block] = key
        taken.add(block)
    line_names = {line.name for line in cell_array.lines}

    stages: list[tuple[str, ...]] = []
    stage_items = node.items("stages")
    if not stage_items and "stages" in node.data:
        node.issue("stages", "must list at least one stage")
    for path, stage in stage_items:
        if not isinstance(stage, list) or not stage:
            node.issues.append((path, "must be a non-empty list of block names"))
            continue
        names: list[str] = []
        for i, block in enumerate(stage):
            where = _join(path, i)
            if not isinstance(block, str) or block not in blocks or block in line_names:
                valid = sorted(b for b in blocks if b not in line_names)
                hint = _suggest(block, valid)
                node.issues.append((where, f"unknown block {block!r}; blocks: {', '.join(valid)}{hint}"))
                continue
            names.append(block)
        stages.append(tuple(names))
    node.done()
    return ChipRecipe(
        name=name,
        imc_type=imc_type,
        node_nm=node_nm,
        vdd_v=vdd_v,
        input_bits=input_bits,
        weight_bits=weight_bits,
        input_bits_per_cycle=bc,
        rows=rows,
        cols=cols,
        macros=macros,
        cell_array=cell_array,
        stages=tuple(stages),
        activity=activity,
        multipliers=multipliers,
        adcs=adcs,
        dacs=dacs,
        adders=adders,
        accumulators=accumulators,
        registers=registers,
        input_transfers_per_cycle=transfers,
        macs_per_macro=macs_per_macro,
    )


def recipe_from_dict(d: Mapping[str, object]) -> ChipRecipe:
    """Validate a plain dict (as parsed from YAML) and build the recipe; ``RecipeError`` lists every problem."""
    issues: list[tuple[str, str]] = []
    recipe = _parse_recipe(_Node(d, "", issues))
    if issues:
        raise RecipeError(issues)
    return recipe


def _parse_reported(node: _Node) -> ReportedValues:
    out = ReportedValues(
        area_mm2=node.number("area_mm2", positive=True),
        tclk_ns=node.number("tclk_ns", positive=True),
        energy_fj_per_mac=node.number("energy_fj_per_mac", positive=True),
        tops_per_w=node.number("tops_per_w", positive=True),
        throughput_tops=node.optional_number("throughput_tops", positive=True),
    )
    node.done()
    return out


def _parse_ratio(node: _Node) -> PublishedRatio:
    out = PublishedRatio(
        area=node.number("area", positive=True),
        tclk=node.number("tclk", positive=True),
        energy=node.number("energy", positive=True),
    )
    node.done()
    return out


def _parse_source(node: _Node) -> ChipSource:
    out = ChipSource(
        venue=node.text("venue"),
        title=node.text("title"),
        authors=node.text("authors"),
        doi=node.optional_text("doi"),
        url=node.optional_text("url"),
        ieee_doc_id=node.optional_integer("ieee_doc_id"),
    )
    node.done()
    return out


def load_validation_block(d: Mapping[str, object]) -> ChipValidation:
    """Build a chip's ``validation:`` block (recipe, reported, published_ratio, source) from a plain dict.

    ``reported`` and ``published_ratio`` may be null (AIMC3, DIMC3). Key paths in the
    ``RecipeError`` are relative to the block (``recipe.adders[0].inputs``).
    """
    issues: list[tuple[str, str]] = []
    node = _Node(d, "", issues)
    recipe_node = node.child("recipe")
    recipe = _parse_recipe(recipe_node) if recipe_node is not None else None
    reported_node = node.child("reported", optional=True)
    reported = _parse_reported(reported_node) if reported_node is not None else None
    ratio_node = node.child("published_ratio", optional=True)
    ratio = _parse_ratio(ratio_node) if ratio_node is not None else None
    source_node = node.child("source")
    source = _parse_source(source_node) if source_node is not None else None
    node.done()
    if issues or recipe is None or source is None:
        raise RecipeError(issues)
    return ChipValidation(recipe=recipe, reported=reported, published_ratio=ratio, source=source)
