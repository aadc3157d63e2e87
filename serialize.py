"""Every document imcmap writes, built from typed results: the JSON of each command and the
``mappings.yaml`` of ``solve -o``. Nothing here renders, and nothing reads a document back.

* ``show``: ``show_json`` (``accelerator_json``, ``workload_json`` with ``layer_json``, ``mapping_spec_json``).
* ``solve``: ``network_json`` of a ``SolveResult`` or ``NetworkResult`` (``layer_result_json``,
  ``mapping_json``, ``bound_source``); ``mappings_yaml``.
* ``evaluate``: ``evaluation_json``; ``validate``: ``validation_json``; ``experiment``: ``experiment_json``;
  ``sweep``: ``sweep_json`` (``sweep_run_json``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from imcmap import __version__
from imcmap.models.evaluator import accelerator_area_mm2, clock_period_ns
from imcmap.models.hardware import Accelerator, DigitalArray, ImcArray
from imcmap.models.mapping import Mapping
from imcmap.models.mapping_spec import MappingSpec, UserConstraint
from imcmap.models.report import CostReport
from imcmap.models.workload import LOOP_DIMS, OPERANDS, Layer, Operand, UnmodelledOp, Workload
from imcmap.solver.dynamic import dynamic_operands
from imcmap.solver.network import LayerResult, NetworkResult
from imcmap.solver.policy import policy_of
from imcmap.solver.solve import LayerSolution, SolverConfig
from imcmap.solver.solve import bound_source as solve_bound_source
from imcmap.solver.status import SolveStatus
from imcmap.specs.full_mapping import full_mapping_plain, full_mapping_to_yaml

if TYPE_CHECKING:  # pragma: no cover - types only: api builds on this module
    from imcmap.chips import ChipCheck, ChipFigures, ChipRatios
    from imcmap.results import Evaluation, ExperimentResult, ShowResult, SolveResult, SweepResult
    from imcmap.sweep.driver import SweepRun


def json_text(document: dict[str, object], indent: int) -> str:
    """The document as printed and written (``str`` for the few values JSON has no type for)."""
    return json.dumps(document, indent=indent, default=str)


def _unmodelled_json(ops: tuple[UnmodelledOp, ...]) -> list[dict[str, object]]:
    return [{"op_type": op.op_type, "count": op.count, "node_names": list(op.node_names)} for op in ops]


def _constraints_json(constraints: tuple[UserConstraint, ...]) -> list[dict[str, object]]:
    return [{"text": c.text, "source": c.origin()} for c in constraints]


# --- show ---------------------------------------------------------------------------------------


def accelerator_json(accel: Accelerator) -> dict[str, object]:
    array = accel.array
    array_doc: dict[str, object] = {"dims": {d.name: d.size for d in array.dims}}
    if isinstance(array, ImcArray):
        array_doc.update(
            type="imc",
            imc_type=array.imc_type.value,
            input_bits=array.input_bits,
            weight_bits=array.weight_bits,
            input_bits_per_cycle=array.input_bits_per_cycle,
            adc_bits=array.adc_bits,
            dac_bits=array.dac_bits,
            cells_per_group=array.cells_per_group,
            node_nm=array.node_nm,
            vdd_v=array.vdd_v,
            input_toggle_rate=array.input_toggle_rate,
            weight_sparsity=array.weight_sparsity,
            cell_area_um2=array.cell_area_um2,
        )
    elif isinstance(array, DigitalArray):
        array_doc.update(
            type="digital", mac_energy_pj=array.mac_energy_pj, pe_area_mm2=array.pe_area_mm2, tclk_ns=array.tclk_ns
        )
    memories = [
        {
            "name": m.name,
            "kind": m.kind.value,
            "capacity_bits": m.capacity_bits,
            "operands": list(m.operands),
            "read_bw_bits": m.read_bw_bits,
            "write_bw_bits": m.write_bw_bits,
            "read_energy_pj": m.read_energy_pj,
            "write_energy_pj": m.write_energy_pj,
            "area_mm2": m.area_mm2,
            "latency_cycles": m.latency_cycles,
            "served_dims": list(m.served_dims),
            "ports": m.ports,
            "double_buffered": m.double_buffered,
            "instances": accel.instances(m),
        }
        for m in accel.memories
    ]
    return {"name": accel.name, "memories": memories, "array": array_doc}


def layer_json(layer: Layer) -> dict[str, object]:
    """A workload layer as read (every loop dim, sizes 1 included)."""
    p = layer.precision
    return {
        "name": layer.name,
        "op": layer.op,
        "dims": {d: layer.size(d) for d in LOOP_DIMS},
        "stride": list(layer.stride),
        "dilation": list(layer.dilation),
        "padding": list(layer.padding),
        "macs": layer.macs,
        "precision": {"w_bits": p.w_bits, "i_bits": p.i_bits, "o_bits": p.o_bits, "psum_bits": p.psum_bits},
        "sources": list(layer.sources),
        "dynamic_operands": sorted(op.value for op in layer.dynamic_operands),
        "weight_sources": list(layer.weight_sources),
    }


def workload_json(workload: Workload) -> dict[str, object]:
    return {
        "workload": workload.name,
        "layers": [layer_json(layer) for layer in workload.layers],
        "unmodelled_ops": _unmodelled_json(workload.unmodelled_ops),
        "warnings": list(workload.warnings),
    }


def mapping_spec_json(spec: MappingSpec) -> dict[str, object]:
    rules = [
        {
            "selector": r.selector,
            "spatial": r.fixed_spatial,
            "spatial_allowed": {k: list(v) for k, v in r.allowed_spatial.items()} if r.allowed_spatial else None,
            "diagonal": r.allow_diagonal,
            "operand_links": {op.value: mem for op, mem in r.operand_links.items()} if r.operand_links else None,
            "constraints": [{"text": c.text, "source": str(c.source) if c.source else None} for c in r.constraints],
        }
        for r in spec.rules
    ]
    return {"name": spec.name, "rules": rules}


def show_json(result: ShowResult) -> dict[str, object]:
    """What ``show`` read: the accelerator, the workload's keys at the top level, the mapping spec."""
    doc: dict[str, object] = {}
    if result.accelerator is not None:
        doc["accelerator"] = accelerator_json(result.accelerator)
    if result.workload is not None:
        doc.update(workload_json(result.workload))
    if result.mapping is not None:
        doc["mapping"] = mapping_spec_json(result.mapping)
    return doc


