"""ZigZag 3.9.1's chosen mapping of a layer -> imcmap's ``models.mapping.Mapping``.

Two halves, so that only the first one needs ZigZag (the bench runs ZigZag in a child process):

* ``record_cme(cme)`` reads a ZigZag ``CostModelEvaluation`` into plain JSON data (``LayerRecord``).
* ``to_imcmap(record, layer, accel)`` turns that data into a ``Mapping`` for imcmap's layer and
  accelerator (pure imcmap; no ZigZag import).

What ZigZag exposes and how it is read:

* spatial unrolling: ``cme.layer.spatial_mapping`` (``{D1: {K: 64}, D2: {FX: 3, C: 8}}``, the same array
  dim names imcmap reads from ZigZag's hardware file). Factors can be fractional when ZigZag maps a
  dim that the array size does not divide ("greedy" mapping); imcmap needs exact factors, so such a
  record converts with ``exact = False`` and a note.
* temporal loops: ``cme.temporal_mapping.mapping_dic_origin`` — per layer operand (O, W, I), per memory
  level of that operand (lowest first), the loops LOMA allocated there, innermost first. Every operand
  sees the same loop order, cut at different places, which is exactly imcmap's representation:
  ``loops`` = the concatenation, ``cuts[op][i]`` = loops held at or below the operand's i-th level.
  (``mapping_dic_stationary`` moves the irrelevant loops at the bottom of a level down one level;
  imcmap's evaluator treats such loops as stationary either way, so the origin is used.)
* memory levels: ``cme.mem_hierarchy_dict[memory operand]`` names the levels of each operand's chain.
  With ``in_memory_compute`` ZigZag may drop the top levels of a chain (inter-layer data locality:
  the output stays in the SRAM); the record keeps the names, and ``to_imcmap`` restricts imcmap's
  accelerator the same way (``Converted.accelerator``) so the mapping can be evaluated as ZigZag ran it.
* loop dim names: ZigZag's ONNX parser names a matrix layer's dims C, D, K (+ B, H); imcmap names them
  by role. A dim imcmap does not know is renamed by the operands it indexes (O+I: B, O+W: K, W+I: C,
  all three: G), recorded per dim from ZigZag's loop relevancy.
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from typing import Any

from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import LOOP_DIMS, RELEVANT_DIMS, Layer, Operand
from imcmap.solver.network import capped

LayerRecord = dict[str, Any]  # JSON-safe; the keys are documented in record_cme

ROLE_BY_OPERANDS: dict[frozenset[str], str] = {
    frozenset({"O", "I"}): "B",
    frozenset({"O", "W"}): "K",
    frozenset({"W", "I"}): "C",
    frozenset({"O", "W", "I"}): "G",
}


# --- ZigZag side (needs zigzag importable) --------------------------------------------------------


def record_cme(cme: Any) -> LayerRecord:
    """One layer's result and mapping as plain data.

    Keys: ``layer`` (name), ``operator_type``, ``energy_pj``, ``latency_cycles`` (ZigZag's
    ``latency_total2``, cycles incl. the bit-serial factor), ``tclk_ns`` (IMC only), ``dims``
    ({dim: size}), ``relevance`` ({dim: operands it indexes}), ``spatial`` ({array dim: {dim: factor}}),
    ``loops`` ([[dim, size], ...] innermost first), ``levels`` ({layer operand: [[memory name, loop
    count], ...] lowest first}), ``operand_links`` ({layer operand: memory operand}),
    ``printout`` (ZigZag's own ``print_mapping`` text, or the error it raised).
    """
    layer = cme.layer
    info = layer.loop_relevancy_info
    relevance: dict[str, list[str]] = {}
    for op in layer.layer_operands:
        touched = {str(d) for d in info.get_r_layer_dims(op)}
        for pair in info.get_pr_layer_dims(op).values():
            touched |= {str(d) for d in pair}
        for dim in touched:
            relevance.setdefault(dim, []).append(str(op))
    links = {str(op): str(layer.memory_operand_links.layer_to_mem_op(op)) for op in layer.layer_operands}
    mem_chain = {str(mem_op): [level.name for level in levels] for mem_op, levels in cme.mem_hierarchy_dict.items()}
    origin = cme.temporal_mapping.mapping_dic_origin
    loops_by_op: dict[str, list[list[Any]]] = {}
    levels: dict[str, list[list[Any]]] = {}
    for op, per_level in origin.items():
        chain = mem_chain[links[str(op)]]
        flat = [[str(dim), _number(size)] for level_loops in per_level for dim, size in level_loops]
        loops_by_op[str(op)] = flat
        levels[str(op)] = [
            [chain[i] if i < len(chain) else f"?{i}", len(level_loops)] for i, level_loops in enumerate(per_level)
        ]
    orders = {tuple(map(tuple, flat)) for flat in loops_by_op.values()}
    if len(orders) != 1:  # ZigZag's representation guarantees one order; say so loudly if not
        raise ValueError(f"{layer.name}: operands see different loop orders: {loops_by_op}")
    spatial = {
        str(adim): {str(dim): _number(f) for dim, f in unrolls.items()}
        for adim, unrolls in layer.spatial_mapping.items()
    }
    # what the cost model used: the per-OA-dim mapping above is what was chosen, but ZigZag's conversion
    # stage shrinks an unrolling larger than needed (K 128 on a K=192 layer runs as 2 x 96)
    used: dict[str, float] = {}
    for unrolls in cme.spatial_mapping.mapping_dict_origin[layer.output_operand]:
        for dim, factor in unrolls:
            used[str(dim)] = used.get(str(dim), 1.0) * float(factor)
    return {
        "layer": layer.name,
        "operator_type": layer.type,
        "energy_pj": float(cme.energy_total),
        "latency_cycles": float(cme.latency_total2),
        "tclk_ns": float(getattr(cme, "tclk", 0.0) or 0.0),
        "dims": {str(d): int(s) for d, s in layer.layer_dim_sizes.items()},
        "relevance": {dim: sorted(ops) for dim, ops in relevance.items()},
        "spatial": spatial,
        "spatial_used": {dim: _number(f) for dim, f in used.items()},
        "loops": next(iter(loops_by_op.values())),
        "levels": levels,
        "operand_links": links,
        "printout": zigzag_printout(cme),
        "detail": zigzag_detail(cme),
    }


def zigzag_detail(cme: Any) -> dict[str, Any]:
    """ZigZag's own cost breakdown of the chosen mapping, for the fidelity study (bench/README.md):
    latency terms, energy per operand / level / direction, word accesses, and every port's activity
    (per data-transfer link: real and allowed cycles per period, period, period count, stall or slack)."""
    out: dict[str, Any] = {}

    def four_way(value: Any) -> dict[str, float]:
        return {str(direction): float(v) for direction, v in value.data.items()}

    try:
        out["latency"] = {
            "cycles_per_op": float(cme.cycles_per_op),
            "ideal_cycle": float(cme.ideal_cycle),
            "ideal_temporal_cycle": float(cme.ideal_temporal_cycle),
            "stall_slack_comb": float(cme.stall_slack_comb),
            "data_onloading_cycle": float(cme.data_onloading_cycle),
            "data_offloading_cycle": float(cme.data_offloading_cycle),
            "systolic_drain_cycle": float(getattr(cme, "systolic_drain_cycle", 0.0) or 0.0),
            "latency_total0": float(cme.latency_total0),
            "latency_total2": float(cme.latency_total2),
        }
        out["energy"] = {
            "mac_energy": float(cme.mac_energy),
            "mac_energy_breakdown": {
                str(k): float(v) for k, v in (getattr(cme, "mac_energy_breakdown", None) or {}).items()
            },
            "mem_energy": float(cme.mem_energy),
            "per_operand_level": {
                str(op): [four_way(e) for e in levels] for op, levels in cme.mem_energy_breakdown_further.items()
            },
        }
        out["word_accesses"] = {str(op): [four_way(a) for a in levels] for op, levels in cme.memory_word_access.items()}
        out["data_bits_unrolled"] = {
            str(op): [int(b) for b in v] for op, v in cme.mapping.data_bit_per_level_unrolled.items()
        }
        out["mem_utilization_shared"] = {str(op): [float(u) for u in v] for op, v in cme.mem_utili_shared.items()}
        out["double_buffer"] = {str(op): [bool(b) for b in flags] for op, flags in cme.double_buffer_true.items()}
        ports = []
        for level, per_port in zip(cme.mem_level_list, cme.port_activity_collect, strict=False):
            for port_name, activities in per_port.items():
                ports.append(
                    {
                        "memory": level.name,
                        "port": port_name,
                        "stall_slack_comb": float(
                            cme.stall_slack_comb_collect[cme.mem_level_list.index(level)].get(port_name, 0)
                        ),
                        "links": [
                            {
                                "operand": str(a.served_op_lv_dir[0]),
                                "level": int(a.served_op_lv_dir[1]),
                                "direction": str(a.served_op_lv_dir[2]),
                                "real": float(a.real_cycle),
                                "allowed": float(a.allowed_cycle),
                                "period": float(a.period),
                                "period_count": float(a.period_count),
                                "stall_or_slack": float(a.stall_or_slack),
                            }
                            for a in activities
                        ],
                    }
                )
        out["ports"] = ports
        out["loading_cc"] = {
            str(op): {key: float(v[0]) for key, v in per.items()} for op, per in cme.data_loading_cc_per_op.items()
        }
        out["offloading_cc"] = {
            str(op): {key: float(v[0]) for key, v in per.items()} for op, per in cme.data_offloading_cc_per_op.items()
        }
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def zigzag_printout(cme: Any) -> str:
    """ZigZag's own loop-nest printout (``print_mapping``); it raises on layers without temporal loops."""
    from zigzag.visualization.results.print_mapping import print_mapping

    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            print_mapping(cme)
    except Exception as exc:
        return f"<print_mapping failed: {type(exc).__name__}: {exc}>"
    return buffer.getvalue()


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


# --- imcmap side (pure) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Converted:
    """ZigZag's mapping in imcmap's terms; evaluate ``mapping`` on ``accelerator`` (the given one,
    restricted where ZigZag dropped the top levels of an operand's chain)."""

    mapping: Mapping
    accelerator: Accelerator
    exact: bool  # False: the mapping is not a legal imcmap mapping as it stands (see notes)
    notes: tuple[str, ...] = ()


def dim_names(record: LayerRecord) -> dict[str, str]:
    """ZigZag loop dim -> imcmap loop dim (known names kept when their relevance agrees, else by role)."""
    out: dict[str, str] = {}
    for dim, ops in record["relevance"].items():
        touched = frozenset(ops)
        if dim in LOOP_DIMS and touched == frozenset(op.value for op in Operand if dim in RELEVANT_DIMS[op]):
            out[dim] = dim
        elif touched in ROLE_BY_OPERANDS:
            out[dim] = ROLE_BY_OPERANDS[touched]
        else:
            out[dim] = dim  # size-1 dims of odd relevance; a larger one fails the factorization check
    return out


def to_imcmap(record: LayerRecord, layer: Layer, accel: Accelerator) -> Converted:
    """``record`` (from ``record_cme``) as a Mapping of imcmap's ``layer`` on ``accel``."""
    names = dim_names(record)
    notes: list[str] = []
    exact = True
    spatial: dict[str, dict[str, int]] = {}
    used = spatial_used(record)
    for adim, unrolls in record["spatial"].items():
        for dim, factor in unrolls.items():
            if dim in used and used[dim] != factor:
                notes.append(
                    f"{adim}: {dim} unrolled {_number(used[dim])} of the {factor} named (ZigZag shrinks an unrolling the layer does not fill)"
                )
                factor = used[dim]
            if factor == 1:
                continue
            whole = math.ceil(factor)
            if whole != factor:
                notes.append(f"{adim}: {dim} unrolled {factor} (fractional; ZigZag's greedy mapping), taken as {whole}")
                exact = False
            target = names.get(dim, dim)
            spatial.setdefault(adim, {})
            spatial[adim][target] = spatial[adim].get(target, 1) * whole
    loops = tuple(Loop(names.get(dim, dim), int(size)) for dim, size in record["loops"])
    links = {Operand(op): mem_op for op, mem_op in record["operand_links"].items()}
    restricted = accel
    cuts: dict[Operand, tuple[int, ...]] = {}
    for op_name, per_level in record["levels"].items():
        operand = Operand(op_name)
        zz_chain = [name for name, _ in per_level]
        our_chain = [m.name for m in restricted.chain(links[operand])]
        if zz_chain != our_chain[: len(zz_chain)]:
            raise ValueError(f"{record['layer']}: {op_name} levels {zz_chain} do not match imcmap's {our_chain}")
        if len(zz_chain) < len(our_chain):
            restricted = capped(restricted, links[operand], zz_chain[-1])
            notes.append(
                f"{op_name}: ZigZag kept it in {zz_chain[-1]} (levels above dropped, inter-layer data locality)"
            )
        counts = [count for _, count in per_level]
        cuts[operand] = tuple(sum(counts[: i + 1]) for i in range(len(counts)))
    mapping = Mapping(spatial=spatial, loops=loops, cuts=cuts, operand_links=links)
    for dim in LOOP_DIMS:
        got = mapping.spatial_factor(dim) * mapping.temporal_factor(dim)
        if got != layer.size(dim):
            notes.append(f"{dim}: ZigZag covers {got}, the layer has {layer.size(dim)}")
            exact = False
    return Converted(mapping=mapping, accelerator=restricted, exact=exact, notes=tuple(notes))


def spatial_used(record: LayerRecord) -> dict[str, float]:
    """Per loop dim, the unrolling ZigZag's cost model used, where it differs from the chosen
    ``spatial`` and the dim sits on one array dim: ZigZag's conversion stage runs K 128 on a K = 192 layer as
    2 x 96 (or 1000 as 16 x 62.5, fractional). Read from ``spatial_used`` when recorded, else deduced from
    the temporal loops (layer size / temporal factor), which ZigZag derives from the used unrolling."""
    on: dict[str, list[str]] = {}
    for adim, unrolls in record["spatial"].items():
        for dim, factor in unrolls.items():
            if factor != 1:
                on.setdefault(dim, []).append(adim)
    out: dict[str, float] = {}
    for dim, adims in on.items():
        if len(adims) != 1:
            continue
        named = record["spatial"][adims[0]][dim]
        if "spatial_used" in record:
            value = record["spatial_used"].get(dim, named)
        else:
            temporal = math.prod(size for d, size in record["loops"] if d == dim)
            size = record.get("dims", {}).get(dim)
            if size is None:
                continue
            value = size / temporal
        if value != named:
            out[dim] = value
    return out


def format_mapping(mapping: Mapping, accel: Accelerator) -> str:
    """imcmap's mapping as a loop nest, outermost first, with each operand's level per loop
    (the layout of ZigZag's ``print_mapping``, for side-by-side reading)."""
    operands = list(mapping.cuts)
    chains = {op: [m.name for m in accel.chain(mapping.operand_links[op])] for op in operands}
    width = max((len(n) for c in chains.values() for n in c), default=4) + 3
    head = f"{'Temporal loops':<34}" + "".join(f"{op.value:<{width}}" for op in operands)
    lines = [head, "-" * len(head)]
    n = len(mapping.loops)
    for depth, index in enumerate(range(n - 1, -1, -1)):
        loop = mapping.loops[index]
        where = []
        for op in operands:
            level = next(i for i, cut in enumerate(mapping.cuts[op]) if index < cut)
            where.append(f"{chains[op][level]:<{width}}")
        lines.append(f"{'  ' * depth + f'for {loop.dim} in [0, {loop.size}):':<34}" + "".join(where))
    lines.append("Spatial loops")
    for adim, unrolls in mapping.spatial.items():
        for dim, factor in unrolls.items():
            lines.append(f"  parfor {dim} in [0, {factor}):  on {adim}")
    return "\n".join(lines)
