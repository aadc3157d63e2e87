"""Chip files: the bundled chips load to the numbers of before, and every error is located."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imcmap.models.hardware import ImcArray, ImcType
from imcmap.models.imc import imc_area_mm2, imc_peak, imc_tclk_ns
from imcmap.models.imc_validation import (
    Accumulator,
    Activity,
    ActivityFactors,
    Adder,
    CellLine,
    Multipliers,
    Per,
    evaluate_chip,
)
from imcmap.specs.chips import (
    ChipSpec,
    build_chip,
    list_bundled_chips,
    load_chip,
    load_chips,
)
from imcmap.specs.errors import SpecError
from imcmap.specs.loader import parse_yaml

DATA = Path(__file__).resolve().parents[1] / "data"
# `imcmap validate --json` of main at 5c24757, before chip files were read by specs.chips
# (chip name, venue, model, reported and published ratio of each bundled chip).
BEFORE = json.loads((DATA / "chips" / "validate_5c24757.json").read_text())["chips"]
BUNDLED = dict(list_bundled_chips())

# A small digital chip a user might add; the line numbers below refer to this text.
TINY = """\
name: tiny
memories:
  cells: {capacity_bits: 8, operands: [I2], read_bw_bits: 8, write_bw_bits: 8, read_energy_pj: 0, write_energy_pj: 0.1, area_mm2: 0}
  dram: {capacity_bits: 1000000, operands: [I1, I2, O], read_bw_bits: 64, write_bw_bits: 64, read_energy_pj: 700, write_energy_pj: 750, area_mm2: 0, served_dims: [D1, D2], kind: dram}
array:
  type: imc
  imc_type: digital
  dims: {D1: 4, D2: 8}
  input_bits: 4
  weight_bits: 8
  input_bits_per_cycle: 1
validation:
  recipe:
    name: TINY
    imc_type: digital
    node_nm: 28
    vdd_v: 0.9
    input_bits: 4
    weight_bits: 8
    input_bits_per_cycle: 1
    rows: 8
    cols: 4
    multipliers: {count: 8, bits: 8}
    adders:
      - {name: tree, inputs: 8, input_bits: 8}
    accumulators:
      - {name: acc, bits: 16, input_bits: 11, register_bits: 16}
    cell_array:
      area_mm2_per_macro: 0.001
      lines:
        - {name: wordline, rows: 8, cells_per_row: 8}
    stages: [[mult, tree, acc]]
  source: {venue: test, title: a tiny chip, authors: me}
