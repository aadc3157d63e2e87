"""imcmap's speed beyond the tuned suite: the networks of ``nets.py``, ZigZag 3.9.1 beside it where it can.

Cases (network x hardware x objective):

* the onnx package's light models on imcmap's bundled ``dimc``, ``aimc`` and ``digital`` with the bundled
  ``default`` mapping (what ``imcmap solve`` uses without ``--mapping``): imcmap only (ZigZag would
  take hours on DenseNet-121);
* the generated networks on ZigZag's own ``dimc.yaml`` and ``aimc.yaml`` with ``default_imc.yaml``:
  ZigZag and imcmap in the same run, as the suite runs them (``suite.py``: ZigZag first, at most
  ``--zigzag-jobs`` children at once, one core each; then imcmap alone, ``solve_network(processes=2)``
  in a child process, wall time around the child).

Per case it prints the wall time (median of ``--repeat`` runs), the per-distinct-layer solve time
(``LayerSolution.wall_time_s`` of each layer solved itself, ``solved_as`` its own name: CP-SAT, pricing
and, on ZigZag's files, the polish; median, p90 by nearest rank, max), the median and worst certified
gap over those layers (none for latency on ZigZag's files: no bound there), and on ZigZag's files
ZigZag's wall time, the speed ratio (ZigZag / imcmap) and imcmap's objective over ZigZag's, each priced
by its own model (imcmap prices ZigZag's files by ZigZag's rules). Each part (tune, held-out) gets its
own summary. Run with the peer venv's python (bench/README.md)::

    PYTHONPATH=... /work/peer-venv/bin/python bench/bench_general.py --part tune --json tune.json
    python3 bench/bench_general.py --no-peer --networks resnet50 --accelerators dimc

ZigZag runs are stored in ``<out>/peer/<case>.zigzag.json`` (``--reuse-peer DIR`` reads and writes them
in DIR instead, and reuses a stored run whose inputs, objective, lpf limit and ZigZag version match).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import nets  # noqa: E402  (bench-local modules)
import suite  # noqa: E402

DEFAULT_OUT = Path("/tmp/imcmap-bench")
BUNDLED = ("dimc", "aimc", "digital")  # imcmap's own accelerators, for the light models
ZIGZAG_HARDWARE = ("dimc", "aimc")  # ZigZag's files, for the generated networks
ZIGZAG_MAPPING = "default_imc"
OBJECTIVES = ("energy", "latency")
LPF_LIMIT = 6  # ZigZag's default; --lpf-limit (a quick check only: the ratio is against ZigZag at its default)


@dataclass(frozen=True, slots=True)
class Case:
    net: nets.BenchNet
    hardware: str  # dimc | aimc | digital
    objective: str

    @property
    def on_zigzag_files(self) -> bool:
        return self.net.kind == "generated"

    @property
    def hardware_label(self) -> str:
        return f"{self.hardware}.yaml (ZigZag)" if self.on_zigzag_files else f"{self.hardware} (bundled)"

    @property
    def id(self) -> str:
        return f"{self.net.name}-{'zz_' if self.on_zigzag_files else ''}{self.hardware}-{self.objective}"


def cases_for(part: str, names: list[str] | None, accelerators: list[str], objectives: list[str]) -> list[Case]:
    out = []
    for net in nets.select(part, names):
        for hardware in ZIGZAG_HARDWARE if net.kind == "generated" else BUNDLED:
            if hardware in accelerators:
                out.extend(Case(net, hardware, objective) for objective in objectives)
    return out


@dataclass(frozen=True, slots=True)
class Inputs:
    workload: Path
    hardware: Path
    mapping: Path


def inputs_for(case: Case, cache: Path) -> Inputs:
    workload = nets.workload_path(case.net, cache)
    if case.on_zigzag_files:
        from peer_zigzag import resolve_input

        return Inputs(workload, resolve_input("hardware", case.hardware), resolve_input("mapping", ZIGZAG_MAPPING))
    from imcmap.specs import resolve

    return Inputs(workload, resolve("accelerator", case.hardware), resolve("mapping", "default"))


# --- ZigZag, stored per case ---------------------------------------------------------------------------


def peer_key(case: Case, inputs: Inputs, zigzag_version: str, lpf_limit: int) -> dict[str, Any]:
    """What a stored ZigZag run must match to be reused."""
    return {"workload_sha256": nets.sha256(inputs.workload), "hardware_sha256": nets.sha256(inputs.hardware),
            "mapping_sha256": nets.sha256(inputs.mapping), "objective": case.objective, "lpf_limit": lpf_limit,
            "zigzag": zigzag_version}


def stored_peer(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if data.get("key") == key and data["run"]["status"] == "ok" else None


def run_peers(cases: list[Case], inputs: dict[str, Inputs], store: Path, reuse: bool, jobs: int,
              timeout_s: float, lpf_limit: int, env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ZigZag on every case on its files: a stored run where ``reuse`` finds a matching one, else a new run."""
    from peer_zigzag import run_zigzag

    store.mkdir(parents=True, exist_ok=True)
    found: dict[str, dict[str, Any]] = {}
    todo = []
    for case in cases:
        key = peer_key(case, inputs[case.id], env["versions"].get("zigzag-dse", "-"), lpf_limit)
        stored = stored_peer(store / f"{case.id}.zigzag.json", key) if reuse else None
        if stored is not None:
            stored["reused"] = True
            found[case.id] = stored
            print(f"ZigZag {case.id}: reused {store / f'{case.id}.zigzag.json'} ({stored['run']['wall_time_s']:.1f} s, "
                  f"run {stored['started_at']})", flush=True)
        else:
            todo.append((case, key))

    def one(item: tuple[Case, dict[str, Any]]) -> None:
        case, key = item
        paths = inputs[case.id]
        started, load_before = suite._now(), suite._load()
        print(f"[{started}] ZigZag {case.id} started", flush=True)
        run = run_zigzag(paths.workload, paths.hardware, paths.mapping, opt=case.objective, lpf_limit=lpf_limit,
                         timeout_s=timeout_s)
        record = {"case": case.id, "key": key, "started_at": started, "finished_at": suite._now(),
                  "load_before": load_before, "load_after": suite._load(), "concurrent_jobs": jobs, **env,
                  "run": asdict(run), "reused": False}
        (store / f"{case.id}.zigzag.json").write_text(json.dumps(record, indent=1))
        found[case.id] = record
        print(f"[{suite._now()}] ZigZag {case.id} {run.status}: {run.wall_time_s:.1f} s {run.message[:300]}", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, todo))
    return found


