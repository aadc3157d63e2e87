"""What a hardware file yields, and the ``served dims`` reading both hardware dialects share.

Its own module so that ``specs.hardware`` (which hands ZigZag files to ``specs.zigzag``) and
``specs.zigzag.hardware`` (whose spec extends this one) both import it and not each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcmap.models.hardware import Accelerator

from .checks import Issues, as_seq, as_str, did_you_mean
from .loader import YamlNode

__all__ = ["HardwareSpec", "served_dims"]


@dataclass(frozen=True, slots=True)
class HardwareSpec:
    """What a hardware file holds: the accelerator, the raw ``validation:`` mapping, and its file."""

    accelerator: Accelerator
    validation_raw: dict[str, object] | None
    source: str


def served_dims(
    issues: Issues,
    node: YamlNode | None,
    dim_names: tuple[str, ...] | None,
    *,
    dims_label: str = "array dims",
) -> tuple[str, ...] | None:
    """A list of distinct array-dim names (checked against ``dim_names`` when known); absent = ()."""
    if node is None:
        return ()
    seq = as_seq(issues, node, "a list of array dims, e.g. [D1, D2]")
    if seq is None:
        return None
    served: list[str] = []
    ok = True
    for item in seq.items:
        name = as_str(issues, item)
        if name is None:
            ok = False
        elif name in served:
            issues.at(item, f"array dim '{name}' is listed twice")
            ok = False
        elif dim_names is not None and name not in dim_names:
            issues.at(
                item,
                f"unknown array dim '{name}'{did_you_mean(name, dim_names)}",
                f"{dims_label}: {', '.join(dim_names)}",
            )
            ok = False
        else:
            served.append(name)
    return tuple(served) if ok else None
