"""models/zigzag_rules.py through the evaluator: ZigZag 3.9.1's latency and memory-energy rules on
ZigZag's own hardware file (no ZigZag needed), and the ablations of bench/zigzag_model.py.

The expected numbers are ZigZag 3.9.1's own, recorded by ``bench/peer_zigzag.py --suite`` for ResNet-18
on dimc (lpf 6, opt latency): its chosen mapping of each layer, priced by ZigZag, and here re-priced by
imcmap's evaluator from the mapping alone (``bench/zigzag_mapping.py`` converts ZigZag's record).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from imcmap.models.evaluator import check, evaluate
from imcmap.models.hardware import CostRules
from imcmap.models.workload import Layer
from imcmap.specs.hardware import load_accelerator

ROOT = Path(__file__).resolve().parents[2]
HW = ROOT / "tests" / "data" / "zigzag" / "dimc.yaml"
DIMC = load_accelerator(HW)


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


MAPPING = _load("zigzag_mapping")
MODEL = _load("zigzag_model")

RELEVANCE = {"K": ["O", "W"], "OX": ["I", "O"], "OY": ["I", "O"], "FY": ["I", "W"], "C": ["I", "W"],
             "FX": ["I", "W"], "B": ["I"], "G": ["I"]}
LINKS = {"O": "O", "W": "I2", "I": "I1"}

# ResNet-18 /layer1/layer1.0/conv1: ZigZag 284,227,301.8 pJ, 374,524 cycles
# (150,528 compute + 222,680 stall + 802 on-loading + 514 off-loading)
LAYER1 = Layer(name="conv", op="Conv", dims={"K": 64, "C": 64, "OY": 56, "OX": 56, "FY": 3, "FX": 3},
               padding=(1, 1, 1, 1))
RECORD1 = {
    "layer": "conv", "relevance": RELEVANCE, "operand_links": LINKS,
    "dims": {"B": 1, "K": 64, "G": 1, "OX": 56, "OY": 56, "C": 64, "FX": 3, "FY": 3},
    "spatial": {"D1": {"K": 64}, "D2": {"FX": 3, "C": 32}},
    "loops": [["OX", 8], ["OY", 8], ["C", 2], ["FY", 3], ["OY", 7], ["OX", 7]],
    "levels": {"O": [["rf_2B", 0], ["sram_256KB", 4], ["dram", 2]], "W": [["cells", 2], ["dram", 4]],
               "I": [["rf_1B", 0], ["sram_256KB", 4], ["dram", 2]]},
}
# ResNet-18 /conv1 (7x7, stride 2, padding 3): ZigZag 271,154,345.0 pJ, 376,406 cycles
CONV1 = Layer(name="conv1", op="Conv", dims={"K": 64, "C": 3, "OY": 112, "OX": 112, "FY": 7, "FX": 7},
              stride=(2, 2), padding=(3, 3, 3, 3))
RECORD_CONV1 = {
    "layer": "conv1", "relevance": RELEVANCE, "operand_links": LINKS,
    "dims": {"B": 1, "K": 64, "G": 1, "OX": 112, "OY": 112, "C": 3, "FX": 7, "FY": 7},
    "spatial": {"D1": {"K": 64}, "D2": {"FX": 7, "FY": 7}},
    "loops": [["OX", 7], ["OY", 7], ["OY", 4], ["C", 3], ["OY", 4], ["OX", 16]],
    "levels": {"O": [["rf_2B", 0], ["sram_256KB", 4], ["dram", 2]], "W": [["cells", 3], ["dram", 3]],
               "I": [["rf_1B", 0], ["sram_256KB", 4], ["dram", 2]]},
}


def _converted(record, layer):  # type: ignore[no-untyped-def]
    converted = MAPPING.to_imcmap(record, layer, DIMC)
    assert converted.exact
    return converted


def _own_rules(converted):  # type: ignore[no-untyped-def]
    return dataclasses.replace(converted.accelerator, rules=CostRules.IMCMAP)


def test_zigzag_file_is_priced_by_zigzag_rules() -> None:
    """The hardware read from ZigZag's dimc.yaml carries ZigZag's rules and its ports' allocations."""
    assert DIMC.rules is CostRules.ZIGZAG
    sram = {p.name: p for p in DIMC.memory("sram_256KB").port_allocation}
    assert ("I1", "tl") in sram["r_port_1"].serves and ("O", "fl") in sram["w_port_1"].serves
    assert (sram["r_port_1"].bandwidth_bits, sram["r_port_1"].bandwidth_min_bits) == (512, 64)
    dram = DIMC.memory("dram").port_allocation[0]
    assert dram.shared_by_two_inputs and not sram["r_port_1"].shared_by_two_inputs


