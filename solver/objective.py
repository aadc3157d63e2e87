"""Objective terms: the evaluator's traffic, energy and latency rules as CP-SAT expressions.

Each transfer of ``models.evaluator.traffic`` becomes a ``Flow``: a product of loop factors
(refills x tile x instances, plus the input halo) times a precision. Output partial sums add
``refills - distinct`` transfers; ``distinct x tile x instances`` does not depend on the temporal
mapping (it equals |O| times the output-irrelevant unrolling over the array dims the level does not
serve), so it enters exactly, through a table over the spatial choice, as a ``Correction``.
Positive flows enter as tangent lower bounds (``terms.lower_bound``), so the model's objective
never exceeds the evaluator's cost of the decoded mapping: CP-SAT's bound is a valid lower bound.
For energy on ZigZag's rules the corrections apply only where the outputs are final, the array's
outputs are written every iteration, and spatial tiles carry ZigZag's word rounding (``build_flows``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from math import ceil, exp, floor, log, prod

from ortools.sat.python import cp_model

from imcmap.models.hardware import DigitalArray, ImcArray, MemoryLevel
from imcmap.models.imc import imc_layer_energy_pj
from imcmap.models.workload import OPERANDS, Operand
from imcmap.models.zigzag_rules import FROM_HIGHER, FROM_LOWER, TO_HIGHER, TO_LOWER

from .constraints import HALO_PAIRS, dims_bounds, exact_tile, input_halo, nonhalo_relevant
from .policy import SolvePolicy
from .problem import MappingProblem, candidate_rows
from .terms import (
    LOG_SCALE,
    Term,
    exact_value,
    floor_log,
    lower_bound,
    table_value,
)
from .variables import PE, Exp, Exps, MappingVars, add_exps, sub_exps


@dataclass
class Correction:
    """Exact elements to subtract (``total``) and their per-instance share (``per_instance``)."""

    level: MemoryLevel
    direction: str
    bits: int
    total: cp_model.IntVar
    per_instance: cp_model.IntVar
    total_max: int
    per_instance_max: int
    link: str = ""  # the direction of the transfer it corrects, as ports name it (``zigzag_rules.DIRECTIONS``)
    finished: cp_model.IntVar | None = None  # true only if outputs are final at the cut; None: subtract always


@dataclass
class Flow:
    """``elements(exps, halo) * bits`` moved at ``level`` (total over its instances)."""

    level: MemoryLevel
    operand: Operand
    direction: str  # "read" | "write"
    bits: int
    exps: Exps
    inst_exps: Exps
    halo: list = field(default_factory=list)
    correction: Correction | None = None  # the exact part to subtract from this flow (outputs)
    inst_logs: list = field(default_factory=list)  # instance factors given as logs (in totals only)
    transfers: Exps | None = None  # refills x instances: one transfer per refill and instance
    link: str = ""  # the transfer's direction at this level, as ports name it (``zigzag_rules.DIRECTIONS``)
    readback: bool = False  # a partial sum coming back down (exists only while outputs are partial)
    words: tuple[cp_model.IntVar, int] | None = None  # (log, its max) of ZigZag's whole words per transfer
    cut: int = PE  # the operand's cut whose tile one transfer moves (as ``level`` holds it)


def _flow(level: MemoryLevel, operand: Operand, direction: str, bits: int, parts: tuple[Exps, Exps, list, list, Exps],
          correction: Correction | None, link: str, cut: int, readback: bool = False) -> Flow:
    """A Flow from ``parts``, what ``_elements`` returns: (exps, instance exps, halo, instance logs,
    transfers)."""
    exps, inst_exps, halo, inst_logs, transfers = parts
    return Flow(level=level, operand=operand, direction=direction, bits=bits, exps=exps, inst_exps=inst_exps,
                halo=halo, correction=correction, inst_logs=inst_logs, transfers=transfers, link=link,
                readback=readback, cut=cut)


def _instances(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, level: MemoryLevel
) -> tuple[Exps, list]:
    """Instances of ``level`` in use for ``op``: the unrolling over the dims it does not serve, or for
    IMC row registers rows_total (per spatial candidate, as a floored log) times the macro unrolling."""
    if not problem.row_registers(op, level):
        return v.instances_exps(level.served_dims), []
    d2 = problem.accel.array_dims[1].name
    others = [a for a in v.array_dims() if a not in level.served_dims and a != d2]
    logs = [floor_log(candidate_rows(problem.layer, problem.accel, cand)[0]) for cand in problem.groups[0].candidates]
    var = model.new_int_var(0, max(logs), f"rows_log[{level.name}]")
    model.add(var == sum(lg * b for lg, b in zip(logs, v.choice[0], strict=True) if lg))
    return v.spatial_exps(others, v.all_dims()), [(var, max(logs))]


def _correction(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    level: MemoryLevel,
    direction: str,
    bits: int,
    name: str,
    link: str,
    finished: cp_model.IntVar | None = None,
) -> Correction:
    """|O| * (output-irrelevant unrolling over the dims ``level`` does not serve), and per instance
    |O| / (output-relevant unrolling over those dims)."""
    size_o = problem.layer.operand_size(Operand.O)
    unserved = [a for a in v.array_dims() if a not in level.served_dims]
    irr, rel = v.irrelevant(Operand.O), v.relevant(Operand.O)
    total = exact_value(
        model, [(v.spatial_exps(unserved, irr), dims_bounds(problem, irr))], lambda x: size_o * x, f"{name}.tot"
    )
    per = exact_value(
        model, [(v.spatial_exps(unserved, rel), dims_bounds(problem, rel))], lambda x: size_o // x, f"{name}.per"
    )
    irr_max = 1
    for p, e in dims_bounds(problem, irr).items():
        irr_max *= p**e
    return Correction(
        level=level,
        direction=direction,
        bits=bits,
        total=total,
        per_instance=per,
        total_max=size_o * irr_max,
        per_instance_max=size_o,
        link=link,
        finished=finished,
    )


def _elements(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, rel: list[str], cut: int,
              level: MemoryLevel, refill: Exps) -> tuple[Exps, Exps, list, list, Exps]:
    """refills x tile (at op's ``cut``, as ``level`` holds it) x instances of ``level``; the fourth item
    holds instance factors that are not products of loop factors (IMC row registers); the last is
    refills x instances (the transfers)."""
    served = problem.tile_served(op, level)
    inst, inst_logs = _instances(model, v, problem, op, level)
    exps = add_exps(refill, v.tile_exps(op, cut, served, rel), inst)
    halo = input_halo(model, v, problem, cut, served, f"h[{op.value}{cut}/{level.name}]") if op is Operand.I else []
    return exps, inst, [(h[1], h[2]) for h in halo], inst_logs, add_exps(refill, inst)


def _finished(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, level: int) -> cp_model.IntVar:
    """A literal that is true only where no output-irrelevant loop remains above the outputs' stationary
    cut at ``level`` (PE: any temporal loop), ZigZag's test for partial sums: sum of those exponents == 0."""
    irr = v.irrelevant(Operand.O)
    above = v.temporal_all(irr) if level == PE else sub_exps(v.temporal_above(Operand.O, level, irr),
                                                             v.runs[(Operand.O, level)])
    count = sum(above.values())
    most = sum(dims_bounds(problem, irr).values())
    done = model.new_bool_var(f"final[O{level}]")
    # linear both ways, so the LP relaxation sees them too
    model.add(count + most * done <= most)
    model.add(count + done >= 1)
    return done


WordTables = dict[tuple[object, ...], cp_model.IntVar]  # one rounding table per (tile, word, width)


def _tile_words(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, cut: int,
                level: MemoryLevel, link: str, bits: int, final_bits: int | None,
                done: cp_model.IntVar | None, name: str, tables: WordTables,
                most_rows: int) -> tuple[cp_model.IntVar, int] | None:
    """ZigZag's whole ``bandwidth_min`` words on a transfer of ``op``'s tile at ``cut`` (as ``level`` holds
    it), as a log factor r on the flow: ceil(A b / w) w / (A b) for a tile of A elements, exact per tile by
    a table over its prime exponents (inputs: with each axis' outputs and taps apart, for the halo), its
    logs floored so it stays a lower bound. Outputs (``done`` given): at ``bits`` (psum) while partial;
    once final the flow less its correction must be the final write in words, A o r_o, so r = 1 + o (r_o -
    1) / psum (``final_bits`` o), or no rounding for a read-back (``final_bits`` None), which is then 0.
    None where nothing rounds or the table would have more than ``most_rows`` rows (then the one-word floor
    alone holds).
    Flows that move the same tile in the same words share a table (``tables``)."""
    word = problem.accel.port(level, problem.rule.operand_links[op], link).bandwidth_min_bits
    if word <= 1:
        return None
    layer = problem.layer
    served = problem.tile_served(op, level)
    rel = nonhalo_relevant(v, op)
    parts = [(v.tile_exps(op, cut, served, rel), dims_bounds(problem, rel))]
    axes: list[str] = []
    if op is Operand.I:
        for o_dim, f_dim, _axis in HALO_PAIRS:
            if o_dim in problem.dim_primes or f_dim in problem.dim_primes:
                parts += [(v.tile_exps(op, cut, served, [d]), dims_bounds(problem, [d])) for d in (o_dim, f_dim)]
                axes.append(o_dim[1])
    if prod(b + 1 for _, bounds in parts for b in bounds.values()) > most_rows:
        return None

    def elements(values: tuple[int, ...]) -> int:
        return values[0] * prod(layer.input_extent(a, values[1 + 2 * k], values[2 + 2 * k]) for k, a in enumerate(axes))

    def rounding(count: int, width: int) -> float:
        return ceil(count * width / word) * word / (count * width)

    def partial_log(*values: int) -> int:
        return floor_log(rounding(elements(values), bits))

    def final_log(*values: int) -> int:
        assert final_bits is not None
        return floor_log(1 + final_bits * (rounding(elements(values), final_bits) - 1) / bits)

    def table(fn: Callable[..., int], width: int, tag: str) -> cp_model.IntVar:
        key = (op, cut, tuple(sorted(served)), word, bits, width)
        if key not in tables:
            tables[key] = table_value(model, parts, fn, f"{name}.{tag}")
        return tables[key]

    logs = [table(partial_log, bits, "p")]
    if done is not None and final_bits:
        logs.append(table(final_log, final_bits, "f"))
    most = max(max(list(model.proto.variables[x.index].domain)) for x in logs)  # the tables' largest logs
    if most <= 0:
        return None
    if done is None:
        return logs[0], most
    r = model.new_int_var(0, most, name)
    model.add(r >= logs[0] - most * done)
    if len(logs) > 1:
        model.add(r >= logs[1] - most * (1 - done))
    return r, most


def build_flows(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, policy: SolvePolicy | None = None
) -> tuple[list[Flow], list[Correction]]:
    """The flows and the output corrections of the layer. With ``policy.partial_sums_per_write`` partial
    sums follow ZigZag's rules: the array writes its outputs every iteration, and the corrections
    (finished outputs at their final width, no read-back before the first write) apply only where the
    outputs at that cut are final, when the refills equal the distinct tiles and theirs match imcmap's."""
    flows: list[Flow] = []
    corrections: list[Correction] = []
    prec = problem.layer.precision
    theirs = policy is not None and policy.partial_sums_per_write
    tables: WordTables = {}
    rows = policy.word_table_rows if policy is not None else 0
    for op in OPERANDS:
        levels = [problem.level(op, i) for i in range(problem.chain_length(op))]
        elements = partial(_elements, model, v, problem, op, nonhalo_relevant(v, op))
        # (cut, level, link, bits, final bits, done, name) -> the flow's whole words on ZigZag's rules
        words = partial(_tile_words, model, v, problem, op, tables=tables, most_rows=rows)
        bottom = levels[0]
        every_iteration = theirs and op is Operand.O
        parts = elements(PE, bottom, v.temporal_all(v.all_dims()) if every_iteration else v.refill_exps(op, PE))
        if op is Operand.O:
            done = _finished(model, v, problem, PE) if theirs else None
            cw = _correction(model, v, problem, bottom, "write", prec.psum_bits - prec.o_bits, f"c[O/{bottom.name}/w]",
                             FROM_LOWER, done)
            cr = _correction(model, v, problem, bottom, "read", prec.psum_bits, f"c[O/{bottom.name}/r]", TO_LOWER,
                             done)
            flows.append(_flow(bottom, op, "write", prec.psum_bits, parts, cw, FROM_LOWER, PE))
            flows.append(_flow(bottom, op, "read", prec.psum_bits, parts, cr, TO_LOWER, PE, readback=True))
            if theirs:
                tag = f"w[O/{bottom.name}"
                flows[-2].words = words(PE, bottom, FROM_LOWER, prec.psum_bits, prec.o_bits, done, tag + "/w]")
                flows[-1].words = words(PE, bottom, TO_LOWER, prec.psum_bits, None, done, tag + "/r]")
            corrections += [cw, cr]
        else:
            flows.append(_flow(bottom, op, "read", prec.bits(op), parts, None, TO_LOWER, PE))
            if theirs:
                flows[-1].words = words(PE, bottom, TO_LOWER, prec.bits(op), None, None, f"w[{op.value}/{bottom.name}]")
        for i in range(len(levels) - 1):
            child, parent = levels[i], levels[i + 1]
            r = v.refill_exps(op, i)
            c_exps, c_inst, c_halo, c_logs, c_moves = elements(i, child, r)
            p_exps, p_inst, p_halo, p_logs, p_moves = elements(i, parent, r)
            if op is Operand.O:
                done = _finished(model, v, problem, i) if theirs else None
                for lvl, e, ins, h, lg, mv, first, second, links in (
                    (child, c_exps, c_inst, c_halo, c_logs, c_moves, "read", "write", (TO_HIGHER, FROM_HIGHER)),
                    (parent, p_exps, p_inst, p_halo, p_logs, p_moves, "write", "read", (FROM_LOWER, TO_LOWER)),
                ):
                    tag = f"c[O{i}/{lvl.name}"
                    c1 = _correction(model, v, problem, lvl, first, prec.psum_bits - prec.o_bits, tag + "/1]", links[0],
                                     done)
                    c2 = _correction(model, v, problem, lvl, second, prec.psum_bits, tag + "/2]", links[1], done)
                    flows.append(_flow(lvl, op, first, prec.psum_bits, (e, ins, h, lg, mv), c1, links[0], i))
                    flows.append(_flow(lvl, op, second, prec.psum_bits, (e, ins, h, lg, mv), c2, links[1], i,
                                       readback=True))
                    if theirs:
                        tag = f"w[O{i}/{lvl.name}"
                        flows[-2].words = words(i, lvl, links[0], prec.psum_bits, prec.o_bits, done, tag + "/1]")
                        flows[-1].words = words(i, lvl, links[1], prec.psum_bits, None, done, tag + "/2]")
                    corrections += [c1, c2]
            else:
                child_parts = (c_exps, c_inst, c_halo, c_logs, c_moves)
                parent_parts = (p_exps, p_inst, p_halo, p_logs, p_moves)
                flows.append(_flow(child, op, "write", prec.bits(op), child_parts, None, FROM_HIGHER, i))
                flows.append(_flow(parent, op, "read", prec.bits(op), parent_parts, None, TO_LOWER, i))
                if theirs:
                    for flow, lvl, link in ((flows[-2], child, FROM_HIGHER), (flows[-1], parent, TO_LOWER)):
                        flow.words = words(i, lvl, link, prec.bits(op), None, None, f"w[{op.value}{i}/{lvl.name}]")
    return flows, corrections


SUB_SCALE = 1_000_000


def subtracted(
    model: cp_model.CpModel, coef: float, value: cp_model.IntVar, hi: int, name: str
) -> Exp:
    """An integer u, at least ``coef * value`` and at most one unit more, to subtract from the
    objective (rounding up keeps the objective a lower bound; minimisation pushes u to its top).
    ``hi`` bounds ``value`` (read from the variable's proto, it can dangle as the model grows)."""
    scaled = ceil(abs(coef) * SUB_SCALE)
    sign = 1 if coef > 0 else -1
    u = model.new_int_var(
        min(0, sign * ceil(abs(coef) * hi)) - 1, max(0, sign * ceil(abs(coef) * hi)) + 1, f"sub[{name}]"
    )
    if sign > 0:
        model.add(SUB_SCALE * u <= scaled * value + SUB_SCALE - 1)
    else:  # a negative coefficient adds: round its magnitude down instead
        model.add(SUB_SCALE * u <= -floor(abs(coef) * SUB_SCALE) * value)
    return u


def _corrected(model: cp_model.CpModel, coef: float, value: cp_model.IntVar, value_max: int,
               finished: cp_model.IntVar | None, name: str) -> Exp | None:
    """What a correction subtracts, ``subtracted``'s u >= coef x value, and where ``finished`` is given only
    while it is true (outputs final at the cut: partial sums are all priced); None for a zero coefficient,
    or a negative one (psum narrower than the output) that applies only when final, which is left out."""
    if not coef or (coef < 0 and finished is not None):
        return None
    u = subtracted(model, coef, value, value_max, name)
    if finished is not None:
        model.add(u <= (ceil(coef * value_max) + 1) * finished)
    return u


def add_volume_floor(
    model: cp_model.CpModel,
    problem: MappingProblem,
    f: Flow,
    t: cp_model.IntVar,
    coef_units: float,
    per_instance: bool = False,
) -> None:
    """Valid cuts that the log-domain relaxation misses: a level moves every element of W or I at
    least once, and an output flow is at least its exact correction (refills >= distinct), which
    keeps every (flow - correction) pair non-negative in the LP relaxation."""
    if f.correction is not None:
        value = f.correction.per_instance if per_instance else f.correction.total
        model.add(SUB_SCALE * t >= floor(coef_units * SUB_SCALE) * value)
    elif f.operand is not Operand.O and (not per_instance or _single_instance(problem, f.level)):
        # every element passes once; a level with one instance sees all of them on its one port
        model.add(t >= floor(coef_units * problem.layer.operand_size(f.operand)))


def padded_term(
    model: cp_model.CpModel,
    per_element: float,
    per_transfer: float,
    exps: Exps,
    transfers: Exps,
    halo: list,
    extra: list,
    bounds: dict[int, int],
    unit: float,
    name: str,
) -> tuple[Term, float]:
    """``transfers x max(per_element x tile, per_transfer)`` as one log-domain term: ZigZag's rules move
    whole words (energy) in whole cycles (latency), so a transfer costs at least ``per_transfer``. The
    max is taken in the log domain, ``u >= log(per_element x tile)``, ``u >= log(per_transfer)``, so
    the term keeps a single tangent family (a second family per flow slowed proofs by 40%).
    ``exps`` / ``halo`` are the whole flow's (tile included), ``transfers`` without the tile, ``extra``
    logs that multiply both (instances). Also returns the term's largest value (in ``unit``): at most
    ``max(per_element, per_transfer)`` times the largest product of the exponents and logs."""
    a, b = floor_log(per_element / unit), floor_log(per_transfer / unit)
    base = min(a, b)
    tile = sub_exps(exps, transfers)
    tile_max = sum(floor_log(p) * e for p, e in bounds.items()) + sum(m for _, m in halo)
    u_max = max(a - base + tile_max, b - base)
    u = model.new_int_var(0, u_max, f"{name}.pad")
    model.add(u >= a - base + sum(floor_log(p) * e for p, e in tile.items()) + sum(var for var, _ in halo))
    model.add(u >= b - base)
    # coef whose floored log is at most ``base`` (rounding down keeps the term a lower bound)
    term = Term(unit * exp(base / LOG_SCALE) * (1 - 1e-12), transfers, bounds, [(u, u_max), *extra], name)
    largest = log(max(per_element, per_transfer) / unit) + sum(e * log(p) for p, e in bounds.items())
    largest += sum(m + 1 for _, m in halo + extra) / LOG_SCALE
    return term, exp(min(largest, 80))


def _single_instance(problem: MappingProblem, level: MemoryLevel) -> bool:
    return all(d.name in level.served_dims for d in problem.accel.array_dims)


def _energy_per_bit(level: MemoryLevel, direction: str) -> float:
    if direction == "read":
        return level.read_energy_pj / level.read_bw_bits
    return level.write_energy_pj / level.write_bw_bits


def array_energy_values(problem: MappingProblem) -> list[list[float]]:
    """Exact array energy (pJ) of each spatial candidate, per group (IMC: the D1/D2 group)."""
    accel, layer = problem.accel, problem.layer
    out: list[list[float]] = []
    names = [d.name for d in accel.array_dims]
    for g, group in enumerate(problem.groups):
        values = []
        for cand in group.candidates:
            if isinstance(accel.array, ImcArray) and g == 0:
                d1, d2 = cand.get(names[0], {}), cand.get(names[1], {})
                rows_total, rows_adder = candidate_rows(layer, accel, cand)
                cols, rows_u = prod(d1.values()), prod(d2.values())
                energy = imc_layer_energy_pj(
                    accel.array,
                    cols=cols,
                    rows_total=rows_total,
                    rows_adder=rows_adder,
                    activations=layer.macs / (cols * rows_u),
                )
                values.append(sum(energy.values()))
            else:
                values.append(0.0)
        out.append(values)
    return out


def _bits_all_bounds(problem: MappingProblem) -> dict[int, int]:
    return dims_bounds(problem, sorted(problem.dim_primes))


def energy_objective(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    flows: list[Flow],
    corrections: list[Correction],
    unit_pj: float,
    policy: SolvePolicy,
) -> Exp:
    """Energy in ``unit_pj``: memory traffic (tangent bounds) - exact corrections + array energy."""
    bounds = _bits_all_bounds(problem)
    parts = []
    for k, f in enumerate(flows):
        coef = f.bits * _energy_per_bit(f.level, f.direction)
        name = f"e[{k}:{f.operand.value}/{f.level.name}/{f.direction}]"
        # ZigZag's whole words (``_tile_words``): a log factor on the elements; the one-word floor below
        # stays, for the LP (the factor is a table) and where the table is too large
        halo = f.halo + ([f.words] if f.words is not None else [])
        term, largest = Term(coef, f.exps, bounds, halo + f.inst_logs, name), None
        if policy.transfer_floors and coef > 0 and not f.readback and f.transfers is not None:
            # at least one bandwidth_min word per transfer; not for partial-sum read-backs, which vanish
            # where no output-irrelevant loop remains above the cut while this floor would not
            port = problem.accel.port(f.level, problem.rule.operand_links[f.operand], f.link)
            if port.bandwidth_min_bits > f.bits:  # else one element fills a word: the floor is the term
                per_access = f.level.read_energy_pj if f.direction == "read" else f.level.write_energy_pj
                term, largest = padded_term(model, coef, port.bandwidth_min_bits / port.bandwidth_bits * per_access,
                                            f.exps, f.transfers, halo, f.inst_logs, bounds, unit_pj, name)
        t = lower_bound(model, term, unit_pj, value_max=largest, step=policy.tangent_step, snap=policy.snap_tangents)
        if t is not None:
            add_volume_floor(model, problem, f, t, coef / unit_pj)
            parts.append(t)
    expr: Exp = sum(parts)
    for c in corrections:
        coef = c.bits * _energy_per_bit(c.level, c.direction) / unit_pj
        u = _corrected(model, coef, c.total, c.total_max, c.finished, c.level.name)
        if u is not None:
            expr -= u
    array = problem.accel.array
    if isinstance(array, DigitalArray):
        expr += floor(problem.layer.macs * array.mac_energy_pj / unit_pj)
    else:
        values = array_energy_values(problem)
        scaled = [floor(val / unit_pj) for vals in values for val in vals]
        # one variable for the array energy: with the one-hot sum written into the objective itself,
        # CP-SAT's presolve expands it and the root bound collapses (-7.8e7 units on AlexNet conv3)
        array_units = model.new_int_var(
            min(scaled),
            sum(max(vals, default=0) for vals in ([floor(x / unit_pj) for x in vs] for vs in values)),
            "array_energy",
        )
        model.add(
            array_units
            == sum(
                floor(val / unit_pj) * b
                for g, vals in enumerate(values)
                for val, b in zip(vals, v.choice[g], strict=True)
            )
        )
        expr += array_units
    return expr


def _peak_over_compute(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, unit_cycles: float,
                       step: float, name: str) -> tuple[cp_model.IntVar, cp_model.IntVar]:
    """(peak, compute): a variable at least the compute cycles, cycles per MAC x the temporal loops (in
    tangents ``step`` apart), for the other rows of a max() to push up too."""
    peak = model.new_int_var(0, 1 << 50, f"{name}.peak")
    cycles = Term(problem.accel.cycles_per_mac, v.temporal_all(v.all_dims()), _bits_all_bounds(problem), [],
                  f"{name}.compute")
    compute = lower_bound(model, cycles, unit_cycles, step=step)
    assert compute is not None  # cycles per MAC are positive, so the compute term always has a bound
    model.add(peak >= compute)
    return peak, compute


def latency_objective(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    flows: list[Flow],
    corrections: list[Correction],
    unit_cycles: float,
    policy: SolvePolicy,
) -> Exp:
    """max(compute, each level's port cycles) + IMC weight loading + fill/drain, as a lower bound."""
    bounds = _bits_all_bounds(problem)
    accel = problem.accel
    cells = problem.level(Operand.W, 0) if isinstance(accel.array, ImcArray) else None
    step = policy.tangent_step
    peak, compute = _peak_over_compute(model, v, problem, unit_cycles, step, "lat")
    weights_parent = problem.level(Operand.W, 1) if cells is not None and problem.chain_length(Operand.W) > 1 else None
    weight_stall: list[cp_model.IntVar] = []
    serial: list[cp_model.IntVar] = []
    for _li, level in enumerate(accel.memories):
        busy: dict[str, list] = {}  # per port: "read"/"write", or the allocated port (``_port_key``)
        for k, f in enumerate(flows):
            if f.level is not level:
                continue
            per = Term(
                f.bits / (level.read_bw_bits if f.direction == "read" else level.write_bw_bits),
                sub_exps(f.exps, f.inst_exps),
                bounds,
                f.halo,
                f"l[{k}:{f.operand.value}/{level.name}/{f.direction}]",
            )
            timed, largest = per, None
            if policy.transfer_floors and f.transfers is not None and per.coef < 1:  # else an element takes a cycle
                # ZigZag's ports take whole cycles per transfer: a surrogate, not a bound (its latency
                # is not certified), that steers the search away from many tiny transfers on one port
                timed, largest = padded_term(model, per.coef, 1.0, per.exps, sub_exps(f.transfers, f.inst_exps), f.halo,
                                             [], bounds, unit_cycles, per.name)
            t = lower_bound(model, timed, unit_cycles, value_max=largest, step=step)
            if t is None:
                continue
            add_volume_floor(model, problem, f, t, per.coef / unit_cycles, per_instance=True)
            if level is cells and f.operand is Operand.W:
                if f.direction == "write":
                    serial.append(t)
                continue
            if (policy.weight_refill_stalls and cells is not None and f.operand is Operand.W and f.direction == "read"
                    and level is weights_parent):
                # the cells are never double-buffered: ZigZag stalls the macro for each weight
                # refill at the speed of the level that sends it, on top of the compute cycles
                weight_stall.append(t)
            busy.setdefault(_port_key(problem, policy, f.level, f.operand, f.link, f.direction), []).append(t)
        for c in corrections:
            if c.level is level:
                bw = level.read_bw_bits if c.direction == "read" else level.write_bw_bits
                coef = c.bits / bw / unit_cycles
                if coef:
                    key = _port_key(problem, policy, level, Operand.O, c.link, c.direction)
                    busy.setdefault(key, []).append(
                        -subtracted(model, coef, c.per_instance, c.per_instance_max, level.name)
                    )
        if not busy:
            continue
        if level.ports == 1 and not policy.physical_ports:
            model.add(peak >= sum(sum(ts) for ts in busy.values()))
        else:
            for ts in busy.values():
                model.add(peak >= sum(ts))
    if weight_stall:
        model.add(peak >= compute + sum(weight_stall))
    return peak + sum(serial) + fill_drain_lower_bound(model, v, problem, cells, unit_cycles, policy)


def zigzag_latency_bound(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    flows: list[Flow],
    corrections: list[Correction],
    unit_cycles: float,
    step: float,
) -> Exp:
    """A lower bound on ZigZag 3.9.1's latency (``models.zigzag_rules``): at least the compute cycles,
    and at least every physical port's transfer cycles less one transfer per link.

    Their latency is compute C + stall + loading, stall >= each port's, and a port's is
    sum(pos s_l) + max(0, sum(neg s_l) + windows - union) >= sum_l s_l + windows - union with
    s_l = (real_l - allowed_l)(N_l - 1), windows = sum_l allowed_l (N_l - 1) and union <= C (every window
    lies in the compute time; ``cycles_per_mac`` is an integer), so latency >= sum_l real_l (N_l - 1)
    >= sum_l (A_l b_l / w)(N_l) - A_l b_l / w, A_l the elements of one transfer. ``flows`` must be
    built with ``partial_sums_per_write`` (ZigZag's links, one flow each); tangents ``step`` apart."""
    bounds = _bits_all_bounds(problem)
    accel = problem.accel
    peak, _ = _peak_over_compute(model, v, problem, unit_cycles, step, "zlat")
    exact = _exact_compute(v, problem, unit_cycles)
    if exact is not None:
        model.add(peak >= exact)
    prec = problem.layer.precision
    busy: dict[str, list[Exp]] = {}
    tiles: dict[tuple[Operand, int, str], cp_model.IntVar] = {}  # a partial sum's write and read-back share one
    for k, f in enumerate(flows):
        port = accel.port(f.level, problem.rule.operand_links[f.operand], f.link)
        per_cycle = f.bits / port.bandwidth_bits
        name = f"zlat[{k}:{f.operand.value}/{f.level.name}/{f.link}]"
        t = lower_bound(model, Term(per_cycle, sub_exps(f.exps, f.inst_exps), bounds, f.halo, name), unit_cycles,
                        step=step)
        if t is None:
            continue
        # one transfer less: its elements exactly, at the widest precision the link may carry
        widest = max(f.bits, prec.o_bits) if f.operand is Operand.O else f.bits
        held = (f.operand, f.cut, f.level.name)
        if held not in tiles:
            tiles[held] = exact_tile(model, v, problem, f.operand, f.cut, f"{name}.first", held_by=f.level)
        first = tiles[held]
        first_max = problem.layer.operand_size(f.operand)
        key = f"{f.level.name}/{port.name}"
        busy.setdefault(key, []).extend(
            [t, -subtracted(model, widest / port.bandwidth_bits / unit_cycles, first, first_max, f"{name}.first")])
    for c in corrections:
        port = accel.port(c.level, problem.rule.operand_links[Operand.O], c.link)
        coef = c.bits / port.bandwidth_bits / unit_cycles
        u = _corrected(model, coef, c.per_instance, c.per_instance_max, c.finished, f"zlat.{c.level.name}.{c.link}")
        if u is not None:
            busy.setdefault(f"{c.level.name}/{port.name}", []).append(-u)
    for terms in busy.values():
        model.add(peak >= sum(terms))
    return peak


def _exact_compute(v: MappingVars, problem: MappingProblem, unit_cycles: float) -> Exp | None:
    """The compute cycles, cycles per MAC x MACs / the unrolled factors, as one linear sum over the one-hot
    spatial choice (rounded down), where at most one spatial group has a choice; else None. Its LP
    relaxation is the cheapest candidate's, where the log-domain tangents' is below every candidate's."""
    chosen = [g for g, group in enumerate(problem.groups) if len(group.candidates) > 1]
    if len(chosen) > 1:
        return None
    fixed = prod(f for group in problem.groups if len(group.candidates) == 1
                 for dims in group.candidates[0].values() for f in dims.values())
    cycles = problem.accel.cycles_per_mac * problem.layer.macs / fixed / unit_cycles
    if not chosen:
        return floor(cycles)
    group = problem.groups[chosen[0]]
    return sum(floor(cycles / prod(f for dims in cand.values() for f in dims.values())) * b
               for cand, b in zip(group.candidates, v.choice[chosen[0]], strict=True))


def _port_key(problem: MappingProblem, policy: SolvePolicy, level: MemoryLevel, operand: Operand, link: str,
              direction: str) -> str:
    """The port a flow's cycles add up on: its direction, or with ``physical_ports`` the allocated port."""
    if not policy.physical_ports:
        return direction
    return problem.accel.port(level, problem.rule.operand_links[operand], link).name


def fill_drain_lower_bound(
    model: cp_model.CpModel,
    v: MappingVars,
    problem: MappingProblem,
    cells: MemoryLevel | None,
    unit_cycles: float,
    policy: SolvePolicy,
) -> Exp:
    """Tiles of the non-top levels, filled before the first MAC (outputs drained after the last one)."""
    bounds = _bits_all_bounds(problem)
    prec = problem.layer.precision
    parts = []
    for op in OPERANDS:
        rel = nonhalo_relevant(v, op)
        for i in range(problem.chain_length(op) - 1):
            level = problem.level(op, i)
            if level is cells:
                continue
            bw = level.read_bw_bits if op is Operand.O else level.write_bw_bits
            bits = prec.bits(op)  # outputs drain finished, at o_bits
            served = problem.tile_served(op, level)
            halo = input_halo(model, v, problem, i, served, f"fd[{op.value}/{level.name}]") if op is Operand.I else []
            tile = v.tile_exps(op, i, served, rel)
            logs = [(h[1], h[2]) for h in halo]
            t = lower_bound(model, Term(bits / bw, tile, bounds, logs, f"fd[{op.value}/{level.name}]"), unit_cycles,
                            step=policy.tangent_step)
            if t is not None:
                parts.append(t)
    return sum(parts)
