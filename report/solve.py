"""``imcmap solve``: per layer its dims, spatial mapping, utilization, costs and certified gap; the
network's totals and energy bars; with ``detail``, each solved layer's loop nest. Also the
infeasibility lines ``solve`` and ``experiment`` print on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from imcmap.models.workload import Operand
from imcmap.solver.dynamic import dynamic_operands
from imcmap.solver.status import SolveStatus

from .text import dims_text, energy_unit, in_unit, plural, quote, say

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.models.hardware import Accelerator
    from imcmap.models.mapping import Mapping
    from imcmap.models.mapping_spec import UserConstraint
    from imcmap.results import SolveResult
    from imcmap.solver.network import LayerResult
    from imcmap.solver.solve import LayerSolution


def report_infeasible(err: Console, result: SolveResult, prefix: str = "") -> None:
    """One line per distinct reason: 'layer X: infeasible; these constraints clash: `a` (file:line:col), ...'."""
    groups: dict[str, list[str]] = {}
    for r in result.layers:
        if r.solution.status is SolveStatus.INFEASIBLE:
            groups.setdefault(r.solution.message, []).append(r.solution.layer.name)
    for message, names in groups.items():
        say(err, f"{prefix}{_who(names)}: infeasible; {message}")


def _who(names: list[str], shown: int = 3) -> str:
    """'layer a', 'layers a, b, c and 2 more'."""
    if len(names) == 1:
        return f"layer {names[0]}"
    return f"layers {', '.join(names[:shown])}" + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _gap_text(s: LayerSolution) -> str:
    if s.gap is None:
        return "-"
    return f"{s.gap:.2%}" if s.status is SolveStatus.OPTIMAL else f"{s.status.lower()} {s.gap:.2%}"


def spatial_text(mapping: Mapping, accel: Accelerator, diagonal: bool) -> str:
    """'D1 K64 | D2 C8·FY3·FX3': the unrolling per array dim ('·' joins a mixed one), with
    '(diagonal)' when OX/OY unroll over IMC columns."""
    parts = []
    for d in accel.array_dims:
        unrolls = mapping.spatial.get(d.name, {})
        if unrolls:
            parts.append(f"{d.name} " + "·".join(f"{k}{v}" for k, v in unrolls.items()))
    text = " | ".join(parts) or "-"
    return text + " (diagonal)" if diagonal else text


def render_solve(console: Console, result: SolveResult, *, detail: bool = False) -> None:
    """Per layer: name and dims, spatial mapping, utilization, energy, latency, gap; network totals,
    the energy breakdown as bars, unmodelled ops; with ``detail`` each solved layer's loop nest and bars."""
    accel = result.accelerator
    distinct = len({r.solved_as for r in result.layers})
    say(console, f"workload {result.workload.name} on {accel.name}, objective {result.objective}: "
                 f"{plural(len(result.layers), 'layer')} ({distinct} distinct, each solved once) "
                 f"in {result.wall_time_s:.1f} s")
    applied: dict[tuple[str, str], tuple[UserConstraint, int]] = {}
    for r in result.layers:
        for c in r.solution.constraints:
            first, count = applied.get((c.text, c.origin()), (c, 0))
            applied[(c.text, c.origin())] = (first, count + 1)
    for c, count in applied.values():
        say(console, f"constraint `{c.text}` ({c.origin()}): {count} of {plural(len(result.layers), 'layer')}")
    unit, scale = energy_unit(result.energy_pj)
    index_of = {r.solution.layer.name: i for i, r in enumerate(result.layers)}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, show_footer=True, collapse_padding=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("layer / op and dims", overflow="fold", min_width=20, footer="total")
    table.add_column("spatial", overflow="fold", min_width=12)
    table.add_column("util.", justify="right", no_wrap=True)
    table.add_column(f"energy {unit}", justify="right", no_wrap=True, footer=in_unit(result.energy_pj, scale))
    table.add_column("cycles", justify="right", no_wrap=True, footer=f"{result.latency_cycles:,.0f}")
    table.add_column("gap", justify="right", no_wrap=True)
    for i, r in enumerate(result.layers):
        s = r.solution
        name = s.layer.name + ("" if r.solved_as == s.layer.name else f" (= #{index_of[r.solved_as]})")
        about = f"{s.layer.op} {dims_text(s.layer.dims)}"
        if r.dataflow.describe() != "-":
            about += f"; {r.dataflow.describe()}"
        dynamic = dynamic_operands(r)
        if dynamic is not None:
            about += f"; {dynamic.describe()}"
        if s.report is None or s.mapping is None:
            table.add_row(str(i), f"{name}\n{about}", f"{s.status}: {s.message}", "-", "-", "-", "-", end_section=True)
            continue
        table.add_row(
            str(i), f"{name}\n{about}", spatial_text(s.mapping, r.accelerator, result.diagonal[i]),
            f"{s.report.utilization:.1%}", in_unit(s.report.energy_pj, scale), f"{s.report.latency_cycles:,.0f}",
            _gap_text(s),
        )
    console.print(table)
    uncertified = any(r.solution.gap is None and r.solution.report is not None for r in result.layers)
    say(console, "util. = spatial x temporal utilization; gap: certified distance to the optimum"
                 + ("; -: none certified" if uncertified else ""))
    if uncertified:
        say(console, f"bound: {result.bound_source}")
    tclk = result.tclk_ns
    say(console,
        f"total: {in_unit(result.energy_pj, scale)} {unit}, {result.latency_cycles:,.0f} cycles x {tclk:.5g} ns = "
        f"{result.latency_cycles * tclk / 1e6:,.3f} ms; accelerator area {result.area_mm2:.5g} mm²"
        + ("" if result.complete else " (incomplete: layers without a mapping are not counted)"))
    gaps = sorted(r.solution.gap for r in result.layers if r.solution.gap is not None)
    if gaps:
        say(console, f"certified gap: median {gaps[len(gaps) // 2]:.3%}, worst {gaps[-1]:.3%} "
                     f"(bound: {result.bound_source})")
    params = result.config.as_dict()
    say(console, "solver: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    network: dict[str, float] = {}
    for r in result.layers:
        if r.solution.report is not None:
            for key, value in r.solution.report.energy_by_component().items():
                network[key] = network.get(key, 0.0) + value
    if network:
        console.print()
        say(console, "energy by component and level (level/operand), network:")
        render_energy_bars(console, network, unit, scale)
    ops = result.workload.unmodelled_ops
    if ops:
        say(console, "unmodelled ops (not priced): " + ", ".join(f"{op.op_type} x{op.count}" for op in ops))
    for warning in result.workload.warnings:
        say(console, f"warning: {warning}")
    notes: dict[str, list[str]] = {}  # identical notes (a stop's, most often) once, with their layers
    for r in result.layers:
        if r.solution.mapping is not None and r.solution.message:
            notes.setdefault(r.solution.message, []).append(r.solution.layer.name)
    for message, names in notes.items():
        say(console, f"note: {names[0] if len(names) == 1 else _who(names)}: {message}")
    failed = [r for r in result.layers if r.solution.status is SolveStatus.FAILED]
    for r in failed:
        say(console, f"failed: {r.solution.layer.name}: {r.solution.message}")
    why = result.network.stopped_by
    if why is not None or result.timed_out:
        in_flight = sum(r.solution.stopped and r.solution.mapping is not None for r in result.layers)
        kept = sum(r.solution.mapping is not None for r in result.layers) - in_flight
        say(console, f"{why or 'stopped'}: kept {plural(kept, 'finished layer')} and the best mapping so far of "
                     f"{plural(in_flight, 'layer')} in flight (status FEASIBLE, gap as proven then); "
                     f"not solved: {', '.join(result.timed_out) or 'none'}")
    if detail:
        seen: set[str] = set()
        for i, r in enumerate(result.layers):
            if r.solution.report is None or r.solved_as in seen:
                continue
            seen.add(r.solved_as)
            same = [j for j, other in enumerate(result.layers) if other.solved_as == r.solved_as and j != i]
            render_layer_detail(console, i, r, result.diagonal[i], same, unit, scale)


def render_energy_bars(console: Console, parts: dict[str, float], unit: str, scale: float, indent: int = 2) -> None:
    """One bar per part, largest first, scaled to the largest share; fits the console's width."""
    total = sum(parts.values())
    shown = sorted(((k, v) for k, v in parts.items() if v > 0), key=lambda kv: -kv[1])
    if total <= 0 or not shown:
        return
    label = min(max(len(k) for k, _ in shown), 26)
    values = [in_unit(v, scale) for _, v in shown]
    number = max(len(x) for x in values)
    bar = max(8, console.width - indent - label - number - len(unit) - 12)
    top = shown[0][1] / total
    for (name, value), text in zip(shown, values, strict=True):
        share = value / total
        cells = max(1, round(share / top * bar))
        name = name if len(name) <= label else name[: label - 1] + "…"
        say(console, f"{' ' * indent}{name:<{label}} {'█' * cells:<{bar}} {share:6.1%} {text:>{number}} {unit}")


def render_layer_detail(console: Console, index: int, r: LayerResult, diagonal: bool, same: list[int], unit: str,
                        scale: float) -> None:
    """A solved layer: what it is, its spatial mapping, costs, constraints, loop nest and energy bars."""
    s = r.solution
    report, mapping, accel = s.report, s.mapping, r.accelerator
    if report is None or mapping is None:
        return
    console.print()
    also = f" (also #{', #'.join(str(j) for j in same)})" if same else ""
    console.rule(f"#{index} {s.layer.name}{also}", align="left", characters="─")
    say(console, f"{s.layer.op} {dims_text(s.layer.dims)}, stride {s.layer.stride[0]}x{s.layer.stride[1]}, "
                 f"{s.layer.macs:,} MACs")
    used = 1
    for d in accel.array_dims:
        used *= mapping.array_dim_use(d.name)
    units = 1
    for d in accel.array_dims:
        units *= d.size
    say(console, f"spatial: {spatial_text(mapping, accel, diagonal)}: {used:,} of {units:,} array units")
    say(console,
        f"cost: {in_unit(report.energy_pj, scale)} {unit}, {report.latency_cycles:,.0f} cycles (compute "
        f"{report.compute_cycles:,.0f}, stall {report.stall_cycles:,.0f}, fill/drain {report.load_cycles:,.0f}); "
        f"utilization spatial {report.spatial_utilization:.1%} x temporal {report.temporal_utilization:.1%}; "
        f"{s.status.lower()}, gap {_gap_text(s)}")
    if s.constraints:
        say(console, f"constraints: {quote(s.constraints)}")
    if r.dataflow.describe() != "-":
        say(console, f"dataflow: {r.dataflow.describe()}")
    dynamic = dynamic_operands(r)
    if dynamic is not None:
        say(console, dynamic.describe(explain=True))
    render_loop_nest(console, mapping, accel)
    say(console, "energy by component and level (level/operand):")
    render_energy_bars(console, report.energy_by_component(), unit, scale)


def render_loop_nest(console: Console, mapping: Mapping, accel: Accelerator) -> None:
    """The temporal loops outermost first; per operand, the memory level that keeps each loop (a level
    name where the operand's tile moves to the next level, '·' where it stays); the spatial loops last."""
    operands = tuple(Operand)  # W, I, O
    nest = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    nest.add_column("loop (outermost first)", no_wrap=True)
    for op in operands:
        nest.add_column(f"{op.value} level", no_wrap=True)
    levels: dict[Operand, list[str]] = {op: [] for op in operands}
    for op in operands:
        chain = accel.chain(mapping.operand_links[op])
        for i, level in enumerate(chain):
            levels[op] += [level.name] * len(mapping.loops_at(op, i))
    n = len(mapping.loops)
    for depth in range(n - 1, -1, -1):
        loop = mapping.loops[depth]
        indent = "  " * (n - 1 - depth)
        cells = []
        for op in operands:
            here = levels[op][depth]
            above = levels[op][depth + 1] if depth + 1 < n else None
            cells.append(here if here != above else "·")
        nest.add_row(f"{indent}for {loop.dim} in [0, {loop.size})", *cells)
    unroll = ", ".join(f"{k}{v} on {a}" for a, u in mapping.spatial.items() for k, v in u.items()) or "nothing"
    nest.add_row("  " * n + f"parfor {unroll}", "", "", "")
    console.print(nest)
    say(console, "  (level: where the operand keeps the loops from here inward; '·': as above)")