# --- imcmap -----------------------------------------------------------------------------------------------


def run_imcmap_case(case: Case, paths: Inputs, repeat: int, timeout_s: float) -> dict[str, Any]:
    """``repeat`` runs of imcmap's child (``suite.run_imcmap``) on the files imcmap reads for this case."""
    from imcmap.specs import load_workload

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_general_") as tmp:
        hardware, mapping, derived = paths.hardware, paths.mapping, []
        if case.on_zigzag_files:
            names = [layer.name for layer in load_workload(paths.workload).layers]
            hardware, mapping, derived = suite.derive_inputs(paths.hardware, paths.mapping, names, Path(tmp))
        for _ in range(repeat):
            runs.append(suite.run_imcmap(paths.workload, hardware, mapping, case.objective, timeout_s=timeout_s))
    return {"derived": derived, "runs": runs}


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_stats(run: dict[str, Any], objective: str) -> dict[str, Any]:
    """One imcmap run: its wall time, the solve time and certified gap of each distinct layer."""
    if run.get("status") != "ok":
        return {"status": run.get("status"), "wall_time_s": run.get("wall_time_s")}
    distinct = [layer for layer in run["layers"] if layer["solved_as"] == layer["layer"]]
    times = [layer["solve_wall_s"] for layer in distinct]
    gaps = [layer["gap"] for layer in distinct if layer["gap"] is not None]
    return {
        "status": "ok",
        "wall_time_s": run["wall_time_s"],
        "cpu_time_s": run.get("cpu_time_s"),  # the child and its workers, user + system
        "solve_s": run["solve_s"],
        "layers": len(run["layers"]),
        "distinct_layers": len(distinct),
        "layer_solve_median_s": statistics.median(times) if times else None,
        "layer_solve_p90_s": percentile(times, 0.9) if times else None,
        "layer_solve_max_s": max(times) if times else None,
        "slowest_layer": max(distinct, key=lambda layer: layer["solve_wall_s"])["layer"] if distinct else None,
        "gap_median": statistics.median(gaps) if gaps else None,
        "gap_worst": max(gaps) if gaps else None,
        "gapless_layers": len(distinct) - len(gaps),
        "objective_value": run["energy_pj"] if objective == "energy" else run["latency_cycles"],
        "complete": run["complete"],
        "unsolved": [layer["layer"] for layer in run["layers"] if not layer.get("mapping")],
    }


