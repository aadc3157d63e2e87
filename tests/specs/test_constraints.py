"""The constraint language: what each form parses to, every parse error's exact message and place, and
the checks against an accelerator and a workload (did-you-mean included)."""

from __future__ import annotations

import pytest

from imcmap.models.constraints import (
    Bypass,
    DiagonalRule,
    LoopOrder,
    SpatialBound,
    Stationary,
    TileBound,
    UtilizationBound,
)
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.specs.constraints import (
    check_constraints,
    parse_constraint,
    parse_constraints,
)
from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import load_accelerator
from imcmap.specs.library import resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.mapping import build_mapping_spec, check_mapping_against

PARSED = [
    ("spatial.D1.K >= 16", "*", SpatialBound("D1", "K", ">=", 16)),
    ("spatial.OX < 4", "*", SpatialBound(None, "OX", "<", 4)),
    ("Conv: forbid spatial.D1.OX", "Conv", SpatialBound("D1", "OX", "==", 1)),
    ("[/layer4/*]: diagonal forbidden", "[/layer4/*]", DiagonalRule(False)),
    ("* : diagonal required", "*", DiagonalRule(True)),
    ("utilization.spatial >= 0.5", "*", UtilizationBound(">=", 0.5)),
    ("stationary W at cells", "*", Stationary(Operand.W, "cells")),
    ("conv1: order sram_256KB: OX, K", "conv1", LoopOrder("sram_256KB", ("OX", "K"))),
    ("order dram: C, *", "*", LoopOrder("dram", ("C",), rest=True)),
    ("tile.I.sram_256KB <= 4096", "*", TileBound(Operand.I, "sram_256KB", "<=", 4096)),
    ("bypass I at sram_256KB", "*", Bypass(Operand.I, "sram_256KB")),
    ("bypass O rf_2B", "*", Bypass(Operand.O, "rf_2B")),
]


@pytest.mark.parametrize(("text", "scope", "body"), PARSED)
def test_each_form_parses(text: str, scope: str, body: object):
    """Every documented form gives its scope and body."""
    parsed = parse_constraint(text).parsed
    assert parsed is not None
    assert (parsed.scope, parsed.body) == (scope, body)