"""
RECIPE_KEYS = (
    "accumulators, activity, adcs, adders, cell_array, cols, dacs, imc_type, input_bits, "
    "input_bits_per_cycle, input_transfers_per_cycle, macros, macs_per_macro, multipliers, name, "
    "node_nm, registers, rows, stages, vdd_v, weight_bits"
)


def _write(tmp_path: Path, text: str, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    """The issues of ``text`` written as tiny.yaml, one string each, with the folder left out."""
    with pytest.raises(SpecError) as info:
        load_chip(_write(tmp_path, text))
    return [str(issue).removeprefix(f"{tmp_path}/") for issue in info.value.issues]


def _edit(old: str, new: str, text: str = TINY) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the base text"
    return text.replace(old, new)


# --- the bundled chips ----------------------------------------------------------------------------


def test_bundled_chips_are_listed_by_name() -> None:
    """list_bundled_chips names every chip the validation ran on before, each by its file stem."""
    assert {chip["name"] for chip in BEFORE} <= set(BUNDLED)
    assert all(path.stem == name for name, path in BUNDLED.items())


@pytest.mark.parametrize("before", BEFORE, ids=[chip["name"] for chip in BEFORE])
def test_bundled_chip_evaluates_as_before(before: dict[str, object]) -> None:
    """Each bundled chip loads and evaluates to exactly the numbers `imcmap validate --json` gave on main."""
    chip = load_chip(BUNDLED[str(before["name"])])
    result = evaluate_chip(chip.validation.recipe)
    model = {
        "area_mm2": result.area_mm2,
        "tclk_ns": result.tclk_ns,
        "energy_fj_per_mac": result.energy_fj_per_mac,
        "tops_per_w": result.tops_per_w,
        "throughput_tops": result.throughput_tops,
    }
    assert model == before["model"]
    reported = chip.validation.reported
    assert (None if reported is None else dataclasses.asdict(reported)) == before["reported"]
    ratio = chip.validation.published_ratio
    assert (None if ratio is None else dataclasses.asdict(ratio)) == before["published_ratio"]
    assert (chip.name, chip.validation.recipe.name, chip.validation.source.venue) == (
        before["name"], before["chip"], before["venue"])


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_chip_array_matches_its_recipe(name: str) -> None:
    """A chip's generic `array` agrees with its recipe: MACs per MAC set, precisions, node, vdd, activity."""
    chip = load_chip(BUNDLED[name])
    array, recipe = chip.accelerator.array, chip.validation.recipe
    assert isinstance(array, ImcArray)
    assert recipe.name.lower() == chip.name == chip.accelerator.name
    assert array.cols * array.rows * array.macros == recipe.macs_per_mac_set
    assert (array.imc_type, array.input_bits, array.weight_bits) == (
        recipe.imc_type,
        recipe.input_bits,
        recipe.weight_bits,
    )
    assert (array.node_nm, array.vdd_v) == (recipe.node_nm, recipe.vdd_v)
    assert array.input_toggle_rate == recipe.activity.input_toggle_rate
    assert 1.0 - array.weight_sparsity == pytest.approx(recipe.activity.weight_factor)
    cells = chip.accelerator.memories[0]
    assert cells.name == "cells" and cells.capacity_bits == array.cells_per_group * array.weight_bits


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_chip_generic_form_runs(name: str) -> None:
    """The generic (mapping) form prices every chip's array to positive area, tclk and energy."""
    array = load_chip(BUNDLED[name]).accelerator.array
    assert isinstance(array, ImcArray)
    assert sum(imc_area_mm2(array).values()) > 0
    assert imc_tclk_ns(array) > 0
    assert imc_peak(array).energy_per_cycle_pj > 0


def test_bundled_chips_cite_their_paper() -> None:
    """Every bundled chip cites its paper (venue, title, authors, IEEE url)."""
    for path in BUNDLED.values():
        source = load_chip(path).validation.source
        assert source.venue and source.title and source.authors
        assert source.url is not None and source.url.startswith("https://ieeexplore.ieee.org/document/")


def test_load_chips_loads_every_bundled_chip_in_order() -> None:
    """load_chips returns one ChipSpec per path, in the order given."""
    chips = load_chips(BUNDLED.values())
    assert [chip.name for chip in chips] == list(BUNDLED)
    assert all(isinstance(chip, ChipSpec) for chip in chips)


# --- a user's chip --------------------------------------------------------------------------------


def test_user_chip_loads_with_defaults(tmp_path: Path) -> None:
    """A chip file written by a user loads; absent keys take the model's defaults."""
    chip = load_chip(_write(tmp_path, TINY, "my_chip"))
    assert chip.name == "my_chip" and chip.source == str(tmp_path / "my_chip.yaml")
    assert chip.accelerator.name == "tiny"
    recipe = chip.validation.recipe
    assert (recipe.imc_type, recipe.rows, recipe.cols, recipe.macros, recipe.input_transfers_per_cycle) == (
        ImcType.DIGITAL, 8, 4, 1, 1)
    assert recipe.activity == ActivityFactors()
    assert recipe.multipliers == Multipliers(count=8, bits=8, per=Per.COLUMN, activity=Activity.TOGGLE_DENSITY)
    assert recipe.adders == (Adder(name="tree", inputs=8, input_bits=8),)
    assert recipe.accumulators == (Accumulator(name="acc", bits=16, input_bits=11, register_bits=16),)
    assert recipe.cell_array.lines == (CellLine(name="wordline", rows=8, cells_per_row=8.0),)
    assert (recipe.cell_array.area_multiplier, recipe.cell_array.area_node_scaled) == (1.0, True)
    assert recipe.stages == (("mult", "tree", "acc"),)
    assert (chip.validation.reported, chip.validation.published_ratio) == (None, None)
    assert math.isfinite(evaluate_chip(recipe).tops_per_w)


