"""The exact evaluator: the executable specification of imcmap's cost model.

``check(layer, accel, mapping)`` lists why a mapping is illegal; ``evaluate`` prices a legal one.
The solver's linearization is judged against this module, so every rule lives here once.

Traffic rules, for an operand X whose memory chain (levels holding X's memory operand, lowest
first) is l_0 .. l_n and whose cut ``c_i`` puts ``loops[:c_i]`` at or below l_i:

* ``refills(X, c)`` = product of the loops above ``c``, divided by the leading run of loops
  irrelevant to X directly above ``c`` (while only X-irrelevant loops iterate, the tile below
  stays valid: stationarity). ``distinct(X, c)`` = product of the X-relevant loops above ``c``.
* ``tile(X, c, level)`` = X's footprint over ``loops[:c]`` and the spatial unrolling on the
  array dims ``level`` serves (the input footprint includes the OX/FX and OY/FY halo);
  ``inst(level)`` = product of the array-dim usage over the dims ``level`` does not serve.
* W and I: the array reads l_0 ``refills(X, 0) * tile(X, 0, l_0) * inst(l_0)`` elements; across
  each boundary i -> i+1 the child is written and the parent read ``refills(X, c_i)`` times a
  tile (child: ``tile(.., l_i) * inst(l_i)``, parent: ``tile(.., l_i+1) * inst(l_i+1)``).
* O: the same transfers go upward (the array writes l_0); ``refills - distinct`` of them are
  partial sums that must first come back down (read from the parent, written to the child).
  Partial sums travel at ``psum_bits``, final outputs at ``o_bits``.
* Memory energy = bits / port width * energy per access. IMC array energy follows
  ``models.imc`` (ZigZag's form, with local-bitline precharges counted when a cell group holds several
  weights); a digital array pays ``mac_energy_pj`` per MAC.

On an accelerator read from a ZigZag file (``Accelerator.rules`` is ``CostRules.ZIGZAG``) the memory
energy and the latency follow ZigZag 3.9.1's rules instead (``models/zigzag_rules.py``); the legality
check, the tiles (``models/context.py``) and the array energy are the same in both. ``RULE_SETS`` is the
one place that maps a ``CostRules`` to its pricing.

Latency (cycles): ``max(compute, slowest memory port)`` + IMC weight loading (a macro cannot
compute while its cells are written) + filling the lowest levels before the first MAC and
draining the outputs after the last one. Compute = temporal iterations x Bi/Bc on IMC arrays.

A dynamic W (attention's, computed during inference) is priced as any W: every evaluation is one
inference, so the cells are written, and the macro stalls, each time; ``cell_writes`` names that share
of the report. Where the W comes from is the hierarchy's business (the network driver may hand the
layer one where it is read from an on-chip level), and which operand the cells hold is the layer's
(``workload.operands_exchanged``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import NamedTuple

from .context import Context, WalkCache, imc_rows  # the last two also imported from here by polish and tests
from .errors import ImcmapError
from .hardware import Accelerator, CostRules, DigitalArray, ImcArray, MemoryLevel
from .mapping import Loop, Mapping
from .report import Accesses, CostReport, EnergyItem, Violation
from .workload import LOOP_DIMS, OPERANDS, Layer, Operand, is_relevant
from .zigzag_rules import ZigZagCosts, zigzag_costs

_Context = Context  # the name bench/zigzag_model.py imports

IMC_COLUMN_DIMS = frozenset({"K", "OX", "OY", "G"})  # D1: one weight word per column
IMC_ROW_DIMS = frozenset({"C", "FX", "FY"})  # D2: summed by the adder tree / bitline


class IllegalMapping(ImcmapError, ValueError):
    """Raised by ``evaluate`` for a mapping that ``check`` rejects."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("; ".join(f"{v.where}: {v.message}" for v in violations))


# ----------------------------------------------------------------------------- loop helpers


def refills(operand: Operand, loops: tuple[Loop, ...], cut: int) -> int:
    """Times the tile below ``cut`` is (re)loaded: loops above it, less the stationary run."""
    above = loops[cut:]
    total = prod(loop.size for loop in above)
    run = 1
    for loop in above:
        if loop.size == 1:
            continue
        if is_relevant(operand, loop.dim):
            break
        run *= loop.size
    return total // run


