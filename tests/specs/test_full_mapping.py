"""Full-mapping files: building Mappings, the writer's round trip, and every error class at its place."""

from __future__ import annotations

import pytest

from imcmap.models.evaluator import check
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.mapping_spec import SourceRef
from imcmap.models.report import Violation
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.specs.errors import SpecError
from imcmap.specs.full_mapping import (
    build_full_mapping_spec,
    full_mapping_plain,
    full_mapping_to_yaml,
    violation_issue,
)
from imcmap.specs.hardware import load_accelerator
from imcmap.specs.library import resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.workload import load_workload

DIMC = load_accelerator(resolve("accelerator", "dimc"))
TINY_CONV = load_workload(resolve("workload", "tiny_conv"))
TINY_NET = load_workload(resolve("workload", "tiny_net"))

# tiny_conv (K8 C4 OY4 OX4 FY3 FX3) on dimc: K on the columns, C and FX down the rows; the weights
# stay in the cells while OX and OY iterate, inputs and outputs sit in the SRAM.
BASE = """\
name: example
layers:
  conv:
    spatial: {D1: {K: 8}, D2: {C: 4, FX: 3}}
    temporal:
      W: {cells: [[OX, 4], [OY, 4]], dram: [[FY, 3]]}
      I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}
      O: {rf_2B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}
"""
BASE_MAPPING = Mapping(
    spatial={"D1": {"K": 8}, "D2": {"C": 4, "FX": 3}},
    loops=(Loop("OX", 4), Loop("OY", 4), Loop("FY", 3)),
    cuts={Operand.W: (2, 3), Operand.I: (0, 3, 3), Operand.O: (0, 3, 3)},
)
NEST_HINT = "every operand lists the same loops in the same order; only its level cuts differ"
LOOP_DIMS_HINT = "loop dims: B, G, K, C, OY, OX, FY, FX"


def _build(text: str, workload=TINY_CONV, **kwargs):  # type: ignore[no-untyped-def]
    return build_full_mapping_spec(parse_yaml(text, "m.yaml"), DIMC, workload, **kwargs)


def _error(old: str, new: str, workload=TINY_CONV) -> str:  # type: ignore[no-untyped-def]
    assert old in BASE, old
    with pytest.raises(SpecError) as info:
        _build(BASE.replace(old, new), workload)
    return str(info.value)


# --- building -----------------------------------------------------------------------------------


def test_builds_the_mapping_with_cuts_from_the_level_lists() -> None:
    """Each operand's level lists give its cuts; the nest is the concatenation; links default."""
    spec = _build(BASE)
    assert spec.name == "example"
    assert spec.mappings == {"conv": BASE_MAPPING}
    assert check(TINY_CONV.layers[0], DIMC, spec.mappings["conv"]) == []


def test_places_of_keys_are_kept() -> None:
    """The layer key and every level key keep their 1-based line and column."""
    spec = _build(BASE)
    places = spec.sources["conv"]
    assert places[""] == SourceRef("m.yaml", 3, 3)
    assert places["spatial.D2"] == SourceRef("m.yaml", 4, 27)
    assert places["temporal.I.sram_256KB"] == SourceRef("m.yaml", 7, 22)


def test_spatial_and_operand_links_are_optional() -> None:
    """Without spatial nothing is unrolled; operand_links can be given explicitly."""
    text = BASE.replace("    spatial: {D1: {K: 8}, D2: {C: 4, FX: 3}}\n", "    operand_links: {W: I2, I: I1, O: O}\n")
    mapping = _build(text).mappings["conv"]
    assert mapping.spatial == {}
    assert mapping.operand_links == {Operand.W: "I2", Operand.I: "I1", Operand.O: "O"}


def test_every_workload_layer_required_only_on_request() -> None:
    """A workload layer without a mapping is fine, unless require_all is set."""
    text = BASE.replace("  conv:", "  conv1:")
    assert set(_build(text, TINY_NET).mappings) == {"conv1"}
    with pytest.raises(SpecError) as info:
        _build(text, TINY_NET, require_all=True)
    assert str(info.value) == (
        "m.yaml:3:3: layers: layer 'conv2' of workload 'tiny_net' has no mapping\n"
        "m.yaml:3:3: layers: layer 'fc' of workload 'tiny_net' has no mapping"
    )


# --- round trip ---------------------------------------------------------------------------------