def test_weight_reload_stall_and_loading_reproduce_zigzag() -> None:
    """The 22% latency gap of zigzag-notes.md: DRAM -> cells weight reloads (768 cycles each at 64 b/cycle,
    8 allowed: the cells are not double-buffered) stall the macro 293 times; ZigZag adds that to compute:
    150,528 + 222,680 + 802 on-loading + 514 off-loading = 374,524 cycles."""
    converted = _converted(RECORD1, LAYER1)
    report = evaluate(LAYER1, converted.accelerator, converted.mapping)
    assert (report.compute_cycles, report.stall_cycles, report.load_cycles) == (150528, 222680, 802 + 514)
    assert report.latency_cycles == 374524
    assert report.energy_pj == pytest.approx(284227301.815296, rel=1e-9)
    cost = MODEL.zigzag_cost(LAYER1, converted.accelerator, converted.mapping)
    weights = [l for l in cost.links if l.level.name == "dram" and l.operand.value == "W"]
    assert [(l.real, l.allowed, l.transfers) for l in weights] == [(768, 8, 294)]
    # imcmap's own rules overlap those DRAM reads with compute: max(compute, DRAM port) + cell writes
    own = evaluate(LAYER1, _own_rules(converted), converted.mapping)
    assert own.latency_cycles == pytest.approx(290539.5)


def test_strided_padded_layer_reproduces_zigzag() -> None:
    """Partial sums read back once per write (including each output's first), every write at 16 bits."""
    converted = _converted(RECORD_CONV1, CONV1)
    report = evaluate(CONV1, converted.accelerator, converted.mapping)
    assert report.latency_cycles == 376406
    assert report.energy_pj == pytest.approx(271154345.035776, rel=1e-9)
    cost = MODEL.zigzag_cost(CONV1, converted.accelerator, converted.mapping)
    psums = [
        l for l in cost.links if l.operand.value == "O" and l.level.name == "sram_256KB" and l.direction in ("fl", "tl")
    ]
    assert {(l.direction, l.transfers, l.bits) for l in psums} == {("fl", 37632, 16), ("tl", 37632, 16)}


def test_input_tiles_stop_at_the_padding() -> None:
    """7x7 outputs of a 3x3 pad-1 conv touch 9x9 positions, of which 7x7 are data: imcmap counts 7x7, like
    ZigZag's calc_tensor_dim, under both rules."""
    layer = Layer(name="c", op="Conv", dims={"K": 8, "C": 8, "OY": 7, "OX": 7, "FY": 3, "FX": 3}, padding=(1, 1, 1, 1))
    assert layer.input_extent("X", 7, 3) == 7
    assert layer.input_extent("X", 4, 3) == 6  # an inner tile keeps its halo


def test_check_still_rejects_what_the_rules_price() -> None:
    """Legality stays with imcmap's check (here: legal), whatever the rules."""
    converted = _converted(RECORD1, LAYER1)
    assert check(LAYER1, converted.accelerator, converted.mapping) == []


@pytest.mark.parametrize(("record", "layer"), [(RECORD1, LAYER1), (RECORD_CONV1, CONV1)])
def test_two_rules_off_is_imcmaps_own_energy(record, layer) -> None:  # type: ignore[no-untyped-def]
    """The energy difference is exactly these rules: with ZigZag's bandwidth_min words and partial-sum
    traffic switched off, ZigZag's rules give imcmap's own memory energy, per operand."""
    converted = _converted(record, layer)
    cost = MODEL.zigzag_cost(layer, converted.accelerator, converted.mapping, words=False, zigzag_psums=False)
    report = evaluate(layer, _own_rules(converted), converted.mapping)
    ours: dict[str, float] = {}
    for key, value in report.energy_by_component().items():
        if "/" in key:
            ours[key.split("/")[1]] = ours.get(key.split("/")[1], 0.0) + value
    assert cost.memory_energy_by_operand == pytest.approx(ours, rel=1e-12)
    assert cost.energy_pj == pytest.approx(report.energy_pj, rel=1e-12)