def distinct_tiles(operand: Operand, loops: tuple[Loop, ...], cut: int) -> int:
    return prod(loop.size for loop in loops[cut:] if is_relevant(operand, loop.dim))


# ----------------------------------------------------------------------------- legality


def check(layer: Layer, accel: Accelerator, mapping: Mapping) -> list[Violation]:
    """Every reason ``mapping`` cannot run ``layer`` on ``accel`` (empty when legal)."""
    return _violations(Context(layer, accel, mapping))


def _violations(ctx: Context) -> list[Violation]:
    # on the context ``evaluate`` prices with, so the tiles the capacity check sizes are not sized again
    violations = _structure_violations(ctx.layer, ctx.accel, ctx.mapping)
    if violations:
        return violations  # capacity needs consistent cuts and factors
    return _check_capacity(ctx)


def _structure_violations(layer: Layer, accel: Accelerator, mapping: Mapping) -> list[Violation]:
    """Factors, unrolling and cuts: what every cost rule needs consistent before it can run."""
    return _check_factorization(layer, mapping) + _check_spatial(layer, accel, mapping) + _check_cuts(accel, mapping)


def _check_factorization(layer: Layer, mapping: Mapping) -> list[Violation]:
    out: list[Violation] = []
    for loop in mapping.loops:
        if loop.dim not in LOOP_DIMS or loop.size < 1:
            out.append(
                Violation(
                    "factorization",
                    loop.dim,
                    f"temporal loop {loop.dim}={loop.size} is not a loop dimension of size >= 1",
                )
            )
    for unrolls in mapping.spatial.values():
        for dim, factor in unrolls.items():
            if dim not in LOOP_DIMS or factor < 1:
                out.append(
                    Violation(
                        "factorization", dim, f"spatial unroll {dim}={factor} is not a loop dimension of size >= 1"
                    )
                )
    if out:
        return out
    got_of = dict.fromkeys(LOOP_DIMS, 1)
    for loop in mapping.loops:
        got_of[loop.dim] *= loop.size
    for unrolls in mapping.spatial.values():
        for dim, factor in unrolls.items():
            got_of[dim] *= factor
    for dim in LOOP_DIMS:
        got = got_of[dim]
        if got != layer.size(dim):
            out.append(
                Violation(
                    "factorization",
                    dim,
                    f"spatial x temporal factors give {got}, the layer has {dim}={layer.size(dim)}",
                )
            )
    return out


def _check_spatial(layer: Layer, accel: Accelerator, mapping: Mapping) -> list[Violation]:
    out: list[Violation] = []
    names = [d.name for d in accel.array_dims]
    for adim in mapping.spatial:
        if adim not in names:
            out.append(
                Violation("array_size", adim, f"array dimension {adim} does not exist (have {', '.join(names)})")
            )
    for d in accel.array_dims:
        used = mapping.array_dim_use(d.name)
        if used > d.size:
            out.append(Violation("array_size", d.name, f"unrolls {used} > size {d.size}"))
    array = accel.array
    if isinstance(array, ImcArray):
        prec = layer.precision
        if prec.w_bits > array.weight_bits or prec.i_bits > array.input_bits:
            out.append(
                Violation(
                    "precision",
                    "array",
                    f"layer operands W {prec.w_bits} b / I {prec.i_bits} b exceed the macro's "
                    f"{array.weight_bits} b weights / {array.input_bits} b inputs",
                )
            )
    if isinstance(array, ImcArray) and not out:
        d1, d2 = names[0], names[1]
        for dim, factor in mapping.spatial.get(d1, {}).items():
            if factor > 1 and dim not in IMC_COLUMN_DIMS:
                out.append(
                    Violation("unroll_dim", d1, f"{dim} cannot be unrolled over IMC columns (allowed: K, OX, OY, G)")
                )
        for dim, factor in mapping.spatial.get(d2, {}).items():
            if factor > 1 and dim not in IMC_ROW_DIMS:
                out.append(Violation("unroll_dim", d2, f"{dim} cannot be unrolled over IMC rows (allowed: C, FX, FY)"))
        rows_total, _ = imc_rows(layer, accel, mapping)
        if rows_total > array.rows:
            out.append(
                Violation(
                    "imc_rows",
                    d2,
                    f"diagonal OX/OY unrolling needs {rows_total} input rows, the macro has {array.rows}",
                )
            )
    return out


