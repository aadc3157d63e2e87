"""ZigZag 3.9.1's memory-traffic cost model (latency and memory energy), re-implemented on imcmap's
types. Bench only: it is not imcmap's evaluator and the product never imports it.

Purpose: quantify how much of the gap between imcmap's evaluator and ZigZag on the *same* mapping
each modelling difference explains (bench/README.md, "Fidelity"), test the evaluator change proposed
there, and price imcmap's own mappings by ZigZag's rules. It follows ``zigzag/cost_model/cost_model.py``
(``calc_memory_word_access``, ``calc_latency``) and ``zigzag/mapping/mapping.py`` /
``temporal_mapping.py`` of zigzag-dse 3.9.1, with imcmap's tiles (exact input halos, clipped to the
unpadded input like ZigZag's ``calc_tensor_dim`` when ``clip_padding``) in place of ZigZag's
decoupled-loop data sizes. The IMC macro energy is imcmap's own (it equals ZigZag's on every layer
measured). No ZigZag import.

The model, in imcmap's terms (X an operand, its chain l_0..l_n, cuts c_0..c_n; ncyc = Bi/Bc on IMC):

* Stationarity: each cut moves up over the X-irrelevant loops directly above it (ZigZag's
  ``mapping_dic_stationary``): c'_i = first X-relevant loop at or above c_i. Level i holds
  ``loops[c'_{i-1}:c'_i]``; the MAC "level" below l_0 has c'_{-1} = (irrelevant run from 0) for W and
  I, 0 for O.
* Every data-transfer link between a child (l_{i-1}, or the MAC array for i = 0) and l_i has
  period P = prod(loops[:c'_child]) iterations, count N = total / P, and a per-period amount per
  memory instance: parent side ``tile(X, c_child, l_i)``, child side ``tile(X, c_i-1, l_i-1)``.
  Directions as ZigZag names them: W/I ``rd_out_to_low`` (parent) and ``wr_in_by_high`` (child);
  O ``wr_in_by_low`` (parent) and ``rd_out_to_high`` (child), plus partial-sum read-back
  ``rd_out_to_low`` / ``wr_in_by_high`` while an O-irrelevant loop remains at or above the parent.
  Links to the top level's parent (outside the chain) do not exist.
* real = ceil(amount x bits / port bandwidth); allowed = ncyc x P if the child is "double
  buffered" (ZigZag's heuristic: the child's tile without its top relevant loops takes <= 50% of the
  memory, counting the operands sharing it), else ncyc x P / TIR (TIR = product of the irrelevant
  loops at the top of the child's level); the MAC array is never double buffered.
  stall_or_slack = (real - allowed) x (N - 1).
* Per physical port (ZigZag's ``allocation`` in the hardware file): one link -> its stall_or_slack;
  several -> sum of the positive ones + max(0, sum of negative ones + sum of windows - union of
  windows). Stall = max(0, max over ports).
* On-loading (before the first MAC) and off-loading (after the last) as ZigZag's
  ``calc_data_loading_latency``: per level pair the longer side's real cycles (links loaded once are
  reduced by the port's spare bandwidth during computation), W and I combined by port sharing, O summed.
* latency = total x ncyc + stall + onloading + offloading (+ systolic drain, not modelled here).
* memory energy = sum over links of ceil(amount x bits / bw_min) x bw_min / bw_max x count x
  instances x (read or write energy): partial sums are read back once per write (the read-back link
  has the write link's count, including each output's first write) and every write of a level that
  accumulates travels at partial-sum width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any

from imcmap.models.hardware import Accelerator, ImcArray, MemoryLevel
from imcmap.models.mapping import Loop, Mapping
from imcmap.models.workload import OPERANDS, Layer, Operand, input_positions, is_relevant

RD_LOW, WR_HIGH, WR_LOW, RD_HIGH = "rd_out_to_low", "wr_in_by_high", "wr_in_by_low", "rd_out_to_high"
ALLOCATION_CODES = {"tl": RD_LOW, "fh": WR_HIGH, "fl": WR_LOW, "th": RD_HIGH}
INPUT_MEMORY_OPERANDS = ("I1", "I2")


@dataclass(frozen=True)
class Port:
    """One physical port of a memory: its bandwidth and the (memory operand, direction) it serves."""

    name: str
    bandwidth: int
    serves: frozenset[tuple[str, str]]
    bandwidth_min: int = 0

    @property
    def shared_by_two_inputs(self) -> bool:
        return len({op for op, _ in self.serves if op in INPUT_MEMORY_OPERANDS}) > 1


Ports = dict[str, list[Port]]  # memory name -> its ports


def ports_from_zigzag_yaml(path: str | Path) -> Ports:
    """The port allocation of a ZigZag hardware file (PyYAML: a duplicated key keeps the last one, as in ZigZag)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    out: Ports = {}
    for name, memory in data["memories"].items():
        ports = []
        for port in memory["ports"]:
            serves = set()
            for item in port.get("allocation", []):
                op, code = (part.strip() for part in item.split(","))
                serves.add((op, ALLOCATION_CODES[code]))
            ports.append(Port(port["name"], int(port["bandwidth_max"]), frozenset(serves), int(port["bandwidth_min"])))
        out[name] = ports
    return out


