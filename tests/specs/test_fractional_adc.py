"""Fractional ADC resolution: accepted by the hardware spec, kept whole when whole, priced continuously."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from imcmap.models.hardware import ImcArray
from imcmap.models.imc import accumulator_bits, imc_peak, place_value_shape
from imcmap.serialize import accelerator_json
from imcmap.specs.errors import SpecError
from imcmap.specs.hardware import build_hardware_spec
from imcmap.specs.loader import parse_yaml

MINI = (Path(__file__).resolve().parents[1] / "data" / "good" / "mini_hw.yaml").read_text()
ANALOG = MINI.split("array:")[0] + (
    "array:\n  type: imc\n  imc_type: analog\n  dims: {D1: 4, D2: 32}\n  input_bits: 8\n"
    "  weight_bits: 8\n  input_bits_per_cycle: 2\n  adc_bits: ADC\n  dac_bits: 2\n"
    "  input_toggle_rate: 1\n  weight_sparsity: 0\n"
)  # adc_bits is on line 19, its value at column 13


def _array(adc: str, text: str = ANALOG) -> ImcArray:
    array = build_hardware_spec(parse_yaml(text.replace("ADC", adc), "t.yaml")).accelerator.array
    assert isinstance(array, ImcArray)
    return array


def _error(adc: str, text: str = ANALOG) -> str:
    with pytest.raises(SpecError) as info:
        build_hardware_spec(parse_yaml(text.replace("ADC", adc), "t.yaml"))
    return str(info.value)


def test_fractional_adc_bits_are_kept() -> None:
    """adc_bits: 4.5 (the ICCAD 2023 rule at 32 rows, 2 + 0.5 * log2 32) reaches the model as 4.5."""
    assert _array("4.5").adc_bits == 4.5


def test_whole_adc_bits_stay_integers() -> None:
    """adc_bits: 5 and 5.0 both give the int 5, so shows and JSON documents print 5 as before."""
    for text in ("5", "5.0"):
        bits = _array(text).adc_bits
        assert bits == 5 and type(bits) is int
    accel = build_hardware_spec(parse_yaml(ANALOG.replace("ADC", "5.0"), "t.yaml")).accelerator
    assert accelerator_json(accel)["array"]["adc_bits"] == 5  # type: ignore[index]


@pytest.mark.parametrize(
    ("adc", "expected"),
    [
        ("0.5", "t.yaml:19:13: array.adc_bits: must be >= 1 (got 0.5)"),
        ("'4.5'", "t.yaml:19:13: array.adc_bits: expected a number, got a string ('4.5'); "
                  "write numbers without quotes"),
        ("[4]", "t.yaml:19:13: array.adc_bits: expected a number, got a list"),
        (".nan", "t.yaml:19:13: array.adc_bits: must be a finite number (got .nan)"),
    ],
)
def test_bad_adc_bits(adc: str, expected: str) -> None:
    """A non-number, a resolution below 1 bit or NaN is reported at the value, in the project's form."""
    assert _error(adc) == expected


def test_fractional_adc_bits_on_a_digital_array() -> None:
    """A digital array takes no ADC: 4.5 is refused like 4 is."""
    digital = ANALOG.replace("analog", "digital").replace("  dac_bits: 2\n", "").replace(
        "input_bits_per_cycle: 2", "input_bits_per_cycle: 1"
    )
    assert _error("4.5", digital) == (
        "t.yaml:19:13: array.adc_bits: must be 0 or absent for a digital IMC array (got 4.5)"
    )


def test_fractional_adc_enters_every_formula() -> None:
    """R = 4.5 on a 32-row, 4-column analog array (Bi 8, Bw 8, Bc 2, 0.9 V, full activity).

    ADC energy per conversion (100*R + 0.001*4**R) * V**2 = (450 + 0.512) * 0.81 = 364.91472 fJ, times
    Bw*D1 = 32 ADCs: 11.67727 pJ per cycle, the ICCAD 2023 scripts' stored ``peak_energy_breakdown_adcs``
    for this macro (peak_eval_256kB.pickle, aimc_max 32 x 32). The place-value tree merges Bw = 8 inputs
    of R = 4.5 bits; the accumulator is Bi + R + Bw = 20.5 bits wide.
    """
    array = _array("4.5")
    assert place_value_shape(array) == (8, 4.5)
    assert accumulator_bits(array) == 20.5
    assert imc_peak(array).energy_breakdown_pj["adc"] == pytest.approx(11.67727104, rel=1e-9)


def test_fractional_adc_lies_between_its_neighbours() -> None:
    """Energy per cycle, clock and area all grow with R, so 4.5 bits prices strictly between 4 and 5."""
    from imcmap.models.imc import imc_area_mm2, imc_tclk_ns

    arrays = [replace(_array("4"), adc_bits=bits) for bits in (4, 4.5, 5)]
    for figure in (
        lambda a: imc_peak(a).energy_per_cycle_pj,
        imc_tclk_ns,
        lambda a: sum(imc_area_mm2(a).values()),
    ):
        low, mid, high = (figure(a) for a in arrays)
        assert low < mid < high
