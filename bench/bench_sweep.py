"""Wall time of a bundled sweep (``iccad23`` by default) from an empty results folder and again from the
full one, with 1 and 2 local workers; checks that both worker counts store identical results and prints
the median and worst certified gap over the runs.

    python bench/bench_sweep.py                    # iccad23, 1 and 2 workers, one repeat
    python bench/bench_sweep.py --sweep macro_size --workers 2 --repeat 3

Each timing is the whole command (``imcmap sweep NAME -o DIR --workers N --json``) in a fresh process:
imports, loading and planning, the Dask cluster's start and stop, the solves, the files written.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-c", "import sys; from imcmap.cli import main; sys.exit(main())", "sweep"]


def run(sweep: str, folder: Path, workers: int) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    proc = subprocess.run([*COMMAND, sweep, "-o", str(folder), "--workers", str(workers), "--json"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"imcmap sweep exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def stored(folder: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / "sweep.sqlite") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)") if "time" not in row[1]]
        return sorted(db.execute(f"SELECT {', '.join(columns)} FROM runs").fetchall(), key=repr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="iccad23")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median is printed")
    args = parser.parse_args()
    rows = []
    results: dict[int, Path] = {}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        for workers in args.workers:
            empty, full = [], []
            for repeat in range(args.repeat):
                folder = Path(tmp) / f"w{workers}_{repeat}"
                wall, doc = run(args.sweep, folder, workers)
                empty.append(wall)
                again, doc_again = run(args.sweep, folder, workers)
                full.append(again)
                assert doc_again["solved"] == 0, "a rerun solved something again"
                results[workers] = folder
            gaps = [r["worst_gap"] for r in doc["runs"] if r["worst_gap"] is not None]
            medians = [r["median_gap"] for r in doc["runs"] if r["median_gap"] is not None]
            rows.append((workers, statistics.median(empty), statistics.median(full), len(doc["runs"]),
                         statistics.median(medians) if medians else None, max(gaps) if gaps else None))
        same = len({repr(stored(folder)) for folder in results.values()}) == 1
    print(f"sweep {args.sweep}: wall seconds, medians of {args.repeat}")
    print(f"{'workers':>7} {'empty':>8} {'full':>7} {'runs':>5} {'median gap':>11} {'worst gap':>10}")
    for workers, empty_s, full_s, n, median_gap, worst in rows:
        print(f"{workers:>7} {empty_s:>8.1f} {full_s:>7.1f} {n:>5} "
              f"{'-' if median_gap is None else f'{median_gap:.3%}':>11} {'-' if worst is None else f'{worst:.3%}':>10}")
    if len(rows) > 1:
        base = rows[0][1]
        for workers, empty_s, *_ in rows[1:]:
            print(f"speed-up of {workers} workers over {rows[0][0]}: {base / empty_s:.2f}x")
    print("stored results identical across worker counts:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