def test_null_means_absent_for_optional_keys(tmp_path: Path) -> None:
    """`adcs: null`, `reported: null`, `activity: null` (as the bundled chips write them) read as absent."""
    text = _edit("    multipliers:", "    adcs: null\n    dacs: null\n    activity: null\n    multipliers:")
    text = _edit("  source:", "  reported: null\n  published_ratio: null\n  source:", text)
    assert load_chip(_write(tmp_path, text)).validation == load_chip(_write(tmp_path, TINY, "base")).validation


# --- errors from the shared checks: located, with the key path ------------------------------------


def test_negative_rows_is_located(tmp_path: Path) -> None:
    """`rows: -1` is reported at its line and column with its full key path."""
    assert _errors(tmp_path, _edit("    rows: 8\n", "    rows: -1\n")) == [
        "tiny.yaml:21:11: validation.recipe.rows: must be >= 1 (got -1)"
    ]


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    """A misspelt recipe key gets a did-you-mean and the list of valid keys."""
    assert _errors(tmp_path, _edit("    cols: 4", "    colls: 4")) == [
        "tiny.yaml:14:5: validation.recipe: missing required key 'cols'",
        f"tiny.yaml:22:5: validation.recipe.colls: unknown key 'colls', did you mean 'cols'?; "
        f"valid keys: {RECIPE_KEYS}",
    ]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    """A key written twice in the validation section is an error (PyYAML would keep the last)."""
    assert _errors(tmp_path, _edit("    rows: 8\n", "    rows: 8\n    rows: 16\n")) == [
        "tiny.yaml:22:5: validation.recipe.rows: duplicate key 'rows' (first defined at line 21)"
    ]


def test_every_issue_of_the_file_at_once(tmp_path: Path) -> None:
    """Hardware and validation issues come in one SpecError, sorted by place."""
    text = _edit("  input_bits: 4\n  weight_bits", "  input_bits: four\n  weight_bits")
    text = _edit("vdd_v: 0.9", "vdd_v: 0", text)
    text = _edit("authors: me", "author: me", text)
    assert _errors(tmp_path, text) == [
        "tiny.yaml:9:15: array.input_bits: expected an integer, got a string ('four')",
        "tiny.yaml:17:12: validation.recipe.vdd_v: must be > 0 (got 0)",
        "tiny.yaml:33:11: validation.source: missing required key 'authors'",
        ("tiny.yaml:33:45: validation.source.author: unknown key 'author', did you mean 'authors'?; "
         "valid keys: authors, doi, ieee_doc_id, title, url, venue"),
    ]


def test_load_chips_reports_every_file(tmp_path: Path) -> None:
    """load_chips raises one SpecError holding the issues of each bad file."""
    first = _write(tmp_path, _edit("    rows: 8\n", "    rows: 0\n"), "first")
    second = _write(tmp_path, _edit("cols: 4", "cols: 0"), "second")
    with pytest.raises(SpecError) as info:
        load_chips([first, BUNDLED["dimc1"], second])
    assert [(Path(i.file).name, i.key_path) for i in info.value.issues] == [
        ("first.yaml", "validation.recipe.rows"),
        ("second.yaml", "validation.recipe.cols"),
    ]