ERRORS = [
    ("", "col 1: empty constraint; constraints start with: spatial, forbid, diagonal, utilization, stationary, "
     "order, tile, bypass"),
    ("spatail.D1.K >= 3", "col 1: unknown constraint 'spatail', did you mean 'spatial'?; constraints start with: "
     "spatial, forbid, diagonal, utilization, stationary, order, tile, bypass"),
    ("spatial.D1.Q >= 3", "col 12: unknown loop dim 'Q'; loop dims: B, G, K, C, OY, OX, FY, FX"),
    ("spatial.D1.k >= 3", "col 12: unknown loop dim 'k', did you mean 'K'?; loop dims: B, G, K, C, OY, OX, FY, FX"),
    ("spatial.D1 >= 3", "col 9: 'D1' is not a loop dim; write spatial.D1.<loop dim> for an array dim, or "
     "spatial.<loop dim> for all of them"),
    ("spatial.D1.K = 3", "col 14: unknown comparison '='; write '=='"),
    ("spatial.D1.K >= 1.5", "col 17: expected an integer >= 1 after '>=', got '1.5'"),
    ("spatial.D1.K >= 0", "col 17: expected an integer >= 1 after '>=', got '0'"),
    ("spatial.D1.K 16", "col 14: expected a comparison (>=, <=, ==, >, <) after 'K', got '16'"),
    ("spatial.D1.K >= 3 extra", "col 19: unexpected 'extra' after '3'; the constraint should end here"),
    ("forbid D1.K", "col 8: expected 'spatial' after 'forbid', got 'D1'"),
    ("diagonal yes", "col 10: unknown diagonal setting 'yes'; expected one of: required, forbidden"),
    ("utilization.spatial >= 50", "col 24: must be a fraction in [0, 1] (got 50); e.g. 0.5 for 50 %"),
    ("utilization.temporal >= 0.5", "col 13: unknown utilization kind 'temporal'; expected one of: spatial"),
    ("stationary X at cells", "col 12: unknown operand 'X'; operands: W (weights), I (inputs), O (outputs)"),
    ("stationary W in cells", "col 14: expected 'at' after 'W', got 'in'"),
    ("order sram: K", "col 13: a loop-order fragment needs two dims, or one dim and '*'; e.g. order sram: K, * "
     "(innermost K)"),
    ("order sram: K, K", "col 16: loop dim 'K' is listed twice"),
    ("order sram: *, K", "col 13: '*' (every other loop dim) must come last; e.g. order sram: K, *"),
    ("order sram K, C", "col 12: expected ':' after 'sram', got 'K'"),
    ("order sram: OX, OY", "col 17: OX inside OY is not in the solver's space; within a segment the loops irrelevant "
     "to one operand go innermost, each group in the order B G K C OY OX FY FX; see the README's constraint section"),
    ("tile.W.cells <= ", "col 17: expected an integer >= 0 after '<=', got the end of the text"),
    ("tile.W <= 3", "col 8: expected '.' after 'W', got '<='"),
    ("bypass W", "col 9: expected memory level name after 'W', got the end of the text"),
    ("conv1:", "col 7: expected a constraint after the scope 'conv1:'; constraints start with: spatial, forbid, "
     "diagonal, utilization, stationary, order, tile, bypass"),
    ("[]: diagonal forbidden", "col 1: empty layer-name glob '[]'; e.g. [/layer1/*] or [conv*]"),
    ("spatial.D1.K >= 3 $", "col 19: unexpected character '$'"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_error_messages_are_exact(text: str, message: str):
    """Each malformed constraint gives one issue, at the offending word, with a hint where one helps."""
    with pytest.raises(SpecError) as info:
        parse_constraint(text)
    assert str(info.value) == f"--constraint '{text}': {message}"


def test_command_line_constraints_report_every_bad_one():
    """parse_constraints collects the issues of every malformed text."""
    with pytest.raises(SpecError) as info:
        parse_constraints(["spatial.D1.K >= 2", "diagonal maybe", "tile.W.cells"])
    assert [i.file for i in info.value.issues] == ["--constraint 'diagonal maybe'", "--constraint 'tile.W.cells'"]


def test_mapping_spec_constraint_errors_point_into_the_text():
    """In a YAML file the column is the text's start (after a quote) plus the offset of the word."""
    text = (
        "mapping:\n"
        "  - selector: default\n"
        "    constraints:\n"
        "      - \"spatial.D1.Q >= 2\"\n"
        "      - diagonal sometimes\n"
    )
    with pytest.raises(SpecError) as info:
        build_mapping_spec(parse_yaml(text, "m.yaml"))
    assert str(info.value).splitlines() == [
        "m.yaml:4:21: mapping[0].constraints[0]: unknown loop dim 'Q'; loop dims: B, G, K, C, OY, OX, FY, FX",
        "m.yaml:5:18: mapping[0].constraints[1]: unknown diagonal setting 'sometimes'; "
        "expected one of: required, forbidden",
    ]


WORKLOAD = Workload("net", (
    Layer("conv1", "Conv", {"K": 8, "C": 4, "OX": 4, "OY": 4, "FX": 3, "FY": 3}),
    Layer("fc", "Gemm", {"K": 10, "C": 64}),
))

CHECKS = [
    ("spatial.D3.K >= 2", "col 9: unknown array dim 'D3'; dimc has array dims: D1, D2"),
    ("stationary W at cell", "col 17: unknown memory level 'cell', did you mean 'cells'?; dimc has memories: "
     "cells, rf_1B, rf_2B, sram_256KB, dram"),
    ("stationary W at sram_256KB", "col 17: sram_256KB does not hold W (memory operand I2); W's levels: cells, dram"),
    ("tile.O.rf_1B <= 2", "col 8: rf_1B does not hold O (memory operand O); O's levels: rf_2B, sram_256KB, dram"),
    ("bypass I at dram", "col 13: dram is I's top level, where the whole operand lives; it cannot be bypassed"),
    ("bypass W at cells", "col 13: cells holds the weights the IMC array computes with; W cannot bypass it"),
    ("Convv: diagonal forbidden", "col 1: 'Convv' is neither an op type nor a layer of workload 'net', did you mean "
     "'Conv'?; op types: Conv, Gemm; match layer names with a glob in brackets, e.g. [conv1]"),
    ("[res*]: diagonal forbidden", "col 1: the glob [res*] matches no layer of workload 'net'; layers: conv1, fc"),
]


@pytest.mark.parametrize(("text", "message"), CHECKS)
def test_checks_against_accelerator_and_workload(text: str, message: str):
    """Names the accelerator or workload lacks are input errors with a did-you-mean, at the word."""
    accel = load_accelerator(resolve("accelerator", "dimc"))
    issues = check_constraints([parse_constraint(text)], accel, WORKLOAD)
    assert [str(i) for i in issues] == [f"--constraint '{text}': {message}"]


def test_diagonal_on_a_digital_array_is_an_input_error():
    """`diagonal ...` needs an IMC array."""
    accel = load_accelerator(resolve("accelerator", "digital"))
    (issue,) = check_constraints([parse_constraint("diagonal required")], accel, WORKLOAD)
    assert issue.message == f"diagonal mappings exist on IMC arrays only; {accel.name} has a digital PE array"


def test_mapping_check_includes_constraints_within_their_entry():
    """check_mapping_against reports a constraint scoped by its entry that matches no layer, in the file."""
    text = (
        "mapping:\n"
        "  - selector: Gemm\n"
        "    constraints: ['conv1: spatial.D1.K >= 2', 'stationary W at celss']\n"
    )
    spec = build_mapping_spec(parse_yaml(text, "m.yaml"))
    issues = check_mapping_against(spec, load_accelerator(resolve("accelerator", "dimc")), WORKLOAD)
    assert [str(i) for i in issues] == [
        "m.yaml:3:20: mapping[0].constraints[0]: 'conv1' within the entry for 'Gemm' matches no layer of workload "
        "'net'; layers: conv1, fc",
        "m.yaml:3:64: mapping[0].constraints[1]: unknown memory level 'celss', did you mean 'cells'?; dimc has "
        "memories: cells, rf_1B, rf_2B, sram_256KB, dram",
    ]
