"""The evaluator's rule sets: one entry per ``CostRules`` in ``RULE_SETS``, and ZigZag's rules built on the
shared ``Context`` without importing the evaluator (no import circle between the two)."""

from __future__ import annotations

import subprocess
import sys

from imcmap.models.evaluator import RULE_SETS
from imcmap.models.hardware import CostRules


def test_every_cost_rules_value_has_a_rule_set() -> None:
    """A new ``CostRules`` value without pricing would fail at the first ``evaluate``; this says so first."""
    assert set(RULE_SETS) == set(CostRules)


def test_zigzag_rules_do_not_import_the_evaluator() -> None:
    """``zigzag_rules`` prices from ``models.context`` alone, in a fresh interpreter."""
    code = ("import sys; import imcmap.models.zigzag_rules; "
            "print('imcmap.models.context' in sys.modules, 'imcmap.models.evaluator' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]
