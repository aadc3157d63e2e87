"""Chip files -> ``ChipSpec``: a hardware file whose ``validation:`` section holds one chip's recipe.

A chip file (``specs/library/chips/*.yaml``, or one a user writes to add a chip) is a hardware file
(``specs.hardware``: the generic form used for mapping) plus a ``validation:`` section that
``models.imc_validation.evaluate_chip`` prices. Both parts are checked in one pass, so one SpecError
lists every problem of the file, each at its place.

Schema of the ``validation:`` section (``?`` = optional; an optional key may also be null)::

    validation:
      recipe:
        name: str
        imc_type: analog | digital
        node_nm: int >= 1
        vdd_v: float > 0
        input_bits: int >= 1
        weight_bits: int >= 1
        input_bits_per_cycle: int >= 1        # divides input_bits
        rows: int >= 1
        cols: int >= 1
        macros?: int >= 1                     # default 1
        input_transfers_per_cycle?: int >= 1  # default 1
        macs_per_macro?: int >= 1             # default rows x cols
        activity?: {input_toggle_rate: [0, 1], weight_sparsity: [0, 1], sparsity_as_density?: bool}
        multipliers?: {count, bits, per?, count_for_energy?, activity?}
        adcs?: {count, bits, per?, bits_for_area?, rows_for_delay?, count_for_energy?, activity?}
        dacs?: {count, bits, per?}            # per defaults to macro here, to column elsewhere
        adders?:                              # a regular tree (inputs, a power of 2) or a list of RCAs
          - {name, count?, per?, inputs?, input_bits?, rcas?: [{count, bits}, ...],
             delay_tree?: {inputs, input_bits}, count_for_energy?, activity?}
        accumulators?:
          - {name, bits, input_bits, register_bits, count?, per?, count_for_energy?, delay?: carry | sum_only}
        registers?: [{name, bits, count?, per?, count_for_energy?, area_um2_per_bit?: > 0}, ...]
        cell_array:
          area_mm2_per_macro: float >= 0
          area_multiplier?: float > 0         # default 1
          area_node_scaled?: bool             # default true
          lines?: [{name, rows, cells_per_row: > 0, activity?}, ...]
        stages: [[block name, ...], ...]      # mult, adc, dac and the named adders, accumulators, registers
      reported?: {area_mm2, tclk_ns, energy_fj_per_mac, tops_per_w (all > 0), throughput_tops?: > 0}
      published_ratio?: {area, tclk, energy (all > 0)}
      source: {venue: str, title: str, authors: str, doi?: str, url?: str, ieee_doc_id?: int >= 1}

Counts and bit widths are integers >= 1; ``count`` defaults to 1 except on multipliers, ADCs and
DACs; ``count_for_energy`` is in [0, count]; ``per`` is column | macro; ``activity`` is full | toggle |
density | toggle_density. An analog chip needs ADCs, a digital one has neither ADCs nor DACs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from imcmap.models import gates
from imcmap.models.hardware import Accelerator, ImcType
from imcmap.models.imc_validation import (
    Accumulator,
    AccumulatorDelay,
    Activity,
    ActivityFactors,
    Adcs,
    Adder,
    CellArray,
    CellLine,
    ChipRecipe,
    ChipSource,
    ChipValidation,
    Dacs,
    Multipliers,
    Per,
    PublishedRatio,
    Register,
    ReportedValues,
)

from .checks import (
    Fields,
    Issues,
    as_choice,
    as_int,
    as_map,
    as_number,
    as_seq,
    describe,
    did_you_mean,
)
from .errors import SpecError, SpecIssue
from .hardware import HardwareSpec, build_hardware_spec
from .library import list_bundled
from .loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq, load_yaml

VALIDATION_REQUIRED = ("recipe", "source")
VALIDATION_OPTIONAL = ("reported", "published_ratio")
RECIPE_REQUIRED = (
    "name",
    "imc_type",
    "node_nm",
    "vdd_v",
    "input_bits",
    "weight_bits",
    "input_bits_per_cycle",
    "rows",
    "cols",
    "cell_array",
    "stages",
)
RECIPE_OPTIONAL = (
    "macros",
    "input_transfers_per_cycle",
    "macs_per_macro",
    "activity",
    "multipliers",
    "adcs",
    "dacs",
    "adders",
    "accumulators",
    "registers",
)
ADDER_OPTIONAL = ("count", "per", "inputs", "input_bits", "rcas", "delay_tree", "count_for_energy", "activity")
ACCUMULATOR_REQUIRED = ("name", "bits", "input_bits", "register_bits")
ACCUMULATOR_OPTIONAL = ("count", "per", "count_for_energy", "delay")
REGISTER_OPTIONAL = ("count", "per", "count_for_energy", "area_um2_per_bit")
REPORTED_REQUIRED = ("area_mm2", "tclk_ns", "energy_fj_per_mac", "tops_per_w")
RATIO_REQUIRED = ("area", "tclk", "energy")
SOURCE_REQUIRED = ("venue", "title", "authors")
SOURCE_OPTIONAL = ("doi", "url", "ieee_doc_id")

IMC_TYPES = tuple(t.value for t in ImcType)
PERS = tuple(p.value for p in Per)
ACTIVITIES = tuple(a.value for a in Activity)
ACCUMULATOR_DELAYS = tuple(d.value for d in AccumulatorDelay)
# Blocks the recipe names itself: the converters, the multipliers and the cell array.
RESERVED_BLOCKS = ("mult", "adc", "dac", "cells")
TREE_RULE = "an adder tree adds its inputs in pairs, level by level"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ChipSpec:
    """What a chip file holds: its generic hardware (for mapping) and its validation recipe."""

    name: str  # the file's stem: what `imcmap validate` calls the chip
    hardware: HardwareSpec
    validation: ChipValidation

    @property
    def accelerator(self) -> Accelerator:
        return self.hardware.accelerator

    @property
    def source(self) -> str:
        return self.hardware.source


def load_chip(path: str | Path) -> ChipSpec:
    """Read one chip file; raise SpecError listing every issue of the file."""
    return build_chip(load_yaml(path))


def build_chip(doc: Document) -> ChipSpec:
    """Validate a parsed chip file (hardware and ``validation:`` section together) and build it."""
    issues = Issues(doc.file)
    hardware: HardwareSpec | None = None
    try:
        hardware = build_hardware_spec(doc)  # reports the duplicate keys of the whole file too
    except SpecError as exc:
        issues.found.extend(exc.issues)
    validation: ChipValidation | None = None
    root = doc.root
    if isinstance(root, YamlMap):  # anything else was reported by the hardware builder
        node = root.items.get("validation")
        if node is None:
            issues.at(
                root,
                "missing required key 'validation'",
                "a chip file is a hardware file with a validation: section (recipe, source, reported, published_ratio)",
            )
        else:
            validation = _validation(issues, node)
    if issues or hardware is None or validation is None:
        issues.fail()
    return ChipSpec(name=Path(doc.file).stem, hardware=hardware, validation=validation)


def list_bundled_chips() -> list[tuple[str, Path]]:
    """The chips bundled with imcmap (``specs/library/chips``): ``[(name, path), ...]`` sorted by name."""
    return list_bundled()["chip"]


def load_chips(paths: Iterable[str | Path]) -> tuple[ChipSpec, ...]:
    """Load several chip files; one SpecError holds the issues of every file that has any."""
    found: list[SpecIssue] = []
    chips: list[ChipSpec] = []
    for path in paths:
        try:
            chips.append(load_chip(path))
        except SpecError as exc:
            found.extend(exc.issues)
    if found:
        raise SpecError(found)
    return tuple(chips)


# --- readers shared by the sections -------------------------------------------------------------


def _given(f: Fields, key: str) -> YamlNode | None:
    """An optional key's value; None when absent or null (the bundled chips write `adcs: null`)."""
    node = f.get(key)
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    return node