@dataclass
class Link:
    operand: Operand
    level: int  # index in the operand's chain
    memory: str
    direction: str
    amount: int  # elements per period per memory instance
    bits: int
    period: int  # iterations
    count: int
    real: int = 0
    allowed: int = 0
    cycle_period: int = 0
    distinct: int = 0  # outputs: distinct tiles over the loops above this link's cut (for the psum ablation)

    @property
    def stall_or_slack(self) -> int:
        return (self.real - self.allowed) * (self.count - 1)

    @property
    def window(self) -> int:
        return self.allowed * (self.count - 1)


@dataclass
class ZigZagCost:
    ideal: int
    stall: float
    onloading: float
    offloading: float
    memory_energy_pj: float = 0.0
    array_energy_pj: float = 0.0
    memory_energy_by_operand: dict[str, float] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    port_stall: dict[str, float] = field(default_factory=dict)

    @property
    def latency_cycles(self) -> float:
        return self.ideal + self.stall + self.onloading + self.offloading

    @property
    def energy_pj(self) -> float:
        return self.memory_energy_pj + self.array_energy_pj


class UnclippedLayer(Layer):
    """An imcmap layer whose input tiles may reach into the padding (imcmap's evaluator, like ZigZag's
    ``calc_tensor_dim``, clips them at the unpadded input); used to measure what clipping changes."""

    __slots__ = ()

    def input_extent(self, axis: str, out_tile: int, filt_tile: int) -> int:
        index = 0 if axis == "Y" else 1
        return input_positions(out_tile, filt_tile, self.stride[index], self.dilation[index])


def evaluator_clips_padding() -> bool:
    """Whether imcmap's own ``Layer`` stops input tiles at the padding (rule E2 of bench/README.md)."""
    probe = Layer(name="probe", op="Conv", dims={"K": 1, "C": 1, "OY": 7, "OX": 7, "FY": 3, "FX": 3}, padding=(1, 1, 1, 1))
    return probe.input_extent("X", 7, 3) == 7


class _ClippedLayer(Layer):
    """Input tiles stopped at the unpadded input (ZigZag's ``calc_tensor_dim``), for an imcmap ``Layer``
    that does not do it itself."""

    __slots__ = ()

    def input_extent(self, axis: str, out_tile: int, filt_tile: int) -> int:
        index = 0 if axis == "Y" else 1
        y = axis == "Y"
        whole = input_positions(self.size("OY" if y else "OX"), self.size("FY" if y else "FX"), self.stride[index], self.dilation[index])
        pad = (self.padding[0] + self.padding[2]) if y else (self.padding[1] + self.padding[3])
        return min(input_positions(out_tile, filt_tile, self.stride[index], self.dilation[index]), max(1, whole - pad))


def clipped(layer: Layer) -> Layer:
    """The layer with input tiles clipped at the padding (imcmap's own rule when it has it)."""
    if evaluator_clips_padding():
        return layer
    import dataclasses

    return _ClippedLayer(**{f.name: getattr(layer, f.name) for f in dataclasses.fields(Layer)})


def unclipped(layer: Layer) -> UnclippedLayer:
    import dataclasses

    return UnclippedLayer(**{f.name: getattr(layer, f.name) for f in dataclasses.fields(Layer)})


def _first_relevant(operand: Operand, loops: tuple[Loop, ...], start: int) -> int:
    i = start
    while i < len(loops) and (loops[i].size == 1 or not is_relevant(operand, loops[i].dim)):
        i += 1
    return i


