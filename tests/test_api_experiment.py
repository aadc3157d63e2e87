"""api.experiment: the baseline and each variant as SolveResults, compared with the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from imcmap import api

EXPERIMENT = """\
name: tiny_what_if
baseline:
  accelerator: aimc
  workload: tiny_conv
  mapping: default_imc
  time_limit: 2
variants:
  - name: narrow
    constraints: ["spatial.D1.K <= 4"]
"""


def test_experiment_result_is_typed(tmp_path: Path):
    """Baseline and variant are SolveResults; the comparison is theirs; progress counts over both runs."""
    path = tmp_path / "tiny.yaml"
    path.write_text(EXPERIMENT)
    ticks: list[api.LayerDone] = []
    result = api.experiment(path, processes=1, progress=ticks.append)
    assert isinstance(result.baseline, api.SolveResult)
    (run,) = result.variants
    assert isinstance(run.result, api.SolveResult) and run.variant.name == "narrow"
    assert [name for name, _ in result.runs] == ["baseline", "narrow"]
    assert result.complete and not result.interrupted
    assert run.comparison.energy_change == pytest.approx(run.result.energy_pj / result.baseline.energy_pj - 1)
    assert [(t.run, t.done, t.total) for t in ticks] == [("baseline", 1, 2), ("narrow", 2, 2)]
    doc = api.experiment_json(result)
    assert doc["baseline"]["result"] == api.network_json(result.baseline)  # type: ignore[index]
