"""Mapping specs: bundled mappings, entry fields, loop dims, and checks against an accelerator."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from imcmap.models.mapping import DEFAULT_OPERAND_LINKS
from imcmap.models.mapping_spec import SourceRef
from imcmap.models.workload import Layer, Operand
from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import build_hardware_spec, load_accelerator
from imcmap.specs.library import list_bundled, resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.mapping import (
    build_mapping_spec,
    check_mapping_against,
    load_mapping_spec,
)
from imcmap.specs.workload import load_workload

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

FULL = """\
name: mine
mapping:
  - selector: default
    spatial_allowed: {D1: [K, OX], D2: [C, FX, FY]}
    diagonal: true
  - selector: Conv
    spatial: {D1: {K: 8, OX: 4}, D2: {C: 16}}
    operand_links: {W: I2, I: I1, O: O}
    constraints: ["spatial.D1.K >= 16"]
  - selector: conv2
    diagonal: false
"""


def _spec(text: str):  # type: ignore[no-untyped-def]
    return build_mapping_spec(parse_yaml(text, "m.yaml"))


def _build_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        _spec(text)
    return str(info.value)


def _conv(name: str) -> Layer:
    return Layer(name=name, op="Conv", dims={"K": 8})


def test_bundled_mappings_load() -> None:
    """default and default_imc load; default_imc allows K, OX, OY on D1 and diagonal mappings."""
    assert {"default", "default_imc"} <= {n for n, _ in list_bundled()["mapping"]}
    for _, path in list_bundled()["mapping"]:
        load_mapping_spec(path)
    rule = load_mapping_spec(resolve("mapping", "default_imc")).resolve(_conv("x"))
    assert rule.allowed_spatial == {"D1": ("K", "OX", "OY"), "D2": ("C", "FX", "FY")}
    assert rule.allow_diagonal is True
    unrestricted = load_mapping_spec(resolve("mapping", "default")).resolve(_conv("x"))
    assert unrestricted.allowed_spatial is None and unrestricted.fixed_spatial is None


def test_entries_resolve_by_layer_then_op_then_default() -> None:
    """Each field comes from the most specific entry that sets it; constraints keep their place."""
    spec = _spec(FULL)
    assert spec.name == "mine"
    conv2 = spec.resolve(_conv("conv2"))
    assert conv2.allow_diagonal is False
    assert conv2.fixed_spatial == {"D1": {"K": 8, "OX": 4}, "D2": {"C": 16}}
    assert conv2.allowed_spatial == {"D1": ("K", "OX"), "D2": ("C", "FX", "FY")}
    assert conv2.operand_links == {Operand.W: "I2", Operand.I: "I1", Operand.O: "O"}
    (constraint,) = conv2.constraints
    assert (constraint.text, constraint.source, constraint.scope) == (
        "spatial.D1.K >= 16", SourceRef("m.yaml", 9, 20), "Conv")  # the text, inside the quotes
    gemm = spec.resolve(Layer(name="fc", op="Gemm", dims={}))
    assert gemm.fixed_spatial is None and gemm.operand_links == DEFAULT_OPERAND_LINKS


def test_rules_remember_where_their_keys_are() -> None:
    """Each rule stores SourceRefs for its keys, for checks made later against an accelerator."""
    rule = _spec(FULL).rules[1]
    assert rule.source == SourceRef("m.yaml", 6, 5)
    assert rule.key_sources["spatial.D1"] == SourceRef("m.yaml", 7, 15)
    assert rule.key_sources["spatial.D1.OX"] == SourceRef("m.yaml", 7, 26)
    assert rule.key_sources["operand_links.W"] == SourceRef("m.yaml", 8, 21)


def test_unknown_loop_dim_gets_a_did_you_mean() -> None:
    """An unknown loop dim in spatial is reported at the key with the closest loop dim."""
    path = BAD / "unknown_loop_dim.yaml"
    with pytest.raises(SpecError) as info:
        load_mapping_spec(path)
    assert str(info.value) == (
        f"{path}:3:26: mapping[0].spatial.D1.OXX: unknown loop dim 'OXX', did you mean 'OX'?; "
        "loop dims: B, G, K, C, OY, OX, FY, FX"
    )


def test_entry_errors_are_all_reported() -> None:
    """Repeated dims, partial or clashing operand links, non-string constraints, repeated selectors."""
    text = (
        "mapping:\n"
        "  - selector: default\n"
        "    spatial_allowed: {D2: [C, C]}\n"
        "    operand_links: {W: I2, I: I2}\n"
        "    constraints: [3]\n"
        "  - selector: default\n"
        "    spatial: {D1: {K: 0}}\n"
    )
    assert _build_error(text).splitlines() == [
        "m.yaml:3:31: mapping[0].spatial_allowed.D2[1]: loop dim 'C' is listed twice",
        "m.yaml:4:20: mapping[0].operand_links: missing required key 'O'",
        ("m.yaml:4:31: mapping[0].operand_links.I: memory operand 'I2' is already linked to W; "
        "each layer operand needs its own memory operand"),
        "m.yaml:5:19: mapping[0].constraints[0]: expected a string, got an integer (3)",
        "m.yaml:6:15: mapping[1].selector: duplicate selector 'default' (first used at line 2)",
        "m.yaml:7:23: mapping[1].spatial.D1.K: must be >= 1 (got 0)",
    ]


def test_fixed_unrolling_must_be_allowed_in_the_same_entry() -> None:
    """A loop fixed on an array dim that the entry's spatial_allowed excludes is reported."""
    text = "mapping:\n  - selector: default\n    spatial: {D1: {C: 2}}\n    spatial_allowed: {D1: [K]}\n"
    assert _build_error(text) == (
        "m.yaml:3:20: mapping[0].spatial.D1.C: C is unrolled on D1, but spatial_allowed.D1 does not allow it; "
        "allowed on D1: K"
    )