def test_validation_must_be_a_mapping(tmp_path: Path) -> None:
    """A validation: that is not a mapping is reported at its value."""
    head = TINY.split("validation:")[0]
    assert _errors(tmp_path, head + "validation: [recipe]\n") == [
        "tiny.yaml:12:13: validation: expected a mapping, got a list"
    ]


def test_null_cell_array_is_an_error(tmp_path: Path) -> None:
    """A required section written as null is an error (the dict reader used to take it as absent)."""
    text = TINY.split("    cell_array:")[0] + "    cell_array: null\n    stages: [[mult, tree, acc]]\n"
    text += "  source: {venue: test, title: a tiny chip, authors: me}\n"
    assert _errors(tmp_path, text) == [
        "tiny.yaml:28:17: validation.recipe.cell_array: expected a mapping, got null (an empty value)"
    ]


# --- one test per message of specs.chips -----------------------------------------------------------


def test_missing_validation_section(tmp_path: Path) -> None:
    """A hardware file without a validation: section is not a chip file."""
    assert _errors(tmp_path, TINY.split("validation:")[0]) == [
        ("tiny.yaml:1:1: missing required key 'validation'; a chip file is a hardware file with a "
         "validation: section (recipe, source, reported, published_ratio)")
    ]


def test_count_for_energy_above_count(tmp_path: Path) -> None:
    """count_for_energy counts some of the instances, so it cannot exceed count."""
    text = _edit("{count: 8, bits: 8}", "{count: 8, bits: 8, count_for_energy: 9}")
    assert _errors(tmp_path, text) == [
        ("tiny.yaml:23:56: validation.recipe.multipliers.count_for_energy: must be <= count = 8 (got 9); "
         "it counts the instances that switch in a cycle")
    ]


def test_adder_tree_inputs_power_of_two(tmp_path: Path) -> None:
    """A regular tree's inputs, and a delay tree's, must be powers of 2."""
    text = _edit("inputs: 8, input_bits: 8}", "inputs: 6, input_bits: 8, delay_tree: {inputs: 3, input_bits: 4}}")
    assert _errors(tmp_path, text) == [
        ("tiny.yaml:25:30: validation.recipe.adders[0].inputs: must be a power of 2 (got 6); "
         "an adder tree adds its inputs in pairs, level by level"),
        ("tiny.yaml:25:69: validation.recipe.adders[0].delay_tree.inputs: must be a power of 2 (got 3); "
         "an adder tree adds its inputs in pairs, level by level"),
    ]


def test_adder_tree_or_rcas_not_both(tmp_path: Path) -> None:
    """An adder is a regular tree or a list of RCAs; giving both is an error at rcas."""
    text = _edit("inputs: 8, input_bits: 8}", "inputs: 8, input_bits: 8, rcas: [{count: 1, bits: 8}]}")
    assert _errors(tmp_path, text) == [
        ("tiny.yaml:25:54: validation.recipe.adders[0].rcas: an adder is either a regular tree or a list of "
         "adders, not both (it also has inputs, input_bits); remove rcas, or inputs and input_bits")
    ]


def test_adder_needs_its_tree(tmp_path: Path) -> None:
    """Without rcas an adder is a regular tree: inputs and input_bits are required."""
    assert _errors(tmp_path, _edit("inputs: 8, input_bits: 8}", "inputs: 8}")) == [
        ("tiny.yaml:25:9: validation.recipe.adders[0]: missing required key 'input_bits'; "
         "an adder is a regular tree (inputs, input_bits) or a list of adders (rcas)")
    ]


def test_rcas_must_list_an_adder(tmp_path: Path) -> None:
    """An empty rcas list has no adder to price."""
    assert _errors(tmp_path, _edit("inputs: 8, input_bits: 8}", "rcas: []}")) == [
        "tiny.yaml:25:28: validation.recipe.adders[0].rcas: must list at least one adder; each as {count, bits}"
    ]


