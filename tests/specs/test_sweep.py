"""Sweep specs: grid and zip expansion, ranges, derived values, filters, per-point accelerators, and
every error at its file:line:col."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from imcmap.specs.errors import SpecError
from imcmap.specs.expressions import evaluate
from imcmap.specs.library import LIBRARY, resolve
from imcmap.specs.sweep import SweepSpec, load_sweep, point_accelerator

REPO = Path(__file__).resolve().parents[2]
HEAD = "accelerators: [aimc]\nworkloads: [tiny_net]\n"  # lines 1-2 of most test files


def _write(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(head + textwrap.dedent(body).lstrip("\n"))
    return path


def _load(tmp_path: Path, body: str, head: str = HEAD) -> SweepSpec:
    return load_sweep(_write(tmp_path, body, head))


def _error(tmp_path: Path, body: str, head: str = HEAD) -> str:
    path = _write(tmp_path, body, head)
    with pytest.raises(SpecError) as info:
        load_sweep(path)
    return str(info.value).replace(str(path), "F")


def _values(spec: SweepSpec, *names: str) -> list[tuple[object, ...]]:
    return [tuple(p.values[n] for n in names) for p in spec.points()]


# --- the bundled example ------------------------------------------------------------------------


def test_bundled_macro_size_by_name() -> None:
    """macro_size: 4 square macros (32..256 rows, D1 = bit columns / 8) on dimc and aimc; aimc's ADC
    is ceil(2 + 0.5 * log2(rows)) = ceil(4.5, 5, 5.5, 6) = 5, 5, 6, 6 bits; the area filter is the engine's."""
    assert resolve("sweep", "macro_size") == LIBRARY / "sweeps" / "macro_size.yaml"
    spec = load_sweep("macro_size")
    assert [b.name for b in spec.bases] == ["dimc", "aimc"]
    assert [w.name for w in spec.workloads] == ["tiny_net"]
    assert spec.workload_files == (str(LIBRARY / "workloads" / "tiny_net.yaml"),)
    assert spec.objectives == ("energy",)
    assert _values(spec, "array.dims.D2", "array.dims.D1", "bit_columns") == [
        (32, 4, 32), (64, 8, 64), (128, 16, 128), (256, 32, 256)]
    aimc = [point_accelerator(spec, p, "aimc").array for p in spec.points()]
    assert [a.adc_bits for a in aimc] == [5, 5, 6, 6]
    assert [(a.dims[0].size, a.dims[1].size) for a in aimc] == [(4, 32), (8, 64), (16, 128), (32, 256)]
    dimc = [spec.accelerator(p, "dimc").array for p in spec.points()]
    assert [(a.dims[1].size, a.adc_bits) for a in dimc] == [(32, 0), (64, 0), (128, 0), (256, 0)]
    assert [f.expression.text for f in spec.metric_filters] == ["area_mm2 <= 0.3"]


