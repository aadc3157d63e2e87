"""Evaluator invariants on random tiny layers and mappings (hypothesis, derandomized).

The generator builds small accelerators in code (a digital PE array or an analog / digital IMC
macro, each with a register level per operand, a shared buffer and DRAM), a conv layer with dims
1..8 (strides and dilations 1..2), and a mapping: random spatial factors within the array sizes
(IMC: only the dims the macro can unroll), the remaining prime factors as temporal loops in a random
order, and random monotone level cuts. Mappings that ``check`` rejects are skipped (``assume``).

The input lower bound is the number of input elements some MAC touches, not
``Layer.operand_size(I)``: that counts the whole window ``s*(O-1) + d*(F-1) + 1`` including the
positions a stride or dilation skips (e.g. a 1x1 conv with stride 2), which no mapping has to read.
"""

from __future__ import annotations

import dataclasses
import math
from itertools import product

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imcmap.models.evaluator import IMC_COLUMN_DIMS, IMC_ROW_DIMS, check, evaluate
from imcmap.models.hardware import (
    Accelerator,
    ArrayDim,
    DigitalArray,
    ImcArray,
    ImcType,
    MemoryKind,
    MemoryLevel,
)
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS, Loop, Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import (
    LOOP_DIMS,
    OPERANDS,
    Layer,
    Operand,
    Precision,
    is_relevant,
)

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

BANDWIDTHS = (8, 16, 32, 64)


# --- generators -------------------------------------------------------------------------------


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    dims = {d: draw(st.integers(1, 8)) for d in ("K", "C", "OY", "OX", "FY", "FX")}
    dims["B"] = draw(st.integers(1, 2))
    dims["G"] = draw(st.integers(1, 2))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    precision = Precision(
        w_bits=draw(st.sampled_from((4, 8))),
        i_bits=draw(st.sampled_from((4, 8))),
        o_bits=draw(st.sampled_from((8, 16))),
        psum_bits=draw(st.sampled_from((16, 24))),
    )
    return Layer("conv", "Conv", dims, stride=stride, dilation=dilation, precision=precision)


@st.composite
def memory(
    draw: st.DrawFn, name: str, operands: tuple[str, ...], served: tuple[str, ...], capacity: int
) -> MemoryLevel:
    return MemoryLevel(
        name=name,
        capacity_bits=capacity,
        operands=operands,
        read_bw_bits=draw(st.sampled_from(BANDWIDTHS)),
        write_bw_bits=draw(st.sampled_from(BANDWIDTHS)),
        read_energy_pj=draw(st.floats(0.0, 5.0)),
        write_energy_pj=draw(st.floats(0.0, 5.0)),
        served_dims=served,
        kind=MemoryKind.DRAM if name == "dram" else MemoryKind.SRAM,
        double_buffered=draw(st.booleans()) if name == "buf" else False,
        ports=draw(st.integers(1, 2)),
    )


