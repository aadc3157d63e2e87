"""Chip-specific validation form (imc-model.md sections 4-6, 9), priced on the bundled chips' recipes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from imcmap.models.imc_validation import (
    AccumulatorDelay,
    ChipRecipe,
    ChipValidation,
    evaluate_chip,
    model_ratios,
)
from imcmap.specs.chips import list_bundled_chips, load_chip

REPORTED_CHIPS = ("aimc1", "aimc2", "dimc1", "dimc2", "dimc4")

# Source of the published ratios: Sun, Houshmand, Verhelst, "Analog or Digital In-Memory Computing?
# Benchmarking through Quantitative Modeling", ICCAD 2023 (arXiv 2405.14978); ZigZag-IMC's
# imc_model_validation/model_validation.png (percent above each bar).
PUBLISHED_RATIO_TOLERANCE = 0.05  # 5 percentage points


def validation(chip: str) -> ChipValidation:
    return load_chip(dict(list_bundled_chips())[chip]).validation


def recipe(chip: str) -> ChipRecipe:
    return validation(chip).recipe


# --- section 6 model numbers (imc_chips.yaml model_check) ----------------------------------------

MODEL_CHECK = {
    # chip: (area mm2, tclk ns, fJ/MAC, TOP/s/W, TOP/s)
    "aimc1": (0.99932, 44.0081, 1.6951, 1179.9, 23.827),  # area with cell factor 1 (the figure's choice)
    "aimc2": (0.456694, 7.5404, 936.608, 2.1354, 0.20370),
    "dimc1": (0.883483, 4.27332, 55.1053, 36.294, 1.43776),
    "dimc2": (0.023797, 3.93872, 231.761, 8.6296, None),  # tclk with the generic accumulator delay
    "dimc4": (0.330750, 2.38044, 116.164, 17.217, 0.43017),
}


@pytest.mark.parametrize("chip", sorted(MODEL_CHECK))
def test_model_check_numbers(chip: str) -> None:
    """Area, tclk, fJ/MAC, TOP/s/W and peak TOP/s of the five shared chips (section 6 / model_check)."""
    area, tclk, energy, tops_w, tops = MODEL_CHECK[chip]
    r = evaluate_chip(recipe(chip))
    assert r.area_mm2 == pytest.approx(area, rel=1e-4)
    assert r.tclk_ns == pytest.approx(tclk, rel=1e-4)
    assert r.energy_fj_per_mac == pytest.approx(energy, rel=1e-4)
    assert r.tops_per_w == pytest.approx(tops_w, rel=1e-4)
    if tops is not None:
        assert r.throughput_tops == pytest.approx(tops, rel=1e-4)
    assert r.area_mm2 == pytest.approx(sum(r.area_breakdown.values()))
    assert r.energy_fj_per_mac == pytest.approx(sum(r.energy_breakdown.values()))


def test_aimc1_script_cell_factor() -> None:
    """AIMC1 with the shipped script's cell-area factor 2 gives 1.24429 mm2 (64 %), section 9."""
    r0 = recipe("aimc1")
    r = dataclasses.replace(r0, cell_array=dataclasses.replace(r0.cell_array, area_multiplier=2.0))
    result = evaluate_chip(r)
    assert result.area_mm2 == pytest.approx(1.24429, rel=1e-5)
    assert result.area_breakdown["cells"] == pytest.approx(0.489934, abs=5e-7)


def test_dimc2_script_accumulator_delay() -> None:
    """DIMC2 with the shipped script's sum-only accumulator delay: tclk 3.17392 ns (106 %), peak 0.0050413 TOP/s."""
    r0 = recipe("dimc2")
    acc = dataclasses.replace(r0.accumulators[0], delay=AccumulatorDelay.SUM_ONLY)
    result = evaluate_chip(dataclasses.replace(r0, accumulators=(acc,)))
    assert result.tclk_ns == pytest.approx(3.17392, rel=1e-6)
    assert result.throughput_tops == pytest.approx(0.0050413, rel=1e-4)


def test_aimc1_breakdown() -> None:
    """AIMC1 blocks of section 5: area of mults, ADCs, cells; energy of mults, lines, ADCs, DACs per MAC."""
    r = evaluate_chip(recipe("aimc1"))
    assert r.area_breakdown["mult"] == pytest.approx(0.505863, abs=5e-7)
    assert r.area_breakdown["adc"] == pytest.approx(0.248493, abs=5e-7)
    assert r.area_breakdown["cells"] == pytest.approx(0.244967, abs=5e-7)
    e = r.energy_breakdown
    assert e["mult"] == pytest.approx(0.352, abs=5e-4)
    assert e["bitline"] + e["enable"] == pytest.approx(0.528, abs=5e-4)
    assert e["adc"] == pytest.approx(0.378, abs=5e-4)
    assert e["dac"] == pytest.approx(0.438, abs=5e-4)
    assert r.stage_delays_ns == pytest.approx((0.0478 + 43.96032,))