def _check_cuts(accel: Accelerator, mapping: Mapping) -> list[Violation]:
    out: list[Violation] = []
    n_loops = len(mapping.loops)
    for operand in OPERANDS:
        link = mapping.operand_links.get(operand)
        chain = accel.chain(link) if link else ()
        if not chain:
            out.append(Violation("cuts", operand.value, f"no memory level holds memory operand {link!r}"))
            continue
        cuts = mapping.cuts.get(operand)
        if cuts is None or len(cuts) != len(chain):
            out.append(
                Violation(
                    "cuts",
                    operand.value,
                    f"needs {len(chain)} level cuts ({', '.join(m.name for m in chain)}), got {cuts}",
                )
            )
            continue
        if list(cuts) != sorted(cuts) or cuts[0] < 0 or cuts[-1] != n_loops:
            out.append(Violation("cuts", operand.value, f"cuts {cuts} must rise from >= 0 to {n_loops}"))
    return out


def _check_capacity(ctx: Context) -> list[Violation]:
    out: list[Violation] = []
    need: dict[str, int] = {}
    for operand in OPERANDS:
        for i, level in enumerate(ctx.chain(operand)):
            need[level.name] = need.get(level.name, 0) + tile_bits(ctx, operand, i)
    for level in ctx.accel.memories:
        bits = need.get(level.name, 0)
        capacity = level.capacity_bits // (2 if level.double_buffered else 1)
        if bits > capacity:
            out.append(
                Violation("capacity", level.name, f"tiles need {bits} bits per instance, capacity is {capacity}")
            )
    return out


def tile_elements(layer: Layer, accel: Accelerator, mapping: Mapping, operand: Operand, level_index: int) -> int:
    """``operand``'s tile at its ``level_index``-th memory level, in elements per instance."""
    ctx = Context(layer, accel, mapping)
    return ctx.tile(operand, mapping.cuts[operand][level_index], ctx.chain(operand)[level_index])


def tile_bits(ctx: Context, operand: Operand, level_index: int) -> int:
    """Bits of ``operand``'s tile at its ``level_index``-th level. A level stores partial sums while an
    output-irrelevant loop runs above the level below it: accumulation happens in this level."""
    chain = ctx.chain(operand)
    cuts = ctx.mapping.cuts[operand]
    cut = cuts[level_index]
    below = 0 if level_index == 0 else cuts[level_index - 1]
    final = operand is not Operand.O or not ctx.output_partial_at(below)
    return ctx.tile(operand, cut, chain[level_index]) * ctx.layer.precision.bits(operand, final=final)


# ----------------------------------------------------------------------------- costs


@dataclass
class _Traffic:
    reads: float = 0.0
    writes: float = 0.0
    read_bits: float = 0.0
    write_bits: float = 0.0

    def read(self, elements: float, bits: int) -> None:
        self.reads += elements
        self.read_bits += elements * bits

    def write(self, elements: float, bits: int) -> None:
        self.writes += elements
        self.write_bits += elements * bits


