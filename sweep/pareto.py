"""Pareto fronts of a sweep's runs, and the bound-based dominance that prunes points before they finish.

Every metric is minimised. For metric vectors a, b in R^m, "a dominates b", written a -< b:
    a -< b  <=>  (for all i: a_i <= b_i) and (for some i: a_i < b_i).
Identical vectors do not dominate each other, so copies of a front vector are all on the front: the
tie rule needs no order of the input, and the front is the same for any permutation of it.

The certified lower bounds of the solver make some points decidable before (or without) their exact
values: a point whose lower bounds are already dominated by another point's exact values is off the
front whatever its gaps. The engine uses ``can_reach_front`` to stop solving such a point's remaining
layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .store import RunRecord

# latency in seconds, not cycles: the bases of a sweep may run at different clocks (analog and digital
# macros differ by up to 11x at 1024 rows)
DEFAULT_METRICS = ("energy_pj", "latency_s", "area_mm2")
# Run figures that are better when smaller. TOPS/W, TOPS/mm2 and utilization are better when larger
# and are not offered (within one workload, TOPS/W orders the runs as energy_pj does, reversed).
MINIMISED_METRICS = ("energy_pj", "latency_cycles", "latency_s", "area_mm2")
# The metric a run's ``lower_bound`` bounds, by objective (an EDP bound is not a sum of layer bounds).
OBJECTIVE_METRIC = {"energy": "energy_pj", "latency": "latency_cycles"}

_CHUNK = 256  # rows compared at once: the (chunk, n, m) comparison stays a few MB


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """a -< b  <=>  all(a_i <= b_i) and any(a_i < b_i)."""
    va, vb = _vector(a), _vector(b)
    if va.shape != vb.shape:
        raise ValueError(f"vectors of {va.size} and {vb.size} metrics cannot be compared")
    return bool(np.all(va <= vb) and np.any(va < vb))


def front_mask(values: ArrayLike) -> NDArray[np.bool_]:
    """Which rows of ``values`` (n points x m metrics) are on the Pareto front.

    front(P) = {p in P : no q in P with v_q -< v_p}; identical rows are all on it or all off it.
    """
    points = _matrix(values, "values")
    return ~_dominated_by_any(points, points, skip_self=False)


def proven_dominated(values: ArrayLike, lower_bounds: ArrayLike) -> NDArray[np.bool_]:
    """Which points are proven off the front by certified bounds alone.

    p is proven dominated  <=>  exists q != p with v_q -< min(lb_p, v_p) (componentwise min).
    Since lb_p <= v_p, v_q -< lb_p implies v_q -< v_p; the min with v_p keeps that true when a bound
    summed in floating point lands an ulp above its value. A metric without a bound passes its value
    as its bound (``bound_vector``).
    """
    points = _matrix(values, "values")
    bounds = _matrix(lower_bounds, "lower_bounds")
    if bounds.shape != points.shape:
        raise ValueError(f"lower_bounds has shape {bounds.shape}, values {points.shape}; expected the same")
    return _dominated_by_any(np.minimum(bounds, points), points, skip_self=True)


def can_reach_front(partial_lower_bounds: ArrayLike, front_points: ArrayLike) -> bool:
    """Whether a point still being solved can end on the front.

    reachable  <=>  no f in F with f -< lb, where lb is the point's lower-bound vector so far (a
    network's: ``network_lower_bound`` of its finished layers) and F the exact vectors of finished
    points. Any completion v has v >= lb, so f -< lb implies f -< v. F may be the current front or all
    finished points (a point dominated by any finished point is dominated by one on the front).
    f == lb does not prune: a completion equal to f would tie with it, and ties stay on the front.
    """
    bound = _vector(partial_lower_bounds)
    front = _matrix(front_points, "front_points", width=bound.size)
    return not bool(_dominated_by_any(bound[None, :], front, skip_self=False)[0])


def network_lower_bound(layer_lower_bounds: Iterable[float | None]) -> float:
    """lb(network) = sum of the finished layers' lower bounds; an unfinished layer (None) adds 0.

    Valid because the network's energy and latency are sums of layer costs, each >= 0.
    """
    return float(sum(bound for bound in layer_lower_bounds if bound is not None))


def bound_vector(
    values: dict[str, float], lower_bounds: dict[str, float], metrics: Sequence[str]
) -> NDArray[np.float64]:
    """lb_i = lower_bounds[metric_i] if the metric has a bound, else values[metric_i] (exact)."""
    return np.array([lower_bounds.get(m, values[m]) for m in metrics], dtype=np.float64)


# --- over stored runs -------------------------------------------------------------------------------


def run_fronts(runs: Sequence[RunRecord], metrics: Sequence[str] = DEFAULT_METRICS) -> tuple[bool, ...]:
    """For each run, whether it is on the front of its workload's runs over ``metrics``.

    A run without one of the metrics (failed, infeasible) is on no front and dominates nothing.
    """
    on_front = [False] * len(runs)
    for indices, points in _groups(runs, metrics):
        for index, on in zip(indices, front_mask(points), strict=True):
            on_front[index] = bool(on)
    return tuple(on_front)


def run_proven_dominated(runs: Sequence[RunRecord], metrics: Sequence[str] = DEFAULT_METRICS) -> tuple[bool, ...]:
    """For each run, whether its workload's other runs dominate its certified bounds (``proven_dominated``).

    A run's bound on its objective's metric is its ``lower_bound`` (``OBJECTIVE_METRIC``); its other
    metrics are bounded by their values. Runs without the metrics are never marked.
    """
    marked = [False] * len(runs)
    for indices, points in _groups(runs, metrics):
        bounds = np.array([_run_bounds(runs[i], metrics) for i in indices], dtype=np.float64)
        for index, dominated in zip(indices, proven_dominated(points, bounds), strict=True):
            marked[index] = bool(dominated)
    return tuple(marked)


def _run_bounds(run: RunRecord, metrics: Sequence[str]) -> NDArray[np.float64]:
    values = {m: float(getattr(run, m)) for m in metrics}
    metric = OBJECTIVE_METRIC.get(run.objective)
    bounds = {} if metric is None or run.lower_bound is None else {metric: run.lower_bound}
    if metric == "latency_cycles" and run.lower_bound is not None and run.latency_cycles and run.latency_s is not None:
        bounds["latency_s"] = run.lower_bound * run.latency_s / run.latency_cycles  # one clock for every layer
    return bound_vector(values, bounds, metrics)


def _groups(runs: Sequence[RunRecord], metrics: Sequence[str]) -> list[tuple[list[int], NDArray[np.float64]]]:
    """(indices, their metric matrix) per workload, over the runs that have every metric."""
    if not metrics:
        raise ValueError("metrics: expected at least one metric name")
    unknown = [m for m in metrics if m not in MINIMISED_METRICS]
    if unknown:
        raise ValueError(
            f"metrics: {', '.join(unknown)}; expected minimised run figures ({', '.join(MINIMISED_METRICS)})"
        )
    by_workload: dict[str, list[int]] = {}
    for index, run in enumerate(runs):
        if all(getattr(run, m) is not None for m in metrics):
            by_workload.setdefault(run.workload, []).append(index)
    return [
        (indices, np.array([[getattr(runs[i], m) for m in metrics] for i in indices], dtype=np.float64))
        for indices in by_workload.values()
    ]


# --- arrays -----------------------------------------------------------------------------------------


def _dominated_by_any(
    targets: NDArray[np.float64], dominators: NDArray[np.float64], *, skip_self: bool
) -> NDArray[np.bool_]:
    """out[t] = exists d (d != t when ``skip_self``): dominators[d] -< targets[t]."""
    out = np.zeros(len(targets), dtype=bool)
    if len(dominators) == 0:
        return out
    for start in range(0, len(targets), _CHUNK):
        block = targets[start:start + _CHUNK, None, :]  # (chunk, 1, m) against (n, m)
        dominated = np.all(dominators <= block, axis=2) & np.any(dominators < block, axis=2)
        if skip_self:
            rows = np.arange(len(block))
            dominated[rows, start + rows] = False
        out[start:start + _CHUNK] = dominated.any(axis=1)
    return out


def _vector(value: ArrayLike) -> NDArray[np.float64]:
    vector = np.asarray(value, dtype=np.float64)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"expected one vector of metric values, got shape {vector.shape}")
    if np.isnan(vector).any():
        raise ValueError("metric values must not be NaN (NaN compares false both ways)")
    return vector


def _matrix(value: ArrayLike, name: str, width: int | None = None) -> NDArray[np.float64]:
    matrix = np.asarray(value, dtype=np.float64)
    if matrix.size == 0:
        return matrix.reshape(0, width or (matrix.shape[-1] if matrix.ndim == 2 else 0))
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"{name}: expected points x metrics, got shape {matrix.shape}")
    if width is not None and matrix.shape[1] != width:
        raise ValueError(f"{name}: {matrix.shape[1]} metrics per point, expected {width}")
    if np.isnan(matrix).any():
        raise ValueError(f"{name}: metric values must not be NaN (NaN compares false both ways)")
    return matrix
