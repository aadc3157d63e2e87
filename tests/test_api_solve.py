"""api.solve: a SolveResult with the facts its report states, progress ticks, and infeasibility as a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from imcmap import api, serialize
from imcmap.models.constraints import is_diagonal
from imcmap.models.evaluator import accelerator_area_mm2, clock_period_ns

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def tiny_net() -> api.SolveResult:
    return api.solve("dimc", "tiny_net", time_limit_s=2, processes=1)


def test_solve_result_states_bound_area_clock_and_diagonal(tiny_net: api.SolveResult):
    """The result's derived fields agree with the evaluator and the solve document."""
    accel = tiny_net.accelerator
    assert tiny_net.area_mm2 == accelerator_area_mm2(accel) and tiny_net.tclk_ns == clock_period_ns(accel)
    assert tiny_net.bound_source == serialize.bound_source(accel, "energy", tiny_net.network.config)
    assert tiny_net.diagonal == tuple(is_diagonal(r.accelerator, r.solution.mapping) for r in tiny_net.layers)  # type: ignore[arg-type]
    doc = serialize.network_json(tiny_net)
    assert doc == serialize.network_json(tiny_net.network)
    assert doc["total"]["area_mm2"] == tiny_net.area_mm2  # type: ignore[index]
    assert doc["solver"]["bound_source"] == tiny_net.bound_source  # type: ignore[index]
    assert tiny_net.complete and not tiny_net.infeasible and tiny_net.notes == ()


def test_progress_ticks_count_the_distinct_layers():
    """Ticks count the distinct layers solved up to the total, never past it: with dataflow a layer is
    also solved with a tensor kept on chip, which ticks without counting twice."""
    ticks: list[api.LayerDone] = []
    api.solve("dimc", "tiny_net", time_limit_s=2, processes=1, progress=ticks.append)
    assert len(ticks) > 3  # tiny_net's layers are solved plain and with a tensor on chip
    assert [t.done for t in ticks] == sorted(t.done for t in ticks) and ticks[-1].done == 3
    assert {t.total for t in ticks} == {3} and {t.run for t in ticks} == {""}
    assert {t.layer for t in ticks} == {"conv1", "conv2", "fc"}
    plain: list[api.LayerDone] = []
    api.solve("dimc", "tiny_net", time_limit_s=2, processes=1, dataflow=False, progress=plain.append)
    assert [(t.done, t.total) for t in plain] == [(1, 3), (2, 3), (3, 3)]


def test_diagonal_opens_the_diagonal_space():
    """diagonal=True lets OX/OY unroll over the IMC columns (tiny_conv on aimc takes it); off by default."""
    plain = api.solve("aimc", "tiny_conv", time_limit_s=2, processes=1)
    diagonal = api.solve("aimc", "tiny_conv", time_limit_s=2, processes=1, diagonal=True)
    assert plain.diagonal == (False,) and diagonal.diagonal == (True,)


def test_infeasible_layer_is_a_result():
    """Clashing constraints give a result marked infeasible, with the conflict, not an exception."""
    result = api.solve("dimc", "tiny_conv", constraints=["spatial.D1.K >= 8", "spatial.D1.K <= 4"], time_limit_s=2,
                       processes=1)
    assert result.infeasible and not result.complete
    assert [c.text for c in result.layers[0].solution.conflict] == ["spatial.D1.K >= 8", "spatial.D1.K <= 4"]


def test_zigzag_inputs_bring_their_notes():
    """Solving on a ZigZag hardware file: the notes on its assumptions are in the result."""
    result = api.solve(DATA / "zigzag" / "dimc.yaml", "tiny_conv", DATA / "zigzag" / "default_imc.yaml",
                       time_limit_s=2, processes=1)
    assert "read as a ZigZag 3.x file" in result.notes[0]
    assert any(note.startswith("mapping: ") for note in result.notes)


def test_bad_objective_is_a_value_error():
    """An objective other than energy, latency or edp is a programming error, not an input error."""
    with pytest.raises(ValueError, match="objective must be one of"):
        api.solve("dimc", "tiny_conv", objective="area")
