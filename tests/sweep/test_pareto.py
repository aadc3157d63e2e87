"""Pareto fronts and bound-based dominance: hand-checked small cases, brute force and properties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imcmap.sweep import pareto
from imcmap.sweep.pareto import (
    bound_vector,
    can_reach_front,
    dominates,
    front_mask,
    network_lower_bound,
    proven_dominated,
    run_fronts,
    run_proven_dominated,
)
from imcmap.sweep.store import RunRecord


def brute_dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def brute_front(values) -> list[bool]:
    """The definition read literally: on the front iff no point dominates it."""
    return [not any(brute_dominates(q, p) for q in values) for p in values]


# Small integer grids make identical vectors and ties on single metrics common.
point_sets = st.integers(1, 3).flatmap(
    lambda m: hnp.arrays(np.float64, st.tuples(st.integers(0, 12), st.just(m)), elements=st.integers(0, 4).map(float))
)


# --- hand-checked ---------------------------------------------------------------------------------------


def test_dominates_needs_all_no_worse_and_one_better():
    """(1,2) < (1,3): 1<=1, 2<=3, 2<3. (1,3) vs (1,3): no strict component. (1,4) vs (2,3): 4>3."""
    assert dominates([1, 2], [1, 3])
    assert not dominates([1, 3], [1, 3])
    assert not dominates([1, 4], [2, 3]) and not dominates([2, 3], [1, 4])


def test_two_metric_front_with_a_duplicate():
    """A(1,5) B(2,3) C(3,4) D(4,1) E(2,3)=B. C is dominated by B (2<=3, 3<=4, strict in both); B and E are
    identical, so neither dominates the other and both stay; A has the least first metric, D the least
    second, nothing beats them on both. Front: A, B, D, E."""
    values = [[1, 5], [2, 3], [3, 4], [4, 1], [2, 3]]
    assert front_mask(values).tolist() == [True, True, False, True, True]


def test_three_metric_front():
    """Energy, latency, area. P0(10,5,2) P1(12,4,2) P2(11,6,2) P3(10,5,3) P4(9,9,9):
    P2 is dominated by P0 (10<11, 5<6, 2=2); P3 by P0 (equal but area 2<3); P1 has the least latency
    among those with area 2; P4 the least energy. Front: P0, P1, P4."""
    values = [[10, 5, 2], [12, 4, 2], [11, 6, 2], [10, 5, 3], [9, 9, 9]]
    assert front_mask(values).tolist() == [True, True, False, False, True]


def test_proven_dominated_uses_others_values_against_own_bounds():
    """Values and energy lower bounds (latency and area exact):
    P0 v(10,5,2) lb(9,5,2); P1 v(12,4,2) lb(8,4,2); P2 v(11,6,2) lb(10.5,6,2); P3 v(13,7,2) lb(7,7,2).
    P2: P0's values (10,5,2) <= (10.5,6,2) with 10<10.5, proven. P3: dominated by P0's values
    (10<=13, 5<=7) but its bound 7 is below every other energy (10, 12, 11): not proven. P0's bound 9 and
    P1's bound 8 are below all other energies too."""
    values = [[10, 5, 2], [12, 4, 2], [11, 6, 2], [13, 7, 2]]
    bounds = [[9, 5, 2], [8, 4, 2], [10.5, 6, 2], [7, 7, 2]]
    assert proven_dominated(values, bounds).tolist() == [False, False, True, False]
    assert front_mask(values).tolist() == [True, True, False, False]


def test_a_point_never_proves_itself_dominated():
    """A bound above its own value (1.0000000000000002 > 1.0, one ulp from a float sum) is clipped to the
    value: the point is alone and stays unmarked; with lb clipped, a tie partner does not mark it either."""
    assert proven_dominated([[1.0, 2.0]], [[1.0000000000000002, 2.0]]).tolist() == [False]
    assert proven_dominated([[1.0, 2.0], [1.0, 2.0]], [[1.0000000000000002, 2.0], [1.0, 2.0]]).tolist() == [
        False,
        False,
    ]


