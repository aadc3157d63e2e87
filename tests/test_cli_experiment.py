"""`solve --constraint` (exit 2 and 3 with their explanations), the solve report, and `imcmap experiment`
(comparison table, JSON shape, located errors, -o outputs)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from imcmap import cli


def _run_split(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = cli.main(
        list(argv),
        console=Console(file=out, width=100, color_system=None),
        err_console=Console(file=err, width=100, color_system=None),
    )
    return code, out.getvalue(), err.getvalue()


def _run(*argv: str) -> tuple[int, str]:
    code, out, err = _run_split(*argv)
    return code, out + err


def test_clashing_constraints_exit_3_naming_both(tmp_path: Path):
    """One constraint from the mapping spec, one from --constraint: exit 3, both quoted with their places."""
    spec = tmp_path / "m.yaml"
    spec.write_text('mapping:\n  - selector: default\n    constraints: ["spatial.D1.K >= 8"]\n')
    code, _, err = _run_split(
        "solve",
        "-a",
        "dimc",
        "-w",
        "tiny_conv",
        "-m",
        str(spec),
        "--constraint",
        "spatial.D1.K <= 4",
        "--constraint",
        "diagonal forbidden",
        "--processes",
        "1",
        "--time-limit",
        "2",
    )
    assert code == 3
    assert err.splitlines() == [
        f"layer conv: infeasible; these constraints clash: `spatial.D1.K >= 8` ({spec}:3:20), "
        "`spatial.D1.K <= 4` (--constraint)"
    ]


def test_unknown_name_in_a_constraint_is_exit_2_with_did_you_mean():
    """--constraint naming a level the accelerator lacks: exit 2, one located line, no traceback."""
    code, text = _run("solve", "-a", "dimc", "-w", "tiny_conv", "--constraint", "stationary W at cell")
    assert code == 2
    assert text.strip() == (
        "--constraint 'stationary W at cell': col 17: unknown memory level 'cell', did you mean 'cells'?; "
        "dimc has memories: cells, rf_1B, rf_2B, sram_256KB, dram"
    )


def test_solve_report_shows_dims_loop_nest_and_energy_bars():
    """--detail: each layer's dims, its loop nest with the level per operand, and energy bars within 100 columns."""
    code, text = _run("solve", "-a", "dimc", "-w", "tiny_net", "--detail", "--processes", "1", "--time-limit", "2",
                      "--constraint", "Conv: forbid spatial.D2.FX")
    assert code == 0, text
    lines = text.splitlines()
    assert max(len(line) for line in lines if "█" in line) <= 100
    assert "Conv K8 C4 OY8 OX8 FY3 FX3" in text  # conv1's dims under its name
    assert "constraint `Conv: forbid spatial.D2.FX` (--constraint): 2 of 3 layers" in text
    assert "loop (outermost first)" in text and "parfor" in text
    assert any(line.split()[:1] == ["dram/W"] and "█" in line for line in lines)
    assert "energy by component and level (level/operand), network:" in text


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
  - name: adc6
    hardware: {array.adc_bits: 6}
