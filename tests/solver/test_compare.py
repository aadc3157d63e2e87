"""``solver.compare``: relative changes, the text of a mapping's spatial and per-level loops, what
changed between two mappings, and a variant network against its baseline, worked by hand."""

from __future__ import annotations

import pytest

from imcmap.models.mapping import Loop, Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.solver.compare import compare_networks, loops_text, mapping_changes, merged, relative, spatial_summary
from imcmap.solver.network import Dataflow, LayerResult, NetworkResult
from imcmap.solver.solve import LayerSolution, SolverConfig

from .fixtures import oracle_imc

W, I, O = Operand.W, Operand.I, Operand.O
ACCEL = oracle_imc(d1=8, d2=4)  # cells (W), buf (I, O), dram
BASE = Mapping(
    {"D1": {"K": 4}, "D2": {"C": 2}}, (Loop("B", 2), Loop("C", 2), Loop("K", 2)), {W: (1, 3), I: (2, 3), O: (2, 3)}
)


def test_relative_change():
    """110 against 100 is +10 %; against 0 there is no relative change."""
    assert relative(110.0, 100.0) == pytest.approx(0.1)
    assert relative(90.0, 100.0) == pytest.approx(-0.1)
    assert relative(5.0, 0.0) is None


def test_spatial_summary():
    """Array dims in order with their unrolled dims; factors of 1 left out; OX on D1 marks a diagonal."""
    assert spatial_summary(BASE, ACCEL) == "D1 K4 | D2 C2"
    diagonal = Mapping({"D1": {"K": 2, "OX": 2, "B": 1}}, (), {})
    assert spatial_summary(diagonal, ACCEL) == "D1 K2·OX2 (diagonal)"
    assert spatial_summary(Mapping({}, (), {}), ACCEL) == "-"


def test_merged_and_loops_text():
    """Adjacent loops of one dim merge (B2 B3 -> B6), loops of size 1 vanish, others stay apart."""
    loops = (Loop("B", 2), Loop("B", 3), Loop("K", 1), Loop("C", 2), Loop("B", 2))
    assert merged(loops) == [Loop("B", 6), Loop("C", 2), Loop("B", 2)]
    assert loops_text(merged(loops)) == "B6 C2 B2"
    assert loops_text(()) == "-"


def test_mapping_changes_lists_spatial_then_each_level_that_differs():
    """Moving I's cut from 2 to 1 changes I@buf (B2 C2 -> B2) and I@dram (K2 -> C2 K2); W and O stay."""
    after = Mapping(BASE.spatial, BASE.loops, {W: (1, 3), I: (1, 3), O: (2, 3)})
    assert mapping_changes(BASE, ACCEL, after, ACCEL) == ("I@buf B2 C2 -> B2", "I@dram K2 -> C2 K2")
    assert mapping_changes(BASE, ACCEL, BASE, ACCEL) == ()
    respread = Mapping({"D1": {"K": 2}, "D2": {"C": 2}}, (Loop("B", 2), Loop("C", 2), Loop("K", 4)), BASE.cuts)
    assert mapping_changes(BASE, ACCEL, respread, ACCEL)[0] == "spatial D1 K4 | D2 C2 -> D1 K2 | D2 C2"


def test_splitting_a_loop_is_no_change():
    """B2 B2 and B4 are one loop to the evaluator: no change is reported."""
    split = Mapping({}, (Loop("B", 2), Loop("B", 2)), {W: (0, 2), I: (2, 2), O: (2, 2)})
    whole = Mapping({}, (Loop("B", 4),), {W: (0, 1), I: (1, 1), O: (1, 1)})
    assert mapping_changes(split, ACCEL, whole, ACCEL) == ()


def _report(name: str, energy: float, latency: float) -> CostReport:
    return CostReport(
        layer=name,
        energy_pj=energy,
        energy_breakdown=(),
        latency_cycles=latency,
        compute_cycles=latency,
        stall_cycles=0.0,
        load_cycles=0.0,
        spatial_utilization=1.0,
        temporal_utilization=1.0,
        area_mm2=0.0,
        tclk_ns=1.0,
        macs=1,
        accesses=(),
    )


def _network(rows: list[tuple[str, Mapping | None, float, float]]) -> NetworkResult:
    layers = []
    for name, mapping, energy, latency in rows:
        layer = Layer(name, "Gemm", {"B": 2, "K": 8, "C": 4})
        report = _report(name, energy, latency) if mapping is not None else None
        status = "OPTIMAL" if mapping is not None else "INFEASIBLE"
        solution = LayerSolution(
            layer=layer,
            objective="energy",
            status=status,
            mapping=mapping,
            report=report,
            exact_cost=energy,
            lower_bound=None,
            gap=None,
            model_objective=None,
            candidates=1,
            wall_time_s=0.0,
        )
        layers.append(LayerResult(solution, Dataflow(), name, ACCEL))
    workload = Workload("w", tuple(r.solution.layer for r in layers))
    return NetworkResult(workload, ACCEL, "energy", SolverConfig(), tuple(layers), 0.0)


def test_compare_networks():
    """Baseline a 100 pJ / 10 cycles and b 300 / 30; variant a 100 / 10 (same mapping) and b 200 / 50
    (I's cut moved). Totals 400 -> 300 pJ (-25 %) and 40 -> 60 cycles (+50 %); b alone -1/3 and +2/3."""
    moved = Mapping(BASE.spatial, BASE.loops, {W: (1, 3), I: (1, 3), O: (2, 3)})
    base = _network([("a", BASE, 100.0, 10.0), ("b", BASE, 300.0, 30.0)])
    other = _network([("a", BASE, 100.0, 10.0), ("b", moved, 200.0, 50.0)])
    comparison = compare_networks("v", base, other)
    assert comparison.energy_change == pytest.approx(-0.25)
    assert comparison.latency_change == pytest.approx(0.5)
    assert comparison.changed_layers == ("b",)
    a, b = comparison.layers
    assert (a.energy_change, a.latency_change, a.mapping_changed, a.changes) == (0.0, 0.0, False, ())
    assert b.energy_change == pytest.approx(-1 / 3) and b.latency_change == pytest.approx(2 / 3)
    assert b.changes == ("I@buf B2 C2 -> B2", "I@dram K2 -> C2 K2")


def test_an_unmapped_layer_leaves_no_total():
    """When the variant could not map a layer, the totals have no relative change and that layer counts
    as changed, with no figures."""
    base = _network([("a", BASE, 100.0, 10.0)])
    other = _network([("a", None, 0.0, 0.0)])
    comparison = compare_networks("v", base, other)
    assert (comparison.energy_change, comparison.latency_change) == (None, None)
    (a,) = comparison.layers
    assert (a.energy_change, a.mapping_changed, a.status) == (None, True, "INFEASIBLE")