def _optional_int(issues: Issues, f: Fields, key: str, minimum: int = 1) -> int | None:
    node = _given(f, key)
    return None if node is None else as_int(issues, node, minimum=minimum)


def _optional_number(issues: Issues, f: Fields, key: str) -> float | None:
    """An optional positive number."""
    node = _given(f, key)
    return None if node is None else as_number(issues, node, minimum=0, min_open=True)


def _optional_text(f: Fields, key: str) -> str | None:
    return None if _given(f, key) is None else f.text(key)


def _positive(f: Fields, key: str, default: float | None = None) -> float | None:
    return f.number(key, default, minimum=0, min_open=True)


def _per(f: Fields, default: Per) -> Per | None:
    value = f.choice("per", PERS, default.value)
    return None if value is None else Per(value)


def _activity_rule(issues: Issues, f: Fields, default: _T) -> Activity | _T | None:
    """The block's activity rule; ``default`` when absent or null."""
    node = _given(f, "activity")
    if node is None:
        return default
    value = as_choice(issues, node, ACTIVITIES, "activity rule")
    return None if value is None else Activity(value)


def _count_for_energy(issues: Issues, f: Fields, count: int | None) -> tuple[bool, int | None]:
    """(valid, value): how many of the ``count`` instances switch in a cycle; None = all of them."""
    node = _given(f, "count_for_energy")
    if node is None:
        return True, None
    value = as_int(issues, node, minimum=0)
    if value is None:
        return False, None
    if count is not None and value > count:
        issues.at(node, f"must be <= count = {count} (got {value})", "it counts the instances that switch in a cycle")
        return False, None
    return True, value