# --- solve --------------------------------------------------------------------------------------


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
    return dict(sorted(report.energy_by_component().items()))


def layer_result_json(
    layer: Layer, solution: LayerSolution, accel: Accelerator, result: LayerResult | None = None
) -> dict[str, object]:
    """One solved layer: status, costs, gap and mapping (and, within a network, its dataflow)."""
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
    out["constraints"] = _constraints_json(solution.constraints)
    if solution.status == SolveStatus.INFEASIBLE:
        out["conflict"] = _constraints_json(solution.conflict)
    if result is not None:
        flow = result.dataflow
        out["dataflow"] = {
            "output_kept_in": flow.output_kept_in,
            "input_read_from": flow.input_read_from,
            # attention's dynamic W only: absent keys keep other networks' documents as they were
            **({"weight_read_from": flow.weight_read_from} if flow.weight_read_from else {}),
            **({"output_held_in": flow.output_held_in} if flow.output_held_in else {}),
            **({"reserved_bits": {flow.reserved[0]: flow.reserved[1]}} if flow.reserved else {}),
        }
        out["solved_as"] = result.solved_as
        dynamic = dynamic_operands(result)
        if dynamic is not None:
            writes = dynamic.cell_writes
            out.update(_dynamic_json(layer, dynamic.operands_exchanged, accel))
            out["cell_writes"] = None if writes is None else {
                "bits": writes.bits, "energy_pj": writes.energy_pj, "stall_cycles": writes.stall_cycles}
    return out


