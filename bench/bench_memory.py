"""Peak memory of a network solve: ``imcmap solve`` in a child process, its resident memory and that of
every worker process it starts, sampled from /proc (Linux) until it ends.

    python bench/bench_memory.py                        # ResNet-50 (the onnx package's light model) on dimc
    python bench/bench_memory.py -a digital -w resnet18 --processes 2 --json memory.json

Figures: the parent's peak resident set (``VmHWM``, its high-water mark, read at the last sample before it
exits and checked against ``getrusage``), each worker's peak (its ``VmHWM`` at its last sample; a worker
that lives less than one interval may be missed, and is counted in ``RUSAGE_CHILDREN``, the largest peak of
every process waited for), and the largest sum of proportional set sizes (``Pss``: a page shared after the
fork counts once in all) over the parent and its live workers at one moment: what the solve holds of the
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def light_resnet50() -> Path:
    """The ResNet-50 graph the onnx package ships for its backend tests (weights stripped: 80 kB)."""
    import onnx

    return Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"


def _field_kb(pid: int, name: str, file: str = "status") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def measure(command: list[str], interval_s: float, env: dict[str, str]) -> dict[str, object]:
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    parent_hwm = 0
    worker_hwm: dict[int, int] = {}
    peak_pss, samples = 0, 0
    while child.poll() is None:
        samples += 1
        hwm = _field_kb(child.pid, "VmHWM")
        parent_hwm = max(parent_hwm, hwm or 0)
        pss = _field_kb(child.pid, "Pss", "smaps_rollup") or 0
        for pid in _children(child.pid):
            worker = _field_kb(pid, "VmHWM")
            if worker:
                worker_hwm[pid] = max(worker_hwm.get(pid, 0), worker)
            pss += _field_kb(pid, "Pss", "smaps_rollup") or 0
        peak_pss = max(peak_pss, pss)
        time.sleep(interval_s)
    wall = time.perf_counter() - start
    err = child.stderr.read().decode() if child.stderr else ""
    peaks = sorted(worker_hwm.values())
    return {
        "command": command,
        "exit_code": child.returncode,
        "wall_time_s": round(wall, 1),
        "samples": samples,
        "parent_peak_rss_mb": round(parent_hwm / 1024, 1),
        "workers_seen": len(peaks),
        "worker_peak_rss_mb": {
            "max": round(peaks[-1] / 1024, 1) if peaks else None,
            "median": round(statistics.median(peaks) / 1024, 1) if peaks else None,
            "min": round(peaks[0] / 1024, 1) if peaks else None,
        },
        # ru_maxrss is in kB on Linux: the largest peak of any process this one waited for, grandchildren
        # included (each worker is waited for by imcmap, imcmap by this script)
        "any_process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "peak_total_pss_mb": round(peak_pss / 1024, 1),
        "stderr_tail": err[-500:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-a", "--accelerator", default="dimc")
    parser.add_argument("-w", "--workload", help="bundled name or path (default: the onnx package's light ResNet-50)")
    parser.add_argument("--objective", default="energy")
    parser.add_argument("--processes", type=int)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    if not Path("/proc/self/smaps_rollup").exists():
        print("bench_memory reads /proc (Linux 4.14 or later)", file=sys.stderr)
        return 2
    workload = args.workload or str(light_resnet50())
    command = [sys.executable, "-c", "import sys; from imcmap.cli import main; sys.exit(main())", "solve",
               "-a", args.accelerator, "-w", workload, "--objective", args.objective, "--json"]
    if args.processes:
        command += ["--processes", str(args.processes)]
    figures = measure(command, args.interval, dict(os.environ))
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if figures["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
