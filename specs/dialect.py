"""Which dialect a spec file is written in (imcmap's own or ZigZag 3.x's), decided here and only here.

The loaders of each file kind ask ``dialect_of`` once and hand the document to that dialect's reader.
The decision reads only the top-level shape, so it never fails: a file that is neither dialect's is
imcmap's, and imcmap's reader reports what is wrong with it.

* hardware: ZigZag's is a mapping with ``memories`` and ``operational_array`` (imcmap's has ``array``);
* mapping: ZigZag's is a *list* of entries with its keys (``name``, ``spatial_mapping``, ...), and not a
  workload (imcmap's is a mapping with ``mapping:``);
* workload: ZigZag's is a list of layers with ``operator_type`` or ``equation`` (imcmap's has ``layers:``).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from .loader import Document, YamlMap, YamlNode, YamlSeq

__all__ = [
    "ZIGZAG_MAPPING_KEYS",
    "ZIGZAG_WORKLOAD_MARKERS",
    "Dialect",
    "FileKind",
    "dialect_of",
    "is_zigzag_hardware",
    "is_zigzag_mapping",
    "is_zigzag_workload",
]


class Dialect(Enum):
    IMCMAP = "imcmap"
    ZIGZAG = "zigzag"


class FileKind(Enum):
    HARDWARE = "hardware"
    MAPPING = "mapping"
    WORKLOAD = "workload"


ZIGZAG_MAPPING_KEYS = ("name", "spatial_mapping", "spatial_mapping_hint", "memory_operand_links", "temporal_ordering")
ZIGZAG_WORKLOAD_MARKERS = ("operator_type", "equation")


def dialect_of(doc: Document, kind: FileKind) -> Dialect:
    """The dialect ``doc`` is written in, read as a file of ``kind``."""
    is_zigzag = {
        FileKind.HARDWARE: is_zigzag_hardware,
        FileKind.MAPPING: is_zigzag_mapping,
        FileKind.WORKLOAD: is_zigzag_workload,
    }[kind]
    return Dialect.ZIGZAG if is_zigzag(doc) else Dialect.IMCMAP


def _is_list_of_maps_with(root: YamlNode | None, keys: Sequence[str]) -> bool:
    return isinstance(root, YamlSeq) and any(
        isinstance(item, YamlMap) and any(key in item.items for key in keys) for item in root.items
    )


def is_zigzag_hardware(doc: Document) -> bool:
    """A mapping with ``memories`` and ``operational_array`` (imcmap's hardware files have ``array``)."""
    root = doc.root
    return (
        isinstance(root, YamlMap)
        and "operational_array" in root.items
        and "array" not in root.items
        and "memories" in root.items
    )


def is_zigzag_mapping(doc: Document) -> bool:
    """A list of entries with ZigZag mapping keys (imcmap's mapping files are a mapping with ``mapping:``)."""
    return _is_list_of_maps_with(doc.root, ZIGZAG_MAPPING_KEYS) and not is_zigzag_workload(doc)


def is_zigzag_workload(doc: Document) -> bool:
    """A list of layers with ``operator_type`` or ``equation`` (imcmap's have ``layers:``)."""
    return _is_list_of_maps_with(doc.root, ZIGZAG_WORKLOAD_MARKERS)
