"""A sweep of several hundred cheap design points, unattended: the client's memory as the runs are stored,
and whether every point is stored once.

    python bench/bench_sweep_memory.py                     # 400 runs, 2 workers
    python bench/bench_sweep_memory.py --sizes 8 --workers 2 --json sweep_memory.json

The sweep (written to a temporary folder): the bundled ``dimc`` and ``aimc`` bases, a grid of array rows
x columns x buffer read energy, on ``tiny_gemm`` and ``tiny_conv`` (one layer each: a run is a fraction
of a second, so the client's own work per run, not the solves, is what the sweep exercises).
``imcmap sweep ... --json`` runs in a child process; /proc is sampled every ``--interval`` seconds for
the client's resident set (``VmRSS``, and ``VmHWM`` at the end: the Dask scheduler of a local cluster
lives in the client too) and the largest worker's, and the store for the runs stored so far, so growth
shows against progress. Checks: every planned run stored exactly once (one row per key, the JSON's
``solved`` equal to the plan), every run's layers stored, and a rerun into the full folder solving nothing.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_memory import _field_kb as _kb  # run as python bench/bench_sweep_memory.py: bench/ is on the path

COMMAND = [sys.executable, "-c", "import sys; from imcmap.cli import main; sys.exit(main())", "sweep"]


def spec_text(sizes: int) -> str:
    rows = [16 * 2**i for i in range(sizes)]
    columns = [4 * 2**i for i in range(sizes)]
    return f"""\
name: memory_bench
accelerators: [dimc, aimc]
workloads: [tiny_gemm, tiny_conv]
objectives: [energy]
time_limit: 2
parameters:
  array.dims.D2: {rows}
  array.dims.D1: {columns}
  memories.sram_256KB.read_energy_pj: [100, 200, 400, 800]
"""


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = []
        # each thread lists the children it started: the cluster's are started from its event loop's thread
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        out += children
        todo += children
    return out


def _stored_runs(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return -1


def sweep(spec: Path, folder: Path, workers: int, interval_s: float) -> dict[str, object]:
    start = time.perf_counter()
    # the JSON goes to a file: a pipe nobody reads while sampling would fill and block the sweep's exit
    out_path, err_path = folder.parent / "stdout.json", folder.parent / "stderr.txt"
    with open(out_path, "w") as out_file, open(err_path, "w") as err_file:
        child = subprocess.Popen([*COMMAND, str(spec), "-o", str(folder), "--workers", str(workers), "--json"],
                                 stdout=out_file, stderr=err_file)
        samples, client_hwm, worker_hwm = _sample(child, folder, start, interval_s)
    out, err = out_path.read_text(), err_path.read_text()
    if child.returncode != 0:
        raise SystemExit(f"imcmap sweep exited {child.returncode}:\n{err[-2000:]}")
    return {"wall_s": time.perf_counter() - start, "doc": json.loads(out), "samples": samples,
            "client_peak_mb": client_hwm / 1024, "worker_peak_mb": worker_hwm / 1024}


def _sample(child: subprocess.Popen, folder: Path, start: float,
            interval_s: float) -> tuple[list[tuple[float, int, int]], int, int]:
    samples: list[tuple[float, int, int]] = []  # (seconds, runs stored, client VmRSS kB)
    client_hwm = worker_hwm = 0
    while child.poll() is None:
        rss = _kb(child.pid, "VmRSS")
        client_hwm = max(client_hwm, _kb(child.pid, "VmHWM") or 0)
        for pid in _descendants(child.pid):
            worker_hwm = max(worker_hwm, _kb(pid, "VmHWM") or 0)
        if rss:
            samples.append((time.perf_counter() - start, _stored_runs(folder / "sweep.sqlite"), rss))
        time.sleep(interval_s)
    return samples, client_hwm, worker_hwm


def rss_at(samples: list[tuple[float, int, int]], fraction: float, total: int) -> float | None:
    """The client's RSS (MB) at the first sample with at least ``fraction`` of the runs stored."""
    for _, stored, rss in samples:
        if stored >= fraction * total:
            return rss / 1024
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, default=5, help="array sizes per dimension (runs = sizes^2 x 16)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imcmap-sweep-memory-") as tmp:
        spec, folder = Path(tmp) / "memory_bench.yaml", Path(tmp) / "out"
        spec.write_text(spec_text(args.sizes))
        first = sweep(spec, folder, args.workers, args.interval)
        again = sweep(spec, folder, args.workers, args.interval)
        doc = first["doc"]
        planned = int(doc["planned"])
        with sqlite3.connect(folder / "sweep.sqlite") as db:
            rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone()
            layerless = db.execute("SELECT COUNT(*) FROM runs WHERE key NOT IN (SELECT run_key FROM run_layers)"
                                   ).fetchone()[0]
            statuses = dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
    samples = first["samples"]
    figures = {
        "runs_planned": planned,
        "workers": args.workers,
        "wall_s": round(float(first["wall_s"]), 1),  # type: ignore[arg-type]
        "client_peak_rss_mb": round(float(first["client_peak_mb"]), 1),  # type: ignore[arg-type]
        "client_rss_mb_at_stored": {f"{p:.0%}": None if (r := rss_at(samples, p, planned)) is None else round(r, 1)
                                    for p in (0.1, 0.25, 0.5, 0.75, 1.0)},
        "worker_peak_rss_mb": round(float(first["worker_peak_mb"]), 1),  # type: ignore[arg-type]
        "stored_rows": rows[0],
        "distinct_keys": rows[1],
        "solved": doc["solved"],
        "statuses": statuses,
        "runs_without_layers": layerless,
        "rerun_solved": again["doc"]["solved"],
        "rerun_client_peak_rss_mb": round(float(again["client_peak_mb"]), 1),  # type: ignore[arg-type]
    }
    ok = rows[0] == rows[1] == planned == doc["solved"] and layerless == 0 and again["doc"]["solved"] == 0
    figures["every_point_stored_once"] = ok
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