@st.composite
def accelerators(draw: st.DrawFn) -> Accelerator:
    kind = draw(st.sampled_from(("digital", "imc_digital", "imc_analog")))
    if kind == "digital":
        dims = (ArrayDim("D1", draw(st.integers(1, 4))), ArrayDim("D2", draw(st.integers(1, 4))))
        array: DigitalArray | ImcArray = DigitalArray(dims, mac_energy_pj=draw(st.floats(0.0, 1.0)))
    else:
        dims = (
            ArrayDim("D1", draw(st.sampled_from((1, 2, 4)))),
            ArrayDim("D2", draw(st.sampled_from((2, 4, 8)))),
            ArrayDim("D3", draw(st.sampled_from((1, 2)))),
        )
        bi = draw(st.sampled_from((4, 8)))
        array = ImcArray(
            ImcType.ANALOG if kind == "imc_analog" else ImcType.DIGITAL,
            dims,
            input_bits=bi,
            weight_bits=draw(st.sampled_from((4, 8))),
            input_bits_per_cycle=draw(st.sampled_from(tuple(b for b in (1, 2, 4) if b <= bi))),
            adc_bits=draw(st.integers(3, 8)) if kind == "imc_analog" else 0,
            input_toggle_rate=draw(st.floats(0.0, 1.0)),
            weight_sparsity=draw(st.floats(0.0, 0.9)),
        )
    names = tuple(d.name for d in dims)
    d1, d2 = names[0], names[1]
    levels = (
        draw(memory("w_reg", ("I2",), (), draw(st.sampled_from((8, 16, 64, 256))))),
        draw(memory("i_reg", ("I1",), (d1,), draw(st.sampled_from((8, 32, 128, 1024))))),
        draw(memory("o_reg", ("O",), (d2,), draw(st.sampled_from((16, 64, 256, 1024))))),
        draw(memory("buf", ("I1", "O"), names, 2 ** draw(st.integers(10, 18)))),
        draw(memory("dram", ("I1", "I2", "O"), names, 10**12)),
    )
    return Accelerator(kind, levels, array)


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _divisors(n: int, limit: int) -> list[int]:
    return [f for f in range(1, min(n, limit) + 1) if n % f == 0]


@st.composite
def mappings(draw: st.DrawFn, layer: Layer, accel: Accelerator) -> Mapping:
    remaining = {d: layer.size(d) for d in LOOP_DIMS}
    spatial: dict[str, dict[str, int]] = {}
    imc = isinstance(accel.array, ImcArray)
    for index, adim in enumerate(accel.array_dims):
        allowed = LOOP_DIMS
        if imc and index == 0:
            allowed = tuple(d for d in LOOP_DIMS if d in IMC_COLUMN_DIMS)
        elif imc and index == 1:
            allowed = tuple(d for d in LOOP_DIMS if d in IMC_ROW_DIMS)
        chosen = draw(st.lists(st.sampled_from(allowed), max_size=2, unique=True))
        room = adim.size
        unrolls: dict[str, int] = {}
        for dim in chosen:
            factor = draw(st.sampled_from(_divisors(remaining[dim], room)))
            if factor > 1:
                unrolls[dim] = factor
                remaining[dim] //= factor
                room //= factor
        if unrolls:
            spatial[adim.name] = unrolls
    primes = [Loop(d, p) for d in LOOP_DIMS for p in _prime_factors(remaining[d])]
    loops = tuple(draw(st.permutations(primes)))
    cuts: dict[Operand, tuple[int, ...]] = {}
    for operand in OPERANDS:
        n_levels = len(accel.chain(DEFAULT_OPERAND_LINKS[operand]))
        # the register level mostly keeps only loops irrelevant to the operand (plus at most one
        # more), or the small registers reject almost every mapping
        stationary = next((i for i, loop in enumerate(loops) if is_relevant(operand, loop.dim)), len(loops))
        first = draw(st.integers(0, min(stationary + 1, len(loops))))
        above = st.integers(first, len(loops))
        rest = draw(st.lists(above, min_size=n_levels - 2, max_size=n_levels - 2))  # every chain has >= 2 levels
        cuts[operand] = (first, *sorted(rest), len(loops))
    return Mapping(spatial=spatial, loops=loops, cuts=cuts)


@st.composite
def legal_cases(draw: st.DrawFn) -> tuple[Layer, Accelerator, Mapping]:
    layer = draw(layers())
    accel = draw(accelerators())
    mapping = draw(mappings(layer, accel))
    assume(not check(layer, accel, mapping))
    return layer, accel, mapping


# --- helpers ----------------------------------------------------------------------------------


def _touched_inputs(layer: Layer) -> int:
    """Distinct input elements some MAC reads (strides and dilations can leave holes in the window)."""
    def positions(axis: int, out_dim: str, filter_dim: str) -> int:
        pairs = product(range(layer.size(out_dim)), range(layer.size(filter_dim)))
        return len({layer.stride[axis] * o + layer.dilation[axis] * f for o, f in pairs})

    return layer.size("B") * layer.size("G") * layer.size("C") * positions(0, "OY", "FY") * positions(1, "OX", "FX")


