"""The bundled sweep `transformers`: analog vs digital IMC on the four transformer blocks over three SRAM
sizes. What it loads to, and one of its design points run for real (GPT-2 decode at 256 KiB)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from imcmap import api
from imcmap.specs.library import LIBRARY, resolve
from imcmap.specs.sweep import load_sweep

KIB = 8192  # bits


def test_bundled_transformers_sweep_loads() -> None:
    """2 bases x 3 SRAM sizes x 4 blocks = 24 runs; the SRAM level is 32, 256 and 2048 KiB, priced by
    the CACTI-fitted model at each size (so per access it costs more as it grows); nothing else of
    the bundled aimc and dimc changes."""
    assert resolve("sweep", "transformers") == LIBRARY / "sweeps" / "transformers.yaml"
    spec = load_sweep("transformers")
    assert [b.name for b in spec.bases] == ["analog", "digital"]
    assert [w.name for w in spec.workloads] == ["bert_base_layer", "vit_b16_block", "gpt2_prefill", "gpt2_decode"]
    assert spec.objectives == ("energy",)
    assert [p.values["sram_kib"] for p in spec.points()] == [32, 256, 2048]
    for base, bundled in (("analog", "aimc"), ("digital", "dimc")):
        original = api.load_accelerator(bundled)
        srams = [spec.accelerator(p, base).memory("sram_256KB") for p in spec.points()]
        assert [m.capacity_bits for m in srams] == [32 * KIB, 256 * KIB, 2048 * KIB]
        reads = [m.read_energy_pj for m in srams]
        assert reads == sorted(reads) and reads[0] > 0 and reads[0] != original.memory("sram_256KB").read_energy_pj
        point = spec.accelerator(spec.points()[0], base)
        assert point.array == original.array
        assert [m.name for m in point.memories] == [m.name for m in original.memories]


def test_one_point_of_the_transformers_sweep_runs(tmp_path: Path) -> None:
    """GPT-2 decode at 256 KiB on both bases: solved with certified gaps, and DRAM is nearly all of the
    energy: the 7,077,888 stored weights (768 x 2304 + 768 x 768 + 2 x 768 x 3072 bytes) are read
    once at 700 pJ per 64 bits, 619,315,200 pJ, against about 640 µJ in all."""
    spec = load_sweep("transformers")
    decode = spec.workloads.index(next(w for w in spec.workloads if w.name == "gpt2_decode"))
    one = dataclasses.replace(
        spec,
        workloads=(spec.workloads[decode],),
        workload_files=(spec.workload_files[decode],),
        design_points=(spec.points()[1],),
    )
    result = api.sweep(one, tmp_path / "out", workers=1)
    assert result.outcome.solved == len(result.runs) == 2
    for run in result.runs:
        record = run.record
        assert record.status == "done" and dict(record.point)["sram_kib"] == 256
        assert record.median_gap is not None and record.median_gap <= 0.01
        assert record.energy_pj is not None and record.energy_pj < 700e6
        dram = json.loads(record.energy_by_level_json)["dram"]
        assert dram >= 7_077_888 * 8 / 64 * 700 and dram >= 0.95 * record.energy_pj