def zigzag_cost(layer: Layer, accel: Accelerator, mapping: Mapping, ports: Ports, *, clip_padding: bool = True,
                round_to_bw_min: bool = True, double_buffering: str = "zigzag", window_union: bool = True,
                loading: bool = True, psum_readback: str = "zigzag") -> ZigZagCost:
    """ZigZag 3.9.1's latency and energy of ``mapping`` (see the module docstring). The flags switch off
    one ZigZag rule each, to measure what it contributes (bench/README.md)."""
    from imcmap.models.evaluator import _array_energy, _Context

    layer = clipped(layer) if clip_padding else unclipped(layer)
    ctx = _Context(layer, accel, mapping)
    loops = mapping.loops
    total = prod(loop.size for loop in loops)
    ncyc = accel.array.cycles_per_mac if isinstance(accel.array, ImcArray) else 1
    prec = layer.precision

    chains = {op: ctx.chain(op) for op in OPERANDS}
    stat: dict[Operand, list[int]] = {}  # stationary cuts, index -1 (MAC) first
    for op in OPERANDS:
        mac = 0 if op is Operand.O else _first_relevant(op, loops, 0)
        cuts = [mac]
        for c in mapping.cuts[op]:
            cuts.append(max(_first_relevant(op, loops, c), cuts[-1]))
        cuts[-1] = len(loops)
        stat[op] = cuts  # stat[op][i + 1] = c'_i

    def level_loops(op: Operand, i: int) -> tuple[Loop, ...]:
        s = stat[op]
        start = 0 if i == 0 else s[i]
        return loops[start : s[i + 1]]

    def top_run(op: Operand, i: int, relevant: bool) -> int:
        out = 1
        for loop in reversed(level_loops(op, i)):
            if loop.size == 1:
                continue
            if is_relevant(op, loop.dim) != relevant:
                break
            out *= loop.size
        return out

    def o_partial_from(cut: int) -> bool:
        return any(l.size > 1 and not is_relevant(Operand.O, l.dim) for l in loops[cut:])

    # double-buffer flags per (operand, level), ZigZag's calc_double_buffer_flag (operands O, W, I)
    def tile_bits(op: Operand, i: int) -> int:
        level = chains[op][i]
        bits = prec.bits(op, final=not (op is Operand.O and o_partial_from(stat[op][i + 1])))
        return ctx.tile(op, stat[op][i + 1], level) * bits

    individual: dict[tuple[Operand, int], float] = {}
    for op in OPERANDS:
        for i, level in enumerate(chains[op]):
            individual[(op, i)] = (tile_bits(op, i) // top_run(op, i, True)) / level.capacity_bits
    shared = dict(individual)
    holders: dict[str, list[tuple[Operand, int]]] = {}
    for (op, i) in individual:
        holders.setdefault(chains[op][i].name, []).append((op, i))
    for name, group in holders.items():
        if len(group) > 1:
            s = sum(individual[k] for k in group)
            for k in group:
                shared[k] = s
    double: dict[tuple[Operand, int], bool] = {}
    for op in (Operand.O, Operand.W, Operand.I):
        for i, level in enumerate(chains[op]):
            if double_buffering == "declared":  # ablation: only what the file declares
                double[(op, i)] = level.double_buffered
            elif shared[(op, i)] <= 0.5:
                double[(op, i)] = True
            elif individual[(op, i)] <= 1 - shared[(op, i)]:
                double[(op, i)] = True
                for k in holders[level.name]:
                    shared[k] += individual[(op, i)]
            else:
                double[(op, i)] = False

    # the links
    links: list[Link] = []
    for op in OPERANDS:
        chain = chains[op]
        mem_op = mapping.operand_links[op]
        for i, level in enumerate(chain):
            child_cut = stat[op][i]  # c'_{i-1} (MAC: stationary run at the bottom)
            period = prod(l.size for l in loops[:child_cut])
            parent_amount = ctx.tile(op, stat[op][i] if i else 0, level)
            own_cut = stat[op][i + 1]
            own_period = prod(l.size for l in loops[:own_cut])
            own_amount = ctx.tile(op, own_cut, level)
            child_db = double[(op, i - 1)] if i else False
            child_tir = top_run(op, i - 1, False) if i else 1
            own_db = double[(op, i)]
            own_tir = top_run(op, i, False)
            has_parent = i + 1 < len(chain)
            if op is Operand.O:
                period_o = 1 if i == 0 else period
                partial_low = o_partial_from(stat[op][i] if i else 0)
                bits_low = prec.psum_bits if partial_low else prec.o_bits
                partial_high = o_partial_from(own_cut)
                bits_high = prec.psum_bits if partial_high else prec.o_bits
                low_cut, high_cut = (stat[op][i] if i else 0), own_cut
                specs = [(WR_LOW, parent_amount, bits_low, period_o, child_db, child_tir)]
                if partial_low:
                    specs.append((RD_LOW, parent_amount, bits_low, period_o, child_db, child_tir))
                if has_parent:
                    specs.append((RD_HIGH, own_amount, bits_high, own_period, own_db, own_tir))
                    if partial_high:
                        specs.append((WR_HIGH, own_amount, bits_high, own_period, own_db, own_tir))
            else:
                bits = prec.bits(op)
                specs = [(RD_LOW, parent_amount, bits, period, child_db, child_tir)]
                if has_parent:
                    specs.append((WR_HIGH, own_amount, bits, own_period, own_db, own_tir))
            for direction, amount, bits, per, db, tir in specs:
                port = _port_of(ports, level.name, mem_op, direction)
                link = Link(op, i, level.name, direction, amount, bits, per, total // per)
                if op is Operand.O:
                    cut = low_cut if direction in (WR_LOW, RD_LOW) else high_cut
                    link.distinct = prod(l.size for l in loops[cut:] if is_relevant(Operand.O, l.dim))
                link.real = math.ceil(amount * bits / port.bandwidth)
                window = per if db else int(per / tir)
                link.allowed = math.ceil(window * ncyc)
                link.cycle_period = math.ceil(per * ncyc)
                links.append(link)

    # stall / slack per physical port
    port_stall: dict[str, float] = {}
    by_port: dict[tuple[str, str], list[Link]] = {}
    for link in links:
        port = _port_of(ports, link.memory, mapping.operand_links[link.operand], link.direction)
        by_port.setdefault((link.memory, port.name), []).append(link)
    for key, group in by_port.items():
        group = [l for l in group if l.count > 0]
        if not group:
            continue
        if len(group) == 1:
            port_stall["/".join(key)] = group[0].stall_or_slack
            continue
        union = _window_union(group) if window_union else sum(l.window for l in group)
        pos = sum(l.stall_or_slack for l in group if l.stall_or_slack > 0)
        neg = sum(l.stall_or_slack for l in group if l.stall_or_slack <= 0)
        port_stall["/".join(key)] = pos + max(0, neg + sum(l.window for l in group) - union)
    stall = max([0.0, *port_stall.values()])

    ideal = total * ncyc
    lowest_bits = {op: ctx.tile(op, stat[op][1], chains[op][0]) for op in OPERANDS}  # elements at l_0
    onloading, offloading = _loading(links, ports, mapping, chains, lowest_bits, ideal + stall, ncyc) if loading else (0.0, 0.0)

    memory_energy = 0.0
    by_operand: dict[str, float] = {}
    levels = {m.name: m for m in accel.memories}
    for link in links:
        level = levels[link.memory]
        port = _port_of(ports, link.memory, mapping.operand_links[link.operand], link.direction)
        bw_min = (port.bandwidth_min or port.bandwidth) if round_to_bw_min else 1

        def words(bits: int) -> float:
            return math.ceil(link.amount * bits / bw_min) * bw_min / port.bandwidth  # noqa: B023

        units = max(ctx.instances_used(level), 1)
        count = link.count
        if psum_readback == "exact" and link.operand is Operand.O and link.level == 0 and link.direction in (WR_LOW, RD_LOW):
            # ablation, imcmap's rule: the array accumulates over the output-irrelevant loops innermost and
            # writes the lowest output level once per output change (ZigZag: every iteration, period 1)
            count = total // prod(l.size for l in loops[: _first_relevant(Operand.O, loops, 0)])
        if psum_readback == "exact" and link.operand is Operand.O and (link.bits == prec.psum_bits or count != link.count):
            # ablation, imcmap's rule: each output's last write at its final width, no read-back before its first
            psums = count - link.distinct
            if link.direction in (WR_LOW, RD_HIGH):
                accesses = int((words(prec.psum_bits) * psums + words(prec.o_bits) * link.distinct) * units)
            else:
                accesses = int(words(prec.psum_bits) * psums * units)
        else:
            accesses = int(words(link.bits) * count * units)
        cost = level.read_energy_pj if link.direction in (RD_LOW, RD_HIGH) else level.write_energy_pj
        memory_energy += accesses * cost
        by_operand[link.operand.value] = by_operand.get(link.operand.value, 0.0) + accesses * cost
    array_energy = sum(_array_energy(ctx).values())
    return ZigZagCost(ideal, stall, onloading, offloading, memory_energy, array_energy, by_operand, links, port_stall)


def _port_of(ports: Ports, memory: str, memory_operand: str, direction: str) -> Port:
    for port in ports[memory]:
        if (memory_operand, direction) in port.serves:
            return port
    raise KeyError(f"{memory}: no port serves {memory_operand} {direction}")


def _window_union(group: list[Link]) -> int:
    """ZigZag's __calc_mem_updating_window_union: each link busy for the first `allowed` cycles of each period."""
    for link in group:
        if link.cycle_period == link.allowed:
            return link.cycle_period * link.count
    longest = max(group, key=lambda l: l.cycle_period)
    p_max = longest.cycle_period
    covered = [False] * p_max
    for link in group:
        for start in range(0, p_max, link.cycle_period):
            for t in range(start, min(start + link.allowed, p_max)):
                covered[t] = True
    union = p_max - covered.count(False)
    return union * longest.count


def _loading(links: list[Link], ports: Ports, mapping: Mapping, chains: dict, lowest: dict, computation: float, ncyc: int):  # noqa: ANN202
    """ZigZag's calc_data_loading_latency: (onloading, offloading) cycles."""
    cc: dict[tuple[Operand, int, str], tuple[float, bool]] = {}
    by_port: dict[tuple[str, str], tuple[Port, list[Link]]] = {}
    for link in links:
        if link.operand is Operand.O and link.direction in (RD_LOW, WR_HIGH):
            continue
        if link.count == 0:
            continue
        port = _port_of(ports, link.memory, mapping.operand_links[link.operand], link.direction)
        by_port.setdefault((link.memory, port.name), (port, []))[1].append(link)
    for port, group in by_port.values():
        many = [l for l in group if l.count > 1]
        once = [l for l in group if l.count == 1]
        for link in many:
            cc[(link.operand, link.level, link.direction)] = (link.real, port.shared_by_two_inputs)
        if once:
            req = sum(math.ceil(int(l.amount * l.bits / l.period) / ncyc) for l in many)
            surplus = max(0.0, (port.bandwidth - req) / port.bandwidth * computation)
            totals = [float(l.real) for l in once]
            minima = []
            for l in once:  # ZigZag: at least the data of the operand's lowest memory level
                minima.append(math.ceil(lowest[l.operand] * l.bits / port.bandwidth))
            remaining = _reduce_ordered(totals, minima, surplus)
            for link, rem in zip(once, remaining):
                cc[(link.operand, link.level, link.direction)] = (rem, port.shared_by_two_inputs)

    individual = {op: 0.0 for op in (Operand.W, Operand.I)}
    half = {op: 0.0 for op in (Operand.W, Operand.I)}
    shared = {op: 0.0 for op in (Operand.W, Operand.I)}
    for op in (Operand.W, Operand.I):
        for lv in range(len(chains[op]) - 1):
            e1 = cc.get((op, lv, WR_HIGH), (0.0, False))
            e2 = cc.get((op, lv + 1, RD_LOW), (0.0, False))
            longest = max(e1[0], e2[0])
            if e1[1] and e2[1]:
                shared[op] += longest
            elif not e1[1] and not e2[1]:
                individual[op] += longest
            else:
                half[op] = longest  # sic: ZigZag assigns, not adds
    w, i = Operand.W, Operand.I
    possible1 = shared[w] + max(shared[i] + half[i] + individual[i], half[w] + individual[w])
    possible2 = shared[i] + max(shared[w] + half[w] + individual[w], half[i] + individual[i])
    onloading = min(possible1, possible2)
    offloading = 0.0
    for lv in range(len(chains[Operand.O]) - 1):
        e1 = cc.get((Operand.O, lv, RD_HIGH), (0.0, False))[0]
        e2 = cc.get((Operand.O, lv + 1, WR_LOW), (0.0, False))[0]
        offloading += max(e1, e2)
    return onloading, offloading


def _reduce_ordered(c_list: list[float], m_list: list[float], s: float) -> list[float]:
    if s <= 0:
        return c_list
    order = sorted(range(len(c_list)), key=lambda k: c_list[k], reverse=True)
    out = list(c_list)
    for k in order:
        if s <= 0:
            break
        cut = min(max(0.0, out[k] - m_list[k]), s)
        out[k] -= cut
        s -= cut
    return out