def traffic(ctx: Context) -> dict[tuple[str, Operand], _Traffic]:
    """Element reads and writes per (level, operand), following the module's rules."""
    out: dict[tuple[str, Operand], _Traffic] = {}
    loops = ctx.mapping.loops
    prec = ctx.layer.precision

    def at(level: MemoryLevel, operand: Operand) -> _Traffic:
        return out.setdefault((level.name, operand), _Traffic())

    for operand in OPERANDS:
        chain = ctx.chain(operand)
        cuts = ctx.mapping.cuts[operand]
        bottom = chain[0]
        r0 = refills(operand, loops, 0)
        per_pe = ctx.tile(operand, 0, bottom) * ctx.instances_used(bottom, operand)
        if operand is Operand.O:
            d0 = distinct_tiles(operand, loops, 0)
            at(bottom, operand).write((r0 - d0) * per_pe, prec.psum_bits)
            at(bottom, operand).write(d0 * per_pe, prec.o_bits)
            at(bottom, operand).read((r0 - d0) * per_pe, prec.psum_bits)
        else:
            at(bottom, operand).read(r0 * per_pe, prec.bits(operand))
        for i in range(len(chain) - 1):
            child, parent, cut = chain[i], chain[i + 1], cuts[i]
            r = refills(operand, loops, cut)
            child_elems = ctx.tile(operand, cut, child) * ctx.instances_used(child, operand)
            parent_elems = ctx.tile(operand, cut, parent) * ctx.instances_used(parent, operand)
            if operand is Operand.O:
                d = distinct_tiles(operand, loops, cut)
                at(child, operand).read((r - d) * child_elems, prec.psum_bits)
                at(child, operand).read(d * child_elems, prec.o_bits)
                at(parent, operand).write((r - d) * parent_elems, prec.psum_bits)
                at(parent, operand).write(d * parent_elems, prec.o_bits)
                at(parent, operand).read((r - d) * parent_elems, prec.psum_bits)
                at(child, operand).write((r - d) * child_elems, prec.psum_bits)
            else:
                bits = prec.bits(operand)
                at(child, operand).write(r * child_elems, bits)
                at(parent, operand).read(r * parent_elems, bits)
    return out


def _array_energy(ctx: Context) -> dict[str, float]:
    array = ctx.accel.array
    if isinstance(array, DigitalArray):
        return {"mac": ctx.layer.macs * array.mac_energy_pj}
    from .imc import imc_layer_energy_pj

    names = [d.name for d in ctx.accel.array_dims]
    rows_total, rows_adder = imc_rows(ctx.layer, ctx.accel, ctx.mapping)
    unrolled = ctx.mapping.array_dim_use(names[0]) * ctx.mapping.array_dim_use(names[1])
    return imc_layer_energy_pj(
        array,
        cols=ctx.mapping.array_dim_use(names[0]),
        rows_total=rows_total,
        rows_adder=rows_adder,
        activations=ctx.layer.macs / unrolled,
        precharges=_precharges(ctx),
    )


def _precharges(ctx: Context) -> float:
    """Local-bitline precharges of cell groups holding several weights (M > 1): one each time a group
    hands a different weight to the array, i.e. the weight reads from the cells toward the array, which
    already skip the innermost weight-irrelevant loops (ZigZag's precharge interval). ZigZag 3.9.1 counts
    one unit memory only and crashes for M > 1; this counts every group in use."""
    array = ctx.accel.array
    if not isinstance(array, ImcArray) or array.cells_per_group <= 1:
        return 0.0
    cells = ctx.chain(Operand.W)[0]
    return refills(Operand.W, ctx.mapping.loops, 0) * ctx.instances_used(cells, Operand.W)


def accelerator_area_mm2(accel: Accelerator) -> float:
    area = sum(m.area_mm2 * accel.instances(m) for m in accel.memories)
    array = accel.array
    if isinstance(array, DigitalArray):
        return area + array.pe_area_mm2 * prod(d.size for d in array.dims)
    from .imc import imc_area_mm2

    return area + sum(imc_area_mm2(array).values())


def clock_period_ns(accel: Accelerator) -> float:
    array = accel.array
    if isinstance(array, DigitalArray):
        return array.tclk_ns
    from .imc import imc_tclk_ns

    return imc_tclk_ns(array)


def _weight_cells(ctx: Context) -> MemoryLevel | None:
    """On an IMC array the lowest weight level is the macro's cell storage."""
    if isinstance(ctx.accel.array, ImcArray):
        return ctx.chain(Operand.W)[0]
    return None


def _cell_write_cycles(ctx: Context, cells: MemoryLevel, write_bits: float) -> float:
    """The macro stalls while its cells are written: every cell group in use is written in parallel."""
    n = max(ctx.instances_used(cells, Operand.W), 1)
    return write_bits / n / cells.write_bw_bits


