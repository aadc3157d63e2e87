"""Small accelerators built in code for solver tests (no YAML: the solver is tested on its own)."""

from __future__ import annotations

from ortools.sat.python import cp_model

from imcmap.models.hardware import Accelerator, ArrayDim, DigitalArray, ImcArray, ImcType, MemoryKind, MemoryLevel


def mem(name, capacity_bits, operands, bw, r, w, served=(), kind=MemoryKind.SRAM, ports=1):
    return MemoryLevel(
        name=name,
        capacity_bits=capacity_bits,
        operands=tuple(operands),
        read_bw_bits=bw,
        write_bw_bits=bw,
        read_energy_pj=r,
        write_energy_pj=w,
        area_mm2=0.0,
        latency_cycles=1,
        served_dims=tuple(served),
        kind=kind,
        double_buffered=False,
        ports=ports,
    )


def tiny_imc(d1: int = 8, d2: int = 8, analog: bool = False, sram_bits: int = 2048, extra_dims=()) -> Accelerator:
    """A DIMC/AIMC-like hierarchy in the shape of ZigZag's dimc.yaml, shrunk."""
    dims = (ArrayDim("D1", d1), ArrayDim("D2", d2), *(ArrayDim(n, s) for n, s in extra_dims))
    all_dims = tuple(d.name for d in dims)
    array = ImcArray(
        imc_type=ImcType.ANALOG if analog else ImcType.DIGITAL,
        dims=dims,
        input_bits=8,
        weight_bits=8,
        input_bits_per_cycle=2 if analog else 1,
        adc_bits=8 if analog else 0,
        dac_bits=2 if analog else 0,
        input_toggle_rate=1.0,
        weight_sparsity=0.0,
    )
    memories = (
        mem("cells", 8, ["I2"], 8, 0.0, 0.095),
        mem("rf_i", 8, ["I1"], 8, 0.021, 0.021, served=["D1"], kind=MemoryKind.RF),
        mem("rf_o", 16, ["O"], 16, 0.021, 0.021, served=["D2"], kind=MemoryKind.RF),
        mem("sram", sram_bits, ["I1", "O"], 64, 52.0, 47.3, served=all_dims),
        mem("dram", 1 << 34, ["I1", "I2", "O"], 64, 700.0, 750.0, served=all_dims, kind=MemoryKind.DRAM),
    )
    return Accelerator("tiny_imc", memories, array)


def tiny_digital(d1: int = 4, d2: int = 4, sram_bits: int = 4096) -> Accelerator:
    dims = (ArrayDim("D1", d1), ArrayDim("D2", d2))
    memories = (
        mem("rf_w", 16, ["I2"], 8, 0.02, 0.02, kind=MemoryKind.RF),
        mem("rf_o", 32, ["O"], 16, 0.03, 0.03, served=["D2"], kind=MemoryKind.RF),
        mem("sram", sram_bits, ["I1", "I2", "O"], 64, 20.0, 22.0, served=("D1", "D2")),
        mem("dram", 1 << 34, ["I1", "I2", "O"], 64, 700.0, 750.0, served=("D1", "D2"), kind=MemoryKind.DRAM),
    )
    return Accelerator("tiny_digital", memories, DigitalArray(dims, mac_energy_pj=0.04))


def oracle_imc(d1: int = 4, d2: int = 4, buf_bits: int = 256, analog: bool = False) -> Accelerator:
    """Three levels, small enough for brute force: macro cells (W), a buffer (I, O), DRAM."""
    dims = (ArrayDim("D1", d1), ArrayDim("D2", d2))
    array = ImcArray(
        imc_type=ImcType.ANALOG if analog else ImcType.DIGITAL, dims=dims, input_bits=8, weight_bits=8,
        input_bits_per_cycle=2 if analog else 1, adc_bits=6 if analog else 0, dac_bits=2 if analog else 0,
        input_toggle_rate=1.0, weight_sparsity=0.0,
    )
    memories = (
        mem("cells", 8, ["I2"], 8, 0.0, 0.095),
        mem("buf", buf_bits, ["I1", "O"], 32, 3.0, 3.5, served=("D1", "D2")),
        mem("dram", 1 << 30, ["I1", "I2", "O"], 64, 700.0, 750.0, served=("D1", "D2"), kind=MemoryKind.DRAM),
    )
    return Accelerator("oracle_imc", memories, array)


def oracle_imc_rows(d1: int = 4, d2: int = 8, buf_bits: int = 256, analog: bool = False) -> Accelerator:
    """oracle_imc plus one input register per macro row (shared along the columns), as in ZigZag's
    dimc.yaml: under a diagonal mapping the evaluator gives each of rows_total rows its own input."""
    base = oracle_imc(d1, d2, buf_bits, analog)
    rf = mem("rf_i", 8, ["I1"], 8, 0.02, 0.02, served=("D1",), kind=MemoryKind.RF)
    return Accelerator("oracle_imc_rows", (base.memories[0], rf, *base.memories[1:]), base.array)


def oracle_digital(d1: int = 2, d2: int = 2, rf_bits: int = 32, buf_bits: int = 256) -> Accelerator:
    """Three levels over a digital PE array: a per-PE register (W, O), a shared buffer (I, W, O), DRAM."""
    dims = (ArrayDim("D1", d1), ArrayDim("D2", d2))
    memories = (
        mem("rf", rf_bits, ["I2", "O"], 16, 0.05, 0.06, kind=MemoryKind.RF),
        mem("buf", buf_bits, ["I1", "I2", "O"], 32, 4.0, 4.5, served=("D1", "D2")),
        mem("dram", 1 << 30, ["I1", "I2", "O"], 64, 700.0, 750.0, served=("D1", "D2"), kind=MemoryKind.DRAM),
    )
    return Accelerator("oracle_digital", memories, DigitalArray(dims, mac_energy_pj=0.04))


def with_zigzag_rules(accel: Accelerator, word_divisor: int = 4) -> Accelerator:
    """``accel`` as if read from a ZigZag file: ZigZag's rules, one read and one write port per memory
    carrying every transfer of its operands, smallest transfer a quarter of the port width."""
    from dataclasses import replace

    from imcmap.models.hardware import CostRules, Port

    levels = []
    for m in accel.memories:
        reads = frozenset((op, d) for op in m.operands for d in (("tl", "th") if op == "O" else ("tl",)))
        writes = frozenset((op, d) for op in m.operands for d in (("fl", "fh") if op == "O" else ("fh",)))
        ports = (Port("r_port_1", m.read_bw_bits, max(1, m.read_bw_bits // word_divisor), reads),
                 Port("w_port_1", m.write_bw_bits, max(1, m.write_bw_bits // word_divisor), writes))
        levels.append(replace(m, port_allocation=ports, ports=2))
    return replace(accel, memories=tuple(levels), rules=CostRules.ZIGZAG)


def proven_optimum(model: cp_model.CpModel) -> tuple[str, float | None]:
    """CP-SAT's status on ``model`` (one worker, seed 0, the solver's search parameters, 60 det-s) and
    its objective when proven optimal."""
    from imcmap.solver.solve import apply_search_parameters

    solver = cp_model.CpSolver()
    solver.parameters.random_seed = 0
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 60
    apply_search_parameters(solver.parameters)
    status = solver.solve(model)
    return solver.status_name(status), solver.objective_value if status == cp_model.OPTIMAL else None