def test_can_reach_front_prunes_only_a_strictly_dominated_bound():
    """Front F = {(10,5,2), (12,4,2)}. lb (10,5,2) equals a front point: a completion could tie, keep.
    lb (10.5,5,2): (10,5,2) <= it with 10<10.5, prune. lb (9,100,2): every f has energy >= 10 > 9, keep.
    lb (12,4.5,2): (12,4,2) <= it with 4<4.5, prune. Empty F: keep."""
    front = [[10, 5, 2], [12, 4, 2]]
    assert can_reach_front([10, 5, 2], front)
    assert not can_reach_front([10.5, 5, 2], front)
    assert can_reach_front([9, 100, 2], front)
    assert not can_reach_front([12, 4.5, 2], front)
    assert can_reach_front([1, 1, 1], np.zeros((0, 3)))


def test_network_lower_bound_counts_unfinished_layers_as_zero():
    """Finished bounds 3.0 and 4.5 with one layer unfinished: 3.0 + 0 + 4.5 = 7.5; nothing finished: 0."""
    assert network_lower_bound([3.0, None, 4.5]) == 7.5
    assert network_lower_bound([None, None]) == 0.0 and network_lower_bound([]) == 0.0


def test_bound_vector_falls_back_to_values():
    """Energy bounded by 90 (value 100); latency and area unbounded keep their values 7 and 2."""
    vector = bound_vector({"energy_pj": 100.0, "latency_s": 7.0, "area_mm2": 2.0}, {"energy_pj": 90.0},
                          pareto.DEFAULT_METRICS)
    assert vector.tolist() == [90.0, 7.0, 2.0]


def test_bad_inputs_are_refused():
    """NaN compares false both ways, so it is refused; so are vectors of different lengths."""
    with pytest.raises(ValueError, match="NaN"):
        front_mask([[1.0, float("nan")]])
    with pytest.raises(ValueError, match="NaN"):
        can_reach_front([float("nan"), 1.0], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="2 metrics per point, expected 3"):
        can_reach_front([1, 2, 3], [[1, 2]])
    with pytest.raises(ValueError, match="same"):
        proven_dominated([[1, 2]], [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="cannot be compared"):
        dominates([1, 2], [1, 2, 3])


# --- over runs ------------------------------------------------------------------------------------------


def run(workload: str, energy: float | None, latency: float | None, area: float | None, *,
        lower_bound: float | None = None, objective: str = "energy") -> RunRecord:
    """A run at a clock of 1 s per cycle, so its latency in cycles and in seconds are the same number
    (a latency run's bound on cycles then bounds seconds by the same value)."""
    return RunRecord(point=(), accelerator="a", workload=workload, objective=objective,
                     status="ok" if energy is not None else "failed", energy_pj=energy, latency_cycles=latency,
                     latency_s=latency, area_mm2=area, lower_bound=lower_bound)


def test_run_fronts_are_per_workload_and_skip_runs_without_figures():
    """w1: (5,5,1) and (6,6,1): the second is dominated. w2: (1,1,1) would dominate both but is another
    workload. The failed w1 run (no figures) is on no front and dominates nothing."""
    runs = [run("w1", 5, 5, 1), run("w1", 6, 6, 1), run("w2", 1, 1, 1), run("w1", None, None, None)]
    assert run_fronts(runs) == (True, False, True, False)
    assert run_fronts(runs, metrics=("area_mm2",)) == (True, True, True, False)


def test_run_proven_dominated_bounds_the_objective_metric_only():
    """w1 energy runs: R0 (10,5,2) lb 9; R1 (11,6,2) lb 10.5 -> R0's (10,5,2) <= (10.5,6,2), 10<10.5: proven.
    R2 is a latency run (11,6,2) with a bound of 5.5 cycles, 5.5 s at its clock of 1 s per cycle: its
    bound vector (11,5.5,2), and R0's (10,5,2)
    is below it (10<11): proven. R3 (11,6,2) with lower bound 8 on energy: (8,6,2), no other energy <= 8."""
    runs = [run("w1", 10, 5, 2, lower_bound=9), run("w1", 11, 6, 2, lower_bound=10.5),
            run("w1", 11, 6, 2, lower_bound=5.5, objective="latency"), run("w1", 11, 6, 2, lower_bound=8)]
    assert run_proven_dominated(runs) == (False, True, True, False)
    no_bound = [replace(r, lower_bound=None) for r in runs]
    assert run_proven_dominated(no_bound) == (False, True, True, True)


def test_maximised_figures_are_not_metrics():
    """TOPS/W is better when larger; minimising it would invert the front, so it is refused."""
    with pytest.raises(ValueError, match="tops_per_w; expected minimised run figures"):
        run_fronts([run("w", 1, 1, 1)], metrics=("energy_pj", "tops_per_w"))


# --- against brute force and properties -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_front_and_proofs_match_brute_force_across_chunks(monkeypatch, seed):
    """60 points in chunks of 7 (so blocks end mid-way): front_mask and proven_dominated equal the
    definitions evaluated pair by pair."""
    monkeypatch.setattr(pareto, "_CHUNK", 7)
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=(60, 3)).astype(float)
    bounds = values - rng.integers(0, 2, size=values.shape)
    assert front_mask(values).tolist() == brute_front(values.tolist())
    expected = [any(q != p and brute_dominates(values[q], np.minimum(bounds[p], values[p])) for q in range(60))
                for p in range(60)]
    assert proven_dominated(values, bounds).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(values=point_sets)
