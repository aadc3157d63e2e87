"""Run the peer, ZigZag 3.9.1, on one workload / hardware / mapping, and read back what it chose.

Run with the peer venv's python (zigzag-dse 3.9.1 and imcmap installed there, see README.md)::

    /work/peer-venv/bin/python bench/peer_zigzag.py -w resnet18 -a dimc -m default_imc --opt energy
    /work/peer-venv/bin/python bench/peer_zigzag.py -w alexnet -a dimc -m default_imc \\
        --only Op0 --lpf-limit 4 --show-mappings      # one layer (or --only FIRST,LAST: a span)

Bare names (``dimc``, ``default_imc``, ``resnet18``) are ZigZag's shipped inputs in the running
interpreter's ``zigzag/inputs``; anything else is a path. ZigZag runs in a child process with a
timeout (its own process group, killed whole on timeout) and the wall time is measured around it.
Per layer the bench keeps ZigZag's energy, latency and chosen mapping (spatial unrolling, temporal
loops per operand per memory level), converts the mapping to imcmap's ``Mapping``
(``zigzag_mapping.to_imcmap``) and prices it with imcmap's evaluator, so both tools' numbers for the
same mapping sit side by side. With ``--imcmap`` imcmap also solves the same inputs.

Only this directory imports zigzag; imcmap's product code never does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from suite import HARDWARE, NETWORKS, OBJECTIVES, cpu_seconds  # noqa: E402 - bench-local, found through sys.path above

DEFAULT_TIMEOUT_S = 1800.0
COMPUTE_ONNX_OPS = ("Conv", "Gemm", "MatMul", "QLinearConv", "ConvInteger", "MatMulInteger", "QLinearMatMul")


# --- inputs ------------------------------------------------------------------------------------


def zigzag_inputs() -> Path:
    """``zigzag/inputs`` of the zigzag package this interpreter imports (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("zigzag")
    if spec is None or spec.origin is None:
        raise SystemExit("zigzag is not importable here: run with the peer venv's python (see bench/README.md)")
    return Path(spec.origin).parent / "inputs"


def resolve_input(kind: str, name: str) -> Path:
    """A bare name is ZigZag's shipped file of that kind; anything else is a path."""
    path = Path(name)
    if path.suffix or "/" in name:
        return path.resolve()
    folder = {"hardware": "hardware", "mapping": "mapping", "workload": "workload"}[kind]
    for suffix in (".yaml", ".onnx"):
        candidate = zigzag_inputs() / folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    raise SystemExit(f"no shipped ZigZag {kind} named {name!r} in {zigzag_inputs() / folder}")


def is_imc_hardware(path: Path) -> bool:
    """``operational_array.is_imc`` of a ZigZag hardware file (plain YAML read: imcmap may reject the file)."""
    import yaml

    data = yaml.safe_load(path.read_text())
    return bool(isinstance(data, dict) and (data.get("operational_array") or {}).get("is_imc", False))


def onnx_subset(path: Path, node_names: list[str], out: Path) -> Path:
    """The part of a model from the data input of ``node_names[0]`` to the output of ``node_names[-1]``
    (one node, or a connected span: ZigZag's data-locality stage fails on disconnected layers)."""
    import onnx
    from onnx import utils

    model = onnx.load(path, load_external_data=False)
    nodes = {n.name: n for n in model.graph.node}
    if not 1 <= len(node_names) <= 2:
        raise SystemExit("--only takes one node name, or FIRST,LAST for a span")
    missing = [n for n in node_names if n not in nodes]
    if missing:
        compute = [n.name for n in model.graph.node if n.op_type in COMPUTE_ONNX_OPS]
        raise SystemExit(f"no node(s) {missing} in {path.name}; compute nodes: {', '.join(compute)}")
    first, last = nodes[node_names[0]], nodes[node_names[-1]]
    # Extractor on the loaded model, not utils.extract_model: the shipped alexnet.onnx points to an
    # external weight file that is not shipped, and only shapes matter here.
    subset = utils.Extractor(model).extract_model([first.input[0]], [last.output[0]])
    onnx.save(subset, out)
    return out


# --- the ZigZag run (child process) -----------------------------------------------------------------


@dataclass
class PeerRun:
    """One ZigZag run: what was asked, how it went, and per layer what ZigZag chose."""

    workload: str
    accelerator: str
    mapping: str
    opt: str
    lpf_limit: int
    in_memory_compute: bool
    status: str = "ok"  # ok | timeout | failed
    wall_time_s: float = 0.0  # around the child process (imports included)
    api_time_s: float = 0.0  # around get_hardware_performance_zigzag inside the child
    cpu_time_s: float | None = None  # the child's own CPU seconds, user + system (steady under load)
    energy_pj: float = 0.0
    latency_cycles: float = 0.0
    layers: list[dict[str, Any]] = field(default_factory=list)  # zigzag_mapping.LayerRecord each
    message: str = ""


def run_zigzag(
    workload: Path,
    accelerator: Path,
    mapping: Path,
    *,
    opt: str,
    lpf_limit: int = 6,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    in_memory_compute: bool | None = None,
) -> PeerRun:
    """Run ZigZag in a child process; a timeout kills its whole process group."""
    imc = is_imc_hardware(accelerator) if in_memory_compute is None else in_memory_compute
    run = PeerRun(str(workload), str(accelerator), str(mapping), opt, lpf_limit, imc)
    with tempfile.TemporaryDirectory(prefix="peer_zigzag_") as tmp:
        request = Path(tmp) / "request.json"
        result = Path(tmp) / "result.json"
        log = Path(tmp) / "zigzag.log"
        request.write_text(json.dumps({**asdict(run), "dump_folder": str(Path(tmp) / "dump")}))
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(request), str(result)]
        start = time.perf_counter()
        with log.open("w") as log_file:
            child = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                run.status, run.message = "timeout", f"killed after {timeout_s:.0f} s"
                code = None
        run.wall_time_s = time.perf_counter() - start
        if (code is not None and code != 0) or (code == 0 and not result.exists()):
            run.status = "failed"
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            run.message = f"exit code {code}; log tail:\n" + "\n".join(tail)
        if code == 0 and result.exists():
            data = json.loads(result.read_text())
            run.api_time_s = data["api_time_s"]
            run.cpu_time_s = data.get("cpu_time_s")
            run.energy_pj = data["energy_pj"]
            run.latency_cycles = data["latency_cycles"]
            run.layers = data["layers"]
    return run


