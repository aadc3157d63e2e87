"""`imcmap sweep` and `api.sweep` for real, on a four-run sweep of one small convolution: what is stored,
what a rerun reuses, the JSON contract, the files, bad input, and Ctrl-C followed by a resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from imcmap import api, cli
from imcmap.specs.library import resolve

SPEC = """\
name: small
accelerators: [dimc, aimc]
workloads: [tiny_conv]
objectives: [energy]
time_limit: 2
parameters:
  array.dims.D2: [16, 32]
filters:
  - area_mm2 <= 100
"""

RUN_KEYS = ("point", "accelerator", "workload", "objective", "status", "energy_pj", "latency_cycles", "latency_s",
            "area_mm2", "tops_per_w", "tops_per_mm2", "peak_tops_per_w", "median_gap", "worst_gap", "on_front")


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return path


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = cli.main(list(argv), console=Console(file=out, width=100, color_system=None),
                    err_console=Console(file=err, width=100, color_system=None))
    return code, out.getvalue(), err.getvalue()


def _stored(folder: Path, table: str = "runs") -> list[tuple[object, ...]]:
    """Every stored run's figures (or, with ``table="run_layers"``, its layers'), timing left out, in
    key order."""
    with sqlite3.connect(folder / "sweep.sqlite") as db:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        keep = [c for c in columns if "time" not in c]
        return sorted(db.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall(), key=repr)


def test_a_sweep_stores_every_run_and_a_rerun_solves_nothing(tmp_path: Path) -> None:
    spec, folder = _spec(tmp_path), tmp_path / "out"
    first = api.sweep(spec, folder, workers=1)
    assert first.outcome.planned == 4 and first.outcome.solved == 4 and first.complete
    assert {(r.record.accelerator, dict(r.record.point)["array.dims.D2"]) for r in first.runs} == {
        ("dimc", 16), ("dimc", 32), ("aimc", 16), ("aimc", 32)}
    assert all(r.record.status == "done" and r.record.worst_gap is not None for r in first.runs)
    again = api.sweep(spec, folder, workers=1)
    assert again.outcome.solved == 0 and again.outcome.reused == 4
    assert [r.record for r in again.runs] == [r.record for r in first.runs]
    fresh = api.sweep(spec, folder, workers=1, fresh=True)
    assert fresh.outcome.solved == 4


def test_one_and_two_workers_store_identical_results(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    api.sweep(spec, tmp_path / "one", workers=1)
    api.sweep(spec, tmp_path / "two", workers=2)
    assert _stored(tmp_path / "one") == _stored(tmp_path / "two")


COPY = """\
name: conv_copy
layers:
  - name: first
    op: Conv
    dims: {K: 8, C: 4, OY: 4, OX: 4, FY: 3, FX: 3}
    padding: [1, 1, 1, 1]
"""


def test_a_layer_solved_by_one_sweep_is_not_solved_again_by_the_next_in_the_folder(tmp_path: Path) -> None:
    """conv_copy's one layer is tiny_conv's under another name: a sweep of it into tiny_conv's folder takes
    all four from the layer cache and stores, bit for bit, what a sweep of it into an empty folder does."""
    (tmp_path / "copy.yaml").write_text(COPY)
    copy = tmp_path / "copy_sweep.yaml"
    copy.write_text(SPEC.replace("tiny_conv", "copy.yaml"))
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    first = api.sweep(_spec(tmp_path), shared, workers=1)
    assert first.outcome.layers_reused == 0
    again = api.sweep(copy, shared, workers=1)
    assert again.outcome.solved == 4 and again.outcome.layers_reused == 4
    assert api.sweep(copy, alone, workers=1).outcome.layers_reused == 0
    copies = {r.planned.request.key for r in again.runs}
    for table in ("runs", "run_layers"):
        assert [row for row in _stored(shared, table) if row[0] in copies] == _stored(alone, table)
    code, out, _ = _run("sweep", str(copy), "-o", str(tmp_path / "third"), "--workers", "1", "--json")
    assert code == 0 and json.loads(out)["layer_solves_saved"] == {"layer_cache": 0, "pruning": 0}


# ViT-B/16's block with 256 KiB of sram: the key projection's output is held for the scores, the hold does
# not pay and is dropped, and the value projection's is held instead, a plan known only after the solves
ATTENTION = """\
name: attention
accelerators: [dimc]
workloads: [WORKLOAD]
objectives: [energy]
time_limit: 2
parameters:
  memories.sram_256KB.capacity_bits: [2097152]
