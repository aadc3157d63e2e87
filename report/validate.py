"""``imcmap validate``: per chip, model / reported / ratio / published ratio, and the notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from .text import print_notes, say

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.results import ValidationResult

_METRIC_ROWS = (  # (ChipFigures field, ChipRatios field, label)
    ("area_mm2", "area", "area mm²"),
    ("tclk_ns", "tclk", "tclk ns"),
    ("energy_fj_per_mac", "energy", "energy fJ/MAC"),
    ("tops_per_w", "tops_per_w", "TOP/s/W"),
)


def _sig(x: float | None) -> str:
    return "-" if x is None else f"{x:.5g}"


def render_validation(console: Console, result: ValidationResult) -> None:
    say(console, "IMC macro model (validation form) vs. the chips' reported values; ratio = model / reported, "
                 "published = the ratio on ZigZag-IMC's validation figure (ICCAD 2023)")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("chip", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    for column in ("model", "reported", "ratio", "published"):
        table.add_column(column, justify="right", no_wrap=True)
    for chip in result.chips:
        for index, (key, ratio_key, label) in enumerate(_METRIC_ROWS):
            ours = None if chip.ratio is None else chip.ratio.get(ratio_key)
            theirs = None if chip.published_ratio is None else chip.published_ratio.get(ratio_key)
            table.add_row(
                chip.name if index == 0 else "",
                label,
                _sig(getattr(chip.model, key)),
                _sig(None if chip.reported is None else getattr(chip.reported, key)),
                "-" if ours is None else f"{ours:.1%}",
                "-" if theirs is None else f"{theirs:.0%}",
                end_section=index == len(_METRIC_ROWS) - 1,
            )
    console.print(table)
    print_notes(console, result.notes)