def _power_of_two(issues: Issues, f: Fields, key: str, value: int | None) -> int | None:
    node = f.get(key)
    if value is not None and node is not None and not gates.is_power_of_two(value):
        issues.at(node, f"must be a power of 2 (got {value})", TREE_RULE)
        return None
    return value


def _listed(
    issues: Issues, f: Fields, key: str, build: Callable[[Issues, YamlNode], _T | None]
) -> tuple[_T, ...] | None:
    """The items of an optional list of mappings (absent or null: none), each built by ``build``."""
    node = _given(f, key)
    if node is None:
        return ()
    seq = as_seq(issues, node)
    if seq is None:
        return None
    built = [build(issues, item) for item in seq.items]
    if any(item is None for item in built):
        return None
    return tuple(item for item in built if item is not None)


# --- the validation section ---------------------------------------------------------------------


def _validation(issues: Issues, node: YamlNode) -> ChipValidation | None:
    if not isinstance(node, YamlMap):
        return None  # the hardware builder reports it (`validation?: {...}` is in its schema)
    f = Fields(issues, node, VALIDATION_REQUIRED, VALIDATION_OPTIONAL)
    recipe_node, source_node = f.get("recipe"), f.get("source")
    reported_node, ratio_node = _given(f, "reported"), _given(f, "published_ratio")
    recipe = _recipe(issues, recipe_node) if recipe_node is not None else None
    source = _source(issues, source_node) if source_node is not None else None
    reported = _reported(issues, reported_node) if reported_node is not None else None
    ratio = _published_ratio(issues, ratio_node) if ratio_node is not None else None
    if recipe is None or source is None:
        return None
    return ChipValidation(recipe=recipe, reported=reported, published_ratio=ratio, source=source)


def _reported(issues: Issues, node: YamlNode) -> ReportedValues | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, REPORTED_REQUIRED, ("throughput_tops",))
    area, tclk = _positive(f, "area_mm2"), _positive(f, "tclk_ns")
    energy, tops_per_w = _positive(f, "energy_fj_per_mac"), _positive(f, "tops_per_w")
    throughput = _optional_number(issues, f, "throughput_tops")
    if area is None or tclk is None or energy is None or tops_per_w is None:
        return None
    return ReportedValues(area, tclk, energy, tops_per_w, throughput)


def _published_ratio(issues: Issues, node: YamlNode) -> PublishedRatio | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, RATIO_REQUIRED)
    area, tclk, energy = _positive(f, "area"), _positive(f, "tclk"), _positive(f, "energy")
    if area is None or tclk is None or energy is None:
        return None
    return PublishedRatio(area=area, tclk=tclk, energy=energy)


def _source(issues: Issues, node: YamlNode) -> ChipSource | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, SOURCE_REQUIRED, SOURCE_OPTIONAL)
    venue, title, authors = f.text("venue"), f.text("title"), f.text("authors")
    doi, url = _optional_text(f, "doi"), _optional_text(f, "url")
    doc_id = _optional_int(issues, f, "ieee_doc_id")
    if venue is None or title is None or authors is None:
        return None
    return ChipSource(venue=venue, title=title, authors=authors, doi=doi, url=url, ieee_doc_id=doc_id)


