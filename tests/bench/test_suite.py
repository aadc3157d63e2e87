"""bench/suite.py: derived inputs for files imcmap rejects, and the fidelity counts (no ZigZag needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from imcmap.specs import load_accelerator, load_mapping_spec

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "zigzag"


def _suite():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("suite", ROOT / "bench" / "suite.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["suite"] = module
    spec.loader.exec_module(module)
    return module


SUITE = _suite()


def test_derived_tpu_files_load_and_say_what_changed(tmp_path: Path) -> None:
    """A duplicated key keeps the last (ZigZag's reading); systolic_dimensions and an entry with a
    temporal_ordering that names no layer are dropped; every change is reported."""
    hardware = tmp_path / "tpu_like.yaml"
    text = (DATA / "tpu_like.yaml").read_text()
    first_ports = text.index("    ports:")
    hardware.write_text(text[:first_ports] + "    ports: []\n" + text[first_ports:])  # a shadowed duplicate
    hw, mapping, notes = SUITE.derive_inputs(hardware, DATA / "tpu_like_mapping.yaml", ["conv1", "fc"], tmp_path)
    assert hw != hardware and mapping != DATA / "tpu_like_mapping.yaml"
    assert any("duplicate key" in n for n in notes)
    assert any("systolic_dimensions" in n for n in notes)
    assert any("'first_conv'" in n for n in notes)
    load_accelerator(hw)
    load_mapping_spec(mapping)


def test_an_entry_naming_a_real_layer_is_kept(tmp_path: Path) -> None:
    """Dropping a temporal_ordering that applies to a layer would change the case: it is kept (and then rejected)."""
    _, mapping, notes = SUITE.derive_inputs(
        DATA / "dimc.yaml", DATA / "tpu_like_mapping.yaml", ["first_conv"], tmp_path
    )
    assert mapping == DATA / "tpu_like_mapping.yaml" and notes == []


def test_fidelity_counts_illegal_and_fractional_apart() -> None:
    """Layer a: as read 4% over ZigZag's energy (within 5%), 20% under its latency (not); by imcmap's own
    rules 10% over (not) and 1% over (within). b is illegal, c fractional: neither is priced."""
    rows = [
        {"layer": "a", "zigzag_energy_pj": 100.0, "zigzag_latency_cycles": 100.0, "imcmap_energy_pj": 104.0,
         "imcmap_latency_cycles": 80.0, "exact": True, "violations": [],
         "own_rules_energy_pj": 110.0, "own_rules_latency_cycles": 101.0},
        {"layer": "b", "zigzag_energy_pj": 1.0, "zigzag_latency_cycles": 1.0, "exact": True,
         "violations": ["capacity sram: too big"]},
        {"layer": "c", "zigzag_energy_pj": 1.0, "zigzag_latency_cycles": 1.0, "exact": False,
         "violations": ["factorization K: ..."]},
    ]
    fid = SUITE.fidelity(rows)
    assert (fid["priced"], fid["energy_within"], fid["latency_within"]) == (1, 1, 0)
    assert (fid["illegal"], fid["inexact"]) == (1, 1)
    assert fid["illegal_reasons"] == {"capacity": 1}
    assert (fid["own_energy_within"], fid["own_latency_within"]) == (0, 1)
