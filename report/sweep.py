"""``imcmap sweep``: per workload, one row per run with the Pareto front marked, then the points not
solved and a summary of what this call solved and reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from .text import energy_unit, in_unit, plural, say

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.results import SweepResult
    from imcmap.sweep.driver import SweepRun

FRONT_MARK = "★"
DOMINATED_MARK = "·"  # off the front, proven so by certified lower bounds (not by gaps)


def _num(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _gap(run: SweepRun) -> str:
    """The worst certified gap of the run's layers (the median is in the JSON and CSV)."""
    r = run.record
    if r.median_gap is None or r.worst_gap is None:
        return "-"
    return f"{r.worst_gap:.2%}"


def _shown_parameters(result: SweepResult, runs: tuple[SweepRun, ...]) -> list[str]:
    """The swept parameters that differ between these runs, a zip group by its first member (the
    others move with it); derived values are left to the JSON and CSV."""
    followers = {name for group in result.spec.zip_groups for name in group[1:]}
    names = [p.name for p in result.spec.parameters if p.name not in followers]
    return [n for n in names if len({dict(r.record.point).get(n) for r in runs}) > 1]


def _headers(names: list[str]) -> list[str]:
    """Each name by its last dotted part, or more of it where two would read the same."""
    out = []
    for name in names:
        parts = name.split(".")
        depth = 1
        while depth < len(parts) and sum(n.split(".")[-depth:] == parts[-depth:] for n in names) > 1:
            depth += 1
        out.append(".".join(parts[-depth:]))
    return out


def _value(value: object) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def render_sweep(console: Console, result: SweepResult) -> None:
    outcome = result.outcome
    say(console, f"sweep {result.spec.name}: {plural(outcome.planned, 'run')} planned "
                 f"({len(result.spec.bases)} accelerator(s) x {len(result.spec.points())} design point(s) x "
                 f"{len(result.spec.workloads)} workload(s) x {len(result.spec.objectives)} objective(s), "
                 f"less {len(outcome.skipped)} point(s) not solved); front over "
                 f"{', '.join(outcome.metrics)}; {FRONT_MARK} on the front, {DOMINATED_MARK} proven off it by "
                 "certified bounds; TOPS at 2 ops per MAC, peak = the array at full utilisation; gap = worst "
                 "certified layer gap")
    objectives = len(result.spec.objectives) > 1
    for workload in dict.fromkeys(run.record.workload for run in outcome.runs):
        runs = tuple(run for run in outcome.runs if run.record.workload == workload)
        energies = [r.record.energy_pj for r in runs if r.record.energy_pj is not None]
        unit, scale = energy_unit(max(energies) if energies else 1.0)
        varying = _shown_parameters(result, runs)
        statuses = len({run.record.status for run in runs}) > 1 or runs[0].record.status != "done"
        table = Table(title=f"workload {workload}", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                      title_justify="left", collapse_padding=True)
        table.add_column("", no_wrap=True)
        table.add_column("accel", no_wrap=True)
        for header in _headers(varying):
            table.add_column(header, justify="right", no_wrap=True)
        if objectives:
            table.add_column("obj", no_wrap=True)
        if statuses:
            table.add_column("status", no_wrap=True)
        for header in (f"E {unit}", "latency µs", "cycles", "mm²", "TOPS/W", "peak", "TOPS/mm²", "peak", "util",
                       "gap"):
            table.add_column(header, justify="right", no_wrap=True)
        for run in runs:
            r = run.record
            point = dict(r.point)
            row = [FRONT_MARK if run.on_front else DOMINATED_MARK if run.proven_dominated else "", r.accelerator]
            row += [_value(point.get(name, "")) for name in varying]
            if objectives:
                row.append(r.objective)
            if statuses:
                row.append(r.status)
            row += [
                "-" if r.energy_pj is None else in_unit(r.energy_pj, scale),
                _num(None if r.latency_s is None else r.latency_s * 1e6, ",.4g"),
                _num(r.latency_cycles, ",.0f"),
                _num(r.area_mm2, ".3g"),
                _num(r.tops_per_w, ".3g"),
                _num(r.peak_tops_per_w, ".3g"),
                _num(r.tops_per_mm2, ".3g"),
                _num(r.peak_tops_per_mm2, ".3g"),
                _num(r.utilization, ".0%"),
                _gap(run),
            ]
            table.add_row(*row)
        # a sweep table is read whole: wider than the terminal beats columns cut to one character
        width = console.width
        console.width = max(width, console.measure(table, options=console.options.update_width(1000)).maximum)
        try:
            console.print(table)
        finally:
            console.width = width
    for skipped in outcome.skipped:
        say(console, f"not solved: {skipped.base} at {skipped.point.label or 'the base point'}: {skipped.reason}")
    for run in outcome.runs:
        if run.record.error and run.record.status not in ("done", "pruned"):
            say(console, f"{run.record.status}: {run.record.accelerator} at {run.planned.point.label} on "
                         f"{run.record.workload} ({run.record.objective}): {run.record.error}")
    pruned = f", {outcome.pruned} pruned (kept off the fronts: the JSON says why)" if outcome.pruned else ""
    say(console, f"{outcome.solved} solved, {outcome.reused} reused from {outcome.folder}, {outcome.failed} failed"
                 + pruned + (", interrupted" if outcome.interrupted else "") + f"; {outcome.wall_time_s:.1f} s")
    say(console, f"layer solves saved: {outcome.layers_reused} by the layer cache, {outcome.layers_pruned} by pruning")