def _faster_memories(accel: Accelerator) -> Accelerator:
    """Every port twice as wide, each access twice as costly: same energy per bit."""
    doubled = tuple(
        dataclasses.replace(
            m,
            read_bw_bits=2 * m.read_bw_bits,
            write_bw_bits=2 * m.write_bw_bits,
            read_energy_pj=2 * m.read_energy_pj,
            write_energy_pj=2 * m.write_energy_pj,
        )
        for m in accel.memories
    )
    return dataclasses.replace(accel, memories=doubled)


def _report(case: tuple[Layer, Accelerator, Mapping]) -> CostReport:
    return evaluate(*case)


# --- properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(legal_cases())
def test_energy_is_the_sum_of_its_breakdown(case: tuple[Layer, Accelerator, Mapping]) -> None:
    """energy_pj equals the sum of the breakdown items (rel 1e-9)."""
    report = _report(case)
    assert math.isclose(report.energy_pj, sum(e.energy_pj for e in report.energy_breakdown), rel_tol=1e-9)


@PROPERTY_SETTINGS
@given(legal_cases())
def test_no_negative_energy_access_or_cycle_count(case: tuple[Layer, Accelerator, Mapping]) -> None:
    """No energy item, access count or cycle count is negative."""
    report = _report(case)
    assert all(e.energy_pj >= 0 for e in report.energy_breakdown), report.energy_breakdown
    for a in report.accesses:
        assert min(a.reads, a.writes, a.read_bits, a.write_bits) >= 0, a
    assert min(report.latency_cycles, report.compute_cycles, report.stall_cycles, report.load_cycles) >= 0


@PROPERTY_SETTINGS
@given(legal_cases())
def test_utilizations_are_fractions(case: tuple[Layer, Accelerator, Mapping]) -> None:
    """Spatial, temporal and overall utilization lie in [0, 1]."""
    report = _report(case)
    for value in (report.spatial_utilization, report.temporal_utilization, report.utilization):
        assert 0.0 <= value <= 1.0


@PROPERTY_SETTINGS
@given(legal_cases())
def test_wider_memory_ports_never_slow_down(case: tuple[Layer, Accelerator, Mapping]) -> None:
    """Doubling every read and write bandwidth (same energy per bit) never increases latency_cycles
    and leaves the energy unchanged."""
    layer, accel, mapping = case
    base = evaluate(layer, accel, mapping)
    fast = evaluate(layer, _faster_memories(accel), mapping)
    assert fast.latency_cycles <= base.latency_cycles * (1 + 1e-12)
    assert math.isclose(fast.energy_pj, base.energy_pj, rel_tol=1e-9)


@PROPERTY_SETTINGS
@given(legal_cases(), st.data())
def test_larger_memory_keeps_a_mapping_legal(case: tuple[Layer, Accelerator, Mapping], data: st.DataObject) -> None:
    """Growing any memory's capacity never makes a legal mapping illegal."""
    layer, accel, mapping = case
    index = data.draw(st.integers(0, len(accel.memories) - 1))
    factor = data.draw(st.integers(2, 16))
    memories = list(accel.memories)
    memories[index] = dataclasses.replace(memories[index], capacity_bits=memories[index].capacity_bits * factor)
    assert check(layer, dataclasses.replace(accel, memories=tuple(memories)), mapping) == []


@PROPERTY_SETTINGS
@given(legal_cases())
def test_top_level_reads_every_weight_and_input(case: tuple[Layer, Accelerator, Mapping]) -> None:
    """DRAM reads of W are at least the weights; of I at least the touched inputs (each read once)."""
    layer, accel, mapping = case
    report = evaluate(layer, accel, mapping)
    reads = {(a.level, a.operand): a.reads for a in report.accesses}
    assert reads[("dram", Operand.W)] >= layer.operand_size(Operand.W)
    assert reads[("dram", Operand.I)] >= _touched_inputs(layer)