def test_package_data_ships_sweeps() -> None:
    """pyproject's package-data globs match the bundled sweep files."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["imcmap.specs"]
    relative = (LIBRARY / "sweeps" / "macro_size.yaml").relative_to(LIBRARY.parent).as_posix()
    assert any(fnmatch.fnmatch(relative, g) for g in globs)


# --- expansion ----------------------------------------------------------------------------------


def test_full_grid_in_file_order(tmp_path: Path) -> None:
    """Two parameters of 2 and 3 values: 6 points, the first parameter varying slowest."""
    spec = _load(tmp_path, """
        parameters:
          array.dims.D3: [1, 2]
          array.dac_bits: [1, 2, 3]
        """)
    assert spec.grid_size == 6
    assert _values(spec, "array.dims.D3", "array.dac_bits") == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert [p.index for p in spec.points()] == [0, 1, 2, 3, 4, 5]
    assert spec.points()[4].label == "array.dims.D3=2, array.dac_bits=2"


def test_zip_group_moves_together_where_its_first_member_stands(tmp_path: Path) -> None:
    """b (2 values) before a zip of a and c (3 each): 2 x 3 = 6 points, b slowest, a and c paired."""
    spec = _load(tmp_path, """
        parameters:
          b: [10, 20]
          a: [1, 2, 3]
          c: [4, 5, 6]
        zip:
          - [c, a]
        """)
    assert spec.zip_groups == (("c", "a"),)
    assert _values(spec, "a", "b", "c") == [(1, 10, 4), (2, 10, 5), (3, 10, 6), (1, 20, 4), (2, 20, 5), (3, 20, 6)]


def test_square_macros_by_zip(tmp_path: Path) -> None:
    """Rows and columns zipped: 3 points, not 9."""
    spec = _load(tmp_path, """
        parameters:
          array.dims.D2: [32, 64, 128]
          array.dims.D1: [4, 8, 16]
        zip: [[array.dims.D2, array.dims.D1]]
        """)
    assert _values(spec, "array.dims.D2", "array.dims.D1") == [(32, 4), (64, 8), (128, 16)]


@pytest.mark.parametrize(
    ("range_text", "expected"),
    [
        ("{from: 32, to: 256, step: 32}", [32, 64, 96, 128, 160, 192, 224, 256]),
        ("{from: 1, to: 10, step: 4}", [1, 5, 9]),  # 13 would pass 'to'
        ("{from: 10, to: 1, step: -3}", [10, 7, 4, 1]),
        ("{from: 0.1, to: 0.5, step: 0.1}", [0.1, 0.2, 0.3, 0.4, 0.5]),  # no 0.30000000000000004
        ("{from: 0.5, to: 2, step: 0.5}", [0.5, 1, 1.5, 2]),  # whole numbers become integers
        ("{from: 32, to: 1024, factor: 2}", [32, 64, 128, 256, 512, 1024]),
        ("{from: 1, to: 100, factor: 10}", [1, 10, 100]),
        ("{from: 1, to: 50, factor: 3}", [1, 3, 9, 27]),
        ("{from: 256, to: 32, factor: 0.5}", [256, 128, 64, 32]),
        ("{from: 1, to: 2.5, factor: 1.5}", [1, 1.5, 2.25]),
        ("7", [7]),
        ("[analog, 3]", ["analog", 3]),
    ],
)
def test_ranges(tmp_path: Path, range_text: str, expected: list[object]) -> None:
    """Arithmetic and geometric ranges include 'to' when they land on it; values checked by hand."""
    spec = _load(tmp_path, f"parameters:\n  x: {range_text}\n")
    values = [p.values["x"] for p in spec.points()]
    assert values == expected
    assert [type(v) for v in values] == [type(v) for v in expected]


@pytest.mark.parametrize(("rows", "adc_bits"), [(32, 4.5), (128, 5.5), (512, 6.5)])
def test_derived_adc_rule(tmp_path: Path, rows: int, adc_bits: float) -> None:
    """adc_bits = Bi + 0.5 * log2(rows) with Bi = 2: 4.5, 5.5, 6.5 at 32, 128, 512 rows."""
    spec = _load(tmp_path, """
        parameters:
          rows: [32, 128, 512]
          input_bits_per_cycle: 2
        derived:
          adc_bits: input_bits_per_cycle + 0.5 * log2(rows)
        """)
    (point,) = [p for p in spec.points() if p.values["rows"] == rows]
    assert point.values["adc_bits"] == adc_bits
    assert point.overrides == {"aimc": ()}  # plain names are variables, not hardware


def test_derived_hardware_paths_set_every_base(tmp_path: Path) -> None:
    """A derived hardware path is an override on each base; rows / 8 = 4.0 is used as the integer 4."""
    spec = _load(tmp_path, """
        parameters:
          rows: [32, 64]
        derived:
          array.dims.D2: rows
          array.dims.D1: rows / 8
        """, head="accelerators: [aimc, dimc]\nworkloads: [tiny_net]\n")
    first = spec.points()[0]
    assert first.values == {"rows": 32, "array.dims.D2": 32, "array.dims.D1": 4}
    assert [o.text for o in first.overrides["dimc"]] == ["array.dims.D2: 32", "array.dims.D1: 4"]
    assert isinstance(first.values["array.dims.D1"], int)
    for base in ("aimc", "dimc"):
        dims = point_accelerator(spec, spec.points()[1], base).array.dims
        assert [(d.name, d.size) for d in dims] == [("D1", 8), ("D2", 64)]


def test_per_base_derived_reads_the_base(tmp_path: Path) -> None:
    """A base's own derived value reads its values by path: aimc has Bi = 2, so 2 + 0.5 * log2(64) = 5."""
    spec = _load(tmp_path, """
        parameters:
          array.dims.D2: [64, 256]
        """, head=textwrap.dedent("""\
        accelerators:
          - dimc
          - accelerator: aimc
            name: analog
            derived:
              array.adc_bits: array.input_bits_per_cycle + 0.5 * log2(array.dims.D2)
        workloads: [tiny_net]
        """))
    assert [b.name for b in spec.bases] == ["dimc", "analog"]
    assert [o.text for o in spec.points()[1].overrides["analog"]] == ["array.dims.D2: 256", "array.adc_bits: 6"]
    assert [o.text for o in spec.points()[1].overrides["dimc"]] == ["array.dims.D2: 256"]
    assert [point_accelerator(spec, p, "analog").array.adc_bits for p in spec.points()] == [5, 6]


