"""``solve.better_orientation``: the cheaper of a layer's two orientations, with a bound and a status
that hold for both; ``solve.one_orientation``: what stands when a stop left only one."""

from __future__ import annotations

from dataclasses import replace

from imcmap.models.mapping import Mapping
from imcmap.models.workload import Layer
from imcmap.solver.solve import LayerSolution, better_orientation, one_orientation
from imcmap.solver.status import SolveStatus

LAYER = Layer("s", "MatMul", {"B": 2, "K": 4, "C": 4})
MAPPING = Mapping({}, (), {})


def solution(status: SolveStatus, cost: float | None, bound: float | None, wall: float = 1.0) -> LayerSolution:
    mapping = MAPPING if cost is not None else None
    gap = None if cost is None or bound is None else (cost - bound) / cost
    return LayerSolution(LAYER, "energy", status, mapping, None, cost, bound, gap, None, 3, wall)


def test_the_cheaper_one_with_the_smaller_bound():
    """100 (bound 95) against 90 (bound 89): 90 is taken, bound min(95, 89) = 89, gap 1/90; both proven:
    OPTIMAL; the walls and candidates add up."""
    a = solution(SolveStatus.OPTIMAL, 100.0, 95.0)
    b = replace(solution(SolveStatus.OPTIMAL, 90.0, 89.0, wall=2.0), operands_exchanged=True)
    best = better_orientation(a, b)
    assert best.operands_exchanged and best.exact_cost == 90.0
    assert best.lower_bound == 89.0 and best.gap == 1 / 90
    assert best.status is SolveStatus.OPTIMAL
    assert (best.wall_time_s, best.candidates) == (3.0, 6)
    assert "other orientation: OPTIMAL, 100" in best.message


def test_the_bound_of_the_other_orientation_can_be_the_smaller():
    """90 (bound 89) taken, the other 100 with bound 80: the union's bound is 80, gap 10/90."""
    best = better_orientation(solution(SolveStatus.OPTIMAL, 90.0, 89.0), solution(SolveStatus.FEASIBLE, 100.0, 80.0))
    assert best.lower_bound == 80.0 and best.gap == 10 / 90
    assert best.status is SolveStatus.FEASIBLE  # the other orientation is not proven


def test_a_tie_keeps_the_imported_orientation():
    a, b = solution(SolveStatus.OPTIMAL, 90.0, 89.0), solution(SolveStatus.OPTIMAL, 90.0, 88.0)
    assert not better_orientation(a, replace(b, operands_exchanged=True)).operands_exchanged


def test_an_infeasible_orientation_adds_no_bound():
    """The exchanged layer has no legal mapping (proven): the imported one's bound and status stand."""
    a = solution(SolveStatus.OPTIMAL, 90.0, 89.0)
    best = better_orientation(a, solution(SolveStatus.INFEASIBLE, None, None))
    assert (best.exact_cost, best.lower_bound, best.status) == (90.0, 89.0, SolveStatus.OPTIMAL)


def test_an_orientation_without_a_bound_leaves_none():
    """Under a policy that reports no bound for one side, no bound is claimed for the pair."""
    best = better_orientation(solution(SolveStatus.FEASIBLE, 90.0, None), solution(SolveStatus.OPTIMAL, 95.0, 90.0))
    assert best.lower_bound is None and best.gap is None


def test_neither_mapped_keeps_the_imported_verdict():
    a, b = solution(SolveStatus.INFEASIBLE, None, None), solution(SolveStatus.UNKNOWN, None, None)
    best = better_orientation(a, b)
    assert best.status is SolveStatus.INFEASIBLE and best.mapping is None and best.wall_time_s == 2.0


def test_a_stop_before_the_second_orientation_claims_no_bound():
    """Only the imported orientation came in before a stop (the driver's ``halt`` keeps it alone): proven
    optimal at 90 over its own space, it bounds nothing of the other, so no bound and FEASIBLE at most."""
    sol = one_orientation(solution(SolveStatus.OPTIMAL, 90.0, 89.0))
    assert sol.lower_bound is None and sol.gap is None and not sol.operands_exchanged
    assert (sol.status, sol.exact_cost) == (SolveStatus.FEASIBLE, 90.0)
    assert "stopped before the other orientation was searched" in sol.message
    unmapped = one_orientation(solution(SolveStatus.UNKNOWN, None, None))
    assert unmapped.status is SolveStatus.UNKNOWN and unmapped.lower_bound is None