def _child(request_path: str, result_path: str) -> None:
    """In the child: run ZigZag's API, record every layer's result and mapping as JSON."""
    sys.path.insert(0, str(HERE))
    from zigzag.api import get_hardware_performance_zigzag
    from zigzag_mapping import record_cme

    request = json.loads(Path(request_path).read_text())
    start = time.perf_counter()
    answer = get_hardware_performance_zigzag(
        request["workload"],
        request["accelerator"],
        request["mapping"],
        opt=request["opt"],
        lpf_limit=request["lpf_limit"],
        in_memory_compute=request["in_memory_compute"],
        dump_folder=request["dump_folder"],
        loma_show_progress_bar=False,
    )
    api_time = time.perf_counter() - start
    energy, latency, cmes = answer[0], answer[1], answer[-1]
    per_layer = cmes[0][1]  # [(cme, extra info), ...] in workload order (the SumStage's inputs)
    records = [record_cme(cme) for cme, _ in per_layer]
    Path(result_path).write_text(
        json.dumps(
            {"api_time_s": api_time, "cpu_time_s": cpu_seconds(), "energy_pj": float(energy),
             "latency_cycles": float(latency), "layers": records}
        )
    )


# --- imcmap: ZigZag's mapping priced by imcmap, and imcmap's own solve --------------------------------