def test_parameter_filters_drop_points_before_any_solve(tmp_path: Path) -> None:
    """A filter on parameters is decided at load; indices stay those of the full grid."""
    spec = _load(tmp_path, """
        parameters:
          rows: [32, 64, 128, 256]
          cols: [8, 16]
        derived:
          cells: rows * cols
        filters:
          - cells <= 2048
          - cells != 512
          - area_mm2 <= 1.0
        """)
    # cells: 256, 512, 512, 1024, 1024, 2048, 2048, 4096 in grid order; 512 and 4096 are dropped
    assert spec.grid_size == 8
    assert _values(spec, "rows", "cols") == [(32, 8), (64, 16), (128, 8), (128, 16), (256, 8)]
    assert [p.index for p in spec.points()] == [0, 3, 4, 5, 6]
    (metric,) = spec.metric_filters
    assert [f.needs_metrics for f in spec.filters] == [False, False, True]
    assert evaluate(metric.expression, {"area_mm2": 0.4}) is True
    assert evaluate(metric.expression, {"area_mm2": 1.5}) is False


def test_settings_defaults_and_constraints(tmp_path: Path) -> None:
    """Objectives, time limit, seed and constraints are read as an experiment's baseline reads them."""
    spec = _load(tmp_path, """
        objectives: [energy, latency]
        time_limit: 2.5
        seed: 3
        mapping: default_imc
        constraints: ["forbid spatial.D2.FX"]
        parameters: {array.dims.D3: [1, 2]}
        """)
    assert (spec.objectives, spec.time_limit_s, spec.seed) == (("energy", "latency"), 2.5, 3)
    assert [c.text for c in spec.constraints] == ["forbid spatial.D2.FX"]
    assert spec.mapping.rules
    default = _load(tmp_path, "parameters: {x: 1}\n")
    assert (default.name, default.objectives, default.time_limit_s, default.seed) == ("sweep", ("energy",), 10.0, 0)


def test_spec_and_points_pickle(tmp_path: Path) -> None:
    """The spec and its points survive pickling (they travel to workers) and resolve the same."""
    spec = load_sweep("macro_size")
    copy = pickle.loads(pickle.dumps(spec))
    assert copy.points() == spec.points()
    point = copy.points()[2]
    assert point_accelerator(copy, point, "aimc") == point_accelerator(spec, spec.points()[2], "aimc")


# --- errors: one test each, with file:line:col --------------------------------------------------


def test_error_parameter_path_typo(tmp_path: Path) -> None:
    """A typo in a hardware path: at the parameter's key, with a did-you-mean."""
    message = _error(tmp_path, """
        parameters:
          array.dim.D2: [32, 64]
        """)
    assert message.startswith("F:4:3: parameters.array.dim.D2: the accelerator has no 'dim' under 'array', "
                              "did you mean 'dims'? (base 'aimc'); keys there: ")


def test_error_range_with_no_values(tmp_path: Path) -> None:
    """A range that counts the wrong way: at the range, with the step that would work."""
    message = _error(tmp_path, """
        parameters:
          rows: {from: 256, to: 32, step: 32}
        """)
    assert message == "F:4:9: parameters.rows: the range gives no values: from 256 to 32 with step 32; " \
                      "to count down, give step -32"