"""


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "tiny.yaml"
    path.write_text(EXPERIMENT)
    return path


def test_experiment_prints_the_comparison(experiment_file: Path):
    """Every run with its changes and % differences; per-layer changes; how the mappings changed."""
    code, text = _run("experiment", str(experiment_file), "--processes", "1")
    assert code == 0, text
    table = text.split("change per layer")[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.split()}
    assert rows["baseline"][1] == "-"
    assert rows["narrow"][1:5] == ["+", "spatial.D1.K", "<=", "4"]
    assert rows["narrow"][6].startswith("+") and rows["narrow"][-3:] == ["1", "of", "1"]
    assert rows["adc6"][1:3] == ["array.adc_bits:", "6"] and rows["adc6"][4].startswith("-")
    assert "narrow: how the mappings changed" in text
    narrow = text.split("narrow: how the mappings changed")[1].split("\n\n")[0]
    after = narrow.split("->")[1]
    assert after.split()[0] == "D1" and after.split()[1].startswith("K4")  # the constraint narrowed K to 4


def test_experiment_json_shape(experiment_file: Path):
    """--json: the baseline and each variant as solve documents, with the comparison in percent."""
    code, out, _ = _run_split("experiment", str(experiment_file), "--json", "--processes", "1")
    assert code == 0
    doc = json.loads(out)
    assert {"experiment", "file", "objective", "baseline", "variants"} <= set(doc)
    assert doc["baseline"]["result"]["layers"][0]["name"] == "conv"
    narrow, adc6 = doc["variants"]
    assert narrow["name"] == "narrow" and narrow["constraints"][0]["text"] == "spatial.D1.K <= 4"
    assert adc6["hardware"] == {"array.adc_bits": 6}
    cmp = narrow["comparison"]
    assert {"energy_change_pct", "latency_change_pct", "changed_layers", "layers"} <= set(cmp)
    (layer,) = cmp["layers"]
    assert layer["name"] == "conv" and layer["mapping_changed"] and layer["changes"]
    base_e = doc["baseline"]["result"]["total"]["energy_pj"]
    assert cmp["energy_change_pct"] == pytest.approx(100 * (narrow["result"]["total"]["energy_pj"] - base_e) / base_e)


def test_experiment_errors_are_located(tmp_path: Path):
    """Unknown override paths get a did-you-mean at the key; bad override values are reported in the
    experiment file; constraints are checked against each variant's accelerator."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "baseline: {accelerator: aimc, workload: tiny_conv}\n"
        "variants:\n"
        "  - name: a\n"
        "    hardware: {array.adc_bit: 6}\n"
        "  - name: b\n"
        "    hardware: {array.adc_bits: -1}\n"
        "  - name: c\n"
        "    constraints: ['spatial.D3.K >= 2']\n"
    )
    code, text = _run("experiment", str(path))
    assert code == 2
    assert text.splitlines() == [
        f"{path}:4:16: variants[0].hardware.array.adc_bit: the accelerator has no 'adc_bit' under 'array', did you "
        "mean 'adc_bits'?; keys there: type, imc_type, dims, input_bits, weight_bits, input_bits_per_cycle, adc_bits, "
        "dac_bits, node_nm, vdd_v, input_toggle_rate, weight_sparsity, cells_per_group, cell_area_um2",
        f"{path}:6:32: variants[1].hardware.array.adc_bits: must be >= 1 (got -1)",
        f"{path}:8:28: variants[2].constraints[0]: unknown array dim 'D3'; aimc has array dims: D1, D2",
    ]


def test_experiment_output_folder(experiment_file: Path, tmp_path: Path):
    """-o writes experiment.json, report.txt and the PNG plots (matplotlib comes with the test extra)."""
    code, _ = _run("experiment", str(experiment_file), "--processes", "1", "-o", str(tmp_path))
    assert code == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"experiment.json", "report.txt"} <= names
    report = (tmp_path / "report.txt").read_text()
    assert "run narrow" in report and "loop (outermost first)" in report
    assert {"comparison.png", "energy_per_layer.png"} <= names
    assert (tmp_path / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bundled_experiment_loads():
    """resnet18_what_if loads: three variants on aimc, the macro variant with a third array dim."""
    from imcmap import api

    spec = api.load_experiment("resnet18_what_if")
    assert [v.name for v in spec.variants] == ["rows_c_only", "macros_x2", "adc6"]
    macros = spec.variants[1].accelerator
    assert [d.name for d in macros.array_dims] == ["D1", "D2", "D3"]
    assert macros.memory("sram_256KB").served_dims == ("D1", "D2", "D3")
    assert spec.variants[2].accelerator.array.adc_bits == 6  # type: ignore[union-attr]