def test_aimc2_breakdown() -> None:
    """AIMC2 blocks of section 5 (two transfers per cycle included)."""
    r = evaluate_chip(recipe("aimc2"))
    a = r.area_breakdown
    assert a["mult"] == pytest.approx(0.001886, abs=5e-7)
    assert a["place_value"] == pytest.approx(0.030114, abs=5e-7)
    assert a["accumulator"] == pytest.approx(0.004598, abs=5e-7)
    assert a["cells"] == pytest.approx(0.144180, abs=5e-7)
    assert a["accumulator_register"] == pytest.approx(0.003537, abs=5e-7)
    assert a["pipeline"] == pytest.approx(0.014147, abs=5e-7)
    assert a["adc"] == pytest.approx(0.258233, abs=5e-7)
    e = r.energy_breakdown
    assert e["mult"] == pytest.approx(2.268, abs=5e-4)
    assert e["place_value"] == pytest.approx(55.708, abs=5e-4)
    assert e["accumulator"] + e["accumulator_register"] == pytest.approx(12.757, abs=5e-4)
    assert e["wordline"] + e["enable"] == pytest.approx(10.206, abs=5e-4)
    assert e["pipeline"] == pytest.approx(17.010, abs=5e-4)
    assert e["adc"] == pytest.approx(811.659, abs=5e-4)
    assert e["dac"] == pytest.approx(27.000, abs=5e-4)
    assert r.stage_delays_ns == pytest.approx((2 * 3.7702, 2 * 2.84888))


def test_dimc1_breakdown() -> None:
    """DIMC1 blocks of section 5, including the floating-point support area."""
    r = evaluate_chip(recipe("dimc1"))
    a = r.area_breakdown
    expected = {
        "mult": 0.060359,
        "tree": 0.560911,
        "accumulator": 0.058850,
        "accumulator_register": 0.045269,
        "cells": 0.041949,
        "fp_tree": 0.049041,
        "fp_rca": 0.049041,
        "fp_registers": 0.018063,
    }
    assert a == pytest.approx(expected, abs=5e-7)
    e = r.energy_breakdown
    assert e["mult"] == pytest.approx(2.268, abs=5e-4)
    assert e["tree"] == pytest.approx(32.425, abs=5e-4)
    assert e["accumulator"] + e["accumulator_register"] == pytest.approx(20.412, abs=5e-4)
    assert e["fp_tree"] == e["fp_rca"] == e["fp_registers"] == 0.0


def test_dimc2_breakdown() -> None:
    """DIMC2 blocks of section 5: accumulators per row in the area, per column in the energy."""
    r = evaluate_chip(recipe("dimc2"))
    a = r.area_breakdown
    expected = {
        "mult": 0.000314,
        "tree": 0.005000,
        "accumulator": 0.004904,
        "accumulator_register": 0.003772,
        "pipeline": 0.001886,
        "cells": 0.00792,
    }
    assert a == pytest.approx(expected, abs=5e-7)
    e = r.energy_breakdown
    assert e["mult"] == pytest.approx(8.165, abs=5e-4)
    assert e["tree"] == pytest.approx(199.782, abs=5e-4)
    assert e["accumulator"] + e["accumulator_register"] == pytest.approx(20.412, abs=5e-4)
    assert e["pipeline"] == pytest.approx(3.402, abs=5e-4)
    assert r.stage_delays_ns == pytest.approx((0.0478, 2.94448 + 0.99424))


def test_dimc4_breakdown() -> None:
    """DIMC4 blocks of section 5: the three tree levels hold 1966 FAs; multipliers scaled by toggle only."""
    r = evaluate_chip(recipe("dimc4"))
    a = r.area_breakdown
    assert a["mult"] == pytest.approx(0.002515, abs=5e-7)
    assert a["tree_l1"] + a["tree_l2"] + a["tree_l3"] == pytest.approx(0.301298, abs=5e-7)
    assert a["pipeline"] == pytest.approx(0.005659, abs=5e-7)
    assert a["accumulator"] == pytest.approx(0.002605, abs=5e-7)
    assert a["accumulator_register"] == pytest.approx(0.002004, abs=5e-7)
    assert a["cells"] == pytest.approx(0.016669, abs=5e-7)
    e = r.energy_breakdown
    assert e["mult"] == pytest.approx(1.134, abs=5e-4)
    assert e["tree_l1"] + e["tree_l2"] + e["tree_l3"] == pytest.approx(104.505, abs=5e-4)
    assert e["accumulator"] + e["accumulator_register"] == pytest.approx(5.422, abs=5e-4)
    assert e["pipeline"] == pytest.approx(5.103, abs=5e-4)
    assert r.stage_delays_ns == pytest.approx((0.0478 + 1.18544 + 1.1472, 1.3384 + 0.99424))


