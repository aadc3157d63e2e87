"""imcmap solve: the JSON contract, the written outputs, repeatability and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from imcmap.models.evaluator import evaluate
from imcmap.specs import load_accelerator, load_workload, resolve
from imcmap.specs.full_mapping import load_full_mapping

LAYER_KEYS = {
    "name",
    "op",
    "dims",
    "energy_pj",
    "latency_cycles",
    "utilization",
    "status",
    "gap",
    "mapping",
    "energy_breakdown_pj",
}


def _solve(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imcmap.cli", "solve", *argv], capture_output=True, text=True, cwd=cwd)


def test_json_document_has_the_contract_keys():
    """`solve --json` prints one JSON document with the documented keys, and nothing else on stdout."""
    proc = _solve("-a", "dimc", "-w", "tiny_net", "--json", "--processes", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {
        "imcmap_version",
        "accelerator",
        "workload",
        "objective",
        "solver",
        "layers",
        "total",
        "unmodelled_ops",
        "wall_time_s",
    } <= set(doc)
    assert doc["solver"]["seed"] == 0 and doc["solver"]["num_workers"] == 1
    assert {"energy_pj", "latency_cycles", "area_mm2"} <= set(doc["total"])
    for layer in doc["layers"]:
        assert set(layer) >= LAYER_KEYS
        assert layer["status"] in ("OPTIMAL", "FEASIBLE")
        assert 0 <= layer["gap"] <= 1
        assert abs(sum(layer["energy_breakdown_pj"].values()) - layer["energy_pj"]) <= 1e-6 * layer["energy_pj"]
    assert (
        abs(sum(l["energy_pj"] for l in doc["layers"]) - doc["total"]["energy_pj"]) <= 1e-6 * doc["total"]["energy_pj"]
    )


def test_same_inputs_same_json(tmp_path: Path):
    """Two runs give the same mappings and numbers (only wall times differ)."""
    docs = []
    for _ in range(2):
        proc = _solve("-a", "aimc", "-w", "tiny_net", "--json", "--seed", "7")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        for layer in doc["layers"]:
            layer.pop("wall_time_s")
        doc.pop("wall_time_s")
        docs.append(doc)
    assert docs[0] == docs[1]


def test_output_folder_mappings_reprice_to_the_same_energy(tmp_path: Path):
    """-o writes result.json, report.txt and mappings.yaml; `evaluate` semantics on mappings.yaml give the
    energies of result.json for every layer solved on the plain hierarchy."""
    proc = _solve("-a", "dimc", "-w", "tiny_net", "--no-dataflow", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {"result.json", "report.txt", "mappings.yaml"}
    doc = json.loads((tmp_path / "result.json").read_text())
    accel = load_accelerator(resolve("accelerator", "dimc"))
    workload = load_workload(resolve("workload", "tiny_net"))
    mappings = load_full_mapping(tmp_path / "mappings.yaml", accel, workload)
    by_name = {layer.name: layer for layer in workload.layers}
    for layer in doc["layers"]:
        report = evaluate(by_name[layer["name"]], accel, mappings[layer["name"]])
        assert abs(report.energy_pj - layer["energy_pj"]) <= 1e-9 * layer["energy_pj"]
    assert "loop (outermost first)" in (tmp_path / "report.txt").read_text()
    assert yaml.safe_load((tmp_path / "mappings.yaml").read_text())["layers"]


def test_bad_time_limit_is_exit_2_without_traceback():
    """A non-positive --time-limit is an input error: exit 2, one line, no traceback."""
    proc = _solve("-a", "dimc", "-w", "tiny_net", "--time-limit", "0")
    assert proc.returncode == 2
    assert "--time-limit must be a positive number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_layer_that_cannot_map_is_exit_3(tmp_path: Path):
    """A layer whose weights are wider than the macro's has no legal mapping: exit 3, named on stderr."""
    workload = {
        "name": "wide",
        "layers": [
            {"name": "w16", "op": "Conv", "dims": {"K": 4, "C": 4, "OX": 4, "OY": 4}, "precision": {"w_bits": 16}}
        ],
    }
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(workload))
    proc = _solve("-a", "dimc", "-w", str(path))
    assert proc.returncode == 3
    assert "w16" in proc.stderr and "exceed" in proc.stderr


