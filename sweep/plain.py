"""Domain values as plain JSON-ready data, every field kept: what the store's keys hash."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def plain(value: object) -> object:
    """Frozen dataclasses, enums, tuples and sets -> JSON-ready data, every field kept (for keys)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k if not isinstance(k, Enum) else k.value): plain(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def plain_record(record: DataclassInstance) -> dict[str, object]:
    """``plain`` of a frozen dataclass: its fields by name."""
    return {f.name: plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
