"""``solver._cp_model_import``: cp_model is imported without pandas, and pandas still works on demand.

Each check runs in a fresh interpreter: whether pandas is loaded depends on what the process imported
before, and pytest's own plugins may have loaded it here. pandas is a dependency of ortools, so it is
installed wherever imcmap is."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_solving_a_layer_loads_no_pandas():
    out = _run("""
        import sys
        from imcmap.models.workload import Layer
        from imcmap.models.mapping_spec import MappingSpec
        from imcmap.specs import load_accelerator
        from imcmap.specs.library import resolve
        from imcmap.solver.solve import solve_layer, SolverConfig
        layer = Layer("conv", "Conv", {"K": 8, "C": 4, "OX": 4, "OY": 4, "FX": 3, "FY": 3})
        accel = load_accelerator(resolve("accelerator", "dimc"))
        sol = solve_layer(layer, accel, MappingSpec().resolve(layer), "energy", SolverConfig())
        print(sol.mapping is not None, "pandas" in sys.modules)
    """)
    assert out == "True False"


def test_pandas_imported_afterwards_is_the_real_one_and_cp_models_series_helpers_work():
    out = _run("""
        import imcmap.solver
        import pandas as pd
        from ortools.sat.python import cp_model
        model = cp_model.CpModel()
        series = model.new_int_var_series("x", pd.Index(range(3)), 0, 5)
        print(isinstance(series, pd.Series), len(series), hasattr(pd, "DataFrame"), cp_model.pd.Series is pd.Series)
    """)
    assert out == "True 3 True True"


def test_cp_model_loads_pandas_itself_when_a_series_helper_needs_it():
    out = _run("""
        import sys
        import imcmap.solver
        from ortools.sat.python import cp_model
        index = cp_model.pd.Index(range(2))  # through the stand-in: loads the real pandas
        series = cp_model.CpModel().new_bool_var_series("b", index)
        print(type(series).__module__.split(".")[0], len(series), "pandas" in sys.modules)
    """)
    assert out == "pandas 2 True"


def test_nothing_changes_when_pandas_was_loaded_first():
    out = _run("""
        import pandas
        import imcmap.solver
        from ortools.sat.python import cp_model
        print(cp_model.pd is pandas)
    """)
    assert out == "True"