# --- the recipe ---------------------------------------------------------------------------------


def _recipe(issues: Issues, node: YamlNode) -> ChipRecipe | None:
    section = as_map(issues, node)
    if section is None:
        return None
    before = len(issues)
    f = Fields(issues, section, RECIPE_REQUIRED, RECIPE_OPTIONAL)
    name = f.text("name")
    imc_type = f.choice("imc_type", IMC_TYPES, what="IMC type")
    node_nm = f.integer("node_nm", minimum=1)
    vdd_v = _positive(f, "vdd_v")
    input_bits = f.integer("input_bits", minimum=1)
    weight_bits = f.integer("weight_bits", minimum=1)
    bits_per_cycle = f.integer("input_bits_per_cycle", minimum=1)
    bits_per_cycle_node = f.get("input_bits_per_cycle")
    divides = input_bits is None or bits_per_cycle is None or input_bits % bits_per_cycle == 0
    if not divides and bits_per_cycle_node is not None:
        issues.at(
            bits_per_cycle_node,
            f"must divide input_bits = {input_bits} (got {bits_per_cycle})",
            "the input is applied in input_bits / input_bits_per_cycle cycles",
        )
    rows, cols = f.integer("rows", minimum=1), f.integer("cols", minimum=1)
    macros = f.integer("macros", 1, minimum=1)
    transfers = f.integer("input_transfers_per_cycle", 1, minimum=1)
    macs_per_macro = _optional_int(issues, f, "macs_per_macro")
    activity_node = _given(f, "activity")
    activity = _activity_factors(issues, activity_node) if activity_node is not None else ActivityFactors()
    multipliers_node, adcs_node, dacs_node = _given(f, "multipliers"), _given(f, "adcs"), _given(f, "dacs")
    multipliers = _multipliers(issues, multipliers_node) if multipliers_node is not None else None
    adcs = _adcs(issues, adcs_node) if adcs_node is not None else None
    dacs = _dacs(issues, dacs_node) if dacs_node is not None else None
    _check_converters(issues, f, imc_type)
    adders = _listed(issues, f, "adders", _adder)
    accumulators = _listed(issues, f, "accumulators", _accumulator)
    registers = _listed(issues, f, "registers", _register)
    cell_node = f.get("cell_array")
    cell_array = _cell_array(issues, cell_node) if cell_node is not None else None
    stage_node = f.get("stages")
    stages = _stages(issues, stage_node, _block_names(issues, f)) if stage_node is not None else None
    if (
        len(issues) > before
        or name is None
        or imc_type is None
        or node_nm is None
        or vdd_v is None
        or input_bits is None
        or weight_bits is None
        or bits_per_cycle is None
        or rows is None
        or cols is None
        or macros is None
        or transfers is None
        or activity is None
        or adders is None
        or accumulators is None
        or registers is None
        or cell_array is None
        or stages is None
    ):
        return None
    return ChipRecipe(
        name=name,
        imc_type=ImcType(imc_type),
        node_nm=node_nm,
        vdd_v=vdd_v,
        input_bits=input_bits,
        weight_bits=weight_bits,
        input_bits_per_cycle=bits_per_cycle,
        rows=rows,
        cols=cols,
        macros=macros,
        cell_array=cell_array,
        stages=stages,
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


def _check_converters(issues: Issues, f: Fields, imc_type: str | None) -> None:
    """An analog chip reads its columns through ADCs; a digital one has neither ADCs nor DACs."""
    if imc_type == ImcType.ANALOG.value and _given(f, "adcs") is None:
        adcs = f.get("adcs")  # absent, or written as null
        issues.at(f.node if adcs is None else adcs, "an analog chip needs ADCs", "add adcs: {count, bits, per}")
    if imc_type == ImcType.DIGITAL.value:
        for key in ("adcs", "dacs"):
            node = _given(f, key)
            if node is not None:
                issues.at(node, f"a digital chip has no {key[:-1].upper()}s", f"remove {key} or set it to null")


def _activity_factors(issues: Issues, node: YamlNode) -> ActivityFactors | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("input_toggle_rate", "weight_sparsity"), ("sparsity_as_density",))
    toggle = f.number("input_toggle_rate", minimum=0, maximum=1)
    sparsity = f.number("weight_sparsity", minimum=0, maximum=1)
    as_density = f.flag("sparsity_as_density", False)
    if toggle is None or sparsity is None or as_density is None:
        return None
    return ActivityFactors(input_toggle_rate=toggle, weight_sparsity=sparsity, sparsity_as_density=as_density)


