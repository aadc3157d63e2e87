"""api.evaluate (a priced full mapping) and api.validate (typed chip checks, bundled or the user's files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imcmap import api
from imcmap.chips import ChipFigures, ChipRatios
from imcmap.models.evaluator import accelerator_area_mm2, clock_period_ns
from imcmap.models.evaluator import evaluate as evaluate_mapping
from imcmap.specs.library import resolve

DATA = Path(__file__).resolve().parent / "data"
GOOD_MAPPING = DATA / "good" / "full_mapping_tiny_net.yaml"  # conv1 and fc of tiny_net on dimc


def test_evaluation_is_typed_and_priced_by_the_evaluator():
    """Each mapped layer's report is the evaluator's; the unmapped layer is named; area and clock are the
    accelerator's."""
    result = api.evaluate("dimc", "tiny_net", GOOD_MAPPING)
    assert [e.layer.name for e in result.layers] == ["conv1", "fc"] and result.not_mapped == ("conv2",)
    for e in result.layers:
        assert e.report == evaluate_mapping(e.layer, result.accelerator, e.mapping)
    assert result.energy_pj == sum(e.report.energy_pj for e in result.layers)
    assert result.area_mm2 == accelerator_area_mm2(result.accelerator)
    assert result.tclk_ns == clock_period_ns(result.accelerator) and result.notes == ()


def test_validate_bundled_chips_typed():
    """Seven chips; model figures typed; ratio = model / reported; only DIMC2's energy gets a note."""
    result = api.validate()
    assert [c.name for c in result.chips] == ["aimc1", "aimc2", "aimc3", "dimc1", "dimc2", "dimc3", "dimc4"]
    for chip in result.chips:
        assert isinstance(chip.model, ChipFigures)
        if chip.reported is None:
            assert chip.ratio is None and chip.published_ratio is None
            continue
        assert isinstance(chip.ratio, ChipRatios)
        assert chip.ratio.energy == pytest.approx(chip.model.energy_fj_per_mac / chip.reported.energy_fj_per_mac)
        assert chip.published_ratio is not None and chip.published_ratio.tops_per_w is None
    assert [c.name for c in result.chips if c.notes] == ["dimc2"]
    assert result.notes == result.chips[4].notes and "DIMC2 energy" in result.notes[0]


def test_validate_named_and_user_chip_files(tmp_path: Path):
    """Chips may be bundled names or the user's own files (named by their stem)."""
    mine = tmp_path / "my_chip.yaml"
    shutil.copy(resolve("chip", "aimc1"), mine)
    result = api.validate(["dimc2", mine])
    assert [c.name for c in result.chips] == ["dimc2", "my_chip"]
    assert result.chips[1].model == api.validate(["aimc1"]).chips[0].model


def test_validate_reports_every_bad_chip_at_once(tmp_path: Path):
    """An unknown chip name and a hardware file without a validation section are reported together."""
    with pytest.raises(api.SpecError) as info:
        api.validate(["dimc9", resolve("accelerator", "dimc")])
    messages = [str(issue) for issue in info.value.issues]
    assert len(messages) == 2
    assert any("missing required key 'validation'; a chip file is a hardware file with a validation: section" in m
               for m in messages)
    assert any(m.startswith("dimc9: no bundled chip of that name") for m in messages)
