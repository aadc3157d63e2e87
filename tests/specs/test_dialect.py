"""specs.dialect: each file's dialect decided from its top-level shape, once for every loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from imcmap.specs.dialect import Dialect, FileKind, dialect_of
from imcmap.specs.library import resolve
from imcmap.specs.loader import load_yaml, parse_yaml

ZZ = Path(__file__).resolve().parents[1] / "data" / "zigzag"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("dimc.yaml", FileKind.HARDWARE),
        ("tpu_like.yaml", FileKind.HARDWARE),
        ("default_imc.yaml", FileKind.MAPPING),
        ("tpu_like_mapping.yaml", FileKind.MAPPING),
        ("resnet_head.yaml", FileKind.WORKLOAD),
    ],
)
def test_zigzag_file_is_zigzag_only_as_its_kind(name: str, kind: FileKind) -> None:
    """Each of ZigZag's own files is ZigZag's as its kind and imcmap's as any other kind."""
    doc = load_yaml(ZZ / name)
    found = {k: dialect_of(doc, k) for k in FileKind}
    assert found == {k: Dialect.ZIGZAG if k is kind else Dialect.IMCMAP for k in FileKind}


@pytest.mark.parametrize(("library_kind", "name"), [("accelerator", "dimc"), ("mapping", "default_imc"),
                                                    ("workload", "tiny_net")])
def test_bundled_imcmap_files_are_imcmap_for_every_kind(library_kind: str, name: str) -> None:
    """imcmap's own bundled files are never taken for ZigZag's."""
    doc = load_yaml(resolve(library_kind, name))
    assert {dialect_of(doc, k) for k in FileKind} == {Dialect.IMCMAP}


def test_workload_keys_win_over_mapping_keys() -> None:
    """A list of entries with ``name`` and ``operator_type`` is a ZigZag workload, not a ZigZag mapping."""
    doc = parse_yaml("- name: conv1\n  operator_type: Conv\n", "w.yaml")
    assert dialect_of(doc, FileKind.WORKLOAD) is Dialect.ZIGZAG
    assert dialect_of(doc, FileKind.MAPPING) is Dialect.IMCMAP


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty: imcmap's reader says what is expected
        "name: hw\nmemories: {}\noperational_array: {}\narray: {}\n",  # imcmap's `array` key present
        "name: hw\noperational_array: {}\n",  # no memories
        "- just a string\n",  # a list, but of no entries
    ],
)
def test_shapes_of_neither_dialect_go_to_imcmaps_reader(text: str) -> None:
    """A file matching no ZigZag shape is imcmap's, whose reader then reports what is wrong."""
    doc = parse_yaml(text, "f.yaml")
    assert {dialect_of(doc, k) for k in FileKind} == {Dialect.IMCMAP}
