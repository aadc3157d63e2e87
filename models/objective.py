"""What a solve minimises: ``Objective``.

A ``StrEnum``: each member is the string it names (``Objective.ENERGY == "energy"``, the same hash, the
same ``str()``, ``format()`` and JSON), so code and documents that hold the plain strings keep working.
"""

from __future__ import annotations

from enum import StrEnum


class Objective(StrEnum):
    ENERGY = "energy"  # total energy in pJ
    LATENCY = "latency"  # total latency in cycles
    EDP = "edp"  # energy x latency