def test_writer_round_trip() -> None:
    """full_mapping_to_yaml then build gives back the same mappings, including odd layer names,
    size-1 loops, empty levels, no spatial unrolling and non-default operand links."""
    swapped = Mapping(
        spatial={},
        loops=(Loop("K", 2), Loop("C", 1), Loop("B", 3)),
        cuts={Operand.W: (1, 2, 3), Operand.I: (0, 3), Operand.O: (3, 3, 3)},
        operand_links={Operand.W: "I1", Operand.I: "I2", Operand.O: "O"},
    )
    mappings = {"conv": BASE_MAPPING, "/layer1/0/conv1/Conv": BASE_MAPPING, "true": swapped, "a: b #c": swapped}
    text = full_mapping_to_yaml(mappings, DIMC, name="saved")
    spec = build_full_mapping_spec(parse_yaml(text, "saved.yaml"), DIMC)
    assert spec.name == "saved"
    assert spec.mappings == mappings
    assert list(spec.mappings) == list(mappings)
    assert '  "a: b #c":' in text.splitlines()


def test_writer_layout_is_one_operand_per_line() -> None:
    """The writer prints what a person would write: flow style, levels in chain order."""
    text = full_mapping_to_yaml({"conv": BASE_MAPPING}, DIMC)
    body = text.split("layers:\n", 1)[1]
    assert body == (
        "  conv:\n"
        "    spatial: {D1: {K: 8}, D2: {C: 4, FX: 3}}\n"
        "    temporal:\n"
        "      W: {cells: [[OX, 4], [OY, 4]], dram: [[FY, 3]]}\n"
        "      I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}\n"
        "      O: {rf_2B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}\n"
    )


def test_writer_rejects_cuts_that_do_not_fit_the_chain() -> None:
    """A mapping whose cuts do not match an operand's memory chain cannot be written."""
    bad = Mapping(BASE_MAPPING.spatial, BASE_MAPPING.loops, {**BASE_MAPPING.cuts, Operand.I: (0, 3)})
    with pytest.raises(ValueError, match=r"I: cuts \(0, 3\) do not split 3 loops over its levels"):
        full_mapping_to_yaml({"conv": bad}, DIMC)


def test_plain_form_for_reports() -> None:
    """full_mapping_plain gives the file's layout as data (used by `evaluate --json`)."""
    plain = full_mapping_plain(BASE_MAPPING, DIMC)
    assert plain["temporal"] == {
        "W": {"cells": [["OX", 4], ["OY", 4]], "dram": [["FY", 3]]},
        "I": {"rf_1B": [], "sram_256KB": [["OX", 4], ["OY", 4], ["FY", 3]], "dram": []},
        "O": {"rf_2B": [], "sram_256KB": [["OX", 4], ["OY", 4], ["FY", 3]], "dram": []},
    }
    assert plain["operand_links"] == {"W": "I2", "I": "I1", "O": "O"}


# --- errors ------------------------------------------------------------------------------------


def test_unknown_level_with_did_you_mean() -> None:
    """A misspelt level names the operand's chain and suggests the level; it is not also 'missing'."""
    assert _error("I: {rf_1B: [], sram_256KB:", "I: {rf_1B: [], sram_256K:") == (
        "m.yaml:7:22: layers.conv.temporal.I.sram_256K: unknown memory level 'sram_256K', "
        "did you mean 'sram_256KB'?; I's levels (memory operand I1), lowest first: rf_1B, sram_256KB, dram"
    )


def test_level_of_another_operand() -> None:
    """A real level that does not hold the operand's memory operand is named as such."""
    assert _error("W: {cells: [[OX, 4], [OY, 4]], dram:", "W: {rf_1B: [], cells: [[OX, 4], [OY, 4]], dram:") == (
        "m.yaml:6:11: layers.conv.temporal.W.rf_1B: memory level 'rf_1B' does not hold I2, the memory "
        "operand of W; W's levels (memory operand I2), lowest first: cells, dram"
    )


def test_wrong_level_order() -> None:
    """Levels go lowest first; the first level out of place is reported."""
    old = "I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}"
    new = "I: {sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], rf_1B: [], dram: []}"
    assert _error(old, new) == (
        "m.yaml:7:11: layers.conv.temporal.I.sram_256KB: 'sram_256KB' is listed before 'rf_1B', but levels "
        "go lowest first; I's levels (memory operand I1), lowest first: rf_1B, sram_256KB, dram"
    )


def test_missing_level() -> None:
    """Every level of the chain must be listed, with [] when it keeps no loops."""
    assert _error("O: {rf_2B: [], ", "O: {") == (
        "m.yaml:8:10: layers.conv.temporal.O: missing level 'rf_2B' of O's memory chain "
        "(rf_2B, sram_256KB, dram); list it with [] if it keeps no loops"
    )


