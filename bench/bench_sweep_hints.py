"""Would a neighbouring design point's solution, given to CP-SAT as a hint, make a sweep's layer solves
cheaper? Per layer of a network: solve it at point A, then at the adjacent point B twice, without and with
A's final assignment as a hint (matched by the model's stable variable names; variables B lacks, as
spatial candidates of another array size, are left out), and compare CP-SAT's deterministic time (its own
work units, independent of the machine's load) and the answers.

    python bench/bench_sweep_hints.py                         # iccad23 bases (analog, digital), 128 -> 256 rows, resnet8
    python bench/bench_sweep_hints.py --workload ds_cnn --sizes 64 128 --json hints.json

A measurement only: the solver does not take hints (bench/README.md says why).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from ortools.sat.python import cp_model

from imcmap.models.mapping_spec import MappingSpec
from imcmap.solver.decode import decode
from imcmap.solver.network import resolve_rule
from imcmap.solver.policy import policy_of
from imcmap.solver.problem import build_problem
from imcmap.solver.solve import SolverConfig, build_model, configure_search
from imcmap.specs import load_workload, resolve
from imcmap.specs.sweep import load_sweep


def sized(base: str, rows: int) -> object:
    """The iccad23 sweep's accelerator ``base`` at ``rows`` (its derived columns and ADC bits)."""
    spec = load_sweep(resolve("sweep", "iccad23"))
    for point in spec.points():
        if point.values.get("size") == rows:
            return spec.accelerator(point, base)
    raise SystemExit(f"iccad23 has no point of size {rows}")


def solve(layer: object, accel: object, objective: str, config: SolverConfig,
          hint: dict[str, int] | None = None) -> tuple[dict[str, int], float, float, str, object]:
    """(the assignment by variable name, deterministic time, objective value, status, the mapping)."""
    rule = resolve_rule(layer, MappingSpec())  # type: ignore[arg-type]
    problem = build_problem(layer, accel, rule)  # type: ignore[arg-type]
    policy = policy_of(accel, objective)  # type: ignore[arg-type]
    model, v, _ = build_model(problem, objective, policy=policy)
    proto = model.proto
    used = 0
    if hint:
        for index, var in enumerate(proto.variables):
            if var.name in hint:
                proto.solution_hint.vars.append(index)
                proto.solution_hint.values.append(hint[var.name])
                used += 1
    solver = cp_model.CpSolver()
    configure_search(solver.parameters, config, policy)
    status = solver.solve(model)
    values, mapping = {}, None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        response = solver.response_proto
        values = {var.name: response.solution[i] for i, var in enumerate(proto.variables) if var.name}
        mapping = decode(problem, solver.value, v)  # type: ignore[arg-type]
    return values, solver.deterministic_time, solver.objective_value, solver.status_name(status), mapping


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="resnet8")
    parser.add_argument("--bases", nargs="+", default=["analog", "digital"])
    parser.add_argument("--sizes", type=int, nargs=2, default=[128, 256], metavar=("A", "B"))
    parser.add_argument("--objective", default="energy")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    config = SolverConfig(time_limit_s=args.time_limit)
    workload = load_workload(resolve("workload", args.workload))
    distinct = {layer.signature(): layer for layer in workload.layers}
    rows = []
    for base in args.bases:
        a, b = sized(base, args.sizes[0]), sized(base, args.sizes[1])
        for layer in distinct.values():
            hint, _, _, _, _ = solve(layer, a, args.objective, config)
            _, cold, cold_value, cold_status, cold_mapping = solve(layer, b, args.objective, config)
            _, warm, warm_value, warm_status, warm_mapping = solve(layer, b, args.objective, config, hint)
            rows.append({"base": base, "layer": layer.name, "cold_det_s": cold, "hinted_det_s": warm,
                         "cold": [cold_status, cold_value], "hinted": [warm_status, warm_value],
                         "same_mapping": cold_mapping == warm_mapping})
            print(f"{base:14} {layer.name:28} cold {cold:7.3f} {cold_status:8} hinted {warm:7.3f} {warm_status:8} "
                  f"{'same' if cold_value == warm_value else 'DIFFERENT'} objective", flush=True)
    cold_total = sum(r["cold_det_s"] for r in rows)
    warm_total = sum(r["hinted_det_s"] for r in rows)
    ratios = [r["hinted_det_s"] / r["cold_det_s"] for r in rows if r["cold_det_s"] > 0]
    summary = {
        "layers": len(rows),
        "cold_det_s": round(cold_total, 3),
        "hinted_det_s": round(warm_total, 3),
        "hinted_over_cold": round(warm_total / cold_total, 3) if cold_total else None,
        "median_ratio": round(statistics.median(ratios), 3) if ratios else None,
        "different_objective": sum(r["cold"][1] != r["hinted"][1] for r in rows),
        "different_status": sum(r["cold"][0] != r["hinted"][0] for r in rows),
        # an equally good optimum reached another way: the mapping a sweep stores would depend on the hint
        "different_mapping": sum(not r["same_mapping"] for r in rows),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"summary": summary, "rows": rows}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
