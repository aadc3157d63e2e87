"""Import ortools' ``cp_model`` without loading pandas until something really uses it.

``cp_model`` imports pandas at its top for its ``*_series`` helpers, which imcmap never calls, and
loading and unloading pandas cost a noticeable share of a short run (bench/README.md). While ``cp_model`` is
imported, ``sys.modules["pandas"]`` is a stand-in: the two names ``cp_model`` reads at import time
(``Index`` and ``Series``, in annotations and one module-level ``Union``) are placeholders, and any
other name loads the real pandas. Afterwards the stand-in leaves ``sys.modules`` (``import pandas``
anywhere gets the real module) and, inside ``cp_model``, hands every name on to the real pandas,
loaded the first time one is asked for: the series helpers work as before.
"""

from __future__ import annotations

import importlib
import sys
import types

_NAMES_READ_AT_IMPORT = ("Index", "Series")


class _PandasOnDemand(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("pandas")
        self.importing = True
        self.placeholders = {
            name: type(name, (), {"__module__": "pandas (not loaded)"}) for name in _NAMES_READ_AT_IMPORT
        }

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        if self.importing and name in self.placeholders:
            return self.placeholders[name]
        if sys.modules.get("pandas") is self:
            del sys.modules["pandas"]  # or import_module would hand back this stand-in
        return getattr(importlib.import_module("pandas"), name)


def import_cp_model() -> types.ModuleType:
    """``ortools.sat.python.cp_model``, imported with pandas on demand unless either is loaded already."""
    name = "ortools.sat.python.cp_model"
    if name in sys.modules or "pandas" in sys.modules:
        return importlib.import_module(name)
    stand_in = _PandasOnDemand()
    sys.modules["pandas"] = stand_in
    try:
        return importlib.import_module(name)
    finally:
        stand_in.importing = False
        if sys.modules.get("pandas") is stand_in:
            del sys.modules["pandas"]
