"""Formats shared by the reports: lines printed as they are, sizes, dims, energies in a fitting unit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from imcmap.models.workload import (
    LOOP_DIMS,  # the order dims are written in (Layer.dims may be in any)
)

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.models.mapping_spec import UserConstraint

ENERGY_UNITS = (("pJ", 1.0), ("nJ", 1e3), ("µJ", 1e6), ("mJ", 1e9))


def say(console: Console, text: str) -> None:
    """One line as it is: no markup, no highlighting, wrapped only by the terminal."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_notes(console: Console, notes: tuple[str, ...]) -> None:
    """``note: ...`` lines (commands print them on stderr: stdout may be a JSON document)."""
    for note in notes:
        say(console, f"note: {note}")


def format_bits(bits: int) -> str:
    """Small sizes in bits (as hardware files state them), larger ones in binary byte units."""
    if bits < 8 * 1024 or bits % 8:
        return f"{bits:,} b"
    size = bits / 8
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{bits} b"  # unreachable: the loop returns at TiB


def dims_text(dims: dict[str, int]) -> str:
    """'K8 C4 OY8 OX8 FY3 FX3': the dims other than 1, in loop-dim order."""
    return " ".join(f"{d}{dims[d]}" for d in LOOP_DIMS if dims.get(d, 1) != 1) or "(all 1)"


def energy_unit(total_pj: float) -> tuple[str, float]:
    """The unit that shows ``total_pj`` with at most 4 digits before the point (pJ .. mJ)."""
    for unit, scale in ENERGY_UNITS:
        if abs(total_pj) < scale * 1e4:
            return unit, scale
    return ENERGY_UNITS[-1]


def in_unit(pj: float, scale: float) -> str:
    return f"{pj / scale:,.3f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def quote(constraints: tuple[UserConstraint, ...]) -> str:
    """'`text` (where it was written), ...'."""
    return ", ".join(f"`{c.text}` ({c.origin()})" for c in constraints)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}"
