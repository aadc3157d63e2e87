"""ZigZag 3.9.1's memory-traffic and latency rules, for accelerators read from ZigZag files.

``evaluate`` uses these rules instead of its own when ``Accelerator.rules`` is ``CostRules.ZIGZAG``
(``specs/zigzag.py`` sets it; ``evaluator.RULE_SETS`` maps it here), so a ZigZag file means in imcmap
what it means in ZigZag. The array's energy, the tiles (``models/context.py``, with imcmap's exact input
halos, clipped at the unpadded input as ZigZag's ``calc_tensor_dim`` does) and the legality check stay
imcmap's. Read from zigzag-dse 3.9.1's ``cost_model/cost_model.py`` (``calc_memory_word_access``,
``calc_latency``, ``calc_data_loading_latency``), ``cost_model/port_activity.py`` and
``mapping/mapping.py``; the measured agreement is in bench/README.md ("Fidelity").

For an operand X with chain l_0..l_n and cuts c_0..c_n (ncyc = Bi/Bc cycles per iteration on IMC):

* Stationary cuts: c'_i = the first X-relevant loop at or above c_i (the cut moves up over the
  X-irrelevant loops just above it); for the array (below l_0) c'_-1 = that run from loop 0 for W
  and I, 0 for O.
* A link joins a child (l_{i-1}, or the array) and l_i. Period P = prod(loops[:c'_child]) iterations,
  count N = total / P; per period and memory instance it moves the parent's tile over
  ``loops[:c'_child]`` (``tl``/``fl`` at the parent) or the child's own tile (``fh``/``th`` at the
  child). Outputs: ``fl`` (written by the child), ``th`` (read by the parent), and while an
  O-irrelevant loop remains above the cut also the partial-sum read-back ``tl`` / ``fh``, with the
  same N, every transfer at ``psum_bits``; between the array and l_0 the period is one iteration.
* Energy: each transfer rounded up to whole ``bandwidth_min`` words of its port, each word
  ``bandwidth_min / bandwidth_max`` of an access: ``ceil(A b / w_min) w_min / w_max`` accesses.
* Stalls: ``real = ceil(A b / port width)`` cycles per transfer, ``allowed = ncyc P`` if the child is
  double-buffered (ZigZag's heuristic: the child's tile less its top relevant loops takes at most half
  the memory, counting the operands sharing it), else ``ncyc P / TIR`` (TIR = the irrelevant loops at
  the top of the child's level; the array is never double-buffered), ``s = (real - allowed)(N - 1)``.
  Links of one physical port add up: the positive ``s`` plus ``max(0, negative s + windows - union of
  windows)``; ports work in parallel: stall = ``max(0, max over ports)``.
* latency = ``ncyc total + stall + on-loading + off-loading``: inputs and weights fill every level pair
  at the slower side of the link before the first MAC (W and I combined by port sharing; a link
  loaded once is shortened by its port's spare bandwidth during compute), outputs drain after the last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .context import Context
from .hardware import MemoryLevel, Port
from .mapping import Loop
from .workload import OPERANDS, Operand, is_relevant

# Transfer directions as ZigZag names them, seen from the memory: read out to the level below (``tl``),
# written from the level above (``fh``), written by the level below (``fl``), read out to the level above
# (``th``). ``Port.serves`` pairs a memory operand with one of them.
TO_LOWER, FROM_HIGHER, FROM_LOWER, TO_HIGHER = DIRECTIONS = ("tl", "fh", "fl", "th")
READ_DIRECTIONS = (TO_LOWER, TO_HIGHER)


@dataclass(frozen=True, slots=True)
class RuleSwitches:
    """Each of ZigZag's rules, on by default. Switching one off measures its share of a difference
    (bench/README.md, section 4); the product always runs with the defaults."""

    window_union: bool = True  # ports: overlapping windows of links sharing a port
    zigzag_double_buffering: bool = True  # False: only what the file declares
    loading: bool = True  # on-/off-loading before the first and after the last MAC
    words: bool = True  # transfers rounded up to bandwidth_min words
    zigzag_psums: bool = True  # False: imcmap's partial-sum traffic (read back refills - distinct)


class Link(NamedTuple):
    """One data-transfer link, as seen by one memory (``direction`` from that memory). A named tuple,
    not a frozen dataclass: an evaluation makes a dozen and the polish makes thousands of evaluations,
    and a frozen dataclass's constructor sets each of its 14 fields through ``object.__setattr__``."""

    operand: Operand
    level_index: int  # in the operand's chain
    level: MemoryLevel
    port: Port
    direction: str  # tl, fh, fl, th
    elements: int  # per period and memory instance
    bits: int  # per element
    period: int  # iterations between transfers
    transfers: int  # count of transfers (not "count": a named tuple has a count method)
    instances: int
    real: int  # cycles per transfer on the port
    allowed: int  # cycles per transfer without stalling
    cycle_period: int
    distinct: int  # outputs: distinct tiles over the loops above the cut

    @property
    def stall_or_slack(self) -> int:
        return (self.real - self.allowed) * (self.transfers - 1)

    @property
    def window(self) -> int:
        return self.allowed * (self.transfers - 1)

    @property
    def is_read(self) -> bool:
        return self.direction in READ_DIRECTIONS


