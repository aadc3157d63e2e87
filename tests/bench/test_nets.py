"""bench/nets.py and bench/bench_general.py: the general benchmark set is deterministic, imports in
imcmap with the layer counts it declares, keeps its fixed tune / held-out split, and stays inside what
ZigZag 3.9.1 reads (no ZigZag needed); the bench's per-case statistics."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from imcmap.specs import load_workload

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


NETS = _load("nets")
BENCH = _load("bench_general")
GENERATED = [net.name for net in NETS.GENERATED]


def test_the_split_is_the_one_fixed_before_tuning() -> None:
    """Moving a network between the parts after tuning would void the held-out report: the split is pinned."""
    parts = {part: sorted(net.name for net in NETS.select(part)) for part in NETS.PARTS}
    assert parts == {
        "tune": sorted(["cnn48", "prime97", "dwsep75", "res113",
                        "resnet50", "vgg19", "inception_v1", "squeezenet", "shufflenet", "zfnet512"]),
        "heldout": sorted(["cnn45", "prime85", "invres59", "incept71", "densenet121", "inception_v2"]),
    }
    assert len(NETS.select("all")) == 16


def test_generated_networks_are_deterministic(tmp_path: Path) -> None:
    """Two builds give the same bytes, and building into a folder writes exactly them."""
    for name in GENERATED:
        data = NETS.model_bytes(name)
        assert data == NETS.model_bytes(name), name
        assert NETS.build(name, tmp_path).read_bytes() == data, name


@pytest.mark.parametrize("name", GENERATED)
def test_generated_network_imports_with_its_layer_count(tmp_path: Path, name: str) -> None:
    """imcmap imports every Conv/Gemm of the network, all of them legal loop nests (unique names, sizes >= 1)."""
    workload = load_workload(NETS.build(name, tmp_path))
    assert len(workload.layers) == NETS.NETWORKS[name].compute_layers
    assert len({layer.name for layer in workload.layers}) == len(workload.layers)
    assert all(size >= 1 for layer in workload.layers for size in layer.dims.values())


def test_generated_layer_counts_are_the_hand_counted_ones() -> None:
    """The declared counts, counted by hand from each builder's layer list."""
    assert {net.name: net.compute_layers for net in NETS.GENERATED} == {
        "cnn48": 8, "cnn45": 8, "prime97": 10, "prime85": 9, "dwsep75": 12, "invres59": 14, "res113": 10,
        "incept71": 12,
    }


def _features(workloads: list) -> set[str]:  # type: ignore[type-arg]
    found = set()
    for workload in workloads:
        for layer in workload.layers:
            d = layer.dims
            found |= {f"{d['FX']}x{d['FX']}"} if d["FX"] in (5, 7) else set()
            if d["G"] > 1 and d["C"] == 1:
                found.add("depthwise")
            if any(d[c] % 3 == 0 and d[c] % 5 == 0 for c in ("K", "C")):
                found.add("channels 3*5")
            if d["OX"] > 5 and all(d["OX"] % p for p in range(2, d["OX"])):
                found.add("prime map")
    return found


def test_each_part_covers_every_awkward_shape(tmp_path: Path) -> None:
    """Tuning on one part cannot skip a kind of shape the other holds: both have 5x5, 7x7, depthwise,
    channel counts with factors 3 and 5, and prime feature maps."""
    wanted = {"5x5", "7x7", "depthwise", "channels 3*5", "prime map"}
    for part in NETS.PARTS:
        workloads = [load_workload(NETS.build(net.name, tmp_path))
                     for net in NETS.select(part) if net.kind == "generated"]
        assert _features(workloads) >= wanted, part


def test_generated_networks_stay_inside_what_zigzag_reads(tmp_path: Path) -> None:
    """ZigZag 3.9.1: at most two sources per non-compute node, square kernels, equal strides, symmetric pads,
    shapes stored in value_info, short node names, and no layer that fits its 128 x 128 array whole."""
    import onnx

    for name in GENERATED:
        model = onnx.load_from_string(NETS.model_bytes(name))
        shapes = {v.name for v in model.graph.value_info}
        for node in model.graph.node:
            assert len(node.name) <= 12, (name, node.name)
            if node.op_type in ("Concat", "Add"):
                assert len(node.input) == 2, (name, node.name)
            if node.op_type == "Conv":
                attrs = {a.name: list(a.ints) for a in node.attribute if a.ints}
                assert len(set(attrs["kernel_shape"])) == 1 and len(set(attrs["strides"])) == 1
                assert len(set(attrs["pads"])) == 1, (name, node.name)
            if node.op_type in ("Conv", "Gemm"):
                assert node.input[0] in shapes or node.input[0] == "input", (name, node.name)
        for layer in load_workload(NETS.build(name, tmp_path)).layers:
            d = layer.dims
            fits = d["K"] * d["OX"] * d["OY"] <= 128 and d["C"] * d["FX"] * d["FY"] <= 128 and d["G"] == 1
            assert not fits, (name, layer.name)


def test_light_models_import_with_their_layer_counts() -> None:
    """The light models of the set are in the installed onnx package and import with the counts declared."""
    try:
        folder = NETS.light_folder()
    except FileNotFoundError:
        pytest.skip("no onnx package")
    if not folder.is_dir():
        pytest.skip(f"this onnx package has no {folder}")
    for net in NETS.LIGHT:
        assert len(load_workload(NETS.light_model(net.name)).layers) == net.compute_layers, net.name


def test_unknown_names_and_parts_are_refused() -> None:
    """A misspelt network is an error naming the set, not an empty selection."""
    with pytest.raises(ValueError, match="unknown network"):
        NETS.select("all", ["resnet51"])
    with pytest.raises(ValueError, match="part"):
        NETS.select("test")