def summarize(case: Case, ours: dict[str, Any], peer: dict[str, Any] | None) -> dict[str, Any]:
    """The case's row: each statistic the median over the repeats that finished, and ZigZag beside it."""
    per_run = [run_stats(run, case.objective) for run in ours["runs"]]
    ok = [stats for stats in per_run if stats["status"] == "ok"]
    row: dict[str, Any] = {"case": case.id, "network": case.net.name, "kind": case.net.kind, "part": case.net.part,
                           "hardware": case.hardware_label, "objective": case.objective,
                           "runs_ok": len(ok), "runs": len(per_run),
                           "status": "ok" if ok else (per_run[0]["status"] if per_run else "not run")}
    for key in ("wall_time_s", "cpu_time_s", "solve_s", "layer_solve_median_s", "layer_solve_p90_s", "layer_solve_max_s",
                "gap_median", "gap_worst", "objective_value"):
        values = [stats[key] for stats in ok if stats[key] is not None]
        row[key] = statistics.median(values) if values else None
    walls = [stats["wall_time_s"] for stats in ok]
    row["wall_time_spread_s"] = (min(walls), max(walls)) if walls else None  # over the repeats
    if ok:
        row.update({key: ok[0][key] for key in ("layers", "distinct_layers", "gapless_layers")})
        row["slowest_layer"] = ok[0]["slowest_layer"]
        row["complete"] = all(stats["complete"] for stats in ok)
        row["unsolved"] = sorted({name for stats in ok for name in stats["unsolved"]})
    if peer is not None:
        run = peer["run"]
        row["zigzag_status"] = run["status"]
        row["zigzag_wall_time_s"] = run["wall_time_s"] if run["status"] == "ok" else None
        row["zigzag_reused"] = peer.get("reused", False)
        if run["status"] == "ok":
            theirs = run["energy_pj"] if case.objective == "energy" else run["latency_cycles"]
            row["zigzag_objective_value"] = theirs
            if row["wall_time_s"]:
                row["speed_ratio"] = run["wall_time_s"] / row["wall_time_s"]
            if row["cpu_time_s"] and run.get("cpu_time_s"):
                # CPU seconds against CPU seconds: steadier under load, and it does not count imcmap's
                # use of both cores (ZigZag's search is single-threaded) in its favour
                row["cpu_ratio"] = run["cpu_time_s"] / row["cpu_time_s"]
            if row["objective_value"] is not None and theirs:
                row["objective_vs_zigzag"] = row["objective_value"] / theirs
    return row


# --- output -----------------------------------------------------------------------------------------------


