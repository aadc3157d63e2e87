"""Fuzzing the spec loaders: whatever the text, the only exception that escapes is SpecError."""

from __future__ import annotations

from collections.abc import Callable

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import build_hardware_spec, load_accelerator
from imcmap.specs.library import list_bundled, resolve
from imcmap.specs.loader import parse_yaml
from imcmap.specs.mapping import build_mapping_spec, check_mapping_against
from imcmap.specs.workload import build_workload

FUZZ = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Words the schemas know, so generated documents get past the first checks and reach deeper ones.
# `auto` is left out: it calls models.memory, which has its own tests.
VOCAB = [
    "name", "memories", "array", "validation", "capacity_bits", "operands", "read_bw_bits",
    "write_bw_bits", "read_energy_pj", "write_energy_pj", "area_mm2", "latency_cycles", "served_dims",
    "kind", "ports", "double_buffered", "type", "imc", "digital", "analog", "imc_type", "dims",
    "input_bits", "weight_bits", "input_bits_per_cycle", "adc_bits", "dac_bits", "cells_per_group",
    "node_nm", "vdd_v", "input_toggle_rate", "weight_sparsity", "cell_area_um2", "mac_energy_pj",
    "pe_area_mm2", "sram", "rf", "dram", "I1", "I2", "O", "D1", "D2", "D3", "layers", "op", "Conv",
    "Gemm", "MatMul", "stride", "dilation", "padding", "precision", "sources", "w_bits", "i_bits",
    "o_bits", "psum_bits", "B", "G", "K", "C", "OY", "OX", "FY", "FX", "mapping", "selector",
    "default", "spatial", "spatial_allowed", "diagonal", "operand_links", "constraints", "W", "I",
]
TOKENS = [
    *VOCAB,
    ":", ": ", "- ", "\n", "\n  ", "\n    ", "  ", "[", "]", "{", "}", ",", "&a ", "*a", "!!int ",
    "!!float ", "!!str ", "!!python/object:os.system ", "!x ", "'", '"', "#", "? ", "<<: ", "~",
    "true", "no", "0", "-1", "8", "8.0", "1e10", "1.0e+400", ".nan", ".inf", "-.inf", "2024-01-01",
    "\t", "%YAML 1.1\n", "---\n", "...\n", "|\n", ">\n", "\x00", "\ufeff", "é",
]

BUILDERS: list[Callable[..., object]] = [build_hardware_spec, build_workload, build_mapping_spec]
SEEDS = [
    path.read_text()
    for kind in ("accelerator", "workload", "mapping")
    for _, path in list_bundled()[kind]
    if path.suffix == ".yaml"
]
DIMC = load_accelerator(resolve("accelerator", "dimc"))


def _only_spec_errors(text: str) -> None:
    """Parse and build ``text`` as every kind of spec; anything but a SpecError fails the test."""
    try:
        doc = parse_yaml(text, "fuzz.yaml")
    except SpecError:
        return
    for build in BUILDERS:
        try:
            built = build(doc)
        except SpecError:
            continue
        if build is build_mapping_spec:
            check_mapping_against(built, DIMC)  # type: ignore[arg-type]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VOCAB),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(VOCAB), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=30,
)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_raises_only_spec_errors(text: str) -> None:
    """Arbitrary text is either a spec or a SpecError."""
    _only_spec_errors(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_ish_token_soup_raises_only_spec_errors(text: str) -> None:
    """Text made of YAML punctuation, tags, anchors and schema words gives only SpecErrors."""
    _only_spec_errors(text)


@FUZZ
@given(documents)
def test_random_yaml_documents_raise_only_spec_errors(document: object) -> None:
    """Well-formed YAML of any shape, with schema words as keys, gives only SpecErrors."""
    _only_spec_errors(yaml.safe_dump(document, allow_unicode=True))


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A bundled spec with a few lines deleted, repeated, re-indented or a token replaced."""
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            break
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["delete", "repeat", "indent", "dedent", "token", "insert"]))
        if action == "delete":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif action == "dedent":
            lines[i] = lines[i].removeprefix("  ")
        elif action == "token":
            words = lines[i].split(" ")
            j = draw(st.integers(min_value=0, max_value=len(words) - 1))
            words[j] = draw(st.sampled_from(TOKENS))
            lines[i] = " ".join(words)
        else:
            lines.insert(i, draw(st.sampled_from(TOKENS)))
    return "\n".join(lines) + "\n"


@FUZZ
@given(mutated_specs())
def test_mutated_bundled_specs_raise_only_spec_errors(text: str) -> None:
    """Small edits of valid specs (the likely real mistakes) give only SpecErrors."""
    _only_spec_errors(text)
