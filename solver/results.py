"""Solve results as plain JSON-ready data (the CLI prints it; nothing here renders)."""

from __future__ import annotations

from imcmap import __version__
from imcmap.models.hardware import Accelerator, CostRules
from imcmap.models.mapping import Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import OPERANDS, Layer

from .network import LayerResult, NetworkResult
from .solve import LayerSolution


def mapping_json(mapping: Mapping, accel: Accelerator) -> dict[str, object]:
    """Spatial unrolling, the loop nest (innermost first) and, per operand, its loops at each level."""
    per_operand: dict[str, dict[str, list[list[object]]]] = {}
    for op in OPERANDS:
        chain = accel.chain(mapping.operand_links[op])
        per_operand[op.value] = {
            level.name: [[loop.dim, loop.size] for loop in mapping.loops_at(op, i)] for i, level in enumerate(chain)
        }
    return {
        "spatial": {adim: dict(unrolls) for adim, unrolls in mapping.spatial.items()},
        "loops": [[loop.dim, loop.size] for loop in mapping.loops],
        "temporal": per_operand,
        "operand_links": {op.value: link for op, link in mapping.operand_links.items()},
    }


def breakdown_json(report: CostReport) -> dict[str, float]:
    return {key: value for key, value in sorted(report.energy_by_component().items())}


def layer_json(layer: Layer, solution: LayerSolution, accel: Accelerator, result: LayerResult | None = None) -> dict[str, object]:
    report = solution.report
    out: dict[str, object] = {
        "name": layer.name,
        "op": layer.op,
        "dims": {d: s for d, s in layer.dims.items() if s > 1},
        "status": solution.status,
        "energy_pj": report.energy_pj if report else None,
        "latency_cycles": report.latency_cycles if report else None,
        "utilization": {
            "spatial": report.spatial_utilization,
            "temporal": report.temporal_utilization,
            "overall": report.utilization,
        }
        if report
        else None,
        "gap": solution.gap,
        "lower_bound": solution.lower_bound,
        "objective_value": solution.exact_cost,
        "mapping": mapping_json(solution.mapping, accel) if solution.mapping else None,
        "energy_breakdown_pj": breakdown_json(report) if report else None,
        "wall_time_s": solution.wall_time_s,
        "candidates_priced": solution.candidates,
    }
    if solution.message:
        out["message"] = solution.message
    out["constraints"] = [{"text": c.text, "source": c.origin()} for c in solution.constraints]
    if solution.status == "INFEASIBLE":
        out["conflict"] = [{"text": c.text, "source": c.origin()} for c in solution.conflict]
    if result is not None:
        out["dataflow"] = {
            "output_kept_in": result.dataflow.output_kept_in,
            "input_read_from": result.dataflow.input_read_from,
        }
        out["solved_as"] = result.solved_as
    return out


def bound_source(accel: Accelerator, objective: str) -> str:
    """What the certified gaps rest on, for this accelerator's cost rules and objective."""
    if accel.rules is CostRules.IMCMAP:
        return LayerSolution.BOUND_SOURCE
    if objective == "energy":
        return (LayerSolution.BOUND_SOURCE.replace("the evaluator's", "imcmap's own rules'")
                + "; ZigZag 3.9.1's rules, which price this hardware, never undercut imcmap's own energy")
    return ("none: the hardware comes from a ZigZag file and is priced by ZigZag 3.9.1's rules, whose stall "
            "model the solver does not bound; the search optimises imcmap's own rules")


def network_json(result: NetworkResult, accelerator_name: str, workload_name: str) -> dict[str, object]:
    from imcmap.models.evaluator import accelerator_area_mm2, clock_period_ns

    accel = result.accelerator
    return {
        "imcmap_version": __version__,
        "accelerator": accelerator_name,
        "workload": workload_name,
        "objective": result.objective,
        "cost_rules": accel.rules.value,
        "solver": {**result.config.as_dict(), "bound_source": bound_source(accel, result.objective)},
        "layers": [layer_json(r.solution.layer, r.solution, r.accelerator, r) for r in result.layers],
        "total": {
            "energy_pj": result.energy_pj,
            "latency_cycles": result.latency_cycles,
            "area_mm2": accelerator_area_mm2(accel),
            "tclk_ns": clock_period_ns(accel),
            "complete": result.complete,
        },
        "unmodelled_ops": [
            {"op_type": u.op_type, "count": u.count, "node_names": list(u.node_names)} for u in result.unmodelled_ops
        ],
        "warnings": list(result.workload.warnings),
        "interrupted": result.interrupted,
        "not_solved": list(result.timed_out),
        "wall_time_s": result.wall_time_s,
    }
