"""Compare network results: total and per-layer changes in energy and latency, and how each layer's
mapping changed (spatial unrolling, loops per operand and level). Plain data; nothing renders here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from imcmap.models.constraints import is_diagonal
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import OPERANDS

from .network import LayerResult, NetworkResult
from .status import SolveStatus


@dataclass(frozen=True, slots=True)
class LayerChange:
    layer: str
    energy_change: float | None  # relative: 0.05 is +5 %; None when either side has no mapping
    latency_change: float | None
    mapping_changed: bool
    changes: tuple[str, ...]  # what changed, e.g. "spatial D1 K128 | D2 C128 -> D1 K64 | D2 C128"
    status: SolveStatus  # the variant's status for this layer


@dataclass(frozen=True, slots=True)
class Comparison:
    """One variant against the baseline."""

    variant: str
    energy_change: float | None  # None when a layer of either run has no mapping
    latency_change: float | None
    layers: tuple[LayerChange, ...]

    @property
    def changed_layers(self) -> tuple[str, ...]:
        return tuple(c.layer for c in self.layers if c.mapping_changed)


def relative(new: float, old: float) -> float | None:
    return None if old == 0 else (new - old) / old


def spatial_summary(mapping: Mapping, accel: Accelerator) -> str:
    """'D1 K64·OX2 | D2 C8·FY3·FX3 (diagonal)': the array dims in use, in order ('-' if none)."""
    parts = []
    for d in accel.array_dims:
        unrolls = {k: v for k, v in mapping.spatial.get(d.name, {}).items() if v > 1}
        if unrolls:
            parts.append(f"{d.name} " + "·".join(f"{k}{v}" for k, v in unrolls.items()))
    return (" | ".join(parts) or "-") + (" (diagonal)" if is_diagonal(accel, mapping) else "")


def loops_text(loops: Iterable[Loop]) -> str:
    return " ".join(f"{loop.dim}{loop.size}" for loop in loops) or "-"


def merged(loops: Iterable[Loop]) -> list[Loop]:
    """Adjacent loops of one dim as one loop (the evaluator cannot tell them apart within a level)."""
    out: list[Loop] = []
    for loop in loops:
        if loop.size == 1:
            continue
        if out and out[-1].dim == loop.dim:
            out[-1] = Loop(loop.dim, out[-1].size * loop.size)
        else:
            out.append(loop)
    return out


def _per_level(mapping: Mapping, accel: Accelerator) -> dict[str, str]:
    out = {}
    for op in OPERANDS:
        for i, level in enumerate(accel.chain(mapping.operand_links[op])):
            out[f"{op.value}@{level.name}"] = loops_text(merged(mapping.loops_at(op, i)))
    return out


def mapping_changes(
    before: Mapping, before_accel: Accelerator, after: Mapping, after_accel: Accelerator
) -> tuple[str, ...]:
    """What differs, in reading order: the spatial unrolling, then each operand's loops per level
    (innermost first, adjacent loops of one dim merged) where they differ, or a level that one side
    has and the other not. Empty when the two mappings cost the same by construction."""
    out = []
    a, b = spatial_summary(before, before_accel), spatial_summary(after, after_accel)
    if a != b:
        out.append(f"spatial {a} -> {b}")
    la, lb = _per_level(before, before_accel), _per_level(after, after_accel)
    for key in list(la) + [k for k in lb if k not in la]:
        if la.get(key) != lb.get(key):
            out.append(f"{key} {la.get(key, '(none)')} -> {lb.get(key, '(none)')}")
    return tuple(out)


def _layer_change(base: LayerResult, other: LayerResult) -> LayerChange:
    sb, so = base.solution, other.solution
    if sb.report is None or so.report is None or sb.mapping is None or so.mapping is None:
        return LayerChange(sb.layer.name, None, None, sb.mapping is not None or so.mapping is not None, (), so.status)
    changes = mapping_changes(sb.mapping, base.accelerator, so.mapping, other.accelerator)
    return LayerChange(
        sb.layer.name,
        relative(so.report.energy_pj, sb.report.energy_pj),
        relative(so.report.latency_cycles, sb.report.latency_cycles),
        bool(changes),
        changes,
        so.status,
    )


def compare_networks(name: str, baseline: NetworkResult, variant: NetworkResult) -> Comparison:
    """``variant`` against ``baseline``, layer by layer (the same workload, in the same order)."""
    by_name = {r.solution.layer.name: r for r in variant.layers}
    layers = tuple(
        _layer_change(r, by_name[r.solution.layer.name]) for r in baseline.layers if r.solution.layer.name in by_name
    )
    complete = baseline.complete and variant.complete
    return Comparison(
        name,
        relative(variant.energy_pj, baseline.energy_pj) if complete else None,
        relative(variant.latency_cycles, baseline.latency_cycles) if complete else None,
        layers,
    )