def _dynamic_json(layer: Layer, exchanged: bool, accel: Accelerator) -> dict[str, object]:
    """For a layer with attention's dynamic W (nothing for others): which operand the IMC cells hold
    (None on a digital array, which has none)."""
    if Operand.W not in layer.dynamic_operands:
        return {}
    cells = ("I" if exchanged else "W") if isinstance(accel.array, ImcArray) else None
    return {"dynamic_operands": ["W"], "operands_exchanged": exchanged, "cells_hold": cells}


def bound_source(accel: Accelerator, objective: str, config: SolverConfig) -> str:
    """What the certified gaps rest on, for this accelerator's cost rules and objective (the policy's) and
    the solver's settings."""
    return solve_bound_source(policy_of(accel, objective), config)


def network_json(
    result: NetworkResult | SolveResult, accelerator_name: str | None = None, workload_name: str | None = None
) -> dict[str, object]:
    """The ``solve --json`` document (names default to the result's accelerator and workload)."""
    if not isinstance(result, NetworkResult):
        result = result.network
    accel = result.accelerator
    return {
        "imcmap_version": __version__,
        "accelerator": accel.name if accelerator_name is None else accelerator_name,
        "workload": result.workload.name if workload_name is None else workload_name,
        "objective": result.objective,
        "cost_rules": accel.rules.value,
        "solver": {**result.config.as_dict(), "bound_source": bound_source(accel, result.objective, result.config)},
        "layers": [layer_result_json(r.solution.layer, r.solution, r.accelerator, r) for r in result.layers],
        "total": {
            "energy_pj": result.energy_pj,
            "latency_cycles": result.latency_cycles,
            "area_mm2": accelerator_area_mm2(accel),
            "tclk_ns": clock_period_ns(accel),
            "complete": result.complete,
        },
        "unmodelled_ops": _unmodelled_json(result.unmodelled_ops),
        "warnings": list(result.workload.warnings),
        "interrupted": result.interrupted,
        "not_solved": list(result.timed_out),
        "wall_time_s": result.wall_time_s,
    }


def mappings_yaml(result: SolveResult) -> str:
    """The full-mapping file of a solve (``imcmap evaluate`` prices it again). Layers that keep a
    tensor on chip were solved on a capped hierarchy, which the file cannot state: they are named in
    its header and left out."""
    accel = result.accelerator
    mappings = {
        r.solution.layer.name: r.solution.mapping
        for r in result.layers
        if r.solution.mapping is not None and r.accelerator == accel
    }
    kept = [r.solution.layer.name for r in result.layers if r.solution.mapping is not None and r.accelerator != accel]
    header = "".join(
        f"# not here: {name} (solved with a tensor kept on chip; see result.json, or solve with --no-dataflow)\n"
        for name in kept
    )
    exchanged = {r.solution.layer.name for r in result.layers if r.solution.operands_exchanged}
    return header + full_mapping_to_yaml(mappings, accel, name=f"{result.workload.name} on {accel.name}",
                                         exchanged=exchanged & mappings.keys())


# --- evaluate -----------------------------------------------------------------------------------


