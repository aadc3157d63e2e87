"""``imcmap evaluate``: each mapped layer's energy by component and its accesses, then the totals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from imcmap.solver.dynamic import dynamic_of

from .text import dims_text

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.results import Evaluation, LayerEvaluation


def _count(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _energy(x: float) -> str:
    return f"{x:,.3f}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole > 0 else "-"


def render_evaluation(console: Console, result: Evaluation) -> None:
    console.print(
        f"workload {result.workload.name} on accelerator {result.accelerator.name}, mapping {result.spec.file}",
        markup=False, highlight=False, soft_wrap=True,
    )
    console.print()
    for item in result.layers:
        _render_layer_evaluation(console, item)
        _render_dynamic(console, result, item)
    summary = Table(
        title="layers, run one after another (utilization: spatial x temporal)",
        title_justify="left",
        show_footer=True,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    summary.add_column("layer", footer="total", overflow="fold", min_width=10)
    summary.add_column("op", no_wrap=True)
    summary.add_column("MACs", justify="right", no_wrap=True, footer=f"{sum(e.layer.macs for e in result.layers):,}")
    summary.add_column("energy pJ", justify="right", no_wrap=True, footer=_energy(result.energy_pj))
    summary.add_column("cycles", justify="right", no_wrap=True, footer=_count(result.latency_cycles))
    summary.add_column("spatial", justify="right", no_wrap=True)
    summary.add_column("temporal", justify="right", no_wrap=True)
    summary.add_column("util.", justify="right", no_wrap=True)
    for item in result.layers:
        r = item.report
        summary.add_row(
            item.layer.name, item.layer.op, f"{item.layer.macs:,}", _energy(r.energy_pj), _count(r.latency_cycles),
            f"{r.spatial_utilization:.1%}", f"{r.temporal_utilization:.1%}", f"{r.utilization:.1%}",
        )
    console.print(summary)
    area, tclk = result.area_mm2, result.tclk_ns
    console.print(
        f"total: {_energy(result.energy_pj)} pJ, {_count(result.latency_cycles)} cycles x {tclk:.5g} ns = "
        f"{result.latency_cycles * tclk:,.1f} ns; accelerator area {area:.5g} mm²",
        markup=False, highlight=False, soft_wrap=True,
    )
    if result.not_mapped:
        listed = ", ".join(result.not_mapped)
        console.print(f"not mapped (not priced): {listed}", markup=False, highlight=False, soft_wrap=True)
    ops = result.workload.unmodelled_ops
    if ops:
        listed = ", ".join(f"{op.op_type} x{op.count}" for op in ops)
        console.print(f"unmodelled ops (not priced): {listed}", markup=False, highlight=False, soft_wrap=True)


def _render_dynamic(console: Console, result: Evaluation, item: LayerEvaluation) -> None:
    """For a layer with attention's dynamic W: which operand the cells hold and what writing them costs."""
    dynamic = dynamic_of(item.layer, item.layer.name in result.spec.exchanged, result.accelerator, item.mapping,
                         item.report)
    if dynamic is not None:
        console.print(dynamic.describe(explain=True), markup=False, highlight=False, soft_wrap=True)


def _render_layer_evaluation(console: Console, item: LayerEvaluation) -> None:
    layer, r = item.layer, item.report
    console.print(
        f"layer {layer.name} ({layer.op} {dims_text(layer.dims)}, {layer.macs:,} MACs): "
        f"{_energy(r.energy_pj)} pJ, {_count(r.latency_cycles)} cycles "
        f"(compute {_count(r.compute_cycles)}, stall {_count(r.stall_cycles)}, fill/drain {_count(r.load_cycles)}); "
        f"utilization spatial {r.spatial_utilization:.1%}, temporal {r.temporal_utilization:.1%}, "
        f"overall {r.utilization:.1%}",
        markup=False, highlight=False, soft_wrap=True,
    )
    energy = Table(title="energy", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    energy.add_column("component", no_wrap=True)
    energy.add_column("level", overflow="fold")
    energy.add_column("operand", no_wrap=True)
    energy.add_column("pJ", justify="right", no_wrap=True)
    energy.add_column("share", justify="right", no_wrap=True)
    for e in r.energy_breakdown:
        if e.energy_pj == 0:
            continue  # e.g. the DACs of a digital macro, or a memory level that costs nothing to read
        energy.add_row(e.component, e.level, e.operand or "-", _energy(e.energy_pj), _share(e.energy_pj, r.energy_pj))
    console.print(energy)
    accesses = Table(
        title="accesses (elements; bits)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for column in ("level", "operand", "reads", "writes", "read bits", "write bits"):
        accesses.add_column(column, justify="left" if column in ("level", "operand") else "right", no_wrap=True)
    for a in r.accesses:
        accesses.add_row(
            a.level, a.operand.value, _count(a.reads), _count(a.writes), _count(a.read_bits), _count(a.write_bits)
        )
    console.print(accesses)
    console.print()

