"""``imcmap list`` and ``imcmap show``: the bundled specs, and what was understood of the inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from imcmap.models.hardware import ImcArray

from .text import dims_text, format_bits, say

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.models.hardware import Accelerator, MemoryLevel
    from imcmap.models.mapping_spec import MappingSpec
    from imcmap.models.workload import Workload
    from imcmap.results import BundledKind, ShowResult


def render_listing(console: Console, kinds: tuple[BundledKind, ...]) -> None:
    table = Table(title="bundled specs (use the name, or give a path)", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("path", overflow="fold")
    for kind in kinds:
        for spec in kind.specs:
            table.add_row(kind.kind, spec.name, str(spec.path))
        if not kind.specs:
            table.add_row(kind.kind, "(none)", "")
    console.print(table)


def render_show(console: Console, result: ShowResult) -> None:
    if result.accelerator is not None:
        render_accelerator(console, result.accelerator)
    if result.workload is not None:
        render_workload(console, result.workload)
    if result.mapping is not None:
        render_mapping(console, result.mapping)


def render_accelerator(console: Console, accel: Accelerator) -> None:
    table = Table(
        title=f"accelerator {accel.name}: memories, lowest first (bw bits/cycle, pJ per access; r/w)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column("name", overflow="fold", min_width=10)
    table.add_column("kind", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("ops", overflow="fold", min_width=7)
    table.add_column("bw", justify="right", no_wrap=True)
    table.add_column("pJ", justify="right", no_wrap=True)
    table.add_column("mm²", justify="right", no_wrap=True)
    table.add_column("lat", justify="right", no_wrap=True)
    table.add_column("served", overflow="fold", min_width=5)
    table.add_column("inst.", justify="right", no_wrap=True)
    for level in accel.memories:
        table.add_row(*_memory_row(accel, level))
    console.print(table)
    console.print()
    array = accel.array
    summary = Table(title="array", title_justify="left", show_header=False, box=box.SIMPLE)
    summary.add_column("key")
    summary.add_column("value")
    dims = " x ".join(f"{d.name}={d.size}" for d in array.dims)
    if isinstance(array, ImcArray):
        summary.add_row("type", f"IMC ({array.imc_type.value})")
        summary.add_row("dims", f"{dims}  (columns {array.cols}, rows {array.rows}, macros {array.macros})")
        summary.add_row("bits in/weight/per cycle",
                        f"{array.input_bits} / {array.weight_bits} / {array.input_bits_per_cycle}")
        summary.add_row("cycles per MAC", str(array.cycles_per_mac))
        summary.add_row("ADC / DAC bits", f"{array.adc_bits} / {array.dac_bits}")
        summary.add_row("cells per group", str(array.cells_per_group))
        summary.add_row("node / vdd", f"{array.node_nm} nm / {array.vdd_v:g} V")
        summary.add_row("toggle rate / sparsity", f"{array.input_toggle_rate:g} / {array.weight_sparsity:g}")
        summary.add_row("cell area µm²", f"{array.cell_area_um2:g}")
    else:
        summary.add_row("type", "digital PE array")
        summary.add_row("dims", dims)
        summary.add_row("MAC energy pJ", f"{array.mac_energy_pj:g}")
        summary.add_row("PE area mm²", f"{array.pe_area_mm2:g}")
        summary.add_row("clock period ns", f"{array.tclk_ns:g}")
    console.print(summary)


def _pair(read: float, write: float) -> str:
    """'r/w', or one value when both are equal (keeps the table narrow)."""
    return f"{read:g}" if read == write else f"{read:g}/{write:g}"


def _memory_row(accel: Accelerator, level: MemoryLevel) -> tuple[str, ...]:
    return (
        level.name,
        level.kind.value,
        format_bits(level.capacity_bits),
        ",".join(level.operands),
        _pair(level.read_bw_bits, level.write_bw_bits),
        _pair(level.read_energy_pj, level.write_energy_pj),
        f"{level.area_mm2:g}",
        str(level.latency_cycles),
        ",".join(level.served_dims) or "-",
        str(accel.instances(level)),
    )


def render_workload(console: Console, workload: Workload) -> None:
    table = Table(
        title=f"workload {workload.name}: {len(workload.layers)} layers",
        title_justify="left",
        show_footer=True,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    total = sum(layer.macs for layer in workload.layers)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("name", footer="total", overflow="fold", min_width=12)
    table.add_column("op", no_wrap=True)
    table.add_column("dims", min_width=12)
    table.add_column("stride", justify="right", no_wrap=True)
    table.add_column("pad", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", footer=f"{total:,}", no_wrap=True)
    wide = console.width >= 120  # sources need room; --json always has them
    if wide:
        table.add_column("sources", overflow="fold", min_width=8)
    for index, layer in enumerate(workload.layers):
        table.add_row(
            str(index),
            layer.name,
            layer.op + (" (W dynamic)" if layer.dynamic_operands else ""),
            dims_text(layer.dims),
            f"{layer.stride[0]}x{layer.stride[1]}",
            ",".join(str(p) for p in layer.padding),
            f"{layer.macs:,}",
            *([", ".join(layer.sources) or "-"] if wide else []),
        )
    console.print(table)
    if any(layer.dynamic_operands for layer in workload.layers):
        say(console, "W dynamic: the layer's second operand is computed during inference (attention's K and V), "
                     "not a stored weight")
    if workload.unmodelled_ops:
        ops = Table(title="unmodelled ops (not priced)", title_justify="left", box=box.SIMPLE_HEAD)
        ops.add_column("op type")
        ops.add_column("count", justify="right")
        ops.add_column("nodes", overflow="fold")
        for op in workload.unmodelled_ops:
            shown = ", ".join(op.node_names[:4]) + (", ..." if len(op.node_names) > 4 else "")
            ops.add_row(op.op_type, str(op.count), shown)
        console.print(ops)
    for warning in workload.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)


def render_mapping(console: Console, spec: MappingSpec) -> None:
    table = Table(title=f"mapping spec {spec.name}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("selector", "spatial (fixed)", "spatial_allowed", "diagonal", "operand links", "constraints"):
        table.add_column(column, overflow="fold")
    for rule in spec.rules:
        fixed = "; ".join(
            f"{adim}: " + " ".join(f"{d}={f}" for d, f in unrolls.items())
            for adim, unrolls in (rule.fixed_spatial or {}).items()
        )
        allowed = "; ".join(f"{adim}: {' '.join(dims)}" for adim, dims in (rule.allowed_spatial or {}).items())
        links = " ".join(f"{op.value}->{mem}" for op, mem in (rule.operand_links or {}).items())
        table.add_row(
            rule.selector,
            fixed or "-",
            allowed or "-",
            "-" if rule.allow_diagonal is None else str(rule.allow_diagonal).lower(),
            links or "-",
            "\n".join(c.text for c in rule.constraints) or "-",
        )
    console.print(table)

