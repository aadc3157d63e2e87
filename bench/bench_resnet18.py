"""Solve ResNet-18 on the bundled dimc, aimc and digital accelerators; print wall time, total energy and
latency, and the median and worst certified gap per accelerator. With ``--peer PYTHON`` (the peer venv's
python, see README.md here), ZigZag 3.9.1 runs on the same network in the same run, through
``peer_zigzag.py`` on its own shipped files, and the wall-time ratio is printed beside it.

    python bench/bench_resnet18.py                                  # imcmap only
    python bench/bench_resnet18.py --peer /work/peer-venv/bin/python --accelerators dimc aimc
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_HARDWARE = {"dimc": ("dimc", "default_imc"), "aimc": ("aimc", "default_imc"), "digital": ("tpu_like", "tpu_like")}


def solve_imcmap(accelerator: str, objective: str, time_limit: float, processes: int | None) -> dict[str, object]:
    from imcmap.models.mapping_spec import MappingSpec
    from imcmap.solver.network import solve_network
    from imcmap.solver.solve import SolverConfig
    from imcmap.specs import load_accelerator, load_workload, resolve

    start = time.perf_counter()
    accel = load_accelerator(resolve("accelerator", accelerator))
    workload = load_workload(resolve("workload", "resnet18"))
    result = solve_network(
        workload, accel, MappingSpec(), objective, SolverConfig(time_limit_s=time_limit), processes=processes
    )
    wall = time.perf_counter() - start
    gaps = [r.solution.gap for r in result.layers if r.solution.gap is not None]
    statuses = [r.solution.status for r in result.layers]
    return {
        "wall_s": wall,
        "energy_pj": result.energy_pj,
        "latency_cycles": result.latency_cycles,
        "median_gap": statistics.median(gaps) if gaps else None,
        "worst_gap": max(gaps) if gaps else None,
        "optimal_layers": statuses.count("OPTIMAL"),
        "layers": len(statuses),
        "complete": result.complete,
    }


def run_peer(python: str, accelerator: str, objective: str, timeout: float) -> dict[str, object] | None:
    """ZigZag through peer_zigzag.py (its shipped hardware/mapping for this accelerator); None if it fails."""
    hardware, mapping = PEER_HARDWARE[accelerator]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.json"
        cmd = [python, str(HERE / "peer_zigzag.py"), "-w", "resnet18", "-a", hardware, "-m", mapping,
               "--opt", objective, "--timeout", str(timeout), "--json", str(out)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            print(f"  peer failed on {accelerator}: {proc.stderr.strip()[-400:]}", file=sys.stderr)
            return None
        data = json.loads(out.read_text())
    zz = data.get("zigzag", data)
    return {
        "wall_s": zz.get("wall_time_s", wall),
        "energy_pj": zz.get("energy_pj"),
        "latency_cycles": zz.get("latency_cycles"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accelerators", nargs="+", default=["dimc", "aimc", "digital"], choices=sorted(PEER_HARDWARE))
    parser.add_argument("--objective", default="energy", choices=("energy", "latency", "edp"))
    parser.add_argument("--time-limit", type=float, default=10.0, help="per layer, CP-SAT deterministic seconds")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--peer", metavar="PYTHON", help="the peer venv's python: also run ZigZag (lpf 6) in this run")
    parser.add_argument("--peer-timeout", type=float, default=1800.0)
    args = parser.parse_args()
    print(f"ResNet-18, objective {args.objective}, per-layer limit {args.time_limit} det-s")
    header = f"{'accelerator':12s} {'wall s':>8s} {'energy pJ':>16s} {'latency cyc':>14s} {'median gap':>11s} {'worst gap':>10s} {'optimal':>8s}"
    print(header)
    rows = []
    for name in args.accelerators:
        r = solve_imcmap(name, args.objective, args.time_limit, args.processes)
        rows.append((name, r))
        median = "-" if r["median_gap"] is None else f"{r['median_gap']:.3%}"
        worst = "-" if r["worst_gap"] is None else f"{r['worst_gap']:.3%}"
        print(
            f"{name:12s} {r['wall_s']:8.1f} {r['energy_pj']:16,.0f} {r['latency_cycles']:14,.0f} {median:>11s} {worst:>10s} "
            f"{r['optimal_layers']:>4d}/{r['layers']}",
            flush=True,
        )
    if args.peer:
        print("\npeer: ZigZag 3.9.1, lpf_limit 6, its shipped hardware and mapping files, same objective")
        for name, r in rows:
            peer = run_peer(args.peer, name, args.objective, args.peer_timeout)
            if peer is None:
                continue
            print(
                f"{name:12s} ZigZag {peer['wall_s']:8.1f} s vs imcmap {r['wall_s']:6.1f} s: {peer['wall_s'] / r['wall_s']:5.1f}x faster; "
                f"energy ZigZag {peer['energy_pj']:,.0f} pJ vs imcmap {r['energy_pj']:,.0f} pJ (each by its own model)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