def price_zigzag_mappings(run: PeerRun, workload: Path, accelerator: Path) -> list[dict[str, Any]]:
    """Each ZigZag layer mapping converted to imcmap's Mapping and priced by imcmap's evaluator."""
    sys.path.insert(0, str(HERE))
    from zigzag_mapping import format_mapping, to_imcmap

    from imcmap.models.evaluator import check, evaluate
    from imcmap.models.hardware import CostRules
    from imcmap.specs import load_accelerator, load_workload

    accel = load_accelerator(accelerator)
    layers = {layer.name: layer for layer in load_workload(workload).layers}
    rows: list[dict[str, Any]] = []
    for record in run.layers:
        row: dict[str, Any] = {"layer": record["layer"], "zigzag_energy_pj": record["energy_pj"],
                               "zigzag_latency_cycles": record["latency_cycles"]}
        layer = layers.get(record["layer"])
        if layer is None:
            row["error"] = "no imcmap layer of that name"
            rows.append(row)
            continue
        converted = to_imcmap(record, layer, accel)
        violations = check(layer, converted.accelerator, converted.mapping)
        row.update(
            exact=converted.exact,
            notes=list(converted.notes),
            violations=[f"{v.kind} {v.where}: {v.message}" for v in violations],
            imcmap_mapping=format_mapping(converted.mapping, converted.accelerator),
            zigzag_printout=record["printout"],
        )
        if converted.exact and not violations:
            # as imcmap reads the file (ZigZag's rules for a ZigZag file), and by imcmap's own rules
            for prefix, hw in (("imcmap", converted.accelerator),
                               ("own_rules", dataclasses.replace(converted.accelerator, rules=CostRules.IMCMAP))):
                report = evaluate(layer, hw, converted.mapping)
                row.update({f"{prefix}_energy_pj": report.energy_pj, f"{prefix}_latency_cycles": report.latency_cycles,
                            f"{prefix}_latency_terms": {"compute": report.compute_cycles, "stall": report.stall_cycles,
                                                        "load": report.load_cycles},
                            f"{prefix}_energy_terms": report.energy_by_component()})
        rows.append(row)
    return rows


def solve_with_imcmap(workload: Path, accelerator: Path, mapping: Path, objective: str) -> dict[str, Any]:
    """=== imcmap's own solve of the same inputs (the place the benchmark compares against) ===

    Calls ``imcmap.solver.network.solve_network(workload, accel, spec, objective, config)`` and returns
    per layer ``energy_pj``, ``latency_cycles`` and the mapping, plus the wall time. If the network
    driver is not importable yet, says so instead of failing.
    """
    from imcmap.specs import load_accelerator, load_mapping_spec, load_workload

    try:
        from imcmap.solver.network import solve_network
        from imcmap.solver.solve import SolverConfig
    except ImportError as exc:  # the network driver is being written in parallel
        return {"status": "unavailable", "message": f"imcmap.solver.network not importable: {exc}"}
    work, accel, spec = load_workload(workload), load_accelerator(accelerator), load_mapping_spec(mapping)
    start = time.perf_counter()
    result = solve_network(work, accel, spec, objective, SolverConfig())
    wall = time.perf_counter() - start
    layers = []
    for item in result.layers:
        solution = item.solution
        report = solution.report
        layers.append({
            "layer": solution.layer.name,
            "status": solution.status,
            "energy_pj": report.energy_pj if report else None,
            "latency_cycles": report.latency_cycles if report else None,
            "mapping": repr(solution.mapping),
        })
    return {"status": "ok", "wall_time_s": wall, "energy_pj": result.energy_pj,
            "latency_cycles": result.latency_cycles, "layers": layers}