def test_no_front_point_is_dominated_and_every_other_point_is_dominated_by_a_front_point(values):
    """Front points are dominated by no point; each point off the front is dominated by one on it."""
    on = front_mask(values)
    front = values[on]
    for p in values[on]:
        assert not any(dominates(q, p) for q in values)
    for p in values[~on]:
        assert any(dominates(f, p) for f in front)


@settings(max_examples=200, deadline=None)
@given(values=point_sets, data=st.data())
def test_front_is_invariant_under_permutation(values, data):
    """Shuffling the input shuffles the mask the same way: ties need no order of the input."""
    perm = np.array(data.draw(st.permutations(range(len(values)))), dtype=int)
    assert front_mask(values[perm]).tolist() == front_mask(values)[perm].tolist()


@settings(max_examples=200, deadline=None)
@given(values=point_sets, data=st.data())
def test_proven_dominated_points_are_never_on_the_front(values, data):
    """With lb <= v, every proven-dominated point is off the front; with lb = v, exactly those off it."""
    slack = data.draw(hnp.arrays(np.float64, values.shape, elements=st.sampled_from([0.0, 0.5, 1.0, 3.0])))
    proven = proven_dominated(values, values - slack)
    on = front_mask(values)
    assert not np.any(proven & on)
    assert proven_dominated(values, values).tolist() == (~on).tolist()


@settings(max_examples=200, deadline=None)
@given(values=point_sets, data=st.data())
def test_a_pruned_partial_point_is_off_the_front_once_finished(values, data):
    """If can_reach_front says no for a point's partial bound (lb <= v), that point is off the front of
    all points; with its exact values as the bound the answer is whether it is on the front."""
    if len(values) == 0:
        return
    index = data.draw(st.integers(0, len(values) - 1))
    partial = values[index] - data.draw(
        hnp.arrays(np.float64, values.shape[1], elements=st.sampled_from([0.0, 1.0, 2.5]))
    )
    on = front_mask(values)
    if not can_reach_front(partial, values):
        assert not on[index]
    assert can_reach_front(values[index], values) == bool(on[index])
