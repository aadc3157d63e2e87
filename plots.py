"""PNG plots of results, with matplotlib (the optional ``plot`` extra: ``pip install imcmap[plot]``).

Imported lazily; ``available()`` says whether matplotlib can be used. The figures are drawn with
matplotlib's object API on an Agg canvas (no pyplot, no global backend change) and returned as PNG
bytes, so callers decide where they go.
"""

from __future__ import annotations

import io
from importlib.util import find_spec
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from matplotlib.figure import Figure

    from imcmap.results import ExperimentResult, SweepResult
    from imcmap.solver.network import NetworkResult
    from imcmap.sweep.driver import SweepRun

MISSING = "PNG plots need matplotlib: pip install 'imcmap[plot]' (or matplotlib>=3.7); no plots written"


def available() -> bool:
    return find_spec("matplotlib") is not None


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


def _group(key: str) -> str:
    """Energy parts as plotted: each array component, each memory level (operands summed)."""
    return key.split("/")[0] if "/" in key else f"array: {key}"


def energy_per_layer_png(result: NetworkResult) -> bytes:
    """Stacked bars: each layer's energy (µJ) by array component and memory level, zero parts left out."""
    from matplotlib.figure import Figure

    layers = [r for r in result.layers if r.solution.report is not None]
    parts: dict[str, list[float]] = {}
    for k, r in enumerate(layers):
        assert r.solution.report is not None
        for key, value in r.solution.report.energy_by_component().items():
            parts.setdefault(_group(key), [0.0] * len(layers))[k] += value
    order = sorted((g for g in parts if sum(parts[g]) > 0), key=lambda g: -sum(parts[g]))
    fig = Figure(figsize=(max(6.0, 0.45 * len(layers) + 3), 4.5))
    ax = fig.add_subplot()
    colors = _colors(len(order))
    bottom = [0.0] * len(layers)
    xs = [i for i, r in enumerate(result.layers) if r.solution.report is not None]
    for group, color in zip(order, colors, strict=True):
        values = [v / 1e6 for v in parts[group]]
        ax.bar(xs, values, bottom=bottom, label=group, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(xs, [str(i) for i in xs])
    ax.set_xlabel("layer (# as in the report)")
    ax.set_ylabel("energy (µJ)")
    ax.set_title(f"{result.workload.name} on {result.accelerator.name}: energy per layer")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def _colors(n: int) -> list:
    """Distinct colours for up to 20 series (tab20), cycling beyond."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def experiment_png(result: ExperimentResult) -> bytes:
    """Left: total energy and latency change per variant (%). Right: energy change per layer (%)."""
    from matplotlib.figure import Figure

    runs = result.variants
    fig = Figure(figsize=(12, 4.5))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    names = [run.variant.name for run in runs]
    xs = list(range(len(runs)))
    energy = [100 * (run.comparison.energy_change or 0.0) for run in runs]
    latency = [100 * (run.comparison.latency_change or 0.0) for run in runs]
    left.bar([x - 0.2 for x in xs], energy, width=0.4, label="energy")
    left.bar([x + 0.2 for x in xs], latency, width=0.4, label="latency")
    left.axhline(0, color="black", linewidth=0.8)
    left.set_xticks(xs, names, rotation=20, ha="right")
    left.set_ylabel("change vs baseline (%)")
    left.set_title(f"{result.spec.name}: totals")
    left.legend(fontsize=8)
    n_layers = len(result.baseline.layers)
    width = 0.8 / max(1, len(runs))
    for k, run in enumerate(runs):
        values = [100 * (c.energy_change or 0.0) for c in run.comparison.layers]
        right.bar(
            [i - 0.4 + (k + 0.5) * width for i in range(len(values))], values, width=width, label=run.variant.name
        )
    right.axhline(0, color="black", linewidth=0.8)
    right.set_xticks(range(n_layers), [str(i) for i in range(n_layers)])
    right.set_xlabel("layer #")
    right.set_ylabel("energy change (%)")
    right.set_title("per layer")
    right.legend(fontsize=8)
    return _png(fig)


def _solved(run: SweepRun) -> tuple[float, float]:
    """(energy in µJ, latency in seconds) of a run that has both (the only runs plotted)."""
    energy, latency = run.record.energy_pj, run.record.latency_s
    assert energy is not None and latency is not None
    return energy / 1e6, latency


def sweep_fronts_png(result: SweepResult) -> bytes:
    """Per workload, energy against latency (log-log) of every solved run, coloured by accelerator; the
    sweep's Pareto front filled, the other runs hollow; the energy-latency front dashed."""
    from matplotlib.figure import Figure

    runs = [r for r in result.runs if r.record.energy_pj and r.record.latency_s]
    workloads = list(dict.fromkeys(r.record.workload for r in runs)) or ["(none solved)"]
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter, LogLocator

    bases = list(dict.fromkeys(r.record.accelerator for r in runs))
    colors = {base: colormaps["tab10"](i % 10) for i, base in enumerate(bases)}
    columns = min(2, len(workloads))
    rows = (len(workloads) + columns - 1) // columns
    fig = Figure(figsize=(6.5 * columns, 4.5 * rows))
    for index, workload in enumerate(workloads):
        ax = fig.add_subplot(rows, columns, index + 1)
        mine = [r for r in runs if r.record.workload == workload]
        for base in bases:
            group = [r for r in mine if r.record.accelerator == base]
            labelled = False
            for on, marker_fill in ((True, colors[base]), (False, "none")):
                pts = [r for r in group if r.on_front == on]
                if pts:
                    ax.scatter([_solved(r)[0] for r in pts], [_solved(r)[1] for r in pts],
                               s=36, facecolors=marker_fill, edgecolors=colors[base],
                               label=None if labelled else base)
                    labelled = True
        # the line is the energy-latency front of this plot; the filled points are the sweep's front,
        # which also weighs area and so holds points this plane shows as beaten
        front, best = [], float("inf")
        for r in sorted(mine, key=lambda r: (r.record.energy_pj or 0.0, r.record.latency_s or 0.0)):
            if (r.record.latency_s or 0.0) < best:
                front.append(r)
                best = r.record.latency_s or 0.0
        if len(front) > 1:
            ax.plot([_solved(r)[0] for r in front], [_solved(r)[1] for r in front],
                    color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("energy per inference (µJ)")
        ax.set_ylabel("latency (s)")
        for axis in (ax.xaxis, ax.yaxis):  # labels at 1, 2, 5 per decade, so short ranges have some
            axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(_tick))
            axis.set_minor_formatter(FuncFormatter(_tick))
        ax.tick_params(axis="both", which="both", labelsize=7)
        first = _first_parameter(result)
        if first is not None:  # which design point is which: its first swept value beside it
            for r in mine:
                ax.annotate(format(dict(r.record.point).get(first, ""), "g") if isinstance(
                    dict(r.record.point).get(first), float) else str(dict(r.record.point).get(first, "")),
                    _solved(r), fontsize=6, xytext=(3, 3),
                    textcoords="offset points", color="dimgrey")
        ax.set_title(f"{result.spec.name}: {workload}" + (f" (labels: {first})" if first else ""))
        if mine:
            ax.legend(fontsize=8, title="filled: on the front\n(dashed: energy-latency front)", title_fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _first_parameter(result: SweepResult) -> str | None:
    parameters = result.spec.parameters
    return parameters[0].name if parameters else None


def _tick(value: float, _position: object) -> str:
    return f"{value:.3g}"
