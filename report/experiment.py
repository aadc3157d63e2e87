"""``imcmap experiment``: the runs' totals and changes against the baseline, the change per layer, and
how the mappings changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from .text import energy_unit, in_unit, pct

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.results import ExperimentResult


def render_experiment(console: Console, result: ExperimentResult) -> None:
    """The runs' totals and changes, then per layer the change of each variant (energy / latency, '*'
    where the mapping changed), then how the mappings changed."""
    spec = result.spec
    console.print(
        f"experiment {spec.name} ({spec.file}): workload {spec.workload.name} on {spec.accelerator.name}, "
        f"objective {spec.objective}, {spec.time_limit_s:g} s per layer",
        markup=False, highlight=False, soft_wrap=True,
    )
    for constraint in spec.constraints:
        console.print(f"every run: `{constraint.text}` ({constraint.origin()})", markup=False, highlight=False,
                      soft_wrap=True)
    unit, scale = energy_unit(result.baseline.energy_pj)
    n_layers = len(result.baseline.layers)
    totals = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    totals.add_column("run", no_wrap=True)
    totals.add_column("changes", overflow="fold", min_width=16)
    totals.add_column(f"energy {unit}", justify="right", no_wrap=True)
    totals.add_column("Δ", justify="right", no_wrap=True)
    totals.add_column("cycles", justify="right", no_wrap=True)
    totals.add_column("Δ", justify="right", no_wrap=True)
    totals.add_column("mappings changed", justify="right", no_wrap=True)
    base = result.baseline
    totals.add_row("baseline", "-", in_unit(base.energy_pj, scale) + ("" if base.complete else "?"),
                   "", f"{base.latency_cycles:,.0f}", "", "")
    for run in result.variants:
        solved, cmp = run.result, run.comparison
        failed = sum(1 for x in solved.layers if x.solution.mapping is None)
        changed = f"{len(cmp.changed_layers)} of {n_layers}" + (f", {failed} unmapped" if failed else "")
        energy = in_unit(solved.energy_pj, scale) + ("" if solved.complete else "?")
        totals.add_row(run.variant.name, "\n".join(run.variant.changes()), energy, pct(cmp.energy_change),
                       f"{solved.latency_cycles:,.0f}", pct(cmp.latency_change), changed)
    console.print(totals)
    if not result.complete:
        console.print("?: a run has layers without a mapping (not counted); its change is not shown",
                      markup=False, highlight=False, soft_wrap=True)
    if not result.variants:
        return
    per_layer = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    per_layer.add_column("#", justify="right", no_wrap=True)
    per_layer.add_column("layer", overflow="fold", min_width=12)
    for run in result.variants:
        per_layer.add_column(f"{run.variant.name}\nenergy / cycles", justify="right", overflow="fold")
    for i, r in enumerate(base.layers):
        cells = []
        for run in result.variants:
            c = run.comparison.layers[i]
            if c.energy_change is None:
                cells.append(c.status.lower())
            else:
                cells.append(("* " if c.mapping_changed else "") + f"{pct(c.energy_change)} / {pct(c.latency_change)}")
        per_layer.add_row(str(i), r.solution.layer.name, *cells)
    console.print()
    console.print("change per layer against the baseline (*: the mapping changed)", markup=False, highlight=False)
    console.print(per_layer)
    for run in result.variants:
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, c in enumerate(run.comparison.layers):
            if c.mapping_changed and c.changes:
                groups.setdefault(c.changes, []).append(i)
        if not groups:
            continue
        console.print()
        console.print(f"{run.variant.name}: how the mappings changed", markup=False, highlight=False)
        for changes, indices in groups.items():
            who = ", ".join(f"#{i}" for i in indices)
            console.print(f"  {who}: " + "; ".join(changes), markup=False, highlight=False, soft_wrap=True)
