"""Per-layer CP-SAT cost of one network on one accelerator: deterministic time, wall time, status, gap.

The layers are the jobs ``solve_network`` hands its workers: one per distinct (layer signature, rule,
dataflow), plain hierarchies and the variants the dataflow plan may keep. Each is built and searched
here in this process, one after the other (``SolverConfig`` as given: one CP-SAT worker, fixed seed),
exactly as ``solve_layer`` builds and searches it (``solve.search_layer``: the seed, then the proof),
so the deterministic time is CP-SAT's own count over those searches; wall time is around them alone.
The certified gap is the evaluator's cost of the cheapest mapping the searches found against CP-SAT's
proven bound (no polish: on imcmap's own rules there is none).

``--compare FIELD[,FIELD...]`` solves every layer twice, with the policy's boolean FIELDs all false (A)
and all true (B), interleaved per layer, and prints both with the ratio B/A of the deterministic times
and whether the optima agree (evaluator's costs within 1e-9 where both are proven)::

    python3 bench/bench_layers.py -w resnet18 -a dimc
    python3 bench/bench_layers.py -w resnet18 -a aimc --compare axis_symmetry --json out.json
    python3 bench/bench_layers.py -w resnet18 -a dimc --compare axis_symmetry,seed_incumbent
    python3 bench/bench_layers.py -w vgg19 -a dimc       # an onnx light model (bench/nets.py)

``--vary FIELD=VALUE[,FIELD=VALUE...]`` does the same with the policy as it is (A) and with those fields
set (B), for fields of any type: ``None``, ``true``/``false``, a number, or ``ln(X)`` for a tangent step::

    python3 bench/bench_layers.py -w mobilenetv2.onnx -a tpu_like.yaml -m tpu_like.yaml --vary refine_above_gap=None
    python3 bench/bench_layers.py -w resnet18 -a dimc --vary "tangent_step=ln(1.1)"
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import nets  # noqa: E402  (bench-local module)


@dataclass(frozen=True, slots=True)
class LayerRun:
    job: str  # the layer solved, with its dataflow variant
    status: str
    deterministic_s: float
    wall_s: float
    exact_cost: float | None
    bound: float | None
    gap: float | None
    searches: int = 1  # 2 where the policy's second search with finer tangents ran (``solve.refine_search``)


def workload_path(name: str) -> Path:
    """A light model of ``nets.py`` by name, else a bundled workload or a path (``specs.resolve``)."""
    from imcmap.specs import resolve

    light = {n.name for n in nets.LIGHT}
    return nets.light_model(name) if name in light else resolve("workload", name)


def layer_jobs(workload_name: str, accelerator: str, mapping: str, objective: str = "energy",
               ) -> tuple[list[tuple], object]:
    """(the distinct CP-SAT solves of ``solve_network``'s first batch as (label, layer, accel, rule), the
    accelerator): ``network.network_jobs``' first-batch jobs, one per (layer signature, rule, hierarchy),
    as the driver solves a signature once; each orientation's hierarchy is the imported one's."""
    from imcmap.solver import network
    from imcmap.specs import load_accelerator, load_mapping_spec, load_workload, resolve

    workload = load_workload(workload_path(workload_name))
    accel = load_accelerator(resolve("accelerator", accelerator))
    spec = load_mapping_spec(resolve("mapping", mapping))
    out, seen = [], set()
    for listed in network.network_jobs(workload, accel, spec, objective).jobs:
        job = listed.job
        key = (job.layer.signature(), repr(job.rule), job.accel)
        if not listed.first or key in seen:
            continue
        seen.add(key)
        flow = listed.flow
        tag = "".join(f" {mark}@{level}" for mark, level in (
            ("out", flow.output_kept_in), ("in", flow.input_read_from), ("W", flow.weight_read_from),
            ("held", flow.output_held_in), ("room", flow.reserved[0] if flow.reserved else None)) if level)
        out.append((job.layer.name + tag, job.layer, job.accel, job.rule))
    return out, accel


def solve_one(label: str, layer: object, accel: object, rule: object, objective: str, policy: object,
              time_limit_s: float) -> LayerRun:
    """One layer's model as ``solve_layer`` builds and searches it (``solve.search_model``), with its
    second search where the policy refines (``solve.refine_search``); the evaluator prices what they found."""
    from imcmap.solver.problem import build_problem
    from imcmap.solver.solve import SolverConfig, refined, search_model, searches_bound

    problem = build_problem(layer, accel, rule)  # type: ignore[arg-type]
    config = SolverConfig(time_limit_s=time_limit_s)
    start = time.perf_counter()
    first = search_model(problem, objective, (), policy, config, start)  # type: ignore[arg-type]
    searches, priced = refined(first, problem, objective, (), policy, config, start)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    cost = priced[0][0] if priced else None
    bound = searches_bound(searches) if priced else None
    gap = None if cost is None or bound is None else (max(0.0, (cost - bound) / cost) if cost > 0 else 0.0)
    names = dict.fromkeys(s.solver.status_name(s.status) for s in searches)
    return LayerRun(label, "/".join(names), sum(s.deterministic_s for s in searches), wall, cost, bound, gap,
                    len(searches))


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(runs: list[LayerRun]) -> dict[str, object]:
    det = [r.deterministic_s for r in runs]
    wall = [r.wall_s for r in runs]
    gaps = [r.gap for r in runs if r.gap is not None]
    return {
        "layers": len(runs),
        "optimal": sum(r.status == "OPTIMAL" for r in runs),
        "det_total_s": sum(det),
        "det_median_s": statistics.median(det),
        "det_p90_s": nearest_rank(det, 0.9),
        "det_max_s": max(det),
        "wall_total_s": sum(wall),
        "wall_median_s": statistics.median(wall),
        "wall_p90_s": nearest_rank(wall, 0.9),
        "wall_max_s": max(wall),
        "gap_median": statistics.median(gaps) if gaps else None,
        "gap_max": max(gaps) if gaps else None,
    }


def _gap(g: float | None) -> str:
    return "-" if g is None else f"{g:.3%}"


def print_summary(name: str, s: dict[str, object]) -> None:
    print(f"{name}: {s['optimal']}/{s['layers']} optimal; det-s total {s['det_total_s']:.2f}, median "
          f"{s['det_median_s']:.3f}, p90 {s['det_p90_s']:.3f}, max {s['det_max_s']:.3f}; wall-s total "
          f"{s['wall_total_s']:.2f}, median {s['wall_median_s']:.3f}, p90 {s['wall_p90_s']:.3f}, max "
          f"{s['wall_max_s']:.3f}; gap median {_gap(s['gap_median'])}, worst {_gap(s['gap_max'])}")  # type: ignore[arg-type]


def same_optimum(a: LayerRun, b: LayerRun) -> str:
    if a.exact_cost is None or b.exact_cost is None:
        return "?"
    if a.status == "OPTIMAL" and b.status == "OPTIMAL":
        return "=" if math.isclose(a.exact_cost, b.exact_cost, rel_tol=1e-9) else "DIFF"
    return "~"  # one of them unproven: not comparable


def parse_vary(text: str, field_names: list[str]) -> dict[str, object]:
    """``FIELD=VALUE[,FIELD=VALUE...]`` as {field: value}: ``None``, ``true``/``false``, ``ln(X)`` (its natural
    log), an integer or a float; ValueError on an unknown field or value."""
    out: dict[str, object] = {}
    for pair in text.split(","):
        name, sep, raw = pair.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or name not in field_names:
            raise ValueError(f"{pair!r}: expected FIELD=VALUE with FIELD one of {', '.join(field_names)}")
        low = raw.lower()
        value: object
        if low == "none":
            value = None
        elif low in ("true", "false"):
            value = low == "true"
        elif low.startswith("ln(") and low.endswith(")"):
            value = math.log(float(raw[3:-1]))
        else:
            try:
                value = int(raw)
            except ValueError:
                value = float(raw)  # raises on anything else
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    from imcmap.solver.policy import SolvePolicy, policy_of

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-w", "--workload", default="resnet18", help="bundled workload, light model or path")
    parser.add_argument("-a", "--accelerator", default="dimc")
    parser.add_argument("-m", "--mapping", default="default")
    parser.add_argument("--objective", default="energy", choices=("energy", "latency", "edp"))
    parser.add_argument("--time-limit", type=float, default=10.0, help="per layer, CP-SAT deterministic seconds")
    bool_fields = [f.name for f in fields(SolvePolicy) if f.type in ("bool", bool)]
    parser.add_argument("--compare", help="solve each layer with these boolean policy fields (comma-separated) "
                        f"all off and all on: {', '.join(bool_fields)}")
    parser.add_argument("--vary", help="solve each layer with the policy as it is (A) and with these fields set "
                        "(B): FIELD=VALUE[,FIELD=VALUE...]; VALUE None, true/false, a number or ln(X)")
    parser.add_argument("--only", help="comma-separated substrings: only jobs whose label contains one")
    parser.add_argument("--json", type=Path, help="write every layer's record and the summaries here")
    args = parser.parse_args(argv)

    jobs, accel = layer_jobs(args.workload, args.accelerator, args.mapping, args.objective)
    if args.only:
        keys = args.only.split(",")
        jobs = [j for j in jobs if any(k in j[0] for k in keys)]
    base = policy_of(accel, args.objective)  # type: ignore[arg-type]
    compared = args.compare.split(",") if args.compare else []
    unknown = [f for f in compared if f not in bool_fields]
    if unknown:
        parser.error(f"--compare: no boolean policy field {', '.join(unknown)} (fields: {', '.join(bool_fields)})")
    if compared and args.vary:
        parser.error("--compare and --vary: one at a time")
    try:
        varied = parse_vary(args.vary, [f.name for f in fields(SolvePolicy)]) if args.vary else {}
    except ValueError as exc:
        parser.error(f"--vary: {exc}")
    variants = ({"A": replace(base, **dict.fromkeys(compared, False)), "B": replace(base, **dict.fromkeys(compared, True))}
                if compared else {"A": base, "B": replace(base, **varied)} if varied else {"": base})
    told = (f"; A: {args.compare}=False, B: {args.compare}=True" if compared
            else f"; A: the policy, B: {args.vary}" if varied else "")
    print(f"{args.workload} on {args.accelerator}, {args.objective}, {len(jobs)} jobs, limit {args.time_limit} det-s"
          + told)
    runs: dict[str, list[LayerRun]] = {k: [] for k in variants}
    for label, layer, solved_on, rule in jobs:
        row = []
        for k, policy in variants.items():
            r = solve_one(label, layer, solved_on, rule, args.objective, policy, args.time_limit)
            runs[k].append(r)
            row.append(f"{k}{' ' if k else ''}{r.status[:4]}{'R' if r.searches > 1 else ' '} det {r.deterministic_s:7.3f} wall {r.wall_s:7.3f} "
                       f"gap {_gap(r.gap):>7s}")
        extra = ""
        if len(variants) == 2:
            a, b = runs["A"][-1], runs["B"][-1]
            ratio = b.deterministic_s / a.deterministic_s if a.deterministic_s else float("nan")
            extra = f"  B/A {ratio:5.2f} {same_optimum(a, b)}"
        print(f"{label[:48]:48s} " + " | ".join(row) + extra, flush=True)
    summaries = {k: summary(v) for k, v in runs.items()}
    for k, s in summaries.items():
        print_summary(k or "all", s)
    if len(variants) == 2:
        a_tot, b_tot = summaries["A"]["det_total_s"], summaries["B"]["det_total_s"]
        diffs = sum(same_optimum(a, b) == "DIFF" for a, b in zip(runs["A"], runs["B"], strict=True))
        print(f"det-s total B/A {b_tot / a_tot:.3f}; proven optima that differ: {diffs}")  # type: ignore[operator]
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
                                         "summaries": summaries}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