def test_rcas_list_is_accepted(tmp_path: Path) -> None:
    """An adder given as a list of RCAs loads as (count, bits) pairs."""
    chip = load_chip(_write(tmp_path, _edit("inputs: 8, input_bits: 8}", "rcas: [{count: 2, bits: 9}]}")))
    assert chip.validation.recipe.adders[0].rcas == ((2, 9),)


def test_register_narrower_than_its_input(tmp_path: Path) -> None:
    """An accumulator's register holds at least its input bits."""
    assert _errors(tmp_path, _edit("register_bits: 16", "register_bits: 10")) == [
        ("tiny.yaml:27:62: validation.recipe.accumulators[0].register_bits: must be >= input_bits = 11 (got 10); "
         "the register holds the shifted sum of its inputs")
    ]


def test_bits_per_cycle_must_divide_input_bits(tmp_path: Path) -> None:
    """The input is applied in whole cycles: input_bits_per_cycle divides input_bits."""
    text = _edit("    input_bits_per_cycle: 1\n    rows", "    input_bits_per_cycle: 3\n    rows")
    assert _errors(tmp_path, text) == [
        ("tiny.yaml:20:27: validation.recipe.input_bits_per_cycle: must divide input_bits = 4 (got 3); "
         "the input is applied in input_bits / input_bits_per_cycle cycles")
    ]


def test_analog_chip_needs_adcs(tmp_path: Path) -> None:
    """An analog recipe without ADCs is reported at the recipe (or at `adcs: null`)."""
    text = _edit("    imc_type: digital\n    node_nm", "    imc_type: analog\n    node_nm")
    assert _errors(tmp_path, text) == [
        "tiny.yaml:14:5: validation.recipe: an analog chip needs ADCs; add adcs: {count, bits, per}"
    ]
    text = _edit("    rows: 8\n", "    rows: 8\n    adcs: null\n", text)
    assert _errors(tmp_path, text) == [
        "tiny.yaml:22:11: validation.recipe.adcs: an analog chip needs ADCs; add adcs: {count, bits, per}"
    ]


def test_digital_chip_has_no_converters(tmp_path: Path) -> None:
    """ADCs or DACs on a digital recipe are errors, each at its own key."""
    text = _edit("    rows: 8\n", "    rows: 8\n    adcs: {count: 1, bits: 4}\n    dacs: {count: 8, bits: 4}\n")
    assert _errors(tmp_path, text) == [
        "tiny.yaml:22:11: validation.recipe.adcs: a digital chip has no ADCs; remove adcs or set it to null",
        "tiny.yaml:23:11: validation.recipe.dacs: a digital chip has no DACs; remove dacs or set it to null",
    ]


@pytest.mark.parametrize("name", ["cells", "acc_register"])
def test_reserved_block_name(tmp_path: Path, name: str) -> None:
    """The recipe's own block names (mult, adc, dac, cells, <accumulator>_register) are reserved."""
    text = _edit("{name: wordline,", f"{{name: {name},")
    assert _errors(tmp_path, text) == [
        (f"tiny.yaml:31:18: validation.recipe.cell_array.lines[0].name: block name '{name}' is reserved; "
         "mult, adc, dac, cells and <accumulator name>_register name the recipe's own blocks")
    ]


def test_block_name_used_twice(tmp_path: Path) -> None:
    """Two blocks of one name are an error at the second, naming the line of the first."""
    text = _edit("[[mult, tree, acc]]", "[[mult, tree]]", _edit("{name: acc,", "{name: tree,"))
    assert _errors(tmp_path, text) == [
        ("tiny.yaml:27:16: validation.recipe.accumulators[0].name: block name 'tree' is already used (line 25); "
         "block names must be unique")
    ]


def test_stages_must_not_be_empty(tmp_path: Path) -> None:
    """The clock period is the slowest stage, so there must be one."""
    assert _errors(tmp_path, _edit("stages: [[mult, tree, acc]]", "stages: []")) == [
        "tiny.yaml:32:13: validation.recipe.stages: must list at least one stage; the clock period is the slowest stage"
    ]


