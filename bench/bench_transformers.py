"""Solve the bundled transformer blocks (BERT-base layer, ViT-B/16 block, GPT-2 small prefill and decode)
on the bundled digital and analog IMC accelerators through ``imcmap.api``, energy objective; print per
run the wall time, energy, latency, median and worst certified gap, and the energy by component, then
check issue 17's targets: median certified gap at most 1% and at most 10 s per block. Exit 1 on a miss.

    python bench/bench_transformers.py                      # the 4 blocks x dimc, aimc
    python bench/bench_transformers.py --json out.json      # also every run's figures as JSON

Energy groups (µJ): ``cell writes`` is what the cells level is written (the macro's weights, and the
dynamic W of attention where the cost model prices it so); ``macro`` the array's compute (multipliers,
bitlines, DACs, place-value trees, accumulators); ``adc/tree`` the ADCs (analog) or adder trees
(digital); then each other memory level of the accelerator, all operands together; ``dram`` split by
operand. ``attn`` is the share of the energy in the layers with a dynamic operand (q k^T, p v).
Wall times include loading the inputs; on a shared machine they are noisy (the load is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ("bert_base_layer", "vit_b16_block", "gpt2_prefill", "gpt2_decode")
ACCELERATORS = ("dimc", "aimc")
ADC_OR_TREE = ("adc", "adder_tree")
MAX_MEDIAN_GAP = 0.01
MAX_WALL_S = 10.0


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def groups(components: dict[str, float], levels: Sequence[str], cells: str, dram: str) -> dict[str, float]:
    """Network energy by component (``energy_by_component`` keys: array components bare, memory ones
    ``level/operand``) folded into the bench's groups, in print order."""
    out: dict[str, float] = {"cell writes": 0.0, "macro": 0.0, "adc/tree": 0.0}
    out.update((level, 0.0) for level in levels if level not in (cells, dram))
    out.update((f"{dram}/{operand}", 0.0) for operand in ("W", "I", "O"))
    for key, energy in components.items():
        level, _, operand = key.partition("/")
        if not operand:
            out["adc/tree" if key in ADC_OR_TREE else "macro"] += energy
        elif level == cells:
            out["cell writes"] += energy
        elif level == dram:
            out[f"{dram}/{operand}"] = out.get(f"{dram}/{operand}", 0.0) + energy
        else:
            out[level] = out.get(level, 0.0) + energy
    return out


@dataclass(frozen=True, slots=True)
class Run:
    accelerator: str
    workload: str
    wall_s: float
    energy_pj: float
    latency_cycles: float
    latency_s: float
    median_gap: float | None
    worst_gap: float | None
    layers: int
    complete: bool
    attention_share: float  # of the energy, in the layers with a dynamic operand
    energy_by_group_pj: dict[str, float]
    energy_by_component_pj: dict[str, float]

    def misses(self) -> list[str]:
        out = [] if self.complete else ["incomplete"]
        if self.median_gap is None or self.median_gap > MAX_MEDIAN_GAP:
            out.append("gap")
        if self.wall_s > MAX_WALL_S:
            out.append("time")
        return out


def run(accelerator: str, workload: str, time_limit_s: float, processes: int | None) -> Run:
    from imcmap import api
    from imcmap.models.hardware import MemoryKind
    from imcmap.models.workload import Operand

    start = time.perf_counter()
    result = api.solve(accelerator, workload, objective="energy", time_limit_s=time_limit_s, processes=processes)
    wall = time.perf_counter() - start
    components: dict[str, float] = {}
    attention = 0.0
    for r in result.layers:
        report = r.solution.report
        if report is None:
            continue
        for key, energy in report.energy_by_component().items():
            components[key] = components.get(key, 0.0) + energy
        if r.solution.layer.dynamic_operands:
            attention += report.energy_pj
    accel = result.accelerator
    mapped = next(r.solution.mapping for r in result.layers if r.solution.mapping is not None)
    cells = accel.chain(mapped.operand_links[Operand.W])[0].name  # the lowest W level: the macro's cells
    dram = next((level.name for level in accel.memories if level.kind is MemoryKind.DRAM), "dram")
    gaps = [r.solution.gap for r in result.layers if r.solution.gap is not None]
    return Run(
        accelerator=accelerator,
        workload=workload,
        wall_s=wall,
        energy_pj=result.energy_pj,
        latency_cycles=result.latency_cycles,
        latency_s=result.latency_cycles * result.tclk_ns * 1e-9,
        median_gap=statistics.median(gaps) if gaps else None,
        worst_gap=max(gaps) if gaps else None,
        layers=len(result.layers),
        complete=result.complete,
        attention_share=attention / result.energy_pj if result.energy_pj else 0.0,
        energy_by_group_pj=groups(components, [level.name for level in accel.memories], cells, dram),
        energy_by_component_pj=dict(sorted(components.items())),
    )


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{value:.3%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    parser.add_argument("--accelerators", nargs="+", default=list(ACCELERATORS))
    parser.add_argument("--time-limit", type=float, default=10.0, help="per layer, CP-SAT deterministic seconds")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args()

    import ortools

    load_before = os.getloadavg()
    print(f"commit {_commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, python "
          f"{platform.python_version()}, ortools {ortools.__version__}, {os.cpu_count()} cpus, "
          f"load {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"objective energy, per-layer limit {args.time_limit} det-s, targets: median gap <= "
          f"{MAX_MEDIAN_GAP:.0%}, wall <= {MAX_WALL_S:.0f} s")
    print(f"{'workload':16s} {'accel':6s} {'wall s':>7s} {'energy µJ':>11s} {'latency ms':>11s} "
          f"{'median gap':>10s} {'worst gap':>10s} {'attn':>6s}  target")
    runs: list[Run] = []
    misses: list[str] = []
    for workload in args.workloads:
        for accelerator in args.accelerators:
            r = run(accelerator, workload, args.time_limit, args.processes)
            runs.append(r)
            misses += [f"{workload} on {accelerator}: {miss}" for miss in r.misses()]
            verdict = "MISS " + ",".join(r.misses()) if r.misses() else "ok"
            print(f"{workload:16s} {accelerator:6s} {r.wall_s:7.1f} {r.energy_pj / 1e6:11.3f} "
                  f"{r.latency_s * 1e3:11.3f} {_gap(r.median_gap):>10s} {_gap(r.worst_gap):>10s} "
                  f"{r.attention_share:6.1%}  {verdict}", flush=True)

    print("\nenergy by group, µJ")
    names = list(dict.fromkeys(name for r in runs for name in r.energy_by_group_pj))
    print(f"{'workload':16s} {'accel':6s} " + " ".join(f"{name:>12s}" for name in names))
    for r in runs:
        print(f"{r.workload:16s} {r.accelerator:6s} "
              + " ".join(f"{r.energy_by_group_pj.get(name, 0.0) / 1e6:12.3f}" for name in names))
    load_after = os.getloadavg()
    print(f"\nload after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"commit": _commit(), "load_before": load_before, "load_after": load_after,
                                         "time_limit_s": args.time_limit, "runs": [asdict(r) for r in runs]}, indent=1))
    if misses:
        print("targets missed: " + "; ".join(misses))
        return 1
    print(f"targets met: {len(runs)} of {len(runs)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
