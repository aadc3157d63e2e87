"""The network driver: solve every layer of a workload, identical layers once, in worker processes.

Inter-layer dataflow (ZigZag-IMC's "dataflow optimization"): when a layer's only consumer is the
next layer and its whole output fits in the highest on-chip level that holds both outputs and
inputs, the output stays there: the producer is solved with outputs capped at that level and the
consumer with inputs capped there, so neither pays the DRAM round trip. If either layer has no
legal mapping that way, both fall back to the plain hierarchy. Each layer reports what was done.

Attention's dynamic W (``plan_dynamic_weights``): a producer's output that its readers all take as
their whole W stays on chip until the last of them when it fits beside every layer running meanwhile
(their room shrinks by it); a hold that leaves a layer unmapped or does not pay is dropped. A layer
whose operands are both computed during inference is solved in both orientations, as two jobs whose
results ``_Driver._put`` joins (``solve.better_orientation``; the cells hold its I in the exchanged one).
Which holds are dropped depends on the solves, but the plans a drop can lead to do not: ``network_jobs``
lists every job the driver may run before anything is solved (the sweep's layer cache and pruning).

On hardware whose rules the model does not encode (ZigZag files) the polish of a layer in a pair
the plan could keep waits for the plan: only the hierarchies the plan keeps are walked, and pairs
whose two costs are within ``CLOSE_CALL`` are polished both ways before they are judged (on ZigZag's
tpu_like file a ResNet-18 run solves 23 hierarchies for 21 layers, and about 40% of the solve time
went to unused ones). A layer in no such pair is polished in its solve's own task, and the plan
settles as soon as the jobs of its pairs are in, while those of the other layers still run: its
polish fills the pool beside them instead of after them. One runner serves every phase: a process per
job (``workers.ProcessRunner``), or one helper thread when a single process is asked for.

Ctrl-C and the total time limit stop the run the same way (``_Driver.halt``): jobs not started are
dropped (their layers come back ``NOT_SOLVED``, by name), every running search is stopped by CP-SAT's own
``stop_search`` and hands back its best mapping, re-priced exactly, with the gap its bound certifies
(``FEASIBLE``), and the plan keeps on chip only the pairs whose two kept solutions came in. A second
Ctrl-C meanwhile kills the workers and ends at once. A worker that dies costs its job one retry in a
fresh process; a second death reports the layer ``FAILED`` with the cause and the run goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from itertools import combinations, pairwise
from typing import Protocol

from imcmap.models.constraints import Bypass
from imcmap.models.hardware import Accelerator, MemoryKind, MemoryLevel
from imcmap.models.mapping_spec import MappingSpec, ResolvedRule, UserConstraint
from imcmap.models.workload import Layer, Operand, UnmodelledOp, Workload, exchangeable, operands_exchanged

from .policy import policy_of
from .solve import (
    LayerSolution,
    SolverConfig,
    StopSignal,
    applicable_constraints,
    better_orientation,
    finish_polish,
    one_orientation,
    solve_exchanged,
    solve_layer,
)
from .status import SolveStatus
from .workers import ProcessRunner, Runner, ThreadRunner, WorkerDied

INTERRUPTED = "interrupted"  # why a run stopped early (``NetworkResult.stopped_by``)
TIME_LIMIT = "total time limit"
GIVEN_UP = "given up"  # the caller's ``JobHook`` gave up on the run
# after a stop, how long the running searches have to hand back their best mapping (each stops within
# ``solve.STOP_POLL_S`` and then only re-prices its candidates); whoever is later is killed
STOP_GRACE_S = 1.0
DEFAULT_CONFIG = SolverConfig()  # ``solve_network``'s (a frozen dataclass: one instance serves every call)
RETRIES = 1  # a job whose worker process dies is run again this many times, each in a fresh process


@dataclass(frozen=True, slots=True)
class Dataflow:
    """Where a layer's output stays and where its input comes from (None: the top level).

    For attention's dynamic W (``plan_dynamic_weights``): ``weight_read_from`` is the on-chip level
    the W is read from (its producer left it there), ``output_held_in`` the level a producer's output
    stays in for a later layer's W, and ``reserved`` (level, bits) the room such held tensors take
    while this layer runs (its own W's share of them excepted: its tiles count that)."""

    output_kept_in: str | None = None
    input_read_from: str | None = None
    weight_read_from: str | None = None
    output_held_in: str | None = None
    reserved: tuple[str, int] | None = None

    def describe(self) -> str:
        parts = []
        if self.input_read_from:
            parts.append(f"input from {self.input_read_from}")
        if self.weight_read_from:
            parts.append(f"W from {self.weight_read_from}")
        if self.output_kept_in:
            parts.append(f"output kept in {self.output_kept_in}")
        if self.output_held_in and self.output_held_in != self.output_kept_in:
            parts.append(f"output held in {self.output_held_in}")
        if self.reserved:
            parts.append(f"{self.reserved[1]} b of {self.reserved[0]} held for a later layer")
        return ", ".join(parts) or "-"


def exchanged_flow(flow: Dataflow) -> Dataflow:
    """The dataflow of the layer with its operands exchanged: the W becomes the input and the other way."""
    return replace(flow, input_read_from=flow.weight_read_from, weight_read_from=flow.input_read_from)


@dataclass(frozen=True, slots=True)
class LayerResult:
    solution: LayerSolution
    dataflow: Dataflow
    solved_as: str  # name of the identical layer actually solved (itself if solved directly)
    accelerator: Accelerator  # as solved: capped for a kept tensor, without the levels its constraints bypass


@dataclass(frozen=True, slots=True)
class NetworkResult:
    workload: Workload
    accelerator: Accelerator
    objective: str
    config: SolverConfig
    layers: tuple[LayerResult, ...]
    wall_time_s: float
    interrupted: bool = False
    timed_out: tuple[str, ...] = ()  # layers whose solve never started or never returned (NOT_SOLVED)
    notes: tuple[str, ...] = field(default_factory=tuple)
    time_limit_reached: bool = False  # the total time limit stopped the run

    @property
    def stopped_by(self) -> str | None:
        """Why the run ended early: ``INTERRUPTED``, ``TIME_LIMIT`` or None (it ran to its end)."""
        return INTERRUPTED if self.interrupted else TIME_LIMIT if self.time_limit_reached else None

    @property
    def failed(self) -> tuple[str, ...]:
        """Layers whose worker process died on the first try and on the retry."""
        return tuple(r.solution.layer.name for r in self.layers if r.solution.status is SolveStatus.FAILED)

    @property
    def energy_pj(self) -> float:
        return sum(r.solution.report.energy_pj for r in self.layers if r.solution.report)

    @property
    def latency_cycles(self) -> float:
        return sum(r.solution.report.latency_cycles for r in self.layers if r.solution.report)

    @property
    def unmodelled_ops(self) -> tuple[UnmodelledOp, ...]:
        return self.workload.unmodelled_ops

    @property
    def complete(self) -> bool:
        return all(r.solution.mapping is not None for r in self.layers)


def capped(accel: Accelerator, memory_operand: str, level_name: str) -> Accelerator:
    """The accelerator with ``memory_operand`` removed from every level above ``level_name``."""
    names = [m.name for m in accel.memories]
    top = names.index(level_name)
    memories = tuple(
        replace(m, operands=tuple(o for o in m.operands if o != memory_operand)) if i > top else m
        for i, m in enumerate(accel.memories)
    )
    return replace(accel, memories=memories)


def weight_moved_to(accel: Accelerator, memory_operand: str, level_name: str) -> Accelerator:
    """The accelerator with ``memory_operand`` held in ``level_name`` and in no level above it (a dynamic
    W read where its producer left it: the level need not have held it before)."""
    names = [m.name for m in accel.memories]
    top = names.index(level_name)

    def moved(i: int, m: MemoryLevel) -> MemoryLevel:
        if i == top and not m.holds(memory_operand):
            return replace(m, operands=(*m.operands, memory_operand))
        if i > top:
            return replace(m, operands=tuple(o for o in m.operands if o != memory_operand))
        return m

    return replace(accel, memories=tuple(moved(i, m) for i, m in enumerate(accel.memories)))


def _effective_capacity(level: MemoryLevel) -> int:
    return level.capacity_bits // (2 if level.double_buffered else 1)


def reserved_room(accel: Accelerator, level_name: str, bits: int) -> Accelerator:
    """The accelerator with ``bits`` of ``level_name`` taken by tensors other layers keep there."""
    level = accel.memory(level_name)
    taken = bits * (2 if level.double_buffered else 1)
    memories = tuple(replace(m, capacity_bits=max(0, m.capacity_bits - taken)) if m.name == level_name else m
                     for m in accel.memories)
    return replace(accel, memories=memories)


def resolve_rule(layer: Layer, spec: MappingSpec, constraints: tuple[UserConstraint, ...] = ()) -> ResolvedRule:
    """The layer's rule, carrying exactly the user constraints (the spec's and ``constraints``) whose
    scope matches the layer: two layers share a solve only when these agree too."""
    rule = spec.resolve(layer)
    return replace(rule, constraints=applicable_constraints(layer, rule, constraints))


def _bypassed(rule: ResolvedRule, operand: Operand, level: str) -> bool:
    return any(
        c.parsed is not None and c.parsed.body == Bypass(operand, level) for c in rule.constraints
    )


def plan_dataflow(workload: Workload, accel: Accelerator, spec: MappingSpec,
                  constraints: tuple[UserConstraint, ...] = ()) -> dict[str, Dataflow]:
    """Producer/consumer pairs whose intermediate tensor can stay on chip (see the module docstring);
    a level the producer's outputs or the consumer's inputs bypass is not used for that."""
    consumers: dict[str, list[str]] = {}
    for layer in workload.layers:
        for src in layer.sources:
            consumers.setdefault(src, []).append(layer.name)
    plan = {layer.name: Dataflow() for layer in workload.layers}
    layers = list(workload.layers)
    for producer, consumer in pairwise(layers):
        if consumers.get(producer.name) != [consumer.name] or _input_sources(consumer) != (producer.name,):
            continue
        rule_p, rule_c = resolve_rule(producer, spec, constraints), resolve_rule(consumer, spec, constraints)
        level = _shared_on_chip_level(accel, rule_p.operand_links[Operand.O], rule_c.operand_links[Operand.I])
        if level is None or _bypassed(rule_p, Operand.O, level.name) or _bypassed(rule_c, Operand.I, level.name):
            continue
        out_bits = producer.operand_size(Operand.O) * producer.precision.o_bits
        if out_bits > level.capacity_bits // (2 if level.double_buffered else 1):
            continue
        plan[producer.name] = replace(plan[producer.name], output_kept_in=level.name)
        plan[consumer.name] = replace(plan[consumer.name], input_read_from=level.name)
    return plan


def _input_sources(layer: Layer) -> tuple[str, ...]:
    """The producers of the layer's input operand: its sources less those of a dynamic W (attention's
    K and V), which the pair's kept tensor does not replace."""
    return tuple(s for s in layer.sources if s not in layer.weight_sources)


def _shared_on_chip_level(accel: Accelerator, out_operand: str, in_operand: str) -> MemoryLevel | None:
    candidates = [m for m in accel.memories
                  if m.holds(out_operand) and m.holds(in_operand) and m.kind is not MemoryKind.DRAM]
    return candidates[-1] if candidates else None


def variant(accel: Accelerator, rule: ResolvedRule, flow: Dataflow) -> Accelerator:
    if flow.output_kept_in:
        accel = capped(accel, rule.operand_links[Operand.O], flow.output_kept_in)
    if flow.input_read_from:
        accel = capped(accel, rule.operand_links[Operand.I], flow.input_read_from)
    return _dynamic_variant(accel, rule, flow)


def _dynamic_variant(accel: Accelerator, rule: ResolvedRule, flow: Dataflow) -> Accelerator:
    if flow.output_held_in:
        accel = capped(accel, rule.operand_links[Operand.O], flow.output_held_in)
    if flow.weight_read_from:
        accel = weight_moved_to(accel, rule.operand_links[Operand.W], flow.weight_read_from)
    if flow.reserved:
        accel = reserved_room(accel, *flow.reserved)
    return accel


def plan_dynamic_weights(workload: Workload, accel: Accelerator, spec: MappingSpec,
                         constraints: tuple[UserConstraint, ...] = (),
                         plan: dict[str, Dataflow] | None = None,
                         excluded: frozenset[str] | set[str] = frozenset()) -> dict[str, Dataflow]:
    """``plan`` (default: the plain one) with each dynamic W read on chip where that can work: a producer's
    output stays in the highest on-chip level holding it and its readers' inputs (so either operand can
    sit in the cells), from the producer until its last reader, when every layer reading it reads it
    as the whole of its dynamic W (a KV cache from DRAM is not the producer's alone) and has an input
    of its own producer (else the output may be its I too, which the plan does not place: GPT-2's fused
    projection), so no reader wants it from DRAM. The layers in between run beside it: their room in
    that level shrinks by the held bits (``Dataflow.reserved``), and a tensor is held only while every
    layer of its span keeps room for its own tiles. Their solves decide whether the hierarchies are
    legal; the driver drops a hold that leaves a layer without a mapping or costs more than the plain
    hierarchy. Producers in ``excluded`` hold nothing."""
    plan = dict(plan) if plan is not None else {layer.name: Dataflow() for layer in workload.layers}
    layers = list(workload.layers)
    index = {layer.name: i for i, layer in enumerate(layers)}
    held: dict[str, tuple[str, int, list[str]]] = {}  # producer -> (level, bits, readers)
    for producer in layers:
        readers = [layer for layer in layers if producer.name in layer.sources]
        if producer.name in excluded or not readers:
            continue
        level = _hold_level(producer, readers, index, accel, spec, constraints)
        if level is None:
            continue
        bits = producer.operand_size(Operand.O) * producer.precision.o_bits
        trial = {**held, producer.name: (level.name, bits, [r.name for r in readers])}
        if _holds_fit(layers, index, trial, accel):
            held = trial
    for producer_name, (level_name, _, consumers) in held.items():
        plan[producer_name] = replace(plan[producer_name], output_held_in=level_name)
        for name in consumers:
            plan[name] = replace(plan[name], weight_read_from=level_name)
    for layer, rooms in _reservations(layers, index, held).items():
        for level_name, bits in rooms.items():  # one level per layer (``_holds_fit``)
            if bits:
                plan[layer] = replace(plan[layer], reserved=(level_name, bits))
    return plan


def _hold_level(producer: Layer, readers: list[Layer], index: dict[str, int], accel: Accelerator,
                spec: MappingSpec, constraints: tuple[UserConstraint, ...]) -> MemoryLevel | None:
    """The on-chip level ``producer``'s output can stay in for ``readers`` (all of its readers), or None
    when one of them reads it otherwise than as the whole of its dynamic W (see ``plan_dynamic_weights``),
    or bypasses the level."""
    rule_p = resolve_rule(producer, spec, constraints)
    level: MemoryLevel | None = None
    for reader in readers:
        if (Operand.W not in reader.dynamic_operands or reader.weight_sources != (producer.name,)
                or not _input_sources(reader) or index[reader.name] <= index[producer.name]
                or reader.operand_size(Operand.W) > producer.operand_size(Operand.O)):
            return None
        rule_c = resolve_rule(reader, spec, constraints)
        here = _shared_on_chip_level(accel, rule_p.operand_links[Operand.O], rule_c.operand_links[Operand.I])
        if here is None or (level is not None and here.name != level.name) or any(
                _bypassed(rule, op, here.name) for rule, op in
                ((rule_p, Operand.O), (rule_c, Operand.I), (rule_c, Operand.W))):
            return None
        level = here
    return level


def _reservations(layers: list[Layer], index: dict[str, int],
                  held: dict[str, tuple[str, int, list[str]]]) -> dict[str, dict[str, int]]:
    """Per layer and level, the bits of the held tensors alive while it runs (after their producer, up to
    their last reader), less the part it reads as its own W (its tiles count that)."""
    out: dict[str, dict[str, int]] = {}
    for producer, (level, bits, readers) in held.items():
        last = max(index[r] for r in readers)
        for layer in layers[index[producer] + 1:last + 1]:
            own = layer.operand_size(Operand.W) * layer.precision.w_bits if layer.name in readers else 0
            room = out.setdefault(layer.name, {})
            room[level] = room.get(level, 0) + bits - own
    return out


def _holds_fit(layers: list[Layer], index: dict[str, int], held: dict[str, tuple[str, int, list[str]]],
               accel: Accelerator) -> bool:
    """Every layer of each span keeps room in the level for tiles of its own: what the held tensors take
    there while it runs, plus the whole W it reads from them and the output it holds itself, stays
    below the level's capacity; a layer reserves room in one level only (``Dataflow.reserved``)."""
    reserved = _reservations(layers, index, held)
    for layer in layers:
        rooms = dict(reserved.get(layer.name, {}))
        if layer.name in held:
            level, bits, _ = held[layer.name]
            rooms[level] = rooms.get(level, 0) + bits
        if len(rooms) > 1:
            return False
        for level, bits in rooms.items():
            reads = any(layer.name in readers for lv, _, readers in held.values() if lv == level)
            own = layer.operand_size(Operand.W) * layer.precision.w_bits if reads else 0
            if bits + own >= _effective_capacity(accel.memory(level)):
                return False
    return True


def _held_spans(layers: list[Layer], plan: dict[str, Dataflow]) -> Iterator[tuple[str, list[str]]]:
    """(producer, the layers its held output spans: from it to the last layer reading it as W)."""
    for i, layer in enumerate(layers):
        if not plan[layer.name].output_held_in:
            continue
        readers = [j for j in range(i + 1, len(layers))
                   if plan[layers[j].name].weight_read_from and layer.name in layers[j].weight_sources]
        if readers:
            yield layer.name, [other.name for other in layers[i:max(readers) + 1]]


def _holds_not_paying(layers: list[Layer], plan: dict[str, Dataflow], results: dict[tuple, LayerSolution],
                      key_of: dict[str, tuple], unheld_key_of: dict[str, tuple], objective: str) -> set[str]:
    """Producers whose held output leaves a layer of its span without a mapping, or whose span costs no
    less than with no output held (``unheld_key_of``: the jobs of the plan before ``plan_dynamic_weights``)."""
    out = set()
    for producer, span in _held_spans(layers, plan):
        kept = _pair_cost([results.get(key_of[name]) for name in span], objective)
        if kept == float("inf") or kept >= _pair_cost([results.get(unheld_key_of[name]) for name in span],
                                                      objective):
            out.add(producer)
    return out


def _replanned(workload: Workload, accel: Accelerator, spec: MappingSpec, constraints: tuple[UserConstraint, ...],
               plan: dict[str, Dataflow], dropped: set[str]) -> dict[str, Dataflow]:
    """``plan`` with its dynamic-W holds planned again, none for a producer in ``dropped``."""
    base = {name: replace(flow, weight_read_from=None, output_held_in=None, reserved=None)
            for name, flow in plan.items()}
    return plan_dynamic_weights(workload, accel, spec, constraints, base, excluded=dropped)


ProgressFn = Callable[[str, LayerSolution], None]

# what a layer job does (``JobCall.phase``): solve and polish at once, solve leaving the polish for later
# (``solve_layer(polish_now=False)``), or finish that polish
SOLVE, SOLVE_DEFERRED, POLISH = "solve", "solve, polish deferred", "polish"


@dataclass(frozen=True, slots=True)
class JobCall:
    """One layer job as ``solve_network`` runs it: everything its result depends on besides the
    network's objective and solver settings (the hardware as this layer sees it carries the dataflow)."""

    layer: Layer
    accel: Accelerator
    rule: ResolvedRule
    phase: str
    exchanged: Accelerator | None = None  # the hierarchy of its second orientation (``exchanged_variant``)


class JobHook(Protocol):
    """Sees the layer jobs of one network solve (the sweep's layer cache and pruning): ``known`` may
    answer a job before it runs with the solution it would return; ``finished`` gets every job's
    solution as it comes in and returns True to give up on the run (it then stops as on Ctrl-C, its
    layers not solved by then ``NOT_SOLVED``; the result's ``stopped_by`` stays None: the hook knows)."""

    def known(self, job: JobCall) -> LayerSolution | None: ...

    def finished(self, job: JobCall, solution: LayerSolution) -> bool: ...


def _task(layer: Layer, accel: Accelerator, rule: ResolvedRule, objective: str, config: SolverConfig,
          polish_now: bool, *, stop: StopSignal | None = None) -> LayerSolution:
    # the polish of a hierarchy the plan may drop waits for the plan: of a pair's two only the kept one
    # is walked; a hierarchy that is used whatever the plan decides is walked at once, in the same worker
    return solve_layer(layer, accel, rule, objective, config, polish_now=polish_now, stop=stop)


def exchanged_variant(accel: Accelerator, layer: Layer, rule: ResolvedRule, flow: Dataflow) -> Accelerator | None:
    """The hierarchy the layer with exchanged operands is solved on, when it has a second orientation
    (``exchangeable``) and its rule says nothing that names its dims or operands (a fixed unrolling, user
    constraints: they were written for the layer as imported); else None."""
    if not exchangeable(layer) or rule.fixed_spatial is not None or rule.constraints:
        return None
    return variant(accel, rule, exchanged_flow(flow))


def _used_whatever_the_plan(plan: dict[str, Dataflow], plain_key_of: dict[str, tuple]) -> set[tuple]:
    """Plain jobs of layers in no pair the plan could keep on chip: the plan only ever drops pairs, so
    these layers keep their plain hierarchy."""
    return {plain_key_of[name] for name, flow in plan.items() if not flow.output_kept_in and not flow.input_read_from}


def _jobs(workload: Workload, accel: Accelerator, spec: MappingSpec, plan: dict[str, Dataflow],
          constraints: tuple[UserConstraint, ...] = (),
          ) -> tuple[dict[tuple, tuple[Layer, Accelerator, ResolvedRule]], dict[str, tuple]]:
    """One job per distinct (layer signature, rule with its constraints, dataflow); ``key_of`` maps
    layer names to jobs."""
    jobs: dict[tuple, tuple[Layer, Accelerator, ResolvedRule]] = {}
    key_of: dict[str, tuple] = {}
    for layer in workload.layers:
        rule = resolve_rule(layer, spec, constraints)
        flow = plan[layer.name]
        key = (layer.signature(), repr(rule), flow)
        key_of[layer.name] = key
        jobs.setdefault(key, (layer, variant(accel, rule, flow), rule))
    return jobs, key_of


def _first_plans(workload: Workload, accel: Accelerator, spec: MappingSpec,
                 constraints: tuple[UserConstraint, ...], dataflow: bool,
                 ) -> tuple[dict[str, Dataflow], dict[str, Dataflow], dict[str, Dataflow]]:
    """The plans of ``solve_network``'s first batch: (plain, with the pairs ``plan_dataflow`` keeps on
    chip, and that with its dynamic-W holds); without ``dataflow`` all three are the plain one."""
    plain = {layer.name: Dataflow() for layer in workload.layers}
    if not dataflow:
        return plain, plain, plain
    unheld = plan_dataflow(workload, accel, spec, constraints)
    return plain, unheld, plan_dynamic_weights(workload, accel, spec, constraints, unheld)


# the most dynamic-W hold plans ``network_jobs`` walks (one per set of producers the driver may stop
# holding for); past it the list is incomplete (``NetworkJobs.complete``). A transformer block has 2
# holds and at most 4 such plans; only a long chain of blocks with many holds comes near it.
HOLD_PLANS_LISTED = 64


def _hold_plans(workload: Workload, accel: Accelerator, spec: MappingSpec, constraints: tuple[UserConstraint, ...],
                held: dict[str, Dataflow]) -> tuple[list[dict[str, Dataflow]], bool]:
    """Every plan ``_Driver.settle_holds`` may reach from ``held`` (which holds it drops depends on the
    solves, so each nonempty set of the holds of each plan reached is dropped in turn, then replanned
    as it does: ``_replanned``); True when all were walked within ``HOLD_PLANS_LISTED``."""
    layers = list(workload.layers)
    reached: dict[frozenset[str], dict[str, Dataflow]] = {frozenset(): held}
    waiting: list[frozenset[str]] = [frozenset()]
    while waiting:
        dropped = waiting.pop()
        plan = reached[dropped]
        holding = [producer for producer, _ in _held_spans(layers, plan)]
        for size in range(1, len(holding) + 1):
            for more in combinations(holding, size):
                after = dropped | frozenset(more)
                if after in reached:
                    continue
                if len(reached) >= HOLD_PLANS_LISTED:
                    return list(reached.values()), False
                reached[after] = _replanned(workload, accel, spec, constraints, plan, set(after))
                waiting.append(after)
    return list(reached.values()), True


def _job_call(accel: Accelerator, layer: Layer, rule: ResolvedRule, flow: Dataflow, phase: str) -> JobCall:
    """The job of ``layer`` on its hierarchy under ``flow``, as the driver hands it to its ``JobHook``."""
    return JobCall(layer, variant(accel, rule, flow), rule, phase, exchanged_variant(accel, layer, rule, flow))


@dataclass(frozen=True, slots=True)
class NetworkJob:
    """A job ``solve_network`` may run for ``job.layer``; ``first``: in its first batch (the layer's plain
    hierarchy, the dataflow plan's, or that plan's with its dynamic-W holds), so run whatever the solves
    decide (unless a ``JobHook`` answers it or gives the run up)."""

    job: JobCall
    first: bool
    flow: Dataflow = Dataflow()  # the dataflow ``job.accel`` carries (what a listing shows beside the layer)


@dataclass(frozen=True, slots=True)
class NetworkJobs:
    """``network_jobs``' answer: ``jobs`` layer by layer in network order, each of a layer's hierarchies
    once per phase; ``complete``: every job the driver may run is among them (False only past
    ``HOLD_PLANS_LISTED``: the jobs of the hold plans not walked are missing)."""

    jobs: tuple[NetworkJob, ...]
    complete: bool


def network_jobs(workload: Workload, accel: Accelerator, spec: MappingSpec, objective: str,
                 constraints: tuple[UserConstraint, ...] = (), dataflow: bool = True) -> NetworkJobs:
    """Every job ``solve_network`` may run with these arguments, before anything is solved: each layer on
    each hierarchy a plan it may settle on gives it (the plain plan, the dataflow plan, and each
    dynamic-W hold plan ``settle_holds`` may reach, each with any of the layer's pairs dropped, as
    ``settle`` may), in each phase the policy may run it (``SOLVE``; with a polish also
    ``SOLVE_DEFERRED`` and ``POLISH``). A layer with two orientations is one job whose ``exchanged``
    names the second one's hierarchy (the driver runs ``solve_layer`` and ``solve_exchanged`` for it and
    its hook sees the joined result). A superset: some listed jobs are never run. The solver settings
    change no job (they enter only the sweep's cache key)."""
    plain, unheld, held = _first_plans(workload, accel, spec, constraints, dataflow)
    holds, complete = _hold_plans(workload, accel, spec, constraints, held) if dataflow else ([plain], True)
    phases = (SOLVE, SOLVE_DEFERRED, POLISH) if policy_of(accel, objective).polish is not None else (SOLVE,)
    listed = []
    for layer in workload.layers:
        rule = resolve_rule(layer, spec, constraints)
        firsts = [held[layer.name], unheld[layer.name], plain[layer.name]]
        settled = dict.fromkeys([*firsts, *(plan[layer.name] for plan in holds)])
        # ``settle`` drops pairs whole: a layer loses its kept output, its kept input, or both
        flows = dict.fromkeys(replace(flow, output_kept_in=kept, input_read_from=read) for flow in settled
                              for kept in (None, flow.output_kept_in) for read in (None, flow.input_read_from))
        for flow in flows:
            for phase in phases:
                listed.append(NetworkJob(_job_call(accel, layer, rule, flow, phase), flow in firsts, flow))
    return NetworkJobs(tuple(listed), complete)


def _pair_cost(solutions: Sequence[LayerSolution | None], objective: str) -> float:
    """The pair's summed cost by the objective; infinite when either side has no mapping."""
    reports = [sol.report for sol in solutions if sol is not None and sol.report is not None]
    if len(reports) != len(solutions):
        return float("inf")
    from .solve import cost_of

    if objective == "edp":  # the network's EDP is not additive; compare energy x latency of the pair
        return sum(r.energy_pj for r in reports) * sum(r.latency_cycles for r in reports)
    return sum(cost_of(r, objective) for r in reports)


# kept vs plain pair costs this close before the polish are judged after it: wider costs time, narrower
# flipped a pair (bench/README.md)
CLOSE_CALL = 0.015


def _kept_pairs(layers: list[Layer], plan: dict[str, Dataflow], key_of: dict[str, tuple],
                plain_key_of: dict[str, tuple]) -> Iterator[tuple[Layer, Layer, list[tuple], list[tuple]]]:
    """(producer, consumer, their two kept jobs, their two plain jobs) of each pair the plan keeps on chip."""
    for producer, consumer in pairwise(layers):
        if plan[producer.name].output_kept_in:
            names = (producer.name, consumer.name)
            yield producer, consumer, [key_of[n] for n in names], [plain_key_of[n] for n in names]


def _close_calls(layers: list[Layer], plan: dict[str, Dataflow], results: dict[tuple, LayerSolution],
                 key_of: dict[str, tuple], plain_key_of: dict[str, tuple], objective: str) -> set[tuple]:
    """Jobs of the kept pairs whose kept and plain costs differ by at most ``CLOSE_CALL``: the polish
    rarely moves a layer by more (it is deferred; see ``_task``)."""
    out: set[tuple] = set()
    for _, _, kept_keys, top_keys in _kept_pairs(layers, plan, key_of, plain_key_of):
        a = _pair_cost([results.get(k) for k in kept_keys], objective)
        b = _pair_cost([results.get(k) for k in top_keys], objective)
        if a != float("inf") and b != float("inf") and abs(a - b) <= CLOSE_CALL * min(a, b):
            out |= set(kept_keys + top_keys)
    return out


def _unpolished(jobs: dict[tuple, tuple], keys: set[tuple], results: dict[tuple, LayerSolution]) -> dict[tuple, tuple]:
    """The jobs among ``keys`` whose solution still waits for its deferred polish."""
    return {key: job for key, job in jobs.items() if key in keys and key in results and results[key].unpolished}


def _drop_pairs(workload: Workload, plan: dict[str, Dataflow], failed: set[str]) -> dict[str, Dataflow]:
    plan = dict(plan)
    layers = list(workload.layers)
    for producer, consumer in pairwise(layers):
        if plan[producer.name].output_kept_in and (producer.name in failed or consumer.name in failed):
            plan[producer.name] = replace(plan[producer.name], output_kept_in=None)
            plan[consumer.name] = replace(plan[consumer.name], input_read_from=None)
    return plan


def _joined(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


@dataclass
class _Job:
    """A job in the runner: what it is for and how to run it again."""

    key: tuple
    layer: str | None  # the layer to report progress for (None: a polish)
    call: tuple  # (fn, *args) as submitted
    phase: str = SOLVE
    deaths: list[str] = field(default_factory=list)  # the causes, one per worker process it has lost
    half: int | None = None  # of an exchangeable layer's two orientations: 0 as imported, 1 exchanged


class _Driver:
    """The state of one network solve: its runner, the jobs solved so far and their results, and what
    every phase shares (objective, settings, time limit, progress). ``stopped`` says why it ended early
    (``INTERRUPTED``, ``TIME_LIMIT``; None while it runs on)."""

    def __init__(self, workload: Workload, accel: Accelerator, spec: MappingSpec, objective: str, config: SolverConfig,
                 constraints: tuple[UserConstraint, ...], total_time_limit_s: float | None, progress: ProgressFn | None,
                 runner: Runner, start: float, hook: JobHook | None = None):
        self.workload, self.accel, self.spec, self.objective = workload, accel, spec, objective
        self.config, self.constraints, self.limit_s, self.progress = config, constraints, total_time_limit_s, progress
        self.runner, self.start, self.hook = runner, start, hook
        self.given_up = False  # the hook gave up on the run
        self.results: dict[tuple, LayerSolution] = {}
        self.every_job: dict[tuple, tuple[Layer, Accelerator, ResolvedRule]] = {}
        self.pending: dict[Future, _Job] = {}
        self.stopped: str | None = None
        self.abandoned: set[tuple] = set()  # solves still running when the grace after a stop ran out
        self.halves: dict[tuple, dict[int, LayerSolution]] = {}  # orientations solved so far, by job key

    def run(self, jobs: dict[tuple, tuple], polish: bool = False,
            polish_now: frozenset[tuple] | set[tuple] = frozenset(), until: set[tuple] | None = None) -> bool:
        """Solve ``jobs`` into ``results``; True if the run stopped (``stopped``). Jobs in ``polish_now``
        are polished in the same call. With ``polish``, finish the deferred polish of ``results[key]`` for
        each job instead. ``until`` returns as soon as those keys are done; the other jobs keep running and
        ``collect`` gathers them."""
        self.every_job.update(jobs)
        submitted: set[Future] = set()
        for key, (layer, acc, rule) in jobs.items():
            running = [f for f, job in self.pending.items() if job.key == key and job.layer is not None and not polish]
            if running:  # a solve of this hierarchy is in flight already: wait for that one
                submitted.update(running)
                continue
            phase = POLISH if polish else SOLVE if key in polish_now else SOLVE_DEFERRED
            if self._answered(key, self._call(key, phase)):
                continue
            if polish:
                call: tuple = (finish_polish, self.results[key], acc)
            else:
                call = (_task, layer, acc, rule, self.objective, self.config, key in polish_now)
            twin = None if polish else exchanged_variant(self.accel, layer, rule, key[2])
            if twin is None:
                futures = [self._submit(_Job(key, None if polish else layer.name, call, phase))]
            else:  # both orientations, as two jobs (``_put`` keeps the better)
                exchanged = (solve_exchanged, layer, twin, rule, self.objective, self.config, key in polish_now)
                futures = [self._submit(_Job(key, layer.name, call, phase, half=0)),
                           self._submit(_Job(key, layer.name, exchanged, phase, half=1))]
            if until is None or key in until:
                submitted.update(futures)
        return self.collect(submitted)

    def _call(self, key: tuple, phase: str) -> JobCall:
        layer, _, rule = self.every_job[key]
        return _job_call(self.accel, layer, rule, key[2], phase)

    def _answered(self, key: tuple, job: JobCall) -> bool:
        """Whether the hook knows the job's solution (then it is taken as the job's result), or has given
        up on the run (then nothing more is started)."""
        if self.hook is None:
            return False
        solution = None if self.given_up else self.hook.known(job)
        if solution is not None:
            self.results[key] = solution
            self.given_up |= self.hook.finished(job, solution)
            if self.progress and job.phase != POLISH:
                self.progress(job.layer.name, solution)
        return self.given_up or solution is not None

    def _submit(self, job: _Job, first: bool = False) -> Future:
        future = self.runner.submit(*job.call, first=first)
        self.pending[future] = job
        return future

    def collect(self, futures: set[Future] | None = None) -> bool:
        """Wait until ``futures`` (None: every job in flight) are done, storing each result that comes in
        meanwhile; True if the run stopped. The total time limit stops the run (``halt``)."""
        if self.stopped:
            return True
        futures = set(futures) if futures is not None else None
        while self.pending and (futures is None or futures & self.pending.keys()) and not self.given_up:
            remaining = None if self.limit_s is None else self.limit_s - (time.perf_counter() - self.start)
            if remaining is not None and remaining <= 0:
                self.halt(TIME_LIMIT)
                return True
            for future in self.runner.wait(list(self.pending), remaining):
                again = self._store(future)
                if again is not None and futures is not None and future in futures:
                    futures.add(again)
        if self.given_up:
            self.halt(GIVEN_UP)
            return True
        return False

    def _store(self, future: Future) -> Future | None:
        """Take in a done job: its result, or its worker's death (a retry while the run goes on, else
        the layer's failure). Returns the retry's future, if any."""
        job = self.pending.pop(future)
        if future.cancelled():
            return None
        error = future.exception()
        if isinstance(error, WorkerDied):
            job.deaths.append(error.cause)
            if len(job.deaths) <= RETRIES and not self.stopped:
                return self._submit(job, first=True)
            self._record_death(job)
        elif error is not None:
            raise error
        else:
            solution = future.result()
            if job.deaths:
                solution = replace(solution, message=_joined(
                    solution.message, f"solved again after its worker process died ({'; '.join(job.deaths)})"))
            # the hook hears of a layer in two orientations once both are joined
            if self._put(job, solution) and self.hook is not None and not self.stopped:
                self.given_up |= self.hook.finished(self._call(job.key, job.phase), self.results[job.key])
        if self.progress and job.layer is not None and job.key in self.results:
            self.progress(job.layer, self.results[job.key])
        return None

    def _record_death(self, job: _Job) -> None:
        causes = "; ".join(job.deaths)
        if job.layer is None:  # a polish: the unpolished mapping stands, its gap as certified
            solution = self.results[job.key]
            self.results[job.key] = replace(solution, unpolished=(), message=_joined(
                solution.message, f"not polished: its worker process died ({causes})"))
            return
        layer = self.every_job[job.key][0]
        tries = "on its try and its retry" if len(job.deaths) > RETRIES else "and the run was stopped before a retry"
        self._put(job, LayerSolution(
            layer, self.objective, SolveStatus.FAILED, None, None, None, None, None, None, 0, 0.0,
            f"the worker process solving it died {tries} ({causes})"))

    def _put(self, job: _Job, solution: LayerSolution) -> bool:
        """A solve's result: the layer's, or one of its two orientations, kept until the other is in.
        True once the job's result is whole (both orientations joined)."""
        if job.half is None:
            self.results[job.key] = solution
            return True
        halves = self.halves.setdefault(job.key, {})
        halves[job.half] = solution
        if len(halves) == 2:
            self.results[job.key] = better_orientation(halves[0], halves[1])
            return True
        return False

    def halt(self, why: str) -> None:
        """Stop the run (Ctrl-C or the total time limit): nothing more starts, every running search is
        stopped and has ``STOP_GRACE_S`` to hand back its best mapping. A Ctrl-C meanwhile kills the
        workers and raises KeyboardInterrupt: the user wants out at once."""
        if self.stopped is None:
            self.stopped = why
        self.runner.stop.set()
        self.runner.cancel_waiting()
        deadline = time.perf_counter() + STOP_GRACE_S
        try:
            while self.pending:
                done = self.runner.wait(list(self.pending), max(0.0, deadline - time.perf_counter()))
                if not done:
                    break
                for future in done:
                    self._store(future)
        except KeyboardInterrupt:
            self.runner.kill()
            raise
        self.abandoned = {job.key for job in self.pending.values() if job.layer is not None}
        for key, halves in self.halves.items():  # one orientation in: it stands, its bound unproven
            if key not in self.results and halves:
                self.results[key] = one_orientation(next(iter(halves.values())))
        self.pending.clear()
        self.runner.kill()

    def settle_holds(self, plan: dict[str, Dataflow], jobs: dict[tuple, tuple], key_of: dict[str, tuple],
                     unheld_key_of: dict[str, tuple],
                     ) -> tuple[dict[str, Dataflow], dict[tuple, tuple], dict[str, tuple], bool]:
        """Drop the dynamic-W holds that do not pay (``_holds_not_paying``), solving the hierarchies a
        drop newly needs, until every hold pays. Returns (plan, jobs, key_of, interrupted)."""
        layers = list(self.workload.layers)
        dropped: set[str] = set()
        while worse := _holds_not_paying(layers, plan, self.results, key_of, unheld_key_of, self.objective):
            dropped |= worse
            plan = _replanned(self.workload, self.accel, self.spec, self.constraints, plan, dropped)
            jobs, key_of = _jobs(self.workload, self.accel, self.spec, plan, self.constraints)
            missing = {key: job for key, job in jobs.items() if key not in self.results}
            if missing and self.run(missing):
                return plan, jobs, key_of, True
        return plan, jobs, key_of, False

    def settle(self, plan: dict[str, Dataflow], jobs: dict[tuple, tuple], key_of: dict[str, tuple],
               plain_key_of: dict[str, tuple],
               ) -> tuple[dict[str, Dataflow], dict[tuple, tuple], dict[str, tuple], bool]:
        """Drop the pairs whose kept hierarchy is not cheaper (close calls polished both ways first) until
        every kept pair pays, solving the hierarchies a drop newly needs. ``jobs`` and ``key_of`` are
        ``plan``'s (``_jobs``). Returns (plan, jobs, key_of, interrupted)."""
        layers = list(self.workload.layers)
        results, objective = self.results, self.objective
        while any(flow.output_kept_in for flow in plan.values()):
            # a pair judged before the polish could flip after it: polish both hierarchies of close calls
            close = _close_calls(layers, plan, results, key_of, plain_key_of, objective) if any(
                sol.unpolished for sol in results.values()) else set()
            waiting = _unpolished(self.every_job, close, results)
            if waiting and self.run(waiting, polish=True):
                return plan, jobs, key_of, True
            # keep a tensor on chip only where the pair is then cheaper: capping a level can force a far
            # worse mapping (a whole output in 16-bit partial sums must fit), and a layer may not map at all
            worse = set()
            for producer, consumer, kept_keys, top_keys in _kept_pairs(layers, plan, key_of, plain_key_of):
                kept = [results.get(k) for k in kept_keys]
                top = [results.get(k) for k in top_keys]
                if _pair_cost(kept, objective) >= _pair_cost(top, objective):
                    worse |= {producer.name, consumer.name}
            dropped = _drop_pairs(self.workload, plan, worse)
            if dropped == plan:
                break
            plan = dropped
            jobs, key_of = _jobs(self.workload, self.accel, self.spec, plan, self.constraints)
            # a layer between a dropped pair and a kept one now keeps only one of its tensors on chip: a
            # hierarchy not solved yet; solve it, then judge the pairs again (each round drops a pair or stops)
            missing = {key: job for key, job in jobs.items() if key not in results}
            if missing and self.run(missing):
                return plan, jobs, key_of, True
        return plan, jobs, key_of, False


def _plan_after_stop(workload: Workload, accel: Accelerator, spec: MappingSpec, constraints: tuple[UserConstraint, ...],
                     plan: dict[str, Dataflow], results: dict[tuple, LayerSolution], plain_key_of: dict[str, tuple],
                     objective: str) -> tuple[dict[str, Dataflow], dict[tuple, tuple], dict[str, tuple]]:
    """The plan a stopped run reports: a pair stays on chip only where both its kept solutions came in
    with a mapping and the pair is cheaper so (or its plain pair is incomplete); the rest is dropped, as
    ``settle`` would, without solving anything. Returns (plan, jobs, key_of)."""
    layers = list(workload.layers)
    jobs, key_of = _jobs(workload, accel, spec, plan, constraints)
    while True:
        worse: set[str] = set()
        for producer, consumer, kept_keys, top_keys in _kept_pairs(layers, plan, key_of, plain_key_of):
            kept = _pair_cost([results.get(k) for k in kept_keys], objective)
            if kept == float("inf") or kept >= _pair_cost([results.get(k) for k in top_keys], objective):
                worse |= {producer.name, consumer.name}
        dropped = _drop_pairs(workload, plan, worse)
        if dropped == plan:
            return plan, jobs, key_of
        plan = dropped
        jobs, key_of = _jobs(workload, accel, spec, plan, constraints)


def _holds_after_stop(workload: Workload, accel: Accelerator, spec: MappingSpec,
                      constraints: tuple[UserConstraint, ...], plan: dict[str, Dataflow],
                      results: dict[tuple, LayerSolution], unheld_key_of: dict[str, tuple],
                      objective: str) -> dict[str, Dataflow]:
    """The plan a stopped run reports for dynamic W: a hold stays only where every layer of its span came
    in with a mapping and pays (as ``settle_holds`` would judge), without solving anything."""
    layers = list(workload.layers)
    dropped: set[str] = set()
    while True:
        _, key_of = _jobs(workload, accel, spec, plan, constraints)
        worse = _holds_not_paying(layers, plan, results, key_of, unheld_key_of, objective)
        if not worse:
            return plan
        dropped |= worse
        plan = _replanned(workload, accel, spec, constraints, plan, dropped)


def _stopped_message(sol: LayerSolution, why: str) -> LayerSolution:
    """A solution whose search the stop ended says so, and why."""
    if not sol.stopped:
        return sol
    if sol.mapping is not None:
        return replace(sol, message=_joined(f"{why}: the best mapping found so far, its gap as proven then",
                                            sol.message))
    if sol.status is SolveStatus.UNKNOWN:
        return replace(sol, message=f"{why} before a mapping was found")
    return replace(sol, message=_joined(why, sol.message))


def solve_network(
    workload: Workload,
    accel: Accelerator,
    spec: MappingSpec,
    objective: str = "energy",
    config: SolverConfig = DEFAULT_CONFIG,
    *,
    processes: int | None = None,
    total_time_limit_s: float | None = None,
    dataflow: bool = True,
    progress: ProgressFn | None = None,
    constraints: tuple[UserConstraint, ...] = (),
    hook: JobHook | None = None,
) -> NetworkResult:
    """Solve each distinct (layer, rule, dataflow) once; Ctrl-C or the total time limit keep what is done
    and the best mapping of each layer in flight (see the module docstring); a second Ctrl-C raises
    KeyboardInterrupt. ``constraints`` (parsed, e.g. from the command line) apply on top of the spec's,
    by their scope. ``hook`` sees every layer job (``JobHook``); with it the largest layers go first."""
    start = time.perf_counter()
    plain, unheld, plan = _first_plans(workload, accel, spec, constraints, dataflow)
    # both hierarchies are solved for every pair that could keep its tensor on chip, in one batch; a layer
    # in the span of a held output also without it
    jobs, key_of = _jobs(workload, accel, spec, plan, constraints)
    plain_jobs, plain_key_of = _jobs(workload, accel, spec, plain, constraints)
    unheld_jobs, unheld_key_of = _jobs(workload, accel, spec, unheld, constraints)
    first = {**plain_jobs, **unheld_jobs, **jobs}
    if hook is not None:  # the largest layers first: a hook that prunes learns the most the soonest
        first = dict(sorted(first.items(), key=lambda item: -item[1][0].macs))
    n_proc = max(1, min(processes or os.cpu_count() or 1, len(first)))
    # one runner for every phase; in one process the solves run in a helper thread (see workers)
    runner: Runner = ProcessRunner(n_proc) if n_proc > 1 else ThreadRunner()
    driver = _Driver(workload, accel, spec, objective, config, constraints, total_time_limit_s, progress, runner, start,
                     hook)
    alone = _used_whatever_the_plan(plan, plain_key_of)
    # the plan settles as soon as the jobs of its pairs are in: the jobs of layers in no pair (polished in
    # their own task) run on meanwhile, so the plan's polish fills the pool while the last of them finish
    paired = {key for name, flow in plan.items() if flow != Dataflow()
              for key in (key_of[name], plain_key_of[name], unheld_key_of[name])}
    try:
        try:
            stopped = driver.run(first, polish_now=alone, until=paired)
            if not stopped:
                plan, jobs, key_of, stopped = driver.settle_holds(plan, jobs, key_of, unheld_key_of)
            if not stopped:
                plan, jobs, key_of, stopped = driver.settle(plan, jobs, key_of, plain_key_of)
            if not stopped:
                # polish what the plan uses (on hardware whose rules the model does not encode; else a no-op)
                waiting = _unpolished(jobs, {key_of[layer.name] for layer in workload.layers}, driver.results)
                stopped = bool(waiting) and driver.run(waiting, polish=True)
            if not stopped:
                driver.collect()
        except KeyboardInterrupt:
            driver.halt(INTERRUPTED)  # a second Ctrl-C in here raises: out at once
    finally:
        runner.close()
    why = driver.stopped
    if why is not None:
        plan = _holds_after_stop(workload, accel, spec, constraints, plan, driver.results, unheld_key_of, objective)
        plan, jobs, key_of = _plan_after_stop(workload, accel, spec, constraints, plan, driver.results, plain_key_of,
                                              objective)
    layer_results = []
    timed_out = []
    for layer in workload.layers:
        key = key_of[layer.name]
        solved_layer = jobs[key][0]
        sol = driver.results.get(key)
        if sol is None:
            timed_out.append(layer.name)
            started = "was still running after the stop" if key in driver.abandoned else "never started"
            sol = LayerSolution(layer, objective, SolveStatus.NOT_SOLVED, None, None, None, None, None, None, 0, 0.0,
                                f"{why or 'stopped'}: its solve {started}")
        elif sol.layer.name != layer.name:
            # the result may come from any layer of the same signature, not only from ``solved_layer``:
            # a plain hierarchy solved for one layer while the plan still kept the other's pair on chip
            as_solved = operands_exchanged(layer) if sol.operands_exchanged else layer
            sol = replace(sol, layer=as_solved, report=replace(sol.report, layer=layer.name) if sol.report else None)
        if why is not None:
            sol = _stopped_message(sol, why)
        solved_on = sol.accelerator if sol.accelerator is not None else jobs[key][1]
        layer_results.append(LayerResult(sol, plan[layer.name], solved_layer.name, solved_on))
    return NetworkResult(
        workload=workload,
        accelerator=accel,
        objective=objective,
        config=config,
        layers=tuple(layer_results),
        wall_time_s=time.perf_counter() - driver.start,
        interrupted=why == INTERRUPTED,
        timed_out=tuple(timed_out),
        time_limit_reached=why == TIME_LIMIT,
    )