def test_error_geometric_range_with_no_values(tmp_path: Path) -> None:
    """A geometric range that grows away from 'to'."""
    message = _error(tmp_path, "parameters:\n  rows: {from: 256, to: 32, factor: 2}\n")
    assert message == "F:4:9: parameters.rows: the range gives no values: from 256 to 32 with factor 2; " \
                      "to go down, give factor 0.5"


def test_error_range_needs_step_or_factor(tmp_path: Path) -> None:
    """A range with both step and factor (or neither) is refused."""
    message = _error(tmp_path, "parameters:\n  rows: {from: 1, to: 8, step: 1, factor: 2}\n")
    assert message.startswith("F:4:9: parameters.rows: a range needs exactly one of step (arithmetic) or factor")


def test_error_empty_list(tmp_path: Path) -> None:
    """An empty value list."""
    assert _error(tmp_path, "parameters:\n  rows: []\n") == \
        "F:4:9: parameters.rows: the list has no values; give at least one value"


def test_error_repeated_value(tmp_path: Path) -> None:
    """A value listed twice would solve one design twice."""
    assert _error(tmp_path, "parameters:\n  rows: [32, 64, 32]\n") == \
        "F:4:18: parameters.rows[2]: value 32 is listed twice (first at line 4)"


def test_error_unknown_name_in_expression(tmp_path: Path) -> None:
    """An expression naming an unknown parameter: at the name inside the expression (col 18 + 4)."""
    message = _error(tmp_path, """
        parameters:
          rows: [32, 64]
        derived:
          array.dims.D2: 2 * rwos
        """)
    assert message == "F:6:22: derived.array.dims.D2: unknown name 'rwos', did you mean 'rows'?"


def test_error_quoted_expression_column(tmp_path: Path) -> None:
    """In a quoted expression the column counts the quote: '"' at col 6, 'x' of 'xx' at col 7 + 4."""
    message = _error(tmp_path, """
        parameters:
          rows: [32]
        derived:
          a: "1 + xx"
        """)
    assert message == "F:6:11: derived.a: unknown name 'xx'"


def test_error_derived_reads_a_later_one(tmp_path: Path) -> None:
    """Derived values are computed in file order."""
    message = _error(tmp_path, """
        parameters:
          rows: [32]
        derived:
          a: b + 1
          b: rows
        """)
    assert message == "F:6:6: derived.a: 'b' is derived below (line 7); a derived value reads parameters " \
                      "and the derived values above it"


def test_error_derived_reads_a_metric(tmp_path: Path) -> None:
    """Metrics are not known when derived values are computed."""
    message = _error(tmp_path, "parameters:\n  rows: [32]\nderived:\n  a: area_mm2 * 2\n")
    assert message == "F:6:6: derived.a: 'area_mm2' is a metric, known only once the point is built; " \
                      "use it in a filter"


def test_error_division_by_zero_names_the_point(tmp_path: Path) -> None:
    """Dividing by zero at one grid point: at the division, with that point."""
    message = _error(tmp_path, """
        parameters:
          rows: [32, 64]
          cols: [0, 8]
        derived:
          ratio: 1 + rows / cols
        """)
    assert message == "F:7:14: derived.ratio: division by zero (32 / 0) at the point rows=32, cols=0"


def test_error_division_by_zero_in_a_filter(tmp_path: Path) -> None:
    """A filter on parameters is evaluated at load, so its errors are found there too."""
    message = _error(tmp_path, "parameters:\n  rows: [0, 1]\nfilters:\n  - 8 // rows > 1\n")
    assert message == "F:6:5: filters[0]: division by zero (8 // 0) at the point rows=0"


def test_fractional_adc_bits_reach_the_accelerator(tmp_path: Path) -> None:
    """The paper's fractional ADC rule sets array.adc_bits as computed: 4.5, 5 and 5.5 bits at 32, 64
    and 128 rows (the whole 5 as the integer 5)."""
    spec = _load(tmp_path, """
        parameters:
          rows: [32, 64, 128]
        derived:
          array.adc_bits: 2 + 0.5 * log2(rows)
        """)
    bits = [point_accelerator(spec, p, "aimc").array.adc_bits for p in spec.points()]  # type: ignore[union-attr]
    assert bits == [4.5, 5, 5.5] and type(bits[1]) is int


