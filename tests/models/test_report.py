"""``models.report``: the derived figures of a ``CostReport``, by hand."""

from __future__ import annotations

from imcmap.models.report import Accesses, CostReport, EnergyItem
from imcmap.models.workload import Operand

REPORT = CostReport(
    layer="l",
    energy_pj=10.0,
    energy_breakdown=(
        EnergyItem("mac", "array", "", 4.0),
        EnergyItem("memory", "sram", "W", 1.5),
        EnergyItem("memory", "sram", "W", 0.5),
        EnergyItem("memory", "dram", "I", 3.0),
        EnergyItem("adc", "array", "", 1.0),
    ),
    latency_cycles=200.0,
    compute_cycles=150.0,
    stall_cycles=50.0,
    load_cycles=0.0,
    spatial_utilization=0.5,
    temporal_utilization=0.8,
    area_mm2=1.0,
    tclk_ns=2.5,
    macs=1000,
    accesses=(Accesses("sram", Operand.W, 10, 0, 80, 0),),
)


def test_utilization_latency_and_edp():
    """Utilization 0.5 * 0.8 = 0.4; latency 200 cycles * 2.5 ns = 500 ns; EDP 10 pJ * 200 = 2000."""
    assert REPORT.utilization == 0.4
    assert REPORT.latency_ns == 500.0
    assert REPORT.edp == 2000.0


def test_energy_by_component_keys_array_parts_by_name_and_memory_by_level_and_operand():
    """mac 4, adc 1, sram/W 1.5 + 0.5 = 2, dram/I 3; the parts add up to the total 10."""
    parts = REPORT.energy_by_component()
    assert parts == {"mac": 4.0, "sram/W": 2.0, "dram/I": 3.0, "adc": 1.0}
    assert sum(parts.values()) == REPORT.energy_pj
