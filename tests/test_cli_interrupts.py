"""Ctrl-C, the total time limit and dying workers, for real: ``imcmap`` in a subprocess, signals sent
from here. Each test asserts the exit code, every layer's status, that the layers finished or in flight
are in ``result.json`` with their mappings, and that every file written is whole and parseable.

The workloads are written here: two Gemm layers that CP-SAT proves optimal in well under a second, and
three convolutions whose latency proofs on the bundled digital array take far longer than any test
waits (``--time-limit 30``), so a signal always finds them in their search, a feasible mapping in hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from imcmap import api

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc")

CLI = [sys.executable, "-c", "import sys; from imcmap.cli import main; sys.exit(main())"]
SLACK_S = 1.0  # on top of the 2 s targets: this test's own polling, on a shared machine

LAYERS = {
    "fc_a": "{op: Gemm, dims: {B: 1, K: 10, C: 256}}",
    "fc_b": "{op: Gemm, dims: {B: 1, K: 16, C: 128}}",
    "conv_a": "{op: Conv, dims: {K: 64, C: 64, OY: 56, OX: 56, FY: 3, FX: 3}, padding: [1, 1, 1, 1]}",
    "conv_b": "{op: Conv, dims: {K: 128, C: 64, OY: 28, OX: 28, FY: 3, FX: 3}, padding: [1, 1, 1, 1]}",
    "conv_c": "{op: Conv, dims: {K: 128, C: 128, OY: 28, OX: 28, FY: 3, FX: 3}, padding: [1, 1, 1, 1]}",
}
MAPPED = ("OPTIMAL", "FEASIBLE")


def _workload(tmp_path: Path, *names: str) -> Path:
    """The layers named, in order, with no producer/consumer pairs (one job per layer)."""
    path = tmp_path / "net.yaml"
    lines = ["name: net", "layers:"]
    for name in names:
        spec = LAYERS[name]
        lines.append(f"  - {{name: {name}, {spec[1:-1]}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _solve(tmp_path: Path, *names: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / "out"
    command = [*CLI, "solve", "-a", "digital", "-w", str(_workload(tmp_path, *names)), "--objective", "latency",
               "--time-limit", "30", "--processes", "2", "-o", str(out), *extra]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return child, out


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from each /proc/N/stat: the field after the state is the ppid)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


def _wait_for(condition: Callable[[], object], child: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, f"imcmap ended first: {child.communicate()[1]}"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def _signal_and_wait(child: subprocess.Popen[str], *signals_and_pauses: float) -> tuple[float, str, str]:
    """Send SIGINT (then, for each pause given, wait that long and send it again); return the seconds
    from the last signal to the exit, stdout and stderr."""
    child.send_signal(signal.SIGINT)
    for pause in signals_and_pauses:
        time.sleep(pause)
        child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = child.communicate(timeout=60)
    return time.monotonic() - sent, out, err


def _files(out: Path) -> dict:
    """result.json, checked against mappings.yaml and report.txt: each whole and parseable, the mapped
    layers in all three."""
    result = json.loads((out / "result.json").read_text())
    mapped = [layer["name"] for layer in result["layers"] if layer["mapping"] is not None]
    mappings = yaml.safe_load((out / "mappings.yaml").read_text())
    assert set(mapped) <= set(json.dumps(mappings).replace("\\", "").split('"'))
    report = (out / "report.txt").read_text()
    assert all(name in report for name in mapped) and "\ntotal: " in report and report.endswith("\n")
    assert not list(out.glob(".*"))  # no temporary file left behind
    return result


def _statuses(result: dict) -> dict[str, str]:
    return {layer["name"]: layer["status"] for layer in result["layers"]}


def _evaluated_as_reported(workload: Path, out: Path, result: dict) -> None:
    """The mappings written price, by ``imcmap evaluate``, exactly as the report says."""
    evaluation = api.evaluate("digital", workload, out / "mappings.yaml")
    by_name = {e.layer.name: e.report.latency_cycles for e in evaluation.layers}
    for layer in result["layers"]:
        if layer["mapping"] is not None:
            assert by_name[layer["name"]] == layer["latency_cycles"]


def test_ctrl_c_before_any_layer_ends_keeps_the_best_mapping_of_each_layer_in_flight(tmp_path: Path) -> None:
    """Two convolutions in their searches, a third waiting: Ctrl-C exits 130 within 2 s; the two come
    back FEASIBLE with their certified gap and mapping, re-priced exactly; the third NOT_SOLVED, named."""
    child, out = _solve(tmp_path, "conv_a", "conv_b", "conv_c")
    _wait_for(lambda: len(_children(child.pid)) == 2, child)
    workers = _children(child.pid)
    time.sleep(3.0)  # CP-SAT has its first mappings by then
    waited, stdout, err = _signal_and_wait(child)
    assert child.returncode == 130, err
    assert waited < 2.0 + SLACK_S
    assert "Traceback" not in err
    result = _files(out)
    assert result["interrupted"] is True and result["not_solved"] == ["conv_c"]
    statuses = _statuses(result)
    assert statuses["conv_c"] == "NOT_SOLVED"
    in_flight = [layer for layer in result["layers"] if layer["name"] in ("conv_a", "conv_b")]
    assert all(layer["status"] in ("FEASIBLE", "UNKNOWN") for layer in in_flight)
    feasible = [layer for layer in in_flight if layer["status"] == "FEASIBLE"]
    assert feasible, "no search had a mapping after 3 s"
    for layer in feasible:
        assert layer["mapping"] is not None and 0 <= layer["gap"] < 1 and layer["lower_bound"] > 0
        assert layer["lower_bound"] <= layer["latency_cycles"] and "interrupted" in layer["message"]
    _evaluated_as_reported(tmp_path / "net.yaml", out, result)
    assert "not solved: conv_c" in stdout
    assert not any(Path(f"/proc/{pid}").exists() and pid in _children(child.pid) for pid in workers)


def test_ctrl_c_mid_network_keeps_every_finished_layer(tmp_path: Path) -> None:
    """The two Gemm layers finish first (OPTIMAL), then two convolutions start: Ctrl-C keeps the Gemm
    layers as solved, the convolutions' best mappings so far, and names the layer never started."""
    child, out = _solve(tmp_path, "fc_a", "fc_b", "conv_a", "conv_b", "conv_c")
    _wait_for(lambda: _children(child.pid), child)
    first = _children(child.pid)
    _wait_for(lambda: len(_children(child.pid) - first) == 2, child)  # both Gemm workers done, convs started
    time.sleep(3.0)
    waited, _, err = _signal_and_wait(child)
    assert child.returncode == 130 and waited < 2.0 + SLACK_S and "Traceback" not in err, err
    result = _files(out)
    statuses = _statuses(result)
    assert statuses["fc_a"] == statuses["fc_b"] == "OPTIMAL"
    assert statuses["conv_a"] in ("FEASIBLE", "UNKNOWN") and statuses["conv_b"] in ("FEASIBLE", "UNKNOWN")
    assert statuses["conv_c"] == "NOT_SOLVED" and result["not_solved"] == ["conv_c"]
    # a finished layer is exactly what an uninterrupted solve gives
    (tmp_path / "alone").mkdir()
    alone = api.solve("digital", _workload(tmp_path / "alone", "fc_a", "fc_b"), objective="latency", time_limit_s=30,
                      processes=1)
    for solved in alone.layers:
        written = next(layer for layer in result["layers"] if layer["name"] == solved.solution.layer.name)
        assert written["latency_cycles"] == solved.solution.report.latency_cycles
        assert written["gap"] == solved.solution.gap