# --- command line ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    if args.imcmap_child:
        from suite import imcmap_child

        imcmap_child(*args.imcmap_child)
        return 0
    if args.suite:
        from suite import run_suite

        return run_suite(args)
    workload = resolve_input("workload", args.workload)
    accelerator = resolve_input("hardware", args.accelerator)
    mapping = resolve_input("mapping", args.mapping)
    with tempfile.TemporaryDirectory(prefix="peer_subset_") as tmp:
        if args.only:
            if workload.suffix != ".onnx":
                raise SystemExit("--only needs an ONNX workload")
            workload = onnx_subset(workload, args.only.split(","), Path(tmp) / f"{workload.stem}_subset.onnx")
        run = run_zigzag(workload, accelerator, mapping, opt=args.opt, lpf_limit=args.lpf_limit, timeout_s=args.timeout)
        print(f"ZigZag {run.status}: wall {run.wall_time_s:.1f} s (API {run.api_time_s:.1f} s), "
              f"energy {run.energy_pj:.6g} pJ, latency {run.latency_cycles:.6g} cycles, {len(run.layers)} layers")
        if run.message:
            print(run.message)
        priced = price_zigzag_mappings(run, workload, accelerator) if run.layers else []
        _print_table(priced)
        if args.show_mappings:
            for row in priced:
                _print_side_by_side(row)
        ours = solve_with_imcmap(workload, accelerator, mapping, args.opt) if args.imcmap else None
        if ours is not None and ours["status"] == "ok":
            print(f"imcmap solve: wall {ours['wall_time_s']:.1f} s, energy {ours['energy_pj']:.6g} pJ, "
                  f"latency {ours['latency_cycles']:.6g} cycles")
            for layer in ours["layers"]:
                print(f"  {layer['layer'][:40]:<40} {layer['status']:<10} {_g(layer['energy_pj']):>14} pJ "
                      f"{_g(layer['latency_cycles']):>12} cyc")
        elif ours is not None:
            print(f"imcmap solve: {ours['status']}: {ours.get('message', '')}")
    if args.json:
        payload = {"zigzag": asdict(run), "zigzag_mappings_in_imcmap": priced, "imcmap": ours}
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str))
    return 0 if run.status == "ok" else 1


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    print(f"{'layer':<40} {'ZigZag pJ':>14} {'imcmap pJ':>14} {'ZigZag cyc':>12} {'imcmap cyc':>12}  conversion")
    for row in rows:
        ours_e = row.get("imcmap_energy_pj")
        ours_l = row.get("imcmap_latency_cycles")
        print(
            f"{row['layer'][:40]:<40} {row['zigzag_energy_pj']:>14.6g} "
            f"{_g(ours_e):>14} {row['zigzag_latency_cycles']:>12.6g} {_g(ours_l):>12}  "
            + ("; ".join(row.get("notes", []) + row.get("violations", [])) or row.get("error", "ok"))
        )


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _print_side_by_side(row: dict[str, Any]) -> None:
    print(f"\n=== {row['layer']}: ZigZag's printout ===")
    print(row.get("zigzag_printout", "").rstrip())
    print("--- the same mapping as imcmap's Mapping ---")
    print(row.get("imcmap_mapping", "").rstrip())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-w", "--workload", default="resnet18", help="ZigZag workload name or path (.onnx/.yaml)")
    p.add_argument("-a", "--accelerator", default="dimc", help="ZigZag hardware name or path")
    p.add_argument("-m", "--mapping", default="default_imc", help="ZigZag mapping name or path")
    p.add_argument("--opt", choices=("energy", "latency"), default="energy")
    p.add_argument("--lpf-limit", type=int, default=6)
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds before the ZigZag run is killed")
    p.add_argument("--only", metavar="NODE[,LAST]", help="run ZigZag on one ONNX node, or the span FIRST,LAST")
    p.add_argument("--show-mappings", action="store_true", help="print ZigZag's printout next to the converted mapping")
    p.add_argument("--imcmap", action="store_true", help="also solve with imcmap (solver.network.solve_network)")
    p.add_argument("--json", help="write everything to this JSON file")
    p.add_argument("--child", nargs=2, metavar=("REQUEST", "RESULT"), help=argparse.SUPPRESS)
    p.add_argument("--imcmap-child", nargs=2, metavar=("REQUEST", "RESULT"), help=argparse.SUPPRESS)
    s = p.add_argument_group("suite (--suite): networks x hardware x objectives, both tools, table (bench/suite.py)")
    s.add_argument(
        "--suite", action="store_true", help="run the full comparison and write JSON per case and a markdown table"
    )
    s.add_argument("--networks", type=_names, default=list(NETWORKS), help="comma list (default: %(default)s)")
    s.add_argument("--hardwares", type=_names, default=list(HARDWARE), help="comma list (default: %(default)s)")
    s.add_argument("--objectives", type=_names, default=list(OBJECTIVES), help="comma list (default: %(default)s)")
    s.add_argument("--out", default=str(HERE / "results"), help="folder for json/<case>.json and peer_zigzag.md")
    s.add_argument("--zigzag-jobs", type=int, default=2, help="ZigZag runs at once (one core each; default 2)")
    s.add_argument("--phase", choices=("all", "zigzag", "imcmap", "price", "table"), default="all",
                   help="all (default), or one phase: ZigZag runs; imcmap runs + pricing; pricing again with the "
                   "recorded runs (no solving); the table from existing JSON")
    s.add_argument(
        "--reuse-zigzag", action="store_true", help="keep ZigZag runs already in --out (resume a long suite)"
    )
    s.add_argument("--no-dataflow", action="store_true",
                   help="imcmap without inter-layer dataflow (ZigZag's defaults do not exploit it on non-IMC arrays)")
    return p


if __name__ == "__main__":
    sys.exit(main())