"""


def _cached_layers(folder: Path) -> int:
    with sqlite3.connect(folder / "sweep.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM layer_cache").fetchone()[0])


def test_an_attention_block_solved_by_one_sweep_is_not_solved_again_by_the_next_in_the_folder(
        tmp_path: Path) -> None:
    """A copy of the block under another name, swept into the same folder, takes each of its 13 layer
    jobs from the cache, the 2 run only for the hold planned after the drop too, solves none and stores
    the same figures."""
    shutil.copy(resolve("workload", "vit_b16_block"), tmp_path / "vit_copy.onnx")
    shared = tmp_path / "shared"
    first = api.sweep(_spec(tmp_path, ATTENTION.replace("WORKLOAD", "vit_b16_block")), shared, workers=1)
    assert first.outcome.solved == 1 and first.outcome.layers_reused == 0 and _cached_layers(shared) == 13
    again = api.sweep(_spec(tmp_path, ATTENTION.replace("WORKLOAD", "vit_copy.onnx")), shared, workers=1)
    assert again.outcome.solved == 1 and again.outcome.layers_reused == 13 and _cached_layers(shared) == 13
    figures = ("status", "energy_pj", "latency_cycles", "median_gap", "worst_gap", "energy_by_level_json")
    assert [getattr(again.runs[0].record, f) for f in figures] == [getattr(first.runs[0].record, f) for f in figures]


THREE = """\
name: three
layers:
  - {name: big, op: Conv, dims: {K: 16, C: 16, OY: 8, OX: 8, FY: 3, FX: 3}, padding: [1, 1, 1, 1]}
  - {name: mid, op: Conv, dims: {K: 8, C: 4, OY: 4, OX: 4, FY: 3, FX: 3}, padding: [1, 1, 1, 1]}
  - {name: small, op: Gemm, dims: {B: 1, K: 8, C: 8}}
"""
# the second point reads DRAM through an 8-bit port at 10x the energy per access: its largest layer alone
# costs more energy and time than the whole network on the first point, at the same area
PRUNED = """\
name: prune
accelerators: [dimc]
workloads: [three.yaml]
objectives: [energy]
time_limit: 2
parameters:
  memories.dram.read_bw_bits: [64, 8]
  memories.dram.read_energy_pj: [700, 7000]
