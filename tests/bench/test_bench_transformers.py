"""bench/bench_transformers.py: how the network's energy components fold into the bench's groups."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_transformers", ROOT / "bench" / "bench_transformers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_transformers"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_components_fold_into_groups() -> None:
    """The cells level's writes are 'cell writes'; the ADC and the adder tree one group, every other
    array component 'macro' (1 + 2 = 3); other levels summed over operands (4 + 5 = 9); DRAM by
    operand, an operand it does not carry at 0."""
    components = {"cells/W": 0.5, "adc": 7.0, "adder_tree": 8.0, "mult": 1.0, "dac": 2.0,
                  "sram/I": 4.0, "sram/O": 5.0, "dram/W": 6.0, "dram/I": 3.0}
    groups = _bench().groups(components, ["cells", "rf", "sram", "dram"], "cells", "dram")
    assert groups == {"cell writes": 0.5, "macro": 3.0, "adc/tree": 15.0, "rf": 0.0, "sram": 9.0,
                      "dram/W": 6.0, "dram/I": 3.0, "dram/O": 0.0}
    assert list(groups) == ["cell writes", "macro", "adc/tree", "rf", "sram", "dram/W", "dram/I", "dram/O"]
