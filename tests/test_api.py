"""imcmap.api: the README's example runs as written, and each function returns its typed result."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imcmap import api
from imcmap.models.constraints import SpatialBound
from imcmap.solver.network import NetworkResult

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]):
    """The Python block of the README's 'Python API' section executes and prints what it says."""
    section = README.read_text().split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    exec(compile(code.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[:3]] == ["conv1", "conv2", "fc"]
    assert out[3].startswith("total ")
    assert out[4] == "['spatial.D1.K >= 8', 'spatial.D1.K <= 4']"


def test_solve_takes_loaded_objects_and_parsed_constraints():
    """Specs may be objects; constraints may be text; the result wraps a NetworkResult meeting them."""
    accel, workload = api.load_accelerator("dimc"), api.load_workload("tiny_conv")
    (constraint,) = api.parse_constraints(["spatial.D1.K <= 4"])
    assert isinstance(constraint.parsed.body, SpatialBound)  # type: ignore[union-attr]
    result = api.solve(accel, workload, api.load_mapping_spec("default_imc"), constraints=[constraint], time_limit_s=2,
                       processes=1)
    assert isinstance(result, api.SolveResult) and isinstance(result.network, NetworkResult) and result.complete
    (layer,) = result.layers
    assert layer.solution.mapping is not None and layer.solution.mapping.spatial_factor("K", ("D1",)) <= 4


def test_bad_input_raises_spec_error_with_every_issue():
    """An unknown accelerator and a malformed constraint are reported together."""
    with pytest.raises(api.SpecError) as info:
        api.solve("dimcc", "tiny_conv", constraints=["diagonal maybe"])
    assert [i.file for i in info.value.issues] == ["--constraint 'diagonal maybe'", "dimcc"]


def test_evaluate_prices_a_written_mapping(tmp_path: Path):
    """api.evaluate prices the mappings.yaml that a solve writes (the same energies)."""
    from imcmap.specs.full_mapping import full_mapping_to_yaml

    result = api.solve("dimc", "tiny_conv", time_limit_s=2, processes=1, dataflow=False)
    mappings = {r.solution.layer.name: r.solution.mapping for r in result.layers}
    path = tmp_path / "mappings.yaml"
    path.write_text(full_mapping_to_yaml(mappings, result.accelerator, name="t"))
    evaluation = api.evaluate("dimc", "tiny_conv", path)
    assert evaluation.energy_pj == pytest.approx(result.energy_pj, rel=1e-12)