def test_diagonal_flag_opens_the_diagonal_space():
    """Without --diagonal no layer unrolls OX/OY over the IMC columns; with it, tiny_conv on aimc does."""
    def d1_dims(*extra: str) -> set[str]:
        proc = _solve("-a", "aimc", "-w", "tiny_conv", "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        layer = json.loads(proc.stdout)["layers"][0]
        return set(layer["mapping"]["spatial"].get("D1", {}))

    assert not d1_dims() & {"OX", "OY"}
    assert d1_dims("--diagonal") & {"OX", "OY"}


def test_zigzag_hardware_file_says_whose_assumptions_apply():
    """A ZigZag 3.x hardware file is read with ZigZag's assumptions, and the command says so on stderr."""
    zigzag_dimc = Path(__file__).resolve().parent / "data" / "zigzag" / "dimc.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "imcmap.cli", "show", "-a", str(zigzag_dimc)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "read as a ZigZag 3.x file, with ZigZag's assumptions (28 nm, 0.9 V" in proc.stderr


def test_zigzag_files_are_priced_by_zigzag_rules_and_say_what_is_certified():
    """On ZigZag's files the JSON names the cost rules; latency answers carry no gap (null, '-' in the
    report, with the reason) unless ``--latency-bound`` asks for one (the same mappings, gaps certified by
    a second model), energy answers keep a certified one."""
    zz = Path(__file__).resolve().parent / "data" / "zigzag"
    files = ("-a", str(zz / "dimc.yaml"), "-m", str(zz / "default_imc.yaml"), "-w", "tiny_net", "--processes", "1")
    latency = json.loads(_solve(*files, "--objective", "latency", "--json").stdout)
    assert latency["cost_rules"] == "zigzag-3.9.1"
    assert {layer["gap"] for layer in latency["layers"]} == {None}
    assert latency["solver"]["bound_source"].startswith("none: the hardware comes from a ZigZag file")
    energy = json.loads(_solve(*files, "--json").stdout)
    assert all(layer["gap"] is not None and 0 <= layer["gap"] < 1 for layer in energy["layers"])
    report = _solve(*files, "--objective", "latency")
    assert report.returncode == 0, report.stderr
    assert (
        "-: none certified" in report.stdout and "bound: none: the hardware comes from a ZigZag file" in report.stdout
    )
    assert "ZigZag 3.9.1's memory-traffic and latency rules" in report.stderr
    bounded = json.loads(_solve(*files, "--objective", "latency", "--latency-bound", "--json").stdout)
    assert [layer["latency_cycles"] for layer in bounded["layers"]] == [layer["latency_cycles"]
                                                                          for layer in latency["layers"]]
    assert all(layer["gap"] is not None and 0 <= layer["gap"] < 1 for layer in bounded["layers"])
    assert bounded["solver"]["zigzag_latency_bound"] is True and latency["solver"]["zigzag_latency_bound"] is False
    assert bounded["solver"]["bound_source"].startswith("CP-SAT's proven bound on a second model")


def test_zigzag_files_give_the_same_answer_twice():
    """The polish and CP-SAT's stop on ZigZag hardware are deterministic: same inputs, same mappings and numbers."""
    zz = Path(__file__).resolve().parent / "data" / "zigzag"
    files = (
        "-a",
        str(zz / "aimc.yaml"),
        "-m",
        str(zz / "default_imc.yaml"),
        "-w",
        "tiny_net",
        "--objective",
        "latency",
        "--json",
        "--processes",
        "2",
    )
    first, second = (json.loads(_solve(*files).stdout) for _ in range(2))
    assert [layer["mapping"] for layer in first["layers"]] == [layer["mapping"] for layer in second["layers"]]
    assert first["total"] == second["total"]
    assert (
        first["solver"]["polish_starts"] == 3
        and first["solver"]["polish_start_window"]["energy"] == 0.05
        and first["solver"]["surrogate_relative_gap"] == 0.01
    )
    # the per-kind surrogate stops and the tangent spacing on ZigZag files are part of the recorded parameters
    assert first["solver"]["surrogate_latency"]["imc"] == {
        "max_deterministic_time": 0.8,
        "relative_gap": 0.01,
        "cp_model_probing_level": 0,
    }
    assert first["solver"]["surrogate_tangent_step"] == "ln(2)" and first["solver"]["cut_level"] == 0