zip: [[memories.dram.read_bw_bits, memories.dram.read_energy_pj]]
"""


def test_prune_gives_up_a_dominated_point_and_keeps_the_fronts_of_a_full_sweep(tmp_path: Path) -> None:
    (tmp_path / "three.yaml").write_text(THREE)
    spec = _spec(tmp_path, PRUNED)
    full = api.sweep(spec, tmp_path / "full", workers=1)
    code, out, _ = _run("sweep", str(spec), "-o", str(tmp_path / "pruned"), "--workers", "1", "--prune", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["pruned"] == 1 and doc["layer_solves_saved"] == {"layer_cache": 0, "pruning": 2}
    slow = doc["runs"][1]
    assert slow["status"] == "pruned" and slow["energy_pj"] is None and not slow["on_front"]
    assert slow["error"].startswith("pruned after 1 of 3 layers") and "read_bw_bits=64" in slow["error"]
    assert doc["fronts"] == {"three": [0]} and [r.on_front for r in full.runs] == [True, False]
    assert doc["runs"][0]["energy_pj"] == full.runs[0].record.energy_pj
    # a rerun with --prune keeps the pruned run; one without solves it, its largest layer from the cache
    assert api.sweep(spec, tmp_path / "pruned", workers=1, prune=True).outcome.solved == 0
    rerun = api.sweep(spec, tmp_path / "pruned", workers=1)
    assert rerun.outcome.solved == 1 and rerun.outcome.layers_reused == 1 and rerun.outcome.pruned == 0
    assert _stored(tmp_path / "pruned") == _stored(tmp_path / "full")


def test_json_contract_files_and_fronts(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    code, out, _ = _run("sweep", str(_spec(tmp_path)), "-o", str(folder), "--workers", "1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["runs"]) == 4
    for run in doc["runs"]:
        assert set(RUN_KEYS) <= set(run)
        # 2 ops per MAC: tiny_conv has 4,608 MACs, so TOPS/W = 9,216 ops / energy in pJ
        assert run["tops_per_w"] == pytest.approx(9216 / run["energy_pj"])
        assert run["latency_s"] > 0 and run["peak_tops_per_w"] > 0
        # the system peak spreads the macro's peak over the whole accelerator's area (memories too)
        assert 0 < run["peak_system_tops_per_mm2"] <= run["peak_tops_per_mm2"]
    front = doc["fronts"]["tiny_conv"]
    assert front and all(doc["runs"][i]["on_front"] for i in front)
    assert {p.name for p in folder.iterdir()} >= {"sweep.sqlite", "sweep.json", "runs.csv", "report.txt", "sweep.html"}
    assert len((folder / "runs.csv").read_text().splitlines()) == 5


def test_the_report_marks_the_front(tmp_path: Path) -> None:
    code, out, _ = _run("sweep", str(_spec(tmp_path)), "-o", str(tmp_path / "out"), "--workers", "1")
    assert code == 0
    assert "workload tiny_conv" in out and "★" in out and "4 solved, 0 reused" in out


def test_a_filter_on_point_metrics_skips_points_before_any_solve(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("area_mm2 <= 100", "peak_tops_per_w >= 8"))
    result = api.sweep(spec, tmp_path / "out", workers=1)
    skipped = {(s.base, s.point.values["array.dims.D2"]) for s in result.outcome.skipped}
    # dimc's digital macro peaks near 7.2 TOP/s/W at either size (shared/data/iccad23_peak.yaml: 7.19-7.39)
    assert ("dimc", 16) in skipped and ("dimc", 32) in skipped
    assert all(s.filtered and "peak_tops_per_w >= 8" in s.reason for s in result.outcome.skipped)
    assert result.outcome.solved == len(result.runs) == 4 - len(skipped)


def test_a_typo_in_a_parameter_path_is_exit_2_and_nothing_is_written(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("array.dims.D2", "array.dim.D2"))
    folder = tmp_path / "out"
    code, out, err = _run("sweep", str(spec), "-o", str(folder))
    assert code == 2 and out == ""
    assert f"{spec}:7:3:" in err and "did you mean" in err
    assert not folder.exists()


def test_an_unreachable_scheduler_is_one_error_within_10_s(tmp_path: Path) -> None:
    start = time.perf_counter()
    code, _, err = _run("sweep", str(_spec(tmp_path)), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and time.perf_counter() - start < 12
    assert err.count("\n") == 1 and "no Dask scheduler answered at tcp://127.0.0.1:9" in err


def test_ctrl_c_keeps_finished_runs_and_a_resume_solves_only_the_rest(tmp_path: Path) -> None:
    """SIGINT once the store holds a run: exit 130 within 2 s, every stored run whole; the rerun solves
    exactly the runs that were missing, so none is solved twice and none is lost."""
    spec = _spec(tmp_path, SPEC.replace("[16, 32]", "[8, 16, 32, 64]"))  # 8 runs
    folder = tmp_path / "out"
    command = [sys.executable, "-c", "import sys; from imcmap.cli import main; sys.exit(main())",
               "sweep", str(spec), "-o", str(folder), "--workers", "1"]
    # as a terminal's Ctrl-C finds it: SIGINT handled (a runner started in the background may ignore it,
    # and an ignored signal stays ignored in its children)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and stored == 0 and child.poll() is None:
        time.sleep(0.2)
        if (folder / "sweep.sqlite").exists():
            try:
                with sqlite3.connect(folder / "sweep.sqlite", timeout=1) as db:
                    stored = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
    assert stored >= 1 and child.poll() is None, "the sweep finished before it could be interrupted"
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert child.returncode == 130, err
    assert waited < 2.0 + 1.0, err  # the 2 s target, with a second's slack for the test's own polling
    assert "Traceback" not in err
    with sqlite3.connect(folder / "sweep.sqlite") as db:
        kept = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        layers = db.execute("SELECT COUNT(*) FROM run_layers").fetchone()[0]
    assert 1 <= kept < 8 and layers == kept  # one layer per tiny_conv run: every run stored whole
    resumed = api.sweep(spec, folder, workers=1)
    assert resumed.outcome.reused == kept and resumed.outcome.solved == 8 - kept and resumed.complete


def test_the_page_draws_every_run_in_a_real_browser(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    api_result = api.sweep(_spec(tmp_path), folder, workers=1)
    from imcmap.report.files import sweep_files, write_files

    write_files(folder, sweep_files(api_result, Console(file=StringIO())))
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (folder / "sweep.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert 'data-drawn="4"' in dom  # the script ran and drew one circle per run
    assert dom.count('class="run"') == 4


def test_a_cluster_started_by_hand_gives_the_stored_results_of_a_local_one(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    api.sweep(spec, tmp_path / "local", workers=1)
    port = 8786 + os.getpid() % 1000
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        worker = subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                   "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = api.sweep(spec, tmp_path / "remote", scheduler=address)
        assert result.outcome.execution is not None and result.outcome.execution.scheduler == address
        assert result.complete
        assert _stored(tmp_path / "remote") == _stored(tmp_path / "local")
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