def test_loop_nests_disagree_between_operands() -> None:
    """The first differing loop is named with the operand and its position (innermost = 1)."""
    old = "O: {rf_2B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]]"
    assert _error(old, "O: {rf_2B: [], sram_256KB: [[OX, 4], [FY, 3], [OY, 4]]") == (
        f"m.yaml:8:44: layers.conv.temporal.O.sram_256KB[1]: loop 2 of O's nest (innermost = 1) is [FY, 3], "
        f"but W's is [OY, 4]; {NEST_HINT}"
    )


def test_loop_nest_shorter_or_longer_than_the_reference() -> None:
    """A nest that stops early is reported at the operand; an extra loop at the loop itself."""
    old = "I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: []}"
    assert _error(old, "I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4]], dram: []}") == (
        f"m.yaml:7:10: layers.conv.temporal.I: I's nest has 2 loops, W's has 3 (next: [FY, 3]); {NEST_HINT}"
    )
    assert _error(old, "I: {rf_1B: [], sram_256KB: [[OX, 4], [OY, 4], [FY, 3]], dram: [[K, 1]]}") == (
        f"m.yaml:7:70: layers.conv.temporal.I.dram[0]: loop 4 of I's nest is [K, 1], "
        f"but W's nest ends after 3 loops; {NEST_HINT}"
    )


def test_bad_loop_entries() -> None:
    """Each malformed loop entry is reported at its place, all at once."""
    old = "dram: [[FY, 3]]}"
    new = "dram: [FY3, [FY, 3, 1], [FZ, 3], [3, FY], [FY, 0], [FY, '3'], [true, 3]]}"
    where = "m.yaml:6:{}: layers.conv.temporal.W.dram{}: "
    assert _error(old, new).splitlines() == [
        where.format(45, "[0]") + "expected a loop [dim, size], e.g. [K, 4]; got a string ('FY3')",
        where.format(50, "[1]") + "expected a loop [dim, size], e.g. [K, 4]; got a list of 3 items",
        where.format(63, "[2][0]") + f"unknown loop dim 'FZ'; {LOOP_DIMS_HINT}",
        where.format(71, "[3]") + "a loop is [dim, size]: write [FY, 3]",
        where.format(85, "[4][1]") + "must be >= 1 (got 0)",
        where.format(94, "[5][1]") + "expected an integer, got a string ('3'); write numbers without quotes",
        where.format(101, "[6][0]") + f"expected a loop dim, got a boolean (true); a loop is [dim, size]; "
        f"{LOOP_DIMS_HINT}",
    ]


def test_level_value_must_be_a_list() -> None:
    """A level maps to a list of loops, even when empty."""
    assert _error("dram: []}\n      O", "dram: {}}\n      O") == (
        "m.yaml:7:69: layers.conv.temporal.I.dram: expected a list of loops [dim, size], innermost first, "
        "e.g. [[K, 4]]; got a mapping"
    )


def test_spatial_errors() -> None:
    """Unknown array dims and loop dims in the spatial unrolling, with suggestions."""
    assert _error("D2: {C: 4, FX: 3}", "D2: {CC: 4, FX: 0}").splitlines() == [
        f"m.yaml:4:32: layers.conv.spatial.D2.CC: unknown loop dim 'CC', did you mean 'C'?; {LOOP_DIMS_HINT}",
        "m.yaml:4:43: layers.conv.spatial.D2.FX: must be >= 1 (got 0)",
    ]
    assert _error("D2: {C", "d2: {C") == (
        "m.yaml:4:27: layers.conv.spatial.d2: unknown array dim 'd2', did you mean 'D2'?; "
        "dimc has array dims: D1, D2"
    )


def test_layer_missing_from_the_workload() -> None:
    """A mapped layer the workload does not have is an error, with a suggestion."""
    assert _error("  conv:", "  convv:") == (
        "m.yaml:3:3: layers.convv: workload 'tiny_conv' has no layer 'convv', did you mean 'conv'?; "
        "its layers: conv"
    )


def test_operand_link_errors() -> None:
    """Links are checked like the mapping spec's: distinct, known, and held by some memory."""
    new = "    operand_links: {W: I2, I: I2, O: O3}\n    spatial:"
    assert _error("    spatial:", new).splitlines() == [
        (
            "m.yaml:4:31: layers.conv.operand_links.I: memory operand 'I2' is already linked to W; "
            "each layer operand needs its own memory operand"
        ),
        (
            "m.yaml:4:38: layers.conv.operand_links.O: unknown memory operand 'O3', did you mean 'O'?; "
            "expected one of: I1, I2, O"
        ),
    ]