def evaluation_json(result: Evaluation) -> dict[str, object]:
    layers = []
    for item in result.layers:
        r = item.report
        layers.append(
            {
                "name": item.layer.name,
                "op": item.layer.op,
                "dims": {d: item.layer.size(d) for d in LOOP_DIMS},
                "macs": item.layer.macs,
                "energy_pj": r.energy_pj,
                "latency_cycles": r.latency_cycles,
                "compute_cycles": r.compute_cycles,
                "stall_cycles": r.stall_cycles,
                "load_cycles": r.load_cycles,
                "utilization": {
                    "spatial": r.spatial_utilization,
                    "temporal": r.temporal_utilization,
                    "overall": r.utilization,
                },
                "energy_breakdown_pj": r.energy_by_component(),
                "accesses": [
                    {
                        "level": a.level,
                        "operand": a.operand.value,
                        "reads": a.reads,
                        "writes": a.writes,
                        "read_bits": a.read_bits,
                        "write_bits": a.write_bits,
                    }
                    for a in r.accesses
                ],
                "mapping": full_mapping_plain(item.mapping, result.accelerator),
                **_dynamic_json(item.layer, item.layer.name in result.spec.exchanged, result.accelerator),
            }
        )
    return {
        "imcmap_version": __version__,
        "accelerator": result.accelerator.name,
        "workload": result.workload.name,
        "layers": layers,
        "not_mapped": list(result.not_mapped),
        "total": {
            "energy_pj": result.energy_pj,
            "latency_cycles": result.latency_cycles,
            "latency_ns": result.latency_cycles * result.tclk_ns,
            "area_mm2": result.area_mm2,
            "tclk_ns": result.tclk_ns,
        },
        "unmodelled_ops": _unmodelled_json(result.workload.unmodelled_ops),
    }


# --- validate -----------------------------------------------------------------------------------


def _figures_json(figures: ChipFigures) -> dict[str, float | None]:
    return {
        "area_mm2": figures.area_mm2,
        "tclk_ns": figures.tclk_ns,
        "energy_fj_per_mac": figures.energy_fj_per_mac,
        "tops_per_w": figures.tops_per_w,
        "throughput_tops": figures.throughput_tops,
    }


def _ratios_json(ratios: ChipRatios) -> dict[str, float]:
    doc = {"area": ratios.area, "tclk": ratios.tclk, "energy": ratios.energy}
    if ratios.tops_per_w is not None:  # the published figure has the three above only
        doc["tops_per_w"] = ratios.tops_per_w
    return doc


def validation_json(checks: tuple[ChipCheck, ...]) -> dict[str, object]:
    return {
        "imcmap_version": __version__,
        "chips": [
            {
                "name": c.name,
                "chip": c.validation.recipe.name,
                "venue": c.validation.source.venue,
                "model": _figures_json(c.model),
                "reported": None if c.reported is None else _figures_json(c.reported),
                "ratio": None if c.ratio is None else _ratios_json(c.ratio),
                "published_ratio": None if c.published_ratio is None else _ratios_json(c.published_ratio),
                "notes": list(c.notes),
            }
            for c in checks
        ],
    }


# --- experiment ---------------------------------------------------------------------------------


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 6)


def experiment_json(result: ExperimentResult) -> dict[str, object]:
    """Baseline and variants (each ``network_json``), and per variant the comparison in percent."""
    spec = result.spec
    variants: list[dict[str, object]] = []
    for run in result.variants:
        cmp = run.comparison
        variants.append({
            "name": run.variant.name,
            "constraints": _constraints_json(run.variant.constraints),
            "hardware": {o.path: o.value for o in run.variant.hardware},
            "comparison": {
                "energy_change_pct": _pct(cmp.energy_change),
                "latency_change_pct": _pct(cmp.latency_change),
                "changed_layers": list(cmp.changed_layers),
                "layers": [
                    {
                        "name": c.layer,
                        "status": c.status,
                        "energy_change_pct": _pct(c.energy_change),
                        "latency_change_pct": _pct(c.latency_change),
                        "mapping_changed": c.mapping_changed,
                        "changes": list(c.changes),
                    }
                    for c in cmp.layers
                ],
            },
            "result": network_json(run.result.network, run.variant.accelerator.name, spec.workload.name),
        })
    return {
        "experiment": spec.name,
        "file": spec.file,
        "objective": spec.objective,
        "baseline": {
            "accelerator": spec.accelerator.name,
            "workload": spec.workload.name,
            "constraints": _constraints_json(spec.constraints),
            "result": network_json(result.baseline.network, spec.accelerator.name, spec.workload.name),
        },
        "variants": variants,
    }