@dataclass(frozen=True, slots=True)
class CellWrites:
    """Writing the operand held in an IMC macro's cells (the layer's W), per inference: ``bits`` written,
    their ``energy_pj`` (already in the report's energy, as the cells level's W writes) and the macro's
    ``stall_cycles`` meanwhile (already in its latency; None under ZigZag's rules, which fold them into
    their port stalls). Every evaluation is one inference, so a stored weight pays them as a dynamic
    operand does: these are the same figures, reported apart for the layers whose cells hold a tensor
    computed during inference."""

    bits: float
    energy_pj: float
    stall_cycles: float | None


def cell_writes(layer: Layer, accel: Accelerator, mapping: Mapping,
                report: CostReport | None = None) -> CellWrites | None:
    """The cell writes of a legal mapping (``report``: its ``evaluate`` report, if at hand); None on a
    digital array, which has no cells."""
    if not isinstance(accel.array, ImcArray):
        return None
    if report is None:
        report = evaluate(layer, accel, mapping)
    ctx = Context(layer, accel, mapping)
    cells = ctx.chain(Operand.W)[0]
    bits = sum(a.write_bits for a in report.accesses if a.level == cells.name and a.operand is Operand.W)
    energy = sum(item.energy_pj for item in report.energy_breakdown
                 if item.component == "mem_write" and item.level == cells.name and item.operand == Operand.W.value)
    stall = _cell_write_cycles(ctx, cells, bits) if RULE_SETS[accel.rules].cell_write_stalls_apart else None
    return CellWrites(bits, energy, stall)


class MemoryAndLatency(NamedTuple):
    """What a rule set adds to the array energy: memory energy items, accesses, and the latency's parts."""

    items: list[EnergyItem]
    accesses: list[Accesses]
    compute_cycles: float
    stall_cycles: float
    load_cycles: float