@dataclass(frozen=True, slots=True)
class ZigZagCosts:
    compute_cycles: float
    stall_cycles: float
    onloading_cycles: float
    offloading_cycles: float
    links: tuple[Link, ...]
    accesses: tuple[float, ...]  # per link: priced accesses of its memory (words rounded)
    port_stall: dict[str, float] = field(default_factory=dict)

    @property
    def latency_cycles(self) -> float:
        return self.compute_cycles + self.stall_cycles + self.onloading_cycles + self.offloading_cycles

    def energy_pj(self, link_index: int) -> float:
        link = self.links[link_index]
        per_access = link.level.read_energy_pj if link.is_read else link.level.write_energy_pj
        return self.accesses[link_index] * per_access

    @property
    def memory_energy_pj(self) -> float:
        return sum(self.energy_pj(i) for i in range(len(self.links)))


def _first_relevant(operand: Operand, loops: tuple[Loop, ...], start: int) -> int:
    i = start
    while i < len(loops) and (loops[i].size == 1 or not is_relevant(operand, loops[i].dim)):
        i += 1
    return i


class _Nest:
    """The stationary cuts of every operand and the loop runs ZigZag reads off them."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.loops = ctx.mapping.loops
        self.chains = {op: ctx.chain(op) for op in OPERANDS}
        self.stat: dict[Operand, list[int]] = {}  # stat[op][i + 1] = c'_i; stat[op][0] = the array's
        for op in OPERANDS:
            cuts = [0 if op is Operand.O else _first_relevant(op, self.loops, 0)]
            for c in ctx.mapping.cuts[op]:
                cuts.append(max(_first_relevant(op, self.loops, c), cuts[-1]))
            cuts[-1] = len(self.loops)
            self.stat[op] = cuts
        # periods (products of the loops below each cut) and distinct output tiles (of the
        # output-relevant loops above it), read per link; one pass each instead of one per link
        self._periods = [1]
        for loop in self.loops:
            self._periods.append(self._periods[-1] * loop.size)
        self._distinct = [1]
        for loop in reversed(self.loops):
            self._distinct.append(self._distinct[-1] * (loop.size if is_relevant(Operand.O, loop.dim) else 1))
        self._distinct.reverse()

    def level_loops(self, op: Operand, i: int) -> tuple[Loop, ...]:
        start = 0 if i == 0 else self.stat[op][i]
        return self.loops[start : self.stat[op][i + 1]]

    def top_run(self, op: Operand, i: int, relevant: bool) -> int:
        """Product of the run of (ir)relevant loops at the top of level i."""
        out = 1
        for loop in reversed(self.level_loops(op, i)):
            if loop.size == 1:
                continue
            if is_relevant(op, loop.dim) != relevant:
                break
            out *= loop.size
        return out

    def partial_from(self, cut: int) -> bool:
        return self.ctx.output_partial_at(cut)

    def period(self, cut: int) -> int:
        return self._periods[cut]

    def distinct(self, cut: int) -> int:
        """Distinct output tiles below ``cut``: the output-relevant loops above it."""
        return self._distinct[cut]


def _double_buffered(nest: _Nest, switches: RuleSwitches) -> dict[tuple[Operand, int], bool]:
    """ZigZag's calc_double_buffer_flag, operands in its order O, W, I."""
    ctx = nest.ctx
    prec = ctx.layer.precision
    individual: dict[tuple[Operand, int], float] = {}
    for op in OPERANDS:
        for i, level in enumerate(nest.chains[op]):
            cut = nest.stat[op][i + 1]
            bits = prec.bits(op, final=not (op is Operand.O and nest.partial_from(cut)))
            tile_bits = ctx.tile(op, cut, level) * bits
            individual[(op, i)] = (tile_bits // nest.top_run(op, i, True)) / level.capacity_bits
    holders: dict[str, list[tuple[Operand, int]]] = {}
    for key in individual:
        holders.setdefault(nest.chains[key[0]][key[1]].name, []).append(key)
    shared = {key: sum(individual[k] for k in holders[nest.chains[key[0]][key[1]].name]) for key in individual}
    double: dict[tuple[Operand, int], bool] = {}
    for op in (Operand.O, Operand.W, Operand.I):
        for i, level in enumerate(nest.chains[op]):
            if not switches.zigzag_double_buffering:
                double[(op, i)] = level.double_buffered
            elif shared[(op, i)] <= 0.5:
                double[(op, i)] = True
            elif individual[(op, i)] <= 1 - shared[(op, i)]:
                double[(op, i)] = True
                for k in holders[level.name]:
                    shared[k] += individual[(op, i)]
            else:
                double[(op, i)] = False
    return double


def _links(nest: _Nest, double: dict[tuple[Operand, int], bool] | None, ncyc: int) -> list[Link]:
    """Every link of the nest; with ``double`` None (energy only) the timing fields are 0."""
    ctx = nest.ctx
    prec = ctx.layer.precision
    total = nest.period(len(nest.loops))
    out: list[Link] = []
    for op in OPERANDS:
        chain = nest.chains[op]
        memory_operand = ctx.mapping.operand_links[op]
        for i, level in enumerate(chain):
            child_cut = nest.stat[op][i]
            own_cut = nest.stat[op][i + 1]
            parent_elements = ctx.tile(op, child_cut if i else 0, level)
            own_elements = ctx.tile(op, own_cut, level)
            if double is None:
                child = own = (False, 1)
            else:
                child = (double[(op, i - 1)] if i else False, nest.top_run(op, i - 1, False) if i else 1)
                own = (double[(op, i)], nest.top_run(op, i, False))
            has_parent = i + 1 < len(chain)
            instances = max(ctx.instances_used(level, op), 1)
            # (direction, elements, bits, period, (double-buffered, TIR) of the child, cut for distinct)
            specs: list[tuple[str, int, int, int, tuple[bool, int], int]] = []
            if op is Operand.O:
                low_cut = child_cut if i else 0
                period_low = 1 if i == 0 else nest.period(child_cut)
                partial_low = nest.partial_from(low_cut)
                bits_low = prec.psum_bits if partial_low else prec.o_bits
                specs.append(("fl", parent_elements, bits_low, period_low, child, low_cut))
                if partial_low:
                    specs.append(("tl", parent_elements, bits_low, period_low, child, low_cut))
                if has_parent:
                    partial_high = nest.partial_from(own_cut)
                    bits_high = prec.psum_bits if partial_high else prec.o_bits
                    specs.append(("th", own_elements, bits_high, nest.period(own_cut), own, own_cut))
                    if partial_high:
                        specs.append(("fh", own_elements, bits_high, nest.period(own_cut), own, own_cut))
            else:
                bits = prec.bits(op)
                specs.append(("tl", parent_elements, bits, nest.period(child_cut), child, child_cut))
                if has_parent:
                    specs.append(("fh", own_elements, bits, nest.period(own_cut), own, own_cut))
            for direction, elements, bits, period, (db, tir), cut in specs:
                port = ctx.port(level, memory_operand, direction)
                timed = double is not None
                window = period if db else int(period / tir)
                out.append(Link(
                    operand=op, level_index=i, level=level, port=port, direction=direction,
                    elements=elements, bits=bits, period=period, transfers=total // period,
                    instances=instances,
                    real=math.ceil(elements * bits / port.bandwidth_bits) if timed else 0,
                    allowed=math.ceil(window * ncyc) if timed else 0,
                    cycle_period=math.ceil(period * ncyc) if timed else 0,
                    distinct=nest.distinct(cut),
                ))
    return out


def _window_union(group: list[Link]) -> int:
    """ZigZag's __calc_mem_updating_window_union: each link busy in the first ``allowed`` cycles of each period."""
    for link in group:
        if link.cycle_period == link.allowed:
            return link.cycle_period * link.transfers
    longest = max(group, key=lambda link: link.cycle_period)
    cycle = np.arange(longest.cycle_period)
    covered = np.zeros(longest.cycle_period, dtype=bool)
    for link in group:
        covered |= (cycle % link.cycle_period) < link.allowed
    return int(covered.sum()) * longest.transfers


def _port_stalls(links: list[Link], switches: RuleSwitches) -> dict[str, float]:
    by_port: dict[str, list[Link]] = {}
    for link in links:
        if link.transfers > 0:
            by_port.setdefault(f"{link.level.name}/{link.port.name}", []).append(link)
    out: dict[str, float] = {}
    for key, group in by_port.items():
        if len(group) == 1:
            out[key] = group[0].stall_or_slack
            continue
        windows = sum(link.window for link in group)
        union = _window_union(group) if switches.window_union else windows
        positive = sum(link.stall_or_slack for link in group if link.stall_or_slack > 0)
        negative = sum(link.stall_or_slack for link in group if link.stall_or_slack <= 0)
        out[key] = positive + max(0, negative + windows - union)
    return out


def _reduce_largest_first(cycles: list[float], floors: Sequence[float], spare: float) -> list[float]:
    """Spend ``spare`` cycles shortening the longest loads first, none below its floor."""
    out = list(cycles)
    for k in sorted(range(len(out)), key=lambda k: out[k], reverse=True):
        if spare <= 0:
            break
        cut = min(max(0.0, out[k] - floors[k]), spare)
        out[k] -= cut
        spare -= cut
    return out


def _loading(nest: _Nest, links: list[Link], computation: float, ncyc: int) -> tuple[float, float]:
    """ZigZag's calc_data_loading_latency: (on-loading, off-loading) cycles."""
    lowest = {op: nest.ctx.tile(op, nest.stat[op][1], nest.chains[op][0]) for op in OPERANDS}
    cycles: dict[tuple[Operand, int, str], tuple[float, bool]] = {}
    by_port: dict[str, tuple[Port, list[Link]]] = {}
    for link in links:
        if (link.operand is Operand.O and link.direction in ("tl", "fh")) or link.transfers == 0:
            continue
        by_port.setdefault(f"{link.level.name}/{link.port.name}", (link.port, []))[1].append(link)
    for port, group in by_port.values():
        many = [link for link in group if link.transfers > 1]
        once = [link for link in group if link.transfers == 1]
        for link in many:
            cycles[(link.operand, link.level_index, link.direction)] = (link.real, port.shared_by_two_inputs)
        if once:
            required = sum(math.ceil(int(l.elements * l.bits / l.period) / ncyc) for l in many)
            spare = max(0.0, (port.bandwidth_bits - required) / port.bandwidth_bits * computation)
            floors = [math.ceil(lowest[l.operand] * l.bits / port.bandwidth_bits) for l in once]
            reduced = _reduce_largest_first([float(l.real) for l in once], floors, spare)
            for link, value in zip(once, reduced, strict=True):
                cycles[(link.operand, link.level_index, link.direction)] = (value, port.shared_by_two_inputs)

    individual = {Operand.W: 0.0, Operand.I: 0.0}
    half = {Operand.W: 0.0, Operand.I: 0.0}
    shared = {Operand.W: 0.0, Operand.I: 0.0}
    for op in (Operand.W, Operand.I):
        for i in range(len(nest.chains[op]) - 1):
            child = cycles.get((op, i, "fh"), (0.0, False))
            parent = cycles.get((op, i + 1, "tl"), (0.0, False))
            longest = max(child[0], parent[0])
            if child[1] and parent[1]:
                shared[op] += longest
            elif not child[1] and not parent[1]:
                individual[op] += longest
            else:
                half[op] = longest  # ZigZag assigns here where it adds elsewhere; kept for fidelity
    w, inp = Operand.W, Operand.I
    weights_first = shared[w] + max(shared[inp] + half[inp] + individual[inp], half[w] + individual[w])
    inputs_first = shared[inp] + max(shared[w] + half[w] + individual[w], half[inp] + individual[inp])
    offloading = 0.0
    for lv in range(len(nest.chains[Operand.O]) - 1):
        offloading += max(cycles.get((Operand.O, lv, "th"), (0.0, False))[0],
                          cycles.get((Operand.O, lv + 1, "fl"), (0.0, False))[0])
    return min(weights_first, inputs_first), offloading


def _accesses(link: Link, nest: _Nest, switches: RuleSwitches) -> float:
    """Priced accesses of the link's memory: whole bandwidth_min words per transfer."""
    port = link.port
    word = port.bandwidth_min_bits if switches.words else 1

    def per_transfer(bits: int) -> float:
        return math.ceil(link.elements * bits / word) * word / port.bandwidth_bits

    prec = nest.ctx.layer.precision
    if switches.zigzag_psums or link.operand is not Operand.O:
        return per_transfer(link.bits) * link.transfers * link.instances
    count = link.transfers
    if link.level_index == 0 and link.direction in ("fl", "tl"):
        # imcmap's rule: the array accumulates over the innermost output-irrelevant loops
        total = nest.period(len(nest.loops))
        count = total // nest.period(_first_relevant(Operand.O, nest.loops, 0))
    if link.bits != prec.psum_bits and count == link.transfers:
        return per_transfer(link.bits) * count * link.instances
    psums = count - link.distinct  # imcmap: each output's last write at its final width, no read-back before its first
    if link.direction in ("fl", "th"):
        return (per_transfer(prec.psum_bits) * psums + per_transfer(prec.o_bits) * link.distinct) * link.instances
    return per_transfer(prec.psum_bits) * psums * link.instances


def zigzag_costs(ctx: Context, switches: RuleSwitches = RuleSwitches(), *, energy: bool = True,
                 latency: bool = True, loading_above: float | None = None) -> ZigZagCosts:
    """ZigZag 3.9.1's memory accesses and latency of the (legal) mapping in ``ctx``. With ``energy`` or
    ``latency`` False that half is left out (accesses empty; stall and loading 0, link timing fields 0):
    the polish prices thousands of nests by one objective. The on-/off-loading is left out (0) too when
    compute + stall cycles exceed ``loading_above``: the latency is above it whatever they add."""
    nest = _Nest(ctx)
    ncyc = ctx.accel.cycles_per_mac
    links = _links(nest, _double_buffered(nest, switches) if latency else None, ncyc)
    compute = float(nest.period(len(nest.loops)) * ncyc)
    port_stall: dict[str, float] = {}
    stall = onloading = offloading = 0.0
    if latency:
        port_stall = _port_stalls(links, switches)
        stall = max([0.0, *port_stall.values()])
        if switches.loading and (loading_above is None or compute + stall <= loading_above):
            onloading, offloading = _loading(nest, links, compute + stall, ncyc)
    accesses = tuple(_accesses(link, nest, switches) for link in links) if energy else ()
    return ZigZagCosts(
        compute_cycles=compute,
        stall_cycles=stall,
        onloading_cycles=onloading,
        offloading_cycles=offloading,
        links=tuple(links),
        accesses=accesses,
        port_stall=port_stall,
    )