# --- the target: model / reported within 5 pp of the published ratio -----------------------


def _ratio_cases() -> list[Any]:
    cases: list[Any] = []
    for chip in REPORTED_CHIPS:
        for metric in ("area", "tclk", "energy"):
            marks = []
            if chip == "dimc2" and metric == "energy":
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        reason=(
                            "DIMC2 energy: the figure's 139 % is not reproducible from the shipped scripts "
                            "(they give 255 %; imc-model.md section 9); the script value is implemented"
                        ),
                    )
                )
            cases.append(pytest.param(chip, metric, marks=marks, id=f"{chip}-{metric}"))
    return cases


@pytest.mark.parametrize(("chip", "metric"), _ratio_cases())
def test_ratio_matches_published(chip: str, metric: str) -> None:
    """Model/reported within 5 pp of the published ratio (ICCAD 2023, arXiv 2405.14978, model_validation.png)."""
    v = validation(chip)
    assert v.reported is not None and v.published_ratio is not None
    ours = getattr(model_ratios(evaluate_chip(v.recipe), v.reported), metric)
    published = getattr(v.published_ratio, metric)
    assert abs(ours - published) <= PUBLISHED_RATIO_TOLERANCE, f"{chip} {metric}: {ours:.3f} vs {published:.2f}"


def test_dimc2_energy_alternative_setting() -> None:
    """Section 9's example: t = w = 0.5 with a 14-bit tree input gives 138.8 % (not used: it changes the structure)."""
    r0 = recipe("dimc2")
    tree = dataclasses.replace(r0.adders[0], input_bits=14)
    r = dataclasses.replace(r0, adders=(tree,), activity=dataclasses.replace(r0.activity, weight_sparsity=0.5))
    reported = validation("dimc2").reported
    assert reported is not None
    assert model_ratios(evaluate_chip(r), reported).energy == pytest.approx(1.388, abs=5e-4)


# --- AIMC3 and DIMC3: no reported values, modelled from their structure ---------------------------


def test_aimc3_structure() -> None:
    """AIMC3: tclk = Dg + T_adc(3, 8 active rows) + T_rca(6); ADC area at 7 bits, energy at 3 bits; 22/28 scaling."""
    v = validation("aimc3")
    assert v.reported is None and v.published_ratio is None
    r = evaluate_chip(v.recipe)
    assert r.tclk_ns == pytest.approx(0.0478 + 3 * (0.00653 * 8 + 0.640) + 0.21032 + 5 * 0.0956)
    scale = 22 / 28
    assert r.area_breakdown["adc"] == pytest.approx(8 * 256 * 1134.78e-6 * scale, rel=1e-5)
    assert r.area_breakdown["cells"] == pytest.approx(8 * 0.004505472 * scale)
    macs, ncyc = 8 * 2048, 8
    adc_fj = (300 + 0.001 * 64) * 0.64
    assert r.energy_breakdown["adc"] == pytest.approx(8 * 256 * adc_fj * 0.5 * ncyc / macs)
    mult_fj = 0.5 * 0.7 * 0.64
    assert r.energy_breakdown["mult"] == pytest.approx(8 * 256 * 16 * mult_fj * 0.375 * 0.5 * scale * ncyc / macs)
    assert "dac" not in r.energy_breakdown


def test_dimc3_structure() -> None:
    """DIMC3: column trees at t*w, a full-activity cross-column tree, one accumulator per macro, all in series."""
    v = validation("dimc3")
    assert v.reported is None and v.published_ratio is None
    r = evaluate_chip(v.recipe)
    t_acc = 0.22944 + (23 - 17) * 0.0956
    t_column_tree = 6 * 0.22944 + 0.21032 + 7 * 0.0956  # T_tree(128, 2)
    t_cross_tree = 2 * 0.22944 + 0.21032 + 17 * 0.0956  # T_tree(8, 16)
    assert r.tclk_ns == pytest.approx(0.0478 + t_column_tree + t_acc + t_cross_tree)
    macs, ncyc = 8 * 128, 4
    fa = 0.7 * 6 * 0.81
    assert r.energy_breakdown["column_tree"] == pytest.approx(64 * 374 * fa * 0.25 * ncyc / macs)
    assert r.energy_breakdown["cross_column_tree"] == pytest.approx(8 * 116 * fa * ncyc / macs)
    assert r.throughput_tops == pytest.approx(2 * macs / (r.tclk_ns * ncyc) / 1000)