def _layer(name: str, solved_as: str, seconds: float, gap: float | None) -> dict:  # type: ignore[type-arg]
    return {"layer": name, "solved_as": solved_as, "solve_wall_s": seconds, "gap": gap, "mapping": {"x": 1}}


def test_statistics_count_distinct_layers_only() -> None:
    """Layer b is solved as a: its time and gap are not counted again; a gapless layer (latency on ZigZag's
    rules) is left out of the gaps. Times 1, 2, 3, 10: median 2.5, p90 by nearest rank 10, max 10."""
    run = {"status": "ok", "wall_time_s": 20.0, "solve_s": 18.0, "energy_pj": 5.0, "latency_cycles": 7.0,
           "complete": True,
           "layers": [_layer("a", "a", 1.0, 0.01), _layer("b", "a", 1.0, 0.01), _layer("c", "c", 2.0, 0.03),
                      _layer("d", "d", 3.0, None), _layer("e", "e", 10.0, 0.02)]}
    stats = BENCH.run_stats(run, "energy")
    assert (stats["layers"], stats["distinct_layers"], stats["gapless_layers"]) == (5, 4, 1)
    assert (stats["layer_solve_median_s"], stats["layer_solve_p90_s"], stats["layer_solve_max_s"]) == (2.5, 10.0, 10.0)
    assert (stats["gap_median"], stats["gap_worst"], stats["slowest_layer"]) == (0.02, 0.03, "e")
    assert stats["objective_value"] == 5.0


def test_summary_takes_medians_over_repeats_and_the_ratio_against_zigzag() -> None:
    """Three runs of 10, 30 and 20 s: the row shows 20 s; ZigZag's 400 s run makes the ratio 20x, and its
    energy of 10 pJ against imcmap's 5 pJ an objective ratio of 0.5."""
    case = BENCH.Case(NETS.NETWORKS["cnn48"], "dimc", "energy")
    runs = [{"status": "ok", "wall_time_s": w, "solve_s": w, "energy_pj": 5.0, "latency_cycles": 1.0, "complete": True,
             "layers": [_layer("a", "a", 1.0, 0.0)]} for w in (10.0, 30.0, 20.0)]
    peer = {"run": {"status": "ok", "wall_time_s": 400.0, "energy_pj": 10.0, "latency_cycles": 3.0}}
    row = BENCH.summarize(case, {"runs": runs, "derived": []}, peer)
    assert row["wall_time_s"] == 20.0 and row["runs_ok"] == 3 and row["wall_time_spread_s"] == (10.0, 30.0)
    assert "10.0-30.0" in BENCH.row_line(row)
    assert row["speed_ratio"] == 20.0 and row["objective_vs_zigzag"] == 0.5
    assert case.id == "cnn48-zz_dimc-energy" and row["part"] == "tune"


def test_the_cpu_ratio_compares_cpu_seconds_and_is_left_out_without_them() -> None:
    """imcmap's runs took 12, 8 and 10 CPU seconds (median 10), ZigZag's 300: a CPU-time ratio of 30x beside
    the wall ratio of 400 / 20 = 20x; a peer run stored before CPU seconds were recorded gives no CPU ratio."""
    case = BENCH.Case(NETS.NETWORKS["cnn48"], "dimc", "energy")
    runs = [{"status": "ok", "wall_time_s": w, "cpu_time_s": c, "solve_s": w, "energy_pj": 5.0, "latency_cycles": 1.0,
             "complete": True, "layers": [_layer("a", "a", 1.0, 0.0)]}
            for w, c in ((10.0, 12.0), (30.0, 8.0), (20.0, 10.0))]
    peer = {"run": {"status": "ok", "wall_time_s": 400.0, "cpu_time_s": 300.0, "energy_pj": 10.0,
                    "latency_cycles": 3.0}}
    row = BENCH.summarize(case, {"runs": runs, "derived": []}, peer)
    assert (row["cpu_time_s"], row["cpu_ratio"], row["speed_ratio"]) == (10.0, 30.0, 20.0)
    assert "30.0x" in BENCH.row_line(row)
    del peer["run"]["cpu_time_s"]
    assert "cpu_ratio" not in BENCH.summarize(case, {"runs": runs, "derived": []}, peer)


def test_light_models_run_on_bundled_hardware_generated_on_zigzags() -> None:
    """Light models x dimc/aimc/digital (bundled); generated networks x ZigZag's dimc/aimc only."""
    cases = BENCH.cases_for("all", ["cnn48", "vgg19"], ["dimc", "aimc", "digital"], ["energy"])
    assert [(c.net.name, c.hardware, c.on_zigzag_files) for c in cases] == [
        ("cnn48", "dimc", True), ("cnn48", "aimc", True),
        ("vgg19", "dimc", False), ("vgg19", "aimc", False), ("vgg19", "digital", False)]


def test_a_stored_zigzag_run_is_reused_only_when_everything_matches(tmp_path: Path) -> None:
    """Same inputs and settings and status ok: reused; another objective, lpf limit or a failed run: not."""
    import json

    key = {"workload_sha256": "a", "hardware_sha256": "b", "mapping_sha256": "c", "objective": "energy",
           "lpf_limit": 6, "zigzag": "3.9.1"}
    path = tmp_path / "run.zigzag.json"
    assert BENCH.stored_peer(path, key) is None
    path.write_text(json.dumps({"key": key, "run": {"status": "ok"}}))
    assert BENCH.stored_peer(path, key) is not None
    assert BENCH.stored_peer(path, {**key, "objective": "latency"}) is None
    assert BENCH.stored_peer(path, {**key, "lpf_limit": 2}) is None
    path.write_text(json.dumps({"key": key, "run": {"status": "timeout"}}))
    assert BENCH.stored_peer(path, key) is None
