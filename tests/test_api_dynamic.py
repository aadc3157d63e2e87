"""Attention's dynamic operands through the api: the solve document and report mark the layers whose W
is computed during inference (which operand the cells hold, what writing them costs), and the
mappings.yaml of a solve prices the same again, the exchanged orientation included."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from imcmap import api, serialize
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.report.solve import render_solve

DYNAMIC = frozenset({Operand.W})
# one head of attention, 32 queries against 64 keys of 16 features: the scores hold K^T as their W;
# the context P x V holds V (64 x 16) as W, or, with its operands exchanged (cheaper on dimc: 32
# columns busy instead of 16), the 32 x 64 probabilities
ATTENTION = Workload("head", (
    Layer("q", "MatMul", {"B": 32, "K": 16, "C": 32}),
    Layer("k", "MatMul", {"B": 64, "K": 16, "C": 32}),
    Layer("v", "MatMul", {"B": 64, "K": 16, "C": 32}),
    Layer("s", "MatMul", {"B": 32, "K": 64, "C": 16}, sources=("q", "k"), dynamic_operands=DYNAMIC,
          weight_sources=("k",)),
    Layer("pv", "MatMul", {"B": 32, "K": 16, "C": 64}, sources=("s", "v"), dynamic_operands=DYNAMIC,
          weight_sources=("v",)),
))


@pytest.fixture(scope="module")
def solved() -> api.SolveResult:
    return api.solve("dimc", ATTENTION, time_limit_s=2, processes=1, dataflow=False)


def test_the_document_marks_dynamic_layers_only(solved: api.SolveResult):
    """Projections carry no dynamic-operand keys; the scores and context say which operand the cells
    hold and what their writes cost: the bits written, 0.095 pJ per 8-bit word."""
    layers = {doc["name"]: doc for doc in serialize.network_json(solved)["layers"]}  # type: ignore[union-attr]
    assert "cells_hold" not in layers["q"] and "cell_writes" not in layers["q"]
    for name in ("s", "pv"):
        doc = layers[name]
        assert doc["dynamic_operands"] == ["W"]
        assert doc["cells_hold"] == ("I" if doc["operands_exchanged"] else "W")
        writes = doc["cell_writes"]
        assert writes["energy_pj"] == pytest.approx(writes["bits"] / 8 * 0.095)
        assert writes["stall_cycles"] > 0


def test_the_report_marks_dynamic_layers(solved: api.SolveResult):
    out = io.StringIO()
    render_solve(Console(file=out, width=200, color_system=None), solved, detail=True)
    text = out.getvalue()
    assert text.count("dynamic W; cells hold ") >= 4  # the table and the detail, for both layers
    assert "cell writes " in text


def test_mappings_yaml_prices_the_same_again(solved: api.SolveResult, tmp_path):
    """Every layer's energy from mappings.yaml equals the solve's, exchanged layers included."""
    path = tmp_path / "mappings.yaml"
    path.write_text(serialize.mappings_yaml(solved))
    evaluation = api.evaluate("dimc", ATTENTION, path)
    energies = {e.layer.name: e.report.energy_pj for e in evaluation.layers}
    assert energies == {r.solution.layer.name: r.solution.report.energy_pj for r in solved.layers}  # type: ignore[union-attr]
    exchanged = {r.solution.layer.name for r in solved.layers if r.solution.operands_exchanged}
    assert "pv" in exchanged and evaluation.spec.exchanged == exchanged
    assert "operands_exchanged: true" in path.read_text()


def test_the_evaluate_report_marks_dynamic_layers(solved: api.SolveResult, tmp_path):
    """``imcmap evaluate`` says which operand the cells hold, and how to read an exchanged layer's dims."""
    from imcmap.report.evaluate import render_evaluation

    path = tmp_path / "mappings.yaml"
    path.write_text(serialize.mappings_yaml(solved))
    out = io.StringIO()
    render_evaluation(Console(file=out, width=200, color_system=None), api.evaluate("dimc", ATTENTION, path))
    text = out.getvalue()
    assert "dynamic W; cells hold W; cell writes " in text
    assert "dynamic W; cells hold I (operands exchanged: B and K, W and I as shown are the layer's I and W)" in text
    assert text.count("dynamic W") == 2  # the projections are not marked