ObjectiveCost = Callable[[Layer, Accelerator, Mapping, str, float | None, WalkCache | None], float]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One set of memory-traffic and latency rules: how ``evaluate`` prices the memories and the latency,
    and, when it has one, a cheaper path to one figure for ``objective_cost`` (None: from ``evaluate``)."""

    memory_and_latency: Callable[[Context], MemoryAndLatency]
    objective_cost: ObjectiveCost | None = None
    # the macro's stall while its cells are written is a latency term of its own (ZigZag's rules fold it
    # into their per-port stall windows, where it has no figure apart)
    cell_write_stalls_apart: bool = True


def evaluate(layer: Layer, accel: Accelerator, mapping: Mapping) -> CostReport:
    """Price a legal mapping; raise ``IllegalMapping`` with the reasons otherwise."""
    ctx = Context(layer, accel, mapping)
    violations = _violations(ctx)
    if violations:
        raise IllegalMapping(violations)
    breakdown: list[EnergyItem] = [
        EnergyItem(component, "array", "", energy) for component, energy in _array_energy(ctx).items()
    ]
    memory = RULE_SETS[accel.rules].memory_and_latency(ctx)
    return _report(ctx, breakdown + memory.items, memory.accesses, memory.compute_cycles, memory.stall_cycles,
                   memory.load_cycles)


def _own_memory_and_latency(ctx: Context) -> MemoryAndLatency:
    """Memory energy items, accesses, compute, stall and load cycles by imcmap's own rules (the module's)."""
    accel, mapping = ctx.accel, ctx.mapping
    moved = traffic(ctx)
    breakdown: list[EnergyItem] = []
    accesses: list[Accesses] = []
    by_level: dict[str, list[float]] = {}  # level -> [read bits, write bits] per instance
    cells = _weight_cells(ctx)
    weight_load_cycles = 0.0
    for level in accel.memories:
        for operand in OPERANDS:
            t = moved.get((level.name, operand))
            if t is None:
                continue
            accesses.append(Accesses(level.name, operand, t.reads, t.writes, t.read_bits, t.write_bits))
            breakdown.append(
                EnergyItem(
                    "mem_read", level.name, operand.value, t.read_bits / level.read_bw_bits * level.read_energy_pj
                )
            )
            breakdown.append(
                EnergyItem(
                    "mem_write", level.name, operand.value, t.write_bits / level.write_bw_bits * level.write_energy_pj
                )
            )
            if level is cells and operand is Operand.W:
                weight_load_cycles += _cell_write_cycles(ctx, cells, t.write_bits)
                continue  # reading the cells is the computation itself
            n = max(ctx.instances_used(level, operand), 1)
            bits = by_level.setdefault(level.name, [0.0, 0.0])
            bits[0] += t.read_bits / n
            bits[1] += t.write_bits / n

    iterations = prod(loop.size for loop in mapping.loops)
    compute = float(iterations * accel.cycles_per_mac)
    port_bound = 0.0
    for level in accel.memories:
        if level.name not in by_level:
            continue
        read_bits, write_bits = by_level[level.name]
        r_cycles, w_cycles = read_bits / level.read_bw_bits, write_bits / level.write_bw_bits
        port_bound = max(port_bound, r_cycles + w_cycles if level.ports == 1 else max(r_cycles, w_cycles))
    load = _fill_and_drain_cycles(ctx, cells)
    stall = max(0.0, port_bound - compute) + weight_load_cycles
    return MemoryAndLatency(breakdown, accesses, compute, stall, load)


def _zigzag_memory_and_latency(ctx: Context) -> MemoryAndLatency:
    """Memory energy items, accesses, compute, stall and load cycles by ZigZag 3.9.1's rules."""
    costs = zigzag_costs(ctx)
    moved: dict[tuple[str, Operand], _Traffic] = {}
    for link in costs.links:
        t = moved.setdefault((link.level.name, link.operand), _Traffic())
        elements = link.elements * link.transfers * link.instances
        (t.read if link.is_read else t.write)(elements, link.bits)
    accesses: list[Accesses] = []
    for level in ctx.accel.memories:
        for op in OPERANDS:
            traffic = moved.get((level.name, op))
            if traffic is not None:
                accesses.append(
                    Accesses(level.name, op, traffic.reads, traffic.writes, traffic.read_bits, traffic.write_bits)
                )
    items = [EnergyItem("mem_read" if is_read else "mem_write", level, op.value, energy)
             for (level, op, is_read), energy in _zigzag_memory_energy(ctx, costs)]
    return MemoryAndLatency(items, accesses, costs.compute_cycles, costs.stall_cycles, _load_cycles(costs))


def _zigzag_memory_energy(ctx: Context, costs: ZigZagCosts) -> list[tuple[tuple[str, Operand, bool], float]]:
    """(level, operand, is_read) -> memory energy, in the order of imcmap's own rules: level, operand,
    reads first (the report's order, and the order the total energy is summed in)."""
    energy: dict[tuple[str, Operand, bool], float] = {}
    for k, link in enumerate(costs.links):
        key = (link.level.name, link.operand, link.is_read)
        energy[key] = energy.get(key, 0.0) + costs.energy_pj(k)
    return [((level.name, op, is_read), energy[(level.name, op, is_read)])
            for level in ctx.accel.memories for op in OPERANDS for is_read in (True, False)
            if (level.name, op, is_read) in energy]


def _load_cycles(costs: ZigZagCosts) -> float:
    return costs.onloading_cycles + costs.offloading_cycles


def objective_cost(layer: Layer, accel: Accelerator, mapping: Mapping, objective: str, limit: float | None = None,
                   cache: WalkCache | None = None) -> float:
    """``energy_pj``, ``latency_cycles`` or their product (``edp``) of ``evaluate(layer, accel, mapping)``,
    equal to the last bit, computing only what that figure needs where the rule set has a path for it
    (ZigZag's: the polish prices thousands of nests by one objective and keeps one report). Raises
    ``IllegalMapping`` as ``evaluate``.

    With ``limit`` (the polish's acceptance threshold), a nest whose figure is above it may return any
    value above it instead, once a part of the figure exceeds it: on ZigZag's latency the on-/off-loading
    is then left out, and the capacity check too (whether a nest that is rejected anyway fits is moot).
    Factors, unrolling and cuts are still checked first: the cost rules need them consistent. ``cache``
    carries what does not change along a polish walk."""
    one_figure = RULE_SETS[accel.rules].objective_cost
    if one_figure is None:
        report = evaluate(layer, accel, mapping)
        return _objective_of(report.energy_pj, report.latency_cycles, objective)
    return one_figure(layer, accel, mapping, objective, limit, cache)