# --- sweep ----------------------------------------------------------------------------------------


RUN_FIGURES = ("status", "energy_pj", "latency_cycles", "latency_s", "area_mm2", "tops_per_w", "tops_per_mm2",
               "peak_tops_per_w", "peak_tops_per_mm2", "peak_system_tops_per_mm2", "utilization", "median_gap",
               "worst_gap", "lower_bound", "wall_time_s")


def sweep_run_json(run: SweepRun) -> dict[str, object]:
    record = run.record
    out: dict[str, object] = {
        "point": dict(record.point),
        "accelerator": record.accelerator,
        "workload": record.workload,
        "objective": record.objective,
    }
    out.update({name: getattr(record, name) for name in RUN_FIGURES})
    out["edp_pj_s"] = (record.energy_pj * record.latency_s
                       if record.energy_pj is not None and record.latency_s is not None else None)
    out["ops_per_mac"] = 2
    out["on_front"] = run.on_front
    out["proven_dominated"] = run.proven_dominated
    out["reused"] = run.reused
    out["energy_by_component_pj"] = json.loads(record.energy_by_component_json)
    out["energy_by_level_pj"] = json.loads(record.energy_by_level_json)
    out["error"] = record.error
    out["key"] = run.planned.request.key
    return out


def sweep_json(result: SweepResult) -> dict[str, object]:
    """Every planned run that is stored, the fronts per workload (indices into ``runs``), the points
    not solved and why, and what this call did."""
    outcome = result.outcome
    runs = [sweep_run_json(run) for run in outcome.runs]
    fronts: dict[str, list[int]] = {}
    for index, run in enumerate(outcome.runs):
        fronts.setdefault(run.record.workload, [])
        if run.on_front:
            fronts[run.record.workload].append(index)
    return {
        "imcmap_version": __version__,
        "sweep": result.spec.name,
        "file": result.spec.file,
        "folder": str(outcome.folder),
        "front_metrics": list(outcome.metrics),
        "runs": runs,
        "fronts": fronts,
        "skipped": [
            {"point": dict(s.point.values), "accelerator": s.base, "reason": s.reason, "filtered": s.filtered}
            for s in outcome.skipped
        ],
        "planned": outcome.planned,
        "solved": outcome.solved,
        "reused": outcome.reused,
        "failed": outcome.failed,
        "pruned": outcome.pruned,
        "layer_solves_saved": {"layer_cache": outcome.layers_reused, "pruning": outcome.layers_pruned},
        "interrupted": outcome.interrupted,
        "solver": {"time_limit_s": result.spec.time_limit_s, "seed": result.spec.seed, "num_workers": 1},
        "workers": outcome.execution.workers if outcome.execution else 0,
        "scheduler": outcome.execution.scheduler if outcome.execution else None,
        "wall_time_s": outcome.wall_time_s,
    }


def sweep_csv(result: SweepResult) -> str:
    """One row per stored run: the point's values (``point.<name>``), then ``sweep_run_json``'s scalars."""
    import csv
    import io

    rows = [sweep_run_json(run) for run in result.outcome.runs]
    point_names = list(dict.fromkeys(name for row in rows for name in row["point"]))  # type: ignore[attr-defined]
    scalars = [
        k for k in (rows[0] if rows else {}) if k not in ("point", "energy_by_component_pj", "energy_by_level_pj")
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"point.{n}" for n in point_names] + scalars)
    for row in rows:
        point = row["point"]
        writer.writerow(
            [point.get(n, "") for n in point_names]  # type: ignore[attr-defined]
            + ["" if row[k] is None else repr(row[k]) if isinstance(row[k], float) else row[k] for k in scalars]
        )
    return buffer.getvalue()