def test_stage_must_be_a_non_empty_list(tmp_path: Path) -> None:
    """Each stage is a non-empty list of block names."""
    assert _errors(tmp_path, _edit("[[mult, tree, acc]]", "[[mult, tree, acc], [], mult]")) == [
        ("tiny.yaml:32:33: validation.recipe.stages[1]: expected a non-empty list of block names, got an empty list; "
        "blocks: mult, tree, acc"),
        ("tiny.yaml:32:37: validation.recipe.stages[2]: expected a non-empty list of block names, got a string "
        "('mult'); blocks: mult, tree, acc"),
    ]


def test_stage_entry_must_be_a_name(tmp_path: Path) -> None:
    """A stage lists block names, not numbers."""
    assert _errors(tmp_path, _edit("[[mult, tree, acc]]", "[[mult, 3, acc]]")) == [
        ("tiny.yaml:32:21: validation.recipe.stages[0][1]: expected a block name, got an integer (3); "
        "blocks: mult, tree, acc")
    ]


def test_stage_naming_a_cell_line(tmp_path: Path) -> None:
    """Cell lines add energy but no delay, so a stage cannot list one."""
    assert _errors(tmp_path, _edit("[[mult, tree, acc]]", "[[mult, tree, acc, wordline]]")) == [
        ("tiny.yaml:32:32: validation.recipe.stages[0][3]: 'wordline' is a cell line, which has no delay of its "
        "own; blocks: mult, tree, acc")
    ]


def test_stage_naming_an_unknown_block(tmp_path: Path) -> None:
    """An unknown block in a stage gets a did-you-mean and the blocks it could name."""
    assert _errors(tmp_path, _edit("[[mult, tree, acc]]", "[[mult, tre, acc]]")) == [
        ("tiny.yaml:32:21: validation.recipe.stages[0][1]: unknown block 'tre', did you mean 'tree'?; "
        "blocks: mult, tree, acc")
    ]


def test_stage_naming_a_broken_block_is_not_unknown(tmp_path: Path) -> None:
    """A block whose own fields are wrong is still known by name: only its field is reported."""
    assert _errors(tmp_path, _edit("{name: tree, inputs: 8,", "{name: tree, inputs: 0,")) == [
        "tiny.yaml:25:30: validation.recipe.adders[0].inputs: must be >= 1 (got 0)"
    ]


# --- whatever the edit, only SpecError escapes, and what loads evaluates ---------------------------

_VALUES = ["-1", "0", "1", "3", "8", "0.5", "1.5", "null", "x", "true", "[]", "{}", "column", "macro",
           "analog", "digital", "full", "[[mult]]", "tree", "acc", "mult", "acc_register", ".inf", ".nan"]
_LINES = TINY.splitlines()


@settings(
    max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(
        st.tuples(st.integers(11, len(_LINES) - 1), st.sampled_from(_VALUES), st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_edited_chip_raises_spec_error_or_evaluates(edits: list[tuple[int, str, bool]]) -> None:
    """A tiny chip with values of its validation section replaced either loads and evaluates, or raises SpecError."""
    lines = list(_LINES)
    for index, value, first in edits:
        line = lines[index]
        colons = [i for i, c in enumerate(line) if c == ":"]
        if not colons:
            continue
        at = colons[0] if first else colons[-1]
        end = min((i for i in (line.find(",", at), line.find("}", at)) if i > at), default=len(line))
        lines[index] = f"{line[:at + 1]} {value}{line[end:]}"
    try:
        chip = build_chip(parse_yaml("\n".join(lines) + "\n", "tiny.yaml"))
    except SpecError:
        return
    result = evaluate_chip(chip.validation.recipe)
    assert result.area_mm2 >= 0 and result.tclk_ns >= 0