def _zigzag_objective_cost(layer: Layer, accel: Accelerator, mapping: Mapping, objective: str, limit: float | None,
                           cache: WalkCache | None) -> float:
    """``objective_cost`` by ZigZag's rules: only the half of ``zigzag_costs`` the objective needs."""
    ctx = cache.context(layer, accel, mapping) if cache is not None else Context(layer, accel, mapping)
    violations = _structure_violations(layer, accel, mapping)
    if not violations and limit is None:
        violations = _check_capacity(ctx)
    if violations:
        raise IllegalMapping(violations)
    need_energy, need_latency = objective != "latency", objective != "energy"
    costs = zigzag_costs(ctx, energy=need_energy, latency=need_latency,
                         loading_above=limit if objective == "latency" else None)
    energy = latency = 0.0
    if need_energy:
        energy = sum([*_array_energy(ctx).values(), *(e for _, e in _zigzag_memory_energy(ctx, costs))])
    if need_latency:
        latency = costs.compute_cycles + costs.stall_cycles + _load_cycles(costs)
    value = _objective_of(energy, latency, objective)
    if limit is not None and value <= limit:  # within the limit: a nest the polish would take must fit
        violations = _check_capacity(ctx)
        if violations:
            raise IllegalMapping(violations)
    return value


RULE_SETS: dict[CostRules, RuleSet] = {
    CostRules.IMCMAP: RuleSet(_own_memory_and_latency),
    CostRules.ZIGZAG: RuleSet(_zigzag_memory_and_latency, _zigzag_objective_cost, cell_write_stalls_apart=False),
}


def _objective_of(energy_pj: float, latency_cycles: float, objective: str) -> float:
    if objective == "energy":
        return energy_pj
    if objective == "latency":
        return latency_cycles
    if objective == "edp":
        return energy_pj * latency_cycles
    raise ValueError(f"unknown objective {objective!r}")


def _report(ctx: Context, breakdown: list[EnergyItem], accesses: list[Accesses], compute: float, stall: float,
            load: float) -> CostReport:
    layer, accel, mapping = ctx.layer, ctx.accel, ctx.mapping
    latency = compute + stall + load
    total_units = prod(d.size for d in accel.array_dims)
    used_units = prod(mapping.array_dim_use(d.name) for d in accel.array_dims)
    return CostReport(
        layer=layer.name,
        energy_pj=sum(item.energy_pj for item in breakdown),
        energy_breakdown=tuple(breakdown),
        latency_cycles=latency,
        compute_cycles=compute,
        stall_cycles=stall,
        load_cycles=load,
        spatial_utilization=used_units / total_units,
        temporal_utilization=compute / latency if latency > 0 else 1.0,
        area_mm2=accelerator_area_mm2(accel),
        tclk_ns=clock_period_ns(accel),
        macs=layer.macs,
        accesses=tuple(accesses),
    )


def _fill_and_drain_cycles(ctx: Context, cells: MemoryLevel | None) -> float:
    """Before the first MAC the lowest non-top levels of W and I are filled; after the last, O drains."""
    cycles = 0.0
    for operand in OPERANDS:
        chain = ctx.chain(operand)
        for level, cut in zip(chain[:-1], ctx.mapping.cuts[operand][:-1], strict=False):
            if level is cells:
                continue  # weight loading is counted in full as a stall
            # what drains at the end is finished: outputs leave at their final width
            per_instance = ctx.tile(operand, cut, level) * ctx.layer.precision.bits(operand, final=True)
            bw = level.read_bw_bits if operand is Operand.O else level.write_bw_bits
            cycles += per_instance / bw
    return cycles