def _multipliers(issues: Issues, node: YamlNode) -> Multipliers | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("count", "bits"), ("per", "count_for_energy", "activity"))
    count, bits = f.integer("count", minimum=1), f.integer("bits", minimum=1)
    per = _per(f, Per.COLUMN)
    energy_ok, count_for_energy = _count_for_energy(issues, f, count)
    activity = _activity_rule(issues, f, Activity.TOGGLE_DENSITY)
    if count is None or bits is None or per is None or not energy_ok or activity is None:
        return None
    return Multipliers(count=count, bits=bits, per=per, count_for_energy=count_for_energy, activity=activity)


def _adcs(issues: Issues, node: YamlNode) -> Adcs | None:
    section = as_map(issues, node)
    if section is None:
        return None
    optional = ("per", "bits_for_area", "rows_for_delay", "count_for_energy", "activity")
    f = Fields(issues, section, ("count", "bits"), optional)
    count, bits = f.integer("count", minimum=1), f.integer("bits", minimum=1)
    per = _per(f, Per.COLUMN)
    bits_for_area_node, rows_for_delay_node = _given(f, "bits_for_area"), _given(f, "rows_for_delay")
    bits_for_area = _optional_int(issues, f, "bits_for_area")
    rows_for_delay = _optional_int(issues, f, "rows_for_delay")
    energy_ok, count_for_energy = _count_for_energy(issues, f, count)
    activity = _activity_rule(issues, f, Activity.DENSITY)
    if (
        count is None
        or bits is None
        or per is None
        or (bits_for_area_node is not None and bits_for_area is None)
        or (rows_for_delay_node is not None and rows_for_delay is None)
        or not energy_ok
        or activity is None
    ):
        return None
    return Adcs(
        count=count,
        bits=bits,
        per=per,
        bits_for_area=bits_for_area,
        rows_for_delay=rows_for_delay,
        count_for_energy=count_for_energy,
        activity=activity,
    )


def _dacs(issues: Issues, node: YamlNode) -> Dacs | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("count", "bits"), ("per",))
    count, bits, per = f.integer("count", minimum=1), f.integer("bits", minimum=1), _per(f, Per.MACRO)
    if count is None or bits is None or per is None:
        return None
    return Dacs(count=count, bits=bits, per=per)


def _adder(issues: Issues, node: YamlNode) -> Adder | None:
    section = as_map(issues, node)
    if section is None:
        return None
    before = len(issues)
    f = Fields(issues, section, ("name",), ADDER_OPTIONAL)
    name = f.text("name")
    count = f.integer("count", 1, minimum=1)
    per = _per(f, Per.COLUMN)
    rcas_node = _given(f, "rcas")
    tree_keys = [key for key in ("inputs", "input_bits") if f.has(key)]
    inputs = input_bits = 0
    rcas: tuple[tuple[int, int], ...] | None = ()
    if rcas_node is not None and tree_keys:
        issues.at(
            rcas_node,
            f"an adder is either a regular tree or a list of adders, not both (it also has {', '.join(tree_keys)})",
            "remove rcas, or inputs and input_bits",
        )
    elif rcas_node is not None:
        rcas = _rcas(issues, rcas_node)
    else:
        for key in ("inputs", "input_bits"):
            if not f.has(key):
                issues.at(
                    section,
                    f"missing required key '{key}'",
                    "an adder is a regular tree (inputs, input_bits) or a list of adders (rcas)",
                )
        tree_inputs = _power_of_two(issues, f, "inputs", f.integer("inputs", minimum=1))
        tree_bits = f.integer("input_bits", minimum=1)
        inputs, input_bits = tree_inputs or 0, tree_bits or 0
    delay_node = _given(f, "delay_tree")
    delay_tree = _delay_tree(issues, delay_node) if delay_node is not None else None
    energy_ok, count_for_energy = _count_for_energy(issues, f, count)
    activity = _activity_rule(issues, f, None)
    if len(issues) > before or name is None or count is None or per is None or rcas is None or not energy_ok:
        return None
    return Adder(
        name=name,
        count=count,
        per=per,
        inputs=inputs,
        input_bits=input_bits,
        rcas=rcas,
        delay_tree=delay_tree,
        count_for_energy=count_for_energy,
        activity=activity,
    )