def _f(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (f"{'network':13s} {'hardware':20s} {'obj':7s} {'layers':>9s} {'imcmap s':>9s} {'min-max':>11s} "
          f"{'layer med/p90/max s':>20s} "
          f"{'gap med/worst':>15s} {'ZigZag s':>9s} {'ratio':>7s} {'cpu r.':>7s} {'obj/ZZ':>7s}")


def row_line(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['network']:13s} {row['hardware']:20s} {row['objective']:7s} imcmap {row['status']}"
    layers = f"{row['distinct_layers']}/{row['layers']}"
    solve = (f"{_f(row['layer_solve_median_s'], '.2f')}/{_f(row['layer_solve_p90_s'], '.2f')}/"
             f"{_f(row['layer_solve_max_s'], '.2f')}")
    gaps = f"{_f(row['gap_median'], '.2%')}/{_f(row['gap_worst'], '.2%')}"
    zz = ("-" if "zigzag_status" not in row else
          _f(row["zigzag_wall_time_s"], ".1f") if row["zigzag_status"] == "ok" else row["zigzag_status"])
    flag = "" if row.get("complete", True) else f"  incomplete: {', '.join(row['unsolved'][:3])}"
    low, high = row["wall_time_spread_s"]
    return (f"{row['network']:13s} {row['hardware']:20s} {row['objective']:7s} {layers:>9s} {row['wall_time_s']:9.2f} "
            f"{f'{low:.1f}-{high:.1f}':>11s} {solve:>20s} {gaps:>15s} {zz:>9s} {_ratio(row.get('speed_ratio')):>7s} {_ratio(row.get('cpu_ratio')):>7s} "
            f"{_f(row.get('objective_vs_zigzag'), '.3f'):>7s}{flag}")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def part_summary(rows: list[dict[str, Any]]) -> list[str]:
    done = [row for row in rows if row["status"] == "ok"]
    if not done:
        return ["  no case finished"]
    out = [f"  {len(done)}/{len(rows)} cases; imcmap wall {sum(r['wall_time_s'] for r in done):.1f} s in all, "
           f"slowest {max(done, key=lambda r: r['wall_time_s'])['case']} "
           f"({max(r['wall_time_s'] for r in done):.1f} s); slowest layer solve "
           f"{max(r['layer_solve_max_s'] or 0 for r in done):.2f} s"]
    for key, what in (("speed_ratio", "speed ratio (wall)"), ("cpu_ratio", "CPU-time ratio")):
        ratios = [r[key] for r in done if r.get(key)]
        if ratios:
            geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            out.append(f"  against ZigZag ({len(ratios)} cases): {what} min {min(ratios):.1f}x, "
                       f"geometric mean {geomean:.1f}x, max {max(ratios):.1f}x")
    quality = [r["objective_vs_zigzag"] for r in done if r.get("objective_vs_zigzag")]
    if quality:
        out.append(f"  imcmap's objective / ZigZag's: worst {max(quality):.3f}, best {min(quality):.3f}")
    return out


def report(rows: list[dict[str, Any]]) -> str:
    lines = []
    for part in nets.PARTS:
        mine = [row for row in rows if row["part"] == part]
        if not mine:
            continue
        lines += ["", f"== {part} ==", HEADER] + [row_line(row) for row in mine]
        lines += [f"{part}:", *part_summary(mine)]
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=(*nets.PARTS, "all"), default="all", help="the set's part (default: all)")
    p.add_argument("--networks", type=_names, help="comma list of networks of nets.py (default: all of --part)")
    p.add_argument("--accelerators", type=_names, default=list(BUNDLED),
                   help="comma list of dimc, aimc, digital: bundled for the light models, ZigZag's files (dimc, aimc) "
                        "for the generated networks (default: all)")
    p.add_argument("--objectives", type=_names, default=list(OBJECTIVES), help="comma list (default: energy,latency)")
    p.add_argument("--no-peer", action="store_true", help="imcmap only (ZigZag's files are still read for the generated networks)")
    p.add_argument("--reuse-peer", type=Path, metavar="DIR",
                   help="ZigZag runs stored in DIR: reuse the matching ones, store new ones there")
    p.add_argument("--repeat", type=int, default=1, help="imcmap runs per case; the row shows medians (default 1)")
    p.add_argument("--lpf-limit", type=int, default=LPF_LIMIT,
                   help=f"ZigZag's loop prime factor limit (default {LPF_LIMIT}, its own; lower only for a quick check)")
    p.add_argument("--zigzag-jobs", type=int, default=2, help="ZigZag runs at once, one core each (default 2)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per run of either tool (default 3600)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"folder for the generated networks (nets/) and ZigZag runs (peer/); default {DEFAULT_OUT}")
    p.add_argument("--json", type=Path, help="write every case, run and layer to this JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    bad = sorted(set(args.accelerators) - set(BUNDLED)) + sorted(set(args.objectives) - set(OBJECTIVES))
    if bad or args.repeat < 1:
        raise SystemExit(f"unknown accelerator(s) or objective(s): {', '.join(bad)}" if bad else "--repeat must be >= 1")
    try:
        cases = cases_for(args.part, args.networks, args.accelerators, args.objectives)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    cache = args.out / "nets"
    inputs = {case.id: inputs_for(case, cache) for case in cases}
    env = {"versions": suite.versions(), "machine": suite.machine()}
    print(f"bench_general: {len(cases)} cases, part {args.part}; {env['machine']['cores']} cores, load {suite._load()}; "
          f"versions {env['versions']}", flush=True)
    peers: dict[str, dict[str, Any]] = {}
    zigzag_cases = [case for case in cases if case.on_zigzag_files]
    if zigzag_cases and not args.no_peer:
        store = args.reuse_peer or args.out / "peer"
        peers = run_peers(zigzag_cases, inputs, store, args.reuse_peer is not None, args.zigzag_jobs, args.timeout,
                          args.lpf_limit, env)
    suite.compile_imcmap()
    rows, details = [], []
    for case in cases:
        started = suite._now()
        ours = run_imcmap_case(case, inputs[case.id], args.repeat, args.timeout)
        row = summarize(case, ours, peers.get(case.id))
        rows.append(row)
        print(f"[{started}] {row_line(row)}", flush=True)
        details.append({**row, "inputs": {k: str(v) for k, v in asdict(inputs[case.id]).items()},
                        "started_at": started, "imcmap": ours,
                        "zigzag": peers.get(case.id)})
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps({
            **env, "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "set": [asdict(net) for net in nets.select()], "cases": details}, indent=1, default=str))
        print(f"wrote {args.json}")
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