def test_error_fractional_value_for_an_integer_key(tmp_path: Path) -> None:
    """A fraction on an integer hardware key: the hardware check's message, at the expression, with
    the first point that gave a fraction (32 rows / 3)."""
    message = _error(tmp_path, """
        parameters:
          rows: [32, 64, 128]
        derived:
          array.dims.D1: rows / 3
        """)
    assert message == "F:6:18: derived.array.dims.D1: expected an integer, got a float (10.6667) " \
                      "(at the point rows=32 on base 'aimc')"


def test_error_hardware_value_from_a_parameter(tmp_path: Path) -> None:
    """A bad parameter value is reported at that value in the list."""
    message = _error(tmp_path, "parameters:\n  array.dims.D2: [32, 0]\n")
    assert message == "F:4:23: parameters.array.dims.D2: must be >= 1 (got 0) " \
                      "(at the point array.dims.D2=0 on base 'aimc')"


def test_error_unknown_filter_name(tmp_path: Path) -> None:
    """A filter may name parameters, derived values and metrics only."""
    message = _error(tmp_path, "parameters:\n  rows: [32]\nfilters:\n  - area_mm >= 1\n")
    assert message == "F:6:5: filters[0]: unknown name 'area_mm', did you mean 'area_mm2'?; filters name " \
                      "parameters, derived values or metrics (area_mm2, peak_tops_per_w, peak_tops_per_mm2, tclk_ns)"


def test_error_filter_is_not_a_condition(tmp_path: Path) -> None:
    """A filter must be a condition."""
    message = _error(tmp_path, "parameters:\n  rows: [32]\nfilters:\n  - rows * 2\n")
    assert message == "F:6:5: filters[0]: a filter must be a condition, e.g. area_mm2 <= 1.0 or rows >= 64"


def test_error_every_point_filtered_out(tmp_path: Path) -> None:
    """Filters that leave nothing to solve are an error, not an empty sweep."""
    message = _error(tmp_path, "parameters:\n  rows: [32]\nfilters:\n  - rows > 64\n")
    assert message == "F:6:3: filters: no design point of the 1 in the grid passes the filters"


@pytest.mark.parametrize(
    ("expression", "col", "message"),
    [
        ("__import__('os')", 6, "unknown function '__import__'"),
        ("().__class__", 6, "attribute access is not allowed in an expression"),
        ("(lambda: 1)()", 7, "a lambda is not allowed in an expression"),
        ("[x for x in rows]", 6, "a list comprehension is not allowed in an expression"),
        ("rows.__class__", 6, "'rows.__class__': names starting with '_' are not allowed"),
    ],
)
def test_error_unsafe_expression(tmp_path: Path, expression: str, col: int, message: str) -> None:
    """Builtins, attribute access, lambdas and comprehensions are refused at their place."""
    text = _error(tmp_path, f"parameters:\n  rows: [32]\nderived:\n  a: \"{expression}\"\n")
    assert text.startswith(f"F:6:{col + 1}: derived.a: {message}")


def test_error_zip_unknown_parameter(tmp_path: Path) -> None:
    """A zip group naming no parameter gets a did-you-mean."""
    message = _error(tmp_path, "parameters:\n  rows: [1, 2]\n  cols: [1, 2]\nzip: [[rows, colz]]\n")
    assert message == "F:6:14: zip[0][1]: unknown parameter 'colz', did you mean 'cols'?; parameters: rows, cols"


def test_error_zip_lengths_differ(tmp_path: Path) -> None:
    """Zipped parameters need equal numbers of values."""
    message = _error(tmp_path, "parameters:\n  rows: [1, 2]\n  cols: [1, 2, 3]\nzip: [[rows, cols]]\n")
    assert message == "F:6:7: zip[0]: zipped parameters need the same number of values: rows has 2, cols has 3"


def test_error_zipped_twice(tmp_path: Path) -> None:
    """A parameter belongs to one zip group at most."""
    message = _error(tmp_path, "parameters:\n  a: [1]\n  b: [1]\n  c: [1]\nzip: [[a, b], [b, c]]\n")
    assert message == "F:7:16: zip[1][0]: parameter 'b' is already zipped (line 7)"