def _rcas(issues: Issues, node: YamlNode) -> tuple[tuple[int, int], ...] | None:
    seq = as_seq(issues, node, "a list of adders, e.g. [{count: 1, bits: 32}]")
    if seq is None:
        return None
    if not seq.items:
        issues.at(seq, "must list at least one adder", "each as {count, bits}")
        return None
    out: list[tuple[int, int]] = []
    for item in seq.items:
        rca = as_map(issues, item)
        if rca is None:
            continue
        f = Fields(issues, rca, ("count", "bits"))
        count, bits = f.integer("count", minimum=1), f.integer("bits", minimum=1)
        if count is not None and bits is not None:
            out.append((count, bits))
    return tuple(out) if len(out) == len(seq.items) else None


def _delay_tree(issues: Issues, node: YamlNode) -> tuple[int, int] | None:
    section = as_map(issues, node, "a mapping {inputs, input_bits}")
    if section is None:
        return None
    f = Fields(issues, section, ("inputs", "input_bits"))
    inputs = _power_of_two(issues, f, "inputs", f.integer("inputs", minimum=1))
    input_bits = f.integer("input_bits", minimum=1)
    return None if inputs is None or input_bits is None else (inputs, input_bits)


def _accumulator(issues: Issues, node: YamlNode) -> Accumulator | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ACCUMULATOR_REQUIRED, ACCUMULATOR_OPTIONAL)
    name = f.text("name")
    bits, input_bits = f.integer("bits", minimum=1), f.integer("input_bits", minimum=1)
    register_bits = f.integer("register_bits", minimum=1)
    register_node = f.get("register_bits")
    too_narrow = input_bits is not None and register_bits is not None and register_bits < input_bits
    if too_narrow and register_node is not None:
        issues.at(
            register_node,
            f"must be >= input_bits = {input_bits} (got {register_bits})",
            "the register holds the shifted sum of its inputs",
        )
        register_bits = None
    count = f.integer("count", 1, minimum=1)
    per = _per(f, Per.COLUMN)
    energy_ok, count_for_energy = _count_for_energy(issues, f, count)
    delay = f.choice("delay", ACCUMULATOR_DELAYS, AccumulatorDelay.CARRY.value, what="accumulator delay")
    if (
        name is None
        or bits is None
        or input_bits is None
        or register_bits is None
        or count is None
        or per is None
        or not energy_ok
        or delay is None
    ):
        return None
    return Accumulator(
        name=name,
        bits=bits,
        input_bits=input_bits,
        register_bits=register_bits,
        count=count,
        per=per,
        count_for_energy=count_for_energy,
        delay=AccumulatorDelay(delay),
    )


def _register(issues: Issues, node: YamlNode) -> Register | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("name", "bits"), REGISTER_OPTIONAL)
    name, bits = f.text("name"), f.integer("bits", minimum=1)
    count = f.integer("count", 1, minimum=1)
    per = _per(f, Per.COLUMN)
    energy_ok, count_for_energy = _count_for_energy(issues, f, count)
    area_node = _given(f, "area_um2_per_bit")
    area_per_bit = _optional_number(issues, f, "area_um2_per_bit")
    if (
        name is None
        or bits is None
        or count is None
        or per is None
        or not energy_ok
        or (area_node is not None and area_per_bit is None)
    ):
        return None
    return Register(
        name=name, bits=bits, count=count, per=per, count_for_energy=count_for_energy, area_um2_per_bit=area_per_bit
    )


def _cell_array(issues: Issues, node: YamlNode) -> CellArray | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("area_mm2_per_macro",), ("area_multiplier", "area_node_scaled", "lines"))
    area = f.number("area_mm2_per_macro", minimum=0)
    multiplier = _positive(f, "area_multiplier", 1.0)
    node_scaled = f.flag("area_node_scaled", True)
    lines = _listed(issues, f, "lines", _cell_line)
    if area is None or multiplier is None or node_scaled is None or lines is None:
        return None
    return CellArray(area_mm2_per_macro=area, area_multiplier=multiplier, area_node_scaled=node_scaled, lines=lines)


