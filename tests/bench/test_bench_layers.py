"""bench/bench_layers.py: its statistics by hand, and one small layer solved through its command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_layers as LAYERS  # a bench script, not a package


def _run(status: str, det: float, cost: float | None, gap: float | None = None):  # type: ignore[no-untyped-def]
    return LAYERS.LayerRun("x", status, det, 2 * det, cost, cost, gap)


def test_summary_takes_median_nearest_rank_p90_and_max() -> None:
    """det 1..10: median (5+6)/2 = 5.5, p90 = the 9th smallest (ceil(0.9*10) = 9) = 9, max 10, total 55;
    wall is twice each; gaps 0.1 and 0.3 (the rest unknown): median 0.2, worst 0.3."""
    runs = [_run("OPTIMAL" if d < 10 else "FEASIBLE", float(d), 1.0, {1: 0.1, 2: 0.3}.get(d)) for d in range(1, 11)]
    s = LAYERS.summary(runs)
    assert (s["layers"], s["optimal"]) == (10, 9)
    assert (s["det_total_s"], s["det_median_s"], s["det_p90_s"], s["det_max_s"]) == (55.0, 5.5, 9.0, 10.0)
    assert (s["wall_median_s"], s["wall_max_s"]) == (11.0, 20.0)
    assert s["gap_median"] == 0.2 and s["gap_max"] == 0.3


def test_same_optimum_compares_proven_costs_only() -> None:
    assert LAYERS.same_optimum(_run("OPTIMAL", 1, 5.0), _run("OPTIMAL", 1, 5.0 * (1 + 1e-12))) == "="
    assert LAYERS.same_optimum(_run("OPTIMAL", 1, 5.0), _run("OPTIMAL", 1, 5.1)) == "DIFF"
    assert LAYERS.same_optimum(_run("OPTIMAL", 1, 5.0), _run("FEASIBLE", 1, 5.1)) == "~"
    assert LAYERS.same_optimum(_run("OPTIMAL", 1, 5.0), _run("UNKNOWN", 1, None)) == "?"


def test_one_small_layer_compared_under_two_policies(tmp_path: Path) -> None:
    out = tmp_path / "layers.json"
    assert LAYERS.main(["-w", "resnet18", "-a", "dimc", "--only", "fc/Gemm", "--compare", "canonical_cuts",
                        "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    a, b = data["runs"]["A"], data["runs"]["B"]
    assert len(a) == len(b) == 1 and a[0]["job"] == "/fc/Gemm"
    assert a[0]["status"] == b[0]["status"] == "OPTIMAL"
    assert abs(a[0]["exact_cost"] - b[0]["exact_cost"]) <= 1e-9 * a[0]["exact_cost"]
    assert 0 <= a[0]["bound"] <= a[0]["exact_cost"]


def test_parse_vary_reads_none_bools_numbers_and_logs() -> None:
    """ln(1.5) = 0.405465..., the rest as written."""
    import math

    import pytest

    names = ["refine_above_gap", "seed_incumbent", "tangent_step", "word_table_rows"]
    got = LAYERS.parse_vary("refine_above_gap=None, seed_incumbent=false,tangent_step=ln(1.5),word_table_rows=500",
                            names)
    assert got == {"refine_above_gap": None, "seed_incumbent": False, "tangent_step": pytest.approx(math.log(1.5)),
                   "word_table_rows": 500}
    assert LAYERS.parse_vary("refine_above_gap=0.02", names) == {"refine_above_gap": 0.02}
    for bad in ("no_such_field=1", "tangent_step", "tangent_step=fast"):
        with pytest.raises(ValueError):
            LAYERS.parse_vary(bad, names)


def test_one_small_layer_with_a_policy_field_varied(tmp_path: Path) -> None:
    """A: the policy (ln 1.2 tangents), B: ln 2: on the fc layer both prove the same optimum, and each bound is
    at most the cost."""
    out = tmp_path / "layers.json"
    assert LAYERS.main(["-w", "resnet18", "-a", "dimc", "--only", "fc/Gemm", "--vary", "tangent_step=ln(2)",
                        "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    (a,), (b,) = data["runs"]["A"], data["runs"]["B"]
    assert a["status"] == b["status"] == "OPTIMAL"
    assert LAYERS.same_optimum(LAYERS.LayerRun(**a), LAYERS.LayerRun(**b)) == "="
    assert data["args"]["vary"] == "tangent_step=ln(2)"
    for run in (a, b):
        assert 0 <= run["bound"] <= run["exact_cost"] * (1 + 1e-9)