def test_error_unknown_top_key(tmp_path: Path) -> None:
    """An unknown key at the top gets a did-you-mean."""
    message = _error(tmp_path, "parameter:\n  rows: [32]\n")
    assert "F:3:1: parameter: unknown key 'parameter', did you mean 'parameters'?" in message
    assert "F:1:1: missing required key 'parameters'" in message


def test_error_unknown_objective(tmp_path: Path) -> None:
    """Objectives are checked with a did-you-mean."""
    message = _error(tmp_path, "objectives: [energy, latnecy]\nparameters: {rows: [1]}\n")
    assert message == "F:3:22: objectives[1]: unknown objective 'latnecy', did you mean 'latency'?; " \
                      "expected one of: energy, latency, edp"


def test_error_unknown_bundled_accelerator(tmp_path: Path) -> None:
    """A base that names no bundled accelerator is reported at its entry."""
    message = _error(tmp_path, "parameters: {rows: [1]}\n", head="accelerators: [aimc, dimcc]\nworkloads: [tiny_net]\n")
    assert message.startswith("F:1:22: accelerators[1]: no bundled accelerator of that name, did you mean 'dimc'?")


def test_error_duplicate_base_names(tmp_path: Path) -> None:
    """Two bases with one name cannot be told apart in results."""
    message = _error(tmp_path, "parameters: {rows: [1]}\n", head="accelerators: [aimc, aimc]\nworkloads: [tiny_net]\n")
    assert message == "F:1:22: accelerators[1]: a second base named 'aimc' (first at line 1); " \
                      "give one of them a name: {accelerator: ..., name: ...}"


def test_error_parameter_named_like_a_metric(tmp_path: Path) -> None:
    """A parameter cannot shadow a metric (filters could not tell them apart)."""
    message = _error(tmp_path, "parameters:\n  area_mm2: [1]\n")
    assert message == "F:4:3: parameters.area_mm2: 'area_mm2' is a metric name; choose another name for the parameter"


def test_error_grid_too_large(tmp_path: Path) -> None:
    """A grid past MAX_POINTS is refused before it is expanded."""
    message = _error(tmp_path, """
        parameters:
          a: {from: 1, to: 100, step: 1}
          b: {from: 1, to: 100, step: 1}
          c: {from: 1, to: 100, step: 1}
        """)
    assert message == "F:4:3: parameters: the grid has 1000000 design points (at most 100000); " \
                      "narrow the ranges or zip parameters that move together"


def test_error_zigzag_base_cannot_take_hardware_parameters(tmp_path: Path) -> None:
    """A ZigZag hardware file has no imcmap paths to set."""
    zigzag = REPO / "tests" / "data" / "zigzag" / "dimc.yaml"
    message = _error(tmp_path, "parameters:\n  array.dims.D2: [32]\n",
                     head=f"accelerators: [{zigzag}]\nworkloads: [tiny_net]\n")
    assert message == "F:4:18: parameters.array.dims.D2: base 'dimc' is a ZigZag file: its hardware cannot be " \
                      "set (the sweep sets array.dims.D2); give that base in imcmap's format"


def test_error_constraint_against_a_point(tmp_path: Path) -> None:
    """Constraints are checked against each point's accelerator (D3 added by the sweep; D4 in none)."""
    message = _error(tmp_path, "constraints: ['forbid spatial.D4.K']\nparameters: {array.dims.D3: [1, 2]}\n")
    assert message == "F:3:31: constraints[0]: unknown array dim 'D4'; aimc has array dims: D1, D2, D3"


def test_errors_of_every_part_are_reported_together(tmp_path: Path) -> None:
    """A workload typo does not hide the grid's own errors: both come in one SpecError."""
    message = _error(tmp_path, "parameters:\n  rows: [0]\nderived:\n  a: 1 / rows\n",
                     head="accelerators: [aimc]\nworkloads: [tiny_nett]\n")
    lines = message.splitlines()
    assert lines[0].startswith("F:2:13: workloads[0]: no bundled workload of that name, did you mean 'tiny_net'?")
    assert lines[1:] == ["F:6:6: derived.a: division by zero (1 / 0) at the point rows=0"]