def _cell_line(issues: Issues, node: YamlNode) -> CellLine | None:
    section = as_map(issues, node)
    if section is None:
        return None
    f = Fields(issues, section, ("name", "rows", "cells_per_row"), ("activity",))
    name, rows = f.text("name"), f.integer("rows", minimum=1)
    cells_per_row = _positive(f, "cells_per_row")
    activity = _activity_rule(issues, f, Activity.DENSITY)
    if name is None or rows is None or cells_per_row is None or activity is None:
        return None
    return CellLine(name=name, rows=rows, cells_per_row=cells_per_row, activity=activity)


# --- block names and stages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Blocks:
    in_stages: tuple[str, ...]  # what a stage may name: the blocks with a delay
    lines: tuple[str, ...]  # the cell lines: named, but with no delay of their own


def _names_in(node: YamlNode | None) -> list[YamlScalar]:
    """The ``name`` nodes of a list's items, read even if the rest of an item is invalid, so a stage
    naming a broken block is not reported as unknown too."""
    if not isinstance(node, YamlSeq):
        return []
    names = [item.items.get("name") for item in node.items if isinstance(item, YamlMap)]
    return [n for n in names if isinstance(n, YamlScalar) and isinstance(n.value, str) and n.value.strip()]


def _block_names(issues: Issues, f: Fields) -> _Blocks:
    """Check that the named blocks are unique and avoid the built-in names; return what stages may name."""
    converters = (("mult", "multipliers"), ("adc", "adcs"), ("dac", "dacs"))
    built_in = [name for name, key in converters if _given(f, key) is not None]
    accumulators = _names_in(f.get("accumulators"))
    registers_of_accumulators = {f"{node.value}_register" for node in accumulators}
    cell_node = f.get("cell_array")
    lines = _names_in(cell_node.items.get("lines")) if isinstance(cell_node, YamlMap) else []
    seen: dict[str, YamlScalar] = {}
    for node in [*_names_in(f.get("adders")), *accumulators, *_names_in(f.get("registers")), *lines]:
        name = str(node.value)
        if name in RESERVED_BLOCKS or name in registers_of_accumulators:
            issues.at(
                node,
                f"block name '{name}' is reserved",
                "mult, adc, dac, cells and <accumulator name>_register name the recipe's own blocks",
            )
        elif name in seen:
            issues.at(
                node, f"block name '{name}' is already used (line {seen[name].line})", "block names must be unique"
            )
        else:
            seen[name] = node
    line_names = tuple(str(node.value) for node in lines)
    in_stages = tuple(dict.fromkeys([*built_in, *(name for name in seen if name not in line_names)]))
    return _Blocks(in_stages=in_stages, lines=line_names)


def _stages(issues: Issues, node: YamlNode, blocks: _Blocks) -> tuple[tuple[str, ...], ...] | None:
    seq = as_seq(issues, node, "a list of stages, each a list of block names, e.g. [[mult, tree]]")
    if seq is None:
        return None
    if not seq.items:
        issues.at(seq, "must list at least one stage", "the clock period is the slowest stage")
        return None
    valid = ", ".join(blocks.in_stages)
    stages: list[tuple[str, ...]] = []
    for stage in seq.items:
        if not isinstance(stage, YamlSeq) or not stage.items:
            got = "an empty list" if isinstance(stage, YamlSeq) else describe(stage)
            issues.at(stage, f"expected a non-empty list of block names, got {got}", f"blocks: {valid}")
            continue
        names: list[str] = []
        for item in stage.items:
            name = item.value if isinstance(item, YamlScalar) else None
            if not isinstance(name, str):
                issues.at(item, f"expected a block name, got {describe(item)}", f"blocks: {valid}")
            elif name in blocks.in_stages:
                names.append(name)
            elif name in blocks.lines:
                issues.at(item, f"'{name}' is a cell line, which has no delay of its own", f"blocks: {valid}")
            else:
                issues.at(item, f"unknown block '{name}'{did_you_mean(name, blocks.in_stages)}", f"blocks: {valid}")
        if len(names) == len(stage.items):
            stages.append(tuple(names))
    return tuple(stages) if len(stages) == len(seq.items) else None
