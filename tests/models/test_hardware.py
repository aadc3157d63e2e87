"""``models.hardware``: chains, instance counts, ports and the IMC array's derived sizes, by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.hardware import Accelerator, ArrayDim, DigitalArray, ImcArray, ImcType, MemoryKind, MemoryLevel, Port


def mem(name: str, capacity_bits: int, operands: list[str], served: tuple[str, ...] = ()) -> MemoryLevel:
    return MemoryLevel(
        name=name,
        capacity_bits=capacity_bits,
        operands=tuple(operands),
        read_bw_bits=64,
        write_bw_bits=64,
        read_energy_pj=1.0,
        write_energy_pj=1.0,
        served_dims=served,
    )


def tiny_imc(extra_dims: tuple[tuple[str, int], ...] = ()) -> Accelerator:
    """The solver tests' tiny_imc hierarchy (cells W; rf_i I along D1; rf_o O along D2; sram; dram)."""
    dims = (ArrayDim("D1", 8), ArrayDim("D2", 8), *(ArrayDim(n, s) for n, s in extra_dims))
    names = tuple(d.name for d in dims)
    memories = (
        mem("cells", 8, ["I2"]),
        mem("rf_i", 8, ["I1"], ("D1",)),
        mem("rf_o", 16, ["O"], ("D2",)),
        mem("sram", 2048, ["I1", "O"], names),
        replace(mem("dram", 1 << 34, ["I1", "I2", "O"], names), kind=MemoryKind.DRAM),
    )
    return Accelerator("tiny_imc", memories, ImcArray(ImcType.DIGITAL, dims, 8, 8, 1))


def tiny_digital(d1: int, d2: int) -> Accelerator:
    memories = (mem("sram", 4096, ["I1", "I2", "O"], ("D1", "D2")),)
    return Accelerator("tiny_digital", memories, DigitalArray((ArrayDim("D1", d1), ArrayDim("D2", d2)), 0.04))


def with_ports(accel: Accelerator) -> Accelerator:
    """One read port carrying every read (tl, and th for outputs) and one write port (fh, fl for O)."""
    levels = []
    for m in accel.memories:
        reads = frozenset((op, d) for op in m.operands for d in (("tl", "th") if op == "O" else ("tl",)))
        writes = frozenset((op, d) for op in m.operands for d in (("fl", "fh") if op == "O" else ("fh",)))
        levels.append(replace(m, port_allocation=(Port("r_port_1", 64, 16, reads), Port("w_port_1", 64, 16, writes))))
    return replace(accel, memories=tuple(levels))


def test_chain_lists_the_holders_lowest_first():
    """tiny_imc: I1 is held by rf_i, sram, dram; I2 by cells and dram; O by rf_o, sram, dram."""
    accel = tiny_imc()
    assert [m.name for m in accel.chain("I1")] == ["rf_i", "sram", "dram"]
    assert [m.name for m in accel.chain("I2")] == ["cells", "dram"]
    assert [m.name for m in accel.chain("O")] == ["rf_o", "sram", "dram"]
    assert accel.chain("X") == ()


def test_instances_are_the_product_of_the_unserved_array_dims():
    """An 8 x 8 IMC array with 2 macros (D3): cells serve nothing, 8*8*2 = 128 instances; rf_i serves
    D1, so 8*2 = 16; sram and dram serve every dim: 1."""
    accel = tiny_imc(extra_dims=(("D3", 2),))
    assert [accel.instances(accel.memory(n)) for n in ("cells", "rf_i", "rf_o", "sram", "dram")] == [128, 16, 16, 1, 1]


def test_lookups_by_name():
    """memory() and array_dim_size() find by name and raise KeyError for an unknown one."""
    accel = tiny_digital(d1=4, d2=2)
    assert accel.memory("sram").capacity_bits == 4096
    assert accel.array_dim_size("D2") == 2
    with pytest.raises(KeyError):
        accel.memory("l3")
    with pytest.raises(KeyError):
        accel.array_dim_size("D9")


def test_ports_carry_their_transfers():
    """With a port allocation (as ZigZag files give), reads to the level below (tl) go through r_port_1 and writes from
    above (fh) through w_port_1; an operand a memory does not hold has no port."""
    accel = with_ports(tiny_imc())
    sram = accel.memory("sram")
    assert accel.port(sram, "I1", "tl").name == "r_port_1"
    assert accel.port(sram, "O", "fl").name == "w_port_1"
    with pytest.raises(KeyError, match="no port carries I2 tl"):
        accel.port(sram, "I2", "tl")


def test_a_port_shared_by_two_inputs():
    """A port serving I1 and I2 is shared by two inputs; one serving I1 and O is not."""
    assert Port("p", 64, 8, frozenset({("I1", "tl"), ("I2", "tl")})).shared_by_two_inputs
    assert not Port("p", 64, 8, frozenset({("I1", "tl"), ("O", "th")})).shared_by_two_inputs


def test_imc_array_sizes():
    """Columns = D1, rows = D2, macros = product of the rest (3 * 2 = 6); 8-bit inputs at 3 bits per
    cycle take ceil(8 / 3) = 3 cycles per MAC."""
    array = ImcArray(ImcType.ANALOG, (ArrayDim("D1", 16), ArrayDim("D2", 32), ArrayDim("D3", 3), ArrayDim("D4", 2)),
                     input_bits=8, weight_bits=8, input_bits_per_cycle=3)
    assert (array.cols, array.rows, array.macros, array.cycles_per_mac) == (16, 32, 6, 3)


def test_holds():
    """A level holds the memory operands it lists."""
    level = mem("buf", 64, ["I1", "O"])
    assert level.holds("I1") and level.holds("O") and not level.holds("I2")