def test_a_second_ctrl_c_exits_at_once_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C twice in quick succession: out within a second of the second, exit 130, no traceback, no
    worker left running."""
    child, _ = _solve(tmp_path, "conv_a", "conv_b")
    _wait_for(lambda: len(_children(child.pid)) == 2, child)
    workers = _children(child.pid)
    time.sleep(1.0)
    waited, _, err = _signal_and_wait(child, 0.05)
    assert child.returncode == 130 and "Traceback" not in err, err
    assert waited < 1.0 + SLACK_S
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def test_ctrl_c_while_the_results_are_written_is_held_until_they_are_whole(tmp_path: Path) -> None:
    """Sixty copies of a Gemm layer (solved once) printed as JSON to a pipe this test does not read yet:
    imcmap writes the -o files, then waits in its print, the document being larger than the pipe's
    buffer. A SIGINT then is held: once the test reads, the document and the files come out whole, and
    the exit is 130."""
    workload = tmp_path / "net.yaml"
    workload.write_text("name: net\nlayers:\n"
                        + "".join(f"  - {{name: fc_{i}, {LAYERS['fc_a'][1:-1]}}}\n" for i in range(60)))
    out = tmp_path / "out"
    child = subprocess.Popen([*CLI, "solve", "-a", "digital", "-w", str(workload), "--objective", "latency", "--json",
                              "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (out / "result.json").exists(), child)
    time.sleep(0.5)
    assert child.poll() is None, "the document fitted in the pipe: imcmap did not wait in its print"
    child.send_signal(signal.SIGINT)
    time.sleep(0.2)
    stdout, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "Traceback" not in err, err
    printed = json.loads(stdout)
    assert len(printed["layers"]) == 60 and {layer["status"] for layer in printed["layers"]} == {"OPTIMAL"}
    assert _files(out) == printed and printed["interrupted"] is False


def test_a_total_time_limit_shorter_than_one_layer_ends_the_run_in_time(tmp_path: Path) -> None:
    """--total-time-limit 2 with layers that take far longer: the run ends within 2 s + 2 s of the
    solve's start, the Gemm layer solved, the convolutions in flight with their best mapping so far,
    the one never started named; some layer is mapped, so exit 0."""
    child, out = _solve(tmp_path, "fc_a", "conv_a", "conv_b", "conv_c", extra=("--total-time-limit", "2"))
    _wait_for(lambda: _children(child.pid), child)  # the solve has started
    started = time.monotonic()
    stdout, err = child.communicate(timeout=60)
    assert time.monotonic() - started < 2 + 2.0 + SLACK_S
    assert child.returncode == 0 and "Traceback" not in err, err
    result = _files(out)
    statuses = _statuses(result)
    assert statuses["fc_a"] == "OPTIMAL"
    assert statuses["conv_a"] in ("FEASIBLE", "UNKNOWN") and statuses["conv_c"] == "NOT_SOLVED"
    assert "conv_c" in result["not_solved"] and "total time limit" in stdout
    assert result["interrupted"] is False


def test_a_total_time_limit_in_one_process_stops_the_search_too(tmp_path: Path) -> None:
    """--processes 1 solves in a helper thread: the total time limit stops its search just as fast; no
    layer mapped within it means exit 4."""
    workload = _workload(tmp_path, "conv_a", "conv_b")
    command = [*CLI, "solve", "-a", "digital", "-w", str(workload), "--objective", "latency", "--time-limit", "30",
               "--processes", "1", "--total-time-limit", "0.2", "--json"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert time.monotonic() - started < 15  # loading, then 0.2 s: not the 30 s per layer
    result = json.loads(done.stdout)
    statuses = _statuses(result)
    assert statuses["conv_b"] == "NOT_SOLVED" and statuses["conv_a"] in ("FEASIBLE", "UNKNOWN")
    assert done.returncode == (0 if statuses["conv_a"] == "FEASIBLE" else 4)


def test_a_worker_killed_once_is_retried_and_its_layer_solved(tmp_path: Path) -> None:
    """SIGKILL of a worker in its search: its layer is solved again in a fresh process, the run ends
    normally (exit 0) and the layer says it was retried."""
    workload = _workload(tmp_path, "fc_a", "conv_b")
    command = [*CLI, "solve", "-a", "digital", "-w", str(workload), "--objective", "latency", "--time-limit", "1",
               "--processes", "2", "--json"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(_children(child.pid)) == 2, child)
    victim = min(_children(child.pid))
    os.kill(victim, signal.SIGKILL)
    stdout, err = child.communicate(timeout=120)
    assert child.returncode == 0 and "Traceback" not in err, err
    layers = json.loads(stdout)["layers"]
    assert all(layer["status"] in MAPPED and layer["mapping"] is not None for layer in layers)
    retried = [layer for layer in layers if "solved again after its worker process died" in layer.get("message", "")]
    assert len(retried) == 1 and "killed by signal 9 (SIGKILL)" in retried[0]["message"]


def test_a_worker_killed_twice_fails_its_layer_and_the_others_are_kept(tmp_path: Path) -> None:
    """Both convolutions' workers killed, then both retries: the two are FAILED with the cause, the
    Gemm layer after them is solved, the files are written, exit 4 (incomplete), no hang."""
    child, out = _solve(tmp_path, "conv_a", "conv_b", "fc_a")
    killed: set[int] = set()
    for _ in range(2):
        _wait_for(lambda killed=killed: len(_children(child.pid) - killed) == 2, child)
        fresh = _children(child.pid) - killed
        time.sleep(0.3)
        for pid in fresh:
            os.kill(pid, signal.SIGKILL)
        killed |= fresh
    stdout, err = child.communicate(timeout=120)
    assert child.returncode == 4 and "Traceback" not in err, err
    result = _files(out)
    statuses = _statuses(result)
    assert statuses == {"conv_a": "FAILED", "conv_b": "FAILED", "fc_a": "OPTIMAL"}
    for layer in result["layers"][:2]:
        assert ("died on its try and its retry (killed by signal 9 (SIGKILL); killed by signal 9 (SIGKILL))"
                in layer["message"])
    assert "failed: conv_a" in stdout


def test_ctrl_c_during_an_experiment_keeps_the_baseline_so_far(tmp_path: Path) -> None:
    """An experiment interrupted in its baseline: exit 130, experiment.json and report.txt written with
    the baseline's layers (finished and in flight), no variant run."""
    workload = _workload(tmp_path, "fc_a", "conv_a", "conv_b")
    spec = tmp_path / "exp.yaml"
    spec.write_text(f"name: exp\nbaseline:\n  accelerator: digital\n  workload: {workload}\n  objective: latency\n"
                    "  time_limit: 30\nvariants:\n  - name: k_rows\n    constraints: ['forbid spatial.D2.FX']\n")
    out = tmp_path / "out"
    child = subprocess.Popen([*CLI, "experiment", str(spec), "--processes", "2", "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _children(child.pid), child)
    first = _children(child.pid)
    _wait_for(lambda: len(_children(child.pid) - first) >= 1, child)  # fc_a done, conv_b started
    time.sleep(3.0)
    waited, _, err = _signal_and_wait(child)
    assert child.returncode == 130 and waited < 2.0 + SLACK_S and "Traceback" not in err, err
    document = json.loads((out / "experiment.json").read_text())
    baseline = document["baseline"]["result"]
    statuses = _statuses(baseline)
    assert statuses["fc_a"] == "OPTIMAL" and statuses["conv_a"] in ("FEASIBLE", "UNKNOWN")
    assert baseline["interrupted"] is True and document["variants"] == []
    assert "fc_a" in (out / "report.txt").read_text()
