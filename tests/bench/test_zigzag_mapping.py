"""bench/zigzag_mapping.py: ZigZag's recorded mapping -> imcmap's Mapping (no ZigZag needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from imcmap.models.evaluator import check, evaluate
from imcmap.models.mapping import Loop
from imcmap.models.workload import Layer, Operand
from imcmap.specs.hardware import load_accelerator

ROOT = Path(__file__).resolve().parents[2]
DIMC = load_accelerator(ROOT / "tests" / "data" / "zigzag" / "dimc.yaml")


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("zigzag_mapping", ROOT / "bench" / "zigzag_mapping.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["zigzag_mapping"] = module
    spec.loader.exec_module(module)
    return module


# What record_cme wrote for ResNet-18's layer1.0/conv1 on dimc (ZigZag 3.9.1, lpf 6, opt latency:
# 2.84227e8 pJ, 374,524 cycles, the per-layer numbers of zigzag-notes.md section 3).
RECORD = {
    "layer": "conv",
    "dims": {"B": 1, "K": 64, "G": 1, "OX": 56, "OY": 56, "C": 64, "FX": 3, "FY": 3},
    "relevance": {"K": ["O", "W"], "OX": ["I", "O"], "OY": ["I", "O"], "FY": ["I", "W"], "C": ["I", "W"],
                  "FX": ["I", "W"], "B": ["I"], "G": ["I"]},
    "spatial": {"D1": {"K": 64}, "D2": {"FX": 3, "C": 32}},
    "loops": [["OX", 8], ["OY", 8], ["C", 2], ["FY", 3], ["OY", 7], ["OX", 7]],
    "levels": {"O": [["rf_2B", 0], ["sram_256KB", 4], ["dram", 2]], "W": [["cells", 2], ["dram", 4]],
               "I": [["rf_1B", 0], ["sram_256KB", 4], ["dram", 2]]},
    "operand_links": {"O": "O", "W": "I2", "I": "I1"},
}
CONV = Layer(name="conv", op="Conv", dims={"K": 64, "C": 64, "OY": 56, "OX": 56, "FY": 3, "FX": 3},
             padding=(1, 1, 1, 1))


def test_conv_record_converts_to_a_legal_mapping() -> None:
    """Loops concatenate innermost first; each operand's level loop counts become cumulative cuts."""
    converted = _module().to_imcmap(RECORD, CONV, DIMC)
    mapping = converted.mapping
    assert converted.exact and converted.notes == () and converted.accelerator == DIMC
    assert mapping.spatial == {"D1": {"K": 64}, "D2": {"FX": 3, "C": 32}}
    assert mapping.loops == (Loop("OX", 8), Loop("OY", 8), Loop("C", 2), Loop("FY", 3), Loop("OY", 7), Loop("OX", 7))
    assert mapping.cuts == {Operand.O: (0, 4, 6), Operand.W: (2, 6), Operand.I: (0, 4, 6)}
    assert check(CONV, DIMC, mapping) == []
    assert evaluate(CONV, DIMC, mapping).energy_pj > 0


def test_matrix_dims_renamed_by_role_and_dropped_levels_restricted() -> None:
    """ZigZag's Gemm dim D (rows) becomes B; an output kept in the SRAM restricts imcmap's chain too."""
    record = {
        "layer": "fc",
        "relevance": {"C": ["I", "W"], "D": ["I", "O"], "K": ["O", "W"]},
        "spatial": {"D1": {"K": 64}, "D2": {"C": 128}},
        "loops": [["D", 4], ["K", 2], ["C", 2]],
        "levels": {"O": [["rf_2B", 0], ["sram_256KB", 3]], "W": [["cells", 1], ["dram", 2]],
                   "I": [["rf_1B", 0], ["sram_256KB", 2], ["dram", 1]]},
        "operand_links": {"O": "O", "W": "I2", "I": "I1"},
    }
    fc = Layer(name="fc", op="Gemm", dims={"B": 4, "K": 128, "C": 256})
    converted = _module().to_imcmap(record, fc, DIMC)
    assert converted.mapping.loops[0] == Loop("B", 4)
    assert converted.accelerator.chain("O")[-1].name == "sram_256KB"
    assert converted.notes == ("O: ZigZag kept it in sram_256KB (levels above dropped, inter-layer data locality)",)
    assert converted.exact
    assert check(fc, converted.accelerator, converted.mapping) == []


def test_fractional_unrolling_is_flagged() -> None:
    """A greedy (non-dividing) unrolling is not an imcmap mapping: exact is False, with the reason."""
    record = dict(RECORD, spatial_used={"K": 42.5, "FX": 3, "C": 32})
    converted = _module().to_imcmap(record, CONV, DIMC)
    assert not converted.exact
    assert converted.notes == (
        "D1: K unrolled 42.5 of the 64 named (ZigZag shrinks an unrolling the layer does not fill)",
        "D1: K unrolled 42.5 (fractional; ZigZag's greedy mapping), taken as 43",
        "K: ZigZag covers 43, the layer has 64",
    )


def test_shrunk_unrolling_is_read_from_the_loops() -> None:
    """ZigZag runs K 128 on a K = 192 layer as 2 x 96: the used unrolling is 96 (recorded, or deduced from
    the temporal loops in records without ``spatial_used``), an exact imcmap mapping."""
    layer = Layer(name="conv", op="Conv", dims={"K": 192, "C": 64, "OY": 56, "OX": 56, "FY": 3, "FX": 3},
                  padding=(1, 1, 1, 1))
    base = dict(RECORD, dims=dict(RECORD["dims"], K=192), spatial={"D1": {"K": 128}, "D2": {"FX": 3, "C": 32}},
                loops=RECORD["loops"] + [["K", 2]],
                levels={"O": [["rf_2B", 0], ["sram_256KB", 4], ["dram", 3]], "W": [["cells", 2], ["dram", 5]],
                        "I": [["rf_1B", 0], ["sram_256KB", 4], ["dram", 3]]})
    for record in (base, dict(base, spatial_used={"K": 96, "FX": 3, "C": 32})):
        converted = _module().to_imcmap(record, layer, DIMC)
        assert converted.exact
        assert converted.mapping.spatial["D1"] == {"K": 96}
        assert check(layer, DIMC, converted.mapping) == []