def test_checks_against_an_accelerator() -> None:
    """Unknown array dims, too much unrolling, OX on D1 without diagonal, selectors matching nothing."""
    text = (
        "mapping:\n"
        "  - selector: default\n"
        "    spatial: {D1: {K: 64, OX: 4}, D3: {C: 2}}\n"
        "    diagonal: false\n"
        "  - selector: conv9\n"
        "    spatial_allowed: {D4: [K]}\n"
    )
    dimc = load_accelerator(resolve("accelerator", "dimc"))
    net = load_workload(resolve("workload", "tiny_net"))
    assert [str(i) for i in check_mapping_against(_spec(text), dimc, net)] == [
        "m.yaml:3:15: mapping[0].spatial.D1: unrolls 256 on D1, which has only 128",
        "m.yaml:3:27: mapping[0].spatial.D1.OX: OX on D1 is a diagonal mapping, but this entry sets diagonal: false",
        "m.yaml:3:35: mapping[0].spatial.D3: unknown array dim 'D3'; dimc has array dims: D1, D2",
        ("m.yaml:5:5: mapping[1].selector: selector 'conv9' matches no layer or op of workload 'tiny_net', "
        "did you mean 'conv2'?; ops: Conv, Gemm"),
        "m.yaml:6:23: mapping[1].spatial_allowed.D4: unknown array dim 'D4'; dimc has array dims: D1, D2",
    ]


def test_bundled_mappings_fit_bundled_accelerators() -> None:
    """The bundled mappings raise no issue against any bundled accelerator."""
    for _, accel_path in list_bundled()["accelerator"]:
        accel = load_accelerator(accel_path)
        for _, mapping_path in list_bundled()["mapping"]:
            assert check_mapping_against(load_mapping_spec(mapping_path), accel) == []


def test_link_to_a_memory_operand_no_memory_holds() -> None:
    """An operand link to a memory operand that no level of the accelerator holds is reported."""
    hw = (Path(__file__).resolve().parents[1] / "data" / "good" / "mini_hw.yaml").read_text()
    accel = build_hardware_spec(parse_yaml(hw, "hw.yaml")).accelerator
    without_i2 = tuple(dataclasses.replace(m, operands=("I1", "O")) for m in accel.memories)
    accel = dataclasses.replace(accel, memories=without_i2)  # bypasses the hardware checks on purpose
    spec = _spec("mapping:\n  - selector: default\n    operand_links: {W: I2, I: I1, O: O}\n")
    assert [str(i) for i in check_mapping_against(spec, accel)] == [
        "m.yaml:3:21: mapping[0].operand_links.W: no memory of mini holds memory operand 'I2'"
    ]