def test_structure_errors() -> None:
    """Missing operands, unknown keys and an empty file are reported like every other spec."""
    assert _error("      O: {", "      Out: {") == (
        "m.yaml:6:7: layers.conv.temporal: missing required key 'O'\n"
        "m.yaml:8:7: layers.conv.temporal.Out: unknown key 'Out'; valid keys: I, O, W"
    )
    assert _error("    temporal:", "    temporals:").startswith(
        "m.yaml:4:5: layers.conv: missing required key 'temporal'\n"
        "m.yaml:5:5: layers.conv.temporals: unknown key 'temporals', did you mean 'temporal'?"
    )
    with pytest.raises(SpecError) as info:
        _build("")
    assert str(info.value) == "m.yaml:1:1: file is empty; expected a mapping with keys name, layers"


# --- check() verdicts at their place ------------------------------------------------------------


def test_violations_are_placed_at_the_key_they_concern() -> None:
    """Capacity points at the first operand listing the level; array checks at the array dim."""
    spec = _build(BASE)
    capacity = violation_issue(spec, "conv", Violation("capacity", "sram_256KB", "too big"))
    assert str(capacity) == (
        "m.yaml:7:22: layers.conv.temporal.I.sram_256KB: illegal mapping (not priced): "
        "capacity at sram_256KB: too big"
    )
    rows = violation_issue(spec, "conv", Violation("imc_rows", "D2", "needs 192 rows"))
    assert (rows.line, rows.col, rows.key_path) == (4, 27, "layers.conv.spatial.D2")
    factors = violation_issue(spec, "conv", Violation("factorization", "K", "wrong"))
    assert (factors.line, factors.key_path) == (5, "layers.conv.temporal")


# --- operands exchanged (attention's dynamic W) --------------------------------------------------

SCORES = Layer("qk", "MatMul", {"B": 4, "K": 8, "C": 4}, sources=("q", "k"),
               dynamic_operands=frozenset({Operand.W}), weight_sources=("k",))
# the layer with I and W exchanged: B 8 keys, K 4 queries; 4 queries x 4 features in the cells
EXCHANGED = """\
layers:
  qk:
    spatial: {D1: {K: 4}, D2: {C: 4}}
    operands_exchanged: true
    temporal:
      W: {cells: [[B, 8]], dram: []}
      I: {rf_1B: [], sram_256KB: [[B, 8]], dram: []}
      O: {rf_2B: [], sram_256KB: [[B, 8]], dram: []}
"""


def test_operands_exchanged_is_read_and_written_back() -> None:
    """The flag names the layers mapped with I and W exchanged; the writer puts it back; the mapping is
    legal for the exchanged layer (B 8, K 4), which ``layer_as_mapped`` gives."""
    workload = Workload("attention", (SCORES,))
    spec = _build(EXCHANGED, workload)
    assert spec.exchanged == frozenset({"qk"})
    as_mapped = spec.layer_as_mapped(SCORES)
    assert (as_mapped.size("B"), as_mapped.size("K")) == (8, 4)
    assert check(as_mapped, DIMC, spec.mappings["qk"]) == []
    text = full_mapping_to_yaml(spec.mappings, DIMC, exchanged={"qk"})
    assert "    operands_exchanged: true" in text.splitlines()
    again = build_full_mapping_spec(parse_yaml(text, "saved.yaml"), DIMC, workload)
    assert again.exchanged == spec.exchanged and again.mappings == spec.mappings
    assert _build(EXCHANGED.replace("true", "false"), workload).exchanged == frozenset()


def test_operands_exchanged_on_a_layer_with_a_stored_weight() -> None:
    """A stored W has one orientation: the flag is an error at its place."""
    text = BASE.replace("    temporal:", "    operands_exchanged: true\n    temporal:", 1)
    with pytest.raises(SpecError) as info:
        _build(text)
    assert str(info.value) == (
        "m.yaml:5:5: layers.conv.operands_exchanged: layer 'conv' has a stored W or a window: its operands "
        "cannot be exchanged; operands_exchanged: true needs a matrix product whose W is computed during "
        "inference (attention's Q x K^T, P x V)"
    )


def test_operands_exchanged_must_be_a_boolean() -> None:
    with pytest.raises(SpecError) as info:
        _build(EXCHANGED.replace("true", "yes please"), Workload("attention", (SCORES,)))
    assert str(info.value) == (
        "m.yaml:4:25: layers.qk.operands_exchanged: expected true or false, got a string ('yes please')")
